"""Shared by Part I's tests: small digits problems and the check that fit_many's members are the runs
their separate fits make (float64, relative 1e-10)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch

import trainwell as tw
from trainwell.train import fit, fit_many


def small_digits(dtype=torch.float64, *, n_train: int = 200, n_val: int = 100, images: bool = False):
    digits = tw.data.load("digits")
    shape = (-1, 1, 8, 8) if images else (-1, 64)
    return SimpleNamespace(X_train=digits.X_train[:n_train].to(dtype).reshape(shape),
                           y_train=digits.y_train[:n_train],
                           X_val=digits.X_val[:n_val].to(dtype).reshape(shape), y_val=digits.y_val[:n_val])


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-30))) if a.size else 0.0


def assert_members_equal_separate_fits(build, data, *, make_optimizer, extras, grid=None, seeds=(0, 1),
                                       rtol: float = 1e-10, **kwargs):
    """Run ``fit_many`` once and ``fit`` once per member, and compare step losses, epoch metrics and
    final parameters. ``make_optimizer(params, **setting)`` builds an optimizer; ``extras()`` gives
    fresh ``penalty`` / ``callbacks`` / ``transform`` keyword arguments for every run."""
    runs = fit_many(build, data, seeds=list(seeds), grid=grid, optimizer=make_optimizer, progress=False,
                    **kwargs, **extras())
    for m, (setting, seed) in enumerate(zip(runs.settings, runs.seeds, strict=True)):
        tw.seed_everything(seed)
        model = build()
        history = fit(model, data, seed=seed, optimizer=lambda p, s=setting: make_optimizer(p, **s),
                      progress=False, **kwargs, **extras())
        other = runs.histories[m]
        assert len(other.step_loss) == len(history.step_loss) > 0
        assert _rel(history.step_loss, other.step_loss) <= rtol, (m, _rel(history.step_loss, other.step_loss))
        for e1, e2 in zip(history.epochs, other.epochs, strict=True):
            for key in e1:
                if key != "seconds":
                    assert _rel(e1[key], e2[key]) <= rtol, (m, key, e1[key], e2[key])
        theirs = runs.models[m].state_dict()
        for name, value in model.state_dict().items():
            scale = value.abs().max().clamp_min(1e-30)
            assert ((value - theirs[name]).abs().max() / scale).item() <= rtol, (m, name)
    return runs
