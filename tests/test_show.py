import inspect

import pytest

import trainwell as tw


def test_source_is_the_real_source():
    src = tw.source(tw.checks.check)
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
