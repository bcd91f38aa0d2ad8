"""The batch normalizing transform over other axes: layer, instance and group norm
(section `bn-beyond`). Each is Algorithm 1 (:func:`~trainwell.batchnorm.algorithm1.normalize`) over
the axes of one example, followed by an elementwise affine map, and equals PyTorch's functional form.
"""
from __future__ import annotations

import torch

from .._validate import check_int
from .algorithm1 import normalize


def _affine(y: torch.Tensor, weight, bias, shape: tuple[int, ...]) -> torch.Tensor:
    """y · weight + bias with weight and bias reshaped to ``shape`` for broadcasting."""
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def _check_tensor(name: str, x, min_ndim: int, layout: str) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim < min_ndim:
        got = f"shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} expects an {layout} input with at least {min_ndim} axes, got {got}")


def _check_param(name: str, p, expected: tuple[int, ...]) -> None:
    if p is None:
        return
    if not isinstance(p, torch.Tensor):
        raise TypeError(f"{name} must be a tensor or None, got {type(p).__name__}")
    if tuple(p.shape) != expected:
        raise ValueError(f"{name} must have shape {expected}, got {tuple(p.shape)}")


def layer_norm(x: torch.Tensor, normalized_ndim: int, weight: torch.Tensor | None = None,
               bias: torch.Tensor | None = None, eps: float = 1e-5) -> torch.Tensor:
    """Layer norm: Algorithm 1 over the last ``normalized_ndim`` axes of each example, then an
    elementwise affine map of shape ``x.shape[-normalized_ndim:]``. Equals
    ``F.layer_norm(x, x.shape[-normalized_ndim:], weight, bias, eps)`` (section `bn-beyond`)."""
    _check_tensor("layer_norm", x, 1, "(*, normalized axes)")
    check_int("normalized_ndim", normalized_ndim, minimum=1, maximum=x.ndim)
    shape = tuple(x.shape[x.ndim - normalized_ndim:])
    _check_param("weight", weight, shape)
    _check_param("bias", bias, shape)
    y = normalize(x, tuple(range(x.ndim - normalized_ndim, x.ndim)), eps=eps)
    return _affine(y, weight, bias, shape)


def instance_norm(x: torch.Tensor, weight: torch.Tensor | None = None, bias: torch.Tensor | None = None,
                  eps: float = 1e-5) -> torch.Tensor:
    """Instance norm: Algorithm 1 over the spatial axes of each (example, channel) of an
    (N, C, *) input, then a per-channel affine map. Equals ``F.instance_norm(x, weight=weight,
    bias=bias, eps=eps)`` (section `bn-beyond`)."""
    _check_tensor("instance_norm", x, 3, "(N, C, *spatial)")
    _check_param("weight", weight, (x.shape[1],))
    _check_param("bias", bias, (x.shape[1],))
    y = normalize(x, tuple(range(2, x.ndim)), eps=eps)
    return _affine(y, weight, bias, (1, -1) + (1,) * (x.ndim - 2))


def group_norm(x: torch.Tensor, num_groups: int, weight: torch.Tensor | None = None,
               bias: torch.Tensor | None = None, eps: float = 1e-5) -> torch.Tensor:
    """Group norm: split the C channels of an (N, C, *) input into ``num_groups`` groups, apply
    Algorithm 1 over each (example, group) — all its channels and positions — then a per-channel
    affine map. Equals ``F.group_norm(x, num_groups, weight, bias, eps)`` (section `bn-beyond`).
    ``num_groups=1`` is layer norm over (C, *); ``num_groups=C`` is instance norm."""
    _check_tensor("group_norm", x, 2, "(N, C, *)")
    n, c = x.shape[:2]
    check_int("num_groups", num_groups, minimum=1)
    if c % num_groups != 0:
        raise ValueError(f"Invalid num_groups: {num_groups} (must divide the number of channels {c})")
    _check_param("weight", weight, (c,))
    _check_param("bias", bias, (c,))
    grouped = x.reshape(n, num_groups, c // num_groups, *x.shape[2:])
    y = normalize(grouped, tuple(range(2, grouped.ndim)), eps=eps).reshape(x.shape)
    return _affine(y, weight, bias, (1, -1) + (1,) * (x.ndim - 2))

