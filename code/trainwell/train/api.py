"""The two ways to train: :func:`fit` (one model) and :func:`fit_many` (one member per setting and
seed, side by side), both one run of the loop in :mod:`trainwell.train.loop`; :func:`repeat` for
runs that are not a training loop."""
from __future__ import annotations

import random
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from .._validate import check_int, check_seeds
from ..config import device as default_device
from ..config import seed_everything
from .callbacks import Callback, LRScheduler, Record
from .checks import _build_optimizer, _check_last_batch, plan
from .grid import settings_from_grid
from .loop import _penalty, run
from .members import StackedModel
from .progress import _progress
from .results import History, Runs
from .state import RunState, TrainState


def _stream_seed(seed: int) -> int:
    """The seed of the random draws inside a run (dropout masks, augmentation), distinct from the
    seed that initialized the model and from the mini-batch order's."""
    return int(np.random.SeedSequence([seed, 0x7E57]).generate_state(1)[0])


def fit(model: nn.Module, data, *, optimizer, epochs: int, batch_size: int = 64, loss="cross_entropy",
        penalty: Callable[[nn.Module], torch.Tensor] | None = None,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        callbacks: Sequence = (), max_steps: int | None = None, drop_last: bool = False, seed: int = 0,
        device: torch.device | str | None = None, progress: bool | None = None,
        desc: str = "training", eval_every: int = 1, tolerate_divergence: bool = False) -> History:
    """Train ``model`` on ``data.X_train, data.y_train`` with mini-batch updates; return a :class:`History`.

    - ``optimizer``: a ``torch.optim.Optimizer`` built on ``model.parameters()``, or a function
      ``params -> Optimizer`` (then built on the model's parameters after it is moved to ``device``).
    - ``penalty(model)`` is added to every mini-batch's loss (e.g. ``α·Ω(θ)``); a penalty that is also a
      :class:`Callback` is started and ended with the run, before the other callbacks.
    - ``transform(x)`` replaces every training mini-batch's inputs (augmentation, input noise); it is
      not applied when the epoch's metrics are measured.
    - ``callbacks``: :class:`Callback` objects (early stopping, recording, projections, learning-rate
      schedules; a ``torch.optim.lr_scheduler`` object may be given as it is).
    - ``max_steps`` ends training after that many updates (papers count steps, not epochs); the last,
      partial epoch is evaluated like the others. ``drop_last`` skips each epoch's final, smaller
      mini-batch (batch norm cannot train on a batch of one).
    - ``seed`` fixes everything random in the run: the order of the mini-batches (its own generator)
      and every draw from torch's global generator while training (dropout masks, noise,
      augmentation), which is seeded from ``seed`` for the run and put back as it was afterwards. Two
      runs of one model with one seed give identical histories whatever ran before or between them.

    - ``eval_every``: measure the training and validation metrics only every that many epochs (and
      after the last one); the evaluation passes over both splits can cost a good part of a run of
      many short epochs. :class:`EarlyStopping` needs every epoch's metrics.
    - ``progress``: show a progress bar; ``None`` (the default) shows one unless the environment
      sets ``TRAINWELL_PROGRESS=0``, as the book's stored runs and tests do (a bar is for a reader
      watching a live run, not for a page).

    A non-finite training loss (or penalty) ends training at that step, before its update: the
    model keeps the parameters whose loss was not finite, ``history.diverged`` is True and
    ``history.stop_reason`` says at which step. A non-finite metric after an epoch ends training
    the same way. Either warns (a ``RuntimeWarning``) unless ``tolerate_divergence=True``, which
    says that divergence is an expected outcome (the largest rates of a learning-rate sweep).
    Checking each step's loss costs one synchronisation with the device per step.

    The model is trained as the one member of :func:`fit_many`'s loop (:func:`trainwell.train.loop.run`).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"fit: model must be a torch.nn.Module, got {type(model).__name__}")
    seed = check_int("seed", seed, minimum=0, maximum=2**63 - 1)
    if penalty is not None and not callable(penalty):
        raise TypeError(f"fit: penalty must be a function, got {type(penalty).__name__}")
    settings, callbacks = plan("fit", data, callbacks, epochs=epochs, batch_size=batch_size, loss=loss,
                               transform=transform, max_steps=max_steps, drop_last=drop_last,
                               eval_every=eval_every, tolerate_divergence=tolerate_divergence,
                               progress=progress, desc=desc)
    callbacks = _with_penalty(penalty, callbacks)
    _check_last_batch(model, data.X_train.shape[0], batch_size, drop_last, "fit")
    dev = torch.device(device) if device is not None else default_device()
    model.to(dev)
    optimizer = _build_optimizer(optimizer, model)
    state = RunState(model=StackedModel.one(model), optimizer=optimizer,
                     histories=[History()], active=[True], device=dev)
    view = TrainState(state, model)
    seen = [(cb, state if cb.per_member else view) for cb in callbacks]
    if penalty is None or callable(getattr(penalty, "many", None)):  # a penalty written for members
        one_penalty = None if penalty is None else (lambda members: _member_penalty(penalty, members, "fit"))
    else:
        one_penalty = lambda _: _penalty(penalty, model).unsqueeze(0)  # noqa: E731
    cuda = [dev.index if dev.index is not None else torch.cuda.current_device()] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(_stream_seed(seed))  # every draw of the run: dropout, noise, augmentation
        run(state, seen, data, settings, one_penalty, streams=None,
            order_generators=[torch.Generator().manual_seed(seed)])
    history = state.histories[0]
    if history.diverged and not settings.tolerate_divergence:
        warnings.warn(f"fit: training diverged: {history.stop_reason}. Pass tolerate_divergence=True where "
                      "divergence is an expected outcome", RuntimeWarning, stacklevel=2)
    return history


def fit_many(build: Callable[[], nn.Module], data, *, seeds: Sequence[int], optimizer, grid=None,
             epochs: int, batch_size: int = 64, loss="cross_entropy",
             penalty=None, transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
             callbacks: Sequence = (), max_steps: int | None = None, drop_last: bool = False,
             device: torch.device | str | None = None, progress: bool | None = None,
             desc: str = "training", eval_every: int = 1, tolerate_divergence: bool = False) -> Runs:
    """Train one member per (setting, seed) side by side, each the run that

        seed_everything(seed); model = build(); fit(model, data, optimizer=<setting>, seed=seed, ...)

    would make: its own initialization, mini-batch order, dropout masks, augmentation and batch-norm
    statistics (section `using-this-book`). The members run as one
    :class:`~trainwell.train.members.StackedModel`, so a step of M small networks costs about the
    arithmetic of M steps rather than M times the overhead of one.

    - ``optimizer``: a function ``params -> Optimizer``, as for :func:`fit`; it receives one param
      group per setting, holding the hyperparameters of ``grid``. Elementwise optimizers (every
      ``torch.optim`` optimizer but LBFGS, and the book's own) then act as independent optimizers.
    - ``grid``: ``None``, a dict of lists (every combination) or a list of dicts of optimizer
      hyperparameters (``lr``, ``weight_decay``, ``momentum``, ...).
    - ``callbacks``: :class:`EarlyStopping` acts per member (each member stops, and is restored, on
      its own); :class:`Record` and :class:`LRScheduler` see the run's :class:`RunState`.
    - ``penalty``: an object with a method ``many(stacked) -> (M,) tensor`` (Part I's penalties have
      one), added to the members' losses; one that is also a :class:`Callback` (``ActivityL1``) is
      started and ended with the run.
    - A member whose loss stops being finite stops alone, at that step and before its update, as its
      :func:`fit` run would; one warning lists the members that diverged, unless
      ``tolerate_divergence=True``.
    - The other arguments are :func:`fit`'s. Returns :class:`Runs`: settings, seeds, histories and the
      trained models, member by member, in the order settings × seeds.
    """
    if not callable(build):
        raise TypeError("fit_many: build must be a function that returns a new model, "
                        f"got {type(build).__name__}")
    seeds = check_seeds(seeds)
    if isinstance(optimizer, torch.optim.Optimizer) or not callable(optimizer):
        raise TypeError("fit_many: optimizer must be a function params -> Optimizer (it is built on the "
                        f"stacked members), got {type(optimizer).__name__}")
    settings = settings_from_grid(grid)
    if penalty is not None and not callable(getattr(penalty, "many", None)):
        raise TypeError("fit_many: penalty must have a method many(stacked) returning each member's penalty "
                        f"(Part I's penalties do), got {type(penalty).__name__}")
    the_plan, callbacks = plan("fit_many", data, callbacks, epochs=epochs, batch_size=batch_size, loss=loss,
                               transform=transform, max_steps=max_steps, drop_last=drop_last,
                               eval_every=eval_every, tolerate_divergence=tolerate_divergence,
                               progress=progress, desc=desc)
    callbacks = _with_penalty(penalty, callbacks)
    for cb in callbacks:
        if not (cb.per_member or isinstance(cb, (Record, LRScheduler))):
            raise TypeError(f"fit_many does not know how to apply {type(cb).__name__} to many members; it "
                            "takes Record, LRScheduler and callbacks written for the members of a run "
                            "(per_member = True: EarlyStopping, Schedule, Part I's constraints and noise)")
    dev = torch.device(device) if device is not None else default_device()

    member_settings = [s for s in settings for _ in seeds]
    member_seeds = [seed for _ in settings for seed in seeds]
    models = _build_members(build, member_seeds, dev)
    _check_last_batch(models[0], data.X_train.shape[0], batch_size, drop_last, "fit_many")
    streams = [torch.Generator(device=dev).manual_seed(_stream_seed(s)) for s in member_seeds]
    stacked = StackedModel(models, [len(seeds)] * len(settings), streams)
    groups = [{"params": params, **setting} for params, setting in zip(stacked.param_groups(), settings,
                                                                       strict=True)]
    opt = optimizer(groups)
    if not isinstance(opt, torch.optim.Optimizer):
        raise TypeError(f"fit_many: the optimizer function returned {type(opt).__name__}, not a "
                        "torch.optim.Optimizer")
    unknown = sorted({k for s in settings for k in s} - set(opt.defaults))
    if unknown:
        raise ValueError(f"fit_many: grid names {', '.join(unknown)}, not a hyperparameter of "
                         f"{type(opt).__name__} (its hyperparameters: {', '.join(opt.defaults)})")
    if len(opt.param_groups) != len(settings):
        raise ValueError("fit_many: the optimizer function must keep the param groups it is given")

    M = len(models)
    state = RunState(model=stacked, optimizer=opt, histories=[History() for _ in range(M)],
                     active=[True] * M, device=dev)
    run(state, [(cb, state) for cb in callbacks], data, the_plan,
        None if penalty is None else lambda members: _member_penalty(penalty, members, "fit_many"),
        streams, [torch.Generator().manual_seed(s) for s in member_seeds])
    stacked.unstack(models)
    histories = state.histories
    diverged = [m for m in range(M) if histories[m].diverged]
    if diverged and not the_plan.tolerate_divergence:
        which = "; ".join(", ".join([f"{k}={v}" for k, v in member_settings[m].items()]
                                    + [f"seed {member_seeds[m]}: {histories[m].stop_reason}"])
                          for m in diverged[:3]) + ("; ..." if len(diverged) > 3 else "")
        warnings.warn(f"fit_many: {len(diverged)} of {M} members diverged ({which}). Pass "
                      "tolerate_divergence=True where divergence is an expected outcome", RuntimeWarning,
                      stacklevel=2)
    return Runs(member_settings, member_seeds, histories, models)


def _with_penalty(penalty, callbacks: list) -> list:
    """The run's callbacks, with the penalty first when it is a :class:`Callback` too (a penalty that
    must see the run start and end, e.g. to hook the layers whose activity it penalizes)."""
    if isinstance(penalty, Callback) and not any(cb is penalty for cb in callbacks):
        return [penalty, *callbacks]
    return callbacks


def _member_penalty(penalty, members, where: str) -> torch.Tensor:
    """``penalty.many(members)``, checked to hold one value per member (nothing broadcast)."""
    value = penalty.many(members)
    if not isinstance(value, torch.Tensor) or value.shape != (members.members,):
        got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise ValueError(f"{where}: penalty.many(stacked) must return one value per member, shape "
                         f"({members.members},), got {got}")
    return value


def _build_members(build, seeds: list[int], dev: torch.device) -> list[nn.Module]:
    """``build()`` once per member after seeding everything with its seed; the global random
    states (Python, NumPy, torch) are put back afterwards."""
    saved = (random.getstate(), np.random.get_state())
    cuda = [dev.index if dev.index is not None else torch.cuda.current_device()] if dev.type == "cuda" else []
    models = []
    try:
        with torch.random.fork_rng(devices=cuda):
            for seed in seeds:
                seed_everything(seed)
                model = build()
                if not isinstance(model, nn.Module):
                    raise TypeError("fit_many: build() must return a torch.nn.Module, "
                                    f"got {type(model).__name__}")
                models.append(model.to(dev))
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
    if len({id(m) for m in models}) != len(models):
        raise ValueError("fit_many: build() returned the same model object twice; it must build a new one")
    return models


def repeat(run: Callable[[int], object], seeds: Sequence[int], *, progress: bool | None = None,
           desc: str = "seeds") -> list:
    """``[run(seed) for seed in seeds]`` with torch, NumPy and Python seeded before each run."""
    if not callable(run):
        raise TypeError(f"repeat: run must be a function of the seed, got {type(run).__name__}")
    seeds = check_seeds(seeds)
    results = []
    for seed in _progress(seeds, progress, desc, unit="seed"):
        seed_everything(seed)
        results.append(run(seed))
    return results
