"""Fit the book's code cells to the text column: ``python tools/format_notebooks.py [notebook ...]``.

The website shows about 100 characters of code per line at 1280 px (``_static/trainwell.css``); a
longer line scrolls sideways. This tool reformats, with ``ruff format --line-length 99``, only the
code cells that have a longer line, so cells that already fit keep their hand layout. IPython
magics (``%pip ...``) are kept aside while ruff runs. It prints the lines ruff could not shorten
(long strings), which an author then splits by hand; tests/test_notebook_sources.py fails on them.
The code of a cell tagged ``hide-input`` is shown, once opened, inside a collapsible block about 18
px narrower: there the limit is 96 characters.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 99
HIDDEN_WIDTH = 96  # code behind a hide-input toggle sits in a narrower block
RUFF = Path(sys.executable).parent / "ruff"
MAGIC = re.compile(r"^(\s*)([%!].*)$")


def width(cell: dict) -> int:
    return HIDDEN_WIDTH if "hide-input" in cell.get("metadata", {}).get("tags", []) else WIDTH


def too_long(source: str, limit: int = WIDTH) -> list[str]:
    return [line for line in source.splitlines() if len(line) > limit]


def reformat(source: str, limit: int = WIDTH) -> str:
    magics = []

    def hide(match):
        magics.append(match.group(2))
        return f"{match.group(1)}pass  # __magic_{len(magics) - 1}__"

    hidden = "\n".join(MAGIC.sub(hide, line) for line in source.splitlines())
    proc = subprocess.run([str(RUFF), "format", "--quiet", "--isolated", f"--line-length={limit}",
                           "--stdin-filename", "cell.py", "-"], input=hidden, capture_output=True,
                          text=True, check=True)
    out = proc.stdout.rstrip("\n")
    for i, magic in enumerate(magics):
        out = re.sub(rf"pass  # __magic_{i}__", lambda _m, magic=magic: magic, out)
    return out


def format_notebook(path: Path) -> list[str]:
    nb = json.loads(path.read_text())
    changed, left = False, []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        source, limit = "".join(cell["source"]), width(cell)
        if too_long(source, limit):
            new = reformat(source, limit)
            if new != source:
                cell["source"] = new.splitlines(keepends=True)
                changed = True
            left += [f"{path.relative_to(ROOT)} cell {i}: {line.strip()[:80]}"
                     for line in too_long(new, limit)]
    if changed:
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return left


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or sorted((ROOT / "book").rglob("*.ipynb"))
    left = [line for p in paths if ".ipynb_checkpoints" not in p.parts for line in format_notebook(p)]
    print("\n".join(left) if left else f"every code line fits in {WIDTH} characters")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
