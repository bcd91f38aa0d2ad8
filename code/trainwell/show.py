"""``tw.show``: display the real source of a package function or class in a notebook.

Notebooks never re-type the package's code; they show it. Because the displayed text is the current
source, a notebook whose stored output is stale fails nbval.
"""
from __future__ import annotations

import inspect
import textwrap


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


def source(obj) -> Source:
    """The source of a function, class, method or module of ``trainwell`` as a :class:`Source`."""
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
    return Source(f"{module.__name__}.{name}", textwrap.dedent(text).rstrip())


def show(*objs) -> None:
    """Display the source of each object (highlighted in notebooks, plain text elsewhere)."""
    if not objs:
        raise TypeError("show: give at least one function, class or module of trainwell")
    from IPython.display import display

    sources = [source(obj) for obj in objs]  # every object checked before anything is displayed
    for src in sources:
        display(src)
