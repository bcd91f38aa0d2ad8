#!/usr/bin/env python3
"""Write the appendix that lists every ``[check]`` line of the book, section by section.

    python tools/check_ledger.py            (reads _toc.yml and the stored notebooks, writes the page)
    python tools/check_ledger.py --check    (exit 1, naming the difference, if the page is stale)

The lines come from the stored outputs of the notebooks, in the order of the table of contents, and
are the ones nbval compares: a claim, its verdict, and for an equality (``tw.check``) the tolerance it
was held to. The measured numbers (differences, accuracies) are left out, since they vary in their
last digits between machines; the page would otherwise change with every re-execution.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "book" / "appendix" / "checks.md"
VERDICTS = ROOT / "book" / "appendix" / "verdicts.json"  # written by tools/robustness.py --record
VARIANT_NAMES = {"seeds10": "at 10 seeds", "budget4": "at 4× budget", "full": "at the full size"}
LABEL = "appendix-checks"
LINE = re.compile(r"^\[check\] (?P<claim>.*): (?P<verdict>PASS|FAIL)(?: \((?P<detail>.*)\))?$")
TOLERANCE = re.compile(r"^max \|diff\| = [^,]+, (?P<tol>.*)$")
EXERCISE = re.compile(r"^\[check\] .*: not attempted yet \(replace None with your answer\)$")
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|$#~{}])")

HEADER = f"""({LABEL})=
# Every check in the book

Each section ends its derivations and experiments with cells that compute both sides of a claim and
print a `[check]` line: `tw.check` for an equality, held to the stated tolerance, and `tw.check_true`
for a condition on measured numbers ({{ref}}`using-this-book`). This page lists all of them, part by
part and section by section, as the stored pages print them; the measured differences and numbers
are on the pages themselves. It is generated from the notebooks by `tools/check_ledger.py`, and a
test fails when it no longer matches them, so it is as current as the pages. Every line printed PASS
when its page was last executed (a FAIL would fail the tests).

The book's rule for a claim about a run is that it holds at 10 seeds and at 4 times the training
budget, or says that it is about this budget (`CONTRIBUTING.md`). `tools/robustness.py` re-executes
the notebooks with more seeds or a longer budget and records every verdict; where a notebook has been
re-run, its lines say what the checks printed there ("at 10 seeds: PASS; at 4× budget: *FAIL*"), and
each part's heading counts the verdicts that flipped. A line without them has not been re-run yet.
"""


def toc_parts(root: Path = ROOT) -> list[tuple[str, str, list[Path]]]:
    """(caption, title, notebooks in reading order) for every part of ``_toc.yml`` that has notebooks;
    the title is ``Part I: Regularization``, the caption and the heading of the part's overview page."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    parts = []
    for part in toc["parts"]:
        files = []
        for chapter in part.get("chapters", []):
            files += [chapter["file"]] + [s["file"] for s in chapter.get("sections", [])]
        notebooks = [root / f"{f}.ipynb" for f in files if (root / f"{f}.ipynb").exists()]
        if not notebooks:
            continue
        title = part["caption"]
        index = root / f"{files[0]}.md"
        if index.name == "index.md" and index.exists():  # a part's overview page names the part
            heading = next(ln[2:].strip() for ln in index.read_text().splitlines() if ln.startswith("# "))
            title = f"{title}: {heading}"
        parts.append((part["caption"], title, notebooks))
    return parts


def notebook_label(nb) -> tuple[str, str]:
    """The section's label and title: the ``(label)=`` line that opens its first cell, and the
    ``# title`` line after it."""
    first = nb.cells[0].source.lstrip()
    match = re.match(r"\((?P<label>[^)]+)\)=\s*\n# (?P<title>[^\n]+)", first)
    if not match:
        raise ValueError("the first cell does not open with a (label)= line and a # title")
    return match["label"], match["title"].strip()


def check_lines(nb) -> list[str]:
    """The ``[check]`` lines of a notebook's stored outputs, in order, without the exercises' checking
    cells, which are stored unanswered ("not attempted yet") and check the reader, not the book."""
    lines = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") != "stream":
                continue
            text = output.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            rows = text.splitlines()
            for i, ln in enumerate(rows):
                if not ln.startswith("[check]") or EXERCISE.match(ln):
                    continue
                # NumPy wraps a long array over lines: the measurement's parenthesis closes further down
                while ln.count("(") > ln.count(")") and i + 1 < len(rows) and not rows[i + 1].startswith("["):
                    i += 1
                    ln += " " + rows[i].strip()
                lines.append(ln)
    return lines


