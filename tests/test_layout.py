"""The package's layout shows the book: base modules import no part; a part imports base modules and
only the parts that come before it in reading order (Part II's comparison with Part I's regularizers
uses Part I's tools; no part reaches forward); Part V may import every part; there are no import
cycles, experiment files hold no algorithms, and code cites the book's sections by labels that exist."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "code" / "trainwell"
PARTS = ("regularization", "dropout", "batchnorm", "optim", "together")  # in reading order


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every trainwell module ``path`` imports, anywhere in the file (functions included)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "trainwell"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.split(".")[0] == "trainwell":
                target = node.module
            else:
                continue
            found.add(target)
            for alias in node.names:  # `from . import models` names a module
                candidate = PACKAGE.parent / (target + "." + alias.name).replace(".", "/")
                if candidate.with_suffix(".py").exists() or (candidate / "__init__.py").exists():
                    found.add(target + "." + alias.name)
    return found


def _unit(module: str) -> str:
    """The part a module belongs to, or "base"."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in PARTS else "base"


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_part_has_its_subpackage():
    for part in PARTS:
        assert (PACKAGE / part / "__init__.py").is_file(), part


def test_base_modules_import_no_part_and_parts_import_no_later_part():
    violations = []
    for module, path in MODULES.items():
        if module == "trainwell":  # the public surface gathers everything
            continue
        unit = _unit(module)
        for target in _imports(path):
            other = _unit(target)
            if other == "base" or other == unit:
                continue
            if unit != "base" and PARTS.index(other) < PARTS.index(unit):
                continue
            violations.append(f"{module} ({unit}) imports {target} ({other})")
    assert not violations, "\n".join(violations)


def test_there_are_no_import_cycles_between_modules():
    graph = {m: {t for t in _imports(p) if t in MODULES and t != m} for m, p in MODULES.items()}
    # A package's __init__ importing its own submodules is how a package is assembled, not a cycle.
    for m in graph:
        if MODULES[m].name == "__init__.py":
            graph[m] = {t for t in graph[m] if not t.startswith(m + ".")}
    state: dict[str, int] = {}

    def visit(m, stack):
        state[m] = 1
        for t in graph[m]:
            if state.get(t) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(t):] + [t]))
            if t not in state:
                visit(t, stack + [t])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [m])


def test_experiment_files_hold_no_algorithms_and_no_private_training_loops():
    for path in PACKAGE.rglob("experiments.py"):
        tree = ast.parse(path.read_text())
        classes = [n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
        assert not classes, f"{path.relative_to(ROOT)} defines classes {classes}: algorithms go elsewhere"
        calls = [n.func.attr for n in ast.walk(tree)
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]
        for forbidden in ("backward", "step", "zero_grad"):
            assert forbidden not in calls, f"{path.relative_to(ROOT)} calls .{forbidden}(): train through fit"


def _book_labels() -> set[str]:
    labels = set()
    pattern = re.compile(r"^\(([A-Za-z0-9_-]+)\)=", re.M)
    for path in (ROOT / "book").rglob("*"):
        if path.suffix == ".md":
            labels |= set(pattern.findall(path.read_text()))
        elif path.suffix == ".ipynb" and ".ipynb_checkpoints" not in path.parts:
            for cell in json.loads(path.read_text())["cells"]:
                if cell["cell_type"] == "markdown":
                    labels |= set(pattern.findall("".join(cell["source"])))
    return labels


def test_code_cites_sections_by_labels_the_book_defines():
    labels = _book_labels()
    cited = re.compile(r"sections? `([a-z0-9-]+)`(?: and `([a-z0-9-]+)`)?|\(`([a-z0-9-]+)`\)")
    numbered = re.compile(r"(Part [IVX]+,? sections? \d|(?<![0-9]{4}, )\bsections? \d)")
    unknown, by_number = [], []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        for match in cited.finditer(text):
            for label in filter(None, match.groups()):
                if label not in labels:
                    unknown.append(f"{path.relative_to(ROOT)}: `{label}`")
        by_number += [f"{path.relative_to(ROOT)}: {m.group(0)!r}" for m in numbered.finditer(text)]
    assert not unknown, "labels the book does not define:\n" + "\n".join(unknown)
    assert not by_number, "sections cited by number (cite the label instead):\n" + "\n".join(by_number)


def test_the_label_check_can_fail():
    assert "dropout-inference" in _book_labels() and "no-such-section" not in _book_labels()
