"""``tw.train``: the one training loop every chapter uses, and the callbacks that extend it.

:func:`fit` keeps the whole (small) dataset on the device, shuffles with its own seeded generator,
and synchronises with the device only where logging needs a number: the per-step losses are kept as
tensors and read once per epoch. Each epoch ends with an evaluation pass in eval mode over the
training and validation splits (:func:`trainwell.metrics.evaluate`), so the train/eval gap of
dropout and batch norm is visible in the history.

Everything else is a :class:`Callback`, called after every optimizer step and after every epoch,
and able to stop training: :class:`EarlyStopping` (patience, restoring the best parameters),
:class:`Record` (a measurement every n steps or epochs), :class:`LRScheduler` (any
``torch.optim.lr_scheduler`` object, or one built on fit's optimizer), and the projections of
Part I (:class:`trainwell.regularization.MaxNorm`). A ``transform`` changes every training
mini-batch (augmentation, input noise); a ``penalty`` is added to every mini-batch's loss.
"""
from __future__ import annotations

import copy
import itertools
import math
import numbers
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._validate import check_bool, check_choice, check_int, is_bool
from .config import device as default_device
from .config import seed_everything
from .metrics import evaluate, resolve_loss
from .models import is_batch_norm

MONITORS = ("val_loss", "val_acc", "train_loss", "train_acc")


@dataclass
class History:
    """What :func:`fit` recorded. ``step_loss[i]`` is the training loss of optimizer step ``i + 1``;
    ``epochs`` holds one dict per epoch (``train_loss``, ``val_loss`` and, for classification,
    ``train_acc``, ``val_acc``, all measured in eval mode, plus ``seconds``). ``stop_reason`` says
    why training ended before its last epoch (``None`` if it did not); ``best_epoch`` is set by
    :class:`EarlyStopping`."""

    step_loss: list[float] = field(default_factory=list)
    epochs: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    diverged: bool = False
    stop_reason: str | None = None

    def metric(self, name: str) -> np.ndarray:
        """One per-epoch metric as an array (e.g. ``history.metric("val_acc")``)."""
        if not self.epochs:
            raise ValueError("History is empty: no epoch has finished")
        if name not in self.epochs[0]:
            raise ValueError(f"Unknown metric {name!r} (recorded: {', '.join(self.epochs[0])})")
        return np.array([e[name] for e in self.epochs], dtype=float)

    def plot(self, axes=None, title: str | None = None):
        """Loss (and accuracy, if recorded) per epoch for the training and validation splits."""
        from . import plot

        return plot.history(self, axes=axes, title=title)

    def __repr__(self) -> str:
        if not self.epochs:
            return "History(no epochs" + (f"; {self.stop_reason})" if self.stop_reason else ")")
        last = self.epochs[-1]
        shown = ", ".join(f"{k} {v:.4g}" for k, v in last.items() if k not in ("epoch", "seconds"))
        extra = " (stopped early)" if self.stopped_early else " (diverged)" if self.diverged else ""
        return f"History({len(self.epochs)} epochs{extra}; last: {shown})"


@dataclass
class TrainState:
    """What a :class:`Callback` sees: the model, its optimizer, the history so far, the epoch and the
    number of optimizer steps taken, the latest step's loss (a detached tensor; reading it with
    ``.item()`` waits for the device) and, after an epoch, that epoch's ``record``. A callback ends
    training with :meth:`stop`."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    history: History
    device: torch.device
    epoch: int = 0
    step: int = 0
    batch_loss: torch.Tensor | None = None
    record: dict | None = None
    stop_reason: str | None = None

    def stop(self, reason: str) -> None:
        """Ask :func:`fit` to end training after the current step, giving the reason."""
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError("stop: give the reason as a sentence")
        self.stop_reason = reason


class Callback:
    """Base class of :func:`fit`'s callbacks. Override any of the four methods; each receives the
    :class:`TrainState`."""

    def on_fit_start(self, state: TrainState) -> None:
        """Before the first step (the optimizer exists, the model is on its device)."""

    def on_step_end(self, state: TrainState) -> None:
        """After every optimizer step (``state.step`` counts them from 1)."""

    def on_epoch_end(self, state: TrainState) -> None:
        """After every epoch's evaluation (``state.record`` holds its metrics)."""

    def on_fit_end(self, state: TrainState) -> None:
        """Once, when training ends for any reason."""


class EarlyStopping(Callback):
    """Stop once ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs
    (section `reg-early-stopping`). With ``restore_best`` (the default), the parameters and buffers
    of the best epoch are put back when training ends, however it ends; without it the model keeps
    its last parameters, which have already overfitted by ``patience`` epochs."""

    def __init__(self, patience: int, *, monitor: str = "val_loss", restore_best: bool = True,
                 min_delta: float = 0.0):
        from ._validate import check_float

        self.patience = check_int("patience", patience, minimum=1)
        self.monitor = check_choice("monitor", monitor, MONITORS)
        self.restore_best = check_bool("restore_best", restore_best)
        self.min_delta = check_float("min_delta", min_delta, minimum=0.0)

    def on_fit_start(self, state: TrainState) -> None:
        self.best_value, self.best_epoch, self.best_state, self.waited = math.inf, None, None, 0

    def on_epoch_end(self, state: TrainState) -> None:
        if self.monitor not in state.record:
            raise ValueError(f"EarlyStopping: monitor={self.monitor!r} is not recorded "
                             f"(recorded: {', '.join(state.record)})")
        value = state.record[self.monitor] * (-1.0 if self.monitor.endswith("acc") else 1.0)
        if value < self.best_value - self.min_delta:
            self.best_value, self.best_epoch, self.waited = value, state.epoch, 0
            state.history.best_epoch = state.epoch
            if self.restore_best:
                self.best_state = copy.deepcopy(state.model.state_dict())
        else:
            self.waited += 1
            if self.waited >= self.patience:
                state.history.stopped_early = True
                state.stop(f"early stopping: {self.monitor} did not improve for {self.patience} epochs "
                           f"after epoch {self.best_epoch}")

    def on_fit_end(self, state: TrainState) -> None:
        if self.restore_best and self.best_state is not None:
            state.model.load_state_dict(self.best_state)


