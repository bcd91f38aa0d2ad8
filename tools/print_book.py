#!/usr/bin/env python3
"""The whole book as one PDF (issue 28, item 8): the built website's pages, printed by Chromium in
reading order, behind a contents page, with bookmarks and working cross-references.

    python tools/print_book.py [--html _build/html] [--out _build/html/training-deep-networks-well.pdf]
                               [--pages book/intro.html ...]

``make pdf`` builds the website, runs this, and then checks the result (``--check``). Each page is
printed as a reader's browser prints it, through the site's own print stylesheet (the ``@media
print`` rules in ``_static/trainwell.css``), after MathJax has typeset it and its interactive figures
are drawn, so the PDF shows the website's math and figures. For paper, every folded block is opened
(hidden code, solutions), listings and outputs wrap with their indentation instead of running off
the page, and the sidebars and buttons are left out. A link to another page of the book becomes a
link to that page in the PDF; a link to an anchor on the same page stays one.

Why the browser and not Jupyter Book's LaTeX builder: the LaTeX route needs several hundred MB of
TeX packages with CJK support for the glossary, loses the interactive figures' pictures (a widget
has no LaTeX form), and sets code in a different layout from the one the website tests; the browser
prints exactly what the site's tests look at, and the only extra package is a Chinese font
(``make pdf`` installs Debian's fonts-wqy-microhei when none is present).

Before printing, each page is laid out for paper and measured: a listing, an output, a table or an
equation that would be cut at the margin, or an image that did not load, stops the run with the
page's name. ``--check`` then reads the PDF back (:func:`check_pdf`).
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import html
import http.server
import io
import re
import shutil
import sys
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HTML = ROOT / "_build" / "html"
# beside the website's pages, where every page's sidebar links it (_templates/pdf-link.html)
DEFAULT_OUT = DEFAULT_HTML / "training-deep-networks-well.pdf"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TITLE = "Training Deep Networks Well"
# A4 with 15 mm margins at 80%: a 680-pixel line laid out as 850 CSS pixels, wider than the website's
# 770-pixel figures and 99-column listings; body text prints at about 9.6 pt, code at about 7.8 pt.
PAPER = {"format": "A4", "scale": 0.8,
         "margin": {"top": "16mm", "bottom": "16mm", "left": "15mm", "right": "15mm"}}
FOOTER = ('<div style="font-size: 8px; width: 100%; margin: 0 15mm; color: #555; display: flex; '
          'justify-content: space-between; font-family: sans-serif;"><span>{title}</span>'
          '<span>{section}, page <span class="pageNumber"></span> of <span class="totalPages"></span>'
          '</span></div>')

# What would be cut at the margin of the printed page, or missing from it, measured in print layout.
PAPER_PROBLEMS_JS = r"""() => {
  const art = document.querySelector('article.bd-article') || document.body;
  const problems = [];
  const shown = el => el.getClientRects().length > 0 && el.clientWidth > 0;
  const blocks = art.querySelectorAll('pre, table, mjx-container[display="true"], .cell_output');
  for (const el of blocks) {
    if (shown(el) && el.scrollWidth > el.clientWidth + 1) {
      const text = (el.innerText || '').trim().split('\n')[0].slice(0, 60);
      const tag = el.tagName.toLowerCase();
      problems.push(`${tag} cut at the margin (${el.scrollWidth} px in ${el.clientWidth}): ${text}`);
    }
  }
  const right = art.getBoundingClientRect().right;
  for (const img of art.querySelectorAll('img')) {
    if (!shown(img)) continue;
    if (!(img.complete && img.naturalWidth > 0)) problems.push(`image not loaded: ${img.src.slice(-40)}`);
    if (img.getBoundingClientRect().right > right + 1) {
      problems.push(`image past the margin: ${img.src.slice(-40)}`);
    }
  }
  return problems;
}"""


def reading_order(toc: Path = ROOT / "_toc.yml") -> list[tuple[str, str]]:
    """``(page, part)`` for every page of the book in reading order: the root, then each part's
    chapters and their sections; ``page`` is the built HTML path, ``part`` the part's caption."""
    spec = yaml.safe_load(toc.read_text())
    pages = [(f"{spec['root']}.html", "")]

    def walk(entries, part):
        for entry in entries or []:
            pages.append((f"{entry['file']}.html", part))
            walk(entry.get("sections"), part)

    for part in spec.get("parts", []):
        walk(part.get("chapters"), part.get("caption", ""))
    return pages


