"""Every number a notebook's prose quotes from a run is one its outputs print (tools/prose_numbers.py).

The part revisions convert their notebooks one by one; until a notebook is converted it is listed in
PENDING with the count of numbers the tool finds unmatched today, so the list can only shrink: a
listed notebook whose count changes must be looked at (fixed numbers: lower the count or remove the
entry; new unmatched numbers: fix them).
"""
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import prose_numbers  # noqa: E402

# Counted on 2026-12-07 (issue "Conclusions that hold"); each part revision empties its part's rows.
PENDING = {
    "book/batchnorm/conv_and_learning_rates.ipynb": 1, "book/batchnorm/figure1.ipynb": 6,
    "book/dropout/bagging.ipynb": 5,
    "book/dropout/variants.ipynb": 10, "book/optimization/adam.ipynb": 8,
    "book/optimization/adamw_nadam.ipynb": 2, "book/optimization/adaptive.ipynb": 1,
    "book/optimization/nesterov.ipynb": 3, "book/optimization/sgd_momentum.ipynb": 1,
    "book/together/pitfalls.ipynb": 2,
}
NOTEBOOKS = prose_numbers.notebooks()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT / "book")))
def test_prose_numbers_are_printed_numbers(path):
    name = path.relative_to(ROOT).as_posix()
    found = prose_numbers.unmatched(path)
    if name in PENDING:
        assert len(found) == PENDING[name], f"{name} now has {len(found)} unmatched ({found}): update PENDING"
    else:
        assert not found, f"prose numbers that no output prints: {found}"


def test_pending_names_notebooks_of_the_book():
    assert set(PENDING) <= {p.relative_to(ROOT).as_posix() for p in NOTEBOOKS}


def _notebook(tmp_path, prose, printed, code="x = 1"):
    cells = [{"cell_type": "markdown", "metadata": {}, "source": prose},
             {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": code,
              "outputs": [{"output_type": "stream", "name": "stdout", "text": printed}]}]
    path = tmp_path / "probe.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return prose_numbers.unmatched(path)


def test_the_matcher_accepts_roundings_percentages_and_points_and_can_fail(tmp_path):
    printed = "restored 0.867, gain -0.0082, table +3.3 [ +2.2,  +4.4]\n"
    assert _notebook(tmp_path, "about 87%, or 0.87, 86.7% and 0.8 points; +3.3 [2.2, 4.4]", printed) == []
    assert _notebook(tmp_path, "accuracy 0.868 and 88%", printed) == ["0.868", "88%"]
    assert _notebook(tmp_path, "a rate of 0.05 ({numref}`fig-1.5`) in 2026, step 3", printed,
                     code="lr = 0.05") == []
    # section numbers are not results; a number beside the word is still checked
    assert _notebook(tmp_path, "(section 7.10; Sections 2.3, §7.1.2) at 0.5", printed) == ["0.5"]


def test_exercise_solutions_are_skipped_but_the_prose_around_them_is_not(tmp_path):
    prose = ("accuracy 0.91\n\n```{solution} x-ex\n:class: dropdown\n\n"
             "$0.8^{10} = 0.1074$: `my = 0.2406`\n```\n\nafter it, 0.93")
    assert _notebook(tmp_path, prose, "accuracy 0.912\n") == ["0.93"]
