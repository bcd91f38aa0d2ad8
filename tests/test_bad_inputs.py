"""Bad calls a new reader could make to the base modules, one row each: the call must raise the stated
exception with a message that names the argument (issue 12).

Each row is ``(id, call, exception, phrase)``; the phrase is matched literally (not as a regular
expression) against the message. Below the table: the state-restoring cases (a failed call changes
nothing) and the ones where PyTorch defines the behaviour and we match it.
"""
from __future__ import annotations

import dataclasses
import gzip
import math
import os
import random
import tempfile
import types
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import trainwell as tw
from trainwell import checks, config, data, metrics, models, plot, size_table, widgets
from trainwell.show import Source

_DIGITS_LIKE = types.SimpleNamespace(n_features=64, n_classes=10)
_REGRESSION_LIKE = types.SimpleNamespace(n_features=4, n_classes=None)

NAN, INF = float("nan"), float("inf")
SHA = "0" * 64


def tiny(classes=("a", "b", "c"), n=6, d=2, **changes) -> data.Dataset:
    """A small, valid classification (or, with ``classes=None``, regression) dataset; ``changes``
    replace any field, to make it invalid."""
    g = torch.Generator().manual_seed(0)
    X = lambda: torch.randn(n, d, generator=g)
    if classes is None:
        y = lambda: torch.randn(n, generator=g)
    else:
        y = lambda: torch.arange(n) % len(classes)
    fields = dict(name="tiny", X_train=X(), y_train=y(), X_val=X(), y_val=y(), X_test=X(), y_test=y(),
                  classes=classes, description="a tiny dataset.")
    fields.update(changes)
    return data.Dataset(**fields)


def with_nan(t: torch.Tensor, count: int = 1, value: float = NAN) -> torch.Tensor:
    t = t.clone()
    t.view(-1)[:count] = value
    return t


def mutated_then_standardized():
    ds = tiny()
    ds.X_train[0, 0] = NAN  # the tensors of a frozen Dataset can still be changed in place
    return data.standardize(ds)


def ax():
    import matplotlib.pyplot as plt

    return plt.subplots()[1]


@contextmanager
def env(name: str, value: str):
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            del os.environ[name]
        else:
            os.environ[name] = old


def in_tmp(call):
    """Run ``call(directory)`` inside a fresh temporary directory."""
    with tempfile.TemporaryDirectory() as tmp:
        return call(Path(tmp))


def dest_is_a_directory(tmp: Path):
    (tmp / "file.gz").mkdir()
    return data.download(["https://example.org/file.gz"], tmp / "file.gz", SHA)


def dest_under_a_file(tmp: Path):
    (tmp / "cache").write_text("not a directory")
    return data.download(["https://example.org/file.gz"], tmp / "cache" / "mnist" / "file.gz", SHA)


def corrupt_cache(tmp: Path):
    (tmp / "file.gz").write_bytes(gzip.compress(b"something else"))
    return data.download(["https://example.org/file.gz"], tmp / "file.gz", SHA)


def with_env(name: str, value: str, call):
    with env(name, value):
        return call()


REG = tiny(classes=None)
CLS = tiny()
with torch.random.fork_rng():  # building the table leaves the global random state as it was
    torch.manual_seed(0)
    NET = models.mlp([2, 3])          # 3 class scores
    NET1 = models.mlp([2, 1])         # one regression output
    BN_NET = models.mlp([2, 4, 3], norm=nn.BatchNorm1d)
    X4, Y4 = torch.randn(4, 2), torch.tensor([0, 1, 2, 0])
P3 = torch.tensor([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]])