class Record(Callback):
    """Call ``measure(state)`` every ``every`` optimizer steps (``per="step"``) or epochs
    (``per="epoch"``), and once before training with ``at_start=True``; the results are in
    ``values``, the steps (or epochs) at which they were taken in ``at``."""

    def __init__(self, measure: Callable[[TrainState], object], *, every: int = 1, per: str = "step",
                 at_start: bool = False):
        if not callable(measure):
            raise TypeError(f"measure must be a function of the training state, got {type(measure).__name__}")
        self.measure = measure
        self.every = check_int("every", every, minimum=1)
        self.per = check_choice("per", per, ("step", "epoch"))
        self.at_start = check_bool("at_start", at_start)

    def on_fit_start(self, state: TrainState) -> None:
        self.values, self.at = [], []
        if self.at_start:
            self._take(state, 0)

    def _take(self, state: TrainState, when: int) -> None:
        self.values.append(self.measure(state))
        self.at.append(when)

    def on_step_end(self, state: TrainState) -> None:
        if self.per == "step" and state.step % self.every == 0:
            self._take(state, state.step)

    def on_epoch_end(self, state: TrainState) -> None:
        if self.per == "epoch" and state.epoch % self.every == 0:
            self._take(state, state.epoch)


class LRScheduler(Callback):
    """Step a learning-rate schedule after every epoch (``per="epoch"``, PyTorch's usual rhythm) or
    every optimizer step. ``scheduler`` is a ``torch.optim.lr_scheduler`` object built on fit's
    optimizer, or a function ``optimizer -> scheduler`` that fit calls with its own optimizer.
    ``ReduceLROnPlateau`` is stepped with the epoch's ``monitor`` value. A scheduler object put
    directly in ``fit(callbacks=[...])`` is wrapped in ``LRScheduler(scheduler)``."""

    def __init__(self, scheduler, *, per: str = "epoch", monitor: str = "val_loss"):
        is_scheduler = isinstance(scheduler, (torch.optim.lr_scheduler.LRScheduler,
                                              torch.optim.lr_scheduler.ReduceLROnPlateau))
        if not is_scheduler and not callable(scheduler):
            raise TypeError("scheduler must be a torch.optim.lr_scheduler object or a function "
                            f"optimizer -> scheduler, got {type(scheduler).__name__}")
        self.scheduler_or_factory = scheduler
        self.per = check_choice("per", per, ("step", "epoch"))
        self.monitor = check_choice("monitor", monitor, MONITORS)

    def on_fit_start(self, state: TrainState) -> None:
        s = self.scheduler_or_factory
        built = s if hasattr(s, "step") and hasattr(s, "optimizer") else s(state.optimizer)
        if getattr(built, "optimizer", None) is not state.optimizer:
            raise ValueError("LRScheduler: the scheduler is attached to another optimizer than the one fit "
                             "trains with; pass a function optimizer -> scheduler instead")
        self.scheduler = built
        self.plateau = isinstance(built, torch.optim.lr_scheduler.ReduceLROnPlateau)
        if self.plateau and self.per == "step":
            raise ValueError("LRScheduler: ReduceLROnPlateau needs an epoch's metric; use per='epoch'")

    def _step(self, state, *args) -> None:
        groups = state.optimizer.param_groups
        before = [group["lr"] for group in groups]
        self.scheduler.step(*args)
        try:
            for group in groups:
                check_hyperparameter(state.optimizer, "lr", group["lr"],
                                     f"LRScheduler: {type(self.scheduler).__name__}")
        except (TypeError, ValueError):
            for group, lr in zip(groups, before, strict=True):  # the optimizer keeps its last good rates
                group["lr"] = lr
            raise

    def on_step_end(self, state: TrainState) -> None:
        if self.per == "step":
            self._step(state)

    def on_epoch_end(self, state: TrainState) -> None:
        if self.per == "epoch":
            self._step(state, state.record[self.monitor]) if self.plateau else self._step(state)


class Schedule(Callback):
    """Set an optimizer hyperparameter of every param group from a schedule: with ``per="epoch"``
    at the start of every epoch, ``Schedule("momentum", lambda epoch: 0.5 if epoch <= 5 else 0.9)``
    (epochs count from 1); with ``per="step"`` before every optimizer step, as Nesterov's momentum
    schedule ``Schedule("momentum", lambda t: (t - 1) / (t + 2), per="step")`` (steps count from 1).
    Works in :func:`fit` and :func:`fit_many` (where all members get the same value). ``values``
    holds the value used at each epoch (or step) that ran."""

    many = True

    def __init__(self, name: str, schedule: Callable[[int], float], *, per: str = "epoch"):
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a hyperparameter's name such as 'momentum', got {name!r}")
        if not callable(schedule):
            raise TypeError(f"schedule must be a function epoch -> value, got {type(schedule).__name__}")
        self.name, self.schedule, self.values = name, schedule, []
        self.per = check_choice("per", per, ("step", "epoch"))

    def _set(self, state, when: int) -> None:
        value = self.schedule(when)
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ValueError(f"Schedule: schedule({when}) for {self.name!r} must be a finite number, "
                             f"got {value!r}")
        check_hyperparameter(state.optimizer, self.name, value,
                             f"Schedule: schedule({when}) for {self.name!r}")
        for group in state.optimizer.param_groups:
            group[self.name] = value
        self.values.append(value)

    def on_fit_start(self, state) -> None:
        missing = [i for i, g in enumerate(state.optimizer.param_groups) if self.name not in g]
        if missing:
            raise ValueError(f"Schedule: {type(state.optimizer).__name__} has no hyperparameter "
                             f"{self.name!r} (its hyperparameters: {', '.join(state.optimizer.defaults)})")
        self.values = []
        self._set(state, 1)

    def on_step_end(self, state) -> None:
        if self.per == "step":
            self._set(state, state.step + 1)

    def on_epoch_end(self, state) -> None:
        if self.per == "epoch":
            self._set(state, state.epoch + 1)

    def on_fit_end(self, state) -> None:
        ran = state.epoch if self.per == "epoch" else state.step
        del self.values[ran:]  # ``values``: one per epoch (step) that ran, not the one prepared next


