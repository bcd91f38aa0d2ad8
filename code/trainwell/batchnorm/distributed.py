"""Synchronized batch norm across data-parallel workers (section `bn-beyond`): batch statistics
summed over the workers with one differentiable ``all_reduce`` (:func:`sync_batch_stats`), and a
small launcher of CPU workers joined by ``torch.distributed`` (:func:`run_data_parallel`).
"""
from __future__ import annotations

import math
import pickle
import queue
import socket
import sys
import time
import traceback
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from .._validate import check_float, check_int
from .algorithm1 import _kept_shape, _reduction_dims


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
    dims = _reduction_dims(x, dims)
    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError("sync_batch_stats needs torch.distributed to be initialized "
                           "(run it inside run_data_parallel or after dist.init_process_group)")
    kept = _kept_shape(x.shape, dims)
    k = math.prod(kept)
    count = torch.full((1,), x.numel() // k, dtype=x.dtype, device=x.device)
    local = torch.cat([x.sum(dim=dims).reshape(-1), (x * x).sum(dim=dims).reshape(-1), count])
    total = _AllReduceSum.apply(local, group)
    m = int(total[-1].item())
    mean = total[:k] / m
    var = (total[k:2 * k] / m - mean * mean).clamp_min(0.0)
    return mean.reshape(kept), var.reshape(kept), m


def _check_sendable(fn, args) -> None:
    """``fn`` and ``args`` reach fresh worker processes: both pickle, and ``fn`` is not defined in an
    interactive session (``__main__`` without a file), which a spawned process cannot import."""
    main = sys.modules.get("__main__")
    name = getattr(fn, "__qualname__", type(fn).__name__)
    if getattr(fn, "__module__", None) == "__main__" and not getattr(main, "__file__", None):
        raise TypeError(f"fn must be importable by a fresh process, got {name} defined in an interactive "
                        "session (a notebook); define it in a module and import it")
    for what, obj in (("fn", fn), ("args", args)):
        try:
            pickle.dumps(obj)
        except Exception as exc:  # what pickle raises varies: PicklingError, AttributeError, TypeError
            raise TypeError(f"{what} must be picklable to reach the worker processes ({name}: "
                            f"{type(exc).__name__}: {exc}); use a module-level function and plain data"
                            ) from None


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
    _check_sendable(fn, args)
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

