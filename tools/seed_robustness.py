#!/usr/bin/env python3
"""Re-run notebooks with more seeds and report every ``[check]`` verdict: how robust are the claims?

    python tools/seed_robustness.py --seeds 10 book/dropout/variants.ipynb [NOTEBOOK ...]

A claim such as "dropout beats the plain network on every seed" is decided on the few seeds the
quick size trains (usually 3). Training is reproducible on one machine but not across machines
(most likely because the math libraries' kernels differ per CPU), so on another machine each seed
follows a slightly different path. A claim whose verdict holds on many more seeds will hold there
too; one that fails on some of them is decided by luck and should be restated or given a stronger
experiment.

Each notebook is executed in a fresh kernel with one extra cell after its first code cell, which
makes ``tw.sizes`` return ``seeds = N`` for every experiment (seeds 0 .. N-1, the first ones being
those the book shows). The stored notebooks are not touched; executed copies go to --output-dir.
Prints each check line and, at the end, the number of PASS and FAIL lines; exits 1 if any failed.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import execute_notebooks  # the same kernel set-up as `make execute`
import nbformat
from check_ledger import check_lines  # the [check] lines of a notebook's outputs

ROOT = Path(__file__).resolve().parent.parent

OVERRIDE = """\
import trainwell as _tw
_quick_sizes = _tw.size_table.sizes


def _more_seeds(experiment, _n={n}):
    settings = _quick_sizes(experiment)
    if hasattr(settings, "seeds"):
        settings.seeds = _n
    return settings


_tw.sizes = _more_seeds
"""


def run(path: Path, seeds: int, out_dir: Path, timeout: int) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(first + 1, nbformat.v4.new_code_cell(OVERRIDE.format(n=seeds)))
    execute_notebooks.run(nb, path.parent, timeout)
    try:
        out = out_dir / path.resolve().relative_to(ROOT)
    except ValueError:  # a notebook outside the book
        out = out_dir / path.name
    execute_notebooks.write(nb, out)
    return check_lines(nb)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--seeds", type=int, default=10, help="seeds per experiment (default 10)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell (default 3600)")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "_build" / "robustness",
                        help="where the executed copies go (default _build/robustness)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be a positive integer, got {args.seeds}")
    passed = failed = 0
    for path in args.notebooks:
        started = time.perf_counter()
        lines = run(path, args.seeds, args.output_dir, args.timeout)
        print(f"== {path} ({time.perf_counter() - started:.0f} s, {args.seeds} seeds)", flush=True)
        for line in lines:
            print("  " + line, flush=True)
        passed += sum(": PASS" in line for line in lines)
        failed += sum(": FAIL" in line for line in lines)
    print(f"{passed} PASS, {failed} FAIL with {args.seeds} seeds per experiment")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
