"""Batch normalization from scratch (Part III), checked against PyTorch in ``tests/test_batchnorm.py``.

Notation (Ioffe & Szegedy 2015): a mini-batch B = {x_1, ..., x_m} of one feature, its mean μ_B and
biased variance σ²_B, the normalized value x̂_i, the learned scale γ and shift β, and the constant ε.

* Algorithm 1 and its backward pass: :func:`batch_norm_forward`, :func:`batch_norm_backward` (the
  paper's six formulas), :func:`batch_norm_backward_compact` (the same gradient in closed form) and
  :class:`BatchNormFunction`, which joins them into an autograd ``Function``.
* The same transform over other axes: :func:`normalize`, :func:`layer_norm`, :func:`instance_norm`,
  :func:`group_norm`.
* The layer with PyTorch's semantics and running statistics: :class:`BatchNorm`,
  :class:`BatchNorm1d`, :class:`BatchNorm2d`.
* Algorithm 2 (inference): :func:`population_stats`, :func:`inference_affine`,
  :func:`fold_into_linear`, :func:`fold_into_conv2d`.
* Synchronized batch norm across data-parallel workers: :func:`sync_batch_stats`,
  ``BatchNorm(..., sync=True)``, :func:`run_data_parallel`, :func:`data_parallel_bn_step`.
"""
from __future__ import annotations

import math
import pickle
import queue
import socket
import time
import traceback
from datetime import timedelta
from typing import NamedTuple

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.autograd.function import once_differentiable

from ._validate import check_float, check_int
from .config import module_device

__all__ = [
    "BNCache", "batch_norm_forward", "batch_norm_backward", "batch_norm_backward_compact",
    "BatchNormFunction", "normalize", "layer_norm", "instance_norm", "group_norm",
    "BatchNorm", "BatchNorm1d", "BatchNorm2d",
    "population_stats", "inference_affine", "fold_into_linear", "fold_into_conv2d",
    "sync_batch_stats", "run_data_parallel", "data_parallel_bn_step", "recompute_population_stats",
]


# --------------------------------------------------------------------------------------------------
# Argument checks shared by the functions below


