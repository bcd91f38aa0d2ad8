"""Shared test settings: a non-interactive matplotlib backend, the package's quick size, and no
progress bars (the notebooks' stored outputs are made without them, and nbval's kernels inherit
this environment)."""
import os

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("TRAINWELL_SIZE", "quick")
os.environ["TRAINWELL_PROGRESS"] = "0"


@pytest.fixture
def float64_default():
    """torch's default dtype float64 for the test, restored afterwards."""
    import torch

    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.fixture
def switcher_pages():
    """The function below, for widget tests that must pass on ipywidgets 7 and 8."""
    return _switcher_pages


def _switcher_pages(widget, sliders):
    """Every page a ``tw.widgets.switcher`` can show, in slider order.

    On ipywidgets 8 the sliders are linked to nested ``Stack`` widgets in the browser, which a test
    cannot run: the pages are read by following the stacks. On ipywidgets 7 (Colab's) the switcher
    swaps its page from Python: the sliders are moved here and the page shown is read each time.
    """
    import itertools

    import ipywidgets as W

    positions = [range(len(s.options)) if hasattr(s, "options") else range(s.min, s.max + 1)
                 for s in sliders]
    pages = []
    for where in itertools.product(*positions):
        if isinstance(widget, getattr(W, "Stack", ())):
            page = widget
            for i in where:
                page = page.children[i]
        else:
            for slider, i in zip(sliders, where, strict=True):
                setattr(slider, "index" if hasattr(slider, "options") else "value", i)
            (page,) = widget.children
        pages.append(page)
    return pages
