#!/usr/bin/env python3
"""The book's release: one version in the package and in every notebook's Colab install line.

    python tools/release.py 0.3.0     (sets the version everywhere; then commit, and tag it v0.3.0)
    python tools/release.py --check   (exit 1, naming what disagrees)

On Colab the first code cell of every notebook installs trainwell from the repository at the tag
``v<version>``, so a reader's notebook and the package it installs come from the same release
(installing the default branch would give a reader last week's notebook with this week's package).
The version lives in ``pyproject.toml`` and ``trainwell.__version__``; this tool writes all three,
touching only the install line of each notebook's source (its outputs are unchanged: the line runs on
Colab only). The tag must then be pushed with the commit, or the install cell fails on Colab.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPOSITORY = "git+https://github.com/trainwell-book/training-deep-networks-well"
PYPROJECT = ROOT / "pyproject.toml"
INIT = ROOT / "code" / "trainwell" / "__init__.py"
VERSION = re.compile(r'^(version|__version__) = "(?P<version>[^"]+)"$', re.M)
INSTALL = re.compile(r'^(?P<indent>\s*)RELEASE = "[^"]*"$', re.M)
CELL = '''import sys

if "google.colab" in sys.modules:  # on Colab: install the book's package, at this page's release
    RELEASE = "{url}"
    %pip install -q "trainwell @ {{RELEASE}}"
'''


def notebooks() -> list[Path]:
    return sorted(p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def url(version: str) -> str:
    return f"{REPOSITORY}@v{version}"


def package_versions() -> dict[str, str]:
    return {str(path.relative_to(ROOT)): VERSION.search(path.read_text())["version"]
            for path in (PYPROJECT, INIT)}


def install_line(path: Path) -> str | None:
    """The ``RELEASE = "..."`` line of the notebook's first code cell, or None."""
    cells = json.loads(path.read_text())["cells"]
    first = next((c for c in cells if c["cell_type"] == "code"), None)
    found = INSTALL.search("".join(first["source"])) if first else None
    return found[0].strip() if found else None


def problems() -> list[str]:
    versions = package_versions()
    found = [] if len(set(versions.values())) == 1 else [f"the package's versions disagree: {versions}"]
    expected = f'RELEASE = "{url(versions[str(PYPROJECT.relative_to(ROOT))])}"'
    for path in notebooks():
        line = install_line(path)
        if line != expected:
            found.append(f"{path.relative_to(ROOT)}: first code cell has {line!r}, expected {expected!r}")
    return found


def set_version(version: str) -> None:
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise SystemExit(f"version must look like 1.2.3, got {version!r}")
    for path in (PYPROJECT, INIT):
        text = path.read_text()
        path.write_text(VERSION.sub(lambda m: f'{m[1]} = "{version}"', text, count=1))
    import nbformat

    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        first = next(c for c in nb.cells if c.cell_type == "code")
        source = first.source
        if INSTALL.search(source):
            source = INSTALL.sub(lambda m: f'{m["indent"]}RELEASE = "{url(version)}"', source, count=1)
        else:  # the older one-line form, or none: the cell opens with the install block
            source = re.sub(r'(?s)^import sys\n\nif "google.colab" in sys.modules:.*?\n(?=\S)', "", source)
            source = CELL.format(url=url(version)) + "\n" + source.lstrip("\n")
        first.source = source
        nbformat.write(nb, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version", nargs="?", help="the new version, e.g. 0.3.0")
    parser.add_argument("--check", action="store_true", help="only check that everything agrees")
    args = parser.parse_args(argv)
    if args.version and not args.check:
        set_version(args.version)
    found = problems()
    for line in found:
        print(line)
    if not found:
        print(f"release v{package_versions()[str(PYPROJECT.relative_to(ROOT))]}: package and "
              f"{len(notebooks())} notebooks agree")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