def _reduction_dims(x: torch.Tensor, dims) -> tuple[int, ...]:
    """``dims`` as a sorted tuple of non-negative axes of ``x`` (an int is one axis)."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got {type(x).__name__}"
                        + (f" of dtype {x.dtype}" if isinstance(x, torch.Tensor) else ""))
    if x.numel() == 0:
        raise ValueError(f"x is empty (shape {tuple(x.shape)}); there is nothing to normalize")
    axes = (dims,) if isinstance(dims, int) else dims
    if not isinstance(axes, (tuple, list)) or len(axes) == 0:
        raise ValueError(f"Invalid dims: {dims!r} (must be a non-empty tuple of axes of x)")
    out = []
    for d in axes:
        check_int("dim", d)
        if not -x.ndim <= d < x.ndim:
            raise ValueError(f"Invalid dims: {dims!r} (axis {d} is out of range for a {x.ndim}-D input; "
                             f"allowed: {-x.ndim} to {x.ndim - 1})")
        out.append(d % x.ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"Invalid dims: {dims!r} (an axis is repeated)")
    return tuple(sorted(out))


def _stat_shape(shape, dims) -> tuple[int, ...]:
    """The shape of a per-feature statistic kept next to x for broadcasting: reduced axes become 1."""
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _kept_shape(shape, dims) -> tuple[int, ...]:
    """The shape of one value per feature: the axes of x that are *not* reduced."""
    return tuple(s for i, s in enumerate(shape) if i not in dims)


def _check_per_feature(name: str, p, x: torch.Tensor, dims) -> None:
    if p is None:
        return
    if not isinstance(p, torch.Tensor):
        raise TypeError(f"{name} must be a tensor or None, got {type(p).__name__}")
    kept = _kept_shape(x.shape, dims)
    if tuple(p.shape) != kept:
        raise ValueError(f"{name} must have shape {kept} (the axes of x {tuple(x.shape)} kept by "
                         f"dims={dims}), got {tuple(p.shape)}; nothing is broadcast")
    if p.dtype != x.dtype or p.device != x.device:
        raise TypeError(f"{name} is {p.dtype} on {p.device} but x is {x.dtype} on {x.device}; convert one "
                        "of them (e.g. layer.to(x.dtype))")


def _check_eps(eps) -> float:
    return check_float("eps", eps, minimum=0.0, min_inclusive=False)


# --------------------------------------------------------------------------------------------------
# Algorithm 1 and its backward pass


class BNCache(NamedTuple):
    """What the backward pass needs from the forward pass (statistics keep reduced axes as size 1)."""
    mean: torch.Tensor     # μ_B
    var: torch.Tensor      # σ²_B (biased, 1/m)
    x_hat: torch.Tensor    # x̂_i
    inv_std: torch.Tensor  # 1/√(σ²_B + ε)
    dims: tuple[int, ...]  # the reduced axes
    m: int                 # number of values per feature


def batch_norm_forward(x: torch.Tensor, gamma: torch.Tensor | None, beta: torch.Tensor | None,
                       dims, eps: float = 1e-5) -> tuple[torch.Tensor, BNCache]:
    """Algorithm 1, the batch normalizing transform (Part III, section 2).

    Every feature (one index of the axes of ``x`` *not* in ``dims``) is normalized over the m values
    that the axes in ``dims`` hold::

        μ_B   = (1/m) Σ_i x_i                   mini-batch mean
        σ²_B  = (1/m) Σ_i (x_i − μ_B)²          mini-batch variance (biased)
        x̂_i   = (x_i − μ_B) / √(σ²_B + ε)       normalize
        y_i   = γ x̂_i + β                       scale and shift

    ``dims=(0,)`` on (N, C) and ``dims=(0, 2, 3)`` on (N, C, H, W) is batch norm. ``gamma`` and
    ``beta`` have exactly the shape of the kept axes (``(C,)`` for batch norm); ``None`` means
    γ = 1 and β = 0. Returns ``y`` and a :class:`BNCache` for the backward pass.

    This is the arithmetic of :class:`BatchNormFunction`'s forward; it reuses its own temporary in
    place, so take gradients through :class:`BatchNormFunction` or :func:`normalize`.
    """
    dims = _reduction_dims(x, dims)
    eps = _check_eps(eps)
    _check_per_feature("gamma", gamma, x, dims)
    _check_per_feature("beta", beta, x, dims)
    stat = _stat_shape(x.shape, dims)
    m = x.numel() // math.prod(_kept_shape(x.shape, dims))

    def total(t):  # Σ_i over the m values of each feature
        return t.sum(dim=dims, keepdim=True)

    mean = total(x) / m                                 # μ_B
    x_centered = x - mean                               # x_i − μ_B
    var = total(x_centered * x_centered) / m            # σ²_B (two passes: no cancellation)
    inv_std = torch.rsqrt(var + eps)                    # 1/√(σ²_B + ε)
    x_hat = x_centered.mul_(inv_std)                    # x̂_i (in place: x − μ_B is not kept)
    if gamma is None:
        y = x_hat if beta is None else x_hat + beta.reshape(stat)
    else:
        y = x_hat * gamma.reshape(stat)                 # γ x̂_i
        if beta is not None:
            y.add_(beta.reshape(stat))                  # + β (in place: no second full-size tensor)
    return y, BNCache(mean, var, x_hat, inv_std, dims, m)


def batch_norm_backward(grad_y: torch.Tensor, cache: BNCache, gamma: torch.Tensor | None = None):
    """The backward pass of Algorithm 1 by the paper's six formulas (Part III, section 3).

    Given ∂ℓ/∂y_i, with Σ over the m values i of one feature::

        (1) ∂ℓ/∂x̂_i  = ∂ℓ/∂y_i · γ
        (2) ∂ℓ/∂σ²_B = Σ_i ∂ℓ/∂x̂_i · (x_i − μ_B) · (−1/2) (σ²_B + ε)^(−3/2)
        (3) ∂ℓ/∂μ_B  = (Σ_i ∂ℓ/∂x̂_i · (−1/√(σ²_B + ε))) + ∂ℓ/∂σ²_B · (Σ_i −2 (x_i − μ_B)) / m
        (4) ∂ℓ/∂x_i  = ∂ℓ/∂x̂_i / √(σ²_B + ε) + ∂ℓ/∂σ²_B · 2 (x_i − μ_B) / m + ∂ℓ/∂μ_B / m
        (5) ∂ℓ/∂γ    = Σ_i ∂ℓ/∂y_i · x̂_i
        (6) ∂ℓ/∂β    = Σ_i ∂ℓ/∂y_i

    The code takes the formulas in that order but makes only two passes over the batch for the sums:
    γ and √(σ²_B + ε) do not depend on i, so they come out of every Σ, and x_i − μ_B = x̂_i √(σ²_B + ε)::

        Σ_i ∂ℓ/∂x̂_i            = γ · ∂ℓ/∂β
        Σ_i ∂ℓ/∂x̂_i (x_i − μ_B) = γ √(σ²_B + ε) · ∂ℓ/∂γ
        Σ_i (x_i − μ_B)         = 0                    (by the definition of μ_B)

    Returns ``(∂ℓ/∂x, ∂ℓ/∂γ, ∂ℓ/∂β)``; the last two have the shape of the kept axes. ``gamma=None``
    means γ = 1.
    """
    dims, m, x_hat, inv_std = cache.dims, cache.m, cache.x_hat, cache.inv_std
    kept = _kept_shape(grad_y.shape, dims)
    gamma_b = 1.0 if gamma is None else gamma.reshape(inv_std.shape)  # γ, broadcastable against x
    std = 1.0 / inv_std                                               # √(σ²_B + ε)

    def total(t):  # Σ_i over the m values of each feature
        return t.sum(dim=dims, keepdim=True)

    d_beta = total(grad_y)                                  # (6)
    d_gamma = total(grad_y * x_hat)                         # (5)
    sum_d_xhat = gamma_b * d_beta                           # (1) summed: Σ ∂ℓ/∂x̂_i
    sum_d_xhat_centered = gamma_b * d_gamma * std           # (1) summed: Σ ∂ℓ/∂x̂_i (x_i − μ_B)
    sum_centered = 0.0                                      # Σ (x_i − μ_B)
    d_var = sum_d_xhat_centered * (-0.5 * inv_std ** 3)     # (2)
    d_mean = sum_d_xhat * (-inv_std) + d_var * (-2.0 * sum_centered / m)  # (3)
    d_x = grad_y * (gamma_b * inv_std)                      # (4): ∂ℓ/∂x̂_i / √(σ²_B + ε)
    d_x.addcmul_(x_hat, d_var * (2.0 * std / m))            #      + ∂ℓ/∂σ²_B · 2 (x_i − μ_B) / m
    d_x.add_(d_mean / m)                                    #      + ∂ℓ/∂μ_B / m
    return d_x, d_gamma.reshape(kept), d_beta.reshape(kept)


def batch_norm_backward_compact(grad_y: torch.Tensor, cache: BNCache, gamma: torch.Tensor | None = None):
    """The same gradient as :func:`batch_norm_backward`, in closed form (Part III, section 3).

    Substituting ∂ℓ/∂σ²_B and ∂ℓ/∂μ_B into ∂ℓ/∂x_i gives::

        ∂ℓ/∂x_i = γ / (m √(σ²_B + ε)) · (m ∂ℓ/∂y_i − Σ_j ∂ℓ/∂y_j − x̂_i Σ_j ∂ℓ/∂y_j x̂_j)

    i.e. the upstream gradient with its mean and its component along x̂ removed, then scaled.
    Returns ``(∂ℓ/∂x, ∂ℓ/∂γ, ∂ℓ/∂β)``.
    """
    dims, m, x_hat, inv_std = cache.dims, cache.m, cache.x_hat, cache.inv_std
    kept = _kept_shape(grad_y.shape, dims)
    sum_g = grad_y.sum(dim=dims, keepdim=True)                 # Σ_j ∂ℓ/∂y_j      (= ∂ℓ/∂β)
    sum_g_xhat = (grad_y * x_hat).sum(dim=dims, keepdim=True)  # Σ_j ∂ℓ/∂y_j x̂_j  (= ∂ℓ/∂γ)
    scale = inv_std / m if gamma is None else gamma.reshape(inv_std.shape) * inv_std / m
    d_x = scale * (m * grad_y - sum_g - x_hat * sum_g_xhat)
    return d_x, sum_g_xhat.reshape(kept), sum_g.reshape(kept)


class BatchNormFunction(torch.autograd.Function):
    """Algorithm 1 as an autograd ``Function`` whose backward is the paper's six formulas.

    ``y, mean, var = BatchNormFunction.apply(x, gamma, beta, dims, eps)``

    Forward: :func:`batch_norm_forward` (Part III, section 2). Backward: :func:`batch_norm_backward`
    (Part III, section 3), written out by hand; autograd never sees the forward's arithmetic. The
    batch statistics μ_B and σ²_B (biased, with the shape of the kept axes) are returned too, for
    running averages; they are not differentiable. ``gamma`` / ``beta`` may be ``None`` (no affine
    part). Differentiable once: the backward itself is not differentiated.
    """

    @staticmethod
    def forward(ctx, x, gamma, beta, dims, eps):
        y, cache = batch_norm_forward(x, gamma, beta, dims, eps)
        ctx.save_for_backward(cache.x_hat, cache.inv_std, gamma)
        ctx.dims, ctx.m = cache.dims, cache.m
        kept = _kept_shape(x.shape, cache.dims)
        mean, var = cache.mean.reshape(kept), cache.var.reshape(kept)
        ctx.mark_non_differentiable(mean, var)
        return y, mean, var

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y, _grad_mean, _grad_var):
        x_hat, inv_std, gamma = ctx.saved_tensors
        cache = BNCache(None, None, x_hat, inv_std, ctx.dims, ctx.m)
        d_x, d_gamma, d_beta = batch_norm_backward(grad_y, cache, gamma)
        return (d_x if ctx.needs_input_grad[0] else None,
                d_gamma if ctx.needs_input_grad[1] else None,
                d_beta if ctx.needs_input_grad[2] else None, None, None)


def normalize(x: torch.Tensor, dims, gamma: torch.Tensor | None = None, beta: torch.Tensor | None = None,
              eps: float = 1e-5) -> torch.Tensor:
    """y = γ x̂ + β with x̂ normalized over the axes ``dims`` (Algorithm 1 through
    :class:`BatchNormFunction`; Part III, sections 2 and 10). γ, β have the shape of the kept axes."""
    return BatchNormFunction.apply(x, gamma, beta, dims, eps)[0]


# --------------------------------------------------------------------------------------------------
# The same transform over other axes (Part III, section 10)


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
    ``F.layer_norm(x, x.shape[-normalized_ndim:], weight, bias, eps)`` (Part III, section 10)."""
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
    bias=bias, eps=eps)`` (Part III, section 10)."""
    _check_tensor("instance_norm", x, 3, "(N, C, *spatial)")
    _check_param("weight", weight, (x.shape[1],))
    _check_param("bias", bias, (x.shape[1],))
    y = normalize(x, tuple(range(2, x.ndim)), eps=eps)
    return _affine(y, weight, bias, (1, -1) + (1,) * (x.ndim - 2))


def group_norm(x: torch.Tensor, num_groups: int, weight: torch.Tensor | None = None,
               bias: torch.Tensor | None = None, eps: float = 1e-5) -> torch.Tensor:
    """Group norm: split the C channels of an (N, C, *) input into ``num_groups`` groups, apply
    Algorithm 1 over each (example, group) — all its channels and positions — then a per-channel
    affine map. Equals ``F.group_norm(x, num_groups, weight, bias, eps)`` (Part III, section 10).
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


