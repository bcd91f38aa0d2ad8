#!/usr/bin/env python3
"""Re-run notebooks with more seeds or a longer training budget and report every ``[check]`` verdict.

    python tools/robustness.py --seeds 10 book/dropout/variants.ipynb [NOTEBOOK ...]
    python tools/robustness.py --budget 4 book/dropout/variants.ipynb
    python tools/robustness.py --seeds 10 --record book/*/*.ipynb   (store the verdicts for the ledger)
    python tools/robustness.py --as-stored book/*/*.ipynb   (as the book runs: `make compat`)

A claim such as "dropout beats the plain network on every seed" is decided on the few seeds and the
short budget of the quick size. Training is reproducible on one machine but not across machines
(the math libraries round differently on another CPU), so there each seed follows a slightly
different path. The book's rule (CONTRIBUTING.md): a claim holds at 10 seeds and at 4 times the
training budget, or says in its sentence that it is about this budget.

Each notebook is executed in a fresh kernel with one extra cell after its first code cell, which
makes ``tw.sizes`` return the changed settings for every experiment: ``--seeds N`` sets every key
ending in ``seeds`` to N (seeds 0 .. N-1, the first ones those the book shows), ``--budget K``
multiplies the keys that the size table names as the experiment's budget (``Experiment.budget``:
epochs or steps) by K. The stored notebooks are not touched; executed copies go to --output-dir.
Prints each check line and, at the end, the number of PASS and FAIL lines, and names every claim of
the stored notebook that the run did not print or printed with another verdict; exits 1 if any check
failed or went missing. ``--as-stored`` runs the notebooks unchanged, to see whether the book's
verdicts hold in another environment (``make compat`` runs it with Colab's package versions).
``--record`` merges the verdicts into ``book/appendix/verdicts.json`` under the variant's name
(``seeds10``, ``budget4``, ...), which the appendix of every check shows beside the stored verdicts.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import date
from pathlib import Path

import execute_notebooks  # the same kernel set-up as `make execute`
import nbformat
from check_ledger import check_lines, entry  # the [check] lines of a notebook's outputs

ROOT = Path(__file__).resolve().parent.parent

VERDICTS = ROOT / "book" / "appendix" / "verdicts.json"
OVERRIDE = """\
import trainwell as _tw
_quick_sizes = _tw.size_table.sizes


def _robustness_sizes(experiment, _seeds={seeds}, _budget={budget}):
    settings = _quick_sizes(experiment)
    for key in vars(settings):
        if _seeds is not None and key.endswith("seeds"):
            setattr(settings, key, _seeds)
    for key in _tw.size_table.TABLE[experiment].budget:
        setattr(settings, key, getattr(settings, key) * _budget)
    return settings


_tw.sizes = _robustness_sizes
"""


def variant(seeds: int | None, budget: int) -> str:
    """The name under which a run's verdicts are recorded: ``seeds10``, ``budget4``, ``seeds10-budget4``."""
    parts = ([f"seeds{seeds}"] if seeds is not None else []) + ([f"budget{budget}"] if budget != 1 else [])
    return "-".join(parts) or "as-stored"


def run(path: Path, seeds: int | None, out_dir: Path, timeout: int, budget: int = 1) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    if seeds is not None or budget != 1:
        first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
        if "sizes(" in nb.cells[first].source:
            raise ValueError(f"{path}: the first code cell reads tw.sizes, before the override that follows "
                             "it can change them; read the sizes in a later cell")
        nb.cells.insert(first + 1, nbformat.v4.new_code_cell(OVERRIDE.format(seeds=seeds, budget=budget)))
    execute_notebooks.run(nb, path.parent, timeout)
    try:
        out = out_dir / path.resolve().relative_to(ROOT)
    except ValueError:  # a notebook outside the book
        out = out_dir / path.name
    execute_notebooks.write(nb, out)
    return check_lines(nb)


def _by_claim(lines: list[str]) -> dict[str, list[str]]:
    """The verdicts of ``[check]`` lines by claim, in order (a claim may be printed more than once)."""
    verdicts = {}
    for line in lines:
        claim, verdict, _ = entry(line)
        verdicts.setdefault(claim, []).append(verdict)
    return verdicts


def differences(stored: list[str], now: list[str]) -> list[str]:
    """The stored claims that ``now`` lacks or gives another verdict, as readable lines."""
    verdicts = _by_claim(now)
    out = []
    for line in stored:
        claim, verdict, _ = entry(line)
        got = verdicts.get(claim)
        if not got:
            out.append(f"missing: {claim}")
        elif got.pop(0) != verdict:
            out.append(f"{verdict} -> FAIL: {claim}" if verdict == "PASS" else f"{verdict} -> PASS: {claim}")
    return out


