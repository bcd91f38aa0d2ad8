"""What a run checks before its first step: the data of every split, the settings shared by
:func:`~trainwell.train.fit` and :func:`~trainwell.train.fit_many` (a :class:`Plan`), the optimizer,
the class labels against the model's outputs."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .._validate import check_bool, check_int
from ..metrics import resolve_loss
from ..models import is_batch_norm
from .callbacks import Callback, EarlyStopping, _as_callback, _check_eval_every
from .progress import progress_enabled


@dataclass(frozen=True)
class Plan:
    """A run's settings, checked once: what the loop needs besides the members and the optimizer.
    ``where`` names the public function (``"fit"`` or ``"fit_many"``) in every error message;
    ``loss`` is the name given (or the function), ``loss_fn`` the function it resolves to."""

    where: str
    epochs: int
    batch_size: int
    loss: object
    loss_fn: Callable
    transform: Callable | None
    max_steps: int | None
    drop_last: bool
    eval_every: int
    tolerate_divergence: bool
    progress: bool | None
    desc: str
    label_ranges: tuple


def plan(where: str, data, callbacks, *, epochs, batch_size, loss, transform, max_steps, drop_last,
         eval_every, tolerate_divergence, progress, desc) -> tuple[Plan, list[Callback]]:
    """Check the settings and the data of a run of :func:`fit` or :func:`fit_many` before anything
    is built; return the :class:`Plan` and the callbacks (scheduler objects wrapped)."""
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    eval_every = check_int("eval_every", eval_every, minimum=1)
    tolerate_divergence = check_bool("tolerate_divergence", tolerate_divergence)
    drop_last = check_bool("drop_last", drop_last)
    progress_enabled(progress)  # a bad value fails here, before anything is trained
    if max_steps is not None:
        max_steps = check_int("max_steps", max_steps, minimum=1)
    if transform is not None and not callable(transform):
        raise TypeError(f"{where}: transform must be a function, got {type(transform).__name__}")
    if isinstance(callbacks, (Callback, str)) or not isinstance(callbacks, Sequence):
        raise TypeError(f"{where}: callbacks must be a list of callbacks, e.g. callbacks=[EarlyStopping(5)]")
    callbacks = [_as_callback(cb) for cb in callbacks]
    if sum(isinstance(cb, EarlyStopping) for cb in callbacks) > 1:
        raise ValueError(f"{where}: give at most one EarlyStopping (each would put back its own best "
                         "epoch's parameters)")
    _check_eval_every(eval_every, callbacks, where)
    loss_fn = resolve_loss(loss)
    _check_data(data, where)
    n = data.X_train.shape[0]
    if drop_last and batch_size > n:
        raise ValueError(f"{where}: drop_last=True with batch_size {batch_size} larger than the "
                         f"{n} training examples leaves no mini-batch")
    return Plan(where, epochs, batch_size, loss, loss_fn, transform, max_steps, drop_last, eval_every,
                tolerate_divergence, progress, desc, tuple(_label_ranges(data))), callbacks


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
