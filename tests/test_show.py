import inspect

import pytest

import trainwell as tw


def test_source_is_the_real_source():
    src = tw.source(tw.checks.check, full=True)
    assert str(src) == inspect.getsource(tw.checks.check).rstrip()
    assert src._repr_markdown_().startswith("```python\ndef check(")
    assert src.name == "trainwell.checks.check"


def test_show_displays(capsys):
    tw.show(tw.models.mlp)
    assert "def mlp(" in capsys.readouterr().out


def test_show_refuses_foreign_and_empty():
    with pytest.raises(TypeError, match="trainwell"):
        tw.source(inspect.getsource)
    with pytest.raises(TypeError, match="at least one"):
        tw.show()


def test_full_source_is_the_real_source_and_the_default_condenses_it():
    full = tw.source(tw.models.mlp, full=True)
    assert str(full) == inspect.getsource(tw.models.mlp).rstrip()
    short = str(tw.source(tw.models.mlp))
    assert "raise" not in short and "...  # checks:" in short
    assert len(short.splitlines()) < len(str(full).splitlines())
    with pytest.raises(TypeError, match="full must be True or False"):
        tw.source(tw.models.mlp, full=1)


SAMPLE = '''def f(x, lr, sizes):
    """Return x minus lr. A second sentence (e.g. this one) that the page
    does not need.

    A second paragraph.
    """
    lr = check_float("lr", lr, minimum=0.0)
    widths = [check_int(f"sizes[{i}]", s, minimum=1) for i, s in enumerate(sizes)]
    if x.ndim != 1:
        raise ValueError(
            "x must be a vector")

    for s in widths:
        if s > 10:
            raise ValueError("too wide")
    y = x - lr  # the update
    if y.sum() > 0:
        y = -y
    return y'''


def test_condense_keeps_the_first_sentence_and_makes_each_run_of_checks_one_line():
    from trainwell.show import condense

    assert condense(SAMPLE) == '''def f(x, lr, sizes):
    """Return x minus lr."""
    ...  # checks: 8 lines
    y = x - lr  # the update
    if y.sum() > 0:
        y = -y
    return y'''


def test_condense_keeps_abbreviations_and_one_sentence_docstrings_whole():
    from trainwell.show import condense

    one = 'def g():\n    """Shrink w, e.g. by t, i.e. toward 0 (Smith et al. 2016)."""\n    return 1'
    assert condense(one) == one
    only_checks = 'def h(x):\n    """Check x."""\n    if x < 0:\n        raise ValueError("x")'
    assert condense(only_checks) == 'def h(x):\n    """Check x."""\n    ...  # checks: 2 lines'


def test_every_public_object_condenses_to_valid_python_made_of_its_own_lines():
    import ast

    from trainwell.show import CHECKS_MARK, condense

    seen = 0
    for module in (tw, tw.models, tw.train, tw.optim, tw.regularization, tw.dropout, tw.batchnorm,
                   tw.together, tw.checks, tw.data, tw.plot):
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            try:
                full = str(tw.source(obj, full=True))
            except TypeError:
                continue
            short = condense(full)
            ast.parse(short)
            original = set(full.splitlines())
            for line in short.splitlines():
                # every line is the source's own, a marker, or a docstring line cut after its sentence
                assert line in original or CHECKS_MARK in line or line.rstrip().endswith(('"""', "'''")), \
                    (name, line)
            seen += 1
    assert seen > 150