def machine() -> str:
    """The processor and the torch build that made a run: verdicts may differ from CPU to CPU."""
    import torch

    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines()
                 if ln.startswith("model name")]
        model = names[0] if names else model
    return f"{model}, torch {torch.__version__}"


def record(name: str, results: dict[str, list[str]], seconds: dict[str, float],
           path: Path | None = None) -> None:
    """Merge one run's verdicts into the stored table: ``verdicts[notebook][claim][name]``.

    ``results`` maps a notebook to ``(stored lines, run lines)``. The table holds the stored claims
    only, each with the verdict the run printed for it, or ``MISSING`` where the run did not print it
    (a claim whose words a run changes, such as "the best α (0.001) ...", counts as missing)."""
    path = path or VERDICTS
    table = json.loads(path.read_text()) if path.exists() else {"variants": {}, "verdicts": {}}
    about = table["variants"].setdefault(name, {"seconds": {}})
    about.update({"date": date.today().isoformat(), "machine": machine()})
    for notebook, lines in results.items():
        claims = table["verdicts"].setdefault(notebook, {})
        for claim in list(claims):  # this run replaces the variant's earlier verdicts for the notebook
            claims[claim].pop(name, None)
            if not claims[claim]:
                del claims[claim]
        stored, ran = lines
        printed = _by_claim(ran)
        for line in stored:
            claim = entry(line)[0]
            got = printed.get(claim)
            claims.setdefault(claim, {})[name] = got.pop(0) if got else "MISSING"
        about["seconds"][notebook] = round(seconds[notebook], 1)
    table["variants"] = dict(sorted(table["variants"].items()))
    table["verdicts"] = {k: table["verdicts"][k] for k in sorted(table["verdicts"])}
    path.write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--seeds", type=int, help="seeds per experiment (every key ending in 'seeds')")
    parser.add_argument("--budget", type=int, default=1,
                        help="multiply each experiment's training budget (epochs or steps) by this")
    parser.add_argument("--as-stored", action="store_true",
                        help="run the notebooks unchanged (neither --seeds nor --budget)")
    parser.add_argument("--record", action="store_true",
                        help="merge the verdicts into book/appendix/verdicts.json")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell (default 3600)")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "_build" / "robustness",
                        help="where the executed copies go (default _build/robustness)")
    args = parser.parse_args(argv)
    if args.seeds is not None and args.seeds < 1:
        parser.error(f"--seeds must be a positive integer, got {args.seeds}")
    if args.budget < 1:
        parser.error(f"--budget must be a positive integer, got {args.budget}")
    if args.as_stored and (args.seeds is not None or args.budget != 1):
        parser.error("--as-stored runs the notebooks unchanged: it takes neither --seeds nor --budget")
    if not args.as_stored and args.seeds is None and args.budget == 1:
        parser.error("say what to change (--seeds N, --budget K) or --as-stored")
    seeds, budget = args.seeds, args.budget
    how = ", ".join(([f"{seeds} seeds per experiment"] if seeds is not None else [])
                    + ([f"{budget}x the training budget"] if budget != 1 else [])) or "the stored seeds"
    passed = failed = 0
    changed = []
    seconds = {}
    for path in args.notebooks:
        started = time.perf_counter()
        lines = run(path, seeds, args.output_dir, args.timeout, budget)
        seconds[_name(path)] = time.perf_counter() - started
        print(f"== {path} ({seconds[_name(path)]:.0f} s, {how})", flush=True)
        stored = check_lines(nbformat.read(path, as_version=4))
        if args.record:  # after every notebook, so that a long run interrupted keeps what it did
            name = _name(path)
            record(variant(seeds, budget), {name: (stored, lines)}, {name: seconds[name]})
        for line in lines:
            print("  " + line, flush=True)
        passed += sum(": PASS" in line for line in lines)
        failed += sum(": FAIL" in line for line in lines)
        changed += [f"{path}: {d}" for d in differences(stored, lines)]
    print(f"{passed} PASS, {failed} FAIL with {how}")
    if changed:
        print(f"{len(changed)} stored verdicts not reproduced:\n  " + "\n  ".join(changed))
    if args.record:
        print(f"recorded as {variant(seeds, budget)!r} in {VERDICTS}")
    return 1 if failed or changed else 0


def _name(path: Path) -> str:
    """A notebook's name in the table: its path from the repository root, or its file name."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path.name


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
