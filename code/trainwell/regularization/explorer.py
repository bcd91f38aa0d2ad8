"""Norm penalties as constraints, drawn: the L2 disc ‖w‖₂ ≤ k and the L1 diamond |w₁| + |w₂| ≤ k with
the elliptical contours of a quadratic loss J(w) = ½(w − w*)ᵀH(w − w*), and the point where each
constrained optimum w̃ touches its region (Goodfellow et al. 2016, §7.2), as a static figure and as an
interactive one (section `reg-constraints`).

:func:`draw_constraint_regions` draws both regions for one radius k on two axes, from the closed forms
of :mod:`~trainwell.regularization.quadratic` (:func:`constrained_optimum`, :func:`penalty_for_radius`),
and returns what it drew; :func:`constraint_explorer` is the interactive figure: one picture per radius,
drawn here, and a slider linked to them in the browser (like :func:`trainwell.widgets.image_browser`),
so it works on the static website as well as in a running notebook.
"""
from __future__ import annotations

import io
from typing import NamedTuple

import numpy as np

from .._validate import check_float
from ._arrays import as_float64, square_matrix
from .quadratic import constrained_optimum, penalty_for_radius

#: The most radii :func:`constraint_explorer` draws: every picture is stored in the notebook.
MAX_RADII = 12
#: Resolution of the explorer's pictures: the house :data:`trainwell.plot.DPI`, so that a picture is
#: the text column's width at 100% and its text is the size of every other figure's.
EXPLORER_DPI = 110
#: Height in inches of the two square panels with their titles and notes.
HEIGHT = 4.1
# A coordinate of the L1 optimum below this fraction of the radius counts as an exact zero (the
# projection onto the diamond sets it to 0.0 exactly; the margin only guards against rounding).
_ZERO = 1e-9


class ConstrainedSolutions(NamedTuple):
    """What :func:`draw_constraint_regions` drew: the constrained optima w̃ in the disc (``l2``) and in
    the diamond (``l1``), and the penalty weights that give the same optima: ``alpha_l2`` for
    (α/2)‖w‖₂² (:func:`penalty_for_radius`), ``alpha_l1`` for α‖w‖₁ (the KKT multiplier, read off
    the gradient at w̃); 0 where w* lies inside its region."""

    l2: np.ndarray
    l1: np.ndarray
    alpha_l2: float
    alpha_l1: float


def _problem(H, w_star) -> tuple[np.ndarray, np.ndarray]:
    w_star = as_float64("w_star", w_star, ndim=1)
    if len(w_star) != 2:
        raise ValueError(f"w_star must have 2 entries (a point of the plane), got {len(w_star)}")
    return square_matrix("H", H, 2, positive_definite=True), w_star


def _radius_named(name: str, radius) -> float:
    return check_float(name, radius, minimum=0.0, min_inclusive=False)


def _radius(radius) -> float:
    return _radius_named("radius", radius)


def _radii(radii) -> list[float]:
    values = as_float64("radii", radii, ndim=1)
    if (values <= 0).any():
        raise ValueError(f"Invalid radii: {values[values <= 0][0]:g} (every radius must be > 0)")
    if (np.diff(values) <= 0).any():
        raise ValueError(f"radii must increase strictly (one picture per radius), got {values.tolist()}")
    if len(values) > MAX_RADII:
        raise ValueError(f"radii has {len(values)} values; at most {MAX_RADII}, since every radius is a "
                         "picture stored in the notebook")
    return [float(v) for v in values]


def _l1_multiplier(H: np.ndarray, w_star: np.ndarray, w: np.ndarray) -> float:
    """The α for which w minimizes J(w) + α‖w‖₁: on a non-zero coordinate the optimality condition
    H(w − w*) + α·sign(w) = 0 gives α = sign(wᵢ)·(H(w* − w))ᵢ (0 when w = w*, the constraint
    inactive)."""
    if np.array_equal(w, w_star):
        return 0.0
    i = int(np.argmax(np.abs(w)))
    return max(float(np.sign(w[i]) * (H @ (w_star - w))[i]), 0.0)


