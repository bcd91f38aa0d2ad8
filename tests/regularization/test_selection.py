"""The selection-optimism estimate of section `reg-early-stopping`: the patience rule replayed on a
recorded curve is the callback's own choice, a fixed epoch has no optimism, a choice among pure noise
has some, and the held-out record is what ``evaluate`` says."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import trainwell as tw
from trainwell.regularization.selection import correctness_record, patience_choice, selection_optimism
from trainwell.train import EarlyStopping, fit_many


def test_patience_choice_by_hand():
    scores = np.array([0.1, 0.3, 0.3, 0.2, 0.5])
    assert patience_choice(scores, 2) == 2  # the tie does not improve; two epochs without gain end it
    assert patience_choice(scores, 3) == 5
    columns = np.stack([scores, scores[::-1]], axis=1)
    assert patience_choice(columns, 2).tolist() == [2, 1]


def test_patience_choice_is_early_stoppings_choice():
    data = tw.data.load("digits").subset_train(120)
    common = dict(seeds=[0, 1, 2], optimizer=lambda p: torch.optim.Adam(p, lr=1e-2), epochs=12,
                  batch_size=32, progress=False)
    build = lambda: tw.models.mlp([64, 32, 10])  # noqa: E731
    unstopped = fit_many(build, data, **common)
    stopped = fit_many(build, data, **common, callbacks=[EarlyStopping(2, monitor="val_acc")])
    curves = unstopped.curves("val_acc")[0].T  # (epochs, seeds)
    assert patience_choice(curves, 2).tolist() == [h.best_epoch for h in stopped.histories]


def test_a_fixed_epoch_has_no_optimism_and_a_choice_among_noise_has_some():
    rng = np.random.default_rng(0)
    one_epoch = rng.random((1, 3, 400)) < 0.8
    assert np.abs(selection_optimism(one_epoch, patience=5, resamples=2000)).max() < 0.005
    noise = rng.random((40, 3, 400)) < 0.5  # every epoch equally good: any gap is selection
    assert (selection_optimism(noise, patience=40, resamples=200) > 0.02).all()


def test_correctness_record_matches_evaluate():
    data = tw.data.load("digits").subset_train(100)
    X, y = data.X_val, data.y_val
    record = correctness_record(X, y)
    runs = fit_many(lambda: tw.models.mlp([64, 16, 10]), data, seeds=[0, 1],
                    optimizer=lambda p: torch.optim.SGD(p, lr=0.1), epochs=3, callbacks=[record],
                    progress=False)
    correct = np.stack(record.values)
    assert correct.shape == (3, 2, len(y)) and correct.dtype == bool
    np.testing.assert_allclose(correct[-1].mean(axis=1), runs.final("val_acc"), atol=1e-6)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="finite"):
        patience_choice([0.1, float("nan")], 2)
    with pytest.raises(ValueError, match="at least one epoch"):
        patience_choice(np.zeros((0, 2)), 2)
    with pytest.raises(ValueError, match="patience"):
        patience_choice([0.1, 0.2], 0)
    with pytest.raises(ValueError, match="boolean array of shape"):
        selection_optimism(np.zeros((3, 2, 10)), patience=2)
    with pytest.raises(ValueError, match="at least 2 held-out"):
        selection_optimism(np.zeros((3, 2, 1), dtype=bool), patience=2)
    with pytest.raises(ValueError, match="rows but y has"):
        correctness_record(torch.zeros(3, 4), torch.zeros(2, dtype=torch.long))
