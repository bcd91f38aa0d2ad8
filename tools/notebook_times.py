#!/usr/bin/env python3
"""Measure what the stored run of every notebook cost, per notebook and per experiment.

    python tools/notebook_times.py            (reads book/**/*.ipynb, writes the package's times file)

Reads the execution records that nbclient stores in each code cell (start and end of the cell) of
the stored, quick-size notebooks, and writes ``code/trainwell/experiment_times.json``: the total of
each notebook and, for every experiment of ``trainwell.size_table``, the time of its notebook's cells
from the first cell that looks up its size (``tw.sizes("<name>")``) up to the cell before the next
such lookup of another experiment. The Using page renders these numbers in the size table.
"""
from __future__ import annotations

import datetime
import json
import platform
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "code"))
from trainwell import size_table  # noqa: E402


def cell_seconds(cell) -> float:
    ex = cell.get("metadata", {}).get("execution", {})
    try:
        start = datetime.datetime.fromisoformat(ex["iopub.execute_input"].replace("Z", "+00:00"))
        end = datetime.datetime.fromisoformat(ex["shell.execute_reply"].replace("Z", "+00:00"))
    except (KeyError, ValueError, AttributeError):
        return 0.0
    return (end - start).total_seconds()


def notebook_times(path: Path, experiments: list[str]) -> tuple[float, dict[str, float]]:
    """Total seconds of ``path`` and seconds per experiment named in ``experiments``."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    total = sum(cell_seconds(c) for c in code)
    starts = {}
    for i, cell in enumerate(code):
        for name in experiments:
            if f'"{name}"' in cell.source and name not in starts:
                starts[name] = i
    order = sorted(starts.items(), key=lambda kv: kv[1])
    per = {}
    for k, (name, first) in enumerate(order):
        last = order[k + 1][1] if k + 1 < len(order) else len(code)
        per[name] = sum(cell_seconds(c) for c in code[first:last])
    return total, per


def main() -> int:
    notebooks, experiments = {}, {}
    for path in sorted((ROOT / "book").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        rel = path.relative_to(ROOT / "book").with_suffix("").as_posix()
        names = [e.name for e in size_table.TABLE.values() if e.notebook == rel]
        total, per = notebook_times(path, names)
        notebooks[rel] = round(total, 1)
        experiments.update({k: round(v, 1) for k, v in per.items()})
        print(f"{total:7.1f} s  {rel}" + "".join(f"\n{v:7.1f} s    {k}" for k, v in per.items()))
    out = {"machine": f"{platform.machine()}, {platform.processor() or 'CPU'}; as stored in the notebooks",
           "notebooks": notebooks, "experiments": experiments}
    size_table.TIMES_FILE.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"{sum(notebooks.values()):7.1f} s  total; written to {size_table.TIMES_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
