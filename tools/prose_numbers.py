#!/usr/bin/env python3
"""Numbers in a notebook's prose that none of its outputs prints.

    python tools/prose_numbers.py [NOTEBOOK ...]   (default: every book/**/*.ipynb; lists what is unmatched)

A sentence after a run quotes the run: "validation accuracy 0.867", "about 13% lower", "+3.3 [2.2,
4.4] points". Such a number must be one the notebook's outputs print, rounded as shown, or the prose
and the run have drifted apart (CONTRIBUTING.md, "numbers as printed"). This tool reads the numbers
of the Markdown cells that carry a decimal point, a percent sign or a sign (plain integers are
counts, years, equation numbers and section numbers far more often than results) and looks for each
among the numbers that the code cells print:

- ``x`` with d decimals matches a printed ``y`` when ``y`` rounds to ``x`` at d decimals, also when
  the prose gives the printed fraction as a percentage or in points (``87%`` or ``86.7`` for 0.867)
  and when it drops the sign of a printed difference (``0.8 points better`` for ``-0.8``);
- numbers that the notebook's code contains (settings such as a learning rate of 0.05), numbers
  inside citations, references and equation labels, section numbers ("section 7.10", "§7.1.2") and
  the constants of ``ALLOWED`` are not results and are skipped;
- so are exercise solutions (a ``{solution}`` block): their numbers are worked from the exercise's
  own inputs, and the answer key (``tw.exercises``, tested in tests/test_exercises.py) checks them.

Numbers inside ``$...$`` are checked too: a result stays a result in a formula. Where a number is
derived on the page (a constant of a derivation, a number quoted from a paper), add it to the
notebook's entry in ``ALLOWED`` with the reason.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NUMBER = re.compile(r"(?<![\w.])[-+−]?\d+(?:,\d{3})*(?:\.\d+)?%?(?![\w])")
SOLUTION = re.compile(r"```\{solution\}.*?\n```", re.DOTALL)
SKIP = re.compile(r"\{(?:cite|ref|numref|eq|term)[^}]*\}`[^`]*`|\(\w[\w-]*\)=|```\{[^}]*\}[^\n]*"
                  r"|:label:[^\n]*|`[^`\n]*`|https?://\S+|(?:[Ss]ections?|§)\s*\d+(?:\.\d+)*")
# Numbers a notebook's prose may state without an output printing them: {notebook: {number: reason}}.
ALLOWED: dict[str, dict[str, str]] = {}


def _cells(nb: dict, kind: str) -> list[str]:
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == kind]


def _printed(nb: dict) -> list[str]:
    texts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            text = out.get("text") or out.get("data", {}).get("text/plain", "")
            texts.append("".join(text) if isinstance(text, list) else text)
    return texts


def _value(token: str) -> tuple[float, int, bool]:
    """(value, decimals, is a percentage) of a number as written."""
    token = token.replace("−", "-").replace(",", "")
    percent = token.endswith("%")
    token = token.rstrip("%")
    decimals = len(token.split(".")[1]) if "." in token else 0
    return float(token), decimals, percent


def _quoted(token: str) -> bool:
    """Whether a prose number looks like a quoted result: a decimal, a percentage or a signed number."""
    return "." in token or token.endswith("%") or token[0] in "+-−"


def matches(token: str, printed: list[float]) -> bool:
    value, decimals, _ = _value(token)
    tolerance = 0.5 * 10 ** -decimals + 1e-9
    for y in printed:
        for candidate in (y, -y, 100 * y, -100 * y):
            if abs(candidate - value) <= tolerance:
                return True
    return False


def unmatched(path: Path) -> list[str]:
    nb = json.loads(path.read_text())
    printed = [_value(t)[0] for text in _printed(nb) for t in NUMBER.findall(text)]
    code = {t for src in _cells(nb, "code") for t in NUMBER.findall(src)}
    try:
        allowed = ALLOWED.get(path.resolve().relative_to(ROOT).as_posix(), {})
    except ValueError:  # a notebook outside the book
        allowed = {}
    found = []
    for source in _cells(nb, "markdown"):
        text = SKIP.sub(" ", SOLUTION.sub(" ", source))
        for token in NUMBER.findall(text):
            bare = token.lstrip("+-−").rstrip("%")
            if not _quoted(token) or token in allowed or bare in allowed or bare in code or token in code:
                continue
            if not matches(token, printed):
                found.append(token)
    return found


def notebooks() -> list[Path]:
    return sorted(p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or notebooks()
    total = 0
    for path in paths:
        found = unmatched(path)
        total += len(found)
        if found:
            print(f"{path.relative_to(ROOT)}: {len(found)} unmatched: {', '.join(found)}")
    print(f"{total} prose numbers that no output prints, in {len(paths)} notebooks")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
