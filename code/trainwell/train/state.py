"""What a callback sees while a run trains: :class:`RunState`, the run of every member, and
:class:`TrainState`, :func:`~trainwell.train.fit`'s view of its one model."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from .results import History


@dataclass
class RunState:
    """The state of a run of M members (``fit`` trains one): ``model``, the members as one
    :class:`~trainwell.train.members.StackedModel`; the optimizer; one :class:`History` per member;
    which members are still ``active``; the epoch and the number of optimizer steps taken; the latest
    step's losses ``batch_loss`` (shape (M,), detached); and after an epoch ``record``, one dict of
    metrics per member (``None`` for a member that has stopped, or in an epoch without metrics).

    :meth:`stop` ends the run of every member; :meth:`finish` ends one member's, keeping the
    parameters it has now (the others train on, and an optimizer with momentum or weight decay would
    otherwise still move them)."""

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
    final_state: list = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.active) != len(self.histories):
            raise ValueError(f"RunState: {len(self.active)} active flags for {len(self.histories)} members")
        self.final_state = [None] * len(self.histories)

    def stop(self, reason: str) -> None:
        """End training of every member after the current step, giving the reason."""
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError("stop: give the reason as a sentence")
        self.stop_reason = reason

    def finish(self, m: int, reason: str | None) -> None:
        """End member ``m``'s training now; its history records ``reason`` (``None``: it ran its
        whole budget) and its parameters are kept as they are."""
        self.active[m] = False
        self.histories[m].stop_reason = reason
        self.final_state[m] = self.model.member_state(m)


class TrainState:
    """What a callback of :func:`~trainwell.train.fit` sees: its ``model`` (the module itself), the
    optimizer, the model's :class:`History`, the device, the epoch and the number of optimizer steps
    taken, the latest step's loss ``batch_loss`` (a detached 0-d tensor; ``.item()`` waits for the
    device) and, after an epoch, that epoch's ``record``. It reads them from the run's
    :class:`RunState`, of which the model is the only member. A callback ends training with
    :meth:`stop`."""

    def __init__(self, run: RunState, model: nn.Module):
        if len(run.histories) != 1:
            raise ValueError(f"TrainState: a view of a run of one member, got {len(run.histories)}")
        self.run, self.model = run, model

    optimizer = property(lambda self: self.run.optimizer)
    history = property(lambda self: self.run.histories[0])
    device = property(lambda self: self.run.device)
    epoch = property(lambda self: self.run.epoch)
    step = property(lambda self: self.run.step)
    stop_reason = property(lambda self: self.run.stop_reason)

    @property
    def batch_loss(self) -> torch.Tensor | None:
        return None if self.run.batch_loss is None else self.run.batch_loss[0]

    @property
    def record(self) -> dict | None:
        return None if self.run.record is None else self.run.record[0]

    def stop(self, reason: str) -> None:
        """Ask :func:`fit` to end training after the current step, giving the reason."""
        self.run.stop(reason)
