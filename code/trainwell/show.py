"""``tw.show``: display the real source of a package function or class in a notebook.

Notebooks never re-type the package's code; they show it. Because the displayed text is the current
source, a notebook whose stored output is stale fails nbval.

What a page shows is the algorithm. By default every line displayed is a line of the source, with two
things condensed: a docstring is cut to its first sentence, and each run of consecutive checks (an
``if`` that only raises, a ``raise``, a ``check_*`` call, or a loop or ``if`` made only of those) is
replaced by one line, ``...  # checks: N lines``. The checks still run; ``full=True`` shows them.
"""
from __future__ import annotations

import ast
import inspect
import textwrap

CHECKS_MARK = "# checks:"


class Source:
    """Source text that renders as a highlighted Python block (Markdown) and as plain text."""

    def __init__(self, name: str, text: str):
        for arg, value in (("name", name), ("text", text)):
            if not isinstance(value, str):
                raise TypeError(f"Source: {arg} must be a str, got {type(value).__name__}")
        self.name = name
        self.text = text

    def _repr_markdown_(self) -> str:
        return f"```python\n{self.text}\n```"

    def __repr__(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


def is_check_call(node: ast.AST | None) -> bool:
    """A call of a function whose name starts with ``check_`` or ``_check``."""
    if not isinstance(node, ast.Call):
        return False
    f = node.func
    name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
    return name.startswith(("check_", "_check"))


def is_check(stmt: ast.stmt) -> bool:
    """Whether a statement only checks: a ``raise``, a ``check_*`` call (assigned or not, alone, in a
    tuple or as the element of a list comprehension), or an ``if``/``for`` whose every branch is made
    of such statements."""
    if isinstance(stmt, ast.Raise):
        return True
    if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.Expr)):
        value = stmt.value
        if isinstance(value, (ast.ListComp, ast.GeneratorExp)):  # [check_int(...) for ...]
            value = value.elt
        calls = value.elts if isinstance(value, ast.Tuple) else [value]
        return bool(calls) and all(is_check_call(c) for c in calls)
    if isinstance(stmt, (ast.If, ast.For)):
        return all(is_check(s) for s in stmt.body + stmt.orelse)
    return False


def docstring_node(node: ast.AST) -> ast.Expr | None:
    if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[0]
    return None


_ABBREVIATIONS = ("e.g", "i.e", "al", "cf", "vs", "etc", "Fig", "Eq", "Sec", "approx")


def _first_sentence_end(lines: list[str], first: int, last: int, skip: int) -> tuple[int, int] | None:
    """Where a docstring's first sentence ends, as (line, column after its full stop), when more
    follows it; None when the docstring is one sentence. ``skip`` columns of the first line are the
    indentation and the opening quotes."""
    for i in range(first, last + 1):
        text = lines[i]
        if i > first and not text.strip():  # a blank line ends the first paragraph
            return (i - 1, len(lines[i - 1]))
        for j in range(skip if i == first else 0, len(text)):
            if text[j] not in ".!?" or (j + 1 < len(text) and not text[j + 1].isspace()):
                continue
            word = text[:j].split()[-1] if text[:j].split() else ""
            if word.lstrip("(`").endswith(_ABBREVIATIONS):
                continue
            rest = text[j + 1:].strip().strip("\"'")
            if rest or i < last:
                return (i, j + 1)
            return None
    return None


def condense(text: str) -> str:
    """``text`` with docstrings cut to their first sentence and each run of checks made one line."""
    tree = ast.parse(text)
    lines = text.splitlines()
    replace: dict[int, str | None] = {}  # 0-based line -> new text, or None to drop it

    def condense_body(block: list[ast.stmt]) -> None:
        run: list[ast.stmt] = []
        for stmt in [*block, None]:
            if stmt is not None and is_check(stmt):
                run.append(stmt)
                continue
            if run:
                first, last = run[0].lineno - 1, run[-1].end_lineno - 1
                n = sum(1 for i in range(first, last + 1) if lines[i].strip())
                indent = lines[first][:len(lines[first]) - len(lines[first].lstrip())]
                replace[first] = f"{indent}...  {CHECKS_MARK} {n} line{'s' * (n != 1)}"
                replace.update(dict.fromkeys(range(first + 1, last + 1)))
                run = []
            if stmt is not None:
                visit(stmt)

    def visit(node: ast.AST) -> None:
        doc = docstring_node(node)
        if doc is not None:
            first, last = doc.lineno - 1, doc.end_lineno - 1
            start = lines[first][doc.col_offset:].lstrip("rRuUbB")
            quote = start[:3] if start[:3] in ('"""', "\'\'\'") else start[:1]
            end = _first_sentence_end(lines, first, last, doc.col_offset + len(quote))
            if end is not None:
                line, col = end
                replace[line] = lines[line][:col].rstrip() + quote
                replace.update(dict.fromkeys(range(line + 1, last + 1)))
        for field in ("body", "orelse", "finalbody", "handlers"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                condense_body(block[1:] if doc is not None and field == "body" else block)
            elif isinstance(block, list):
                for child in block:
                    visit(child)

    visit(tree)
    out = [replace.get(i, line) for i, line in enumerate(lines)]
    return "\n".join(line for line in out if line is not None)


def source(obj, full: bool = False) -> Source:
    """The source of a function, class, method or module of ``trainwell`` as a :class:`Source`:
    condensed as the module's docstring says, or, with ``full=True``, exactly as written."""
    if not isinstance(full, bool):
        raise TypeError(f"show: full must be True or False, got {full!r} ({type(full).__name__})")
    if isinstance(obj, property):
        obj = obj.fget
    if isinstance(obj, str):
        raise TypeError(f"show: expected a function, class or module of trainwell, got the string {obj!r}; "
                        "pass the object itself, e.g. tw.show(tw.models.mlp)")
    module = inspect.getmodule(obj)
    if module is None or not module.__name__.split(".")[0] == "trainwell":
        raise TypeError(f"show: expected a function, class or module of trainwell, got {obj!r}")
    try:
        text = inspect.getsource(obj)
    except (OSError, TypeError) as exc:  # built-ins, objects created at run time
        raise TypeError(f"show: no source is available for {obj!r} ({exc})") from None
    name = getattr(obj, "__qualname__", getattr(obj, "__name__", repr(obj)))
    text = textwrap.dedent(text).rstrip()
    return Source(f"{module.__name__}.{name}", text if full else condense(text))


def show(*objs, full: bool = False) -> None:
    """Display the source of each object (highlighted in notebooks, plain text elsewhere), condensed
    unless ``full=True``."""
    if not objs:
        raise TypeError("show: give at least one function, class or module of trainwell")
    from IPython.display import display

    sources = [source(obj, full) for obj in objs]  # every object checked before anything is displayed
    for src in sources:
        display(src)
