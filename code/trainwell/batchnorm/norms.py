"""The batch normalizing transform over other axes: layer, instance and group norm
(section `bn-beyond`). Each is Algorithm 1 (:func:`~trainwell.batchnorm.algorithm1.normalize`) over
the axes of one example, followed by an elementwise affine map, and equals PyTorch's functional form,
edges included: float16/bfloat16 inputs (computed in float32, and allowed float32 weights), empty
inputs (an empty output) and instance norm over a single spatial element (an error).
"""
from __future__ import annotations

import math

import torch

from .._validate import check_int
from .algorithm1 import _check_eps, normalize


def _affine(y: torch.Tensor, weight, bias, shape: tuple[int, ...]) -> torch.Tensor:
    """y · weight + bias with weight and bias reshaped to ``shape`` for broadcasting."""
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


#: The input dtypes PyTorch's normalization functions accept.
_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
#: Reduced precision: normalized in float32 (as PyTorch does), and allowed to meet float32 parameters.
_REDUCED_DTYPES = (torch.float16, torch.bfloat16)


def _check_tensor(name: str, x, min_ndim: int, layout: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: x must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim < min_ndim:
        raise ValueError(f"{name} expects an {layout} input with at least {min_ndim} axes, got shape "
                         f"{tuple(x.shape)}")
    if x.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{name}: x must be a floating-point tensor (float16, bfloat16, float32 or float64), "
                        f"got dtype {x.dtype}")


def _check_params(x: torch.Tensor, expected: tuple[int, ...], weight, bias, eps) -> None:
    """``weight`` and ``bias`` (each may be ``None``) have exactly the shape ``expected`` (nothing is
    broadcast), one dtype, x's or float32 for a float16/bfloat16 x (PyTorch's rule), and x's
    device; ``eps`` > 0."""
    _check_eps(eps)
    for name, p in (("weight", weight), ("bias", bias)):
        if p is None:
            continue
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"{name} must be a tensor or None, got {type(p).__name__}")
        if tuple(p.shape) != expected:
            raise ValueError(f"{name} must have shape {expected}, got {tuple(p.shape)}")
        if p.device != x.device:
            raise TypeError(f"{name} is on {p.device} but x is on {x.device}; move one of them")
        if p.dtype != x.dtype and not (x.dtype in _REDUCED_DTYPES and p.dtype == torch.float32):
            raise TypeError(f"{name} is {p.dtype} but x is {x.dtype}; convert one of them (only a float16 or "
                            "bfloat16 x may meet float32 parameters)")
    if weight is not None and bias is not None and weight.dtype != bias.dtype:
        raise TypeError(f"weight and bias must share one dtype, got {weight.dtype} and {bias.dtype}")


def _normalized(x: torch.Tensor, dims: tuple[int, ...], eps: float) -> torch.Tensor:
    """:func:`normalize` (γ = 1, β = 0) over ``dims``, with PyTorch's conventions at the edges: a
    float16/bfloat16 x is normalized in float32, and an empty x gives an empty result."""
    if x.numel() == 0:
        return x.clone()
    return normalize(x.float() if x.dtype in _REDUCED_DTYPES else x, dims, eps=eps)


def layer_norm(x: torch.Tensor, normalized_ndim: int, weight: torch.Tensor | None = None,
               bias: torch.Tensor | None = None, eps: float = 1e-5) -> torch.Tensor:
    """Layer norm: Algorithm 1 over the last ``normalized_ndim`` axes of each example, then an
    elementwise affine map of shape ``x.shape[-normalized_ndim:]``. Equals
    ``F.layer_norm(x, x.shape[-normalized_ndim:], weight, bias, eps)`` (section `bn-beyond`)."""
    _check_tensor("layer_norm", x, 1, "(*, normalized axes)")
    check_int("normalized_ndim", normalized_ndim, minimum=1, maximum=x.ndim)
    shape = tuple(x.shape[x.ndim - normalized_ndim:])
    _check_params(x, shape, weight, bias, eps)
    y = _normalized(x, tuple(range(x.ndim - normalized_ndim, x.ndim)), eps)
    return _affine(y, weight, bias, shape).to(x.dtype)


def instance_norm(x: torch.Tensor, weight: torch.Tensor | None = None, bias: torch.Tensor | None = None,
                  eps: float = 1e-5) -> torch.Tensor:
    """Instance norm: Algorithm 1 over the spatial axes of each (example, channel) of an
    (N, C, *) input, then a per-channel affine map. Equals ``F.instance_norm(x, weight=weight,
    bias=bias, eps=eps)`` (section `bn-beyond`)."""
    _check_tensor("instance_norm", x, 3, "(N, C, *spatial)")
    if math.prod(x.shape[2:]) == 1:  # as F.instance_norm: the statistics of one value are undefined
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{tuple(x.shape)}")
    _check_params(x, (x.shape[1],), weight, bias, eps)
    y = _normalized(x, tuple(range(2, x.ndim)), eps)
    return _affine(y, weight, bias, (1, -1) + (1,) * (x.ndim - 2)).to(x.dtype)


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
    _check_params(x, (c,), weight, bias, eps)
    grouped = x.reshape(n, num_groups, c // num_groups, *x.shape[2:])
    y = _normalized(grouped, tuple(range(2, grouped.ndim)), eps).reshape(x.shape)
    return _affine(y, weight, bias, (1, -1) + (1,) * (x.ndim - 2)).to(x.dtype)

