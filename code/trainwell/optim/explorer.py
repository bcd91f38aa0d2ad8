"""Trajectories of the optimizers on 2-D test functions, as a static figure and as an interactive one
(section `opt-side-by-side`).

:func:`tuned_trajectory` runs an optimizer at every learning rate of a grid and keeps the path that
ends lowest, so that each method is drawn at its own best rate; :func:`draw_paths` puts paths on a
function's contours; :func:`explorer` is the interactive figure: sliders for the learning rate and
the momentum of SGD, linked in the browser (like :func:`trainwell.widgets.image_browser`), so it
works on the static website as well as in a running notebook.
"""
from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import numpy as np
import torch

from .._validate import check_int
from .functions import Objective, _objective, trajectory


def _grid(name: str, values) -> list[float]:
    values = [float(v) for v in values]
    if not values or any(not np.isfinite(v) or v <= 0 for v in values):
        raise ValueError(f"{name} must be a non-empty list of positive numbers, got {values!r}")
    return values


def tuned_trajectory(make: Callable, function: Objective, start, steps: int, lrs: Sequence[float]
                     ) -> tuple[float, np.ndarray]:
    """The learning rate of ``lrs`` whose path has the lowest mean function value, with that path.

    Run ``make(params, lr)`` (a function returning an optimizer) for ``steps`` steps from ``start`` at
    every learning rate of ``lrs`` and return the rate whose path has the lowest *mean* function value
    over its steps, with that path: a rate that gets low fast and stays low wins, one that reaches a
    low value only after wild excursions does not. A path that diverged is never chosen."""
    if not callable(make):
        raise TypeError(f"make must be a function (params, lr) -> optimizer, got {type(make).__name__}")
    function = _objective(function)
    best_lr, best_path, best_score = None, None, np.inf
    for lr in _grid("lrs", lrs):
        path = trajectory(lambda p, lr=lr: make(p, lr), function, start, steps)
        if not np.isfinite(path).all():
            continue
        score = float(function.value(torch.as_tensor(path)).mean())
        if score < best_score:
            best_lr, best_path, best_score = lr, path, score
    if best_path is None:
        raise ValueError("tuned_trajectory: every learning rate of the grid diverged")
    return best_lr, best_path


def draw_paths(ax, function: Objective, paths: dict[str, np.ndarray], *, box=None, levels: int = 14,
               legend: bool = True) -> None:
    """Contours of ``function`` (log-spaced levels) and each path of ``paths`` ({label: (T, 2) array})
    with the house line styles, the start marked by a circle and the minimum, if any, by a star."""
    from matplotlib.ticker import MaxNLocator

    from .. import plot

    function = _objective(function)
    X, Y, Z = function.grid(box=box)
    finite = Z[np.isfinite(Z)]
    low, high = float(finite.min()), float(finite.max())
    if low >= 0:  # a function bounded below by 0: log-spaced levels show the valley floor
        spaced = np.geomspace(max(low, high * 1e-5, 1e-6), high, levels)
    else:  # a saddle: evenly spaced
        spaced = np.linspace(low, high, levels)
    ax.contour(X, Y, Z, levels=spaced, colors="0.78", linewidths=0.7)
    for (label, path), color, style in zip(paths.items(), plot.COLORS, plot.LINESTYLES, strict=False):
        ax.plot(path[:, 0], path[:, 1], color=color, ls=style, lw=1.4, label=label)
    first = next(iter(paths.values()))
    ax.plot(first[0, 0], first[0, 1], "ko", ms=5)
    if function.minimum is not None:
        m = np.asarray(function.minimum)
        ax.plot(m[0], m[1], "k*", ms=10)
    ax.set_xlim(X.min(), X.max())
    ax.set_ylim(Y.min(), Y.max())
    for axis in (ax.xaxis, ax.yaxis):  # at most five ticks: half-width panels keep their labels apart
        axis.set_major_locator(MaxNLocator(nbins=5))
    if legend:
        ax.legend(loc="best")


def _render(function, path, box, title: str) -> bytes:
    import matplotlib.pyplot as plt

    from .. import plot

    fig, ax = plot.figure(height=3.2)
    draw_paths(ax, function, {"SGD": path}, box=box, legend=False)
    ax.set_title(title)
    buffer = io.BytesIO()
    # the house resolution, like every figure: 9-point text is 14 px, and no less than 9 px on a phone
    fig.savefig(buffer, format="png", dpi=plot.DPI)
    plt.close(fig)
    return buffer.getvalue()


def explorer(function: Objective, start, steps: int, *, lrs: Sequence[float], momenta: Sequence[float],
             box=None, nesterov: bool = False):
    """An interactive figure: SGD's path on ``function`` for every learning rate of ``lrs`` and every
    momentum of ``momenta``, chosen with two sliders. All paths are computed and drawn here and the
    sliders switch between the pictures in the browser, so the figure also works without a kernel."""
    from .sgd import SGD

    function = _objective(function)
    steps = check_int("steps", steps, minimum=1)
    lrs, momenta = _grid("lrs", lrs), [float(m) for m in momenta]
    if not momenta or any(not 0 <= m < 1 for m in momenta):
        raise ValueError(f"momenta must be a non-empty list of numbers in [0, 1), got {momenta!r}")
    import ipywidgets as W

    from ..widgets import picture, switcher

    pages = []
    for lr in lrs:
        images = []
        for momentum in momenta:
            path = trajectory(lambda p, lr=lr, m=momentum: SGD(p, lr=lr, momentum=m,
                                                               nesterov=nesterov and m > 0),
                              function, start, steps)
            shown = path[np.isfinite(path).all(axis=1)]
            end = ("diverged" if len(shown) < len(path)
                   else f"f = {float(function.value(torch.as_tensor(path[-1:]))[0]):.3g}")
            title = f"η = {lr:g}, γ = {momentum:g}: {end} after {steps} steps"
            images.append(picture(_render(function, shown, box, title),
                                  f"SGD's path on the contours, {title}"))
        pages.append(images)
    lr_slider = W.SelectionSlider(options=[f"{lr:g}" for lr in lrs], description="η")
    momentum_slider = W.SelectionSlider(options=[f"{m:g}" for m in momenta], description="γ")
    # the sliders one above the other: side by side, a phone squeezes their tracks to a few pixels
    return W.VBox([lr_slider, momentum_slider, switcher(pages, [lr_slider, momentum_slider])])
