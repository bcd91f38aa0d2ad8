"""The constraint-regions figure and its interactive explorer (norm penalties as constraints): the optima
drawn lie where the closed forms put them, the widget holds one picture per radius, and bad arguments
are refused by name."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import trainwell as tw  # noqa: E402
from trainwell.regularization import explorer  # noqa: E402
from trainwell.regularization.quadratic import constrained_optimum, penalty_for_radius  # noqa: E402

H = np.array([[3.0, 0.8], [0.8, 1.0]])  # the book's example: the L1 optimum sits on a corner for k <= 1.45
W_STAR = np.array([1.5, 0.5])


def _axes():
    return tw.plot.figure(1, 2, height=explorer.HEIGHT)


def _marked(ax) -> np.ndarray:
    """The constrained optimum's dot: the one line drawn with an 'o' marker."""
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert len(dots) == 1
    return np.array([dots[0].get_xdata()[0], dots[0].get_ydata()[0]])


@pytest.mark.parametrize("radius", [0.3, 1.0, 1.4])
def test_the_marked_optima_lie_on_the_boundaries_when_w_star_is_outside(radius):
    fig, axes = _axes()
    found = explorer.draw_constraint_regions(axes, H, W_STAR, radius)
    l2, l1 = _marked(axes[0]), _marked(axes[1])
    assert np.linalg.norm(l2) == pytest.approx(radius, abs=1e-10)
    assert np.abs(l1).sum() == pytest.approx(radius, abs=1e-10)
    np.testing.assert_array_equal(l2, found.l2)
    np.testing.assert_array_equal(l1, found.l1)
    np.testing.assert_allclose(found.l2, constrained_optimum(H, W_STAR, radius, 2), atol=0)
    assert found.alpha_l2 == penalty_for_radius(H, W_STAR, radius)
    # the L1 optimum is the corner (k, 0): an exact zero, which the note reports
    assert found.l1[1] == 0.0 and found.l1[0] == pytest.approx(radius, abs=1e-12)
    notes = [t.get_text() for t in axes[1].texts]
    assert any("w₂ = 0 exactly" in note for note in notes)
    # both panels: the same square limits and equal aspect
    assert axes[0].get_xlim() == axes[1].get_xlim() == axes[0].get_ylim() == axes[1].get_ylim()
    assert all(ax.get_aspect() == 1.0 for ax in axes)
    fig.canvas.draw()
    plt.close(fig)


def test_the_penalty_weights_give_the_same_optima():
    found = explorer.constrained_solutions(H, W_STAR, 1.6)  # L2 inactive, L1 on an edge
    np.testing.assert_array_equal(found.l2, W_STAR)
    assert found.alpha_l2 == 0.0
    assert np.all(found.l1 != 0) and np.abs(found.l1).sum() == pytest.approx(1.6, abs=1e-10)
    # KKT for ½(w − w*)ᵀH(w − w*) + α‖w‖₁: H(w* − w) = α·sign(w) on the non-zero coordinates
    np.testing.assert_allclose(H @ (W_STAR - found.l1), found.alpha_l1 * np.sign(found.l1), atol=1e-9)
    corner = explorer.constrained_solutions(H, W_STAR, 1.0)
    gradient = H @ (W_STAR - corner.l1)
    assert gradient[0] == pytest.approx(corner.alpha_l1) and abs(gradient[1]) <= corner.alpha_l1
    ridge = np.linalg.solve(H + corner.alpha_l2 * np.eye(2), H @ W_STAR)
    np.testing.assert_allclose(ridge, corner.l2, atol=1e-10)


def test_an_inactive_constraint_marks_w_star_only_and_says_so():
    fig, axes = _axes()
    found = explorer.draw_constraint_regions(axes, H, W_STAR, 2.5)
    assert found.alpha_l1 == found.alpha_l2 == 0.0
    for ax in axes:
        assert not [line for line in ax.get_lines() if line.get_marker() == "o"]
        assert any("inactive" in t.get_text() for t in ax.texts)
    plt.close(fig)


def test_box_radius_gives_every_radius_the_same_limits():
    limits = []
    for radius in (0.2, 1.0, 2.0):
        fig, axes = _axes()
        explorer.draw_constraint_regions(axes, H, W_STAR, radius, box_radius=2.0)
        limits.append(axes[0].get_xlim())
        plt.close(fig)
    assert limits[0] == limits[1] == limits[2]


def test_the_explorer_holds_one_picture_per_radius(switcher_pages):
    radii = [0.2, 0.6, 1.0, 1.6, 2.2]
    box = explorer.constraint_explorer(H, W_STAR, radii)
    slider, stack = box.children
    assert list(slider.options) == ["0.2", "0.6", "1", "1.6", "2.2"]
    pages = switcher_pages(stack, [slider])
    pictures = [page.children[0].value for page in pages]
    described = "<small>The constraint regions of radius 0.6 with the constrained optima</small>"
    assert pages[1].children[1].value == described
    assert all(p[:8] == b"\x89PNG\r\n\x1a\n" for p in pictures) and len(set(pictures)) == len(radii)
    assert sum(map(len, pictures)) < 1_500_000 * len(radii) / explorer.MAX_RADII


