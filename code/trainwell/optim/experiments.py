"""The experiments of Part IV, optimization: each function trains the book's networks with the
optimizers of :mod:`trainwell.optim` through :func:`trainwell.train.fit_many`, every seed (and every
setting of a grid) side by side, and returns :class:`~trainwell.train.Runs` or arrays of them.

* :func:`mlp_builder`: the network every comparison uses;
* :func:`lr_sweep`: one optimizer over a log grid of learning rates and several seeds
  (section `part-optimization`);
* :func:`momentum_schedule_runs`: no momentum, constant momentum, and the survey's schedule that
  starts at 0.5 and raises it to 0.9;
* :func:`gd_convex_run`, :func:`nesterov_convex_run`: full-batch gradient descent and Nesterov's
  method on a smooth convex problem, suboptimality per step;
* :func:`tuned_comparison`: the protocol of Schmidt, Schneider & Hennig (2021): tune each optimizer's
  learning rate on a log grid, rerun the best on fresh seeds.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from .._validate import check_float, check_int
from ..models import mlp
from ..train import Runs, Schedule, fit_many


def mlp_builder(data, hidden: Sequence[int] = (128, 128)) -> Callable[[], nn.Module]:
    """A function that builds a fresh ReLU MLP ``n_features -> hidden... -> n_classes`` for ``data``."""
    sizes = [data.n_features, *hidden, data.n_classes]
    return lambda: mlp(sizes)


def _seeds(seeds) -> list[int]:
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds is empty")
    return seeds


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
                    batch_size=batch_size, callbacks=list(callbacks), progress=False)


MOMENTUM_ARMS = ("no momentum", "momentum 0.9", "0.5, then 0.9")


def momentum_schedule_runs(data, *, lr: float, seeds, epochs: int, switch_epoch: int = 5,
                           batch_size: int = 64, hidden: Sequence[int] = (128, 128)) -> dict[str, Runs]:
    """SGD at one learning rate three ways (:data:`MOMENTUM_ARMS`): without momentum, with a constant
    momentum of 0.9, and with the survey's schedule, γ = 0.5 for the first ``switch_epoch`` epochs and
    0.9 after (Murugan & Durairaj 2017). Returns the runs of each arm."""
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    switch_epoch = check_int("switch_epoch", switch_epoch, minimum=1)
    from .sgd import SGD

    arms = {"no momentum": (0.0, []), "momentum 0.9": (0.9, []),
            "0.5, then 0.9": (0.5, [Schedule("momentum", lambda e: 0.5 if e <= switch_epoch else 0.9)])}
    out = {}
    for name, (momentum, callbacks) in arms.items():
        out[name] = fit_many(mlp_builder(data, hidden), data, seeds=_seeds(seeds), epochs=epochs,
                             batch_size=batch_size, callbacks=callbacks, progress=False,
                             optimizer=lambda p, m=momentum: SGD(p, lr=lr, momentum=m))
    return out
