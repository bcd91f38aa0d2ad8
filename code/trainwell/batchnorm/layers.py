"""Batch normalization as a layer with PyTorch's semantics, parameters and buffers
(sections `bn-inference` and `bn-conv-lr`): :class:`BatchNorm`, :class:`BatchNorm1d`,
:class:`BatchNorm2d`.
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

from .._validate import check_float, check_int
from .algorithm1 import BatchNormFunction, _check_eps
from .distributed import sync_batch_stats
from .inference import inference_affine
from .norms import _affine


class BatchNorm(nn.Module):
    """Batch normalization over the channel axis 1 of (N, C), (N, C, L), (N, C, H, W), ... inputs,
    with the semantics, parameters and buffers of ``nn.BatchNorm1d`` / ``nn.BatchNorm2d``
    (sections `bn-inference` and `bn-conv-lr`).

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
    with more than one worker; otherwise it behaves like ``sync=False`` (section `bn-beyond`).
    ``weight`` (γ), ``bias`` (β), ``running_mean``, ``running_var`` and ``num_batches_tracked``
    are named as in PyTorch, so ``state_dict()`` loads into ``nn.BatchNorm1d/2d`` and back.
    """

    #: Marks the layer as batch norm for :func:`trainwell.models.is_batch_norm`.
    normalizes_over_batch = True

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
    """:class:`BatchNorm` for (N, C, H, W) inputs, like ``nn.BatchNorm2d`` (section `bn-conv-lr`)."""

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.ndim != 4:
            raise ValueError(f"expected 4D input (got {x.ndim}D input)")

