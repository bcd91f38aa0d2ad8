"""``tw.train``: the one training loop every chapter uses.

The loop keeps the whole (small) dataset on the device, shuffles with its own seeded generator,
and synchronises with the device only where logging needs a number: the per-step losses are kept as
tensors and read once per epoch. Each epoch ends with an evaluation pass in ``eval()`` mode over the
training and validation splits, so the train/eval gap of dropout and batch norm is visible in the
history. Optional early stopping restores the best parameters (Part I, "Early stopping").
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._validate import check_choice, check_int
from .config import device as default_device
from .config import module_device

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LOSSES: dict[str, LossFn] = {"cross_entropy": F.cross_entropy, "mse": F.mse_loss}
MONITORS = ("val_loss", "val_acc")


@dataclass
class History:
    """What :func:`fit` recorded. ``step_loss[i]`` is the training loss of optimizer step ``i + 1``;
    ``epochs`` holds one dict per epoch (``train_loss``, ``val_loss`` and, for classification,
    ``train_acc``, ``val_acc``, all measured in eval mode, plus ``seconds``)."""

    step_loss: list[float] = field(default_factory=list)
    epochs: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    diverged: bool = False

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
            return "History(no epochs)"
        last = self.epochs[-1]
        shown = ", ".join(f"{k} {v:.4g}" for k, v in last.items() if k not in ("epoch", "seconds"))
        extra = " (stopped early)" if self.stopped_early else " (diverged)" if self.diverged else ""
        return f"History({len(self.epochs)} epochs{extra}; last: {shown})"


def _resolve_loss(loss) -> LossFn:
    if callable(loss):
        return loss
    check_choice("loss", loss, tuple(LOSSES))
    return LOSSES[loss]


@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, loss="cross_entropy",
             batch_size: int = 4096) -> dict[str, float]:
    """Mean loss (and accuracy for integer labels) of ``model`` in eval mode; restores its mode.

    ``X`` and ``y`` are moved to the model's device first (a no-op when they are already there)."""
    loss_fn = _resolve_loss(loss)
    check_int("batch_size", batch_size, minimum=1)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"evaluate: X has {X.shape[0]} rows but y has {y.shape[0]}")
    dev = module_device(model, X.device)  # a network fit() put on the GPU, data loaded on the CPU
    X, y = X.to(dev), y.to(dev)
    was_training = model.training
    model.eval()
    total, correct = torch.zeros((), device=dev), torch.zeros((), device=dev)
    for start in range(0, X.shape[0], batch_size):
        xb, yb = X[start:start + batch_size], y[start:start + batch_size]
        out = model(xb)
        total += loss_fn(out, yb) * xb.shape[0]
        if not yb.is_floating_point():
            correct += (out.argmax(dim=1) == yb).sum()
    model.train(was_training)
    result = {"loss": total.item() / X.shape[0]}
    if not y.is_floating_point():
        result["acc"] = correct.item() / X.shape[0]
    return result


