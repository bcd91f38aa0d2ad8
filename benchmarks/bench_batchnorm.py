"""Time forward + backward of the from-scratch BatchNormFunction against F.batch_norm.

    python benchmarks/bench_batchnorm.py [--repeats 7] [--min-run-time 0.5] [--threads N] [--device cpu]

Both run in the same process on the same inputs, after a warm-up of both, in rounds that alternate
which one goes first: on CPU, glibc's malloc returns freed memory to the system depending on what
was allocated before, and the page faults that follow can dominate a call (in a virtual machine
more than on bare metal). Each time is the median over ``--repeats`` rounds of
torch.utils.benchmark.Timer.blocked_autorange's median time per call; "faults" is the number of
minor page faults per call measured right after (CPU only). Ours / PyTorch: lower is better.

A third column times the same formulas written as plain tensor operations that autograd
differentiates ("naive"): the yardstick for how much the hand-written backward gains or loses.
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils import benchmark

if importlib.util.find_spec("trainwell") is None:  # not installed: use the checkout's sources
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "code"))
from trainwell import batchnorm  # noqa: E402

SHAPES = {"(N, C) = (256, 1024)": (256, 1024), "(N, C, H, W) = (64, 64, 32, 32)": (64, 64, 32, 32)}


def ours(x, weight, bias, grad):
    dims = (0,) + tuple(range(2, x.ndim))
    y = batchnorm.BatchNormFunction.apply(x, weight, bias, dims, 1e-5)[0]
    torch.autograd.backward(y, grad)


def naive(x, weight, bias, grad):
    dims = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    centered = x - x.mean(dims, keepdim=True)
    var = (centered * centered).mean(dims, keepdim=True)
    y = centered * torch.rsqrt(var + 1e-5) * weight.view(shape) + bias.view(shape)
    torch.autograd.backward(y, grad)


def pytorch(x, weight, bias, grad):
    y = F.batch_norm(x, None, None, weight, bias, training=True, eps=1e-5)
    torch.autograd.backward(y, grad)


def page_faults_per_call(fn: Callable, inputs: dict, calls: int = 20) -> str:
    try:
        import resource
    except ImportError:  # not on this platform
        return "-"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        fn(**inputs)
    return f"{(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls:.0f}"


def time_all(inputs: dict, repeats: int, min_run_time: float) -> dict:
    """Median milliseconds per call of ``ours``, ``naive`` and ``pytorch``, timed in rounds that
    alternate the order."""
    order = (ours, naive, pytorch)
    timers = {fn: benchmark.Timer(stmt="fn(x, weight, bias, grad)", globals={"fn": fn, **inputs})
              for fn in order}
    for _ in range(2):  # warm-up: let the CPU allocator settle into its steady state for all
        for timer in timers.values():
            timer.blocked_autorange(min_run_time=min_run_time)
    times = {fn: [] for fn in timers}
    for r in range(repeats):
        for fn in order if r % 2 == 0 else order[::-1]:
            times[fn].append(timers[fn].blocked_autorange(min_run_time=min_run_time).median)
    return {fn: 1e3 * statistics.median(t) for fn, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7, help="timings per cell; the median is shown")
    parser.add_argument("--min-run-time", type=float, default=0.5, help="seconds per timing")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--device", action="append", choices=["cpu", "cuda"],
                        help="device(s) to time (default: cpu, and cuda when available)")
    args = parser.parse_args()
    if args.repeats < 1 or args.min_run_time <= 0:
        parser.error("--repeats must be >= 1 and --min-run-time > 0")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    devices = args.device or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    if "cuda" in devices and not torch.cuda.is_available():
        parser.error("--device cuda given but CUDA is not available")

    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, float32, "
          f"forward + backward, median of {args.repeats}")
    print(f"{'device':<6} {'shape':<32} {'ours (ms)':>10} {'PyTorch (ms)':>13} {'ours/PyTorch':>13} "
          f"{'naive/PyTorch':>14} {'faults: ours':>13} {'naive':>6} {'PyTorch':>8}")
    for device in devices:
        for label, shape in SHAPES.items():
            gen = torch.Generator().manual_seed(0)
            x = torch.randn(shape, generator=gen).to(device).requires_grad_(True)
            weight = torch.rand(shape[1], generator=gen).add(0.5).to(device).requires_grad_(True)
            bias = torch.randn(shape[1], generator=gen).to(device).requires_grad_(True)
            grad = torch.randn(shape, generator=gen).to(device)
            inputs = {"x": x, "weight": weight, "bias": bias, "grad": grad}
            t = time_all(inputs, args.repeats, args.min_run_time)
            faults = [page_faults_per_call(fn, inputs) if device == "cpu" else "-"
                      for fn in (ours, naive, pytorch)]
            print(f"{device:<6} {label:<32} {t[ours]:>10.3f} {t[pytorch]:>13.3f} "
                  f"{t[ours] / t[pytorch]:>13.2f} {t[naive] / t[pytorch]:>14.2f} "
                  f"{faults[0]:>13} {faults[1]:>6} {faults[2]:>8}")


if __name__ == "__main__":
    main()
