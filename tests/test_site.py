"""The website: it builds with warnings as errors, and a reader's browser sees what it should.

The build runs once per session (``jupyter-book build . -W -n --keep-going``). The browser check
serves ``_build/html`` on 127.0.0.1, opens pages in headless Debian Chromium through Playwright, and
asserts that math is typeset by MathJax, every image loaded, the Colab launch link is present,
widgets render, nothing failed in the console, and no request left the origin. Screenshots are
saved under ``_build/screenshots/`` for a person to look at.
"""
from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
# (page, must have typeset math, must have a widget)
PAGES = [("index.html", False, False), ("book/intro.html", False, False),
         ("book/using/using_this_book.html", True, True), ("book/regularization/index.html", True, False),
         ("book/batchnorm/algorithm1.html", True, False), ("book/batchnorm/figure1.html", False, False),
         ("book/dropout/regularizers.html", True, False), ("book/dropout/practice.html", True, False),
         ("book/appendix/benchmarks.html", True, False),
         ("book/appendix/bibliography.html", False, False)]

pytestmark = pytest.mark.site


@pytest.fixture(scope="session")
def built_site():
    jb = Path(sys.executable).parent / "jupyter-book"
    shutil.rmtree(ROOT / "_build" / ".doctrees", ignore_errors=True)
    proc = subprocess.run([str(jb), "build", str(ROOT), "-W", "-n", "--keep-going"], cwd=ROOT,
                          capture_output=True, text=True, timeout=1800)
    log = proc.stdout + proc.stderr
    (ROOT / "_build").mkdir(exist_ok=True)
    (ROOT / "_build" / "build.log").write_text(log)
    return proc.returncode, log


def test_site_builds_without_warnings(built_site):
    code, log = built_site
    warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    assert code == 0 and not warnings, "\n".join(warnings[:20]) or log[-3000:]
    for page, *_ in PAGES:
        assert (HTML / page).is_file(), page


def test_mathjax_and_widget_manager_are_served_locally(built_site):
    page = (HTML / "book/using/using_this_book.html").read_text()
    assert "cdn.jsdelivr" not in page and "cdnjs" not in page and "unpkg" not in page
    assert (HTML / "_static/mathjax/tex-chtml.js").is_file()
    assert (HTML / "_static/@jupyter-widgets/html-manager/dist/embed-amd.js").is_file()
    assert 'data-jupyter-widgets-cdn="../../_static/"' in page
    assert (HTML / "_static/requirejs/require.js").is_file()


@pytest.fixture(scope="module")
def server(built_site):
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield b
        b.close()


@pytest.mark.parametrize("page, has_math, has_widget", PAGES)
def test_page_as_a_reader_sees_it(server, browser, tmp_path, page, has_math, has_widget):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    outside, failed, errors = [], [], []

    def route(r):
        url = r.request.url
        if url.startswith(server) or url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            outside.append(url)
            r.abort()

    tab.route("**/*", route)
    tab.on("requestfailed", lambda req: failed.append(f"{req.url} ({req.failure})"))
    tab.on("response", lambda resp: resp.status >= 400 and failed.append(f"{resp.url} -> {resp.status}"))
    tab.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto(f"{server}/{page}", wait_until="networkidle")

    if has_math:
        ready = "() => !!(window.MathJax && MathJax.startup && MathJax.startup.promise)"
        tab.wait_for_function(ready, timeout=20000)
        tab.evaluate("() => MathJax.startup.promise")
        n_math = tab.locator(".math").count()
        n_typeset = tab.locator("mjx-container").count()
        assert n_math > 0 and n_typeset >= n_math, f"{n_typeset} of {n_math} formulas typeset"
        assert tab.locator("mjx-merror").count() == 0, "MathJax reported a TeX error"
    if has_widget:
        tab.wait_for_selector(".widget-slider, .jupyter-widgets", timeout=20000)
        assert tab.locator(".jupyter-widgets").count() > 0
    if (ROOT / page.replace(".html", ".ipynb")).exists():  # every notebook page offers Colab
        colab = tab.locator('a[href^="https://colab.research.google.com/github/"]')
        assert colab.count() > 0, "no Colab launch link"
    broken = tab.evaluate("() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))"
                          ".map(i => i.src)")
    n_images = tab.evaluate("() => document.images.length")
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / (page.replace("/", "_").replace(".html", ".png"))), full_page=False)
    tab.close()
    context.close()
    assert not outside, f"requests left the origin: {outside}"
    assert not failed, f"failed requests: {failed}"
    assert not broken, f"{len(broken)} of {n_images} images did not load: {broken}"
    assert not errors, f"console errors: {errors}"
