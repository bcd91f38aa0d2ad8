"""The website: it builds with warnings as errors, and a reader's browser sees what it should.

The build runs once per session (``jupyter-book build . -W -n --keep-going``). The browser check
serves ``_build/html`` on 127.0.0.1, opens pages in headless Debian Chromium through Playwright, and
asserts that math is typeset by MathJax, every image loaded, the Colab launch link is present,
widgets render, nothing failed in the console, and no request left the origin. It also reads every
page as a reader does at 1280 px (issue 11): no code or output block scrolls sideways (with every
collapsed block opened), every figure is shown at 80% or more of the size it was drawn for and has
a caption, and no nbval marker, frozen progress bar or raw TeX is visible. Screenshots are saved
under ``_build/screenshots/`` for a person to look at.
"""
from __future__ import annotations

import functools
import http.server
import re
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
# (page, must have typeset math, must have a widget): every page of the book. Math found on any
# page must be typeset; the flag says the page is known to have some.
_NOTEBOOKS = sorted(p.relative_to(ROOT).with_suffix(".html").as_posix()
                    for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
_WITH_MATH_AND_WIDGET = {"book/using/using_this_book.html"}
PAGES = ([("index.html", False, False), ("book/intro.html", False, False),
          ("book/using/install.html", False, False),
          ("book/regularization/index.html", True, False), ("book/dropout/index.html", False, False),
          ("book/batchnorm/index.html", False, False), ("book/optimization/index.html", False, False),
          ("book/together/index.html", False, False), ("book/appendix/checks.html", False, False),
          ("book/appendix/benchmarks.html", True, False),
          ("book/appendix/glossary.html", True, False), ("book/appendix/bibliography.html", False, False)]
         + [(page, page != "book/batchnorm/figure1.html", page in _WITH_MATH_AND_WIDGET)
            for page in _NOTEBOOKS])
# What a reader must not meet on a page, as one script run in it after MathJax has typeset.
# At a phone's width (wide = false) code may scroll inside its block and figures shrink, but the
# page itself must not scroll sideways and no figure may be distorted.
READER_PROBLEMS_JS = r"""(wide) => {
  const art = document.querySelector('article.bd-article') || document.body;
  art.querySelectorAll('details').forEach(d => { d.open = true; });
  const problems = [];
  const shown = el => el.getClientRects().length > 0 && el.clientWidth > 0;
  const page = document.scrollingElement;
  if (page.scrollWidth > window.innerWidth + 1) {
    problems.push(`the page scrolls sideways (${page.scrollWidth} px in ${window.innerWidth})`);
  }
  for (const pre of art.querySelectorAll('pre')) {
    if (wide && shown(pre) && pre.scrollWidth > pre.clientWidth + 1) {
      const line = pre.innerText.split('\n').reduce((a, b) => (b.length > a.length ? b : a), '');
      problems.push(`scrolls sideways (${pre.scrollWidth} px in ${pre.clientWidth}): ${line.slice(0, 60)}`);
    }
  }
  // Figures keep their text legible: at 1280 px shown at 80% or more of the size they were drawn
  // for, on a phone at 72% or more (9-point text at 10 px, _static/figures.js), widgets' pictures too
  const least = wide ? 0.8 : 0.72;
  for (const img of art.querySelectorAll('.cell_output img')) {
    const widget = !!img.closest('.jupyter-widgets, .widget-output');
    if (widget && !shown(img)) continue;  // a picture of an interactive figure not chosen now
    // the size it was drawn for: a retina PNG carries its CSS size as an inline style; widgets' are 1x
    const drawn = widget ? img.naturalWidth
      : parseFloat(img.getAttribute('width')) || parseFloat(img.style.width) || img.naturalWidth;
    if (img.clientWidth < least * drawn) {
      problems.push(`figure shown at ${Math.round(100 * img.clientWidth / drawn)}% of its ${drawn} px`);
    }
    // a widget's pictures are described by the widget (its title) and captioned in the text
    if (widget) {
      if ((img.getAttribute('title') || img.getAttribute('alt') || '').length < 10) {
        problems.push('a picture of an interactive figure has no description for a screen reader');
      }
      continue;
    }
    const squeeze = (img.clientHeight / img.clientWidth) / (img.naturalHeight / img.naturalWidth);
    if (img.naturalWidth > 0 && Math.abs(squeeze - 1) > 0.02) {
      problems.push(`figure distorted: height/width ${Math.round(100 * squeeze)}% of the drawn ratio`);
    }
    const fig = img.closest('figure');
    if (!fig || !fig.querySelector('figcaption')) {
      problems.push(`figure without a caption: ${img.src.slice(-20)}`);
    }
    const alt = img.getAttribute('alt') || '';
    if (alt.length < 10 || /\.(png|svg|jpe?g|gif)$/.test(alt)) {
      problems.push(`figure without a description for a screen reader (alt "${alt.slice(-30)}")`);
    }
  }
  // at 1280 px a display equation fits the column (at a phone's width it may scroll in its own box)
  for (const eq of art.querySelectorAll('mjx-container[display="true"]')) {
    if (wide && eq.scrollWidth > eq.clientWidth + 1) {
      const id = (eq.closest('[id]') || {}).id || '';
      problems.push(`equation scrolls sideways (${eq.scrollWidth} px in ${eq.clientWidth}): ${id}`);
    }
  }
  // formulas are read, not tab stops; Chinese text is marked as Chinese for a screen reader's voice
  const mathStops = [...art.querySelectorAll('mjx-container')].filter(m => m.tabIndex >= 0).length;
  if (mathStops) problems.push(`${mathStops} formulas are tab stops`);
  const text = art.innerText;
  if (/NBVAL/.test(text)) problems.push('an nbval marker is visible');
  const bar = text.match(/\d+\/\d+ \[\d+:\d+|\d+(\.\d+)?(it|s)\/(s|it)\]|\u2588{3}/);
  if (bar) problems.push(`a progress bar is visible: ${bar[0]}`);
  const walker = document.createTreeWalker(art, NodeFilter.SHOW_TEXT);
  const skip = 'pre, code, mjx-container, script, style, .math, .MathJax';
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement.closest(skip)) continue;
    const tex = n.textContent.match(/\\[()\[\]]|\\(frac|sum|mathrm|sqrt|begin|mathbb)\b|\$[^$\s][^$]*\$/);
    if (tex) problems.push(`raw TeX: ${tex[0].slice(0, 40)}`);
    const han = n.textContent.match(/[\u4e00-\u9fff]+/);
    if (han && !n.parentElement.closest('[lang^="zh"]')) {
      problems.push(`Chinese without lang="zh": ${han[0]}`);
    }
  }
  return problems;
}"""

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
    dist = HTML / "_static/@jupyter-widgets/html-manager/dist"
    fonts = [f.name for f in dist.iterdir() if f.suffix in (".woff", ".woff2", ".ttf", ".eot")]
    missing = [f for f in fonts if not (HTML / "_static/@jupyter-widgets" / f).is_file()]
    assert fonts and not missing, f"widget fonts not mirrored at the CDN root: {missing}"
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

    if has_math or tab.locator(".math").count() > 0:
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
    reader_problems = tab.evaluate(READER_PROBLEMS_JS, True)
    reader_problems += _accessibility_problems(tab)
    tab.set_viewport_size({"width": 390, "height": 844})
    reader_problems += [f"at 390 px: {p}" for p in tab.evaluate(READER_PROBLEMS_JS, False)]
    tab.screenshot(path=str(SHOTS / (page.replace("/", "_").replace(".html", "_390.png"))), full_page=False)
    tab.close()
    context.close()
    assert not outside, f"requests left the origin: {outside}"
    assert not failed, f"failed requests: {failed}"
    assert not broken, f"{len(broken)} of {n_images} images did not load: {broken}"
    assert not errors, f"console errors: {errors}"
    problems = "\n".join(reader_problems)
    assert not reader_problems, f"{len(reader_problems)} problems a reader meets:\n{problems}"


def _axe_source() -> str:
    import axe_playwright_python  # axe-core's own build, shipped in a wheel (no download at test time)

    return str(Path(axe_playwright_python.__file__).parent / "axe.min.js")


# Serious or critical violations not fixed yet, each with its reason: (rule, CSS target prefix).
AXE_PENDING: set[tuple[str, str]] = set()


def _accessibility_problems(tab) -> list[str]:
    """axe-core's serious and critical WCAG 2.1 A and AA violations on the page as it is shown."""
    # Colours are measured as they end: a hidden cell opened by the reader check fades in, and axe
    # run during the fade measured blends (a contrast of 3.3 one run, 4.1 the next).
    tab.add_style_tag(content="*, *::before, *::after { transition: none !important; "
                              "animation: none !important; }")
    tab.add_script_tag(path=_axe_source())
    # preload: false, or axe fetches every stylesheet again for its CSSOM and resolves their @import
    # relative to the page (a request for a basic.css that does not exist there)
    result = tab.evaluate("() => axe.run(document, {preload: false, runOnly: {type: 'tag', values: "
                          "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})")
    problems = []
    for violation in result["violations"]:
        if violation["impact"] not in ("serious", "critical"):
            continue
        for node in violation["nodes"]:
            target = " ".join(map(str, node["target"]))
            if any(violation["id"] == rule and target.startswith(where) for rule, where in AXE_PENDING):
                continue
            problems.append(f"axe {violation['impact']} {violation['id']}: {target[:80]}")
    return problems


BAD_PAGE = """<html><body><article class="bd-article" style="width: 400px">
<pre style="overflow-x: auto; width: 300px">""" + "x = 1 + " * 40 + """</pre>
<details><pre style="overflow-x: auto; width: 300px">""" + "hidden = 2 * " * 40 + """</pre></details>
<div class="cell_output"><img width="800" style="max-width: 100%"
  src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"></div>
<div class="cell_output"><figure><img style="width: 200px; height: 50px"
  src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7">
  <figcaption>squeezed to a quarter of its height</figcaption></figure></div>
<p># NBVAL_IGNORE_OUTPUT</p><p>3/3 [00:44&lt;00:00, 14.77s/it]</p><p>where \\(c = 0\\) holds</p>
<p>dropout (随机失活)</p><p lang="zh">正则化</p>
</article><div style="width: 2000px">too wide for any screen</div></body></html>"""


def test_the_reader_check_can_fail(browser):
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    tab.set_content(BAD_PAGE)
    found = tab.evaluate(READER_PROBLEMS_JS, True)
    axe = _accessibility_problems(tab)
    assert any("image-alt" in p for p in axe), axe  # the bad page's images have no alt text
    narrow = tab.evaluate(READER_PROBLEMS_JS, False)
    tab.close()
    assert sum(p.startswith("scrolls sideways") for p in found) == 2, found  # details are opened
    assert any("figure shown at 50% of its 800 px" in p for p in found), found
    assert any("figure without a caption" in p for p in found), found
    assert any("nbval marker" in p for p in found) and any("progress bar" in p for p in found), found
    assert any(p.startswith("raw TeX") for p in found), found
    assert [p for p in found if p.startswith("Chinese")] == ['Chinese without lang="zh": 随机失活'], found
    assert sum(p.startswith("figure without a description") for p in found) == 2, found  # no alt at all
    assert sum(p.startswith("figure distorted") for p in found) == 1, found  # only the squeezed one
    for problems in (found, narrow):
        assert any(p.startswith("the page scrolls sideways") for p in problems), problems
    # at a phone's width, code blocks may scroll and figures shrink to 72%; distortion still counts
    assert not any(p.startswith("scrolls sideways") for p in narrow), narrow
    assert any("figure shown at 50% of its 800 px" in p for p in narrow), narrow
    assert any(p.startswith("figure distorted") for p in narrow), narrow


# Which sidebars are open, and the visible toggles of each kind (issue 28: the themes' scripts bind a
# toggle's click to the first element of its class in the page, which used to be a hidden copy).
NAV_STATE_JS = r"""() => {
  const shown = el => !!el && el.getClientRects().length > 0 && el.getBoundingClientRect().width > 0
    && getComputedStyle(el).visibility !== 'hidden';
  const open = id => { const d = document.getElementById(id); return !!(d && d.open); };
  const toggles = kind => [...document.querySelectorAll(`.${kind}-toggle`)];
  return {primaryModal: open('pst-primary-sidebar-modal'),
          secondaryModal: open('pst-secondary-sidebar-modal'),
          primary: shown(document.getElementById('pst-primary-sidebar')),
          secondary: shown(document.getElementById('pst-secondary-sidebar')),
          primaryToggles: toggles('primary').length, secondaryToggles: toggles('secondary').length};
}"""
# width -> what clicking the visible toggle of each kind must change (None: no visible toggle, the
# sidebar is always shown at that width)
NAVIGATION = {
    390: {"primary": ("primaryModal", False, True), "secondary": ("secondaryModal", False, True)},
    1024: {"primary": ("primary", True, False), "secondary": ("secondaryModal", False, True)},
    1280: {"primary": ("primary", True, False), "secondary": None},
}


@pytest.mark.parametrize("width", list(NAVIGATION))
def test_the_sidebar_toggles_work_at_every_width(server, browser, width):
    for kind, expected in NAVIGATION[width].items():
        tab = browser.new_page(viewport={"width": width, "height": 844})
        tab.goto(f"{server}/book/regularization/noise.html", wait_until="networkidle")
        before = tab.evaluate(NAV_STATE_JS)
        assert before["primaryToggles"] == 1 and before["secondaryToggles"] == 1, before  # no hidden copies
        toggles = tab.locator(f".{kind}-toggle")
        visible = [toggles.nth(i) for i in range(toggles.count()) if toggles.nth(i).is_visible()]
        if expected is None:
            assert not visible and before[kind], f"at {width} px the {kind} sidebar is always shown"
            tab.close()
            continue
        key, was, becomes = expected
        assert len(visible) == 1 and before[key] == was, (kind, before)
        visible[0].click()
        tab.wait_for_timeout(300)
        after = tab.evaluate(NAV_STATE_JS)
        tab.screenshot(path=str(SHOTS / f"navigation_{width}_{kind}.png"))
        tab.close()
        assert after[key] == becomes, f"at {width} px the {kind} toggle did not change {key}: {after}"


# For each source line of the listings tw.show prints: the columns of its wrapped rows (issue 28).
LISTING_ROWS_JS = r"""() => {
  const out = [];
  for (const pre of document.querySelectorAll('div.cell_output .highlight-python pre')) {
    const lines = pre.querySelectorAll(':scope > .tw-line');
    // what a reader copies: one text line per source line, blank lines included
    const selection = getSelection(), all = document.createRange();
    all.selectNodeContents(pre);
    selection.removeAllRanges();
    selection.addRange(all);
    const n = selection.toString().replace(/\n$/, '').split('\n').length;
    selection.removeAllRanges();
    out.push({lines: lines.length, textLines: n});
    const ch = parseFloat(getComputedStyle(pre).fontSize) * 0.6;
    for (const line of lines) {
      const box = line.getBoundingClientRect(), range = document.createRange();
      range.selectNodeContents(line);
      const rects = [...range.getClientRects()].filter(r => r.width > 0);
      if (!rects.length) continue;
      const top = Math.min(...rects.map(r => r.top));
      const later = rects.filter(r => r.top > top + 2);
      const indent = line.textContent.length - line.textContent.replace(/^ +/, '').length;
      if (later.length) out.push({hang: parseFloat(line.style.getPropertyValue('--tw-hang')),
        indent, left: Math.min(...later.map(r => r.left)) - box.left, ch});
    }
  }
  return out;
}"""


@pytest.mark.parametrize("width", [390, 1280])
def test_listings_keep_their_indentation_when_a_line_wraps(server, browser, width):
    tab = browser.new_page(viewport={"width": width, "height": 900})
    tab.goto(f"{server}/book/regularization/noise.html", wait_until="networkidle")
    found = tab.evaluate(LISTING_ROWS_JS)
    tab.close()
    blocks = [f for f in found if "lines" in f]
    wrapped = [f for f in found if "hang" in f]
    assert blocks and all(b["lines"] == b["textLines"] for b in blocks), blocks  # every line is a block
    assert len(wrapped) >= (20 if width == 390 else 2), f"{len(wrapped)} wrapped lines"
    for w in wrapped:  # a wrapped row starts four columns right of its line's indentation
        assert w["hang"] == w["indent"] + 4, w
        assert w["left"] >= (w["indent"] + 4) * w["ch"] - 1.5, w


def test_hang_lines_wraps_only_the_lines_of_python_output_listings():
    sys.path.insert(0, str(ROOT / "tools"))
    from sphinx_listings import hang_lines

    listing = ('<div class="cell_output docutils container">\n<div class="highlight-python notranslate">'
               '<div class="highlight"><pre><span></span><span class="k">def</span> f():\n'
               '<span class="w">    </span><span class="sd">"""a &lt;b&gt;</span>\n'
               '<span class="sd">       c"""</span>\n\n</pre></div></div></div>')
    code_input = listing.replace("cell_output", "cell_input").replace("highlight-python",
                                                                      "highlight-ipython3")
    out = hang_lines(listing + code_input)
    assert out.count('class="tw-line"') == 4 and code_input in out
    assert [int(h) for h in re.findall(r"--tw-hang: (\d+)ch", out)] == [4, 8, 11, 4]


def test_figures_get_their_caption_as_alt_text_and_chinese_its_language():
    sys.path.insert(0, str(ROOT / "tools"))
    from sphinx_a11y import caption_alt_text, tag_chinese

    fig = ('<figure><img alt="../../_images/ab12.png" src="../../_images/ab12.png" />'
           '<figcaption><p><span class="caption-number">Fig. 1.2 </span><span class="caption-text">Loss '
           '<em>per</em> epoch &amp; seed.</span></p></figcaption></figure>')
    assert '<img alt="Loss per epoch &amp; seed." src=' in caption_alt_text(fig)
    kept = fig.replace("../../_images/ab12.png\" src", "A plot\" src")
    assert caption_alt_text(kept) == kept  # an alt text someone wrote is kept
    page = '<p>dropout (随机失活)</p><script>var s = "正则化";</script><a title="收敛">收敛</a>'
    assert tag_chinese(page) == ('<p>dropout (<span lang="zh">随机失活</span>)</p><script>var s = "正则化";'
                                 '</script><a title="收敛"><span lang="zh">收敛</span></a>')


@pytest.mark.parametrize("query", ["momentum", "dropout"])
def test_search_snippets_show_the_pages_prose(server, browser, query):
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    tab.goto(f"{server}/search.html?q={query}", wait_until="networkidle")
    tab.wait_for_function("() => document.querySelectorAll('#search-results p.context').length >= 5",
                          timeout=30000)
    tab.wait_for_timeout(1000)  # the last pages' snippets
    snippets = tab.evaluate("() => [...document.querySelectorAll('#search-results p.context')]"
                            ".map(p => p.textContent)")
    tab.close()
    scaffolding = re.compile(r"\\[()\[\]]|\\frac|\.pdf|\bContents\b|^\s*import |\btw\.\w+\(|\[check\]")
    found = [s[:120] for s in snippets if scaffolding.search(s)]
    assert len(snippets) >= 5 and not found, \
        f"{len(found)} of {len(snippets)} snippets show scaffolding: {found}"


FOCUS_JS = r"""() => {
  const e = document.activeElement, cs = getComputedStyle(e);
  const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0;
  const ring = cs.boxShadow !== 'none' && !/^rgba\([^)]*, 0\)/.test(cs.boxShadow);
  const name = e.getAttribute('aria-label') || e.title || e.textContent.trim().slice(0, 30);
  return {tag: e.tagName, name, visible: outline || ring};
}"""


def test_keyboard_focus_is_visible_on_every_control_of_a_page(server, browser):
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    tab.goto(f"{server}/book/regularization/noise.html", wait_until="networkidle")
    seen, hidden = [], []
    for _ in range(45):  # the header, the sidebar's navigation, the article header, the first cells
        tab.keyboard.press("Tab")
        focus = tab.evaluate(FOCUS_JS)
        seen.append(focus)
        if not focus["visible"]:
            hidden.append(f"{focus['tag']} {focus['name']!r}")
    tab.screenshot(path=str(SHOTS / "focus_last.png"))
    tab.close()
    assert {f["tag"] for f in seen} >= {"A", "BUTTON", "SUMMARY"}, seen
    assert not hidden, f"focus not visible on: {hidden}"


# Widget pages and the sliders their interactive figures have (issue 28: each figure was drawn three
# times, by three builds of the widget manager that every page loaded, and only one copy worked).
WIDGET_SLIDERS = {"book/using/using_this_book.html": 1, "book/regularization/constraints.html": 1,
                  "book/optimization/side_by_side.html": 2}
SHOWN_WIDGET_IMAGES_JS = """() => [...document.querySelectorAll('.jupyter-widgets img')]
  .filter(i => i.getClientRects().length && i.getBoundingClientRect().width > 0).map(i => i.src)"""
JS_BYTES_JS = """() => performance.getEntriesByType('resource').filter(r => /\\.js(\\?|$)/.test(r.name))
  .map(r => [r.name, r.encodedBodySize])"""


# The search button's magnifier: a Font Awesome glyph drawn from the web font, as wide as a letter.
ICON_DRAWN_JS = """() => {
  const icon = document.querySelector('.search-button i.fa-magnifying-glass, .search-button__button i');
  if (!icon) return false;
  const glyph = getComputedStyle(icon, '::before');
  return /Font Awesome/.test(glyph.fontFamily) && glyph.content !== 'none' && document.fonts.check(
    `900 16px "${glyph.fontFamily.split(',')[0].replace(/["']/g, '')}"`);
}"""
SLIDER_TRACKS_JS = """() => [...document.querySelectorAll('.widget-slider .noUi-target')]
  .filter(t => t.getClientRects().length).map(t => Math.round(t.getBoundingClientRect().width))"""


@pytest.mark.parametrize("page", list(WIDGET_SLIDERS))
def test_widget_controls_are_usable_on_a_phone(server, browser, page):
    tab = browser.new_page(viewport={"width": 390, "height": 844})
    tab.goto(f"{server}/{page}", wait_until="networkidle")
    tab.wait_for_selector(".widget-slider .noUi-handle", timeout=20000)
    tracks = tab.evaluate(SLIDER_TRACKS_JS)
    tab.close()
    assert len(tracks) == WIDGET_SLIDERS[page] and min(tracks) >= 150, f"slider tracks {tracks} px"


@pytest.mark.parametrize("page", list(WIDGET_SLIDERS))
def test_each_interactive_figure_is_drawn_once_and_its_slider_works_without_a_kernel(server, browser, page):
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    tab.goto(f"{server}/{page}", wait_until="networkidle")
    tab.wait_for_selector(".widget-slider .noUi-handle", timeout=20000)
    sliders = tab.locator(".widget-slider").count()
    before = tab.evaluate(SHOWN_WIDGET_IMAGES_JS)
    handle = tab.locator(".widget-slider .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    tab.keyboard.press("ArrowRight")
    tab.keyboard.press("ArrowRight")
    tab.wait_for_timeout(500)
    after = tab.evaluate(SHOWN_WIDGET_IMAGES_JS)
    scripts = [name for name, _ in tab.evaluate(JS_BYTES_JS) if "@jupyter-widgets" in name]
    tab.close()
    assert sliders == WIDGET_SLIDERS[page], f"{sliders} sliders: a figure is drawn more than once"
    assert len(before) == 1 and len(after) == 1 and before != after, (before, after)
    assert len(scripts) == 1 and scripts[0].split("?")[0].endswith("/embed-amd.js"), scripts


def test_pages_without_widgets_load_no_widget_manager(server, browser, capsys):
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    sizes = {}
    for page in ("book/intro.html", "book/regularization/noise.html", "book/appendix/checks.html",
                 "book/using/using_this_book.html"):
        tab.goto(f"{server}/{page}", wait_until="networkidle")
        loaded = tab.evaluate(JS_BYTES_JS)
        sizes[page] = (sum(size for _, size in loaded), max(loaded, key=lambda r: r[1]))
        widgets = [name for name, _ in loaded if "@jupyter-widgets" in name or "require" in name]
        assert bool(widgets) == (page in WIDGET_SLIDERS), (page, widgets)
        assert not [name for name, _ in loaded if "fontawesome" in name], page
        # the icons come from Font Awesome's web font instead (tools/sphinx_offline.py, point 4)
        assert tab.evaluate(ICON_DRAWN_JS), f"{page}: the header's icons are not drawn"
    tab.close()
    with capsys.disabled():
        for page, (total, (largest, size)) in sizes.items():
            print(f"\n  {page}: {total / 1e6:.2f} MB of JavaScript, largest {largest.split('/')[-1]} "
                  f"{size / 1e6:.2f} MB")
    heavy = {page: total for page, (total, _) in sizes.items() if page not in WIDGET_SLIDERS
             and total >= 2e6}
    assert not heavy, f"pages without widgets loading 2 MB of JavaScript or more: {heavy}"


# A few pages printed as `make pdf` prints the whole book (tools/print_book.py): the glossary (Chinese
# terms), a page with tw.show listings and many equations, and one with an interactive figure.
PRINTED = ["book/appendix/glossary.html", "book/optimization/adam.html",
           "book/regularization/constraints.html"]


def _print_book():
    sys.path.insert(0, str(ROOT / "tools"))
    import print_book

    return print_book


def test_printed_pages_keep_their_math_figures_listings_and_chinese(built_site, browser, tmp_path):
    from pypdf import PdfReader

    pb = _print_book()
    order = [(page, part) for page, part in pb.reading_order() if page in PRINTED]
    assert [page for page, _ in order] == sorted(PRINTED, key=[p for p, _ in pb.reading_order()].index)
    out = tmp_path / "book.pdf"
    run = pb.print_book(HTML, out, order, browser=browser)
    titles = [pb.page_title(HTML, page) for page, _ in order]
    assert pb.check_pdf(out, titles, pb.expected_figures(HTML, PRINTED)) == []
    reader = PdfReader(str(out))
    text = "\n".join(page.extract_text() for page in reader.pages)
    fonts = {str(font.get("/BaseFont", "")) for page in reader.pages
             for font in (page["/Resources"].get("/Font") or {}).values() for font in [font.get_object()]}
    assert run["pages"] == len(reader.pages) >= 1 + len(PRINTED)
    assert "权重衰减" in text and any("WenQuanYi" in f or "CJK" in f or "Noto" in f for f in fonts), fonts
    assert "class Adam" in text  # the tw.show listing, not cut
    # a link to another page of the book leads to that page of the PDF
    links = [a.get_object() for page in reader.pages for a in page.get("/Annots", []) or []]
    actions = [link["/A"].get_object() for link in links if "/A" in link]
    assert any(action.get("/S") == "/GoTo" for action in actions)
    assert not any("127.0.0.1" in str(action.get("/URI", "")) for action in actions)


def test_the_paper_check_can_fail(browser, tmp_path):
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    pb = _print_book()
    # in print layout: the bad page's listings would be cut at the margin
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    tab.set_content(BAD_PAGE)
    laid_out = tab.evaluate(pb.PAPER_PROBLEMS_JS)
    tab.close()
    assert sum("pre cut at the margin" in p for p in laid_out) == 2, laid_out  # details print open
    # in the PDF: a page with no bookmark, no image, and a word set past the paper's right edge
    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"),
                             NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})})
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 12 Tf 50 700 Td (inside) Tj ET BT /F1 12 Tf 640 400 Td (beyond) Tj ET")
    page[NameObject("/Contents")] = writer._add_object(stream)
    bad = tmp_path / "bad.pdf"
    with bad.open("wb") as f:
        writer.write(f)
    problems = pb.check_pdf(bad, ["2.1 Dropout as bagging"], 3)
    assert any("missing from the bookmarks" in p for p in problems), problems
    assert any("0 images in the PDF, fewer than the 3" in p for p in problems), problems
    assert any("page 1: 6 characters set outside the paper" in p for p in problems), problems  # 'beyond'


def test_every_page_links_the_whole_book_as_a_pdf(built_site):
    """The sidebar's link (_templates/pdf-link.html) leads, from every page, to the PDF that `make book`
    prints into the site's root (tools/print_book.py's default output)."""
    pb = _print_book()
    assert pb.DEFAULT_OUT.parent == HTML
    for page, *_ in PAGES:
        if page == "index.html":  # the site's root only redirects to the introduction
            continue
        found = re.search(r'<div class="tw-pdf-link">\s*<a href="([^"]+)"', (HTML / page).read_text())
        assert found, f"{page}: no link to the PDF"
        assert (HTML / page).parent.joinpath(found.group(1)).resolve() == pb.DEFAULT_OUT.resolve(), page
