"""Batched Monte Carlo dropout inference against a Python loop over the k masks (Part II, section 3).

    python benchmarks/bench_dropout.py [--k 100] [--width 256] [--batch 256] [--repeats 7] [--device cpu]

Both compute the same k member predictions of a MaskedMLP (two hidden layers of ``width`` units) on
the same inputs and masks, in the same run; the script checks that they agree, then reports the
median time of each and the ratio loop / batched (higher means batching helps more). On a GPU the
clock is read only after ``torch.cuda.synchronize()``, so queued kernels are counted.
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import torch

if importlib.util.find_spec("trainwell") is None:  # not installed: use the checkout's sources
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "code"))
from trainwell import dropout as dp  # noqa: E402


def looped(net, x, masks):
    return torch.stack([torch.softmax(net(x, net.split_mask(m)), -1) for m in masks]).mean(0)


def batched(net, x, masks):
    return torch.softmax(net(x, net.split_mask(masks)), -1).mean(0)


def median_time(fn, repeats, device):
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda given but CUDA is not available")
    device = torch.device(args.device)
    torch.manual_seed(0)
    net = dp.MaskedMLP([784, args.width, args.width, 10], keep_hidden=0.5).eval().to(device)
    x = torch.randn(args.batch, 784).to(device)
    masks = (torch.rand(args.k, net.hidden_units) < 0.5).float().to(device)
    with torch.no_grad():
        difference = (looped(net, x, masks) - batched(net, x, masks)).abs().max().item()
        if difference > 1e-5:
            raise SystemExit(f"batched and looped predictions differ by {difference:.2e}")
        batched(net, x, masks), looped(net, x, masks)  # warm-up
        t_loop = median_time(lambda: looped(net, x, masks), args.repeats, device)
        t_batch = median_time(lambda: batched(net, x, masks), args.repeats, device)
    where = (torch.cuda.get_device_name(device) if device.type == "cuda"
             else f"{torch.get_num_threads()} CPU threads")
    print(f"torch {torch.__version__}, {where}, k = {args.k} masks, MLP 784-"
          f"{args.width}-{args.width}-10, {args.batch} inputs, median of {args.repeats}; "
          f"max |diff| {difference:.1e}")
    print(f"{'python loop over k (ms)':>24} {'one batched forward (ms)':>25} {'loop / batched':>15}")
    print(f"{t_loop * 1e3:24.2f} {t_batch * 1e3:25.2f} {t_loop / t_batch:15.2f}")


if __name__ == "__main__":
    main()
