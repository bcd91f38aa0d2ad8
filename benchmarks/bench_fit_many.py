"""Time fit_many (M members side by side) against M sequential fit calls, and against the arithmetic.

    python benchmarks/bench_fit_many.py [--members 1 3 10 30] [--steps 300] [--repeats 3] [--threads N]
                                        [--device cpu] [--data digits mnist5k]

The network is the batch-norm paper's Figure 1 network (3 x 100 sigmoid units, no BN), trained with
plain SGD on mini-batches of 60 for ``--steps`` steps, each epoch ending with fit's evaluation of the
training and validation splits. Both ways run in the same process on the same data, in rounds that
alternate which goes first; each time is the median over ``--repeats`` rounds.

Two floors are printed beside the times, both measured in the same run:

- "limit": the run's floating-point work (per member: 2·B·Σ in·out for the forward pass, as much for
  the weight gradients, as much again for the input gradients of every layer but the first, plus the
  per-epoch evaluation's forward passes) divided by this machine's matrix-multiply rate on a
  1024 x 1024 single-precision product, its best case;
- "products": the time of exactly the run's batched matrix products at the network's own shapes
  (M x 60 x 100 and the like, into preallocated outputs, nothing else: no activations, loss,
  autograd, optimizer or data), which small matrices cannot run at the 1024 x 1024 rate.

"many/limit" and "many/prod" near 1 mean fit_many leaves nothing to gain but faster arithmetic;
"speed-up" is loop time / fit_many time.
"""
from __future__ import annotations

import argparse
import importlib.util
import math
import statistics
import sys
import time
from pathlib import Path

import torch

if importlib.util.find_spec("trainwell") is None:  # not installed: use the checkout's sources
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "code"))
import trainwell as tw  # noqa: E402
from trainwell.train import fit, fit_many  # noqa: E402

BATCH = 60


def matmul_rate(device: torch.device, n: int = 1024, seconds: float = 1.0) -> float:
    """Floating-point operations per second of an n x n float32 matrix product."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    for _ in range(3):
        a @ b
    _sync(device)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        a @ b
        count += 1
    _sync(device)
    return 2 * n ** 3 * count / (time.perf_counter() - started)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_flops(data, steps: int) -> float:
    """Floating-point operations of one member's run of ``steps`` steps with fit's evaluations."""
    pairs = _layer_pairs(data)
    macs = sum(a * b for a, b in pairs)
    step = 2 * BATCH * (macs + macs + (macs - pairs[0][0] * pairs[0][1]))
    per_epoch = math.ceil(len(data.y_train) / BATCH)
    epochs = math.ceil(steps / per_epoch)
    evaluation = 2 * (len(data.y_train) + len(data.y_val)) * macs
    return steps * step + epochs * evaluation


def _layer_pairs(data) -> list[tuple[int, int]]:
    widths = [data.n_features, 100, 100, 100, data.n_classes]
    return list(zip(widths[:-1], widths[1:], strict=True))


def products_time(data, members: int, steps: int, device: torch.device, reps: int = 30) -> float:
    """Seconds that the batched matrix products of a ``steps``-step fit_many run take alone."""
    M, pairs = members, _layer_pairs(data)
    g = torch.Generator(device=device).manual_seed(0)

    def rand(*shape):
        return torch.randn(*shape, generator=g, device=device)

    step_products = []  # (a, b, out) for one training step: forward, weight and input gradients
    for k, (i, o) in enumerate(pairs):
        step_products.append((rand(M, BATCH, i), rand(M, i, o), torch.empty(M, BATCH, o, device=device)))
        step_products.append((rand(M, i, BATCH), rand(M, BATCH, o), torch.empty(M, i, o, device=device)))
        if k:
            step_products.append((rand(M, BATCH, o), rand(M, o, i), torch.empty(M, BATCH, i, device=device)))
    rows = min(4096, max(256, 8192 // M)) if device.type == "cpu" else 4096  # as fit_many evaluates
    eval_products = []
    for n in (len(data.y_train), len(data.y_val)):
        for start in range(0, n, rows):
            r = min(rows, n - start)
            eval_products += [(rand(M, r, i), rand(M, i, o), torch.empty(M, r, o, device=device))
                              for i, o in pairs]

    def seconds(products, repeat):
        for a, b, out in products:
            torch.bmm(a, b, out=out)
        _sync(device)
        started = time.perf_counter()
        for _ in range(repeat):
            for a, b, out in products:
                torch.bmm(a, b, out=out)
        _sync(device)
        return (time.perf_counter() - started) / repeat

    epochs = math.ceil(steps / math.ceil(len(data.y_train) / BATCH))
    return steps * seconds(step_products, reps) + epochs * seconds(eval_products, max(1, reps // 10))


def _build(data):
    return lambda: tw.models.figure1_net(data.n_features, data.n_classes, bn=False)


def time_many(data, seeds, steps, device) -> float:
    epochs = math.ceil(steps / math.ceil(len(data.y_train) / BATCH))
    started = time.perf_counter()
    fit_many(_build(data), data, seeds=seeds, optimizer=lambda p: torch.optim.SGD(p, lr=0.1), epochs=epochs,
             max_steps=steps, batch_size=BATCH, device=device, progress=False)
    _sync(device)
    return time.perf_counter() - started


def time_loop(data, seeds, steps, device) -> float:
    epochs = math.ceil(steps / math.ceil(len(data.y_train) / BATCH))
    started = time.perf_counter()
    for seed in seeds:
        tw.seed_everything(seed)
        fit(_build(data)(), data, optimizer=lambda p: torch.optim.SGD(p, lr=0.1), epochs=epochs,
            max_steps=steps, batch_size=BATCH, seed=seed, device=device, progress=False)
    _sync(device)
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[1, 3, 10, 30])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data", nargs="+", default=["digits", "mnist5k"])
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    rate = matmul_rate(device)
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads; "
          f"matrix-multiply rate {rate / 1e9:.0f} GFLOP/s; {args.steps} steps of batch {BATCH}, "
          f"median of {args.repeats}")
    print(f"{'data':>9} {'M':>3} {'loop s':>8} {'many s':>8} {'limit s':>8} {'prod s':>8} {'speed-up':>9} "
          f"{'many/limit':>11} {'many/prod':>10}")
    for name in args.data:
        data = tw.data.load(name)
        flops = run_flops(data, args.steps)
        time_many(data, [0], min(args.steps, 20), device)  # warm-up of both paths
        time_loop(data, [0], min(args.steps, 20), device)
        for members in args.members:
            seeds = list(range(members))
            many, loop = [], []
            for r in range(args.repeats):
                order = (time_many, time_loop) if r % 2 == 0 else (time_loop, time_many)
                for fn in order:
                    (many if fn is time_many else loop).append(fn(data, seeds, args.steps, device))
            t_many, t_loop = statistics.median(many), statistics.median(loop)
            limit = members * flops / rate
            products = products_time(data, members, args.steps, device)
            print(f"{name:>9} {members:>3} {t_loop:8.2f} {t_many:8.2f} {limit:8.2f} {products:8.2f} "
                  f"{t_loop / t_many:8.2f}x {t_many / limit:10.2f}x {t_many / products:9.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