def check_hyperparameter(optimizer: torch.optim.Optimizer, name: str, value, where: str) -> None:
    """Put one hyperparameter value, as a schedule is about to set it, through the check that the
    optimizer's constructor applies to it, by calling the constructor on a throwaway parameter. A
    negative learning rate set by a schedule is then refused as ``SGD(lr=-0.5)`` is, instead of
    training on it.

    The value is checked on its own, beside the constructor's defaults: its range, not its
    combination with the group's other settings (Nesterov's momentum schedule starts at 0, which
    ``SGD(momentum=0, nesterov=True)`` refuses, and which an update takes as a plain step)."""
    import inspect

    signature = inspect.signature(type(optimizer).__init__).parameters
    required = [k for k, p in list(signature.items())[2:]
                if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if name not in signature or required:  # an optimizer we cannot rebuild is not checked
        return
    try:
        type(optimizer)([torch.zeros(1, requires_grad=True)], **{name: value})
    except (TypeError, ValueError) as error:
        raise type(error)(f"{where}: {error}") from None


def _as_callback(cb) -> Callback:
    if isinstance(cb, Callback):
        return cb
    if isinstance(cb, (torch.optim.lr_scheduler.LRScheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)):
        return LRScheduler(cb)
    raise TypeError(f"callbacks must hold trainwell.train.Callback objects or learning-rate schedulers, "
                    f"got {type(cb).__name__}")


def _check_data(data, where: str = "fit") -> None:
    for name in ("X_train", "y_train", "X_val", "y_val"):
        if not isinstance(getattr(data, name, None), torch.Tensor):
            raise TypeError(f"{where}: data must have tensor attributes X_train, y_train, X_val, y_val "
                            f"(a trainwell.data.Dataset); {name} is missing")
    for split in ("train", "val"):
        X, y = getattr(data, f"X_{split}"), getattr(data, f"y_{split}")
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"{where}: X_{split} has {X.shape[0]} rows but y_{split} has {y.shape[0]}")
        if X.shape[0] == 0:
            raise ValueError(f"{where}: the {split} split is empty")
        if not X.is_floating_point():
            raise TypeError(f"{where}: X_{split} must be a floating-point tensor, got {X.dtype}")
        if y.dtype == torch.bool or y.is_complex():
            raise TypeError(f"{where}: y_{split} must hold integer class labels or float targets, "
                            f"got {y.dtype}")
    if data.X_train.dtype != data.X_val.dtype or data.X_train.shape[1:] != data.X_val.shape[1:]:
        raise ValueError(f"{where}: X_train and X_val must share dtype and example shape, got "
                         f"{data.X_train.dtype} {tuple(data.X_train.shape[1:])} and "
                         f"{data.X_val.dtype} {tuple(data.X_val.shape[1:])}")
    if data.y_train.is_floating_point() != data.y_val.is_floating_point():
        raise ValueError(f"{where}: y_train and y_val must both be class labels or both float targets, got "
                         f"{data.y_train.dtype} and {data.y_val.dtype}")
    for split in _splits(data):
        for name in (f"X_{split}", f"y_{split}"):
            t = getattr(data, name)
            if t.is_floating_point():
                bad = int(t.numel() - torch.isfinite(t).sum())
                if bad:
                    raise ValueError(f"{where}: {name} holds {bad} non-finite value(s) (NaN or infinity); "
                                     "training on it would make every later loss NaN (checked before the "
                                     "first step)")


def _splits(data) -> list[str]:
    """The splits of ``data`` to check before training: train, val, and test when the data have one."""
    has_test = all(isinstance(getattr(data, f"{v}_test", None), torch.Tensor) for v in "Xy")
    return ["train", "val"] + (["test"] if has_test else [])


def _label_ranges(data) -> list[tuple[str, int, int]]:
    """``(split, smallest, largest)`` class label of every split that holds integer labels."""
    ranges = []
    for split in _splits(data):
        y = getattr(data, f"y_{split}")
        if not y.is_floating_point() and y.numel():
            low, high = torch.stack([y.min(), y.max()]).tolist()
            ranges.append((split, int(low), int(high)))
    return ranges


def _check_classes(out: torch.Tensor, ranges, where: str, class_dim: int = 1) -> None:
    """On the first step, before any update: every split's class labels index the model's outputs
    (``evaluate`` would refuse them only after the first epoch)."""
    if not ranges:
        return
    if out.ndim != class_dim + 1:
        raise ValueError(f"{where}: integer labels need class scores of shape (n, C) from the model, got "
                         f"outputs of shape {tuple(out.shape[class_dim - 1:])}")
    classes = out.shape[class_dim]
    for split, low, high in ranges:
        if low < 0 or high >= classes:
            raise ValueError(f"{where}: y_{split} holds class labels in [{low}, {high}], outside [0, "
                             f"{classes - 1}] for a model with {classes} outputs (checked before the first "
                             "step)")


def _check_last_batch(model: nn.Module, n: int, batch_size: int, drop_last: bool, where: str) -> None:
    """Batch norm cannot train on one example per feature: refuse, before training, an epoch whose last
    mini-batch would hold a single example when the model has a 1-d batch-norm layer."""
    if drop_last or n % batch_size != 1:
        return
    if any(is_batch_norm(m) and type(m).__name__ == "BatchNorm1d" for m in model.modules()):
        raise ValueError(f"{where}: with {n} training examples and batch_size {batch_size}, the last "
                         "mini-batch of every epoch holds one example, on which batch norm cannot train "
                         "(one value per feature has no variance); pass drop_last=True or another batch_size")


