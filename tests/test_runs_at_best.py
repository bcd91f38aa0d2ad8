"""Runs.at_best, best_epochs and best_before_end: each arm scored at its own best validation epoch,
and the guard that a run's best epoch did not come at the end of its budget."""
import math

import numpy as np
import pytest

from trainwell.train import History, Runs


def _runs(curves):
    histories = [History(epochs=[{"epoch": 2 * (i + 1), "val_loss": loss, "val_acc": acc}
                                 for i, (loss, acc) in enumerate(curve)]) for curve in curves]
    return Runs(settings=[{}] * len(curves), seeds=list(range(len(curves))), histories=histories,
                models=[None] * len(curves))


def test_each_member_is_scored_at_its_own_best_epoch():
    runs = _runs([[(1.0, 0.5), (0.6, 0.7), (0.8, 0.8)],             # best loss at epoch 4
                  [(0.9, 0.6), (0.7, 0.65), (0.5, 0.9), (0.5, 0.1)],  # a tie: the first, epoch 6
                  []])
    np.testing.assert_array_equal(runs.best_epochs(), [4, 6, np.nan])
    np.testing.assert_array_equal(runs.at_best("val_acc"), [0.7, 0.9, np.nan])
    np.testing.assert_array_equal(runs.best_epochs(by="val_acc"), [6, 6, np.nan])
    np.testing.assert_array_equal(runs.at_best("val_loss", by="val_acc"), [0.8, 0.5, np.nan])
    np.testing.assert_array_equal(runs.final("val_acc"), [0.8, 0.1, np.nan])  # not the same thing


def test_the_budget_guard_fails_a_run_still_improving_at_its_end():
    improving = [(1.0 - 0.1 * i, 0.5) for i in range(10)]  # best at its last epoch, 20
    settled = [(1.0 - 0.1 * i, 0.5) for i in range(5)] + [(0.6, 0.5)] * 5  # best at epoch 10
    runs = _runs([improving, settled])
    np.testing.assert_array_equal(runs.best_before_end(), [False, True])
    assert runs.best_before_end(last=0.5).tolist() == [False, True]
    with pytest.raises(ValueError, match="last must be a fraction"):
        runs.best_before_end(last=1.5)


def test_unknown_metrics_are_named():
    runs = _runs([[(1.0, 0.5)]])
    with pytest.raises(ValueError, match="Unknown metric 'val_f1'"):
        runs.at_best("val_f1")
    with pytest.raises(ValueError, match="Unknown metric 'train_loss'"):
        runs.best_epochs(by="train_loss")
    assert math.isnan(_runs([[(float("nan"), 0.5)]]).best_epochs()[0])
