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
    with pytest.raises(ValueError, match="allowed: 'minmax', 'std', 't95'"):
        tw.plot.seed_band(ax, [0, 1, 2], runs, label="a", band="iqr")
    plt.close(fig)


def test_seed_band_t95_is_the_t_interval_of_each_column():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    runs = np.array([[0.0, 1.0], [2.0, 5.0], [1.0, 0.0]])
    tw.plot.seed_band(ax, [0, 1], runs, label="a", band="t95")
    band = ax.collections[-1].get_paths()[0].vertices[:, 1]
    halves = [tw.checks.t_interval(runs[:, j])[1] for j in range(2)]
    expected = [m + s * h for m, h in zip(runs.mean(0), halves, strict=True) for s in (-1, 1)]
    assert np.allclose(sorted(set(np.round(band, 9))), sorted(np.round(expected, 9)))
    with pytest.raises(ValueError, match="at least 2 seeds"):
        tw.plot.seed_band(ax, [0, 1], runs[:1], label="a", band="t95")
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


def test_image_browser_links_slider_and_pages(switcher_pages):
    box = tw.widgets.image_browser(np.random.rand(3, 64), [0, 1, 2], shape=(8, 8), scale=2)
    slider, pages = box.children
    shown = switcher_pages(pages, [slider])
    assert len(shown) == 3 and slider.max == 2
    assert all(page.children[0].value[:8] == b"\x89PNG\r\n\x1a\n" for page in shown)
    assert [page.children[-1].value for page in shown] == [f"<b>label: {i}</b>" for i in range(3)]
    assert shown[2].children[1].value == '<small>example 2, label 2</small>'  # the picture's description
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        tw.widgets.image_browser(np.random.rand(3, 64), [0, 1], shape=(8, 8))
    with pytest.raises(ValueError, match="as shape=\\(7, 7\\)"):
        tw.widgets.image_browser(np.random.rand(3, 64), [0, 1, 2], shape=(7, 7))


def test_style_cycles_line_styles_with_colours():
    tw.plot.use_style()
    cycle = mpl.rcParams["axes.prop_cycle"].by_key()
    k = len(tw.plot.COLORS)
    # the first round: every colour with its own line style
    assert list(cycle["color"][:k]) == list(tw.plot.COLORS)
    assert len(set(map(str, cycle["linestyle"][:k]))) == k
    # later rounds repeat the colours, never a (colour, line style) pair
    pairs = list(zip(cycle["color"], map(str, cycle["linestyle"]), strict=True))
    assert len(pairs) == 3 * k and len(set(pairs)) == len(pairs)
    assert mpl.rcParams["xtick.labelsize"] >= 9 and mpl.rcParams["legend.fontsize"] >= 9
    with pytest.raises(ValueError, match="Invalid n: 0"):
        tw.plot.style_cycle(0)


def _linear_rgb(colour):
    rgb = np.array([int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb):
    """CIE L*a*b* (D65) of a linear sRGB colour."""
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                    [0.0193, 0.1192, 0.9505]]) @ linear_rgb / np.array([0.9505, 1.0, 1.089])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


# Machado, Oliveira & Fernandes (2009), severity 1.0, applied to linear RGB.
_DICHROMACY = {
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
}


def test_palette_contrast_and_colour_blindness():
    # WCAG 2.1 non-text contrast: every line colour at least 3:1 against the white page
    for colour in tw.plot.COLORS:
        luminance = _linear_rgb(colour) @ [0.2126, 0.7152, 0.0722]
        assert 1.05 / (luminance + 0.05) >= 3.0, colour
    # every pair of colours stays apart (CIE76 distance above 12) with each kind of dichromacy
    for name, matrix in _DICHROMACY.items():
        seen = [_lab(np.clip(np.array(matrix) @ _linear_rgb(c), 0, 1)) for c in tw.plot.COLORS]
        for i in range(len(seen)):
            for j in range(i):
                distance = np.linalg.norm(seen[i] - seen[j])
                assert distance > 12, (name, tw.plot.COLORS[i], tw.plot.COLORS[j], distance)