def _build_optimizer(optimizer, model: nn.Module) -> torch.optim.Optimizer:
    if not isinstance(optimizer, torch.optim.Optimizer):
        if not callable(optimizer):
            raise TypeError("fit: optimizer must be a torch.optim.Optimizer or a function "
                            f"params -> Optimizer, got {type(optimizer).__name__}")
        optimizer = optimizer(model.parameters())
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"fit: the optimizer function returned {type(optimizer).__name__}, "
                            "not a torch.optim.Optimizer")
    own = {id(p) for p in model.parameters()}
    given = [p for group in optimizer.param_groups for p in group["params"]]
    if not given or any(id(p) not in own for p in given):
        raise ValueError("fit: the optimizer's parameters are not the model's parameters (was it built "
                         "on another model?); training would change nothing the model uses")
    return optimizer


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
    - ``penalty(model)`` is added to every mini-batch's loss (e.g. ``α·Ω(θ)``).
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
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"fit: model must be a torch.nn.Module, got {type(model).__name__}")
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    seed = check_int("seed", seed, minimum=0, maximum=2**63 - 1)
    eval_every = check_int("eval_every", eval_every, minimum=1)
    tolerate_divergence = check_bool("tolerate_divergence", tolerate_divergence)
    progress_enabled(progress)  # a bad value fails here, before anything is trained
    if max_steps is not None:
        max_steps = check_int("max_steps", max_steps, minimum=1)
    for name, fn in (("penalty", penalty), ("transform", transform)):
        if fn is not None and not callable(fn):
            raise TypeError(f"fit: {name} must be a function, got {type(fn).__name__}")
    if isinstance(callbacks, (Callback, str)) or not isinstance(callbacks, Sequence):
        raise TypeError("fit: callbacks must be a list of callbacks, e.g. callbacks=[EarlyStopping(5)]")
    callbacks = [_as_callback(cb) for cb in callbacks]
    _check_eval_every(eval_every, callbacks, "fit")
    loss_fn = resolve_loss(loss)
    _check_data(data)
    n = data.X_train.shape[0]
    if drop_last and batch_size > n:
        raise ValueError(f"fit: drop_last=True with batch_size {batch_size} larger than the "
                         f"{n} training examples leaves no mini-batch")
    _check_last_batch(model, n, batch_size, drop_last, "fit")

    dev = torch.device(device) if device is not None else default_device()
    model.to(dev)
    optimizer = _build_optimizer(optimizer, model)
    X, y = data.X_train.to(dev), data.y_train.to(dev)
    Xv, yv = data.X_val.to(dev), data.y_val.to(dev)
    order_generator = torch.Generator().manual_seed(seed)
    history = History()
    state = TrainState(model=model, optimizer=optimizer, history=history, device=dev)
    cuda = [dev.index if dev.index is not None else torch.cuda.current_device()] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(_stream_seed(seed))
        started = []  # a callback that failed to start, or was never started, is not ended
        try:
            for cb in callbacks:
                cb.on_fit_start(state)
                started.append(cb)
            _loop(state, X, y, Xv, yv, epochs=epochs, batch_size=batch_size, loss_fn=loss_fn,
                  penalty=penalty, transform=transform, callbacks=callbacks, max_steps=max_steps,
                  drop_last=drop_last, order_generator=order_generator, progress=progress, desc=desc,
                  eval_every=eval_every, label_ranges=_label_ranges(data))
        finally:
            _end_callbacks(started, state)
    history.stop_reason = state.stop_reason
    if history.diverged and not tolerate_divergence:
        warnings.warn(f"fit: training diverged: {history.stop_reason}. Pass tolerate_divergence=True where "
                      "divergence is an expected outcome", RuntimeWarning, stacklevel=2)
    return history


def _end_callbacks(started: list, state) -> None:
    """``on_fit_end`` of every callback that started, in order, even when one of them raises: a
    callback that undoes something when training ends (``WeightNoise`` removes its hooks,
    ``EarlyStopping`` restores the best parameters) must not be skipped because an earlier one
    failed. The first error is raised once all have run; any later ones are added to it as notes."""
    errors = []
    for cb in started:
        try:
            cb.on_fit_end(state)
        except Exception as error:  # noqa: BLE001 (re-raised below, after the others have ended)
            errors.append((cb, error))
    if errors:
        first = errors[0][1]
        for cb, error in errors[1:]:
            first.add_note(f"{type(cb).__name__}.on_fit_end also failed: {type(error).__name__}: {error}")
        raise first


def _check_eval_every(eval_every: int, callbacks, where: str) -> None:
    if eval_every > 1 and any(isinstance(cb, EarlyStopping) or getattr(cb, "plateau", False)
                              or (isinstance(cb, LRScheduler) and isinstance(
                                  cb.scheduler_or_factory, torch.optim.lr_scheduler.ReduceLROnPlateau))
                              for cb in callbacks):
        raise ValueError(f"{where}: eval_every={eval_every} leaves epochs without metrics, which "
                         "EarlyStopping and ReduceLROnPlateau need; use eval_every=1")


def _loop(state: TrainState, X, y, Xv, yv, *, epochs, batch_size, loss_fn, penalty, transform, callbacks,
          max_steps, drop_last, order_generator, progress, desc, eval_every=1, label_ranges=()) -> None:
    model, optimizer, history, dev = state.model, state.optimizer, state.history, state.device
    n = X.shape[0]
    last_start = n - batch_size if drop_last else n - 1
    bar = _progress(range(1, epochs + 1), progress, desc)
    for epoch in bar:
        state.epoch = epoch
        started = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=order_generator).to(dev)
        losses = []
        for start in range(0, last_start + 1, batch_size):
            idx = order[start:start + batch_size]
            xb = X[idx]
            if transform is not None:
                xb = _transformed(transform, xb)
            out = _forward(model, xb, y[idx])
            if state.step == 0:
                _check_classes(out, label_ranges, "fit")
            batch_loss = loss_fn(out, y[idx])
            objective = batch_loss + _penalty(penalty, model) if penalty is not None else batch_loss
            if not bool(torch.isfinite(objective)):  # the step's one synchronisation
                history.step_loss.extend(torch.stack(losses).float().cpu().tolist() if losses else [])
                history.diverged = True
                state.stop_reason = _divergence(batch_loss, objective, state.step + 1)
                return
            optimizer.zero_grad(set_to_none=True)
            objective.backward()
            optimizer.step()
            state.step += 1
            state.batch_loss = batch_loss.detach()
            losses.append(state.batch_loss)
            for cb in callbacks:
                cb.on_step_end(state)
            if state.stop_reason is not None or state.step == max_steps:
                break
        history.step_loss.extend(torch.stack(losses).float().cpu().tolist())
        state.record = None
        if epoch % eval_every == 0 or epoch == epochs or state.step == max_steps or state.stop_reason:
            record = {"epoch": epoch}
            for split, (xs, ys) in (("train", (X, y)), ("val", (Xv, yv))):
                for key, value in evaluate(model, xs, ys, loss=loss_fn).items():
                    record[f"{split}_{key}"] = value
            record["seconds"] = time.perf_counter() - started
            history.epochs.append(record)
            state.record = record
            if hasattr(bar, "set_postfix"):
                bar.set_postfix({k: f"{v:.3f}" for k, v in record.items() if k.startswith(("train", "val"))})
            not_finite = [k for k, v in record.items() if not math.isfinite(v)]
            if not_finite:
                history.diverged = True
                state.stop_reason = f"{', '.join(not_finite)} became non-finite after epoch {epoch}"
                return
        for cb in callbacks:
            cb.on_epoch_end(state)
        if state.stop_reason is not None:
            return
        if state.step == max_steps:
            state.stop_reason = f"max_steps={max_steps} reached" if epoch < epochs else None
            return


def _divergence(batch_loss: torch.Tensor, objective: torch.Tensor, step: int) -> str:
    """The stop reason of a step whose loss (or loss plus penalty) is not finite."""
    loss = batch_loss.detach().item()
    what = f"the training loss became {loss}" if not math.isfinite(loss) else \
        f"the penalty made the objective {objective.detach().item()}"
    return f"{what} at step {step}; training stopped before that step's update"


