import matplotlib as mpl
import numpy as np
import pytest

import trainwell as tw


def test_style_is_applied():
    tw.plot.use_style()
    assert mpl.rcParams["axes.spines.top"] is False
    assert mpl.rcParams["axes.prop_cycle"].by_key()["color"][0] == tw.plot.COLORS[0]


def test_seed_band_mean_and_spread():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    runs = np.array([[0.0, 1.0, 2.0], [2.0, 3.0, 4.0]])
    line = tw.plot.seed_band(ax, [0, 1, 2], runs, label="a")
    assert np.allclose(line.get_ydata(), [1.0, 2.0, 3.0])
    assert "n=2 seeds" in line.get_label()
    with pytest.raises(ValueError, match=r"shape \(seeds, 3\)"):
        tw.plot.seed_band(ax, [0, 1, 2], runs[:, :2], label="a")
    with pytest.raises(ValueError, match="allowed: 'minmax', 'std'"):
        tw.plot.seed_band(ax, [0, 1, 2], runs, label="a", band="iqr")
    plt.close(fig)


def test_images_and_signals():
    import matplotlib.pyplot as plt

    fig = tw.plot.images(np.random.rand(12, 64), labels=list(range(12)), shape=(8, 8), ncols=6)
    assert len(fig.axes) == 12
    with pytest.raises(ValueError, match="cannot show rows of size 64"):
        tw.plot.images(np.random.rand(2, 64), shape=(7, 7))
    with pytest.raises(ValueError, match="2 images but 3 labels"):
        tw.plot.images(np.random.rand(2, 8, 8), labels=[1, 2, 3])
    fig2 = tw.plot.signals(np.random.rand(10, 40), labels=list(range(10)))
    assert len(fig2.axes) == 10
    plt.close("all")


def test_image_browser_links_slider_and_pages():
    import ipywidgets as W

    box = tw.widgets.image_browser(np.random.rand(3, 64), [0, 1, 2], shape=(8, 8), scale=2)
    slider, stack = box.children
    assert isinstance(stack, W.Stack) and len(stack.children) == 3 and slider.max == 2
    png = stack.children[0].children[0].value
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        tw.widgets.image_browser(np.random.rand(3, 64), [0, 1], shape=(8, 8))
    with pytest.raises(ValueError, match="as \\(7, 7\\)"):
        tw.widgets.image_browser(np.random.rand(3, 64), [0, 1, 2], shape=(7, 7))
