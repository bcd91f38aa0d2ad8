"""Algorithm 2, inference with population statistics (section `bn-inference`):
:func:`population_stats`, :func:`inference_affine`, and folding an eval-mode batch norm into the
layer before it (:func:`fold_into_linear`, :func:`fold_into_conv2d`). Re-estimating the statistics
of a whole trained network is :func:`trainwell.models.recompute_population_stats`.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..models import is_batch_norm
from .algorithm1 import _check_eps, _kept_shape, _reduction_dims


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
    """Batch norm at inference as one affine map y = scale · x + shift (Algorithm 2; section `bn-inference`)::

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
    if not is_batch_norm(bn):
        raise TypeError(f"bn must be a batch-norm layer (trainwell's BatchNorm or nn.BatchNorm1d/2d/3d), "
                        f"got {type(bn).__name__}")
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
    (section `bn-inference`): with y = scale · x + shift from :func:`inference_affine`,
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
    (sections `bn-inference` and `bn-conv-lr`): each output channel's filter is multiplied by its scale, and
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

