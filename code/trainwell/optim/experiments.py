"""The experiments of Part IV, optimization: each function trains the book's networks with the
optimizers of :mod:`trainwell.optim` through :func:`trainwell.train.fit_many`, every seed (and every
setting of a grid) side by side, and returns :class:`~trainwell.train.Runs` or arrays of them.

* :func:`mlp_builder`: the network every comparison uses;
* :func:`lr_sweep`: one optimizer over a log grid of learning rates and several seeds
  (section `part-optimization`);
* :func:`momentum_schedule_runs`: no momentum, constant momentum, and the survey's schedule that
  starts at 0.5 and raises it to 0.9;
* :func:`accelerated_paths`: gradient descent, and momentum with Nesterov's schedule with and
  without the look-ahead, on a smooth convex problem (section `opt-nesterov`);
* :func:`nesterov_batch_runs`: the same comparison on real data at several batch sizes;
* :func:`tuned_comparison`: the protocol of Schmidt, Schneider & Hennig (2021): tune each optimizer's
  learning rate on a log grid, rerun the best on fresh seeds (sections `opt-adaptive` and later);
* :func:`default_runs`: the same candidates at their default learning rates, for the question
  whether trying several optimizers untuned is as good as tuning one (section `opt-side-by-side`);
* :func:`diabetes_column`: the diabetes data in raw target units, targets as a column;
* :func:`bias_travel`: how far the output bias of a linear regression travels under different
  optimizers (Adagrad's steps shrink like 1/√t).
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np
from torch import nn

from .._validate import check_float, check_int, check_seeds
from ..models import layer_sizes, mlp
from ..train import Record, Runs, Schedule, fit_many
from .functions import Objective, trajectory
from .sgd import SGD


def mlp_builder(data, hidden: Sequence[int] = (128, 128)) -> Callable[[], nn.Module]:
    """A function that builds a fresh ReLU MLP ``n_features -> hidden... -> n_classes`` for ``data``."""
    sizes = layer_sizes(data, hidden)
    return lambda: mlp(sizes)


_seeds = check_seeds  # the book's one seed check, under the name the displayed code reads


def lr_sweep(data, *, make_optimizer: Callable, learning_rates: Sequence[float], seeds, epochs: int,
             batch_size: int = 64, hidden: Sequence[int] = (128, 128), callbacks: Sequence = ()) -> Runs:
    """Train :func:`mlp_builder`'s network with ``make_optimizer`` at every learning rate of
    ``learning_rates`` from every seed, side by side; ``runs.by_setting(metric)`` is then
    (len(learning_rates), len(seeds))."""
    lrs = [check_float(f"learning_rates[{i}]", lr, minimum=0.0, min_inclusive=False)
           for i, lr in enumerate(learning_rates)]
    if not lrs:
        raise ValueError("learning_rates is empty")
    return fit_many(mlp_builder(data, hidden), data, seeds=_seeds(seeds), grid={"lr": lrs},
                    optimizer=make_optimizer, epochs=check_int("epochs", epochs, minimum=1),
                    batch_size=batch_size, callbacks=list(callbacks), progress=False,
                    tolerate_divergence=True)  # the largest rates of a sweep may diverge


MOMENTUM_ARMS = ("no momentum", "momentum 0.9", "0.5, then 0.9")


def momentum_schedule_runs(data, *, lr: float, seeds, epochs: int, switch_epoch: int = 5,
                           batch_size: int = 64, hidden: Sequence[int] = (128, 128)) -> dict[str, Runs]:
    """SGD at one learning rate three ways (:data:`MOMENTUM_ARMS`): without momentum, with a constant
    momentum of 0.9, and with the survey's schedule, γ = 0.5 for the first ``switch_epoch`` epochs and
    0.9 after (Murugan & Durairaj 2017). Returns the runs of each arm."""
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    switch_epoch = check_int("switch_epoch", switch_epoch, minimum=1)

    arms = {"no momentum": (0.0, []), "momentum 0.9": (0.9, []),
            "0.5, then 0.9": (0.5, [Schedule("momentum", lambda e: 0.5 if e <= switch_epoch else 0.9)])}
    out = {}
    for name, (momentum, callbacks) in arms.items():
        out[name] = fit_many(mlp_builder(data, hidden), data, seeds=_seeds(seeds), epochs=epochs,
                             batch_size=batch_size, callbacks=callbacks, progress=False,
                             optimizer=lambda p, m=momentum: SGD(p, lr=lr, momentum=m))
    return out


def nesterov_schedule(t: int) -> float:
    """A momentum for step t = 1, 2, ... that rises towards 1, (t − 1)/(t + 2): a closed form that
    behaves like the recursions of Nesterov (1983) and Beck & Teboulle's FISTA, 1 − 3/t for large t,
    and keeps their 1/k² guarantee (the form studied by Su, Boyd & Candès 2016)."""
    return (t - 1) / (t + 2)


def accelerated_paths(function: Objective, start, *, lr: float, steps: int) -> dict[str, np.ndarray]:
    """Iterates of three methods on ``function`` with the step ``lr``: gradient descent, heavy-ball
    momentum with Nesterov's schedule :func:`nesterov_schedule`, and PyTorch's Nesterov form
    (``nesterov=True``) with the same schedule; each a (steps + 1, d) array."""
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)

    def schedule(t, optimizer):
        optimizer.param_groups[0]["momentum"] = nesterov_schedule(t)

    return {
        "gradient descent": trajectory(lambda p: SGD(p, lr=lr), function, start, steps),
        "momentum, Nesterov's schedule": trajectory(lambda p: SGD(p, lr=lr, momentum=0.5), function, start,
                                                    steps, adjust=schedule),
        "Nesterov": trajectory(lambda p: SGD(p, lr=lr, momentum=0.5, nesterov=True), function, start,
                               steps, adjust=schedule),
    }


def nesterov_batch_runs(data, *, batch_sizes: Sequence[int], seeds, steps: int, lr: float) -> dict:
    """Softmax regression (a convex problem) on ``data`` for ``steps`` updates at every batch size of
    ``batch_sizes``, with plain SGD and with Nesterov's momentum on the schedule
    :func:`nesterov_schedule`, both at the learning rate ``lr``. Returns ``{batch size: {"SGD": Runs,
    "Nesterov": Runs}}`` (section `opt-nesterov`)."""
    steps = check_int("steps", steps, minimum=1)
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    n = len(data.y_train)
    out = {}
    for b in batch_sizes:
        b = check_int("batch size", b, minimum=1, maximum=n)
        epochs = math.ceil(steps / math.ceil(n / b))
        common = dict(seeds=_seeds(seeds), epochs=epochs, max_steps=steps, batch_size=b, progress=False)
        build = mlp_builder(data, hidden=())
        out[b] = {
            "SGD": fit_many(build, data, optimizer=lambda p: SGD(p, lr=lr), **common),
            "Nesterov": fit_many(build, data, optimizer=lambda p: SGD(p, lr=lr, momentum=0.5, nesterov=True),
                                 callbacks=[Schedule("momentum", nesterov_schedule, per="step")], **common),
        }
    return out


def _better(metric: str) -> Callable[[np.ndarray], int]:
    """The index of the best setting by ``metric``'s mean over seeds (a loss is minimized, an
    accuracy maximized); a setting with a diverged or missing seed is never best."""
    sign = -1.0 if metric.endswith("acc") else 1.0

    def best(table: np.ndarray) -> int:
        score = sign * table
        score = np.where(np.isfinite(score), score, np.inf).mean(axis=1)
        return int(np.argmin(score))

    return best


def tuned_comparison(data, build: Callable[[], nn.Module], candidates: dict[str, Callable], *,
                     learning_rates: dict[str, Sequence[float]], tune_seeds, test_seeds, epochs: int,
                     batch_size: int = 64, loss="cross_entropy", metric: str = "val_loss",
                     callbacks: Sequence = ()) -> dict[str, dict]:
    """Each optimizer at its learning rate chosen on tuning seeds, then retrained on fresh seeds.

    Compare optimizers fairly (Schmidt, Schneider & Hennig 2021): for each candidate, a function
    ``params -> Optimizer``, train every learning rate of ``learning_rates[name]`` from every seed of
    ``tune_seeds``, choose the rate with the best mean final ``metric`` (validation loss by default;
    a rate that diverged on any seed is never chosen), then train that rate again from the fresh
    ``test_seeds``. Returns, per candidate, ``{"grid": Runs, "best_lr": float, "runs": Runs}``; the
    grid's ``by_setting(metric)`` is (rates, tune seeds)."""
    if not candidates:
        raise ValueError("candidates is empty")
    unknown = sorted(set(candidates) - set(learning_rates))
    if unknown:
        raise ValueError(f"learning_rates has no grid for {', '.join(unknown)}")
    tune_seeds, test_seeds = _seeds(tune_seeds), _seeds(test_seeds)
    if set(tune_seeds) & set(test_seeds):
        raise ValueError("test_seeds must be fresh: they share seeds with tune_seeds")
    best_of = _better(metric)
    common = dict(epochs=check_int("epochs", epochs, minimum=1), batch_size=batch_size, loss=loss,
                  callbacks=list(callbacks), progress=False)
    out = {}
    for name, make in candidates.items():
        lrs = [check_float(f"learning_rates[{name!r}]", lr, minimum=0.0, min_inclusive=False)
               for lr in learning_rates[name]]
        grid = fit_many(build, data, seeds=tune_seeds, grid={"lr": lrs}, optimizer=make,
                        tolerate_divergence=True, **common)  # a grid's largest rates may diverge
        best_lr = lrs[best_of(grid.by_setting(metric))]
        runs = fit_many(build, data, seeds=test_seeds, grid={"lr": [best_lr]}, optimizer=make, **common)
        out[name] = {"grid": grid, "best_lr": best_lr, "runs": runs}
    return out