def constrained_solutions(H, w_star, radius: float) -> ConstrainedSolutions:
    """The constrained optima in the disc and in the diamond of radius ``radius`` and their penalty
    weights (see :class:`ConstrainedSolutions`), without drawing."""
    H, w_star = _problem(H, w_star)
    radius = _radius(radius)
    l2, l1 = (constrained_optimum(H, w_star, radius, norm) for norm in (2, 1))
    return ConstrainedSolutions(l2, l1, penalty_for_radius(H, w_star, radius), _l1_multiplier(H, w_star, l1))


def _loss(H: np.ndarray, w_star: np.ndarray, W1: np.ndarray, W2: np.ndarray) -> np.ndarray:
    D = np.stack([W1 - w_star[0], W2 - w_star[1]], axis=-1)
    return 0.5 * np.einsum("...i,ij,...j->...", D, H, D)


def _point(w: np.ndarray) -> str:
    return f"({w[0]:.2f}, {w[1]:.2f})"


def draw_constraint_regions(axes_pair, H, w_star, radius: float, *, box_radius: float | None = None
                            ) -> ConstrainedSolutions:
    """Draw the L2 disc ‖w‖₂ ≤ ``radius`` (left) and the L1 diamond |w₁| + |w₂| ≤ ``radius`` (right) on
    the two axes of ``axes_pair`` (for instance ``tw.plot.figure(1, 2, height=explorer.HEIGHT)[1]``), with
    the contours of J(w) = ½(w − w*)ᵀH(w − w*) (the same grey levels in both panels, and in each the
    level through its optimum in the region's colour), w* (a star) and the constrained optimum w̃ (a
    dot), and a note: the penalty weight α that gives the same w̃, and, for L1, which coordinate is
    exactly zero. Both panels have equal aspect and the same limits. ``H`` is a symmetric positive
    definite 2x2 matrix, ``w_star`` a point of the plane, ``radius`` > 0. The box holds both regions
    and w*; ``box_radius`` (> 0) sizes it for a larger region instead, so that pictures for several
    radii share their limits and their grey levels (which depend on H, w* and the box only). Returns
    the optima and penalty weights drawn (:class:`ConstrainedSolutions`)."""
    from matplotlib.patches import Circle, Polygon
    from matplotlib.patheffects import withStroke

    from .. import plot

    if axes_pair is None:
        raise TypeError("axes_pair must be two matplotlib Axes (L2 left, L1 right), got None; make them "
                        f"with tw.plot.figure(1, 2, height={HEIGHT})")
    _, axes = plot._axes(axes_pair, 2)
    H, w_star = _problem(H, w_star)
    radius = _radius(radius)
    found = constrained_solutions(H, w_star, radius)

    # one square box for both panels: the region (of box_radius, if larger) and w*, with room for labels
    box_radius = radius if box_radius is None else max(radius, _radius_named("box_radius", box_radius))
    low = np.minimum(w_star, -box_radius).min()
    high = np.maximum(w_star, box_radius).max()
    center, half = (low + high) / 2, 0.62 * (high - low)
    grid = np.linspace(center - half, center + half, 301)
    W1, W2 = np.meshgrid(grid, grid)
    J = _loss(H, w_star, W1, W2)
    # grey ellipses evenly spaced in √J, three between w* and the ellipse through the origin (where
    # the regions shrink to), at most 12 across the box: they depend on H, w* and the box only
    step = max(float(np.sqrt(_loss(H, w_star, 0.0, 0.0))) / 4, float(np.sqrt(J.max())) / 12)
    grey = (step * np.arange(1, int(np.sqrt(J.max()) / step) + 1)) ** 2
    panels = (
        (axes[0], found.l2, found.alpha_l2, Circle((0.0, 0.0), radius), plot.COLORS[0],
         r"L2: $\|w\|_2 \leq " + f"{radius:g}$", "(α/2)‖w‖₂²"),
        (axes[1], found.l1, found.alpha_l1,
         Polygon([(radius, 0.0), (0.0, radius), (-radius, 0.0), (0.0, -radius)], closed=True),
         plot.COLORS[1], r"L1: $|w_1| + |w_2| \leq " + f"{radius:g}$", "α‖w‖₁"))
    halo = [withStroke(linewidth=3, foreground="white")]  # labels stay legible over the lines
    for ax, w, alpha, region, color, title, penalty in panels:
        region.set(facecolor=color, alpha=0.22, edgecolor="none", zorder=1)
        ax.add_patch(region)
        edge = Circle((0.0, 0.0), radius) if isinstance(region, Circle) else Polygon(region.get_xy())
        edge.set(facecolor="none", edgecolor=color, linewidth=1.6, zorder=2)
        ax.add_patch(edge)
        ax.axhline(0.0, color="0.55", lw=0.6, zorder=0)
        ax.axvline(0.0, color="0.55", lw=0.6, zorder=0)
        ax.contour(W1, W2, J, levels=grey, colors="0.65", linewidths=0.8, zorder=3)
        inactive = np.array_equal(w, w_star)
        touching = float(_loss(H, w_star, w[0], w[1]))
        if not inactive:
            ax.contour(W1, W2, J, levels=[touching], colors=color, linewidths=1.6, linestyles="--",
                       zorder=4)
        # the dot over the larger star, so that both show when they nearly meet
        ax.plot(w_star[0], w_star[1], "k*", ms=12, zorder=6)
        if not inactive:
            ax.plot(w[0], w[1], "o", color=color, mec="k", mew=0.8, ms=6, zorder=7)
        ax.annotate(r"$w^* = \tilde w$" if inactive else r"$w^*$", w_star, xytext=(6, 5),
                    textcoords="offset points", fontsize=10, zorder=8, path_effects=halo)
        if not inactive:
            ax.annotate(r"$\tilde w$", w, xytext=(-5, -5), textcoords="offset points", ha="right",
                        va="top", fontsize=10, zorder=8, path_effects=halo)
        if inactive:  # every note has two lines, so that the panels sit alike in every picture
            note = f"w̃ = w* = {_point(w)}: w* lies in the region,\nthe constraint is inactive (α = 0)"
        else:
            note = f"w̃ = {_point(w)}"
            if ax is axes[1]:
                zeros = [f"w{'₁₂'[i]}" for i in range(2) if abs(w[i]) <= _ZERO * radius]
                note += (": " + " and ".join(zeros) + " = 0 exactly (a corner)" if zeros
                         else ": no exact zero (an edge)")
            note += f"\nsame as the penalty {penalty}, α = {alpha:.3g}"
        ax.set_xlabel(r"$w_1$")
        ax.annotate(note, (0.0, 0.0), xycoords=("axes fraction", ax.xaxis.label), xytext=(0, -6),
                    textcoords="offset points", fontsize=9, va="top", ha="left")  # under the label
        ax.set_title(title)
        ax.set_xlim(center - half, center + half)
        ax.set_ylim(center - half, center + half)
        ax.set_aspect("equal", anchor="N")  # the notes go below: keep the slack there
        ax.set_ylabel(r"$w_2$")
    return found


