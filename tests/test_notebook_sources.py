"""What the notebooks show a reader: no test-runner markers and no internal labels in their code.

nbval's instructions go in cell tags (``nbval-ignore-output``), which the page does not show; a
``[check]`` line states its claim in words, so the equation labels of the text (``do-shift``,
``bn-ema``, ...) stay out of the strings a reader sees printed. Code lines fit the website's text
column (99 characters; ``tools/format_notebooks.py`` reformats the cells that do not).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
WIDTH = 99  # characters of code the text column shows at 1280 px (_static/trainwell.css)
HIDDEN_WIDTH = 96  # inside an opened hide-input toggle, whose block is about 18 px narrower
LABEL_IN_STRING = re.compile(r"""["'][^"'\n]*\((?:do|bn|using|reg|opt)-[a-z0-9-]+\)""")


def code_cells(path: Path):
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def problems(cells) -> list[str]:
    found = []
    for i, cell in enumerate(cells):
        source = "".join(cell["source"])
        if "NBVAL_" in source:
            found.append(f"code cell {i}: an nbval comment marker (use the cell tag instead)")
        for match in LABEL_IN_STRING.findall(source):
            found.append(f"code cell {i}: an internal label in a printed string: {match}")
        hidden = "hide-input" in cell.get("metadata", {}).get("tags", [])
        for line in source.splitlines():
            if len(line) > (HIDDEN_WIDTH if hidden else WIDTH):
                found.append(f"code cell {i}: a {len(line)}-character line scrolls sideways: {line[:60]}")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT / "book")))
def test_no_runner_markers_or_internal_labels_on_the_page(path):
    assert not problems(code_cells(path))


def test_the_source_check_can_fail():
    bad = [{"source": ["# NBVAL_IGNORE_OUTPUT\n", "x = 1"]},
           {"source": ['tw.check("(do-shift) Var[y] = v", a, b)']},
           {"source": ["x = 1\n", "y = " + "1 + " * 30 + "1"]},
           {"source": ["y = " + "1 + " * 23 + "1"], "metadata": {"tags": ["hide-input"]}}]
    found = problems(bad)
    assert len(found) == 4 and "nbval comment" in found[0] and "(do-shift)" in found[1]
    assert "125-character line" in found[2] and "97-character line" in found[3]
    assert not problems([{"source": ["y = " + "1 + " * 23 + "1"]}])  # 97 characters fit when shown
    assert not problems([{"source": ["var = v + m**2  # the formula (do-shift)"]}])


def test_every_notebook_installs_this_release_on_colab():
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import release

    assert not release.problems()
    # IPython expands {RELEASE} in the %pip line to the tag the package's version names.
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    lines = [line.strip() for line in code_cells(NOTEBOOKS[0])[0]["source"]]
    exec(next(line for line in lines if line.startswith("RELEASE = ")), shell.user_ns)
    pip_line = next(line for line in lines if line.startswith("%pip install"))
    version = release.package_versions()["pyproject.toml"]
    assert shell.var_expand(pip_line) == (
        f'%pip install -q "trainwell @ {release.REPOSITORY}@v{version}"')
