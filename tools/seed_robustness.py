#!/usr/bin/env python3
"""Re-run notebooks with more seeds and report every ``[check]`` verdict: how robust are the claims?

    python tools/seed_robustness.py --seeds 10 book/dropout/variants.ipynb [NOTEBOOK ...]
    python tools/seed_robustness.py --as-stored book/*/*.ipynb   (as the book runs: `make compat`)

A claim such as "dropout beats the plain network on every seed" is decided on the few seeds the
quick size trains (usually 3). Training is reproducible on one machine but not across machines
(most likely because the math libraries' kernels differ per CPU), so on another machine each seed
follows a slightly different path. A claim whose verdict holds on many more seeds will hold there
too; one that fails on some of them is decided by luck and should be restated or given a stronger
experiment.

Each notebook is executed in a fresh kernel with one extra cell after its first code cell, which
makes ``tw.sizes`` return ``seeds = N`` for every experiment (seeds 0 .. N-1, the first ones being
those the book shows). The stored notebooks are not touched; executed copies go to --output-dir.
Prints each check line and, at the end, the number of PASS and FAIL lines, and names every claim of
the stored notebook that the run did not print or printed with another verdict; exits 1 if any check
failed or went missing. ``--as-stored`` runs the notebooks unchanged (the stored number of seeds), to
see whether the book's verdicts hold in another environment (``make compat`` runs it with Colab's
package versions).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import execute_notebooks  # the same kernel set-up as `make execute`
import nbformat
from check_ledger import check_lines, entry  # the [check] lines of a notebook's outputs

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


def run(path: Path, seeds: int | None, out_dir: Path, timeout: int) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    if seeds is not None:
        first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
        nb.cells.insert(first + 1, nbformat.v4.new_code_cell(OVERRIDE.format(n=seeds)))
    execute_notebooks.run(nb, path.parent, timeout)
    try:
        out = out_dir / path.resolve().relative_to(ROOT)
    except ValueError:  # a notebook outside the book
        out = out_dir / path.name
    execute_notebooks.write(nb, out)
    return check_lines(nb)


def differences(stored: list[str], now: list[str]) -> list[str]:
    """The stored claims that ``now`` lacks or gives another verdict, as readable lines."""
    verdicts = {}
    for line in now:
        claim, verdict, _ = entry(line)
        verdicts.setdefault(claim, []).append(verdict)
    out = []
    for line in stored:
        claim, verdict, _ = entry(line)
        got = verdicts.get(claim)
        if not got:
            out.append(f"missing: {claim}")
        elif got.pop(0) != verdict:
            out.append(f"{verdict} -> FAIL: {claim}" if verdict == "PASS" else f"{verdict} -> PASS: {claim}")
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path)
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--seeds", type=int, default=10, help="seeds per experiment (default 10)")
    how.add_argument("--as-stored", action="store_true",
                     help="run the notebooks unchanged, with their own seeds")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell (default 3600)")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "_build" / "robustness",
                        help="where the executed copies go (default _build/robustness)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be a positive integer, got {args.seeds}")
    seeds = None if args.as_stored else args.seeds
    how = "the stored seeds" if seeds is None else f"{seeds} seeds per experiment"
    passed = failed = 0
    changed = []
    for path in args.notebooks:
        started = time.perf_counter()
        lines = run(path, seeds, args.output_dir, args.timeout)
        print(f"== {path} ({time.perf_counter() - started:.0f} s, {how})", flush=True)
        for line in lines:
            print("  " + line, flush=True)
        passed += sum(": PASS" in line for line in lines)
        failed += sum(": FAIL" in line for line in lines)
        stored = check_lines(nbformat.read(path, as_version=4))
        changed += [f"{path}: {d}" for d in differences(stored, lines)]
    print(f"{passed} PASS, {failed} FAIL with {how}")
    if changed:
        print(f"{len(changed)} stored verdicts not reproduced:\n  " + "\n  ".join(changed))
    return 1 if failed or changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
