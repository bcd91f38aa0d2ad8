"""Part II's own layers run in fit_many: a layer the members cannot share a kernel for (the mask-explicit
MLP, DropConnect) runs member by member on its own parameters and random stream, so every member of a
stacked run is still its own fit run."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import trainwell as tw
from trainwell.dropout import DropConnectLinear, GaussianDropout, MaskedMLP
from trainwell.train import EarlyStopping, fit, fit_many
from trainwell.train.members import StackedModel


@pytest.fixture(scope="module")
def digits():
    data = tw.data.load("digits")
    return data.subset_train(120)


def _double(data):
    from types import SimpleNamespace

    return SimpleNamespace(**{f"{x}_{s}": getattr(data, f"{x}_{s}").double() if x == "X" else
                              getattr(data, f"{x}_{s}") for x in "Xy" for s in ("train", "val")})


BUILDS = {
    "masked MLP": lambda: MaskedMLP([64, 24, 24, 10], keep_hidden=0.5, keep_input=0.8).double(),
    "DropConnect": lambda: nn.Sequential(DropConnectLinear(64, 24, keep=0.5), nn.ReLU(),
                                         nn.Linear(24, 10)).double(),
    "Gaussian dropout": lambda: nn.Sequential(nn.Linear(64, 24), nn.ReLU(), GaussianDropout(0.7),
                                              nn.Linear(24, 10)).double(),
}


@pytest.mark.parametrize("name", list(BUILDS))
def test_every_member_is_its_own_fit_run(digits, name):
    data, build, seeds = _double(digits), BUILDS[name], [0, 1, 2]
    kwargs = dict(optimizer=lambda p: torch.optim.Adam(p, lr=3e-3), epochs=4, batch_size=32,
                  callbacks=[EarlyStopping(2)])
    runs = fit_many(build, data, seeds=seeds, progress=False, **kwargs)
    for m, seed in enumerate(seeds):
        tw.seed_everything(seed)
        model = build()
        history = fit(model, data, seed=seed, progress=False, **{**kwargs, "callbacks": [EarlyStopping(2)]})
        mine, theirs = np.array(history.step_loss), np.array(runs.histories[m].step_loss)
        assert mine.shape == theirs.shape and np.allclose(mine, theirs, rtol=1e-10, atol=0), name
        for (k, v), w in zip(model.state_dict().items(), runs.models[m].state_dict().values(), strict=True):
            assert torch.allclose(v, w, rtol=1e-10, atol=1e-12), (name, k)
    # the members differ: their own initializations and their own masks
    assert not np.allclose(runs.histories[0].step_loss, runs.histories[1].step_loss)


def test_a_layer_without_a_shared_kernel_is_stacked_member_by_member():
    stacked = StackedModel([BUILDS["masked MLP"]() for _ in range(3)])
    assert [kind for _, _, kind in stacked.layers] == ["member_module"]
    assert stacked.params["layers.0.weight"][0].shape == (3, 24, 64)


def test_the_sparse_activity_penalty_runs_in_fit_many_member_by_member(digits):
    """ActivityL1 with its layers as a function of the model: each member of a fit_many run is its own
    fit run (whose penalty hooks that member's own layers), and no hook outlives either run."""
    from trainwell.regularization import ActivityL1

    data, seeds = _double(digits), [0, 1, 2]
    build = BUILDS["masked MLP"]
    kwargs = dict(optimizer=lambda p: torch.optim.Adam(p, lr=3e-3), epochs=3, batch_size=32)
    runs = fit_many(build, data, seeds=seeds, penalty=ActivityL1(lambda net: net.layers[:-1], 0.05),
                    progress=False, **kwargs)
    plain = fit_many(build, data, seeds=seeds, progress=False, **kwargs)
    for m, seed in enumerate(seeds):
        tw.seed_everything(seed)
        model = build()
        penalty = ActivityL1(model.layers[:-1], 0.05)  # the older form: this model's own layers
        history = fit(model, data, seed=seed, penalty=penalty, progress=False, **kwargs)
        penalty.remove()
        assert np.allclose(history.step_loss, runs.histories[m].step_loss, rtol=1e-10, atol=0)
        for v, w in zip(model.state_dict().values(), runs.models[m].state_dict().values(), strict=True):
            assert torch.allclose(v, w, rtol=1e-10, atol=1e-12)
        assert not any(layer._forward_hooks for layer in runs.models[m].layers)
        assert not any(layer._forward_hooks for layer in model.layers)
        # the penalty did something: the same seed without it ends elsewhere
        assert not np.allclose(history.step_loss, plain.histories[m].step_loss)


def test_the_sparse_activity_penalty_says_when_it_saw_no_members(digits):
    from trainwell.regularization import ActivityL1

    data, build = _double(digits), BUILDS["masked MLP"]
    other = build()  # layers of a model that is not in the run
    kwargs = dict(optimizer=lambda p: torch.optim.Adam(p, lr=3e-3), epochs=1, batch_size=32, progress=False)
    with pytest.raises(RuntimeError, match="no forward pass recorded yet"):
        fit_many(build, data, seeds=[0, 1], penalty=ActivityL1(other.layers[:-1], 0.05), **kwargs)
    stacked = lambda: nn.Sequential(nn.Linear(64, 24), nn.ReLU(), nn.Linear(24, 10)).double()  # noqa: E731
    with pytest.raises(RuntimeError, match="no forward pass recorded yet"):  # a shared kernel, no hooks run
        fit_many(stacked, data, seeds=[0, 1], penalty=ActivityL1(lambda net: [net[0]], 0.05), **kwargs)
    with pytest.raises(TypeError, match=r"layers\(model\) must return a list of torch.nn.Module"):
        fit_many(build, data, seeds=[0, 1], penalty=ActivityL1(lambda net: 3, 0.05), **kwargs)