def fit(model: nn.Module, data, *, optimizer, epochs: int, batch_size: int = 64, loss="cross_entropy",
        penalty: Callable[[nn.Module], torch.Tensor] | None = None,
        after_step: Callable[[int, nn.Module], None] | None = None,
        patience: int | None = None, monitor: str = "val_loss", restore_best: bool = True,
        max_steps: int | None = None, drop_last: bool = False, seed: int = 0,
        device: torch.device | str | None = None,
        progress: bool = True, desc: str = "training") -> History:
    """Train ``model`` on ``data.X_train, data.y_train`` with mini-batch updates; return a :class:`History`.

    ``optimizer`` is a ``torch.optim.Optimizer`` built on ``model.parameters()`` or a function
    ``params -> Optimizer``. ``penalty(model)`` is added to the loss (e.g. ``α·Ω(θ)``). ``after_step(step,
    model)`` runs after every update (e.g. a max-norm projection, or recording statistics). With
    ``patience``, training stops once ``monitor`` has not improved for that many epochs, and
    ``restore_best`` puts back the parameters of the best epoch. A non-finite training loss ends
    training with ``history.diverged = True``. ``max_steps`` ends training after that many updates
    (papers count steps, not epochs); the last, partial epoch is evaluated like the others.
    ``drop_last`` skips each epoch's final, smaller mini-batch (batch norm cannot train on a batch of
    one). ``seed`` fixes the order of the mini-batches.
    """
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    check_choice("monitor", monitor, MONITORS)
    if patience is not None:
        check_int("patience", patience, minimum=1)
    if max_steps is not None:
        check_int("max_steps", max_steps, minimum=1)
    if drop_last and batch_size > data.X_train.shape[0]:
        raise ValueError(f"fit: drop_last=True with batch_size {batch_size} larger than the "
                         f"{data.X_train.shape[0]} training examples leaves no mini-batch")
    loss_fn = _resolve_loss(loss)
    for name in ("X_train", "y_train", "X_val", "y_val"):
        if not isinstance(getattr(data, name, None), torch.Tensor):
            raise TypeError(f"fit: data must have tensor attributes X_train, y_train, X_val, y_val "
                            f"(a trainwell.data.Dataset); {name} is missing")
    dev = torch.device(device) if device is not None else default_device()
    model.to(dev)
    X, y = data.X_train.to(dev), data.y_train.to(dev)
    Xv, yv = data.X_val.to(dev), data.y_val.to(dev)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"fit: X_train has {X.shape[0]} rows but y_train has {y.shape[0]}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        if not callable(optimizer):
            raise TypeError("fit: optimizer must be a torch.optim.Optimizer or a function "
                            "params -> Optimizer")
        optimizer = optimizer(model.parameters())
    if monitor == "val_acc" and yv.is_floating_point():
        raise ValueError("fit: monitor='val_acc' needs integer class labels; use monitor='val_loss'")

    generator = torch.Generator().manual_seed(seed)
    history = History()
    best_value, best_state, waited = math.inf, None, 0
    n, step = X.shape[0], 0
    bar = _progress(range(1, epochs + 1), progress, desc)
    for epoch in bar:
        started = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=generator).to(dev)
        losses = []
        last_start = n - batch_size if drop_last else n - 1
        for start in range(0, last_start + 1, batch_size):
            idx = order[start:start + batch_size]
            batch_loss = loss_fn(model(X[idx]), y[idx])
            objective = batch_loss + penalty(model) if penalty is not None else batch_loss
            optimizer.zero_grad(set_to_none=True)
            objective.backward()
            optimizer.step()
            step += 1
            losses.append(batch_loss.detach())
            if after_step is not None:
                after_step(step, model)
            if step == max_steps:
                break
        step_losses = torch.stack(losses).float().cpu().tolist()  # the epoch's one synchronisation
        history.step_loss.extend(step_losses)
        if not all(math.isfinite(v) for v in step_losses):
            history.diverged = True
            break
        record = {"epoch": epoch}
        for split, (xs, ys) in (("train", (X, y)), ("val", (Xv, yv))):
            for key, value in evaluate(model, xs, ys, loss=loss_fn).items():
                record[f"{split}_{key}"] = value
        record["seconds"] = time.perf_counter() - started
        history.epochs.append(record)
        if hasattr(bar, "set_postfix"):
            bar.set_postfix({k: f"{v:.3f}" for k, v in record.items() if k.startswith(("train", "val"))})

        value = record[monitor] * (-1 if monitor == "val_acc" else 1)
        if value < best_value:
            best_value, waited, history.best_epoch = value, 0, epoch
            if restore_best and patience is not None:
                best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if patience is not None and waited >= patience:
                history.stopped_early = True
                break
        if step == max_steps:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


def _progress(iterable, enabled: bool, desc: str, unit: str = "epoch"):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, unit=unit, leave=True)


def repeat(run: Callable[[int], object], seeds: Sequence[int], *, progress: bool = True,
           desc: str = "seeds") -> list:
    """``[run(seed) for seed in seeds]`` with torch, NumPy and Python seeded before each run."""
    from .config import seed_everything

    seeds = list(seeds)
    if not seeds:
        raise ValueError("repeat: seeds is empty")
    results = []
    for seed in _progress(seeds, progress, desc, unit="seed"):
        seed_everything(seed)
        results.append(run(seed))
    return results
