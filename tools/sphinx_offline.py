"""A small Sphinx extension that keeps the website self-contained.

Jupyter Book 1 always loads sphinx-thebe, which adds (twice, in this version) an inline script
naming a CDN URL and its loader script to every page, although this book does not use Thebe: the
duplicate declaration raises a JavaScript error in the reader's console. This extension removes
those scripts from every page; the Colab launch button is unaffected.
"""


def _is_thebe(script) -> bool:
    filename = getattr(script, "filename", None) or str(script)
    body = (getattr(script, "attributes", None) or {}).get("body", "") or ""
    return "THEBE_JS_URL" in body or filename.endswith("sphinx-thebe.js")


def drop_thebe_scripts(app, pagename, templatename, context, doctree):
    if "script_files" in context:
        context["script_files"] = [s for s in context["script_files"] if not _is_thebe(s)]


def setup(app):
    app.connect("html-page-context", drop_thebe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
