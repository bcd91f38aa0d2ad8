"""Algorithm 1 of Ioffe & Szegedy (2015), the batch normalizing transform, and its backward pass
(section `bn-algorithm1`).

Notation: a mini-batch B = {x_1, ..., x_m} of one feature, its mean μ_B and biased variance σ²_B,
the normalized value x̂_i, the learned scale γ and shift β, and the constant ε.
:func:`batch_norm_forward` is the transform, :func:`batch_norm_backward` the paper's six formulas,
:func:`batch_norm_backward_compact` the same gradient in closed form, and :class:`BatchNormFunction`
joins them into an autograd ``Function``; :func:`normalize` applies it over any axes.
"""
from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import torch

from .._validate import check_float, check_int


def _reduction_dims(x: torch.Tensor, dims, name: str = "x") -> tuple[int, ...]:
    """``dims`` as a sorted tuple of non-negative axes of ``x`` (an int is one axis); ``name`` is what
    the error messages call ``x``."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {type(x).__name__}"
                        + (f" of dtype {x.dtype}" if isinstance(x, torch.Tensor) else ""))
    if x.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}); there is nothing to normalize")
    is_axis = isinstance(dims, numbers.Integral) and not isinstance(dims, bool)
    axes = (dims,) if is_axis else dims
    if not isinstance(axes, (tuple, list)) or len(axes) == 0:
        raise ValueError(f"Invalid dims: {dims!r} (must be a non-empty tuple of axes of {name})")
    out = []
    for d in axes:
        check_int("dims entry", d)
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


def _check_backward_args(grad_y, cache, gamma) -> None:
    """The backward helpers' arguments agree with the forward pass that made ``cache``: ``grad_y`` has
    exactly the shape, dtype and device of x (a smaller gradient would broadcast into wrong sums)."""
    if not isinstance(cache, BNCache):
        raise TypeError(f"cache must be the BNCache returned by batch_norm_forward, got "
                        f"{type(cache).__name__}")
    x_hat = cache.x_hat
    if not isinstance(grad_y, torch.Tensor):
        raise TypeError(f"grad_y must be a tensor, got {type(grad_y).__name__}")
    if grad_y.shape != x_hat.shape:
        raise ValueError(f"grad_y must have the shape of the forward's input {tuple(x_hat.shape)}, got "
                         f"{tuple(grad_y.shape)}; nothing is broadcast")
    if grad_y.dtype != x_hat.dtype or grad_y.device != x_hat.device:
        raise TypeError(f"grad_y is {grad_y.dtype} on {grad_y.device} but the forward's input was "
                        f"{x_hat.dtype} on {x_hat.device}")
    _check_per_feature("gamma", gamma, x_hat, cache.dims)


def _x_hat_and_inv_std(x: torch.Tensor, dims: tuple[int, ...], m: int, eps: float):
    """x̂ and 1/√(σ²_B + ε) by the arithmetic of :func:`batch_norm_forward`, out of place, so that
    autograd can differentiate them with respect to x (used for double backward)."""
    x_centered = x - x.sum(dim=dims, keepdim=True) / m
    inv_std = torch.rsqrt((x_centered * x_centered).sum(dim=dims, keepdim=True) / m + eps)
    return x_centered * inv_std, inv_std


def _scratch(tensor: torch.Tensor) -> dict:
    """``out=tensor`` for the last operation of a pass, so its result reuses a temporary's memory (one
    allocation fewer per pass); autograd cannot record ``out=``, so not while gradients are recorded
    (double backward, or the functions called directly on tensors that require gradients)."""
    return {} if torch.is_grad_enabled() else {"out": tensor}


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
    """Algorithm 1, the batch normalizing transform (section `bn-algorithm1`).

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
    squares = x_centered * x_centered                   # the one scratch tensor of the pass
    var = total(squares) / m                            # σ²_B (two passes: no cancellation)
    inv_std = torch.rsqrt(var + eps)                    # 1/√(σ²_B + ε)
    x_hat = x_centered.mul_(inv_std)                    # x̂_i (in place: x − μ_B is not kept)
    out = _scratch(squares)                             # y is written over the scratch tensor
    if gamma is None:
        y = x_hat if beta is None else torch.add(x_hat, beta.reshape(stat), **out)
    else:                                               # γ x̂_i + β
        y = torch.mul(x_hat, gamma.reshape(stat), **out) if beta is None else \
            torch.addcmul(beta.reshape(stat), x_hat, gamma.reshape(stat), **out)
    return y, BNCache(mean, var, x_hat, inv_std, dims, m)


