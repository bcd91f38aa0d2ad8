"""Batch normalization as a layer with PyTorch's semantics, parameters and buffers
(sections `bn-inference` and `bn-conv-lr`): :class:`BatchNorm`, :class:`BatchNorm1d`,
:class:`BatchNorm2d`.
"""
from __future__ import annotations

import math

import torch
import torch.distributed as dist
from torch import nn

from .._validate import check_bool, check_float, check_int
from .algorithm1 import BatchNormFunction, _check_eps
from .distributed import sync_batch_stats
from .inference import _scale_shift
from .norms import _FLOAT_DTYPES, _REDUCED_DTYPES, _affine


def _check_factory_kwargs(device, dtype) -> None:
    if dtype is not None and dtype not in _FLOAT_DTYPES:
        allowed = ", ".join(str(d) for d in _FLOAT_DTYPES)
        raise TypeError(f"Invalid dtype: {dtype!r} (allowed: None, {allowed})")
    if device is not None:
        try:
            torch.device(device)
        except (RuntimeError, TypeError):
            raise ValueError(f"Invalid device: {device!r} (allowed: None, a torch.device, or a string "
                             "such as 'cpu' or 'cuda:0')") from None


class BatchNorm(nn.Module):
    """Batch normalization over the channel axis 1 of (N, C), (N, C, L), (N, C, H, W), ... inputs,
    with the semantics, parameters and buffers of ``nn.BatchNorm1d`` / ``nn.BatchNorm2d``
    (sections `bn-inference` and `bn-conv-lr`).

    Training (or evaluation without running statistics): Algorithm 1 per channel over every axis
    but 1 (for images the effective batch is N·H·W), through :class:`BatchNormFunction`. With
    ``track_running_stats=True`` each training step also updates::

        running_mean ← (1 − momentum) · running_mean + momentum · μ_B
        running_var  ← (1 − momentum) · running_var  + momentum · m/(m − 1) · σ²_B   (unbiased)

    and ``momentum=None`` uses the factor 1/num_batches_tracked instead, a cumulative average: after
    a pass over k batches the running statistics are E[x] and Var[x] of Algorithm 2 exactly.
    (Keras' ``momentum=0.99`` is the weight on the *old* value, i.e. PyTorch's 0.01.)

    Evaluation with running statistics: y = γ (x − E[x]) / √(Var[x] + ε) + β, an affine map
    (:func:`inference_affine`). As in PyTorch, the choice depends on the buffers, not on the flag:
    switching ``track_running_stats`` off after training stops the updates, but eval mode still
    uses the running statistics the layer holds.

    The constructor takes PyTorch's arguments with their meaning (``device``, ``dtype`` and the
    keyword ``bias=False``, which keeps γ but drops β). Inputs follow PyTorch's rules: float16 and
    bfloat16 inputs are normalized in float32 and may meet float32 parameters; an empty batch gives
    an empty output (a training step still counts it in ``num_batches_tracked``).

    ``sync=True`` computes μ_B and σ²_B over the whole batch spread across the data-parallel workers
    of ``process_group`` (:func:`sync_batch_stats`) whenever ``torch.distributed`` is initialized
    with more than one worker; otherwise it behaves like ``sync=False`` (section `bn-beyond`).
    ``weight`` (γ), ``bias`` (β), ``running_mean``, ``running_var`` and ``num_batches_tracked``
    are named as in PyTorch, so ``state_dict()`` loads into ``nn.BatchNorm1d/2d`` and back (also
    one saved by a PyTorch older than ``num_batches_tracked``).

    Deliberate differences: ``eps`` must be > 0 and ``momentum`` in [0, 1] (PyTorch accepts any
    number and fails, or drifts, later), and a failing forward call changes no buffer.
    """

    #: Marks the layer as batch norm for :func:`trainwell.models.is_batch_norm`.
    normalizes_over_batch = True
    #: Version 2 of PyTorch's batch-norm state added ``num_batches_tracked``; see ``_load_from_state_dict``.
    _version = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None, dtype=None, *,
                 bias: bool = True, sync: bool = False, process_group=None):
        super().__init__()
        num_features = check_int("num_features", num_features, minimum=1)
        _check_eps(eps)
        if momentum is not None:
            check_float("momentum", momentum, minimum=0.0, maximum=1.0)
        affine = check_bool("affine", affine)
        track_running_stats = check_bool("track_running_stats", track_running_stats)
        bias = check_bool("bias", bias)
        sync = check_bool("sync", sync)
        _check_factory_kwargs(device, dtype)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats, self.sync = affine, track_running_stats, sync
        self.process_group = process_group
        kw = {"device": device, "dtype": dtype}
        if self.affine:
            self.weight = nn.Parameter(torch.ones(num_features, **kw))
            if bias:
                self.bias = nn.Parameter(torch.zeros(num_features, **kw))
            else:
                self.register_parameter("bias", None)
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
            if self.bias is not None:
                nn.init.zeros_(self.bias)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
                + (", sync=True" if self.sync else ""))

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        # A state saved before num_batches_tracked existed (version < 2, or no version at all) loads as
        # in PyTorch: the layer keeps its own count (0 if it has none).
        key = prefix + "num_batches_tracked"
        version = local_metadata.get("version", None)
        if (version is None or version < 2) and self.track_running_stats and key not in state_dict:
            own = self.num_batches_tracked
            keep = own is not None and own.device != torch.device("meta")
            state_dict[key] = own if keep else torch.tensor(0, dtype=torch.long)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.ndim < 2:
            raise ValueError(f"expected at least 2D input (N, C, ...) (got {x.ndim}D input)")

    def _sync_active(self) -> bool:
        return (self.sync and dist.is_available() and dist.is_initialized()
                and dist.get_world_size(self.process_group) > 1)

    def _check_input(self, x, running_mean, running_var) -> None:
        """Everything PyTorch's batch norm rejects, as a clear error, before any buffer changes: the
        layout, the channel count, a floating-point input, and parameters (and the running statistics
        this call uses) of one dtype, the input's (or float32 for a float16/bfloat16 input), on its
        device. Cheap: reads shapes and dtypes only, never the values."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"input must be a torch.Tensor, got {type(x).__name__}")
        self._check_input_dim(x)
        if x.shape[1] != self.num_features:
            raise ValueError(f"expected {self.num_features} channels (num_features) in dim 1, got "
                             f"{x.shape[1]} (input shape {tuple(x.shape)})")
        if x.dtype not in _FLOAT_DTYPES:
            raise TypeError(f"input must be a floating-point tensor (float16, bfloat16, float32 or float64), "
                            f"got dtype {x.dtype}")
        if (running_mean is None) != (running_var is None):
            raise ValueError("running_mean and running_var must both be tensors or both be None, got "
                             f"{type(running_mean).__name__} and {type(running_var).__name__}")
        given = {name: t for name, t in (("weight", self.weight), ("bias", self.bias),
                                         ("running_mean", running_mean), ("running_var", running_var))
                 if t is not None}
        for name, t in given.items():
            if t.device != x.device:
                raise TypeError(f"{name} is on {t.device} but the input is on {x.device}; move one of them "
                                f"(layer.to(x.device))")
            if t.dtype != x.dtype and not (x.dtype in _REDUCED_DTYPES and t.dtype == torch.float32):
                raise TypeError(f"{name} is {t.dtype} but the input is {x.dtype}; convert one of them (e.g. "
                                f"layer.to({x.dtype})); only a float16 or bfloat16 input may meet float32 "
                                "parameters")
        if len({t.dtype for t in given.values()}) > 1:
            found = ", ".join(f"{name} {t.dtype}" for name, t in given.items())
            raise TypeError(f"the layer's parameters and running statistics must share one dtype, got "
                            f"{found}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # PyTorch's rules: batch statistics in training, and in eval when the layer holds no running
        # statistics; the running statistics take part only in eval or when they are tracked.
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        buffers_take_part = not self.training or self.track_running_stats
        running_mean = self.running_mean if buffers_take_part else None
        running_var = self.running_var if buffers_take_part else None
        self._check_input(x, running_mean, running_var)

        stat = (1, -1) + (1,) * (x.ndim - 2)
        upcast = x.dtype in _REDUCED_DTYPES  # computed in float32, returned in x's dtype
        xc = x.float() if upcast else x
        weight = self.weight.float() if upcast and self.weight is not None else self.weight
        bias = self.bias.float() if upcast and self.bias is not None else self.bias
        if not use_batch_stats:  # Algorithm 2: a fixed affine map
            scale, shift = _scale_shift(weight, bias, running_mean.to(xc.dtype), running_var.to(xc.dtype),
                                        self.eps)
            y = (xc * scale.reshape(stat)).add_(shift.reshape(stat))
            return y.to(x.dtype) if upcast else y

        dims = (0,) + tuple(range(2, x.ndim))
        mean = var = None
        if self._sync_active():
            mean, var, m = sync_batch_stats(xc, dims, self.process_group)
            _check_more_than_one(m, x)
            x_hat = (xc - mean.reshape(stat)) * torch.rsqrt(var.reshape(stat) + self.eps)
            y = _affine(x_hat, weight, bias, stat)
            mean, var = mean.detach(), var.detach()
        elif x.numel() == 0:  # an empty batch: an empty output that still depends on γ and β
            m = 0
            y = _affine(xc.clone(), weight, bias, stat)
        else:
            m = x.shape[0] * math.prod(x.shape[2:])
            _check_more_than_one(m, x)
            y, mean, var = BatchNormFunction.apply(xc, weight, bias, dims, self.eps)
        if self.training and self.track_running_stats:
            self._update_running_stats(mean, var, m, running_mean, running_var)
        return y.to(x.dtype) if upcast else y

    @torch.no_grad()
    def _update_running_stats(self, mean, var, m: int, running_mean, running_var) -> None:
        """Count the batch and fold its statistics into the running ones, with PyTorch's factor:
        ``momentum``, or 1/num_batches_tracked for ``momentum=None`` (0 when there is no counter)."""
        factor = 0.0 if self.momentum is None else self.momentum
        if self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / int(self.num_batches_tracked)
        if running_mean is None or mean is None:  # nothing tracked, or an empty batch
            return
        unbiased_var = var * (m / (m - 1))
        running_mean.mul_(1.0 - factor).add_(mean.to(running_mean.dtype), alpha=factor)
        running_var.mul_(1.0 - factor).add_(unbiased_var.to(running_var.dtype), alpha=factor)


def _check_more_than_one(m: int, x: torch.Tensor) -> None:
    if m == 1:
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