# --------------------------------------------------------------------------------------------------
# The layer (Part III, sections 4 to 6)


class BatchNorm(nn.Module):
    """Batch normalization over the channel axis 1 of (N, C), (N, C, L), (N, C, H, W), ... inputs,
    with the semantics, parameters and buffers of ``nn.BatchNorm1d`` / ``nn.BatchNorm2d``
    (Part III, sections 4 to 6).

    Training (or ``track_running_stats=False``): Algorithm 1 per channel over every axis but 1
    (for images the effective batch is N·H·W), through :class:`BatchNormFunction`. With
    ``track_running_stats=True`` each training step also updates::

        running_mean ← (1 − momentum) · running_mean + momentum · μ_B
        running_var  ← (1 − momentum) · running_var  + momentum · m/(m − 1) · σ²_B   (unbiased)

    and ``momentum=None`` uses the factor 1/num_batches_tracked instead, a cumulative average: after
    a pass over k batches the running statistics are E[x] and Var[x] of Algorithm 2 exactly.
    (Keras' ``momentum=0.99`` is the weight on the *old* value, i.e. PyTorch's 0.01.)

    Evaluation with running statistics: y = γ (x − E[x]) / √(Var[x] + ε) + β, an affine map
    (:func:`inference_affine`).

    ``sync=True`` computes μ_B and σ²_B over the whole batch spread across the data-parallel workers
    of ``process_group`` (:func:`sync_batch_stats`) whenever ``torch.distributed`` is initialized
    with more than one worker; otherwise it behaves like ``sync=False`` (Part III, section 10).
    ``weight`` (γ), ``bias`` (β), ``running_mean``, ``running_var`` and ``num_batches_tracked``
    are named as in PyTorch, so ``state_dict()`` loads into ``nn.BatchNorm1d/2d`` and back.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *, sync: bool = False,
                 process_group=None, device=None, dtype=None):
        super().__init__()
        self.num_features = check_int("num_features", num_features, minimum=1)
        self.eps = _check_eps(eps)
        self.momentum = None if momentum is None else check_float("momentum", momentum,
                                                                  minimum=0.0, maximum=1.0)
        self.affine, self.track_running_stats, self.sync = bool(affine), bool(track_running_stats), bool(sync)
        self.process_group = process_group
        kw = {"device": device, "dtype": dtype}
        if self.affine:
            self.weight = nn.Parameter(torch.ones(num_features, **kw))
            self.bias = nn.Parameter(torch.zeros(num_features, **kw))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features, **kw))
            self.register_buffer("running_var", torch.ones(num_features, **kw))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1.0)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            nn.init.ones_(self.weight)
            nn.init.zeros_(self.bias)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}" + (", sync=True" if self.sync else ""))

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.ndim < 2:
            raise ValueError(f"expected at least 2D input (N, C, ...) (got {x.ndim}D input)")

    def _sync_active(self) -> bool:
        return (self.sync and dist.is_available() and dist.is_initialized()
                and dist.get_world_size(self.process_group) > 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"input must be a tensor, got {type(x).__name__}")
        self._check_input_dim(x)
        if x.shape[1] != self.num_features:
            raise ValueError(f"expected {self.num_features} channels (num_features) in dim 1, got "
                             f"{x.shape[1]} (input shape {tuple(x.shape)})")
        stat = (1, -1) + (1,) * (x.ndim - 2)
        if not self.training and self.track_running_stats:  # Algorithm 2: a fixed affine map
            scale, shift = inference_affine(self.weight, self.bias, self.running_mean, self.running_var,
                                            self.eps)
            return (x * scale.reshape(stat)).add_(shift.reshape(stat))

        dims = (0,) + tuple(range(2, x.ndim))
        if self._sync_active():
            mean, var, m = sync_batch_stats(x, dims, self.process_group)
            _check_more_than_one(m, x)
            x_hat = (x - mean.reshape(stat)) * torch.rsqrt(var.reshape(stat) + self.eps)
            y = _affine(x_hat, self.weight, self.bias, stat)
            mean, var = mean.detach(), var.detach()
        else:
            m = x.numel() // x.shape[1]
            _check_more_than_one(m, x)
            y, mean, var = BatchNormFunction.apply(x, self.weight, self.bias, dims, self.eps)
        if self.training and self.track_running_stats:
            self._update_running_stats(mean, var, m)
        return y

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, var: torch.Tensor, m: int) -> None:
        self.num_batches_tracked.add_(1)
        factor = 1.0 / int(self.num_batches_tracked) if self.momentum is None else self.momentum
        unbiased_var = var * (m / (m - 1))
        self.running_mean.mul_(1.0 - factor).add_(mean.to(self.running_mean.dtype), alpha=factor)
        self.running_var.mul_(1.0 - factor).add_(unbiased_var.to(self.running_var.dtype), alpha=factor)


def _check_more_than_one(m: int, x: torch.Tensor) -> None:
    if m <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                         f"{tuple(x.shape)} (batch statistics of a single value are undefined)")


class BatchNorm1d(BatchNorm):
    """:class:`BatchNorm` for (N, C) or (N, C, L) inputs, like ``nn.BatchNorm1d``."""

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.ndim not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {x.ndim}D input)")


class BatchNorm2d(BatchNorm):
    """:class:`BatchNorm` for (N, C, H, W) inputs, like ``nn.BatchNorm2d`` (Part III, section 6)."""

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.ndim != 4:
            raise ValueError(f"expected 4D input (got {x.ndim}D input)")


# --------------------------------------------------------------------------------------------------
# Algorithm 2: inference with population statistics (Part III, section 4)


@torch.no_grad()
def population_stats(batches, dims=(0,)) -> tuple[torch.Tensor, torch.Tensor]:
    """Population statistics of Algorithm 2 from training mini-batches of one layer's input::

        E[x]   = E_B[μ_B]
        Var[x] = m/(m − 1) · E_B[σ²_B]        (unbiased; every batch must hold the same m)

    ``batches`` is an iterable of tensors; ``dims`` are the reduced axes (``(0,)`` for (N, C),
    ``(0, 2, 3)`` for images). Returns ``(E[x], Var[x])`` with the shape of the kept axes. These equal
    the running statistics of ``nn.BatchNorm1d(momentum=None)`` after one pass over the same batches.
    """
    means, variances, m_seen, kept_seen = [], [], None, None
    for k, x in enumerate(batches):
        axes = _reduction_dims(x, dims)
        kept = _kept_shape(x.shape, axes)
        m = x.numel() // math.prod(kept)
        if m_seen is None:
            m_seen, kept_seen = m, kept
        elif m != m_seen or kept != kept_seen:
            raise ValueError(f"batch {k} has {m} values per feature and feature shape {kept}, but batch 0 "
                             f"has {m_seen} and {kept_seen} (Algorithm 2 uses batches of one size m)")
        var, mean = torch.var_mean(x, dim=axes, correction=0)
        means.append(mean)
        variances.append(var)
    if m_seen is None:
        raise ValueError("population_stats: batches is empty (give at least one mini-batch)")
    if m_seen < 2:
        raise ValueError(f"population_stats: each batch has m = {m_seen} value per feature; the "
                         "unbiased variance needs m >= 2")
    return torch.stack(means).mean(0), torch.stack(variances).mean(0) * (m_seen / (m_seen - 1))


def inference_affine(gamma: torch.Tensor | None, beta: torch.Tensor | None, mean: torch.Tensor,
                     var: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch norm at inference as one affine map y = scale · x + shift (Algorithm 2, Part III, section 4)::

        scale = γ / √(Var[x] + ε)
        shift = β − γ E[x] / √(Var[x] + ε)

    ``gamma`` / ``beta`` ``None`` mean γ = 1 / β = 0. All given tensors have the same shape.
    """
    eps = _check_eps(eps)
    for name, t in (("mean", mean), ("var", var), ("gamma", gamma), ("beta", beta)):
        if t is None and name in ("gamma", "beta"):
            continue
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a tensor, got {type(t).__name__}")
        if t.shape != mean.shape:
            raise ValueError(f"{name} must have the shape of mean {tuple(mean.shape)}, got {tuple(t.shape)}")
    scale = torch.rsqrt(var + eps)
    if gamma is not None:
        scale = gamma * scale
    shift = -mean * scale
    if beta is not None:
        shift = beta + shift
    return scale, shift