def _forward(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
    out = model(xb)
    if yb.is_floating_point() and out.shape != yb.shape:
        raise ValueError(f"fit: the model's outputs have shape {tuple(out.shape)} but the targets have "
                         f"{tuple(yb.shape)}; a regression loss would broadcast them to a wrong value "
                         "(give targets of the output's shape, e.g. y.unsqueeze(1), or a model with "
                         "matching outputs)")
    return out


def _transformed(transform, xb: torch.Tensor) -> torch.Tensor:
    out = transform(xb)
    if not isinstance(out, torch.Tensor) or out.shape[:1] != xb.shape[:1]:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"fit: transform must return a tensor with the batch's {xb.shape[0]} examples "
                         f"along dimension 0, got {got}")
    return out


def _penalty(penalty, model: nn.Module) -> torch.Tensor:
    value = penalty(model)
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise ValueError(f"fit: penalty(model) must return a scalar tensor, got {got}")
    return value.reshape(())


def progress_enabled(progress: bool | None = None) -> bool:
    """Whether to show a progress bar: ``progress`` when it is given, otherwise yes unless the
    environment variable ``TRAINWELL_PROGRESS`` is ``0`` (``tools/execute_notebooks.py`` and the
    tests set it, so no frozen bar is stored in a notebook or compared by nbval)."""
    if progress is not None:
        if not is_bool(progress):
            raise TypeError(f"progress must be True, False or None, got {progress!r}")
        return bool(progress)
    setting = os.environ.get("TRAINWELL_PROGRESS", "1").strip()
    if setting not in ("0", "1"):
        raise ValueError(f"TRAINWELL_PROGRESS must be 0 or 1, got {setting!r}")
    return setting == "1"


def _progress(iterable, enabled: bool | None, desc: str, unit: str = "epoch"):
    if not progress_enabled(enabled):
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, unit=unit, leave=False)