CASES = [
    # ---- data.Dataset and its methods
    ("dataset-nan-features", lambda: tiny(X_train=with_nan(torch.randn(6, 2))), ValueError,
     "Dataset X_train holds 1 non-finite value(s)"),
    ("dataset-inf-val-features", lambda: tiny(X_val=with_nan(torch.randn(6, 2), 2, INF)), ValueError,
     "Dataset X_val holds 2 non-finite value(s)"),
    ("dataset-nan-regression-target", lambda: tiny(classes=None, y_test=with_nan(torch.randn(6))), ValueError,
     "Dataset y_test holds 1 non-finite"),
    ("dataset-empty-split", lambda: tiny(X_test=torch.zeros(0, 2), y_test=torch.zeros(0, dtype=torch.int64)),
     ValueError, "Dataset X_test and y_test are empty"),
    ("dataset-labels-out-of-range", lambda: tiny(y_val=torch.tensor([0, 1, 2, 3, 0, 1])), ValueError,
     "y_val has labels in [0, 3], outside [0, 2]"),
    ("dataset-float64-inputs", lambda: tiny(X_train=torch.randn(6, 2, dtype=torch.float64)), ValueError,
     "X_train must be float32"),
    ("dataset-no-classes", lambda: dataclasses.replace(CLS, classes=()), ValueError, "classes is empty"),
    ("dataset-classes-list", lambda: tiny(classes=["a", "b", "c"]), TypeError,
     "classes must be a tuple of str"),
    ("dataset-extra-not-mapping", lambda: tiny(extra=[("w", 1)]), TypeError, "extra must be a mapping"),
    ("dataset-feature-names-not-str", lambda: tiny(feature_names=(1, 2)), TypeError,
     "feature_names must all be str"),
    ("dataset-to-a-dtype", lambda: CLS.to(torch.float64), TypeError,
     "Dataset.to moves the tensors to a device"),
    ("subset-train-too-many", lambda: CLS.subset_train(7), ValueError, "Invalid n: 7 (must be <= 6)"),
    ("subset-train-negative-seed", lambda: CLS.subset_train(3, seed=-1), ValueError, "Invalid seed: -1"),
    ("standardize-a-tensor", lambda: data.standardize(torch.zeros(3, 2)), TypeError,
     "standardize expects a trainwell.data.Dataset"),
    ("standardize-nan-written-in-place", mutated_then_standardized, ValueError,
     "standardize: X_train holds 1 non-finite"),
    # ---- data.load and its options
    ("load-name-not-str", lambda: data.load(None), TypeError, "name must be a dataset name (str)"),
    ("load-unknown-name", lambda: data.load("mnist10"), ValueError, "Unknown dataset 'mnist10'"),
    ("load-seed-float", lambda: data.load("digits", seed=0.5), TypeError, "seed must be an integer, got 0.5"),
    ("load-seed-too-large", lambda: data.load("digits", seed=2**32), ValueError, "Invalid seed: 4294967296"),
    ("load-val-fraction-nan", lambda: data.load("digits", val_fraction=NAN), ValueError,
     "Invalid val_fraction: nan"),
    ("load-test-fraction-percent", lambda: data.load("digits", test_fraction=15), ValueError,
     "Invalid test_fraction: 15.0"),
    ("load-fractions-leave-no-training", lambda: data.load("wine", val_fraction=0.6, test_fraction=0.4),
     ValueError, "Invalid val_fraction + test_fraction"),
    ("load-option-of-another-dataset", lambda: data.load("wine", flatten=False), TypeError,
     "Unknown option 'flatten' for dataset 'wine'"),
    ("load-flatten-string", lambda: data.load("digits", flatten="False"), TypeError,
     "flatten must be True or False, got 'False'"),
    ("load-mnist1d-length-too-long", lambda: data.load("mnist1d", length=10_000), ValueError,
     "Invalid length: 10000"),
    ("load-mnist1d-generator-seed", lambda: data.load("mnist1d", generator_seed=-1), ValueError,
     "Invalid generator_seed: -1"),
    ("load-mnist1d-channels-int", lambda: data.load("mnist1d", channels=1), TypeError,
     "channels must be True or False"),
    ("load-regression-zero-features", lambda: data.load("regression", d=0), ValueError, "Invalid d: 0"),
    ("load-blobs-negative-noise", lambda: data.load("classification", kind="blobs", noise=-0.1), ValueError,
     "Invalid noise: -0.1"),
    # ---- other data functions
    ("split-known-regression", lambda: data.split_known_classes(REG, [0]), ValueError,
     "data must be a classification dataset"),
    ("split-known-a-bare-int", lambda: data.split_known_classes(CLS, 1), TypeError,
     "known must be a sequence of class indices"),
    ("split-known-repeated", lambda: data.split_known_classes(CLS, [0, 0]), ValueError,
     "known must list distinct classes"),
    ("split-known-every-class", lambda: data.split_known_classes(CLS, [0, 1, 2]), ValueError,
     "known must list distinct classes, at least one and fewer than all 3"),
    ("split-known-out-of-range", lambda: data.split_known_classes(CLS, [5]), ValueError,
     "Invalid known class: 5"),
    ("mnist1d-too-few-samples", lambda: data.generate_mnist1d(5), ValueError, "Invalid n_samples: 5"),
    ("mnist1d-infinite-noise", lambda: data.generate_mnist1d(100, noise=INF), ValueError,
     "Invalid noise: inf"),
    ("make-regression-condition", lambda: data.make_regression(condition=0.5), ValueError,
     "Invalid condition: 0.5"),
    ("make-classification-spirals-1d", lambda: data.make_classification(d=1), ValueError, "Invalid d: 1"),
    ("make-classification-kind", lambda: data.make_classification(kind="moons"), ValueError,
     "Invalid kind: 'moons'"),
    ("parse-idx-a-string", lambda: data.parse_idx("0000"), TypeError, "parse_idx expects bytes"),
    ("parse-idx-bad-magic", lambda: data.parse_idx(b"\x01\x02\x08\x01"), ValueError, "not an IDX file"),
    ("read-idx-not-a-path", lambda: data.read_idx(3), TypeError, "path must be a file path"),
    ("download-urls-a-string", lambda: data.download("https://example.org/f.gz", "f.gz", SHA), TypeError,
     "urls must be a non-empty list of URLs"),
    ("download-url-without-scheme", lambda: data.download(["example.org/f.gz"], "f.gz", SHA), ValueError,
     "Invalid urls[0]: 'example.org/f.gz'"),
    ("download-sha256-short", lambda: data.download(["https://example.org/f.gz"], "f.gz", "abc"), ValueError,
     "Invalid sha256: 'abc'"),
    ("download-negative-size", lambda: data.download(["https://e.org/f.gz"], "f.gz", SHA, size=-1),
     ValueError, "Invalid size: -1"),
    ("download-zero-timeout", lambda: data.download(["https://e.org/f.gz"], "f.gz", SHA, timeout=0),
     ValueError, "Invalid timeout: 0.0"),
    ("download-dest-none", lambda: data.download(["https://e.org/f.gz"], None, SHA), TypeError,
     "dest must be a file path"),
    ("download-dest-is-a-directory", lambda: in_tmp(dest_is_a_directory), ValueError, "dest is a directory"),
    ("download-cache-under-a-file", lambda: in_tmp(dest_under_a_file), ValueError,
     "dest cannot be created"),
    ("download-corrupt-cache", lambda: in_tmp(corrupt_cache), ValueError, "file.gz is corrupt: SHA-256"),
    # ---- models: builders
    ("weight_names-not-a-module", lambda: models.weight_names([torch.ones(2)]), TypeError,
     "model must be a torch.nn.Module, got list"),
    ("figure1_net-bn-string", lambda: models.figure1_net(4, 2, bn="yes"), TypeError,
     "bn must be True or False"),
    ("layer_sizes-hidden-a-bare-int", lambda: models.layer_sizes(_DIGITS_LIKE, 64), TypeError,
     "hidden must be a list of integer widths"),
    ("layer_sizes-hidden-too-short", lambda: models.layer_sizes(_DIGITS_LIKE, (), min_hidden=1), ValueError,
     "hidden is empty or too short: got [], this network needs at least 1 hidden layer(s)"),
    ("layer_sizes-min-hidden-negative", lambda: models.layer_sizes(_DIGITS_LIKE, (), min_hidden=-1),
     ValueError, "Invalid min_hidden: -1"),
    ("layer_sizes-regression-data", lambda: models.layer_sizes(_REGRESSION_LIKE, (8,)), TypeError,
     "data must be a classification Dataset (with integer n_features and n_classes), got "
     "SimpleNamespace with n_features=4, n_classes=None"),
    ("mlp-sizes-a-bare-int", lambda: models.mlp(784), TypeError, "sizes must be a list of integer widths"),
    ("mlp-sizes-a-string", lambda: models.mlp("64,10"), TypeError, "sizes must be a list of integer widths"),
    ("mlp-only-one-size", lambda: models.mlp([4]), ValueError,
     "sizes needs at least an input and an output width"),
    ("mlp-zero-width", lambda: models.mlp([4, 0, 2]), ValueError, "Invalid sizes[1]: 0 (must be >= 1)"),
    ("mlp-negative-width", lambda: models.mlp([4, 8, -2]), ValueError, "Invalid sizes[2]: -2"),
    ("mlp-float-width", lambda: models.mlp([4, 8.0, 2]), TypeError, "sizes[1] must be an integer"),
    ("mlp-activation-a-class", lambda: models.mlp([4, 2], activation=nn.ReLU), TypeError,
     "activation must be a name"),
    ("mlp-activation-unknown", lambda: models.mlp([4, 2], activation="gelu"), ValueError,
     "Invalid activation: 'gelu'"),
    ("mlp-hidden-dropout-one", lambda: models.mlp([4, 8, 2], hidden_dropout=1.0), ValueError,
     "Invalid hidden_dropout: 1.0"),
    ("mlp-input-dropout-negative", lambda: models.mlp([4, 2], input_dropout=-0.1), ValueError,
     "Invalid input_dropout: -0.1"),
    ("mlp-norm-a-string", lambda: models.mlp([4, 8, 2], norm="batch"), TypeError,
     "norm must be a function that builds a module"),
    ("mlp-norm-builds-no-module", lambda: models.mlp([4, 8, 2], norm=lambda width: width), TypeError,
     "norm must build a torch.nn.Module"),
    ("mlp-bias-a-string", lambda: models.mlp([4, 2], bias="no"), TypeError, "bias must be True or False"),
    ("mlp-init-std-zero", lambda: models.mlp([4, 2], init_std=0.0), ValueError, "Invalid init_std: 0.0"),
    ("figure1-no-outputs", lambda: models.figure1_net(4, 0, bn=True), ValueError, "Invalid n_out: 0"),
    ("figure1-bn-a-string", lambda: models.figure1_net(4, 2, bn="yes"), TypeError,
     "bn must be True or False"),
    ("figure1-zero-depth", lambda: models.figure1_net(4, 2, bn=False, depth=0), ValueError,
     "Invalid depth: 0"),
    ("bn-dropout-keep-zero", lambda: models.bn_dropout_mlp([4, 8, 2], keep=0), ValueError,
     "Invalid keep: 0.0 (must be in (0.0, 1.0])"),
    ("bn-dropout-keep-as-percent", lambda: models.bn_dropout_mlp([4, 8, 2], keep=50), ValueError,
     "Invalid keep: 50.0"),
    ("bn-dropout-placement", lambda: models.bn_dropout_mlp([4, 8, 2], placement="first"), ValueError,
     "Invalid placement: 'first'"),
    ("bn-dropout-no-hidden-layer", lambda: models.bn_dropout_mlp([4, 2]), ValueError,
     "needs at least one hidden layer, got sizes [4, 2]"),
    ("bn-dropout-sizes-a-bare-int", lambda: models.bn_dropout_mlp(3), TypeError,
     "sizes must be a list of integer widths"),
    ("convnet-no-classes", lambda: models.small_convnet(n_classes=0), ValueError, "Invalid n_classes: 0"),
    ("convnet-channels-a-bare-int", lambda: models.small_convnet(channels=16), TypeError,
     "channels must be a list of integer widths"),
    ("convnet-no-channels", lambda: models.small_convnet(channels=()), ValueError,
     "channels must list at least one convolution width"),
    ("convnet-zero-channels", lambda: models.small_convnet(channels=(16, 0)), ValueError,
     "Invalid channels[1]: 0"),
    ("convnet-bn-a-bool", lambda: models.small_convnet(bn=True), ValueError, "Invalid bn: True"),
    ("convnet-in-channels-zero", lambda: models.small_convnet(in_channels=0), ValueError,
     "Invalid in_channels: 0"),
    # ---- models: utilities
    ("eval-mode-a-tensor", lambda: models.eval_mode(torch.zeros(2)), TypeError,
     "model must be a torch.nn.Module, got Tensor"),
    ("train-mode-a-function", lambda: models.train_mode(len), TypeError, "model must be a torch.nn.Module"),
    ("count-parameters-a-list", lambda: models.count_parameters([nn.Linear(2, 2)]), TypeError,
     "model must be a torch.nn.Module, got list"),
    ("batch-norm-layers-none", lambda: models.batch_norm_layers(nn.Linear(2, 2)), ValueError,
     "model has no batch-norm layer"),
    ("batch-norm-layers-tracking-str", lambda: models.batch_norm_layers(BN_NET, tracking="no"), TypeError,
     "tracking must be True or False"),
    ("recompute-batch-size-one", lambda: models.recompute_population_stats(BN_NET, torch.randn(8, 2), 1),
     ValueError, "Invalid batch_size: 1 (must be >= 2)"),
    ("recompute-fewer-rows-than-a-batch",
     lambda: models.recompute_population_stats(BN_NET, torch.randn(8, 2), 16), ValueError,
     "X has 8 rows, fewer than one batch of 16"),
    ("recompute-nan-inputs",
     lambda: models.recompute_population_stats(BN_NET, with_nan(torch.randn(8, 2)), 4), ValueError,
     "X contains NaN or infinite values"),
    ("recompute-numpy-inputs", lambda: models.recompute_population_stats(BN_NET, np.zeros((8, 2)), 4),
     ValueError, "X must be a tensor of examples"),
    ("recompute-no-batch-norm", lambda: models.recompute_population_stats(NET, torch.randn(8, 2), 4),
     ValueError, "no batch-norm layer"),
    # ---- metrics
    ("loss-a-number", lambda: metrics.resolve_loss(2), TypeError, "loss must be a name"),
    ("loss-unknown-name", lambda: metrics.resolve_loss("l2"), ValueError, "Invalid loss: 'l2'"),
    ("evaluate-empty-split",
     lambda: metrics.evaluate(NET, torch.zeros(0, 2), torch.zeros(0, dtype=torch.long)), ValueError,
     "X and y are empty"),
    ("evaluate-row-mismatch", lambda: metrics.evaluate(NET, X4, Y4[:3]), ValueError,
     "X has 4 rows but y has 3"),
    ("evaluate-regression-n1-vs-n", lambda: metrics.evaluate(NET1, X4, torch.zeros(4), loss="mse"),
     ValueError, "outputs have shape (4, 1) but the targets y have (4,)"),
    ("evaluate-label-too-large", lambda: metrics.evaluate(NET, X4, torch.tensor([0, 1, 2, 3])), ValueError,
     "y holds class indices in [0, 3], outside [0, 2]"),
    ("evaluate-label-ignore-index", lambda: metrics.evaluate(NET, X4, torch.tensor([0, 1, 2, -100])),
     ValueError, "y holds class indices in [-100, 2]"),
    ("evaluate-labels-as-column", lambda: metrics.evaluate(NET, X4, Y4[:, None]), ValueError,
     "integer class labels y must have shape (4,)"),
    ("evaluate-bool-labels", lambda: metrics.evaluate(NET, X4, Y4 > 0), TypeError, "got dtype torch.bool"),
    ("evaluate-nan-inputs", lambda: metrics.evaluate(NET, with_nan(X4, 3), Y4), ValueError,
     "X holds 3 non-finite value(s)"),
    ("evaluate-batch-size-zero", lambda: metrics.evaluate(NET, X4, Y4, batch_size=0), ValueError,
     "Invalid batch_size: 0"),
    ("evaluate-model-a-function", lambda: metrics.evaluate(torch.relu, X4, Y4), TypeError,
     "model must be a torch.nn.Module"),
    ("evaluate-numpy-inputs", lambda: metrics.evaluate(NET, X4.numpy(), Y4), TypeError,
     "X must be a tensor, got ndarray"),
    ("test-scores-not-a-dataset", lambda: metrics.test_scores(NET, (X4, Y4)), TypeError,
     "data must be a trainwell.data.Dataset"),
    ("test-scores-regression", lambda: metrics.test_scores(NET1, REG), ValueError,
     "data must be a classification dataset"),
    ("probability-scores-logits", lambda: metrics.probability_scores(P3.log(), torch.tensor([0, 0, 1])),
     ValueError, "probs holds 6 negative value(s)"),
    ("probability-scores-unnormalized", lambda: metrics.probability_scores(P3 * 2, torch.tensor([0, 0, 1])),
     ValueError, "probs rows must sum to one"),
    ("probability-scores-nan", lambda: metrics.probability_scores(with_nan(P3), torch.tensor([0, 0, 1])),
     ValueError, "probs holds 1 non-finite"),
    ("probability-scores-label-range", lambda: metrics.probability_scores(P3, torch.tensor([0, 2, 1])),
     ValueError, "y holds class indices in [0, 2], outside [0, 1]"),
    ("probability-scores-empty",
     lambda: metrics.probability_scores(P3[:0], torch.tensor([], dtype=torch.long)), ValueError,
     "probs is empty"),
    ("probability-scores-label-count", lambda: metrics.probability_scores(P3, torch.tensor([0, 1])),
     ValueError, "y must hold 3 integer labels"),
    ("auroc-one-class-only", lambda: metrics.auroc([0.1, 0.4], []), ValueError, "scores_out is empty"),
    ("auroc-nan-score", lambda: metrics.auroc([0.1, NAN], [0.5]), ValueError,
     "scores_in holds 1 non-finite score(s)"),
    ("auroc-2d-scores", lambda: metrics.auroc(torch.zeros(3, 2), [0.5]), ValueError,
     "scores_in must be 1-D, one score per input, got shape (3, 2)"),
    ("auroc-string-scores", lambda: metrics.auroc([0.1], "high"), TypeError,
     "scores_out must be a 1-D sequence"),
    # ---- config and size_table
    ("seed-float", lambda: tw.seed_everything(1.5), TypeError, "seed must be an integer, got 1.5"),
    ("seed-negative", lambda: tw.seed_everything(-1), ValueError, "Invalid seed: -1 (must be >= 0)"),
    ("seed-too-large", lambda: tw.seed_everything(2**32), ValueError, "Invalid seed: 4294967296"),
    ("setup-quiet-a-string", lambda: tw.setup(0, quiet="yes"), TypeError, "quiet must be True or False"),
    ("setup-device-gpu", lambda: tw.setup(0, device="gpu"), ValueError, "Invalid prefer: 'gpu'"),
    ("pick-device-an-int", lambda: config.pick_device(0), TypeError, "prefer must be 'cpu', 'cuda', 'mps'"),
    ("module-device-a-tensor", lambda: tw.module_device(torch.zeros(2)), TypeError,
     "expected a torch.nn.Module, got Tensor"),
    ("module-device-default-int", lambda: tw.module_device(nn.ReLU(), default=0), TypeError,
     "default must be a device"),
    ("sizes-unknown-experiment", lambda: tw.sizes("dropout.nothing"), ValueError,
     "Unknown experiment 'dropout.nothing'"),
    ("sizes-not-a-name", lambda: tw.sizes(None), TypeError, "experiment must be a name"),
    ("size-environment-variable", lambda: with_env(size_table.SIZE_ENV, "huge", tw.size), ValueError,
     "Invalid TRAINWELL_SIZE='huge'"),
    # ---- checks (exercise answers go through tw.exercises, tested in test_exercises.py)
    ("check-negative-atol", lambda: tw.check("c", 1.0, 1.0, atol=-1e-9), ValueError, "Invalid atol: -1e-09"),
    ("check-infinite-rtol", lambda: tw.check("c", 1.0, 1.0, rtol=INF), ValueError, "Invalid rtol: inf"),
    ("check-string-atol", lambda: tw.check("c", 1.0, 1.0, atol="1e-6"), TypeError,
     "atol must be a real number"),
    ("check-shapes-differ", lambda: tw.check("c", torch.zeros(3), torch.zeros(3, 1)), ValueError,
     "lhs and rhs must have the same shape"),
    ("check-empty-sides", lambda: tw.check("c", [], []), ValueError, "lhs and rhs are empty"),
    ("check-none-side", lambda: tw.check("c", None, 1.0), TypeError, "lhs must be numeric"),
    ("check-blank-claim", lambda: tw.check(" ", 1.0, 1.0), ValueError, "claim must be a non-empty sentence"),
    ("max-abs-diff-shapes", lambda: checks.max_abs_diff([1.0, 2.0], [1.0]), ValueError,
     "lhs and rhs must have the same shape, got (2,) and (1,)"),
    ("check-true-an-int", lambda: tw.check_true("c", 1), TypeError, "condition must be a bool, got int"),
    ("check-true-several-values", lambda: tw.check_true("c", torch.tensor([True, False])), ValueError,
     "condition must be a single truth value"),
    ("check-true-detail-a-number", lambda: tw.check_true("c", True, 0.93), TypeError,
     "detail must be a str"),
    ("check-true-quiet-a-string", lambda: tw.check_true("c", True, quiet="yes"), TypeError,
     "quiet must be True or False"),
    ("check-true-claim-none", lambda: tw.check_true(None, True), TypeError, "claim must be a sentence (str)"),
    ("verdict-line-not-str", lambda: checks.Verdict(True, 3), TypeError, "line must be the printed verdict"),
    # ---- plot and widgets
    ("figure-three-across", lambda: plot.figure(1, 3), ValueError, "ncols=3 puts more than 2 panels across"),
    ("figure-rows-float", lambda: plot.figure(2.0), TypeError, "nrows must be an integer, got 2.0"),
    ("figure-height-nan", lambda: plot.figure(height=NAN), ValueError, "Invalid height: nan"),
    ("figure-height-too-tall", lambda: plot.figure(height=30), ValueError, "Invalid height: 30.0"),
    ("figure-too-many-rows", lambda: plot.figure(5), ValueError, "nrows=5 rows of 2.9 inches exceed 12"),
    ("log-axis-z", lambda: plot.log_axis(ax(), "z"), ValueError, "axis must be 'x' or 'y', got 'z'"),
    ("log-axis-zero-tick", lambda: plot.log_axis(ax(), ticks=[0, 1, 10]), ValueError,
     "ticks must be positive numbers"),
    ("log-axis-nan-tick", lambda: plot.log_axis(ax(), ticks=[1, NAN]), ValueError,
     "ticks must be positive numbers"),
    ("log-axis-base-one", lambda: plot.log_axis(ax(), base=1), ValueError, "Invalid base: 1.0"),
    ("log-axis-on-a-figure", lambda: plot.log_axis(ax().figure), TypeError,
     "ax must be a matplotlib Axes, got Figure"),
    ("history-of-a-dict", lambda: plot.history({"epochs": []}), TypeError,
     "hist must be a trainwell.train.History"),
    ("seed-band-columns-mismatch", lambda: plot.seed_band(ax(), [0, 1, 2], np.zeros((3, 2)), label="r"),
     ValueError, "runs must have shape (seeds, 3)"),
    ("seed-band-no-seeds", lambda: plot.seed_band(ax(), [0, 1], np.zeros((0, 2)), label="r"), ValueError,
     "runs must have shape (seeds, 2) with at least one seed"),
    ("seed-band-nan-run", lambda: plot.seed_band(ax(), [0, 1], [[0.1, NAN], [0.2, 0.3]], label="r"),
     ValueError, "runs holds 1 non-finite value(s)"),
    ("seed-band-x-2d", lambda: plot.seed_band(ax(), [[0, 1]], np.zeros((3, 2)), label="r"), ValueError,
     "x must be a non-empty 1-D sequence"),
    ("seed-band-band-name", lambda: plot.seed_band(ax(), [0, 1], np.zeros((3, 2)), label="r", band="sem"),
     ValueError, "Invalid band: 'sem'"),
    ("seed-band-label-missing", lambda: plot.seed_band(ax(), [0, 1], np.zeros((3, 2)), label=None), TypeError,
     "label must be a str"),
    ("seed-band-ragged-runs", lambda: plot.seed_band(ax(), [0, 1], [[0.1, 0.2], [0.3]], label="r"), TypeError,
     "runs must be numbers"),
    ("seed-band-axes-array",
     lambda: plot.seed_band(np.array([ax(), ax()]), [0, 1], np.zeros((3, 2)), label="r"), TypeError,
     "ax must be a matplotlib Axes, got ndarray"),
    ("images-wrong-shape", lambda: plot.images(torch.zeros(4, 64), shape=(7, 7)), ValueError,
     "cannot show rows of size 64 as shape=(7, 7)"),
    ("images-negative-shape", lambda: plot.images(torch.zeros(4, 64), shape=(-8, -8)), ValueError,
     "Invalid shape[0]: -8"),
    ("images-ncols-zero", lambda: plot.images(torch.zeros(4, 8, 8), ncols=0), ValueError, "Invalid ncols: 0"),
    ("images-label-count", lambda: plot.images(torch.zeros(4, 8, 8), [1, 2, 3]), ValueError,
     "4 images but 3 labels"),
    ("images-none", lambda: plot.images(torch.zeros(0, 8, 8)), ValueError, "X must be a non-empty batch"),
    ("signals-label-count", lambda: plot.signals(torch.zeros(3, 40), [1]), ValueError,
     "3 signals but 1 labels"),
    ("signals-ncols-float", lambda: plot.signals(torch.zeros(3, 40), ncols=2.5), TypeError,
     "ncols must be an integer"),
    ("image-browser-no-labels", lambda: widgets.image_browser(torch.zeros(2, 64), None, shape=(8, 8)),
     TypeError, "labels must be a sequence"),
    ("image-browser-shape", lambda: widgets.image_browser(torch.zeros(2, 64), [0, 1], shape=(8, 9)),
     ValueError, "cannot show rows of size 64 as shape=(8, 9)"),
    ("image-browser-scale-zero",
     lambda: widgets.image_browser(torch.zeros(2, 64), [0, 1], shape=(8, 8), scale=0), ValueError,
     "Invalid scale: 0"),
    # ---- show
    ("source-a-number", lambda: tw.source(3), TypeError, "expected a function, class or module of trainwell"),
    ("source-a-name", lambda: tw.source("tw.models.mlp"), TypeError, "pass the object itself"),
    ("source-foreign-function", lambda: tw.source(math.sqrt), TypeError,
     "expected a function, class or module of trainwell"),
    ("show-nothing", lambda: tw.show(), TypeError, "give at least one function"),
    ("source-object-text-not-str", lambda: Source("name", None), TypeError, "text must be a str"),
]


