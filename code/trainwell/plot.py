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

from ._validate import check_choice, check_float, check_int
from .checks import t_interval

#: The book's colours, in the order curves are drawn. The first four are Okabe & Ito's blue,
#: vermillion, bluish green and reddish purple; their orange, sky blue and yellow, too pale for lines
#: on white (2.3:1, 2.3:1 and 1.3:1), are replaced by a brown, a violet and a navy. Every colour
#: reaches WCAG's 3:1 non-text contrast against white, and every pair stays apart under simulated
#: deuteranopia, protanopia and tritanopia (tests/test_plot.py measures both).
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#7A4A00", "#7B3FC4", "#000000", "#1F2A80")
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

    mpl.rcParams.update(STYLE)
    mpl.rcParams["axes.prop_cycle"] = style_cycle()
    try:
        from IPython import get_ipython
    except ImportError:  # no IPython: plain matplotlib, nothing more to set
        return
    if get_ipython() is not None:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")


def style_cycle(n: int = 3 * len(COLORS)):
    """The colour and line-style pairs curves are drawn with, ``n`` of them, none repeated.

    The first :data:`COLORS`-many pair each colour with its line style; each later round of colours
    shifts the line styles by one more, so a tenth lasso path is not drawn like the second.
    """
    from cycler import cycler

    n = check_int("n", n, minimum=1, maximum=len(COLORS) * len(LINESTYLES))
    k = len(COLORS)
    pairs = [(COLORS[i % k], LINESTYLES[(i + i // k) % len(LINESTYLES)]) for i in range(n)]
    return cycler(color=[c for c, _ in pairs]) + cycler(linestyle=[ls for _, ls in pairs])


def figure(nrows: int = 1, ncols: int = 1, *, height: float | None = None, **subplots_kw):
    """A figure in the house size: :data:`WIDTH` wide, ``nrows`` x ``ncols`` panels.

    ``height`` defaults to 3.6 inches for one row and 2.9 inches per row otherwise. More than
    :data:`MAX_ACROSS` panels across would shrink the text below legibility, so ``ncols=3`` is
    refused. Other keywords go to ``plt.subplots``. Returns ``(fig, axes)`` like it.
    """
    import matplotlib.pyplot as plt

    nrows = check_int("nrows", nrows, minimum=1)
    ncols = check_int("ncols", ncols, minimum=1)
    if ncols > MAX_ACROSS:
        raise ValueError(f"figure: ncols={ncols} puts more than {MAX_ACROSS} panels across a "
                         f"{WIDTH}-inch column; stack them (nrows) or use a 2x2 grid")
    if height is None:
        height = 3.6 if nrows == 1 else 2.9 * nrows
        if height > 12:
            raise ValueError(f"figure: nrows={nrows} rows of 2.9 inches exceed 12 inches; pass a smaller "
                             "height= or split the figure")
    height = check_float("height", height, minimum=0.0, maximum=12.0, min_inclusive=False)
    return plt.subplots(nrows, ncols, figsize=(WIDTH, height), **subplots_kw)


def log_axis(ax, axis: str = "x", ticks: Sequence[float] | None = None, base: float = 10) -> None:
    """A log-scaled axis labelled in plain numbers (0.5, 2, 64), not ``6×10⁻¹`` or ``10¹``.

    With ``ticks`` (for instance the batch sizes or learning rates of a sweep) the ticks sit at
    those values only; powers of two take ``base=2``.
    """
    from matplotlib.ticker import FuncFormatter, NullLocator

    _check_axes("ax", ax)
    if axis not in ("x", "y"):
        raise ValueError(f"log_axis: axis must be 'x' or 'y', got {axis!r}")
    base = check_float("base", base, minimum=1.0, min_inclusive=False)
    if ticks is not None:
        values = _numbers("ticks", ticks)
        if values.ndim != 1 or not values.size or not (np.isfinite(values) & (values > 0)).all():
            raise ValueError(f"log_axis: ticks must be positive numbers, got {ticks!r}")
        ticks = [float(t) for t in values]
    getattr(ax, f"set_{axis}scale")("log", base=base)
    target = ax.xaxis if axis == "x" else ax.yaxis
    plain = FuncFormatter(lambda v, _pos: f"{v:g}")
    if ticks is not None:
        getattr(ax, f"set_{axis}ticks")(ticks)
        target.set_minor_locator(NullLocator())
    target.set_major_formatter(plain)
    if ticks is None:  # minor ticks labelled at 2 and 5 times a power of ten only, so they do not crowd
        target.set_minor_formatter(FuncFormatter(lambda v, _pos: f"{v:g}" if _leading_digit(v) in (2, 5)
                                                 else ""))


def label_lines(ax, lines, labels: Sequence[str], *, min_gap: float = 0.06) -> list:
    """Name each of ``lines`` at its left end, in its own colour, instead of a legend (direct labels:
    the reader's eye does not travel). Labels whose lines start close together are spread apart to at
    least ``min_gap`` of the y-range, keeping their order; leave room left of the data (``set_xlim``)
    for them. Returns the text objects."""
    _check_axes("ax", ax)
    lines = list(lines)
    if not lines:
        raise ValueError("label_lines: lines is empty")
    _labels(labels, len(lines), "line")
    if not all(isinstance(label, str) for label in labels):
        raise TypeError("label_lines: every label must be a str")
    min_gap = check_float("min_gap", min_gap, minimum=0.0, maximum=0.5)
    starts = []
    for i, line in enumerate(lines):
        x, y = (np.asarray(v, dtype=float) for v in line.get_data())
        if x.size == 0 or not (np.isfinite(x[0]) and np.isfinite(y[0])):
            raise ValueError(f"label_lines: lines[{i}] has no finite first point to label")
        starts.append((x[0], y[0]))
    low, high = ax.get_ylim()
    gap = min_gap * (high - low)
    order = np.argsort([y for _, y in starts])
    wanted = np.array([starts[i][1] for i in order])
    placed = wanted.copy()
    for k in range(1, len(placed)):  # push each label up until it clears the one below
        placed[k] = max(placed[k], placed[k - 1] + gap)
    placed -= (placed - wanted).mean()  # then the stack back down: on average at its lines
    texts = [None] * len(lines)
    for rank, i in enumerate(order):
        x0, _ = starts[i]
        texts[i] = ax.annotate(labels[i], xy=(x0, placed[rank]), xytext=(-4, 0), textcoords="offset points",
                               ha="right", va="center", color=lines[i].get_color(), fontsize="small")
    return texts


def _check_axes(name: str, ax) -> None:
    """Refuse anything that is not a matplotlib Axes (a Figure or an array of axes is a common slip)."""
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        hint = " (index the array: axes[0])" if isinstance(ax, (np.ndarray, list, tuple)) else ""
        raise TypeError(f"{name} must be a matplotlib Axes, got {type(ax).__name__}{hint}")


def _numbers(name: str, values) -> np.ndarray:
    """``values`` (numbers, a nested list, an array or a tensor on any device) as a float array; the
    error names the argument instead of NumPy's 'could not convert'."""
    if hasattr(values, "detach"):
        values = values.detach().cpu()
    elif isinstance(values, (list, tuple)):
        values = [v.detach().cpu() if hasattr(v, "detach") else v for v in values]
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be numbers (a list, array or tensor), got a string")
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numbers (a list, array or tensor) of a regular shape, got "
                        f"{type(values).__name__} ({exc})") from None


def _finite(name: str, array: np.ndarray, why: str) -> None:
    bad = int((~np.isfinite(array)).sum())
    if bad:
        raise ValueError(f"{name} holds {bad} non-finite value(s) (NaN or inf); {why}")


def _ncols(ncols) -> int:
    return check_int("ncols", ncols, minimum=1)


def _labels(labels, n: int, what: str) -> None:
    if labels is None:
        return
    if isinstance(labels, str) or not hasattr(labels, "__len__"):
        raise TypeError(f"labels must be a sequence with one label per {what}, got {type(labels).__name__}")
    if len(labels) != n:
        raise ValueError(f"{n} {what}s but {len(labels)} labels")


def _title(title) -> None:
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None, got {type(title).__name__}")


def _leading_digit(v: float) -> int:
    return int(round(v / 10 ** np.floor(np.log10(v)))) if v > 0 else 0


def _axes(axes, n: int):
    """``n`` panels side by side: new ones in the house size (:func:`figure`), or the given ``axes``."""
    if axes is None:
        fig, axes = figure(1, n, height=3.4, squeeze=False)
        return fig, list(axes[0])
    axes = list(np.ravel(np.asarray(axes, dtype=object)))
    if len(axes) != n:
        raise ValueError(f"Invalid axes: {n} panel(s) to draw, but {len(axes)} axes given")
    for i, ax in enumerate(axes):
        _check_axes(f"axes[{i}]", ax)
    return axes[0].figure, axes


def history(hist, axes=None, title: str | None = None):
    """Per-epoch loss (and accuracy, when recorded) of a :class:`trainwell.train.History`."""
    if not (hasattr(hist, "epochs") and hasattr(hist, "metric")):
        raise TypeError(f"history: hist must be a trainwell.train.History (what fit returns), got "
                        f"{type(hist).__name__}")
    _title(title)
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

    ``runs`` has shape (seeds, len(x)). ``band`` is ``"minmax"`` (the range over seeds), ``"std"``
    (mean ± one standard deviation) or ``"t95"`` (the 95% Student-t interval of the mean over seeds,
    :func:`trainwell.checks.t_interval` at each x; it needs two seeds or more). The legend says
    ``(n=3 seeds)``; when the rows are something else (3 networks x 3 draws of masks), ``runs_are``
    says what, and replaces it. Other keywords
    (``linestyle``, ``marker``, ``zorder``, ...) go to the line. Returns the line.
    """
    _check_axes("ax", ax)
    if not isinstance(label, str):
        raise TypeError(f"seed_band: label must be a str, got {type(label).__name__}")
    if runs_are is not None and not isinstance(runs_are, str):
        raise TypeError(f"seed_band: runs_are must be a str or None, got {type(runs_are).__name__}")
    check_choice("band", band, ("minmax", "std", "t95"))
    runs = _numbers("runs", runs)
    x = _numbers("x", x)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"seed_band: x must be a non-empty 1-D sequence, got shape {x.shape}")
    if runs.ndim != 2 or runs.shape[1] != x.shape[0] or runs.shape[0] == 0:
        raise ValueError(f"seed_band: runs must have shape (seeds, {x.shape[0]}) with at least one seed, "
                         f"got {runs.shape}")
    _finite("x", x, "the curve would have gaps")
    _finite("runs", runs, "the mean over seeds would silently be NaN at those points")
    mean = runs.mean(axis=0)
    if band == "minmax":
        lo, hi = runs.min(axis=0), runs.max(axis=0)
    elif band == "t95":
        if runs.shape[0] < 2:
            raise ValueError(f"seed_band: band='t95' needs at least 2 seeds, got {runs.shape[0]}")
        half = np.array([t_interval(column)[1] for column in runs.T])
        lo, hi = mean - half, mean + half
    else:
        sd = runs.std(axis=0, ddof=1) if runs.shape[0] > 1 else np.zeros_like(mean)
        lo, hi = mean - sd, mean + sd
    count = runs_are if runs_are is not None else f"n={runs.shape[0]} seeds"
    (line,) = ax.plot(x, mean, label=f"{label} ({count})", color=color, **line_kw)
    # pale enough that two or three overlapping bands do not turn to mud
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.15, linewidth=0)
    return line


def images(X, labels: Sequence | None = None, *, shape: tuple[int, int] | None = None, ncols: int = 10,
           title: str | None = None, cmap: str = "gray_r"):
    """A grid of images (rows of ``X`` reshaped to ``shape``), each titled with its label."""
    import matplotlib.pyplot as plt

    X = _numbers("X", X)
    ncols = _ncols(ncols)
    _title(title)
    if X.ndim < 2 or len(X) == 0:
        raise ValueError(f"images: X must be a non-empty batch of images, shape (n, ...), got {X.shape}")
    if shape is not None:
        shape = _image_shape(shape)
        if int(np.prod(shape)) != int(np.prod(X.shape[1:])):
            raise ValueError(f"images: cannot show rows of size {int(np.prod(X.shape[1:]))} as shape={shape}")
        X = X.reshape(len(X), *shape)
    elif X.ndim == 4 and X.shape[1] == 1:
        X = X[:, 0]
    if X.ndim != 3:
        raise ValueError(f"images: need (n, height, width) images or a shape= to reshape rows, got {X.shape}")
    _labels(labels, len(X), "image")
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


def _image_shape(shape) -> tuple[int, int]:
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__len__") or len(shape) != 2:
        raise TypeError(f"shape must be (height, width), two positive integers, got {shape!r}")
    return (check_int("shape[0]", shape[0], minimum=1), check_int("shape[1]", shape[1], minimum=1))


def signals(X, labels: Sequence | None = None, *, ncols: int = 5, title: str | None = None):
    """Small multiples of 1-D signals (e.g. MNIST-1D), each titled with its label."""
    import matplotlib.pyplot as plt

    X = _numbers("X", X)
    ncols = _ncols(ncols)
    _title(title)
    if X.ndim < 2 or X.shape[0] == 0 or X[0].size == 0:
        raise ValueError(f"signals: X must be a non-empty batch of signals, shape (n, length), got {X.shape}")
    X = X.reshape(len(X), -1)
    _labels(labels, len(X), "signal")
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
