"""Tests of trainwell.regularization. A package, so that its test modules may share basenames with other
folders' (test_bad_inputs.py) without a clash in pytest's default import mode."""
