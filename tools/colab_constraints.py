"""Colab's published package list as pip constraints, and the check that installing trainwell there
changes nothing Colab pins.

    python tools/colab_constraints.py constraints OUT.txt  # write pip constraints from the freeze
    python tools/colab_constraints.py resolve              # what pip would install on Colab

The freeze (``compat/colab/pip-freeze.txt``) is what Colab's CPU runtime had installed on the date
in ``compat/colab/SOURCE.txt``. A line ``name==version`` becomes the constraint as it is; a line
``name @ URL`` becomes ``name==version`` when the URL names a wheel whose version can be read (torch
comes from PyTorch's own index as ``2.11.0+cpu``; on PyPI the same release is ``2.11.0``), and is
dropped otherwise (Colab's own packages, installed from local files or Git, are not on any index).

``resolve`` asks pip what installing this repository's package would do where Colab's packages are
installed (see ``resolve``'s docstring): it must install nothing besides trainwell itself, since Colab
warns that upgrading IPython, ipykernel, tornado, prompt-toolkit or pyzmq in a running session can
crash the runtime, and its widget manager renders ipywidgets 7 only.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FREEZE = ROOT / "compat" / "colab" / "pip-freeze.txt"

_WHEEL_VERSION = re.compile(r"/(?P<name>[A-Za-z0-9_.]+)-(?P<version>[0-9][^-/]*)-[^/]*\.whl$")


def normalise(name: str) -> str:
    """A distribution name in PEP 503's normal form (``Foo_Bar`` -> ``foo-bar``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def colab_pins(freeze: Path = FREEZE) -> dict[str, str]:
    """{normalised name: version} for every package of the freeze whose version can be read."""
    from urllib.parse import unquote

    pins = {}
    for raw in freeze.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "==" in line:
            name, version = line.split("==", 1)
        elif " @ " in line:
            name, url = line.split(" @ ", 1)
            found = _WHEEL_VERSION.search(unquote(url))
            if not found:
                continue  # a local or Git install: not on an index, nothing to constrain
            version = found["version"]
        else:
            raise ValueError(f"{freeze}: cannot read the line {raw!r}")
        pins[normalise(name)] = version.split("+", 1)[0]  # 2.11.0+cpu is 2.11.0 on PyPI
    return pins


def write_constraints(out: Path, freeze: Path = FREEZE) -> int:
    """Colab's pins as a constraints file, less its CUDA libraries (``nvidia-*``, ``cuda-*``): Colab's
    torch is a CPU build that needs none, while PyPI's torch 2.11 (the one pip can fetch here) is a
    CUDA build that requires its own versions of them."""
    pins = {name: version for name, version in colab_pins(freeze).items()
            if not name.startswith(("nvidia-", "cuda-"))}
    out.write_text("".join(f"{name}=={version}\n" for name, version in sorted(pins.items())))
    return len(pins)


def _fake_colab(site: Path, pins: dict[str, str]) -> None:
    """A folder of installed-package records (metadata only) for every package Colab pins."""
    for name, version in pins.items():
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


def requirements() -> tuple[str, list[str]]:
    """trainwell's ``requires-python`` and its dependencies, as ``pyproject.toml`` states them."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["requires-python"], list(project["dependencies"])


def resolve(freeze: Path = FREEZE) -> dict:
    """pip's plan for trainwell's dependencies where Colab's packages are installed; raises RuntimeError.

    pip runs in a fresh virtual environment whose only installed packages are records of Colab's
    (name and version, from the freeze), with ``--no-index``: whatever it would have to install or
    upgrade has no candidate, so pip fails and names it. The plan must be empty. Offline and exact for
    what pip decides from versions; trainwell's own ``requires-python`` is checked against Colab's
    Python (compat/colab/os-info.txt) here, since pip runs on this machine's Python.
    """
    from packaging.specifiers import SpecifierSet

    requires_python, dependencies = requirements()
    colab_python = re.search(r"^Python (\S+)$", (freeze.parent / "os-info.txt").read_text(), re.M)[1]
    if colab_python not in SpecifierSet(requires_python):
        raise RuntimeError(f"trainwell requires Python {requires_python}; Colab runs {colab_python}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _fake_colab(tmp / "colab-site", colab_pins(freeze))
        subprocess.run([sys.executable, "-m", "venv", str(tmp / "venv")], check=True)
        report = tmp / "report.json"
        done = subprocess.run(
            [str(tmp / "venv" / "bin" / "python"), "-m", "pip", "install", "--dry-run", "--quiet",
             "--no-index", "--disable-pip-version-check", "--report", str(report), *dependencies],
            capture_output=True, text=True,
            env={"PYTHONPATH": str(tmp / "colab-site"), "PATH": "/usr/bin:/bin",
                 "PIP_CONFIG_FILE": "/dev/null"})
        if done.returncode:
            message = "\n".join(line for line in done.stderr.splitlines() if "Location" not in line)
            raise RuntimeError(f"pip cannot install trainwell beside Colab's packages:\n{message}")
        return json.loads(report.read_text())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("constraints", help="write Colab's pins as a pip constraints file")
    c.add_argument("out", type=Path)
    sub.add_parser("resolve", help="what pip would install beside Colab's packages")
    args = parser.parse_args(argv)
    if args.command == "constraints":
        print(f"{write_constraints(args.out)} pins written to {args.out}")
        return 0
    pins = colab_pins()
    try:
        report = resolve()
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    for item in report["install"]:
        name, version = normalise(item["metadata"]["name"]), item["metadata"]["version"]
        print(f"would install {name}=={version}" + (f" over Colab's {pins[name]}" if name in pins else ""))
    if not report["install"]:
        print("installing trainwell on Colab installs trainwell alone: every dependency is satisfied")
    return 1 if report["install"] else 0


if __name__ == "__main__":
    sys.exit(main())