BAD = [
    ("H-asymmetric", lambda: explorer.constrained_solutions([[1.0, 0.5], [0.0, 1.0]], W_STAR, 1.0),
     ValueError, "H must be symmetric"),
    ("H-indefinite", lambda: explorer.constrained_solutions(np.diag([1.0, -1.0]), W_STAR, 1.0), ValueError,
     "H must be positive definite"),
    ("H-3x3", lambda: explorer.constrained_solutions(np.eye(3), W_STAR, 1.0), ValueError,
     "H must be (2, 2), got shape (3, 3)"),
    ("H-nan", lambda: explorer.constrained_solutions([[1.0, np.nan], [np.nan, 1.0]], W_STAR, 1.0),
     ValueError, "H holds 2 non-finite value(s)"),
    ("w_star-length-3", lambda: explorer.constrained_solutions(np.eye(2), [1.0, 2.0, 3.0], 1.0), ValueError,
     "w_star must have 2 entries"),
    ("w_star-matrix", lambda: explorer.constrained_solutions(np.eye(2), np.eye(2), 1.0), ValueError,
     "w_star must have 1 dimension"),
    ("w_star-string", lambda: explorer.constrained_solutions(np.eye(2), "1, 2", 1.0), TypeError,
     "w_star must be a NumPy array or a torch tensor"),
    ("radius-zero", lambda: explorer.constrained_solutions(H, W_STAR, 0.0), ValueError,
     "Invalid radius: 0.0"),
    ("radius-array", lambda: explorer.constrained_solutions(H, W_STAR, np.ones(2)), TypeError,
     "radius must be a real number"),
    ("draw-radius-negative", lambda: explorer.draw_constraint_regions(_axes()[1], H, W_STAR, -1.0),
     ValueError, "Invalid radius: -1.0"),
    ("draw-box_radius-zero", lambda: explorer.draw_constraint_regions(_axes()[1], H, W_STAR, 1.0,
                                                                      box_radius=0.0),
     ValueError, "Invalid box_radius: 0.0"),
    ("draw-axes-none", lambda: explorer.draw_constraint_regions(None, H, W_STAR, 1.0), TypeError,
     "axes_pair must be two matplotlib Axes"),
    ("draw-one-axes", lambda: explorer.draw_constraint_regions([_axes()[1][0]], H, W_STAR, 1.0), ValueError,
     "2 panel(s) to draw, but 1 axes given"),
    ("draw-figure", lambda: explorer.draw_constraint_regions([_axes()[0], _axes()[0]], H, W_STAR, 1.0),
     TypeError, "axes[0] must be a matplotlib Axes, got Figure"),
    ("explorer-radii-empty", lambda: explorer.constraint_explorer(H, W_STAR, []), ValueError,
     "radii is empty"),
    ("explorer-radii-decreasing", lambda: explorer.constraint_explorer(H, W_STAR, [1.0, 0.5]), ValueError,
     "radii must increase strictly"),
    ("explorer-radii-repeated", lambda: explorer.constraint_explorer(H, W_STAR, [1.0, 1.0]), ValueError,
     "radii must increase strictly"),
    ("explorer-radii-zero", lambda: explorer.constraint_explorer(H, W_STAR, [0.0, 1.0]), ValueError,
     "Invalid radii: 0 (every radius must be > 0)"),
    ("explorer-radii-nan", lambda: explorer.constraint_explorer(H, W_STAR, [0.5, np.nan]), ValueError,
     "radii holds 1 non-finite value(s)"),
    ("explorer-radii-too-many", lambda: explorer.constraint_explorer(H, W_STAR, np.linspace(0.1, 2, 13)),
     ValueError, "radii has 13 values; at most 12"),
    ("explorer-radii-number", lambda: explorer.constraint_explorer(H, W_STAR, 1.0), TypeError,
     "radii must be a NumPy array or a torch tensor"),
    ("explorer-H-shape", lambda: explorer.constraint_explorer(np.eye(3), W_STAR, [1.0]), ValueError,
     "H must be (2, 2)"),
]


@pytest.mark.parametrize("call, error, phrase", [row[1:] for row in BAD], ids=[row[0] for row in BAD])
def test_bad_arguments_are_refused_by_name(call, error, phrase):
    with pytest.raises(error) as info:
        call()
    assert phrase in str(info.value)
    plt.close("all")


def test_tensors_and_lists_are_accepted():
    found = explorer.constrained_solutions(torch.tensor(H), torch.tensor(W_STAR), 1.0)
    same = explorer.constrained_solutions(H.tolist(), W_STAR.tolist(), 1)
    np.testing.assert_array_equal(found.l1, same.l1)
    np.testing.assert_array_equal(found.l2, same.l2)
