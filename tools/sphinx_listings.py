"""A small Sphinx extension: the package source that ``tw.show`` prints keeps its indentation when a
long line wraps (issue 28).

Outputs wrap instead of scrolling sideways (``_static/trainwell.css``), so that a ``[check]`` line is
read whole; in a listing a wrapped line then restarted at the left margin, and the indentation that
carries Python's structure was lost from view. Here each line of a highlighted Python output block
(what ``tw.show`` displays) becomes its own block, hanging-indented: its first row starts where
the code puts it, and any further rows start four columns right of the line's own indentation.
Pygments closes every token at the end of a line, so the highlighted HTML splits into lines at its
newlines without breaking a tag.
"""
from __future__ import annotations

import html
import re

# A highlighted Python output block: the cell_output wrapper, then Pygments' pre.
LISTING = re.compile(r'(<div class="cell_output[^"]*">\s*<div class="highlight-python notranslate">'
                     r'<div class="highlight"><pre>)(.*?)(</pre>)', re.S)
TAG = re.compile(r"<[^>]+>")
HANG = 4  # columns by which a wrapped row is indented beyond its line's own indentation


def _indent(line: str) -> int:
    text = html.unescape(TAG.sub("", line))
    return len(text) - len(text.lstrip(" "))


def hang_lines(body: str) -> str:
    """``body`` with every line of every highlighted Python output block wrapped in a
    ``span.tw-line`` whose ``--tw-hang`` is the line's indentation plus four columns."""

    def one(match: re.Match) -> str:
        start, code, end = match.groups()
        lines = code.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        # each line keeps its newline, inside its block: it adds no row there, and what a reader
        # selects and copies is the source, blank lines included
        spans = "".join(f'<span class="tw-line" style="--tw-hang: {_indent(line) + HANG}ch">{line}\n</span>'
                        for line in lines)
        return start + spans + end

    return LISTING.sub(one, body)


def on_page(app, pagename, templatename, context, doctree):
    if "body" in context:
        context["body"] = hang_lines(context["body"])


def setup(app):
    app.connect("html-page-context", on_page)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
