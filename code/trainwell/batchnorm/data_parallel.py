"""One training step of batch norm on each data-parallel worker, synchronized and not
(section `bn-beyond`): the function :func:`~trainwell.batchnorm.distributed.run_data_parallel` runs in
every worker to compare synchronized with per-worker statistics."""
from __future__ import annotations

import torch

from .._validate import check_int, check_tensor
from .layers import BatchNorm


def data_parallel_bn_step(rank: int, world_size: int, x_full: torch.Tensor, grad_full: torch.Tensor,
                          weight: torch.Tensor | None = None, bias: torch.Tensor | None = None,
                          momentum: float | None = 0.1) -> dict:
    """One training step of a :class:`BatchNorm` on this worker's share of a full batch, synced and not.

    Worker ``rank`` takes its slice of ``x_full`` (and of the upstream gradient ``grad_full``) along
    the batch axis, runs ``BatchNorm(sync=True)`` and ``BatchNorm(sync=False)`` with γ = ``weight``,
    β = ``bias`` (default 1 and 0) and back-propagates. Returns, under ``"sync"`` and ``"local"``:
    the output ``y``, ``grad_x``, ``grad_weight`` and ``grad_bias`` (this worker's share; their sum
    over workers is the full-batch gradient, as data-parallel training adds them up), and
    ``running_mean`` / ``running_var``. Meant for :func:`~trainwell.batchnorm.distributed.run_data_parallel`.
    The batch is split into ``world_size`` parts whose sizes differ by at most one.
    """
    world_size = check_int("world_size", world_size, minimum=1)
    rank = check_int("rank", rank, minimum=0, maximum=world_size - 1)
    check_tensor("x_full", x_full, min_ndim=2, floating=True, nonempty=True)
    check_tensor("grad_full", grad_full, shape=tuple(x_full.shape))
    if grad_full.dtype != x_full.dtype:
        raise TypeError(f"grad_full is {grad_full.dtype} but x_full is {x_full.dtype}; give both one dtype")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None:
            check_tensor(name, p, shape=(x_full.shape[1],), floating=True)
    if x_full.shape[0] < world_size:
        raise ValueError(f"x_full has {x_full.shape[0]} examples, fewer than the {world_size} workers")
    x_local = x_full.tensor_split(world_size, dim=0)[rank]
    g_local = grad_full.tensor_split(world_size, dim=0)[rank]
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