def _bn_inference_affine(bn, n_out: int, layer_name: str):
    """(scale, shift) of an eval-mode batch norm (ours or PyTorch's) after a layer with n_out outputs."""
    if not isinstance(bn, (BatchNorm, nn.BatchNorm1d, nn.BatchNorm2d)):
        raise TypeError(f"bn must be a trainwell BatchNorm or nn.BatchNorm1d/2d, got {type(bn).__name__}")
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("bn has no running statistics (track_running_stats=False), so its eval-mode "
                         "output is not a fixed affine map and cannot be folded")
    if bn.num_features != n_out:
        raise ValueError(f"bn.num_features = {bn.num_features} does not match the {n_out} outputs of "
                         f"the {layer_name}")
    weight = bn.weight if bn.affine else None
    bias = bn.bias if bn.affine else None
    return inference_affine(weight, bias, bn.running_mean, bn.running_var, bn.eps)


@torch.no_grad()
def fold_into_linear(linear: nn.Linear, bn) -> nn.Linear:
    """A new ``nn.Linear`` (with a bias) equal to ``bn`` in eval mode applied after ``linear``
    (Part III, section 4): with y = scale · x + shift from :func:`inference_affine`,
    W' = diag(scale) W and b' = scale · b + shift (b = 0 if ``linear`` has no bias)."""
    if not isinstance(linear, nn.Linear):
        raise TypeError(f"linear must be an nn.Linear, got {type(linear).__name__}")
    scale, shift = _bn_inference_affine(bn, linear.out_features, "linear layer")
    w = linear.weight
    folded = nn.Linear(linear.in_features, linear.out_features, bias=True, device=w.device, dtype=w.dtype)
    b = linear.bias if linear.bias is not None else torch.zeros_like(shift)
    folded.weight.copy_(w * scale.to(w.dtype)[:, None])
    folded.bias.copy_(b * scale + shift)
    return folded


