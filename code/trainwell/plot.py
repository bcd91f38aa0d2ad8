"""``tw.plot``: the book's one figure style, training curves, several-seed bands and image grids.

The house style (issue 11): every figure is drawn :data:`WIDTH` inches wide at :data:`DPI`, which is
the website's text column at 1280 px, so it is shown at 100% and its 9-10 pt text stays 9-10 pt on
the page; at most two panels sit side by side (:func:`figure` refuses three: stack them or use a
2x2 grid); notebooks render PNGs at twice the resolution for high-DPI screens; and the line styles
cycle together with the colours, so curves stay apart in greyscale and where two coincide.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: The book's colours, in the order curves are drawn (colour-blind safe, after Okabe & Ito).
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
#: Line styles drawn with the colours, one per colour: the n-th curve of an axes gets both.
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (8, 2)), (0, (3, 2)))
#: Marker shapes for scatter plots, in the same order.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
#: Figure width in inches and resolution in pixels per inch: WIDTH * DPI = 770 CSS pixels, the width
#: of the website's text column at a 1280-pixel window (tests/test_site.py measures it).
WIDTH = 7.0
DPI = 110
#: The most panels :func:`figure` puts side by side.
MAX_ACROSS = 2

STYLE = {
    "figure.figsize": (WIDTH, 3.6),
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "figure.constrained_layout.use": True,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "figure.titlesize": 11,
    "lines.linewidth": 1.8,
    "font.size": 10,
    "image.cmap": "gray_r",
}


def use_style() -> None:
    """Apply the book's figure style to matplotlib (called by ``tw.setup()``).

    In IPython it also asks the inline backend for double-resolution PNGs, which myst-nb and
    Jupyter show at their nominal size (sharp on high-DPI screens).
    """
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(STYLE)
    mpl.rcParams["axes.prop_cycle"] = cycler(color=COLORS) + cycler(linestyle=LINESTYLES)
    try:
        from IPython import get_ipython
    except ImportError:  # no IPython: plain matplotlib, nothing more to set
        return
    if get_ipython() is not None:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")


def figure(nrows: int = 1, ncols: int = 1, *, height: float | None = None, **subplots_kw):
    """A figure in the house size: :data:`WIDTH` wide, ``nrows`` x ``ncols`` panels.

    ``height`` defaults to 3.6 inches for one row and 2.9 inches per row otherwise. More than
    :data:`MAX_ACROSS` panels across would shrink the text below legibility, so ``ncols=3`` is
    refused. Other keywords go to ``plt.subplots``. Returns ``(fig, axes)`` like it.
    """
    import matplotlib.pyplot as plt

    for name, value in (("nrows", nrows), ("ncols", ncols)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"figure: {name} must be a positive integer, got {value!r}")
    if ncols > MAX_ACROSS:
        raise ValueError(f"figure: ncols={ncols} puts more than {MAX_ACROSS} panels across a "
                         f"{WIDTH}-inch column; stack them (nrows) or use a 2x2 grid")
    if height is None:
        height = 3.6 if nrows == 1 else 2.9 * nrows
    if not (isinstance(height, (int, float)) and 0 < height <= 12):
        raise ValueError(f"figure: height must be in (0, 12] inches, got {height!r}")
    return plt.subplots(nrows, ncols, figsize=(WIDTH, height), **subplots_kw)


def log_axis(ax, axis: str = "x", ticks: Sequence[float] | None = None, base: float = 10) -> None:
    """A log-scaled axis labelled in plain numbers (0.5, 2, 64), not ``6×10⁻¹`` or ``10¹``.

    With ``ticks`` (for instance the batch sizes or learning rates of a sweep) the ticks sit at
    those values only; powers of two take ``base=2``.
    """
    from matplotlib.ticker import FuncFormatter, NullLocator

    if axis not in ("x", "y"):
        raise ValueError(f"log_axis: axis must be 'x' or 'y', got {axis!r}")
    getattr(ax, f"set_{axis}scale")("log", base=base)
    target = ax.xaxis if axis == "x" else ax.yaxis
    plain = FuncFormatter(lambda v, _pos: f"{v:g}")
    if ticks is not None:
        ticks = [float(t) for t in ticks]
        if not ticks or min(ticks) <= 0:
            raise ValueError(f"log_axis: ticks must be positive numbers, got {ticks!r}")
        getattr(ax, f"set_{axis}ticks")(ticks)
        target.set_minor_locator(NullLocator())
    target.set_major_formatter(plain)
    if ticks is None:  # minor ticks labelled at 2 and 5 times a power of ten only, so they do not crowd
        target.set_minor_formatter(FuncFormatter(lambda v, _pos: f"{v:g}" if _leading_digit(v) in (2, 5)
                                                 else ""))


def _leading_digit(v: float) -> int:
    return int(round(v / 10 ** np.floor(np.log10(v)))) if v > 0 else 0


def _axes(axes, n: int):
    """``n`` panels side by side: new ones in the house size (:func:`figure`), or the given ``axes``."""
    if axes is None:
        fig, axes = figure(1, n, height=3.4, squeeze=False)
        return fig, list(axes[0])
    axes = list(np.atleast_1d(axes))
    if len(axes) != n:
        raise ValueError(f"expected {n} axes, got {len(axes)}")
    return axes[0].figure, axes


def history(hist, axes=None, title: str | None = None):
    """Per-epoch loss (and accuracy, when recorded) of a :class:`trainwell.train.History`."""
    if not hist.epochs:
        raise ValueError("history: nothing to plot, the History has no finished epoch")
    panels = ["loss"] + (["acc"] if "val_acc" in hist.epochs[0] else [])
    fig, axes = _axes(axes, len(panels))
    epochs = hist.metric("epoch")
    for ax, what in zip(axes, panels, strict=True):
        for split, style in (("train", "-"), ("val", "--")):
            ax.plot(epochs, hist.metric(f"{split}_{what}"), style, label=f"{split} (eval mode)")
        if hist.best_epoch is not None and hist.stopped_early:
            ax.axvline(hist.best_epoch, color="0.5", lw=1, ls=":", label="best epoch")
        ax.set_xlabel("epoch")
        ax.set_ylabel("cross-entropy loss" if what == "loss" else "accuracy")
        ax.legend()
    if title:
        fig.suptitle(title)
    return fig


def seed_band(ax, x, runs, *, label: str, color=None, band: str = "minmax", runs_are: str | None = None,
              **line_kw):
    """Mean over seeds as a line and the spread as a band.

    ``runs`` has shape (seeds, len(x)). ``band`` is ``"minmax"`` (the range over seeds) or ``"std"``
    (mean ± one standard deviation). The legend says ``(n=3 seeds)``; when the rows are something
    else (3 networks x 3 draws of masks), ``runs_are`` says what, and replaces it. Other keywords
    (``linestyle``, ``marker``, ``zorder``, ...) go to the line. Returns the line.
    """
    runs = np.asarray(runs, dtype=float)
    x = np.asarray(x, dtype=float)
    if runs.ndim != 2 or runs.shape[1] != x.shape[0]:
        raise ValueError(f"seed_band: runs must have shape (seeds, {x.shape[0]}), got {runs.shape}")
    if band not in ("minmax", "std"):
        raise ValueError(f"Invalid band: {band!r} (allowed: 'minmax', 'std')")
    mean = runs.mean(axis=0)
    if band == "minmax":
        lo, hi = runs.min(axis=0), runs.max(axis=0)
    else:
        sd = runs.std(axis=0, ddof=1) if runs.shape[0] > 1 else np.zeros_like(mean)
        lo, hi = mean - sd, mean + sd
    count = runs_are if runs_are is not None else f"n={runs.shape[0]} seeds"
    (line,) = ax.plot(x, mean, label=f"{label} ({count})", color=color, **line_kw)
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
    return line


def images(X, labels: Sequence | None = None, *, shape: tuple[int, int] | None = None, ncols: int = 10,
           title: str | None = None, cmap: str = "gray_r"):
    """A grid of images (rows of ``X`` reshaped to ``shape``), each titled with its label."""
    import matplotlib.pyplot as plt

    X = np.asarray(X.detach().cpu() if hasattr(X, "detach") else X, dtype=float)
    if shape is not None:
        if int(np.prod(shape)) != int(np.prod(X.shape[1:])):
            raise ValueError(f"images: cannot show rows of size {int(np.prod(X.shape[1:]))} as {shape}")
        X = X.reshape(len(X), *shape)
    elif X.ndim == 4 and X.shape[1] == 1:
        X = X[:, 0]
    if X.ndim != 3:
        raise ValueError(f"images: need (n, height, width) images or a shape= to reshape rows, got {X.shape}")
    if labels is not None and len(labels) != len(X):
        raise ValueError(f"images: {len(X)} images but {len(labels)} labels")
    nrows = int(np.ceil(len(X) / ncols))
    side = WIDTH / ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(WIDTH, (side + 0.25) * nrows + 0.35), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(X):
            ax.imshow(X[i], cmap=cmap, interpolation="nearest")
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


def signals(X, labels: Sequence | None = None, *, ncols: int = 5, title: str | None = None):
    """Small multiples of 1-D signals (e.g. MNIST-1D), each titled with its label."""
    import matplotlib.pyplot as plt

    X = np.asarray(X.detach().cpu() if hasattr(X, "detach") else X, dtype=float)
    X = X.reshape(len(X), -1)
    if labels is not None and len(labels) != len(X):
        raise ValueError(f"signals: {len(X)} signals but {len(labels)} labels")
    nrows = int(np.ceil(len(X) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(WIDTH, 1.4 * nrows + 0.35), squeeze=False,
                             sharex=True, sharey=True)
    for i, ax in enumerate(axes.flat):
        if i < len(X):
            ax.plot(X[i], color=COLORS[0], lw=1.2)
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=9)
            ax.tick_params(labelsize=9)
        else:
            ax.axis("off")
    if title:
        fig.suptitle(title)
    return fig
