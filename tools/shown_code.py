"""How much of the code the book displays is the algorithm, and how much is docstring and argument checks.

    python tools/shown_code.py            # the share over every object the stored notebooks display
    python tools/shown_code.py --objects  # and one line per displayed object, largest check share first

``tw.show`` puts the package's real source on the page, so what a reader sees is what the stored
notebooks hold: the Markdown outputs of the ``tw.show`` cells. Each displayed object is parsed and
each non-blank line counted once, in the first class that claims it:

- docstring: the lines of a module, class or function docstring;
- check: what ``tw.show`` condenses (``trainwell.show.is_check``): an ``if`` whose body only raises
  (with its condition and message), any other ``raise`` statement, a statement whose value is a call
  of a ``check_*`` function (``lr = check_float("lr", lr, minimum=0.0)``), and the one line
  ``...  # checks: N lines`` that ``tw.show`` displays in place of a run of them;
- code: everything else (comments included).

The book's target (issue 26): docstring and check lines at most 20% of the displayed lines.
"""
from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "code"))
from trainwell.show import CHECKS_MARK, docstring_node, is_check  # noqa: E402

FENCE = re.compile(r"```python\n(.*?)\n```", re.S)


def displayed(notebooks) -> dict[str, str]:
    """Every source text a ``tw.show`` cell of the stored notebooks displays, once per text."""
    texts: dict[str, str] = {}
    for path in notebooks:
        nb = json.loads(Path(path).read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] != "code" or "tw.show(" not in "".join(cell["source"]):
                continue
            for out in cell.get("outputs", []):
                markdown = out.get("data", {}).get("text/markdown")
                if markdown is None:
                    continue
                for text in FENCE.findall("".join(markdown)):
                    first = next((ln for ln in text.splitlines() if ln.strip() and ln[0] != "@"), "")
                    where = f"{Path(path).parent.name}/{Path(path).stem}"
                    texts.setdefault(text, f"{where}: {first.strip()[:60]}")
    return texts


def _lines(node: ast.AST) -> set[int]:
    return set(range(node.lineno, node.end_lineno + 1))


def classify(text: str) -> dict[str, int]:
    """Non-blank lines of ``text`` counted as docstring, check or code, by the rule ``tw.show`` condenses
    with (``trainwell.show.is_check``); a line ``tw.show`` put in place of a run of checks counts as a
    check."""
    tree = ast.parse(text)
    doc, check = set(), set()
    for node in ast.walk(tree):
        found = docstring_node(node)
        if found is not None:
            doc |= _lines(found)
        if isinstance(node, ast.stmt) and is_check(node):
            check |= _lines(node)
    counts = {"docstring": 0, "check": 0, "code": 0}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        marker = line.strip().startswith(f"...  {CHECKS_MARK}")
        kind = "docstring" if number in doc else "check" if number in check or marker else "code"
        counts[kind] += 1
    return counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", action="store_true", help="one line per displayed object")
    args = parser.parse_args(argv)
    texts = displayed(sorted(ROOT.glob("book/**/*.ipynb")))
    if not texts:
        print("no tw.show output found in the stored notebooks", file=sys.stderr)
        return 1
    total = {"docstring": 0, "check": 0, "code": 0}
    rows = []
    for text, where in texts.items():
        counts = classify(text)
        for k, v in counts.items():
            total[k] += v
        lines = sum(counts.values())
        rows.append(((counts["docstring"] + counts["check"]) / lines, lines, counts, where))
    if args.objects:
        for share, lines, counts, where in sorted(rows, key=lambda r: (-r[0], -r[1])):
            print(f"{share:6.1%} of {lines:4d} lines  (doc {counts['docstring']:3d}, "
                  f"check {counts['check']:3d})  {where}")
    lines = sum(total.values())
    overhead = total["docstring"] + total["check"]
    print(f"{len(texts)} displayed objects, {lines} non-blank lines: docstring {total['docstring']} "
          f"({total['docstring'] / lines:.1%}), checks {total['check']} ({total['check'] / lines:.1%}), "
          f"code {total['code']} ({total['code'] / lines:.1%}); docstring + checks {overhead / lines:.1%} "
          f"(target: at most 20%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