def repeat(run: Callable[[int], object], seeds: Sequence[int], *, progress: bool | None = None,
           desc: str = "seeds") -> list:
    """``[run(seed) for seed in seeds]`` with torch, NumPy and Python seeded before each run."""
    if not callable(run):
        raise TypeError(f"repeat: run must be a function of the seed, got {type(run).__name__}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("repeat: seeds is empty")
    results = []
    for seed in _progress(seeds, progress, desc, unit="seed"):
        seed_everything(seed)
        results.append(run(seed))
    return results


# ------------------------------------------------------------------------------------------------
# Many runs side by side


def settings_from_grid(grid) -> list[dict]:
    """The optimizer settings a ``grid`` describes: ``None`` (one setting, the optimizer's own), a
    dict of lists (every combination, e.g. ``{"lr": [0.01, 0.1], "weight_decay": [0, 1e-4]}``), or a
    list of dicts (exactly those settings)."""
    if grid is None:
        return [{}]
    if isinstance(grid, dict):
        for key, values in grid.items():
            if not isinstance(key, str):
                raise TypeError(f"grid keys must be hyperparameter names, got {key!r}")
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not len(values):
                raise TypeError(f"grid[{key!r}] must be a non-empty list of values, got {values!r}")
        settings = [dict(zip(grid, combo, strict=True)) for combo in itertools.product(*grid.values())]
    elif isinstance(grid, Sequence) and not isinstance(grid, (str, bytes)) and len(grid):
        settings = [dict(s) if isinstance(s, dict) else None for s in grid]
        if any(s is None for s in settings):
            raise TypeError("grid as a list must hold dicts of hyperparameters, "
                            "e.g. [{'lr': 0.1}, {'lr': 0.01}]")
        if len({tuple(s) for s in settings}) != 1:
            raise ValueError(f"every setting of grid must name the same hyperparameters, got "
                             f"{sorted({tuple(s) for s in settings})}")
    else:
        raise TypeError(f"grid must be None, a dict of lists or a non-empty list of dicts, got {grid!r}")
    for setting in settings:
        for key, value in setting.items():
            values = value if isinstance(value, tuple) else (value,)
            for v in values:
                if isinstance(v, bool):
                    continue
                if not isinstance(v, numbers.Real) or not math.isfinite(v):
                    raise ValueError(f"grid: {key}={value!r} is not a finite number")
    if len({tuple(sorted(s.items())) for s in settings}) != len(settings):
        raise ValueError("grid: a setting appears twice")
    return settings


@dataclass
class Runs:
    """What :func:`fit_many` returns: per member (in the order settings × seeds) its optimizer
    ``setting``, its ``seed``, its :class:`History` and its trained ``model``."""

    settings: list[dict]
    seeds: list[int]
    histories: list[History]
    models: list[nn.Module]

    def __len__(self) -> int:
        return len(self.histories)

    def table(self) -> list[dict]:
        """One row per member and epoch: the setting's hyperparameters, ``seed``, ``member``, and the
        epoch's metrics (a tidy table: ``pandas.DataFrame(runs.table())`` if you like)."""
        rows = []
        for m, (setting, seed, history) in enumerate(zip(self.settings, self.seeds, self.histories,
                                                         strict=True)):
            for record in history.epochs:
                rows.append({**setting, "seed": seed, "member": m, **record})
        return rows

    def final(self, metric: str = "val_loss") -> np.ndarray:
        """``metric`` at each member's last recorded epoch (NaN for a member that recorded none)."""
        out = np.full(len(self), np.nan)
        for m, history in enumerate(self.histories):
            if history.epochs:
                if metric not in history.epochs[-1]:
                    raise ValueError(f"Unknown metric {metric!r} "
                                     f"(recorded: {', '.join(history.epochs[-1])})")
                out[m] = history.epochs[-1][metric]
        return out

    def by_setting(self, metric: str = "val_loss") -> np.ndarray:
        """``metric`` at each member's last recorded epoch arranged as (settings, seeds), the order
        of ``settings`` and ``seeds`` that :func:`fit_many` was given."""
        n_seeds = len(dict.fromkeys(self.seeds))
        return self.final(metric).reshape(-1, n_seeds)

    def curves(self, metric: str = "val_loss") -> np.ndarray:
        """``metric`` per epoch for every member, shape (settings, seeds, epochs); a member that
        stopped early is padded with NaN after its last epoch."""
        n_seeds = len(dict.fromkeys(self.seeds))
        longest = max((len(h.epochs) for h in self.histories), default=0)
        out = np.full((len(self), longest), np.nan)
        for m, history in enumerate(self.histories):
            if history.epochs:
                out[m, :len(history.epochs)] = history.metric(metric)
        return out.reshape(-1, n_seeds, longest)

    def epochs_to(self, target: float, metric: str = "val_acc") -> np.ndarray:
        """For every member the first recorded epoch at which ``metric`` reached ``target`` (at least
        it for an accuracy, at most it for a loss), or NaN if it never did."""
        first = np.full(len(self), np.nan)
        for m, history in enumerate(self.histories):
            for record in history.epochs:
                value = record.get(metric)
                if value is None:
                    raise ValueError(f"Unknown metric {metric!r} (recorded: {', '.join(record)})")
                if (value >= target) if metric.endswith("acc") else (value <= target):
                    first[m] = record["epoch"]
                    break
        return first

    def _best_records(self, by: str) -> list[dict | None]:
        """Each member's recorded epoch that is best by ``by`` (lowest loss, highest accuracy): the
        first such epoch on a tie; ``None`` for a member with no recorded epoch or only NaN."""
        best = []
        for history in self.histories:
            values = [record.get(by, None) for record in history.epochs]
            if history.epochs and None in values:
                raise ValueError(f"Unknown metric {by!r} (recorded: {', '.join(history.epochs[0])})")
            scores = np.array(values, dtype=float)
            if by.endswith("acc"):
                scores = -scores
            best.append(None if not np.isfinite(scores).any() else history.epochs[int(np.nanargmin(scores))])
        return best

    def best_epochs(self, by: str = "val_loss") -> np.ndarray:
        """Each member's best epoch by ``by`` (lowest loss, highest accuracy; NaN if none)."""
        return np.array([np.nan if r is None else r["epoch"] for r in self._best_records(by)], dtype=float)

    def at_best(self, metric: str = "val_acc", by: str = "val_loss") -> np.ndarray:
        """``metric`` at each member's best epoch by ``by``: the point at which to score arms fairly,
        each at its own best validation epoch, rather than wherever the budget happens to end
        (CONTRIBUTING.md). Per member, like :meth:`final`; ``.reshape(-1, n_seeds)`` arranges it as
        (settings, seeds)."""
        out = []
        for record in self._best_records(by):
            if record is not None and metric not in record:
                raise ValueError(f"Unknown metric {metric!r} (recorded: {', '.join(record)})")
            out.append(np.nan if record is None else record[metric])
        return np.array(out, dtype=float)

    def best_before_end(self, by: str = "val_loss", last: float = 0.1) -> np.ndarray:
        """Whether each member's best epoch by ``by`` came before the last ``last`` fraction of its
        run (its last recorded epoch): a guard that the budget did not end a run that was still
        improving. A claim about arms scored at their best epochs needs it True for every member, or
        a longer budget."""
        if not 0 < last < 1:
            raise ValueError(f"last must be a fraction in (0, 1), got {last!r}")
        ends = np.array([h.epochs[-1]["epoch"] if h.epochs else np.nan for h in self.histories], dtype=float)
        return self.best_epochs(by) <= (1 - last) * ends

    def members(self, **setting) -> list[int]:
        """Indices of the members whose setting has these values, e.g. ``runs.members(lr=0.1)``."""
        return [m for m, s in enumerate(self.settings)
                if all(k in s and s[k] == v for k, v in setting.items())]


@dataclass
class ManyState:
    """What a callback of :func:`fit_many` sees: the :class:`~trainwell.stacked.StackedModel`, the
    optimizer, one history per member, which members are still ``active``, the epoch and step, the
    latest step's per-member losses ``batch_loss`` (shape (M,)) and, after an epoch, ``record``: one
    dict per member (``None`` for a member that has stopped)."""

    model: object
    optimizer: torch.optim.Optimizer
    histories: list[History]
    active: list[bool]
    device: torch.device
    epoch: int = 0
    step: int = 0
    batch_loss: torch.Tensor | None = None
    record: list | None = None
    stop_reason: str | None = None

    def stop(self, reason: str) -> None:
        """End training of every member after the current step, giving the reason."""
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError("stop: give the reason as a sentence")
        self.stop_reason = reason


def _member_losses(loss, loss_fn, out: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
    """Each member's mean loss over its mini-batch, shape (M,): fit's loss, member by member."""
    M = out.shape[0]
    if yb.is_floating_point() and out.shape != yb.shape:
        raise ValueError(f"fit_many: each member's outputs have shape {tuple(out.shape[1:])} but the targets "
                         f"have {tuple(yb.shape[1:])}; a regression loss would broadcast them to a wrong "
                         "value (give targets of the output's shape, e.g. y.unsqueeze(1))")
    if M == 1:  # fit's own loss on the one member's outputs, node for node
        return loss_fn(out.squeeze(0), yb.squeeze(0)).unsqueeze(0)
    if loss == "cross_entropy":
        per = F.cross_entropy(out.reshape(-1, out.shape[-1]), yb.reshape(-1, *yb.shape[2:]), reduction="none")
        return per.view(M, -1).mean(1)
    if loss == "mse":
        return F.mse_loss(out, yb, reduction="none").reshape(M, -1).mean(1)
    return torch.stack([loss_fn(out[m], yb[m]).reshape(()) for m in range(M)])


@torch.no_grad()
def _evaluate_members(stacked, X, y, loss, loss_fn, batch_size: int | None = None) -> list[dict]:
    """:func:`trainwell.metrics.evaluate` for every member at once: mean loss (and accuracy).

    By default a CPU evaluates about 8,192 member-rows at a time (at least 256 rows, at most
    evaluate's 4,096): M members' activations for 4,096 rows are M times larger, and on a CPU tensors
    of tens of megabytes cost more to allocate and touch than to compute (measured: 8.8 ms against
    5.6 ms for 10 Figure 1 networks on the 1,797 digits)."""
    M, N = stacked.members, X.shape[0]
    if batch_size is None:
        batch_size = min(4096, max(256, 8192 // M)) if X.device.type == "cpu" else 4096
    classify = not y.is_floating_point()
    sums = torch.float32 if X.device.type == "mps" else torch.float64  # as evaluate sums
    total = torch.zeros(M, dtype=sums, device=X.device)
    correct = torch.zeros(M, dtype=sums, device=X.device)
    stacked.eval()
    try:
        for start in range(0, N, batch_size):
            xb, yb = X[start:start + batch_size], y[start:start + batch_size]
            out = stacked(xb, shared=True)
            ys = yb.unsqueeze(0).expand(M, *yb.shape)
            total += _member_losses(loss, loss_fn, out, ys) * xb.shape[0]
            if classify:
                correct += (out.argmax(dim=-1) == ys).sum(1)
    finally:
        stacked.train()
    totals, corrects = total.cpu().tolist(), correct.cpu().tolist()
    results = []
    for m in range(M):
        result = {"loss": totals[m] / N}
        if classify:
            result["acc"] = corrects[m] / N
        results.append(result)
    return results


class _MemberEarlyStopping:
    """:class:`EarlyStopping`'s rule, kept for every member of :func:`fit_many` separately."""

    def __init__(self, rule: EarlyStopping, members: int):
        self.rule = rule
        self.best_value = [math.inf] * members
        self.best_epoch: list[int | None] = [None] * members
        self.best_state: list[dict | None] = [None] * members
        self.waited = [0] * members

    def update(self, m: int, state: ManyState, record: dict, stacked) -> str | None:
        rule = self.rule
        if rule.monitor not in record:
            raise ValueError(f"EarlyStopping: monitor={rule.monitor!r} is not recorded "
                             f"(recorded: {', '.join(record)})")
        value = record[rule.monitor] * (-1.0 if rule.monitor.endswith("acc") else 1.0)
        if value < self.best_value[m] - rule.min_delta:
            self.best_value[m], self.best_epoch[m], self.waited[m] = value, state.epoch, 0
            state.histories[m].best_epoch = state.epoch
            if rule.restore_best:
                self.best_state[m] = stacked.member_state(m)
            return None
        self.waited[m] += 1
        if self.waited[m] >= rule.patience:
            state.histories[m].stopped_early = True
            return (f"early stopping: {rule.monitor} did not improve for {rule.patience} epochs "
                    f"after epoch {self.best_epoch[m]}")
        return None


def _many_callbacks(callbacks) -> tuple[list, list[EarlyStopping]]:
    if isinstance(callbacks, (Callback, str)) or not isinstance(callbacks, Sequence):
        raise TypeError("fit_many: callbacks must be a list of callbacks, e.g. callbacks=[EarlyStopping(5)]")
    plain, stopping = [], []
    for cb in map(_as_callback, callbacks):
        if isinstance(cb, EarlyStopping):
            stopping.append(cb)
        elif isinstance(cb, (Record, LRScheduler)) or getattr(cb, "many", False):
            plain.append(cb)
        else:
            raise TypeError(f"fit_many does not know how to apply {type(cb).__name__} to many members; it "
                            "takes EarlyStopping (per member), Record, LRScheduler and callbacks that "
                            "declare many = True")
    if len(stopping) > 1:
        raise ValueError("fit_many: give at most one EarlyStopping")
    return plain, stopping


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
    :class:`~trainwell.stacked.StackedModel`, so a step of M small networks costs about the
    arithmetic of M steps rather than M times the overhead of one.

    - ``optimizer``: a function ``params -> Optimizer``, as for :func:`fit`; it receives one param
      group per setting, holding the hyperparameters of ``grid``. Elementwise optimizers (every
      ``torch.optim`` optimizer but LBFGS, and the book's own) then act as independent optimizers.
    - ``grid``: ``None``, a dict of lists (every combination) or a list of dicts of optimizer
      hyperparameters (``lr``, ``weight_decay``, ``momentum``, ...).
    - ``callbacks``: :class:`EarlyStopping` acts per member (each member stops, and is restored, on
      its own); :class:`Record` and :class:`LRScheduler` see a :class:`ManyState`.
    - ``penalty``: an object with a method ``many(stacked) -> (M,) tensor`` (Part I's penalties have
      one), added to the members' losses.
    - A member whose loss stops being finite stops alone, at that step and before its update, as its
      :func:`fit` run would; one warning lists the members that diverged, unless
      ``tolerate_divergence=True``.
    - The other arguments are :func:`fit`'s. Returns :class:`Runs`: settings, seeds, histories and the
      trained models, member by member, in the order settings × seeds.
    """
    from .stacked import StackedModel

    if not callable(build):
        raise TypeError("fit_many: build must be a function that returns a new model, "
                        f"got {type(build).__name__}")
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or not len(seeds):
        raise TypeError(f"fit_many: seeds must be a non-empty list of integers, got {seeds!r}")
    seeds = [check_int(f"seeds[{i}]", s, minimum=0, maximum=2**32 - 1) for i, s in enumerate(seeds)]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"fit_many: seeds must be distinct, got {seeds}")
    if isinstance(optimizer, torch.optim.Optimizer) or not callable(optimizer):
        raise TypeError("fit_many: optimizer must be a function params -> Optimizer (it is built on the "
                        f"stacked members), got {type(optimizer).__name__}")
    settings = settings_from_grid(grid)
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    progress_enabled(progress)
    if max_steps is not None:
        max_steps = check_int("max_steps", max_steps, minimum=1)
    if penalty is not None and not callable(getattr(penalty, "many", None)):
        raise TypeError("fit_many: penalty must have a method many(stacked) returning each member's penalty "
                        f"(Part I's penalties do), got {type(penalty).__name__}")
    if transform is not None and not callable(transform):
        raise TypeError(f"fit_many: transform must be a function, got {type(transform).__name__}")
    plain_callbacks, stopping = _many_callbacks(callbacks)
    eval_every = check_int("eval_every", eval_every, minimum=1)
    tolerate_divergence = check_bool("tolerate_divergence", tolerate_divergence)
    _check_eval_every(eval_every, plain_callbacks + stopping, "fit_many")
    loss_fn = resolve_loss(loss)
    loss_name = loss if isinstance(loss, str) else None
    _check_data(data, "fit_many")
    n = data.X_train.shape[0]
    if drop_last and batch_size > n:
        raise ValueError(f"fit_many: drop_last=True with batch_size {batch_size} larger than the "
                         f"{n} training examples leaves no mini-batch")
    dev = torch.device(device) if device is not None else default_device()

    member_settings = [s for s in settings for _ in seeds]
    member_seeds = [seed for _ in settings for seed in seeds]
    models = _build_members(build, member_seeds, dev)
    _check_last_batch(models[0], n, batch_size, drop_last, "fit_many")
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
    histories = [History() for _ in range(M)]
    state = ManyState(model=stacked, optimizer=opt, histories=histories, active=[True] * M, device=dev)
    tracker = _MemberEarlyStopping(stopping[0], M) if stopping else None
    final_state: list[dict | None] = [None] * M
    order_generators = [torch.Generator().manual_seed(s) for s in member_seeds]
    started = []
    try:
        for cb in plain_callbacks:
            cb.on_fit_start(state)
            started.append(cb)
            if getattr(cb, "plateau", False):
                raise ValueError("fit_many: ReduceLROnPlateau needs one metric, but every member has its own")
        _many_loop(state, stacked, data, dev, epochs=epochs, batch_size=batch_size, loss=loss_name,
                   loss_fn=loss_fn, penalty=penalty, transform=transform, callbacks=plain_callbacks,
                   tracker=tracker, final_state=final_state, streams=streams,
                   order_generators=order_generators, max_steps=max_steps, drop_last=drop_last,
                   progress=progress, desc=desc, eval_every=eval_every, label_ranges=_label_ranges(data))
    finally:
        _end_callbacks(started, state)
    for m in range(M):
        chosen = None
        if tracker is not None and tracker.rule.restore_best and tracker.best_state[m] is not None:
            chosen = tracker.best_state[m]
        elif final_state[m] is not None:
            chosen = final_state[m]
        if chosen is not None:
            stacked.load_member_state(m, chosen)
    stacked.unstack(models)
    diverged = [m for m in range(M) if histories[m].diverged]
    if diverged and not tolerate_divergence:
        which = "; ".join(", ".join([f"{k}={v}" for k, v in member_settings[m].items()]
                                    + [f"seed {member_seeds[m]}: {histories[m].stop_reason}"])
                          for m in diverged[:3]) + ("; ..." if len(diverged) > 3 else "")
        warnings.warn(f"fit_many: {len(diverged)} of {M} members diverged ({which}). Pass "
                      "tolerate_divergence=True where divergence is an expected outcome", RuntimeWarning,
                      stacklevel=2)
    return Runs(member_settings, member_seeds, histories, models)


def _build_members(build, seeds: list[int], dev: torch.device) -> list[nn.Module]:
    """``build()`` once per member after seeding everything with its seed; the global random
    states (Python, NumPy, torch) are put back afterwards."""
    import random

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


def _many_loop(state: ManyState, stacked, data, dev, *, epochs, batch_size, loss, loss_fn, penalty,
               transform, callbacks, tracker, final_state, streams, order_generators, max_steps, drop_last,
               progress, desc, eval_every=1, label_ranges=()) -> None:
    from .stacked import member_rng

    X, y = data.X_train.to(dev), data.y_train.to(dev)
    Xv, yv = data.X_val.to(dev), data.y_val.to(dev)
    M, n = stacked.members, X.shape[0]
    opt, histories, active = state.optimizer, state.histories, state.active
    last_start = n - batch_size if drop_last else n - 1

    def finish(m: int, reason: str | None) -> None:
        active[m] = False
        histories[m].stop_reason = reason
        final_state[m] = stacked.member_state(m)

    bar = _progress(range(1, epochs + 1), progress, desc)
    for epoch in bar:
        state.epoch = epoch
        started = time.perf_counter()
        stacked.train()
        order = torch.stack([torch.randperm(n, generator=g) for g in order_generators]).to(dev)
        running = None if all(active) else torch.tensor(active, device=dev)  # changes between epochs only
        losses = []
        for start in range(0, last_start + 1, batch_size):
            idx = order[:, start:start + batch_size]
            xb, yb = X[idx], y[idx]
            if transform is not None:
                batches = []
                for m in range(M):
                    with member_rng(streams[m]):
                        batches.append(_transformed(transform, xb[m]))
                xb = torch.stack(batches)
            out = stacked(xb)
            if state.step == 0:
                _check_classes(out, label_ranges, "fit_many", class_dim=2)
            member_loss = _member_losses(loss, loss_fn, out, yb)
            objective = member_loss if penalty is None else member_loss + penalty.many(stacked)
            finite = torch.isfinite(objective)
            if not bool(finite.all()):  # the step's one synchronisation
                bad = [m for m in range(M) if active[m] and not bool(finite[m])]
                for m in bad:  # each stops before this step's update, as its fit run does
                    mine = torch.stack(losses)[:, m].float().cpu().tolist() if losses else []
                    histories[m].step_loss.extend(mine)
                    histories[m].diverged = True
                    finish(m, _divergence(member_loss[m], objective[m], state.step + 1))
                if not any(active):
                    return
                running = torch.tensor(active, device=dev)
            if running is not None:
                objective = torch.where(running, objective, 0.0)
            opt.zero_grad(set_to_none=True)
            objective.sum().backward()
            opt.step()
            state.step += 1
            state.batch_loss = member_loss.detach()
            losses.append(state.batch_loss)
            for cb in callbacks:
                cb.on_step_end(state)
            if state.stop_reason is not None or state.step == max_steps:
                break
        step_losses = torch.stack(losses).float().cpu().T.tolist()  # (M, steps): one synchronisation
        for m in range(M):
            if active[m]:
                histories[m].step_loss.extend(step_losses[m])
        records: list[dict | None] = [None] * M
        if epoch % eval_every == 0 or epoch == epochs or state.step == max_steps or state.stop_reason:
            train_scores = _evaluate_members(stacked, X, y, loss, loss_fn)
            val_scores = _evaluate_members(stacked, Xv, yv, loss, loss_fn)
            seconds = time.perf_counter() - started
            for m in range(M):
                if not active[m]:
                    continue
                record = {"epoch": epoch}
                record.update({f"train_{k}": v for k, v in train_scores[m].items()})
                record.update({f"val_{k}": v for k, v in val_scores[m].items()})
                record["seconds"] = seconds
                histories[m].epochs.append(record)
                records[m] = record
                not_finite = [k for k, v in record.items() if not math.isfinite(v)]
                if not_finite:
                    histories[m].diverged = True
                    finish(m, f"{', '.join(not_finite)} became non-finite after epoch {epoch}")
                    continue
                if tracker is not None:
                    reason = tracker.update(m, state, record, stacked)
                    if reason is not None:
                        finish(m, reason)
        state.record = records
        for cb in callbacks:
            cb.on_epoch_end(state)
        if hasattr(bar, "set_postfix"):
            bar.set_postfix({"active": sum(active)})
        if state.stop_reason is not None:
            for m in range(M):
                if active[m]:
                    finish(m, state.stop_reason)
            return
        if not any(active):
            return
        if state.step == max_steps:
            for m in range(M):
                if active[m]:
                    finish(m, f"max_steps={max_steps} reached" if epoch < epochs else None)
            return
