"""A new dataset is one function: register(name, loader) makes load(name) call it, with its keyword-only
parameters as the options load accepts and checks."""
from __future__ import annotations

import numpy as np
import pytest

from trainwell import data


@pytest.fixture
def registry(monkeypatch):
    """The registry as it is, put back after the test (a test's dataset must not outlive it)."""
    for name in ("_LOADERS", "_OPTIONS"):
        monkeypatch.setattr(data, name, dict(getattr(data, name)))
    for name in ("OFFLINE_DATASETS", "ONLINE_DATASETS", "DATASETS"):
        monkeypatch.setattr(data, name, getattr(data, name))
    return data


def _squares(seed, fractions, *, n: int = 40):
    x = np.linspace(-1, 1, n, dtype=np.float32)[:, None]
    y = (x[:, 0] > 0).astype(np.int64)
    parts = data._split(x, y, seed, *fractions, stratify=True)
    return data._make("squares", parts, ("negative", "positive"), "sign of x")


def test_a_registered_dataset_loads_with_its_own_options(registry):
    registry.register("squares", _squares)
    assert "squares" in registry.OFFLINE_DATASETS and "squares" in registry.DATASETS
    ds = registry.load("squares", n=60, seed=3)
    assert ds.X_train.shape[0] + ds.X_val.shape[0] + ds.X_test.shape[0] == 60
    assert registry.load("squares", n=60, seed=3).X_train.equal(ds.X_train)  # deterministic splits
    with pytest.raises(TypeError, match="Unknown option 'm' for dataset 'squares' \\(allowed: 'n'\\)"):
        registry.load("squares", m=3)


def test_the_books_datasets_keep_their_names_and_order():
    assert data.OFFLINE_DATASETS == ("digits", "wine", "mnist1d", "mnist5k", "regression", "classification",
                                     "diabetes")
    assert data.ONLINE_DATASETS == ("mnist", "fashion-mnist")
    assert data._OPTIONS["wine"] == ("standardize",) and data._OPTIONS["mnist"] == ("flatten",)
    assert "noise" in data._OPTIONS["regression"] and "seed" not in data._OPTIONS["regression"]


@pytest.mark.parametrize("args, error, phrase", [
    (("digits", _squares), ValueError, "a dataset named 'digits' is registered already"),
    (("", _squares), TypeError, "name must be a non-empty str"),
    (("squares", "not a function"), TypeError, "loader must be a function"),
    (("squares", _squares, False, "n"), TypeError, "options must be a list of option names"),
])
def test_bad_registrations_are_refused(registry, args, error, phrase):
    name, loader, *rest = args
    kwargs = {} if not rest else {"offline": rest[0], "options": rest[1]}
    with pytest.raises(error, match=phrase):
        registry.register(name, loader, **kwargs)
    assert "squares" not in registry.DATASETS


def test_a_loader_that_returns_no_dataset_is_named(registry):
    registry.register("broken", lambda seed, fractions: np.zeros(3))
    with pytest.raises(TypeError, match="the loader registered for 'broken' returned ndarray, not a Dataset"):
        registry.load("broken")
