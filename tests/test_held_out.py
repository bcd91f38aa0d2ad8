"""HeldOut scores a further split every epoch without changing training, so a test score can be read
at the epoch each member's validation loss chose."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

import trainwell as tw
from trainwell.dropout import MaskedMLP
from trainwell.train import EarlyStopping, HeldOut, fit, fit_many


@pytest.fixture(scope="module")
def digits():
    data = tw.data.load("digits").subset_train(150)  # in float64, for comparisons to 1e-12
    return SimpleNamespace(**{f"{x}_{s}": getattr(data, f"{x}_{s}").double() if x == "X" else
                              getattr(data, f"{x}_{s}") for x in "Xy" for s in ("train", "val", "test")})


BUILDS = {"masked MLP": lambda: MaskedMLP([64, 32, 32, 10], keep_hidden=0.5).double(),
          "torch dropout": lambda: nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.5),
                                                 nn.Linear(32, 10)).double()}
ADAM = dict(optimizer=lambda p: torch.optim.Adam(p, lr=3e-3), epochs=6, batch_size=32, progress=False)


@pytest.mark.parametrize("name", list(BUILDS))
def test_the_held_out_split_rides_along_without_changing_training(digits, name):
    build, seeds = BUILDS[name], [0, 1, 2]
    held_out = HeldOut(digits.X_test, digits.y_test)
    with_test = fit_many(build, digits, seeds=seeds, callbacks=[held_out], **ADAM)
    without = fit_many(build, digits, seeds=seeds, **ADAM)
    for a, b in zip(with_test.histories, without.histories, strict=True):
        assert a.step_loss == b.step_loss
    # the last record's test scores are the trained models' scores on the test split
    final = with_test.evaluate(digits.X_test, digits.y_test)
    np.testing.assert_allclose(with_test.final("test_loss"), final["loss"].ravel(), rtol=1e-12)
    np.testing.assert_array_equal(with_test.final("test_acc"), final["acc"].ravel())


def test_the_score_at_the_best_validation_epoch_is_the_early_stopped_network_s(digits):
    build, seeds = lambda: MaskedMLP([64, 64, 64, 10], keep_hidden=1.0).double(), [0, 1, 2]
    fast = {**ADAM, "optimizer": lambda p: torch.optim.Adam(p, lr=3e-2), "epochs": 12}  # overfits early
    runs = fit_many(build, digits, seeds=seeds, callbacks=[HeldOut(digits.X_test, digits.y_test)], **fast)
    restored = fit_many(build, digits, seeds=seeds, callbacks=[EarlyStopping(fast["epochs"])], **fast)
    scores = restored.evaluate(digits.X_test, digits.y_test)["loss"].ravel()
    np.testing.assert_allclose(runs.at_best("test_loss", by="val_loss"), scores, rtol=1e-12)
    assert not np.allclose(runs.final("test_loss"), scores)  # some member's best epoch is not the last


def test_fit_takes_it_too(digits):
    tw.seed_everything(0)
    model = BUILDS["masked MLP"]()
    probe = HeldOut(digits.X_test, digits.y_test, name="probe")
    history = fit(model, digits, seed=0, callbacks=[probe], **ADAM)
    last = history.epochs[-1]
    assert math.isclose(last["probe_loss"], tw.metrics.evaluate(model, digits.X_test, digits.y_test)["loss"],
                        rel_tol=1e-12)


@pytest.mark.parametrize("call, error, phrase", [
    (lambda d: HeldOut(d.X_test.numpy(), d.y_test), TypeError,
     "HeldOut: X must be a torch.Tensor, got ndarray"),
    (lambda d: HeldOut(d.X_test, d.y_test[:-1]), ValueError, "with the same N >= 1"),
    (lambda d: HeldOut(d.X_test, d.y_test, name="val"), ValueError,
     "other than 'train' and 'val', got 'val'"),
    (lambda d: HeldOut(d.X_test * math.nan, d.y_test), ValueError, "X holds non-finite values"),
    (lambda d: HeldOut(d.X_test, d.y_test, loss="hinge"), ValueError, "hinge"),
])
def test_bad_held_out_splits_are_refused_by_name(digits, call, error, phrase):
    with pytest.raises(error, match=phrase.replace("(", r"\(").replace(")", r"\)")):
        call(digits)
