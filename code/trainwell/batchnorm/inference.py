"""Algorithm 2, inference with population statistics (section `bn-inference`):
:func:`population_stats`, :func:`inference_affine`, and folding an eval-mode batch norm into the
layer before it (:func:`fold_into_linear`, :func:`fold_into_conv2d`). Re-estimating the statistics
of a whole trained network is :func:`trainwell.models.recompute_population_stats`.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from .._validate import check_tensor
from ..models import is_batch_norm
from .algorithm1 import _check_eps, _kept_shape, _reduction_dims
from .norms import _REDUCED_DTYPES


def _check_batch(k: int, x, first) -> None:
    """Batch k of :func:`population_stats` is a non-empty, finite floating-point tensor like batch 0."""
    name = f"batches[{k}]"
    check_tensor(name, x, floating=True, nonempty=True)
    if first is not None and (x.dtype != first.dtype or x.device != first.device):
        raise TypeError(f"{name} is {x.dtype} on {x.device} but batches[0] is {first.dtype} on "
                        f"{first.device}; give every batch one dtype and device")
    check_tensor(name, x, finite=True)


@torch.no_grad()
def population_stats(batches, dims=(0,)) -> tuple[torch.Tensor, torch.Tensor]:
    """Population statistics of Algorithm 2 from training mini-batches of one layer's input::

        E[x]   = E_B[μ_B]
        Var[x] = m/(m − 1) · E_B[σ²_B]        (unbiased; every batch must hold the same m)

    ``batches`` is an iterable of tensors (a list, a generator; not one tensor, whose rows would be
    taken for batches); ``dims`` are the reduced axes (``(0,)`` for (N, C), ``(0, 2, 3)`` for
    images). Every batch is a finite floating-point tensor of one dtype and device. Returns
    ``(E[x], Var[x])`` with the shape of the kept axes. These equal the running statistics of
    ``nn.BatchNorm1d(momentum=None)`` after one pass over the same batches.
    """
    if isinstance(batches, torch.Tensor):
        raise TypeError(f"batches must be an iterable of mini-batch tensors, got one tensor of shape "
                        f"{tuple(batches.shape)}, whose rows would be taken for batches; pass [x] for a "
                        "single batch, or list(x.split(m)) for batches of m rows")
    if not isinstance(batches, Iterable):
        raise TypeError(f"batches must be an iterable of mini-batch tensors, got {type(batches).__name__}")
    means, variances, m_seen, kept_seen, first = [], [], None, None, None
    for k, x in enumerate(batches):
        _check_batch(k, x, first)
        axes = _reduction_dims(x, dims, name=f"batches[{k}]")
        kept = _kept_shape(x.shape, axes)
        m = x.numel() // math.prod(kept)
        if m_seen is None:
            m_seen, kept_seen, first = m, kept, x
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

    ``gamma`` / ``beta`` ``None`` mean γ = 1 / β = 0. All given tensors have one shape, dtype and
    device; they must be finite, and ``var`` >= 0 (a negative variance would give NaN).
    """
    eps = _check_eps(eps)
    _check_affine_args(gamma, beta, mean, var)
    return _scale_shift(gamma, beta, mean, var, eps)


def _check_affine_args(gamma, beta, mean, var) -> None:
    check_tensor("mean", mean, floating=True)
    for name, t in (("var", var), ("gamma", gamma), ("beta", beta)):
        if t is None and name in ("gamma", "beta"):
            continue
        check_tensor(name, t)
        if t.shape != mean.shape:
            raise ValueError(f"{name} must have the shape of mean {tuple(mean.shape)}, got {tuple(t.shape)}")
        if t.dtype != mean.dtype or t.device != mean.device:
            raise TypeError(f"{name} is {t.dtype} on {t.device} but mean is {mean.dtype} on {mean.device}; "
                            "convert one of them")
    for name, t in (("mean", mean), ("var", var), ("gamma", gamma), ("beta", beta)):
        if t is not None:
            check_tensor(name, t, finite=True)
    if var.numel() and bool((var < 0).any()):
        raise ValueError(f"var holds {int((var < 0).sum())} negative value(s) (min {var.min().item():.3g}); "
                         "a variance is >= 0")


def _scale_shift(gamma, beta, mean, var, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The arithmetic of :func:`inference_affine` without its checks (the eval-mode layer's path)."""
    scale = torch.rsqrt(var + eps)
    if gamma is not None:
        scale = gamma * scale
    shift = -mean * scale
    if beta is not None:
        shift = beta + shift
    return scale, shift


def _bn_inference_affine(bn, n_out: int, layer_name: str, layer_weight: torch.Tensor):
    """(scale, shift) of an eval-mode batch norm (ours or PyTorch's) after a layer with n_out outputs
    whose weight is ``layer_weight``; the pair must be a network that runs (one device, and dtypes
    that PyTorch's batch norm accepts together)."""
    if not is_batch_norm(bn):
        raise TypeError(f"bn must be a batch-norm layer (trainwell's BatchNorm or nn.BatchNorm1d/2d/3d), "
                        f"got {type(bn).__name__}")
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("bn has no running statistics (track_running_stats=False), so its eval-mode "
                         "output is not a fixed affine map and cannot be folded")
    if bn.num_features != n_out:
        raise ValueError(f"bn.num_features = {bn.num_features} does not match the {n_out} outputs of "
                         f"the {layer_name}")
    stats = bn.running_mean
    if stats.device != layer_weight.device:
        raise TypeError(f"bn is on {stats.device} but the {layer_name} is on {layer_weight.device}; move one "
                        "of them")
    reduced = layer_weight.dtype in _REDUCED_DTYPES and stats.dtype == torch.float32
    if stats.dtype != layer_weight.dtype and not reduced:
        raise TypeError(f"bn is {stats.dtype} but the {layer_name} is {layer_weight.dtype}, a pair that does "
                        f"not run; convert one of them (e.g. bn.to({layer_weight.dtype}))")
    for name in ("running_mean", "running_var"):
        check_tensor(f"bn.{name}", getattr(bn, name), finite=True)
    if bool((bn.running_var < 0).any()):
        raise ValueError(f"bn.running_var holds {int((bn.running_var < 0).sum())} negative value(s); a "
                         "variance is >= 0")
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
    scale, shift = _bn_inference_affine(bn, linear.out_features, "linear layer", linear.weight)
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
    scale, shift = _bn_inference_affine(bn, conv.out_channels, "convolution", conv.weight)
    w = conv.weight
    folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                       padding=conv.padding, dilation=conv.dilation, groups=conv.groups, bias=True,
                       padding_mode=conv.padding_mode, device=w.device, dtype=w.dtype)
    b = conv.bias if conv.bias is not None else torch.zeros_like(shift)
    folded.weight.copy_(w * scale.to(w.dtype)[:, None, None, None])
    folded.bias.copy_(b * scale + shift)
    return folded