def _png(H: np.ndarray, w_star: np.ndarray, radius: float, box_radius: float, dpi: int) -> bytes:
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    from .. import plot

    with mpl.rc_context(plot.STYLE):  # the house style even where tw.setup() was not called
        fig, axes = plot.figure(1, 2, height=HEIGHT)
        draw_constraint_regions(axes, H, w_star, radius, box_radius=box_radius)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
        plt.close(fig)
    return buffer.getvalue()


def constraint_explorer(H, w_star, radii):
    """An interactive figure: :func:`draw_constraint_regions` for every radius of ``radii`` (at most
    :data:`MAX_RADII`, increasing), chosen with a slider. All pictures are drawn here and the slider
    switches between them in the browser (``jslink``), so the figure also works without a kernel.
    Every picture has the limits and grey contours of the largest radius, so that only the regions
    and the optima move.
    Returns a ``VBox`` holding the slider and the pictures, one ``Image`` per radius (a ``Stack`` of
    them on ipywidgets 8; see :func:`trainwell.widgets.switcher`)."""
    H, w_star = _problem(H, w_star)
    radii = _radii(radii)
    import ipywidgets as W

    from ..widgets import picture, switcher

    pictures = [picture(_png(H, w_star, r, radii[-1], EXPLORER_DPI),
                        f"The constraint regions of radius {r:g} with the constrained optima")
                for r in radii]
    slider = W.SelectionSlider(options=[f"{r:g}" for r in radii], index=0, description="radius k",
                               style={"description_width": "initial"})
    return W.VBox([slider, switcher(pictures, [slider])])