@torch.no_grad()
def fold_into_conv2d(conv: nn.Conv2d, bn) -> nn.Conv2d:
    """A new ``nn.Conv2d`` (with a bias) equal to ``bn`` in eval mode applied after ``conv``
    (Part III, sections 4 and 6): each output channel's filter is multiplied by its scale, and
    b' = scale · b + shift (b = 0 if ``conv`` has no bias)."""
    if not isinstance(conv, nn.Conv2d):
        raise TypeError(f"conv must be an nn.Conv2d, got {type(conv).__name__}")
    scale, shift = _bn_inference_affine(bn, conv.out_channels, "convolution")
    w = conv.weight
    folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                       padding=conv.padding, dilation=conv.dilation, groups=conv.groups, bias=True,
                       padding_mode=conv.padding_mode, device=w.device, dtype=w.dtype)
    b = conv.bias if conv.bias is not None else torch.zeros_like(shift)
    folded.weight.copy_(w * scale.to(w.dtype)[:, None, None, None])
    folded.bias.copy_(b * scale + shift)
    return folded


# --------------------------------------------------------------------------------------------------
# Synchronized batch norm across data-parallel workers (Part III, section 10)


class _AllReduceSum(torch.autograd.Function):
    """Sum a tensor over all workers. Its gradient is again a sum over workers: every worker's loss
    depends on the summed value, so each worker's input receives the total upstream gradient."""

    @staticmethod
    def forward(ctx, tensor, group):
        ctx.group = group
        out = tensor.clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM, group=group)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        return _AllReduceSum.apply(grad_out.contiguous(), ctx.group), None


