"""``tw.size_table``: the one table of every experiment's two sizes, quick and full.

A notebook asks ``tw.sizes("dropout.bagging")`` and gets the settings of the size that the
environment variable ``TRAINWELL_SIZE`` selects, so notebooks never branch on the size themselves
and the cost of a full run can be read here in one place. ``quick`` (the default) is what the
website shows and what the tests execute, each notebook within 90 s on a 2-core CPU; ``full`` is
the scale of the papers, meant for a GPU.

Each entry is named ``"<part>.<experiment>"`` and records the notebook that runs it. The measured
CPU time of each quick run is read from ``experiment_times.json`` beside this file, which
``tools/notebook_times.py`` writes from the stored notebooks' execution records.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType, SimpleNamespace

#: Name of the environment variable that selects the size of every experiment.
SIZE_ENV = "TRAINWELL_SIZE"
#: The allowed sizes.
SIZES_ALLOWED = ("quick", "full")
#: Measured seconds of each experiment's quick run (written by tools/notebook_times.py).
TIMES_FILE = Path(__file__).with_name("experiment_times.json")


@dataclass(frozen=True)
class Experiment:
    """One row of the table: what is trained, in which notebook, at both sizes."""

    name: str
    notebook: str
    what: str
    quick: MappingProxyType
    full: MappingProxyType
    #: The keys that are the experiment's training budget (epochs or steps): what
    #: ``tools/robustness.py --budget K`` multiplies by K to test a claim at a longer run.
    budget: tuple[str, ...] = ()


def _entry(name: str, notebook: str, what: str, *, budget: tuple[str, ...], quick: dict,
           full: dict) -> Experiment:
    if set(quick) != set(full):
        raise ValueError(f"quick and full sizes of {name!r} must have the same keys, "
                         f"got {sorted(quick)} and {sorted(full)}")
    bad = [k for k in budget if k not in quick or not all(
        isinstance(size[k], int) and not isinstance(size[k], bool) and size[k] > 0 for size in (quick, full))]
    if not budget or bad:
        raise ValueError(f"the budget of {name!r} must name keys whose values are positive integers in both "
                         f"sizes, got budget={budget!r}")
    return Experiment(name, notebook, what, MappingProxyType(dict(quick)), MappingProxyType(dict(full)),
                      tuple(budget))


_ENTRIES = [
    _entry("using.digits_mlp", "using/using_this_book",
           "one-hidden-layer MLP on the 8x8 digits, two learning rates",
           budget=("epochs",),
           quick={"epochs": 30, "batch_size": 64, "hidden": 128, "seeds": 5},
           full={"epochs": 200, "batch_size": 64, "hidden": 512, "seeds": 10}),
    # Part I, regularization
    _entry("regularization.memorization", "regularization/overfitting",
           "an MLP on 300 digits with true, half-random and all-random training labels",
           budget=("epochs",),
           quick={"n_train": 300, "hidden": (256, 256), "fractions": (0.0, 0.5, 1.0), "epochs": 300,
                  "eval_every": 5, "seeds": 5},
           full={"n_train": 300, "hidden": (512, 512), "fractions": (0.0, 0.25, 0.5, 0.75, 1.0),
                 "epochs": 1000, "eval_every": 1, "seeds": 10}),
    _entry("regularization.weight_decay", "regularization/weight_decay",
           "SGD's weight_decay over a grid on an MLP trained on 300 digits",
           budget=("epochs",),
           quick={"n_train": 300, "hidden": (256, 256), "lr": 0.05, "epochs": 150, "eval_every": 5,
                  "decays": (0.0, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1), "seeds": 5},
           full={"n_train": 300, "hidden": (256, 256), "lr": 0.05, "epochs": 500, "eval_every": 1,
                 "decays": (0.0, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1), "seeds": 10}),
    _entry("regularization.l1_network", "regularization/l1_elastic_net",
           "no penalty, L1 by subgradient, smooth L1 and L1 by a proximal step on a digits MLP",
           budget=("epochs",),
           quick={"hidden": 128, "lr": 0.05, "alpha": 2e-3, "epochs": 30, "seeds": 5},
           full={"hidden": 512, "lr": 0.05, "alpha": 2e-3, "epochs": 100, "seeds": 10}),
    _entry("regularization.constraints", "regularization/constraints",
           "plain SGD at five learning rates without regularization, with L2 and with max-norm (every "
           "layer, hidden layers), digits MLP; then the penalty and max-norm each tuned at one rate",
           budget=("epochs",),
           quick={"learning_rates": (0.1, 0.3, 0.6, 1.0, 2.0), "epochs": 20, "alpha": 1e-3, "max_norm": 1.0,
                  "seeds": 5, "tune_lr": 1.0, "alphas": (1e-5, 1e-4, 1e-3),
                  "max_norms": (0.5, 1.0, 2.0, 4.0)},
           full={"learning_rates": (0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0), "epochs": 50,
                 "alpha": 1e-3, "max_norm": 1.0, "seeds": 10, "tune_lr": 1.0,
                 "alphas": (1e-5, 1e-4, 1e-3, 1e-2), "max_norms": (0.5, 1.0, 2.0, 4.0)}),
    _entry("regularization.augmentation", "regularization/augmentation",
           "an MLP on 50 to 3,500 MNIST digits with and without random shifts, and on 300 with and "
           "without mirroring, the same steps each; 300 and the largest size again at twice the steps",
           budget=("steps", "control_steps"),
           quick={"sizes": (50, 100, 300, 1000, 3500), "steps": 500, "control_steps": 1000, "max_shift": 2,
                  "hidden": (128, 128), "seeds": 5},
           full={"sizes": (50, 100, 200, 300, 500, 1000, 2000, 3500), "steps": 2000, "control_steps": 4000,
                 "max_shift": 2, "hidden": (256, 256), "seeds": 10}),
    _entry("regularization.early_stopping", "regularization/early_stopping",
           "the half-random-label MLP of the overfitting section with and without early stopping",
           budget=("epochs",),
           quick={"n_train": 300, "fraction": 0.5, "hidden": (256, 256), "epochs": 150, "patience": 20,
                  "seeds": 10},
           full={"n_train": 300, "fraction": 0.5, "hidden": (512, 512), "epochs": 500, "patience": 20,
                 "seeds": 10}),
    _entry("regularization.spectral", "regularization/spectral",
           "ridge, gradient descent, the L2 ball and input noise on 40 diabetes patients as spectral "
           "filters over several training subsets; ridge's bias and variance by simulation",
           budget=("draws", "noise_copies"),
           quick=dict(n_train=40, subset_seeds=5, noise_copies=100, draws=2000),
           full=dict(n_train=40, subset_seeds=20, noise_copies=400, draws=20000)),
    _entry("regularization.input_noise", "regularization/noise",
           "linear regression on the diabetes data trained by SGD on inputs with Gaussian noise",
           budget=("epochs",),
           quick={"sigma": 0.5, "lr": 0.01, "epochs": 300, "seeds": 5},
           full={"sigma": 0.5, "lr": 0.01, "epochs": 2000, "seeds": 10}),
    _entry("regularization.weight_noise", "regularization/noise",
           "an MLP on 300 digits with and without Gaussian noise on its weights, each run kept at its "
           "epoch of lowest validation loss and scored on the test split",
           budget=("epochs",),
           quick={"n_train": 300, "sigmas": (0.0, 0.1), "epochs": 500, "seeds": 10},
           full={"n_train": 300, "sigmas": (0.0, 0.05, 0.1), "epochs": 1000, "seeds": 10}),
    # Part II, dropout
    _entry("dropout.bagging", "dropout/bagging",
           "plain, dropout, dropout boosting and a bagged ensemble of k networks on MNIST-1D",
           budget=("epochs",),
           quick={"n_train": 1000, "hidden": 256, "epochs": 50, "k": 10, "seeds": 3},
           full={"n_train": 1000, "hidden": 512, "epochs": 150, "k": 25, "seeds": 10}),
    _entry("dropout.inference", "dropout/inference",
           "a small dropout net scored by every inference rule, exact ensembles over all masks",
           budget=("epochs",),
           quick={"hidden": (8, 8), "epochs": 60, "seeds": 3, "mc_repeats": 3,
                  "ks": (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)},
           full={"hidden": (10, 10), "epochs": 200, "seeds": 10, "mc_repeats": 20,
                 "ks": (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)}),
    _entry("dropout.regularizers", "dropout/regularizers",
           "weight decay, max-norm, sparse activity and dropout; a training-set-size sweep",
           budget=("epochs", "sweep_steps"),
           quick={"n_train": 1000, "hidden": 256, "epochs": 80, "seeds": 3,
                  "sweep_sizes": (250, 500, 1000, 2000, 3500), "sweep_steps": 1500, "sweep_seeds": 3},
           full={"n_train": 1000, "hidden": 512, "epochs": 200, "seeds": 10,
                 "sweep_sizes": (125, 250, 500, 1000, 2000, 3500), "sweep_steps": 5000, "sweep_seeds": 10}),
    _entry("dropout.variants", "dropout/variants",
           "dropout, Gaussian dropout, DropConnect and additive noise on MNIST-1D",
           budget=("epochs",),
           quick={"n_train": 1000, "hidden": 128, "epochs": 40, "seeds": 3, "sigma_add": 0.2},
           full={"n_train": 1000, "hidden": 256, "epochs": 100, "seeds": 10, "sigma_add": 0.2}),
    _entry("dropout.practice", "dropout/practice",
           "the forgotten eval(), the variance shift with batch norm, MC-dropout uncertainty",
           budget=("bug_epochs", "bn_epochs", "mc_epochs"),
           quick={"seeds": 3, "bug_hidden": 256, "bug_epochs": 30, "bug_passes": 10,
                  "bn_hidden": 128, "bn_depth": 3, "bn_epochs": 15, "bn_keep": 0.5,
                  "mc_hidden": 256, "mc_epochs": 60, "mc_k": 50},
           full={"seeds": 10, "bug_hidden": 512, "bug_epochs": 100, "bug_passes": 50,
                 "bn_hidden": 512, "bn_depth": 4, "bn_epochs": 60, "bn_keep": 0.5,
                 "mc_hidden": 512, "mc_epochs": 200, "mc_k": 200}),
    # Part III, batch normalization
    _entry("batchnorm.ema_lag", "batchnorm/inference",
           "running statistics against Algorithm 2's population statistics early in training",
           budget=("steps",),
           quick={"steps": 60, "eval_every": 3, "seeds": 5},
           full={"steps": 400, "eval_every": 5, "seeds": 10}),
    _entry("batchnorm.conv_position", "batchnorm/conv_and_learning_rates",
           "a small convnet on the digits with BN before, after or without the ReLU",
           budget=("epochs",),
           quick={"epochs": 15, "seeds": 5},
           full={"epochs": 60, "seeds": 10}),
    _entry("batchnorm.lr_sweep", "batchnorm/conv_and_learning_rates",
           "a 4-layer ReLU MLP with and without BN over a log grid of learning rates",
           budget=("epochs",),
           quick={"epochs": 8, "seeds": 5, "learning_rates": (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)},
           full={"epochs": 40, "seeds": 10,
                 "learning_rates": (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)}),
    _entry("batchnorm.figure1", "batchnorm/figure1",
           "the paper's Figure 1: 3x100 sigmoid MLP on MNIST with and without BN",
           budget=("steps",),
           quick={"steps": 3000, "eval_every": 100, "seeds": 5},
           full={"steps": 50000, "eval_every": 500, "seeds": 5}),
    _entry("batchnorm.regularization", "batchnorm/beyond",
           "batch norm, dropout and both as regularizers",
           budget=("epochs",),
           quick={"n_train": 1000, "epochs": 40, "seeds": 5},
           full={"n_train": 3500, "epochs": 200, "seeds": 10}),
    _entry("batchnorm.batch_size", "batchnorm/beyond",
           "a BN MLP over batch sizes: the train/eval gap at small batches",
           budget=("epochs",),
           quick={"batch_sizes": (2, 4, 8, 16, 64, 256), "epochs": 4, "seeds": 5},
           full={"batch_sizes": (2, 4, 8, 16, 32, 64, 128, 256), "epochs": 20, "seeds": 10}),
    _entry("batchnorm.wine", "batchnorm/beyond",
           "BN as the first layer on the raw, badly scaled wine features",
           budget=("epochs",),
           quick={"epochs": 60, "seeds": 5},
           full={"epochs": 300, "seeds": 20}),
    # Part IV, optimization
    _entry("optim.sgd_lr", "optimization/sgd_momentum",
           "plain SGD on a digits MLP over a log grid of learning rates",
           budget=("epochs",),
           quick={"epochs": 20, "seeds": 5, "learning_rates": (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)},
           full={"epochs": 100, "seeds": 10,
                 "learning_rates": (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)}),
    _entry("optim.momentum_schedule", "optimization/sgd_momentum",
           "no momentum, constant momentum 0.9, and 0.5 raised to 0.9, on a digits MLP",
           budget=("epochs",),
           quick={"epochs": 20, "seeds": 5, "lr": 0.1, "switch_epoch": 5},
           full={"epochs": 100, "seeds": 10, "lr": 0.1, "switch_epoch": 10}),
    _entry("optim.nesterov_batch", "optimization/nesterov",
           "softmax regression with SGD and Nesterov's accelerated schedule at several batch sizes",
           budget=("steps",),
           quick={"batch_sizes": (1257, 256, 64, 16), "steps": 300, "lr": 0.5, "seeds": 5},
           full={"batch_sizes": (1257, 512, 256, 128, 64, 32, 16, 8), "steps": 3000, "lr": 0.5,
                 "seeds": 10}),
    _entry("optim.sparse", "optimization/adaptive",
           "SGD and Adagrad, each tuned, on linear regression with rare binary features",
           budget=("epochs",),
           quick={"n": 2000, "d": 40, "epochs": 10, "seeds": 5, "sgd_lrs": (0.01, 0.03, 0.1, 0.3, 1.0),
                  "adagrad_lrs": (0.03, 0.1, 0.3, 1.0, 3.0)},
           full={"n": 20000, "d": 200, "epochs": 20, "seeds": 10,
                 "sgd_lrs": (0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
                 "adagrad_lrs": (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)}),
    _entry("optim.bias_travel", "optimization/adaptive",
           "how far a regression bias travels under Adagrad, RMSprop and SGD on the diabetes data",
           budget=("epochs",),
           quick={"epochs": 1000, "seeds": 5, "adagrad_lr": 0.3, "rmsprop_lr": 0.03, "sgd_lr": 0.01},
           full={"epochs": 10000, "seeds": 10, "adagrad_lr": 0.3, "rmsprop_lr": 0.03, "sgd_lr": 0.01}),
    _entry("optim.adam_correction", "optimization/adam",
           "Adam with and without its bias correction on an MNIST-1D MLP at two learning rates",
           budget=("epochs",),
           quick={"learning_rates": (0.01, 0.03), "epochs": 10, "seeds": 5},
           full={"learning_rates": (0.003, 0.01, 0.03), "epochs": 50, "seeds": 10}),
    _entry("optim.adamw_grid", "optimization/adamw_nadam",
           "Adam with L2 and AdamW over a grid of learning rates and weight decays on MNIST-1D",
           budget=("epochs",),
           quick={"n_train": 1000, "epochs": 40, "seeds": 3, "learning_rates": (3e-4, 1e-3, 3e-3, 1e-2),
                  "adam_decays": (0.0, 1e-4, 1e-3, 1e-2, 1e-1), "adamw_decays": (0.0, 1e-2, 1e-1, 1.0, 10.0)},
           full={"n_train": 1000, "epochs": 200, "seeds": 5,
                 "learning_rates": (1e-4, 3e-4, 1e-3, 3e-3, 1e-2),
                 "adam_decays": (0.0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1),
                 "adamw_decays": (0.0, 1e-3, 1e-2, 1e-1, 1.0, 10.0)}),
    _entry("optim.tuned", "optimization/side_by_side",
           "seven optimizers, each tuned on a learning-rate grid and rerun on fresh seeds, on MNIST-1D",
           budget=("epochs",),
           quick={"epochs": 15, "tune_seeds": 3, "test_seeds": 5, "target": 0.6,
                  "grids": {"SGD + momentum": (0.003, 0.01, 0.03, 0.1), "Adagrad": (0.003, 0.01, 0.03, 0.1),
                            "Adadelta": (0.1, 0.3, 1.0, 3.0), "RMSprop": (1e-4, 3e-4, 1e-3, 3e-3, 1e-2),
                            "Adam": (3e-4, 1e-3, 3e-3, 1e-2), "AdamW": (3e-4, 1e-3, 3e-3, 1e-2),
                            "NAdam": (3e-4, 1e-3, 3e-3, 1e-2)}},
           full={"epochs": 100, "tune_seeds": 5, "test_seeds": 10, "target": 0.6,
                 "grids": {"SGD + momentum": (0.001, 0.003, 0.01, 0.03, 0.1, 0.3),
                           "Adagrad": (0.001, 0.003, 0.01, 0.03, 0.1, 0.3),
                           "Adadelta": (0.03, 0.1, 0.3, 1.0, 3.0, 10.0),
                           "RMSprop": (3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2),
                           "Adam": (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2),
                           "AdamW": (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2),
                           "NAdam": (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)}}),
    # Part V, putting it together
    _entry("together.ablation", "together/ablation",
           "six techniques left out of the full recipe and added to plain SGD at three learning rates",
           budget=("epochs",),
           quick={"n_train": 500, "hidden": (64, 64), "epochs": 16, "lr_factors": (1, 3, 10), "seeds": 5},
           full={"n_train": 3500, "hidden": (256, 256), "epochs": 60, "lr_factors": (1 / 3, 1, 3, 10),
                 "seeds": 10}),
]

#: Every experiment by name (read-only).
TABLE: MappingProxyType = MappingProxyType({e.name: e for e in _ENTRIES})


def size() -> str:
    """Return the selected size, ``"quick"`` unless ``TRAINWELL_SIZE`` says ``"full"``."""
    value = os.environ.get(SIZE_ENV, "quick").strip().lower() or "quick"
    if value not in SIZES_ALLOWED:
        raise ValueError(f"Invalid {SIZE_ENV}={value!r} (allowed: 'quick', 'full')")
    return value


def sizes(experiment: str) -> SimpleNamespace:
    """Settings of ``experiment`` at the selected size, as attributes (``s.epochs``, ``s.seeds``...).

    A fresh namespace each call, so changing it changes nothing in the table."""
    if not isinstance(experiment, str):
        raise TypeError(f"experiment must be a name such as 'dropout.bagging', got {experiment!r}")
    if experiment not in TABLE:
        known = ", ".join(sorted(TABLE))
        raise ValueError(f"Unknown experiment {experiment!r} (known: {known})")
    entry = TABLE[experiment]
    return SimpleNamespace(**(entry.quick if size() == "quick" else entry.full))


def measured_seconds() -> dict[str, float]:
    """The measured wall time of each experiment's quick run on the book's 2-core CPU, in seconds
    (from ``experiment_times.json``; empty if it was never measured)."""
    if not TIMES_FILE.exists():
        return {}
    data = json.loads(TIMES_FILE.read_text())
    return {k: float(v) for k, v in data.get("experiments", {}).items()}


def _settings(values) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())


def markdown_table() -> str:
    """The table as Markdown: one row per experiment with its notebook, both sizes and the measured
    time of its quick run."""
    times = measured_seconds()
    rows = ["| experiment | notebook | quick | full | quick run |", "|---|---|---|---|---|"]
    for e in TABLE.values():
        seconds = f"{times[e.name]:.0f} s" if e.name in times else "not measured"
        rows.append(f"| `{e.name}`: {e.what} | {e.notebook} | {_settings(e.quick)} | "
                    f"{_settings(e.full)} | {seconds} |")
    return "\n".join(rows)
