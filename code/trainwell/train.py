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
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ._validate import check_choice, check_int
from .config import device as default_device
from .config import seed_everything
from .metrics import evaluate, resolve_loss

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
            raise KeyError(f"Unknown metric {name!r} (recorded: {', '.join(self.epochs[0])})")
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
    (section `part-regularization`). With ``restore_best`` (the default), the parameters and buffers
    of the best epoch are put back when training ends, however it ends; without it the model keeps
    its last parameters, which have already overfitted by ``patience`` epochs."""

    def __init__(self, patience: int, *, monitor: str = "val_loss", restore_best: bool = True,
                 min_delta: float = 0.0):
        from ._validate import check_float

        self.patience = check_int("patience", patience, minimum=1)
        self.monitor = check_choice("monitor", monitor, MONITORS)
        if not isinstance(restore_best, bool):
            raise TypeError(f"restore_best must be True or False, got {restore_best!r}")
        self.restore_best = restore_best
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
        self.at_start = bool(at_start)

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

    def on_step_end(self, state: TrainState) -> None:
        if self.per == "step":
            self.scheduler.step()

    def on_epoch_end(self, state: TrainState) -> None:
        if self.per == "epoch":
            self.scheduler.step(state.record[self.monitor]) if self.plateau else self.scheduler.step()


def _as_callback(cb) -> Callback:
    if isinstance(cb, Callback):
        return cb
    if isinstance(cb, (torch.optim.lr_scheduler.LRScheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)):
        return LRScheduler(cb)
    raise TypeError(f"callbacks must hold trainwell.train.Callback objects or learning-rate schedulers, "
                    f"got {type(cb).__name__}")


def _check_data(data) -> None:
    for name in ("X_train", "y_train", "X_val", "y_val"):
        if not isinstance(getattr(data, name, None), torch.Tensor):
            raise TypeError(f"fit: data must have tensor attributes X_train, y_train, X_val, y_val "
                            f"(a trainwell.data.Dataset); {name} is missing")
    for split in ("train", "val"):
        X, y = getattr(data, f"X_{split}"), getattr(data, f"y_{split}")
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"fit: X_{split} has {X.shape[0]} rows but y_{split} has {y.shape[0]}")
        if X.shape[0] == 0:
            raise ValueError(f"fit: the {split} split is empty")


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
        desc: str = "training") -> History:
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

    - ``progress``: show a progress bar; ``None`` (the default) shows one unless the environment
      sets ``TRAINWELL_PROGRESS=0``, as the book's stored runs and tests do (a bar is for a reader
      watching a live run, not for a page).

    A non-finite training loss, or a non-finite metric after an epoch, ends training with
    ``history.diverged = True`` and the reason in ``history.stop_reason``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"fit: model must be a torch.nn.Module, got {type(model).__name__}")
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    seed = check_int("seed", seed, minimum=0, maximum=2**63 - 1)
    progress_enabled(progress)  # a bad value fails here, before anything is trained
    if max_steps is not None:
        max_steps = check_int("max_steps", max_steps, minimum=1)
    for name, fn in (("penalty", penalty), ("transform", transform)):
        if fn is not None and not callable(fn):
            raise TypeError(f"fit: {name} must be a function, got {type(fn).__name__}")
    if isinstance(callbacks, (Callback, str)) or not isinstance(callbacks, Sequence):
        raise TypeError("fit: callbacks must be a list of callbacks, e.g. callbacks=[EarlyStopping(5)]")
    callbacks = [_as_callback(cb) for cb in callbacks]
    loss_fn = resolve_loss(loss)
    _check_data(data)
    n = data.X_train.shape[0]
    if drop_last and batch_size > n:
        raise ValueError(f"fit: drop_last=True with batch_size {batch_size} larger than the "
                         f"{n} training examples leaves no mini-batch")

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
        for cb in callbacks:
            cb.on_fit_start(state)
        try:
            _loop(state, X, y, Xv, yv, epochs=epochs, batch_size=batch_size, loss_fn=loss_fn,
                  penalty=penalty, transform=transform, callbacks=callbacks, max_steps=max_steps,
                  drop_last=drop_last, order_generator=order_generator, progress=progress, desc=desc)
        finally:
            for cb in callbacks:
                cb.on_fit_end(state)
    history.stop_reason = state.stop_reason
    return history


def _loop(state: TrainState, X, y, Xv, yv, *, epochs, batch_size, loss_fn, penalty, transform, callbacks,
          max_steps, drop_last, order_generator, progress, desc) -> None:
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
            batch_loss = loss_fn(_forward(model, xb, y[idx]), y[idx])
            objective = batch_loss + _penalty(penalty, model) if penalty is not None else batch_loss
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
        step_losses = torch.stack(losses).float().cpu().tolist()  # the epoch's one synchronisation
        history.step_loss.extend(step_losses)
        bad = next((i for i, v in enumerate(step_losses) if not math.isfinite(v)), None)
        if bad is not None:
            history.diverged = True
            state.stop_reason = (f"the training loss became {step_losses[bad]} at step "
                                 f"{state.step - len(step_losses) + bad + 1}")
            return
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
        if not isinstance(progress, bool):
            raise TypeError(f"progress must be True, False or None, got {progress!r}")
        return progress
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