@pytest.fixture(autouse=True)
def _offline_and_closed(monkeypatch):
    monkeypatch.setenv(data.OFFLINE_ENV, "1")  # no row may reach the network
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def test_the_table_is_large_and_its_ids_unique():
    ids = [case[0] for case in CASES]
    assert len(ids) >= 60 and len(set(ids)) == len(ids)


@pytest.mark.parametrize("call, error, phrase", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_refused_with_a_message_naming_it(call, error, phrase):
    with pytest.raises(error) as caught:
        call()
    assert phrase in str(caught.value)


# ---- a failed call changes nothing -----------------------------------------------------------------


def trained_bn_net() -> nn.Sequential:
    torch.manual_seed(0)
    net = models.mlp([3, 5, 5, 2], norm=nn.BatchNorm1d)
    with torch.no_grad(), models.train_mode(net):
        for _ in range(5):
            net(torch.randn(16, 3) * 3 + 1)
    return net


def buffers(net: nn.Module) -> dict[str, torch.Tensor]:
    return {name: b.clone() for name, b in net.named_buffers()}


def assert_bit_identical(before: dict, net: nn.Module) -> None:
    after = dict(net.named_buffers())
    assert before.keys() == after.keys()
    for name, value in before.items():
        assert after[name].dtype == value.dtype and torch.equal(after[name], value), name


def randn(*shape, dtype=torch.float32) -> torch.Tensor:
    """Seeded normal draws that leave the global random state alone (they are made at collection)."""
    return torch.randn(*shape, dtype=dtype, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("X, batch_size", [
    (with_nan(randn(32, 3)), 8),           # refused before anything is reset
    (randn(4, 3), 8),                       # fewer rows than one batch
    (randn(32, 7), 8),                      # the first forward pass fails: wrong width
    (randn(32, 3, dtype=torch.float64), 8),  # the first forward pass fails: wrong dtype
])
def test_recompute_population_stats_leaves_buffers_bit_identical_on_a_bad_input(X, batch_size):
    net = trained_bn_net()
    before = buffers(net)
    momenta = [m.momentum for m in net.modules() if isinstance(m, nn.BatchNorm1d)]
    net.eval()
    with pytest.raises((ValueError, RuntimeError)):
        models.recompute_population_stats(net, X, batch_size)
    assert_bit_identical(before, net)
    assert [m.momentum for m in net.modules() if isinstance(m, nn.BatchNorm1d)] == momenta
    assert not any(m.training for m in net.modules())


class FailsOnCall(nn.Module):
    """Passes its input through, and raises on the ``fail_at``-th call (counting from 1)."""

    def __init__(self, fail_at: int):
        super().__init__()
        self.fail_at, self.calls = fail_at, 0

    def forward(self, x):
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("failed midway")
        return x


def test_recompute_population_stats_restores_buffers_when_it_fails_midway():
    net = trained_bn_net()
    net.append(FailsOnCall(3))  # two batches go through every BN layer, the third raises after them
    before = buffers(net)
    with pytest.raises(RuntimeError, match="failed midway"):
        models.recompute_population_stats(net, torch.randn(40, 3), 8)
    assert net[-1].calls == 3
    assert_bit_identical(before, net)
    assert all(m.momentum == 0.1 for m in net.modules() if isinstance(m, nn.BatchNorm1d))


def test_setup_checks_everything_before_seeding():
    random.seed(123)
    np.random.seed(123)
    torch.manual_seed(123)
    states = random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state().clone()
    chosen = config.current()
    for bad in (dict(device="gpu"), dict(quiet="no")):
        with pytest.raises((TypeError, ValueError)):
            tw.setup(7, **bad)
    with env(size_table.SIZE_ENV, "huge"), pytest.raises(ValueError, match="TRAINWELL_SIZE"):
        tw.setup(7)
    assert random.getstate() == states[0]
    assert np.array_equal(np.random.get_state()[1], states[1])
    assert torch.equal(torch.get_rng_state(), states[2])
    assert config.current() is chosen


def test_show_displays_nothing_when_a_later_object_is_bad(capsys):
    with pytest.raises(TypeError, match="of trainwell"):
        tw.show(tw.models.mlp, math.sqrt)
    assert "def mlp(" not in capsys.readouterr().out


def test_eval_mode_refuses_a_non_module_when_called_not_when_entered():
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        models.eval_mode("net")  # no `with`: the mistake is reported at the call


# ---- where PyTorch defines the behaviour, we match it -----------------------------------------------


def test_evaluate_matches_torch_on_valid_input():
    torch.manual_seed(0)
    net, X, y = models.mlp([2, 4, 3]), torch.randn(10, 2), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    result = metrics.evaluate(net, X, y, batch_size=3)
    with torch.no_grad():
        out = net(X)
    assert result["loss"] == pytest.approx(torch.nn.functional.cross_entropy(out, y).item(), rel=1e-6)
    assert result["acc"] == (out.argmax(1) == y).sum().item() / len(y)
    reg = models.mlp([2, 1])
    target = torch.randn(10, 1)
    with torch.no_grad():
        expected = torch.nn.functional.mse_loss(reg(X), target).item()
    assert metrics.evaluate(reg, X, target, loss="mse")["loss"] == pytest.approx(expected, rel=1e-6)


def test_evaluate_accepts_class_probabilities_as_targets_like_cross_entropy():
    torch.manual_seed(0)
    net, X = models.mlp([2, 3]), torch.randn(6, 2)
    soft = torch.softmax(torch.randn(6, 3), dim=1)
    with torch.no_grad():
        expected = torch.nn.functional.cross_entropy(net(X), soft).item()
    assert metrics.evaluate(net, X, soft)["loss"] == pytest.approx(expected, rel=1e-6)


def test_dataset_to_an_unknown_device_raises_torchs_own_error():
    with pytest.raises(RuntimeError) as ours:
        CLS.to("nodevice")
    with pytest.raises(RuntimeError) as theirs:
        torch.zeros(1).to("nodevice")
    assert str(ours.value) == str(theirs.value)


def test_dropout_keep_one_is_allowed_as_nn_dropout_of_zero():
    net = models.bn_dropout_mlp([4, 8, 2], keep=1.0)
    assert [m.p for m in net.modules() if isinstance(m, nn.Dropout)] == [0.0]


def test_auroc_agrees_with_the_pairwise_definition_on_tensors_and_lists():
    scores_in, scores_out = torch.tensor([0.1, 0.4, 0.4, 0.8]), [0.4, 0.9, 0.5]
    pairs = [(o > i) + 0.5 * (o == i) for i in scores_in.tolist() for o in scores_out]
    assert metrics.auroc(scores_in, scores_out) == pytest.approx(sum(pairs) / len(pairs))
