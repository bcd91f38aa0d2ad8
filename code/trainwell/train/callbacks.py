"""The callbacks that extend the loop: early stopping, recording, learning-rate schedules and
hyperparameter schedules; the projections and noise of Part I are callbacks too."""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import torch

from .._validate import check_bool, check_choice, check_float, check_int
from .scoring import _evaluate_members
from .state import RunState, TrainState

MONITORS = ("val_loss", "val_acc", "train_loss", "train_acc")


class Callback:
    """Base class of the callbacks of :func:`fit` and :func:`fit_many`. Override any of the four
    methods. In :func:`fit` each receives a :class:`TrainState` (the one model, its history); in
    :func:`fit_many`, and in both for a callback that sets ``per_member = True``, the run's
    :class:`RunState` (every member, one history each)."""

    per_member = False

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
    its last parameters, which have already overfitted by ``patience`` epochs.

    The rule is kept for every member of the run on its own (``fit`` trains one member), so in
    :func:`fit_many` each seed stops, and is restored, at its own best epoch."""

    per_member = True

    def __init__(self, patience: int, *, monitor: str = "val_loss", restore_best: bool = True,
                 min_delta: float = 0.0):
        self.patience = check_int("patience", patience, minimum=1)
        self.monitor = check_choice("monitor", monitor, MONITORS)
        self.restore_best = check_bool("restore_best", restore_best)
        self.min_delta = check_float("min_delta", min_delta, minimum=0.0)

    def on_fit_start(self, run) -> None:
        members = len(run.histories)
        self.best_value, self.best_epoch = [math.inf] * members, [None] * members
        self.best_state, self.waited = [None] * members, [0] * members

    def on_epoch_end(self, run) -> None:
        for m, record in enumerate(run.record or ()):
            if record is None:  # a member that has stopped, or an epoch without metrics
                continue
            if self.monitor not in record:
                raise ValueError(f"EarlyStopping: monitor={self.monitor!r} is not recorded "
                                 f"(recorded: {', '.join(record)})")
            value = record[self.monitor] * (-1.0 if self.monitor.endswith("acc") else 1.0)
            if value < self.best_value[m] - self.min_delta:
                self.best_value[m], self.best_epoch[m], self.waited[m] = value, run.epoch, 0
                run.histories[m].best_epoch = run.epoch
                if self.restore_best:
                    self.best_state[m] = run.model.member_state(m)
                continue
            self.waited[m] += 1
            if self.waited[m] >= self.patience:
                run.histories[m].stopped_early = True
                run.finish(m, f"early stopping: {self.monitor} did not improve for {self.patience} "
                              f"epochs after epoch {self.best_epoch[m]}")

    def on_fit_end(self, run) -> None:
        for m, best in enumerate(self.best_state):
            if best is not None:
                run.model.load_member_state(m, best)


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
        if self.plateau and isinstance(state, RunState):
            raise ValueError("fit_many: ReduceLROnPlateau needs one metric, but every member has its own")

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

    per_member = True

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



def _check_eval_every(eval_every: int, callbacks, where: str) -> None:
    if eval_every > 1 and any(isinstance(cb, EarlyStopping) or getattr(cb, "plateau", False)
                              or (isinstance(cb, LRScheduler) and isinstance(
                                  cb.scheduler_or_factory, torch.optim.lr_scheduler.ReduceLROnPlateau))
                              for cb in callbacks):
        raise ValueError(f"{where}: eval_every={eval_every} leaves epochs without metrics, which "
                         "EarlyStopping and ReduceLROnPlateau need; use eval_every=1")


class HeldOut(Callback):
    """Score every member on one more held-out split (``X``, ``y``) after each evaluated epoch, adding
    ``<name>_loss`` (and, for class labels, ``<name>_acc``) to the epoch's record.

    The split is not used to choose anything: it rides along so that it can be read once, at a point
    chosen on validation. ``runs.at_best("test_loss", by="val_loss")`` is then each member's test loss
    at its own best validation epoch, the score its early-stopped network would have, and
    ``runs.final("test_loss")`` the score at the end of the budget, from one run. Evaluation is in
    eval mode and draws nothing from the random streams, so training is the same with or without it.
    """

    per_member = True

    def __init__(self, X: torch.Tensor, y: torch.Tensor, *, name: str = "test", loss="cross_entropy"):
        from ..metrics import resolve_loss

        for arg, value in (("X", X), ("y", y)):
            if not isinstance(value, torch.Tensor):
                raise TypeError(f"HeldOut: {arg} must be a torch.Tensor, got {type(value).__name__}")
        if X.ndim < 2 or y.ndim < 1 or X.shape[0] != y.shape[0] or X.shape[0] == 0:
            raise ValueError(f"HeldOut: X must be (N, ...) and y (N, ...) with the same N >= 1, got shapes "
                             f"{tuple(X.shape)} and {tuple(y.shape)}")
        if X.is_floating_point() and not bool(torch.isfinite(X).all()):
            raise ValueError("HeldOut: X holds non-finite values (NaN or inf)")
        if not isinstance(name, str) or not name.isidentifier() or name in ("train", "val"):
            raise ValueError(f"HeldOut: name must be an identifier other than 'train' and 'val', "
                             f"got {name!r}")
        self.X, self.y, self.name, self.loss = X, y, name, loss
        self.loss_fn = resolve_loss(loss)

    def on_epoch_end(self, run: RunState) -> None:
        if run.record is None or all(r is None for r in run.record):
            return
        X, y = self.X.to(run.device), self.y.to(run.device)
        scores = _evaluate_members(run.model, X, y, self.loss, self.loss_fn)
        for record, score in zip(run.record, scores, strict=True):
            if record is not None:
                record.update({f"{self.name}_{k}": v for k, v in score.items()})