def test_figure_is_column_wide_and_refuses_three_across():
    import matplotlib.pyplot as plt

    fig, axes = tw.plot.figure(2, 2)
    assert fig.get_size_inches()[0] == tw.plot.WIDTH and axes.shape == (2, 2)
    assert tw.plot.WIDTH * tw.plot.DPI <= 800  # the text column at 1280 px (tests/test_site.py)
    with pytest.raises(ValueError, match="ncols=3 puts more than 2 panels across"):
        tw.plot.figure(1, 3)
    with pytest.raises(ValueError, match=r"Invalid nrows: 0 \(must be >= 1\)"):
        tw.plot.figure(0)
    with pytest.raises(ValueError, match=r"Invalid height: -1.0 \(must be in \(0.0, 12.0\]\)"):
        tw.plot.figure(height=-1)
    plt.close("all")


def test_log_axis_labels_plain_numbers_at_the_given_ticks():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([2, 4, 8, 64], [1, 2, 3, 4])
    tw.plot.log_axis(ax, "x", ticks=[2, 4, 8, 64], base=2)
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "4", "8", "64"]
    assert ax.xaxis.get_minor_locator()() == []
    fig2, ax2 = plt.subplots()
    ax2.plot([1, 2, 3], [0.35, 0.5, 0.9])
    tw.plot.log_axis(ax2, "y")
    fig2.canvas.draw()
    minor = [t.get_text() for t in ax2.get_yticklabels(minor=True) if t.get_text()]
    assert "0.5" in minor and not any("10^" in t or "times" in t for t in minor)
    with pytest.raises(ValueError, match="axis must be 'x' or 'y', got 'z'"):
        tw.plot.log_axis(ax, "z")
    with pytest.raises(ValueError, match="ticks must be positive numbers"):
        tw.plot.log_axis(ax, "x", ticks=[0, 1])
    plt.close("all")


def test_seed_band_says_what_its_rows_are():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    line = tw.plot.seed_band(ax, [0, 1], np.zeros((9, 2)), label="MC", runs_are="3 networks x 3 draws",
                             linestyle=":")
    assert line.get_label() == "MC (3 networks x 3 draws)" and line.get_linestyle() == ":"
    plt.close(fig)


def test_no_figure_text_below_nine_points():
    """The house minimum (issue 28): 9-point text is about 10 px on a phone, where figures are shown
    at no less than 72% of their width (tests/test_site.py); smaller text is not legible there."""
    import json
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    small = re.compile(r"\b(?:fontsize|labelsize|size)\s*=\s*([0-9.]+)")
    sources = {str(p): p.read_text() for p in (root / "code" / "trainwell").rglob("*.py")}
    for path in sorted((root / "book").rglob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        sources[str(path)] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    found = [(name, m.group(0)) for name, text in sources.items() for m in small.finditer(text)
             if float(m.group(1)) < 9]
    assert not found, found


def test_label_lines_names_each_line_in_its_colour_and_keeps_labels_apart():
    import matplotlib.pyplot as plt

    plot = tw.plot
    fig, ax = plot.figure()
    x = np.linspace(1, 10, 5)
    lines = ax.plot(x, np.stack([np.full(5, 0.0), np.full(5, 0.1), np.full(5, 5.0)], axis=1))
    ax.set_ylim(-10, 10)
    texts = plot.label_lines(ax, lines, ["a", "b", "c"], min_gap=0.05)
    assert [t.get_text() for t in texts] == ["a", "b", "c"]
    assert [t.get_color() for t in texts] == [line.get_color() for line in lines]
    # a and b start 0.1 apart and are spread to the gap of 1 (5% of 20); the stack then moves down by
    # the mean push, 0.3, so that on average the labels sit at their lines
    np.testing.assert_allclose([t.xy[1] for t in texts], [-0.3, 0.7, 4.7], rtol=0, atol=1e-12)
    assert all(t.xy[0] == 1.0 for t in texts)
    with pytest.raises(ValueError, match="3 lines but 2 labels"):
        plot.label_lines(ax, lines, ["a", "b"])
    with pytest.raises(ValueError, match="Invalid min_gap"):
        plot.label_lines(ax, lines, ["a", "b", "c"], min_gap=0.9)
    plt.close(fig)
