"""The trajectories figure and the interactive explorer of Part IV's side-by-side section."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from trainwell import optim as opt  # noqa: E402
from trainwell.optim import explorer  # noqa: E402


def test_tuned_trajectory_keeps_the_rate_with_the_lowest_mean_loss():
    f = opt.Quadratic([[1.0, 0.0], [0.0, 10.0]])
    lrs = [1e-3, 0.05, 0.19, 0.5]  # 0.5 diverges along the steep axis (2 / 10 = 0.2)
    lr, path = explorer.tuned_trajectory(lambda p, lr: opt.SGD(p, lr=lr), f, [1.0, 1.0], 50, lrs)
    means = {r: float(f.value(torch.as_tensor(opt.trajectory(lambda p, r=r: opt.SGD(p, lr=r), f,
                                                                [1.0, 1.0], 50))).mean())
             for r in lrs[:3]}
    assert lr == min(means, key=means.get) and path.shape == (51, 2)
    with pytest.raises(ValueError, match="every learning rate of the grid diverged"):
        explorer.tuned_trajectory(lambda p, lr: opt.SGD(p, lr=lr), f, [1.0, 1.0], 600, [0.5, 1.0])
    with pytest.raises(ValueError, match="lrs must be a non-empty list of positive numbers"):
        explorer.tuned_trajectory(lambda p, lr: opt.SGD(p, lr=lr), f, [1.0, 1.0], 5, [])
    with pytest.raises(TypeError, match="make must be a function"):
        explorer.tuned_trajectory(3, f, [1.0, 1.0], 5, [0.1])


def test_draw_paths_draws_every_path_and_the_minimum():
    fig, ax = plt.subplots()
    f = opt.Rosenbrock()
    paths = {"a": np.zeros((3, 2)), "b": np.ones((3, 2))}
    explorer.draw_paths(ax, f, paths, box=((-2, 2), (-1, 3)))
    labels = [line.get_label() for line in ax.get_lines()]
    assert {"a", "b"} <= set(labels) and len(ax.get_lines()) == 4  # two paths, the start, the star
    plt.close(fig)


def test_explorer_links_one_picture_per_setting(switcher_pages):
    widget = explorer.explorer(opt.Quadratic([[1.0, 0.0], [0.0, 4.0]]), [1.0, 1.0], 5, lrs=[0.1, 0.2],
                               momenta=[0.0, 0.5, 0.9])
    *sliders, pages = widget.children
    assert [slider.description for slider in sliders] == ["η", "γ"]  # stacked, not side by side
    shown = switcher_pages(pages, sliders)
    assert len(shown) == 6 and len({page.children[0].value for page in shown}) == 6
    # each picture's text alternative names its setting
    assert shown[0].children[1].value.startswith("<small>SGD's path on the contours, η = 0.1, γ = 0:")
    with pytest.raises(ValueError, match="momenta must be a non-empty list"):
        explorer.explorer(opt.Rosenbrock(), [0.0, 0.0], 5, lrs=[0.1], momenta=[1.0])
