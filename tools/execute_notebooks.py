#!/usr/bin/env python3
"""Execute the book's notebooks top to bottom in fresh kernels and store their outputs.

    python tools/execute_notebooks.py [NOTEBOOK ...]      (default: every book/**/*.ipynb)

The stored outputs are what the website shows and what nbval compares, so they are always made at
the quick size. With TRAINWELL_SIZE=full the executed notebooks go to --output-dir instead (default
_build/full/), leaving the stored ones untouched. Widget state is saved so the site can render it.
Progress bars are turned off in the kernels (``TRAINWELL_PROGRESS=0``): a bar is for a reader
watching a live run, and a stored one is a frozen widget on the page.
Prints the wall time of each notebook and the total.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def run(nb: nbformat.NotebookNode, directory: Path, timeout: int) -> float:
    """Execute ``nb`` top to bottom in a fresh kernel whose working directory is ``directory``,
    storing outputs and widget state in ``nb``; returns the wall time in seconds."""
    os.environ["TRAINWELL_PROGRESS"] = "0"  # inherited by the kernel nbclient starts
    started = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(directory)}}).execute()
    return time.perf_counter() - started


def write(nb: nbformat.NotebookNode, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".ipynb.part")
    nbformat.write(nb, tmp)
    os.replace(tmp, out)  # a failed or interrupted run never leaves a half-written notebook


def execute(path: Path, out: Path, timeout: int) -> float:
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)  # the state of an earlier run's widgets, not this one's
    seconds = run(nb, path.parent, timeout)
    write(nb, out)
    return seconds


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell (default 1800)")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "_build" / "full",
                        help="where full-size runs are written (default _build/full)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(p for p in (ROOT / "book").rglob("*.ipynb")
                                     if ".ipynb_checkpoints" not in p.parts)
    full = os.environ.get("TRAINWELL_SIZE", "quick").strip().lower() == "full"
    total = 0.0
    for path in paths:
        path = path.resolve()
        out = args.output_dir / path.relative_to(ROOT) if full else path
        seconds = execute(path, out, args.timeout)
        total += seconds
        print(f"{seconds:7.1f} s  {path.relative_to(ROOT)}" + (f" -> {out}" if full else ""), flush=True)
    print(f"{total:7.1f} s  total for {len(paths)} notebook(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