def sync_batch_stats(x: torch.Tensor, dims, group=None) -> tuple[torch.Tensor, torch.Tensor, int]:
    """μ_B and σ²_B (biased) of the whole mini-batch whose parts live on the workers of ``group``.

    Each worker sums its part; one ``all_reduce`` adds up, per feature, the count, Σ x and Σ x²::

        μ_B  = Σ x / m,    σ²_B = Σ x² / m − μ_B²        (m = total count over all workers)

    The all-reduce is differentiable (its backward is an all-reduce of the gradients), so gradients
    with respect to every worker's x equal those of batch norm on the full batch. Returns
    ``(μ_B, σ²_B, m)``; the statistics have the shape of the kept axes. Requires an initialized
    ``torch.distributed`` (see :func:`run_data_parallel`).

    Σ x² / m − μ_B² cancels when |μ_B| ≫ σ_B: its relative error is about u · μ_B² / σ²_B (unit
    roundoff u = 6e-8 in float32), unlike the two-pass variance of :func:`batch_norm_forward`. Inputs
    with a large offset should be centred first, or synced in float64.
    """
    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError("sync_batch_stats needs torch.distributed to be initialized "
                           "(run it inside run_data_parallel or after dist.init_process_group)")
    dims = _reduction_dims(x, dims)
    kept = _kept_shape(x.shape, dims)
    k = math.prod(kept)
    count = torch.full((1,), x.numel() // k, dtype=x.dtype, device=x.device)
    local = torch.cat([x.sum(dim=dims).reshape(-1), (x * x).sum(dim=dims).reshape(-1), count])
    total = _AllReduceSum.apply(local, group)
    m = int(total[-1].item())
    mean = total[:k] / m
    var = (total[k:2 * k] / m - mean * mean).clamp_min(0.0)
    return mean.reshape(kept), var.reshape(kept), m


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _data_parallel_worker(rank: int, world_size: int, port: int, fn, args, results) -> None:
    try:
        torch.set_num_threads(1)
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                                world_size=world_size, timeout=timedelta(seconds=60))
        try:
            out = fn(rank, world_size, *args)
        finally:
            dist.destroy_process_group()
        results.put((rank, True, pickle.dumps(out)))  # plain bytes: no shared-memory tensors
    except BaseException:  # report anything, even SystemExit, to the parent
        results.put((rank, False, traceback.format_exc()))