def diabetes_column():
    """The diabetes data with standardized features and the target in its own units (25 to 346, mean
    about 150), as an (n, 1) column: a linear model's output bias has far to travel from 0."""
    from ..data import load, standardize

    data = standardize(load("diabetes", scaled=False))
    return dataclasses.replace(data, y_train=data.y_train[:, None], y_val=data.y_val[:, None],
                               y_test=data.y_test[:, None])


def bias_travel(data, candidates: dict[str, Callable], *, seeds, epochs: int, batch_size: int = 32
                ) -> dict[str, dict]:
    """Linear regression (one ``nn.Linear``, squared loss) trained with each candidate optimizer
    (``params -> Optimizer``) from every seed, recording the output bias after every step. Returns,
    per candidate, ``{"steps": (T,), "bias": (T, seeds), "runs": Runs}`` (section `opt-adaptive`)."""
    out = {}
    for name, make in candidates.items():
        record = Record(lambda state: state.model.param("0.bias")[:, 0].detach().cpu().numpy().copy())
        runs = fit_many(lambda: mlp([data.n_features, 1]), data, seeds=_seeds(seeds), optimizer=make,
                        epochs=check_int("epochs", epochs, minimum=1), batch_size=batch_size, loss="mse",
                        callbacks=[record], progress=False)
        out[name] = {"steps": np.array(record.at), "bias": np.array(record.values), "runs": runs}
    return out


def default_runs(data, build: Callable[[], nn.Module], candidates: dict[str, Callable], *, seeds,
                 epochs: int, batch_size: int = 64, loss="cross_entropy") -> dict[str, Runs]:
    """Each candidate (``params -> Optimizer``, built with its own default learning rate) trained from
    every seed of ``seeds``, side by side: no tuning at all."""
    return {name: fit_many(build, data, seeds=_seeds(seeds), optimizer=make,
                           epochs=check_int("epochs", epochs, minimum=1), batch_size=batch_size, loss=loss,
                           progress=False)
            for name, make in candidates.items()}

