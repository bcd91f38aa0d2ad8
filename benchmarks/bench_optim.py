"""Time optimizer.step() of Part IV's optimizers against torch.optim's, gradients already in place.

    python benchmarks/bench_optim.py [--repeats 7] [--min-run-time 0.5] [--threads N] [--device cpu]
                                     [--only Adam --only SGD ...]

Two workloads, float32: 1M parameters in 10 tensors of 100,000, and 100 small tensors of 1,000
(where per-tensor Python and dispatch overhead dominates). Each optimizer is timed against three
PyTorch settings on the same shapes: its default (on CPU that is the single-tensor loop, because
PyTorch picks its multi-tensor ``foreach`` kernels by default only on accelerators), ``foreach=False``
and ``foreach=True``. Every contender has its own parameters, gradients and state; all are warmed
up, then timed in rounds that rotate which goes first (on CPU, what the allocator did just before
can dominate a call). Each time is the median over ``--repeats`` rounds of
torch.utils.benchmark.Timer.blocked_autorange's median time per call. Ours / PyTorch: lower is better.
SGD runs with momentum 0.9, the others with their defaults.
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
from pathlib import Path

import torch
from torch.utils import benchmark

if importlib.util.find_spec("trainwell") is None:  # not installed: use the checkout's sources
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "code"))
from trainwell import optim  # noqa: E402

NAMES = ["SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "NAdam"]
OPTIONS = {"SGD": {"lr": 1e-3, "momentum": 0.9}}
WORKLOADS = {"1M in 10 tensors": [100_000] * 10, "100 tensors of 1,000": [1_000] * 100}
CONTENDERS = {"ours": (optim, {}), "default": (torch.optim, {}),  # (module, extra keywords), in table order
              "foreach=False": (torch.optim, {"foreach": False}),
              "foreach=True": (torch.optim, {"foreach": True})}


def make(name: str, contender: str, sizes: list[int], device: str) -> torch.optim.Optimizer:
    """A fresh optimizer over fresh parameters whose gradients are set once and left in place."""
    gen = torch.Generator().manual_seed(0)
    params = []
    for n in sizes:
        p = torch.randn(n, generator=gen).to(device).requires_grad_(True)
        p.grad = torch.randn(n, generator=gen).to(device)
        params.append(p)
    module, extra = CONTENDERS[contender]
    opt = getattr(module, name)(params, **OPTIONS.get(name, {}), **extra)
    opt.step()  # create the state, so that every timed call is a steady-state step
    return opt


def time_all(opts: dict, repeats: int, min_run_time: float) -> dict[str, float]:
    """Median milliseconds per step of each optimizer, timed in rounds that rotate the order."""
    timers = {k: benchmark.Timer(stmt="opt.step()", globals={"opt": opt}) for k, opt in opts.items()}
    for _ in range(2):  # warm-up: let the allocator settle into its steady state for every contender
        for timer in timers.values():
            timer.blocked_autorange(min_run_time=min_run_time)
    times = {k: [] for k in timers}
    order = list(timers)
    for r in range(repeats):
        for k in order[r % len(order):] + order[:r % len(order)]:
            times[k].append(timers[k].blocked_autorange(min_run_time=min_run_time).median)
    return {k: 1e3 * statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7, help="timings per cell; the median is shown")
    parser.add_argument("--min-run-time", type=float, default=0.5, help="seconds per timing")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--device", action="append", choices=["cpu", "cuda"],
                        help="device(s) to time (default: cpu, and cuda when available)")
    parser.add_argument("--only", action="append", choices=NAMES, help="optimizer(s) to time (default: all)")
    args = parser.parse_args()
    if args.repeats < 1 or args.min_run_time <= 0:
        parser.error("--repeats must be >= 1 and --min-run-time > 0")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    devices = args.device or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    if "cuda" in devices and not torch.cuda.is_available():
        parser.error("--device cuda given but CUDA is not available")

    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, float32, optimizer.step() "
          f"only, median of {args.repeats}; times in ms, ratios ours / PyTorch")
    head = (f"{'device':<6} {'optimizer':<9} {'workload':<21} {'ours':>8} {'default':>8} {'f=False':>8} "
            f"{'f=True':>8} {'/default':>9} {'/f=False':>9} {'/f=True':>8}")
    print(head)
    for device in devices:
        for name in args.only or NAMES:
            for label, sizes in WORKLOADS.items():
                opts = {k: make(name, k, sizes, device) for k in CONTENDERS}
                t = time_all(opts, args.repeats, args.min_run_time)
                ours, default, single, multi = (t[k] for k in CONTENDERS)
                print(f"{device:<6} {name:<9} {label:<21} {ours:>8.3f} {default:>8.3f} {single:>8.3f} "
                      f"{multi:>8.3f} {ours / default:>9.2f} {ours / single:>9.2f} {ours / multi:>8.2f}",
                      flush=True)


if __name__ == "__main__":
    main()