@contextlib.contextmanager
def serve(directory: Path):
    """The built site on a local port, for as long as the block runs; yields its base URL."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(Quiet, directory=str(directory)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def open_for_paper(tab, url: str) -> list[str]:
    """Load ``url`` and lay it out for paper; returns what would print badly there."""
    tab.goto(url, wait_until="networkidle")
    if tab.locator(".math").count():
        tab.wait_for_function("() => !!(window.MathJax && MathJax.startup && MathJax.startup.promise)",
                              timeout=30000)
        tab.evaluate("() => MathJax.startup.promise")
    if tab.locator("script[type='application/vnd.jupyter.widget-view+json']").count():
        tab.wait_for_selector(".jupyter-widgets img", state="attached", timeout=30000)
    tab.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    tab.emulate_media(media="print")
    # the layout width of the printed page, so the measurements below see the paper's line length
    width = round((210 - 30) / 25.4 * 96 / PAPER["scale"])
    tab.set_viewport_size({"width": width, "height": 1200})
    tab.evaluate("() => document.fonts.ready")
    return tab.evaluate(PAPER_PROBLEMS_JS)


def print_page(tab, section: str) -> bytes:
    footer = FOOTER.format(title=html.escape(TITLE), section=html.escape(section))
    return tab.pdf(**PAPER, print_background=True, display_header_footer=True,
                   header_template="<span></span>", footer_template=footer)


def contents_html(entries: list[tuple[str, str, int]]) -> str:
    """The title and contents page: ``entries`` are (part, section title, first page)."""
    rows, part_seen = [], None
    for part, title, page in entries:
        if part and part != part_seen:
            rows.append(f'<tr class="part"><td colspan="2">{html.escape(part)}</td></tr>')
            part_seen = part
        shown = "Introduction" if title == TITLE else title  # the root page is headed by the book's title
        rows.append(f"<tr><td>{html.escape(shown)}</td><td class='n'>{page}</td></tr>")
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><style>
body {{ font-family: sans-serif; margin: 0; color: #222; }}
h1 {{ font-size: 30px; margin: 40px 0 6px; }} p.sub {{ color: #555; margin: 0 0 30px; }}
table {{ width: 100%; border-collapse: collapse; font-size: 13px; }}
td {{ padding: 1px 0; border-bottom: 1px dotted #bbb; }} td.n {{ text-align: right; width: 4em; }}
tr.part td {{ font-weight: bold; padding-top: 9px; border-bottom: 1px solid #888; }}
</style></head><body><h1>{html.escape(TITLE)}</h1>
<p class="sub">Regularization, normalization and optimization, derived and run.
Printed from the website on {time.strftime('%Y-%m-%d')}.</p>
<table>{''.join(rows)}</table></body></html>"""


