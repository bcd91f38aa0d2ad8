"""``tw.widgets``: interactive figures for readers who run the notebooks.

Widgets here are linked in the browser (``jslink``), not through Python callbacks, so they keep
working on the static website, where no kernel runs. Each interactive figure in the book also has
a static counterpart. Colab ships ipywidgets 7, which has no ``Stack``: there :func:`switcher`
swaps the pictures from Python instead (Colab always runs a kernel).
"""
from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

from ._validate import check_int


def _png(image: np.ndarray, scale: int, cmap: str) -> bytes:
    import matplotlib.pyplot as plt

    big = np.kron(image, np.ones((scale, scale)))  # crisp pixels at any zoom
    buffer = io.BytesIO()
    plt.imsave(buffer, big, cmap=cmap, format="png")
    return buffer.getvalue()


def picture(png: bytes, description: str):
    """A picture of an interactive figure: ``png`` shown by an ``Image`` widget, above a line of text
    saying what it shows (``description``).

    The text is the picture's alternative for a screen reader: on the website ``_static/a11y.js``
    copies it into the image's ``alt`` and the site's stylesheet keeps the line itself off the screen;
    in Jupyter and Colab it is an ordinary caption. (ipywidgets' own ``tooltip`` cannot carry it: on an
    ``Image`` it stops the widget manager 8 from drawing the view at all.) Returns a ``VBox``.
    """
    import html

    import ipywidgets as W

    if not isinstance(description, str) or not description.strip():
        raise ValueError(f"picture: description must be a non-empty str, got {description!r}")
    caption = W.HTML(f"<small>{html.escape(description.strip(), quote=False)}</small>")
    caption.add_class("tw-picture-description")
    return W.VBox([W.Image(value=png, format="png"), caption])


def image_browser(X, labels: Sequence, *, shape: tuple[int, int], scale: int = 16, cmap: str = "gray_r"):
    """A slider that flips through images (rows of ``X`` reshaped to ``shape``) with their labels."""
    from .plot import _image_shape, _labels, _numbers

    X = _numbers("X", X)
    if X.ndim < 2 or len(X) == 0:
        raise ValueError(f"image_browser: need a non-empty batch of images, got shape {X.shape}")
    shape = _image_shape(shape)
    if int(np.prod(shape)) != int(np.prod(X.shape[1:])):
        raise ValueError(f"image_browser: cannot show rows of size {int(np.prod(X.shape[1:]))} as "
                         f"shape={shape}")
    if labels is None:
        raise TypeError("image_browser: labels must be a sequence with one label per image, got None")
    _labels(labels, len(X), "image")
    scale = check_int("scale", scale, minimum=1, maximum=64)
    if not isinstance(cmap, str):
        raise TypeError(f"image_browser: cmap must be a colormap name such as 'gray_r', got {cmap!r}")
    import ipywidgets as W

    pages = [W.VBox([*picture(_png(x.reshape(shape), scale, cmap), f"example {i}, label {label}").children,
                     W.HTML(f"<b>label: {label}</b>")])
             for i, (x, label) in enumerate(zip(X, labels, strict=True))]
    slider = W.IntSlider(value=0, min=0, max=len(pages) - 1, description="example")
    return W.VBox([slider, switcher(pages, [slider])])


def _position(slider) -> str:
    """The trait that holds a slider's position: ``index`` for a selection slider, else ``value``."""
    return "index" if hasattr(slider, "options") else "value"


def _chosen(pages, sliders):
    for slider in sliders:
        pages = pages[getattr(slider, _position(slider))]
    return pages


def switcher(pages, sliders):
    """Show one of ``pages``, chosen by the positions of ``sliders``.

    ``pages`` is nested one level per slider: ``pages[i]`` for one slider, ``pages[i][j]`` for two,
    the innermost items widgets. With ipywidgets 8 the pages sit in ``Stack`` widgets whose
    ``selected_index`` follows each slider in the browser (``jslink``), so the figure works on the
    static website, where no kernel runs. ipywidgets 7 (Colab's) has no ``Stack``: a ``Box`` then
    shows the chosen page and a Python callback swaps it when a slider moves.
    """
    import ipywidgets as W

    if hasattr(W, "Stack"):
        def stack(level, depth):
            if depth == len(sliders):
                return level
            pages_here = W.Stack([stack(page, depth + 1) for page in level], selected_index=0)
            W.jslink((sliders[depth], _position(sliders[depth])), (pages_here, "selected_index"))
            return pages_here

        return stack(pages, 0)
    box = W.Box([_chosen(pages, sliders)])

    def show_chosen(_change):
        box.children = (_chosen(pages, sliders),)

    for slider in sliders:
        slider.observe(show_chosen, names=_position(slider))
    return box