def batch_norm_backward(grad_y: torch.Tensor, cache: BNCache, gamma: torch.Tensor | None = None):
    """The backward pass of Algorithm 1 by the paper's six formulas (section `bn-algorithm1`).

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
    means γ = 1. ``grad_y`` must have exactly the shape of x.
    """
    _check_backward_args(grad_y, cache, gamma)
    dims, m, x_hat, inv_std = cache.dims, cache.m, cache.x_hat, cache.inv_std
    kept = _kept_shape(grad_y.shape, dims)
    gamma_b = 1.0 if gamma is None else gamma.reshape(inv_std.shape)  # γ, broadcastable against x
    std = 1.0 / inv_std                                               # √(σ²_B + ε)

    def total(t):  # Σ_i over the m values of each feature
        return t.sum(dim=dims, keepdim=True)

    d_beta = total(grad_y)                                  # (6)
    scratch = grad_y * x_hat                                # the one full-size temporary
    d_gamma = total(scratch)                                # (5)
    sum_d_xhat = gamma_b * d_beta                           # (1) summed: Σ ∂ℓ/∂x̂_i
    sum_d_xhat_centered = gamma_b * d_gamma * std           # (1) summed: Σ ∂ℓ/∂x̂_i (x_i − μ_B)
    sum_centered = 0.0                                      # Σ (x_i − μ_B)
    d_var = sum_d_xhat_centered * (-0.5 * inv_std ** 3)     # (2)
    d_mean = sum_d_xhat * (-inv_std) + d_var * (-2.0 * sum_centered / m)  # (3)
    # (4), written over the scratch tensor: ∂ℓ/∂μ_B / m + ∂ℓ/∂x̂_i / √(σ²_B + ε) + ∂ℓ/∂σ²_B · 2 (x_i − μ_B) / m
    d_x = torch.addcmul(d_mean / m, grad_y, gamma_b * inv_std, **_scratch(scratch))
    d_x.addcmul_(x_hat, d_var * (2.0 * std / m))
    return d_x, d_gamma.reshape(kept), d_beta.reshape(kept)


def batch_norm_backward_compact(grad_y: torch.Tensor, cache: BNCache, gamma: torch.Tensor | None = None):
    """The same gradient as :func:`batch_norm_backward`, in closed form (section `bn-algorithm1`).

    Substituting ∂ℓ/∂σ²_B and ∂ℓ/∂μ_B into ∂ℓ/∂x_i gives::

        ∂ℓ/∂x_i = γ / (m √(σ²_B + ε)) · (m ∂ℓ/∂y_i − Σ_j ∂ℓ/∂y_j − x̂_i Σ_j ∂ℓ/∂y_j x̂_j)

    i.e. the upstream gradient with its mean and its component along x̂ removed, then scaled.
    Returns ``(∂ℓ/∂x, ∂ℓ/∂γ, ∂ℓ/∂β)``; ``grad_y`` must have exactly the shape of x.
    """
    _check_backward_args(grad_y, cache, gamma)
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

    Forward: :func:`batch_norm_forward` (section `bn-algorithm1`). Backward: :func:`batch_norm_backward`
    (section `bn-algorithm1`), written out by hand; autograd never sees the forward's arithmetic. The
    batch statistics μ_B and σ²_B (biased, with the shape of the kept axes) are returned too, for
    running averages; they are not differentiable. ``gamma`` / ``beta`` may be ``None`` (no affine
    part).

    Higher derivatives: the six formulas are ordinary tensor operations, so when a gradient is taken
    with ``create_graph=True`` the backward recomputes x̂ and 1/√(σ²_B + ε) from x (which it keeps,
    as PyTorch's batch norm does) and autograd differentiates the formulas themselves.
    """

    @staticmethod
    def forward(ctx, x, gamma, beta, dims, eps):
        y, cache = batch_norm_forward(x, gamma, beta, dims, eps)
        ctx.save_for_backward(x, cache.x_hat, cache.inv_std, gamma)
        ctx.dims, ctx.m, ctx.eps = cache.dims, cache.m, eps
        kept = _kept_shape(x.shape, cache.dims)
        mean, var = cache.mean.reshape(kept), cache.var.reshape(kept)
        ctx.mark_non_differentiable(mean, var)
        return y, mean, var

    @staticmethod
    def backward(ctx, grad_y, _grad_mean, _grad_var):
        x, x_hat, inv_std, gamma = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: the gradient itself will be differentiated
            x_hat, inv_std = _x_hat_and_inv_std(x, ctx.dims, ctx.m, ctx.eps)
        cache = BNCache(None, None, x_hat, inv_std, ctx.dims, ctx.m)
        d_x, d_gamma, d_beta = batch_norm_backward(grad_y, cache, gamma)
        return (d_x if ctx.needs_input_grad[0] else None,
                d_gamma if ctx.needs_input_grad[1] else None,
                d_beta if ctx.needs_input_grad[2] else None, None, None)


def normalize(x: torch.Tensor, dims, gamma: torch.Tensor | None = None, beta: torch.Tensor | None = None,
              eps: float = 1e-5) -> torch.Tensor:
    """y = γ x̂ + β with x̂ normalized over the axes ``dims`` (Algorithm 1 through
    :class:`BatchNormFunction`; sections `bn-algorithm1` and `bn-beyond`). γ, β have the shape of
    the kept axes."""
    return BatchNormFunction.apply(x, gamma, beta, dims, eps)[0]