def entry(line: str) -> tuple[str, str, str | None]:
    """(claim, verdict, tolerance or None) of one ``[check]`` line."""
    match = LINE.match(line)
    if not match:
        raise ValueError(f"not a [check] line of tw.check or tw.check_true: {line!r}")
    tolerance = TOLERANCE.match(match["detail"] or "")
    return match["claim"], match["verdict"], tolerance["tol"] if tolerance else None


def escaped(text: str) -> str:
    """``text`` shown literally in MyST Markdown (no emphasis, links, math or roles)."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", text)


def recorded_verdicts(root: Path = ROOT) -> dict:
    """``{notebook: {claim: {variant: verdict}}}`` from tools/robustness.py's table (empty if none)."""
    path = root / VERDICTS.relative_to(ROOT)
    return json.loads(path.read_text())["verdicts"] if path.exists() else {}


def stale_verdicts(root: Path = ROOT) -> list[str]:
    """Recorded claims that a stored notebook no longer prints (the table is out of step)."""
    stale = []
    for notebook, claims in recorded_verdicts(root).items():
        path = root / notebook
        printed = {entry(line)[0] for line in check_lines(nbformat.read(path, as_version=4))} \
            if path.exists() else set()
        stale += [f"{notebook}: {claim}" for claim in claims if claim not in printed]
    return stale


def _variants(recorded: dict) -> str:
    shown = [f"{VARIANT_NAMES.get(name, name)}: {'PASS' if verdict == 'PASS' else '*' + verdict + '*'}"
             for name, verdict in sorted(recorded.items(), key=lambda kv: list(VARIANT_NAMES).index(kv[0])
                                         if kv[0] in VARIANT_NAMES else len(VARIANT_NAMES))]
    return f" ({'; '.join(shown)})" if shown else ""


def ledger(root: Path = ROOT) -> tuple[str, dict[str, int]]:
    """The page's text and the number of checks per part caption."""
    out, counts = [HEADER], {}
    verdicts = recorded_verdicts(root)
    for caption, title, notebooks in toc_parts(root):
        sections, flips, run = [], {}, 0
        for path in notebooks:
            nb = nbformat.read(path, as_version=4)
            recorded = verdicts.get(path.relative_to(root).as_posix(), {})
            entries = [(*entry(line), recorded.get(entry(line)[0], {})) for line in check_lines(nb)]
            for _claim, verdict, _, other in entries:
                run += bool(other)
                for name, v in other.items():
                    flips[name] = flips.get(name, 0) + (v != verdict)
            if entries:
                sections.append((*notebook_label(nb), entries))
        counts[caption] = sum(len(e) for _, _, e in sections)
        if not sections:
            continue
        out.append(f"## {title} ({counts[caption]} checks)\n")
        if run:
            out.append(f"Re-run with more seeds or a longer budget: {run} of {counts[caption]} checks; "
                       + ", ".join(f"{n} flipped {VARIANT_NAMES.get(k, k)}" for k, n in sorted(flips.items()))
                       + ".\n")
        for label, title, entries in sections:  # a link in the heading, so the page's contents show titles
            out.append(f"### [{escaped(title)}]({label}) ({len(entries)})\n")
            for claim, verdict, tol, other in entries:
                shown = escaped(claim) + (f" ({escaped(tol)})" if tol else "")
                out.append(f"1. {shown}" + ("" if verdict == "PASS" else " **FAIL**") + _variants(other))
            out.append("")
    return "\n".join(out).rstrip() + "\n", counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with the stored page")
    args = parser.parse_args(argv)
    text, counts = ledger()
    if args.check:
        for line in stale_verdicts():
            print(f"{VERDICTS.relative_to(ROOT)} records a claim the notebook no longer prints: {line}")
        if not PAGE.exists() or PAGE.read_text() != text or stale_verdicts():
            print(f"{PAGE.relative_to(ROOT)} is stale: run python tools/check_ledger.py")
            return 1
        print(f"{PAGE.relative_to(ROOT)} is current")
        return 0
    PAGE.write_text(text)
    print(f"{sum(counts.values())} checks in {len(counts)} parts written to {PAGE.relative_to(ROOT)}: "
          + ", ".join(f"{c} {n}" for c, n in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
