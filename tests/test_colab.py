"""Installing trainwell on Colab changes nothing Colab pins (its published freeze, compat/colab/).

Colab pins IPython exactly (its google-colab package requires 7.34.0) and warns that upgrading IPython,
ipykernel, tornado, prompt-toolkit or pyzmq in a running session can crash the runtime; its widget
manager renders ipywidgets 7. pip is asked, offline, what `pip install trainwell` would do where
exactly Colab's packages are installed (tools/colab_constraints.py): it must install trainwell alone.
"""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import colab_constraints as cc  # noqa: E402


def test_the_freeze_is_read_as_colab_published_it():
    pins = cc.colab_pins()
    assert len(pins) > 600
    assert pins["torch"] == "2.11.0"  # "torch @ .../torch-2.11.0%2Bcpu-cp313-...whl", a CPU build
    assert (pins["ipython"], pins["ipywidgets"], pins["traitlets"]) == ("7.34.0", "7.7.1", "5.7.1")
    assert "google-colab" not in pins  # installed from a local file: on no index
    assert (ROOT / "compat" / "colab" / "SOURCE.txt").read_text().split()[0] == \
        "a72407924822ea377410b69f0a290150bcb5c9c2"


def test_installing_trainwell_on_colab_installs_trainwell_alone():
    requires_python, dependencies = cc.requirements()
    assert {d.split(">=")[0] for d in dependencies} >= {"torch", "ipython", "ipywidgets"}
    assert cc.resolve()["install"] == []  # every dependency is satisfied by Colab's own version


def test_the_resolver_check_fails_when_a_requirement_would_upgrade_a_colab_package(tmp_path):
    freeze = tmp_path / "pip-freeze.txt"
    lines = cc.FREEZE.read_text().splitlines()
    freeze.write_text("\n".join(line.replace("ipywidgets==7.7.1", "ipywidgets==7.6.0") for line in lines))
    (tmp_path / "os-info.txt").write_text((cc.FREEZE.parent / "os-info.txt").read_text())
    with pytest.raises(RuntimeError, match=r"ipywidgets>=7\.7\.1"):
        cc.resolve(freeze)
    (tmp_path / "os-info.txt").write_text("Python 3.10.12\n")
    with pytest.raises(RuntimeError, match="requires Python >=3.11; Colab runs 3.10.12"):
        cc.resolve(freeze)


def test_constraints_leave_out_colab_s_cuda_libraries(tmp_path):
    out = tmp_path / "c.txt"
    count = cc.write_constraints(out)
    text = out.read_text()
    assert count == len(text.splitlines()) and "torch==2.11.0\n" in text and "ipython==7.34.0\n" in text
    assert "nvidia-" not in text and "\ncuda-" not in text
