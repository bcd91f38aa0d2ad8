import random
from pathlib import Path

import numpy as np
import pytest
import torch

import trainwell as tw
from trainwell import config


def test_setup_reports_one_line_and_seeds_everything(capsys):
    tw.setup(seed=7)
    info = tw.config.current()
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and line.startswith("trainwell: seed 7, device ")
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    tw.setup(seed=7, quiet=True)
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b
    assert tw.device() == info.device


def test_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert config.pick_device() == torch.device("cpu")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert config.pick_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert config.pick_device() == torch.device("cuda")


def test_forcing_an_absent_device_is_an_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="prefer='cuda'"):
        config.pick_device("cuda")
    with pytest.raises(ValueError, match="allowed: 'cpu', 'cuda', 'mps'"):
        config.pick_device("tpu")


def test_module_device_reads_the_first_tensor_of_a_module():
    assert config.module_device(torch.nn.Linear(2, 3).double()) == torch.device("cpu")
    bn_only = torch.nn.BatchNorm1d(3, affine=False)  # buffers, no parameters
    assert config.module_device(bn_only) == torch.device("cpu")
    assert config.module_device(torch.nn.ReLU(), default="cpu") == torch.device("cpu")
    assert config.module_device(torch.nn.ReLU()) == tw.device()
    with pytest.raises(TypeError, match="expected a torch.nn.Module, got Tensor"):
        config.module_device(torch.zeros(2))


def test_bad_seed():
    with pytest.raises(ValueError, match="Invalid seed: -1"):
        tw.setup(seed=-1)
    with pytest.raises(TypeError, match="seed must be an integer"):
        tw.setup(seed=1.5)


def test_size_switch(monkeypatch):
    monkeypatch.delenv("TRAINWELL_SIZE", raising=False)
    assert tw.size() == "quick"
    quick = tw.sizes("using.digits_mlp")
    monkeypatch.setenv("TRAINWELL_SIZE", "full")
    assert tw.size() == "full"
    full = tw.sizes("using.digits_mlp")
    assert vars(quick).keys() == vars(full).keys() and quick != full
    monkeypatch.setenv("TRAINWELL_SIZE", "huge")
    with pytest.raises(ValueError, match="allowed: 'quick', 'full'"):
        tw.size()


def test_every_experiment_defines_both_sizes_with_the_same_keys_and_a_notebook():
    from trainwell import size_table

    book = Path(__file__).resolve().parent.parent / "book"
    for name, entry in size_table.TABLE.items():
        assert entry.name == name and set(entry.quick) == set(entry.full), name
        assert (book / f"{entry.notebook}.ipynb").is_file(), (name, entry.notebook)
        assert name in (book / f"{entry.notebook}.ipynb").read_text(), (name, "not used there")


def test_sizes_returns_a_fresh_namespace():
    s = tw.sizes("using.digits_mlp")
    s.epochs = -1
    assert tw.sizes("using.digits_mlp").epochs != -1


def test_unknown_experiment_and_mismatched_entry():
    from trainwell import size_table

    with pytest.raises(ValueError, match="Unknown experiment 'nope'"):
        tw.sizes("nope")
    with pytest.raises(TypeError, match="experiment must be a name"):
        tw.sizes(3)
    with pytest.raises(ValueError, match="same keys"):
        size_table._entry("bad", "nowhere", "nothing", budget=("a",), quick={"a": 1}, full={"b": 2})
    for budget in ((), ("b",), ("a",)):  # none, not a key, not a positive integer in both sizes
        with pytest.raises(ValueError, match="budget of 'bad' must name keys"):
            size_table._entry("bad", "nowhere", "nothing", budget=budget, quick={"a": 1}, full={"a": 0.5})
    entry = size_table._entry("ok", "nowhere", "nothing", budget=("a",), quick={"a": 1}, full={"a": 2})
    assert entry.budget == ("a",)
    assert all(e.budget for e in size_table.TABLE.values())  # every experiment names its budget


def test_the_markdown_table_has_a_row_per_experiment():
    from trainwell import size_table

    rows = size_table.markdown_table().splitlines()
    assert len(rows) == 2 + len(size_table.TABLE)
    assert all(row.count("|") >= 6 for row in rows)