def _pdf_pages(data: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


def merge(front: bytes, sections: list[tuple[str, str, str, bytes]], server: str, out: Path) -> None:
    """One PDF: ``front`` (the contents), then each section's PDF, with a bookmark per part and
    section, every link to a page of the book turned into a link to its first page here, and
    links to the site's other files (a figure's full-size PNG) removed: on paper they lead nowhere.
    ``sections`` are (page path, part, title, pdf bytes)."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NullObject, NumberObject

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(front)))
    writer.add_outline_item(title="Contents", page_number=0)
    first_page, parts = {}, {}
    for page, part, title, data in sections:
        first_page[page] = len(writer.pages)
        writer.append(PdfReader(io.BytesIO(data)))
        parent = None
        if part:
            if part not in parts:
                parts[part] = writer.add_outline_item(title=part, page_number=first_page[page])
            parent = parts[part]
        writer.add_outline_item(title=title, page_number=first_page[page], parent=parent)
    target = re.compile(re.escape(server) + r"/([^#?]+\.html)")
    for pdf_page in writer.pages:
        for annotation in pdf_page.get("/Annots", []) or []:
            annotation = annotation.get_object()
            action = annotation.get("/A")
            uri = action.get_object().get("/URI") if action is not None else None
            if uri is None or not str(uri).startswith(server):
                continue  # a link out of the book (a paper, Colab) stays as it is
            found = target.match(str(uri))
            page_path = found.group(1) if found else None
            if page_path in first_page:
                destination = ArrayObject([writer.pages[first_page[page_path]].indirect_reference,
                                           NameObject("/XYZ"), NullObject(), NullObject(), NumberObject(0)])
                annotation[NameObject("/A")] = DictionaryObject(
                    {NameObject("/S"): NameObject("/GoTo"), NameObject("/D"): destination})
            else:  # the site's own files (a figure's PNG, the search page): no link on paper
                del annotation["/A"]
    writer.add_metadata({"/Title": TITLE, "/Author": "The trainwell authors"})
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as f:
        writer.write(f)


def print_book(html_dir: Path, out: Path, pages: list[tuple[str, str]], browser=None) -> dict:
    """Print ``pages`` of the site in ``html_dir`` into ``out``; returns the figures of the run.
    ``browser`` is a Playwright Chromium to use (default: one started here and closed after).
    Raises ``RuntimeError`` listing every page that would print badly (nothing is written then)."""
    missing = [page for page, _ in pages if not (html_dir / page).is_file()]
    if missing:
        raise FileNotFoundError(f"print_book: not in {html_dir} (build the site first): {missing}")
    if browser is None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                          args=["--no-sandbox", "--disable-gpu"])
            try:
                return print_book(html_dir, out, pages, browser=chromium)
            finally:
                chromium.close()
    started = time.perf_counter()
    sections, problems = [], []
    with serve(html_dir) as server:
        tab = browser.new_page()
        for page, part in pages:
            title = page_title(html_dir, page)
            bad = open_for_paper(tab, f"{server}/{page}")
            problems += [f"{page}: {p}" for p in bad]
            sections.append((page, part, title, print_page(tab, title)))
            print(f"  {time.perf_counter() - started:6.1f} s  {page}", flush=True)
        if problems:
            tab.close()
            raise RuntimeError("these would print badly:\n  " + "\n  ".join(problems))
        # the contents page, printed twice: once to learn its own length, then with the page numbers
        entries = [(part, title, 0) for _, part, title, _ in sections]
        front = b""
        for _ in range(2):
            start = 1 + (_pdf_pages(front) if front else 1)
            numbered = []
            for (part, title, _), (_, _, _, data) in zip(entries, sections, strict=True):
                numbered.append((part, title, start))
                start += _pdf_pages(data)
            tab.set_content(contents_html(numbered))
            front = tab.pdf(**PAPER, print_background=True)
        tab.close()
        merge(front, sections, server, out)
    return {"pages": sum(_pdf_pages(d) for *_, d in sections) + _pdf_pages(front),
            "sections": len(sections), "bytes": out.stat().st_size,
            "seconds": time.perf_counter() - started}


def page_title(html_dir: Path, page: str) -> str:
    """The page's heading as a reader sees it, with its section number (``1.4. Norm penalties as
    constraints``), without the markup or the permalink sign."""
    text = (html_dir / page).read_text(encoding="utf-8")
    # the article's heading (with its permalink), not the theme's unnumbered copy for printing
    found = next((h for h in re.finditer(r"<h1[^>]*>(.*?)</h1>", text, re.S) if "headerlink" in h.group(1)),
                 None)
    if found is None:
        raise ValueError(f"page_title: {page} has no <h1> with a permalink")
    plain = html.unescape(re.sub(r"<[^>]+>", "", found.group(1)))
    return re.sub(r"\s+", " ", plain.replace("#", "").replace("\N{PILCROW SIGN}", "")).strip()


def expected_figures(html_dir: Path, pages: list[str]) -> int:
    """Figures the printed pages must hold: each output image outside a widget (the site's
    ``_images/``), and one picture per interactive figure (the one its sliders show first)."""
    count = 0
    for page in pages:
        text = (html_dir / page).read_text(encoding="utf-8")
        count += len(re.findall(r'<img[^>]*src="[^"]*_images/', text))
        count += text.count('type="application/vnd.jupyter.widget-view+json"')
    return count


def check_pdf(path: Path, sections: list[str], figures: int) -> list[str]:
    """What is wrong with the printed book at ``path``: a section missing from the bookmarks, fewer
    images than ``figures``, or a character set outside the paper (cut at its edge)."""
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    problems = []
    titles = []

    def flatten(items):
        for item in items:
            if isinstance(item, list):
                flatten(item)
            else:
                titles.append(str(item.title))

    flatten(reader.outline)
    missing = [s for s in sections if s not in titles]
    if missing:
        problems.append(f"sections missing from the bookmarks: {missing}")
    images = sum(len(page.images) for page in reader.pages)
    if images < figures:
        problems.append(f"{images} images in the PDF, fewer than the {figures} figures of the pages")
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(path))
    for number in range(len(document)):
        page = document[number]
        width, height = page.get_size()
        text = page.get_textpage()
        everything = "".join(text.get_text_range().split())
        on_paper = "".join(text.get_text_bounded(0, 0, width, height).split())
        if len(on_paper) < len(everything):
            problems.append(f"page {number + 1}: {len(everything) - len(on_paper)} characters set outside "
                            f"the paper")
    document.close()
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", type=Path, default=DEFAULT_HTML)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--pages", nargs="*", help="print only these pages (default: the whole book)")
    parser.add_argument("--check", action="store_true", help="read the PDF back and check it")
    args = parser.parse_args(argv)
    order = reading_order()
    if args.pages:
        unknown = [p for p in args.pages if p not in dict(order)]
        if unknown:
            parser.error(f"--pages: not pages of the book: {unknown}")
        order = [(p, part) for p, part in order if p in args.pages]
    run = print_book(args.html, args.out, order)
    print(f"{args.out}: {run['pages']} pages, {run['bytes'] / 1e6:.1f} MB, {run['sections']} sections, "
          f"printed in {run['seconds']:.0f} s")
    if args.check:
        pages = [p for p, _ in order]
        problems = check_pdf(args.out, [page_title(args.html, p) for p in pages],
                             expected_figures(args.html, pages))
        print("\n".join(problems) or "checked: every section bookmarked, every figure present, "
              "no text outside the paper")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
