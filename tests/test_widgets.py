"""tw.widgets.switcher on both widget libraries a reader meets: ipywidgets 8 (the lock, the website)
links sliders to Stack widgets in the browser; ipywidgets 7 (Colab) has no Stack and swaps the page
from Python. The fallback is tested here by hiding Stack; `make compat` runs it on ipywidgets 7.7.1."""
import ipywidgets as W
import pytest

import trainwell as tw

HAS_STACK = hasattr(W, "Stack")


def _pages(n, m=None):
    if m is None:
        return [W.HTML(f"page {i}") for i in range(n)]
    return [[W.HTML(f"page {i},{j}") for j in range(m)] for i in range(n)]


@pytest.mark.skipif(not HAS_STACK, reason="ipywidgets 7 has no Stack (Colab's version)")
def test_on_ipywidgets_8_the_sliders_are_linked_to_stacks_in_the_browser(monkeypatch):
    links = []
    link = W.jslink
    monkeypatch.setattr(W, "jslink", lambda a, b: links.append((a, b)) or link(a, b))
    first = W.SelectionSlider(options=["a", "b"])
    second = W.IntSlider(min=0, max=2)
    pages = _pages(2, 3)
    shown = tw.widgets.switcher(pages, [first, second])
    assert isinstance(shown, W.Stack) and len(shown.children) == 2
    assert [list(page.children) for page in shown.children] == pages
    assert links == [((second, "value"), (page, "selected_index")) for page in shown.children] + [
        ((first, "index"), (shown, "selected_index"))]


def test_without_stack_the_page_follows_the_sliders_from_python(monkeypatch):
    if HAS_STACK:
        monkeypatch.delattr(W, "Stack")  # what Colab's ipywidgets 7.7.1 looks like
    first = W.SelectionSlider(options=["a", "b"])
    second = W.IntSlider(min=0, max=2)
    pages = _pages(2, 3)
    shown = tw.widgets.switcher(pages, [first, second])
    assert isinstance(shown, W.Box) and shown.children == (pages[0][0],)
    second.value = 2
    assert shown.children == (pages[0][2],)
    first.index = 1
    assert shown.children == (pages[1][2],)
    one = W.IntSlider(min=0, max=3, value=2)
    alone = tw.widgets.switcher(_pages(4), [one])
    assert alone.children[0].value == "page 2"
    one.value = 0
    assert alone.children[0].value == "page 0"


def test_the_book_s_widgets_build_without_stack(monkeypatch, switcher_pages):
    import numpy as np

    if HAS_STACK:
        monkeypatch.delattr(W, "Stack")
    box = tw.widgets.image_browser(np.random.rand(3, 64), [0, 1, 2], shape=(8, 8), scale=2)
    slider, pages = box.children
    assert [page.children[-1].value for page in switcher_pages(pages, [slider])] == [
        f"<b>label: {i}</b>" for i in range(3)]


def test_a_picture_carries_its_description():
    box = tw.widgets.picture(b"\x89PNG\r\n\x1a\n", "a red square & a <circle>")
    image, caption = box.children
    assert image.value == b"\x89PNG\r\n\x1a\n"
    # escaped, and marked for _static/a11y.js, which makes it the image's alt text on the website
    assert caption.value == "<small>a red square &amp; a &lt;circle&gt;</small>"
    assert "tw-picture-description" in caption._dom_classes
    for bad in ("", "   ", None):
        with pytest.raises(ValueError, match="description must be a non-empty str"):
            tw.widgets.picture(b"", bad)
