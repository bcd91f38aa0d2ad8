"""Bad inputs to Part I's regularization tools, one row per mistake a new user could make.

Each row: a short id, the call, the exception type, and a phrase its message must contain (the phrase
names the argument). After the table: the functions that change state leave it alone when they fail.
"""
import types

import pytest
import torch
from torch import nn

import trainwell as tw
from trainwell.regularization import ActivityL1, AdditiveGaussianNoise, MaxNorm, max_norm_

NAN, INF = float("nan"), float("inf")


def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2))


def conv():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv1d(1, 2, 3), nn.ReLU())


def penalty_after(layer, x):
    """An ActivityL1 on ``layer`` after one forward pass of ``x``: the penalty is read on the call."""
    penalty = ActivityL1([layer], 0.1)
    layer(x)
    return penalty


CASES = [
    # ---- max_norm_ ---------------------------------------------------------------------------------
    ("max_norm_-c-zero", lambda: max_norm_(mlp(), 0.0), ValueError, "Invalid c: 0.0"),
    ("max_norm_-c-negative", lambda: max_norm_(mlp(), -1.0), ValueError, "Invalid c: -1.0"),
    ("max_norm_-c-nan", lambda: max_norm_(mlp(), NAN), ValueError, "Invalid c: nan"),
    ("max_norm_-c-inf", lambda: max_norm_(mlp(), INF), ValueError, "Invalid c: inf"),
    ("max_norm_-c-string", lambda: max_norm_(mlp(), "1.0"), TypeError, "c must be a real number"),
    ("max_norm_-c-tensor", lambda: max_norm_(mlp(), torch.tensor(1.0)), TypeError, "c must be a real number"),
    ("max_norm_-model-tensor", lambda: max_norm_(torch.ones(3, 3), 1.0),
     TypeError, "model must be a torch.nn.Module"),
    ("max_norm_-model-list", lambda: max_norm_([nn.Linear(3, 2)], 1.0),
     TypeError, "model must be a torch.nn.Module"),
    ("max_norm_-model-parameters", lambda: max_norm_(mlp().parameters(), 1.0),
     TypeError, "model must be a torch.nn.Module"),
    ("max_norm_-model-without-linear", lambda: max_norm_(conv(), 1.0),
     ValueError, "model (Sequential) has no nn.Linear layer"),
    # ---- MaxNorm -----------------------------------------------------------------------------------
    ("MaxNorm-c-zero", lambda: MaxNorm(0), ValueError, "Invalid c: 0.0"),
    ("MaxNorm-c-negative", lambda: MaxNorm(-1.0), ValueError, "Invalid c: -1.0"),
    ("MaxNorm-c-none", lambda: MaxNorm(None), TypeError, "c must be a real number"),
    ("MaxNorm-c-bool", lambda: MaxNorm(True), TypeError, "c must be a real number"),
    ("MaxNorm-model-without-linear", lambda: MaxNorm(1.0).on_fit_start(types.SimpleNamespace(model=conv())),
     ValueError, "has no nn.Linear layer"),
    # ---- AdditiveGaussianNoise ---------------------------------------------------------------------
    ("AdditiveGaussianNoise-sigma-negative", lambda: AdditiveGaussianNoise(-1.0),
     ValueError, "Invalid sigma: -1.0"),
    ("AdditiveGaussianNoise-sigma-nan", lambda: AdditiveGaussianNoise(NAN), ValueError, "Invalid sigma: nan"),
    ("AdditiveGaussianNoise-sigma-string", lambda: AdditiveGaussianNoise("0.1"),
     TypeError, "sigma must be a real number"),
    ("AdditiveGaussianNoise-forward-integer",
     lambda: AdditiveGaussianNoise(0.1)(torch.ones(3, dtype=torch.long)),
     TypeError, "x must be a floating-point tensor"),
    ("AdditiveGaussianNoise-forward-list", lambda: AdditiveGaussianNoise(0.1)([1.0, 2.0]),
     TypeError, "x must be a floating-point tensor, got list"),
    # ---- ActivityL1 --------------------------------------------------------------------------------
    ("ActivityL1-layers-empty", lambda: ActivityL1([], 0.1), ValueError, "layers is empty"),
    ("ActivityL1-layers-int", lambda: ActivityL1(3, 0.1), TypeError, "layers must be a non-empty list"),
    ("ActivityL1-layers-string", lambda: ActivityL1("layers", 0.1),
     TypeError, "layers must be a non-empty list"),
    ("ActivityL1-layers-entry", lambda: ActivityL1([nn.Linear(3, 2), "relu"], 0.1),
     TypeError, "layers[1] must be a torch.nn.Module"),
    ("ActivityL1-layers-twice", lambda: ActivityL1([nn.Linear(2, 2)] * 2, 0.1),
     ValueError, "the same module twice"),
    ("ActivityL1-alpha-negative", lambda: ActivityL1([nn.Linear(3, 2)], -1.0),
     ValueError, "Invalid alpha: -1.0"),
    ("ActivityL1-alpha-string", lambda: ActivityL1([nn.Linear(3, 2)], "0.1"),
     TypeError, "alpha must be a real number"),
    ("ActivityL1-alpha-nan", lambda: ActivityL1([nn.Linear(3, 2)], NAN), ValueError, "Invalid alpha: nan"),
    ("ActivityL1-alpha-missing", lambda: ActivityL1([nn.Linear(3, 2)], None),
     TypeError, "alpha must be a real number"),
    ("ActivityL1-call-model-none", lambda: penalty_after(nn.Linear(3, 2), torch.ones(4, 3))(None),
     TypeError, "model must be a torch.nn.Module"),
    ("ActivityL1-call-conv-output",
     lambda: penalty_after(nn.Conv1d(1, 2, 3), torch.ones(4, 1, 5))(nn.Linear(1, 1)),
     ValueError, "layers[0] must output (N, units) activations, got shape (4, 2, 3)"),
    ("ActivityL1-call-tuple-output",
     lambda: penalty_after(nn.LSTM(3, 2, batch_first=True), torch.ones(4, 5, 3))(nn.Linear(1, 1)),
     TypeError, "layers[0] must output a tensor, got tuple"),
    ("ActivityL1-call-before-forward", lambda: ActivityL1([nn.Linear(3, 2)], 0.1)(nn.Linear(3, 2)),
     RuntimeError, "no forward pass recorded yet"),
]


