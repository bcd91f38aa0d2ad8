"""The appendix of every check (tools/check_ledger.py) matches the stored notebooks and the counts
of the introduction's map, and shows each claim literally."""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("check_ledger", ROOT / "tools" / "check_ledger.py")
check_ledger = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_ledger)


def test_the_page_is_what_the_notebooks_print():
    text, _ = check_ledger.ledger()
    assert check_ledger.PAGE.read_text() == text, "stale: run python tools/check_ledger.py"
    assert "**FAIL**" not in text


def test_the_recorded_verdicts_are_in_step_with_the_notebooks(tmp_path):
    assert not check_ledger.stale_verdicts(), "re-run tools/robustness.py --record on those notebooks"
    # and the check can fail: a recorded claim that the notebook does not print
    (tmp_path / "book" / "appendix").mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="[check] kept: PASS\n")]
    nb.cells = [nbformat.v4.new_markdown_cell("(sec)=\n# T"), cell]
    nbformat.write(nb, tmp_path / "book" / "s.ipynb")
    recorded = {"book/s.ipynb": {"kept": {"seeds10": "FAIL"}, "gone": {"seeds10": "PASS"}}}
    (tmp_path / "book" / "appendix" / "verdicts.json").write_text(
        json.dumps({"variants": {}, "verdicts": recorded}))
    assert check_ledger.stale_verdicts(tmp_path) == ["book/s.ipynb: gone"]
    assert check_ledger._variants({"budget4": "FAIL", "seeds10": "PASS"}) == \
        " (at 10 seeds: PASS; at 4× budget: *FAIL*)"


def test_the_introduction_counts_the_same_checks_and_sections():
    _, counts = check_ledger.ledger()
    parts = {caption: notebooks for caption, _, notebooks in check_ledger.toc_parts()}
    rows = re.findall(r"^\| \{ref\}`(part-[a-z]+)` \|.*\| (\d+), (\d+) \|$",
                      (ROOT / "book" / "intro.md").read_text(), flags=re.M)
    assert len(rows) == 5
    for (label, sections, checks), caption in zip(rows, [f"Part {n}" for n in ("I", "II", "III", "IV", "V")],
                                                   strict=True):
        assert (int(sections), int(checks)) == (len(parts[caption]), counts[caption]), label


def test_each_kind_of_line_becomes_an_entry():
    assert check_ledger.entry("[check] a = b: PASS (max |diff| = 3e-16, atol = 1e-12, rtol = 1e-09)") == (
        "a = b", "PASS", "atol = 1e-12, rtol = 1e-09")
    assert check_ledger.entry("[check] x > y: every seed: PASS (0.91, 0.93)") == ("x > y: every seed", "PASS",
                                                                                   None)
    assert check_ledger.entry("[check] claim: FAIL") == ("claim", "FAIL", None)
    with pytest.raises(ValueError, match="not a \\[check\\] line"):
        check_ledger.entry("[check] claim: maybe")


def test_exercise_lines_are_left_out_and_markdown_is_escaped():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=(
        "[check] E[x*y] = 0 for |w|_1: PASS (max |diff| = 0, tol = 1e-12)\n"
        "[check] your answer: not attempted yet (replace None with your answer)\n"
        "other output\n"))]
    nb.cells = [nbformat.v4.new_markdown_cell("(sec)=\n# T"), cell]
    assert check_ledger.notebook_label(nb) == ("sec", "T")
    (line,) = check_ledger.check_lines(nb)
    claim = check_ledger.entry(line)[0]
    assert check_ledger.escaped(claim) == r"E\[x\*y\] = 0 for \|w\|\_1"
