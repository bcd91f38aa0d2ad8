"""A small Sphinx extension for readers who use a screen reader (issue 28, WCAG 2.1 AA).

1. A figure's image gets its caption as alternative text. Jupyter Book writes the image's file path
   there (``../../_images/1e07….png``), which a screen reader reads aloud; the caption says what
   the figure shows, and the book's tests require every figure to have one.
2. Chinese text (the glossary's terms) is marked ``lang="zh"``, so that a screen reader switches
   voice and a browser picks a Chinese font; the page itself is English.
3. The bibliography's entries are list items of their list.

``_static/a11y.js`` names what only exists once the page runs (the sidebar's expand arrows, the
widgets' sliders).

Both rewrite the rendered body of each page; scripts, styles and tag attributes are left alone.
"""
from __future__ import annotations

import html
import re

FIGURE = re.compile(r"<figure\b.*?</figure>", re.S)
IMG_ALT = re.compile(r'(<img\b[^>]*?\balt=")([^"]*)(")', re.S)
CAPTION_TEXT = re.compile(r'<span class="caption-text">(.*?)</span>', re.S)
TAG = re.compile(r"<[^>]+>")
# CJK ideographs with the CJK and full-width punctuation between them
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff](?:[\u3000-\u303f\uff00-\uffef\u3400-\u4dbf"
                 r"\u4e00-\u9fff\uf900-\ufaff]*[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])?")
RAW = re.compile(r"(<script\b.*?</script>|<style\b.*?</style>|<[^>]+>)", re.S)


def _plain(fragment: str) -> str:
    return " ".join(html.unescape(TAG.sub("", fragment)).split())


def caption_alt_text(body: str) -> str:
    """Every ``<figure>`` whose image's alt text is a file path gets its caption text instead."""

    def figure(match: re.Match) -> str:
        block = match.group(0)
        caption = CAPTION_TEXT.search(block)
        if not caption:
            return block
        alt = html.escape(_plain(caption.group(1)), quote=True)

        def img(m: re.Match) -> str:
            current = m.group(2)
            is_path = current.endswith((".png", ".svg", ".jpg", ".jpeg", ".gif")) or "/" in current
            return m.group(1) + (alt if is_path or not current else current) + m.group(3)

        return IMG_ALT.sub(img, block)

    return FIGURE.sub(figure, body)


def tag_chinese(body: str) -> str:
    """Runs of Chinese characters in the text (not in tags, scripts or styles) wrapped in
    ``<span lang="zh">``."""
    parts = RAW.split(body)
    for i in range(0, len(parts), 2):  # the text between tags
        parts[i] = HAN.sub(lambda m: f'<span lang="zh">{m.group(0)}</span>', parts[i])
    return "".join(parts)


def bibliography_roles(body: str) -> str:
    """The bibliography's entries as list items of its ``role="list"``: docutils marks them
    ``doc-biblioentry``, a role ARIA 1.2 deprecated, so the list appeared to hold bare links."""
    return body.replace('role="doc-biblioentry"', 'role="listitem"')


def on_page(app, pagename, templatename, context, doctree):
    if "body" in context:
        context["body"] = bibliography_roles(tag_chinese(caption_alt_text(context["body"])))


def setup(app):
    app.connect("html-page-context", on_page)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