@pytest.mark.parametrize("call, error, phrase", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input(call, error, phrase):
    with pytest.raises(error) as info:
        call()
    assert phrase in str(info.value), f"message {str(info.value)!r} lacks {phrase!r}"


def test_every_public_name_has_a_row():
    ids = " ".join(case[0] for case in CASES)
    missing = [name for name in tw.regularization.__all__ if f"{name}-" not in ids]
    assert not missing, f"no bad-input row for {missing}"
    assert len(CASES) >= 20 and len({case[0] for case in CASES}) == len(CASES)


def test_max_norm_changes_nothing_when_it_fails():
    net = mlp()
    with torch.no_grad():
        net[0].weight.mul_(10)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    for bad in (0.0, -1.0, NAN, "1"):
        with pytest.raises((TypeError, ValueError)):
            max_norm_(net, bad)
        assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())


def test_max_norm_callback_stops_fit_before_the_first_step():
    digits = tw.data.load("digits").subset_train(64)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Unflatten(1, (1, 64)), nn.Conv1d(1, 10, 64), nn.Flatten())  # no nn.Linear
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match="has no nn.Linear layer"):
        tw.train.fit(model, digits, optimizer=lambda p: torch.optim.SGD(p, lr=1.0), epochs=1,
                     callbacks=[MaxNorm(1.0)], progress=False)
    assert all(torch.equal(v, model.state_dict()[k].cpu()) for k, v in before.items())


def test_activity_l1_registers_no_hook_when_it_fails():
    layer = nn.Linear(3, 2)
    for bad in (-1.0, "0.1"):
        with pytest.raises((TypeError, ValueError)):
            ActivityL1([layer], bad)
    with pytest.raises(ValueError):
        ActivityL1([layer, layer], 0.1)
    assert not layer._forward_hooks


def test_valid_calls_still_work():
    x = torch.randn(5, 4)
    noise = AdditiveGaussianNoise(0.0).train()
    assert torch.equal(noise(x), x)  # sigma 0 is allowed: no noise
    assert torch.equal(AdditiveGaussianNoise(0.5).eval()(x), x)
    single = ActivityL1(mlp()[0], 0.0)  # one layer instead of a list, and alpha 0
    single.remove()
    listed = ActivityL1(nn.ModuleList([nn.Linear(4, 3), nn.Linear(3, 2)]), 0.1)
    listed.remove()
    layer = nn.Linear(3, 4).double()  # a single layer is a model with one nn.Linear
    with torch.no_grad():
        layer.weight.fill_(2.0)
    max_norm_(layer, 1.0)
    torch.testing.assert_close(layer.weight.norm(dim=1), torch.ones(4, dtype=torch.float64))
