"""``tw.plot``: the book's one figure style, training curves, several-seed bands and image grids."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: The book's colours, in the order curves are drawn (colour-blind safe, after Okabe & Ito).
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")

STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "figure.constrained_layout.use": True,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "font.size": 10,
    "image.cmap": "gray_r",
}


def use_style() -> None:
    """Apply the book's figure style to matplotlib (called by ``tw.setup()``)."""
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(STYLE)
    mpl.rcParams["axes.prop_cycle"] = cycler(color=COLORS)


def _axes(axes, n: int, figsize=None):
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(1, n, figsize=figsize or (4.0 * n, 3.4), squeeze=False)
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


def seed_band(ax, x, runs, *, label: str, color=None, band: str = "minmax"):
    """Mean over seeds as a line and the spread as a band.

    ``runs`` has shape (seeds, len(x)). ``band`` is ``"minmax"`` (the range over seeds) or ``"std"``
    (mean ± one standard deviation). Returns the line.
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
    (line,) = ax.plot(x, mean, label=f"{label} (n={runs.shape[0]} seeds)", color=color)
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
    fig, axes = plt.subplots(nrows, ncols, figsize=(0.9 * ncols, 1.05 * nrows + 0.3), squeeze=False)
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
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.6 * ncols, 1.3 * nrows + 0.3), squeeze=False,
                             sharex=True, sharey=True)
    for i, ax in enumerate(axes.flat):
        if i < len(X):
            ax.plot(X[i], color=COLORS[0], lw=1.2)
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=9)
            ax.tick_params(labelsize=7)
        else:
            ax.axis("off")
    if title:
        fig.suptitle(title)
    return fig
