import numpy as np
import pytest
import scipy.stats
import torch

import trainwell as tw


def test_pass_line_has_the_fixed_form(capsys):
    assert bool(tw.check("one equals one", 1.0, 1.0 + 1e-13, atol=1e-12)) is True
    assert capsys.readouterr().out == "[check] one equals one: PASS (max |diff| = 1e-13, tol = 1e-12)\n"


def test_fail_when_the_sides_differ(capsys):
    assert bool(tw.check("differs", torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.5]), atol=1e-3)) is False
    assert capsys.readouterr().out == "[check] differs: FAIL (max |diff| = 0.5, tol = 0.001)\n"


def test_exact_comparison_by_default(capsys):
    assert bool(tw.check("exact", np.arange(3), np.arange(3))) is True
    assert bool(tw.check("not exact", 1.0, 1.0 + 1e-15)) is False
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "[check] exact: PASS (max |diff| = 0, tol = 0)"
    assert out[1].startswith("[check] not exact: FAIL")


def test_the_line_names_the_tolerance_the_rule_uses(capsys):
    # both tolerances: named as torch.allclose names them, so that a |diff| above atol does not read
    # as a failed check (here 2e-5 > atol, but below atol + rtol * |rhs| = 1e-5 + 1e-5 * 2)
    assert bool(tw.check("both", 2.0 + 2e-5, 2.0, atol=1e-5, rtol=1e-5))
    assert capsys.readouterr().out == "[check] both: PASS (max |diff| = 2e-05, atol = 1e-05, rtol = 1e-05)\n"
    assert bool(tw.check("relative", 2.0 + 2e-5, 2.0, rtol=2e-5))
    assert capsys.readouterr().out == "[check] relative: PASS (max |diff| = 2e-05, rtol = 2e-05)\n"


def test_relative_tolerance_follows_allclose():
    a, b = torch.tensor([100.0, 1e-3]), torch.tensor([100.001, 1e-3])
    assert bool(tw.check("rtol", a, b, rtol=1e-5, quiet=True)) == torch.allclose(a, b, rtol=1e-5, atol=0)
    assert bool(tw.check("rtol tight", a, b, rtol=1e-6, quiet=True)) is False


def test_nan_fails_even_with_a_huge_tolerance():
    assert bool(tw.check("nan", float("nan"), 1.0, atol=1e9, quiet=True)) is False


def test_shapes_must_match_nothing_broadcasts():
    with pytest.raises(ValueError, match="same shape.*nothing is broadcast"):
        tw.check("broadcast", torch.zeros(3), torch.zeros(1, 3))


@pytest.mark.parametrize("kwargs, match", [
    ({"atol": -1.0}, "Invalid atol: -1.0"),
    ({"rtol": float("nan")}, "Invalid rtol"),
])
def test_bad_tolerances(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tw.check("x", 1.0, 1.0, **kwargs)


def test_bad_claim_and_operands():
    with pytest.raises(ValueError, match="claim"):
        tw.check("  ", 1.0, 1.0)
    with pytest.raises(TypeError, match="numeric"):
        tw.check("strings", "a", "a")
    with pytest.raises(ValueError, match="empty"):
        tw.check("empty", np.zeros(0), np.zeros(0))


def test_check_true(capsys):
    assert bool(tw.check_true("2 < 3", 2 < 3, "2 vs 3")) is True
    assert bool(tw.check_true("tensor condition", torch.tensor(False))) is False
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["[check] 2 < 3: PASS (2 vs 3)", "[check] tensor condition: FAIL"]
    with pytest.raises(TypeError, match="bool"):
        tw.check_true("number", 1)
    with pytest.raises(ValueError, match="single truth value"):
        tw.check_true("many", torch.tensor([True, False]))


def test_verdict_is_truthy_and_displays_nothing_in_a_notebook():
    from IPython.core.formatters import DisplayFormatter

    ok = tw.check("one", 1.0, 1.0, quiet=True)
    bad = tw.check("two", 1.0, 2.0, quiet=True)
    assert ok and not bad and repr(bad) == "Verdict(FAIL)"
    assert ok.line == "[check] one: PASS (max |diff| = 0, tol = 0)"
    assert DisplayFormatter().format(ok) == ({}, {})  # the printed line is its only output


def _as_nbval_compares(text: str) -> str:
    """``text`` after the substitutions of tests/nbval_sanitize.cfg, applied the way nbval applies them."""
    import pathlib
    import re

    from nbval.plugin import get_sanitize_patterns

    cfg = pathlib.Path(__file__).with_name("nbval_sanitize.cfg").read_text()
    for regex, replace in get_sanitize_patterns(cfg):
        text = re.sub(regex, replace, text)
    return text


def test_nbval_compares_claims_verdicts_and_tolerances_but_not_measurements():
    lines = [tw.check_true("dropout helps", True, "gain 0.12 nats", quiet=True).line,
             tw.check_true("dropout helps", True, "gain 0.31 nats", quiet=True).line,
             tw.check_true("dropout helps", False, "gain -0.01 nats", quiet=True).line,
             tw.check_true("dropout hurts", True, "gain 0.12 nats", quiet=True).line,
             tw.check("equal", 1.0, 1.0 + 1e-13, atol=1e-12, quiet=True).line,
             tw.check("equal", 1.0, 1.0 + 3e-13, atol=1e-12, quiet=True).line,
             tw.check("equal", 1.0, 1.0 + 1e-13, atol=1e-11, quiet=True).line,
             tw.check("equal", 1.0, 1.1, atol=1e-12, quiet=True).line]
    seen = [_as_nbval_compares(line) for line in lines]
    assert seen[0] == seen[1], "a condition check's measurements must not be compared"
    assert seen[0] != seen[2], "PASS and FAIL must stay different"
    assert seen[0] != seen[3], "the claim must stay compared"
    assert seen[4] == seen[5], "the last digits of a measured difference must not be compared"
    assert seen[4] != seen[6], "the tolerance must stay compared"
    assert seen[4] != seen[7], "PASS and FAIL must stay different"
    # Several lines in one output stream are each sanitized on their own.
    stream = "\n".join(lines[:3]) + "\n"
    assert _as_nbval_compares(stream).splitlines() == seen[:3]


def test_check_true_prints_one_line_when_numpy_wraps_an_array(capsys):
    import numpy as np

    values = np.linspace(0.1, 0.9, 10).round(5)
    detail = f"final {values}"
    assert "\n" in detail  # NumPy wraps ten such values at its 75-character width
    tw.check_true("ten seeds, one line", True, detail)
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("[check] ten seeds, one line: PASS (final [0.1") and line.endswith("0.9    ])")


def test_t_interval_matches_scipy_and_names_bad_input():
    values = np.array([0.2, -0.1, 0.4, 0.05, 0.3])
    mean, half = tw.checks.t_interval(values)
    lo, hi = scipy.stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=scipy.stats.sem(values))
    assert mean == pytest.approx(values.mean())
    assert (mean - half, mean + half) == pytest.approx((lo, hi))
    _, wider = tw.checks.t_interval(values, coverage=0.99)
    assert wider > half
    with pytest.raises(ValueError, match="at least 2"):
        tw.checks.t_interval([1.0])
    with pytest.raises(ValueError, match="one-dimensional"):
        tw.checks.t_interval(np.ones((2, 3)))
    with pytest.raises(ValueError, match="finite"):
        tw.checks.t_interval([1.0, float("nan")])
    with pytest.raises(ValueError, match="coverage"):
        tw.checks.t_interval(values, coverage=1.0)