def run_data_parallel(fn, *args, world_size: int = 2, timeout_s: float = 120.0) -> list:
    """Run ``fn(rank, world_size, *args)`` in ``world_size`` CPU processes joined by
    ``torch.distributed`` (gloo backend, 127.0.0.1, a free port) and return their results by rank.

    ``fn`` must be importable by a fresh process (a function defined at module level, not in a
    notebook) and return something picklable. A worker that raises, dies or runs past ``timeout_s``
    seconds stops all workers and raises ``RuntimeError`` / ``TimeoutError`` with the worker's traceback.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    world_size = check_int("world_size", world_size, minimum=1)
    timeout_s = check_float("timeout_s", timeout_s, minimum=0.0, min_inclusive=False)
    if not (dist.is_available() and dist.is_gloo_available()):
        raise RuntimeError("run_data_parallel needs torch.distributed with the gloo backend")
    ctx = mp.get_context("spawn")
    results_queue = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_data_parallel_worker, args=(r, world_size, port, fn, args, results_queue),
                         daemon=True) for r in range(world_size)]
    for p in procs:
        p.start()
    results: dict[int, object] = {}
    deadline = time.monotonic() + timeout_s
    try:
        while len(results) < world_size:
            missing = sorted(set(range(world_size)) - set(results))
            if time.monotonic() > deadline:
                raise TimeoutError(f"run_data_parallel: workers {missing} did not finish in {timeout_s} s")
            dead = [(r, procs[r].exitcode) for r in missing if procs[r].exitcode not in (None, 0)]
            try:
                rank, ok, payload = results_queue.get(timeout=0.5)
            except queue.Empty:
                if dead:  # checked before waiting, so a result sent just before exiting is not lost
                    raise RuntimeError(f"run_data_parallel: worker {dead[0][0]} exited with code "
                                       f"{dead[0][1]} before reporting a result (see its stderr)") from None
                continue
            if not ok:
                raise RuntimeError(f"run_data_parallel: worker {rank} of {world_size} failed:\n{payload}")
            results[rank] = pickle.loads(payload)
    finally:
        for p in procs:
            p.join(timeout=10 if len(results) == world_size else 0)
            if p.is_alive():
                p.terminate()
                p.join()
        results_queue.close()
    return [results[r] for r in range(world_size)]


def data_parallel_bn_step(rank: int, world_size: int, x_full: torch.Tensor, grad_full: torch.Tensor,
                          weight: torch.Tensor | None = None, bias: torch.Tensor | None = None,
                          momentum: float | None = 0.1) -> dict:
    """One training step of a :class:`BatchNorm` on this worker's share of a full batch, synced and not.

    Worker ``rank`` takes its slice of ``x_full`` (and of the upstream gradient ``grad_full``) along
    the batch axis, runs ``BatchNorm(sync=True)`` and ``BatchNorm(sync=False)`` with γ = ``weight``,
    β = ``bias`` (default 1 and 0) and back-propagates. Returns, under ``"sync"`` and ``"local"``:
    the output ``y``, ``grad_x``, ``grad_weight`` and ``grad_bias`` (this worker's share; their sum
    over workers is the full-batch gradient, as data-parallel training adds them up), and
    ``running_mean`` / ``running_var``. Meant for :func:`run_data_parallel` (Part III, section 10).
    """
    if x_full.shape[0] < world_size:
        raise ValueError(f"x_full has {x_full.shape[0]} examples, fewer than the {world_size} workers")
    x_local = x_full.chunk(world_size, dim=0)[rank]
    g_local = grad_full.chunk(world_size, dim=0)[rank]
    out = {}
    for name, sync in (("sync", True), ("local", False)):
        layer = BatchNorm(x_full.shape[1], momentum=momentum, sync=sync, dtype=x_full.dtype)
        with torch.no_grad():
            if weight is not None:
                layer.weight.copy_(weight)
            if bias is not None:
                layer.bias.copy_(bias)
        x = x_local.clone().requires_grad_(True)
        y = layer(x)
        y.backward(g_local)
        out[name] = {"y": y.detach(), "grad_x": x.grad, "grad_weight": layer.weight.grad,
                     "grad_bias": layer.bias.grad, "running_mean": layer.running_mean.clone(),
                     "running_var": layer.running_var.clone()}
    return out


# --------------------------------------------------------------------------------------------------
# Algorithm 2 for a whole network (Part III, section 4)

_BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, BatchNorm)


@torch.no_grad()
def recompute_population_stats(model: nn.Module, X: torch.Tensor, batch_size: int) -> int:
    """Replace the running statistics of every batch-norm layer of ``model`` by Algorithm 2's
    population statistics over ``X`` (Part III, section 4).

    The weights stay fixed; ``X`` is cut into consecutive mini-batches of ``batch_size`` (a last,
    smaller batch is dropped, since Algorithm 2 averages batches of one size m), each layer's
    statistics are reset and averaged with equal weights (PyTorch's ``momentum=None``), giving
    E[x] = E_B[μ_B] and Var[x] = m/(m − 1)·E_B[σ²_B]. The layers' momenta and the model's mode are
    restored afterwards; ``X`` is moved to the model's device. Returns the number of batches used.
    """
    batch_size = check_int("batch_size", batch_size, minimum=2)
    n_batches = X.shape[0] // batch_size
    if n_batches < 1:
        raise ValueError(f"X has {X.shape[0]} rows, fewer than one batch of {batch_size}")
    layers = [m for m in model.modules() if isinstance(m, _BN_TYPES) and m.track_running_stats]
    if not layers:
        raise ValueError("model has no batch-norm layer with running statistics")
    momenta = [layer.momentum for layer in layers]
    was_training = model.training
    try:
        for layer in layers:
            layer.reset_running_stats()
            layer.momentum = None
        model.train()
        X = X.to(module_device(model, X.device))
        for k in range(n_batches):
            model(X[k * batch_size:(k + 1) * batch_size])
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
        model.train(was_training)
    return n_batches
