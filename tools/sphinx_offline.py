"""A small Sphinx extension that keeps the website self-contained.

1. Jupyter Book 1 always loads sphinx-thebe, which adds (twice, in this version) an inline script
   naming a CDN URL and its loader script to every page, although this book does not use Thebe:
   the duplicate declaration raises a JavaScript error in the reader's console. Those scripts are
   removed from every page; the Colab launch button is unaffected.
2. The widget manager (``@jupyter-widgets/html-manager``'s ``embed-amd.js``) and RequireJS are
   loaded once, and only by the pages that show widgets (see ``_widget_scripts_for``).
3. The widget manager bundle would fetch its fonts and any
   unknown widget module from a CDN. The vendored copy sits in a CDN-like layout under ``_static/``;
   on each page that loads it, the bundle's CDN attribute, its asset path
   (``window.__jupyter_widgets_assets_path__``) and RequireJS's ``baseUrl`` are set to that page's
   relative path into ``_static/``, so everything comes from the site itself, wherever it is hosted.
   A small bridge lets the widgets' MathJax 2 calls reach the site's MathJax 3.
4. The theme's ``fontawesome.js`` (1.5 MB, every icon of Font Awesome as SVG) is not loaded: the
   theme's stylesheet already draws the same icons from Font Awesome's web fonts, which it ships, so
   the script only swapped each glyph for an SVG copy of it. Without it a page with no math and no
   widgets loads about 0.4 MB of JavaScript, and one with math about 1.5 MB.
"""
from __future__ import annotations

import re
from pathlib import Path

from sphinx.builders.html._assets import _JavaScript

WIDGET_BUNDLE = "embed-amd.js"
# ipywidgets' controls typeset their descriptions with MathJax 2's MathJax.Hub.Queue; the site runs
# MathJax 3, which has no Hub. This bridge forwards such calls to MathJax 3's typesetPromise.
MATHJAX2_BRIDGE = """document.addEventListener("DOMContentLoaded", function () {
  var mj = window.MathJax;
  if (mj && !mj.Hub) {
    mj.Hub = {Queue: function (cmd) {
      if (window.MathJax.typesetPromise && cmd && cmd[2]) { window.MathJax.typesetPromise([cmd[2]]); }
    }};
  }
});"""


def _is_thebe(script) -> bool:
    filename = getattr(script, "filename", None) or str(script)
    body = (getattr(script, "attributes", None) or {}).get("body", "") or ""
    return "THEBE_JS_URL" in body or filename.endswith("sphinx-thebe.js")


def _filename(script) -> str:
    return str(getattr(script, "filename", "") or "")


def _widget_script(script) -> str | None:
    """For a script of the widget manager or its loader, its file name (``embed-amd.js``,
    ``require.js``, ...); None for any other script."""
    filename = _filename(script)
    if "@jupyter-widgets/" in filename or "requirejs/" in filename:
        return filename.rsplit("/", 1)[-1]
    return None


def _widget_scripts_for(scripts, has_widgets: bool) -> list:
    """The page's scripts with the widget manager kept once, and only on a page that shows widgets.

    Jupyter Book adds every .js file found under a static path to every page, so each page loaded
    RequireJS and three builds of the widget manager (9.1 MB): ``embed-amd.js`` (the one myst-nb
    asks for), ``libembed-amd.js`` and ``embed.js``, each of which drew every widget, so a widget
    page showed each interactive figure three times, only the first one working."""
    kept, seen = [], set()
    for script in scripts:
        name = _widget_script(script)
        if name is None:
            kept.append(script)
        elif has_widgets and name in ("require.js", WIDGET_BUNDLE) and name not in seen:
            seen.add(name)
            kept.append(script)
    return kept


def _localized(script, static: str) -> list:
    filename = _filename(script)
    if _widget_script(script) != WIDGET_BUNDLE:
        return [script]
    assets = f"{static}@jupyter-widgets/html-manager/dist/"
    # The bundle's inner modules locate their fonts from their RequireJS module URL, hence baseUrl.
    body = f"window.__jupyter_widgets_assets_path__ = {assets!r}; require.config({{baseUrl: {static!r}}});"
    path = _JavaScript(None, priority=script.priority, body=body + "\n" + MATHJAX2_BRIDGE)
    attributes = dict(script.attributes, **{"data-jupyter-widgets-cdn": static})
    return [path, _JavaScript(filename, priority=script.priority, **attributes)]


def localize_scripts(app, pagename, templatename, context, doctree):
    if "script_files" not in context:
        return
    static = context["pathto"]("_static/", 1)
    has_widgets = "application/vnd.jupyter.widget-view+json" in context.get("body", "")
    kept = _widget_scripts_for([s for s in context["script_files"] if not _is_thebe(s)], has_widgets)
    context["script_files"] = [out for s in kept for out in _localized(s, static)]


FONTAWESOME_SCRIPT = re.compile(r'\s*<script\b[^>]*\bsrc="[^"]*/fontawesome\.js[^"]*"[^>]*></script>')


def drop_icon_script(app, exception):
    """Remove the theme's ``fontawesome.js`` from every built page (point 4 of this module)."""
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        kept = FONTAWESOME_SCRIPT.sub("", text)
        if kept != text:
            page.write_text(kept, encoding="utf-8")


def setup(app):
    app.connect("html-page-context", localize_scripts, priority=900)
    app.connect("build-finished", drop_icon_script)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
