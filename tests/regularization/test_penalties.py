"""Parameter norm penalties: each equals its formula over exactly the weights penalized_names selects,
its gradient is the one the chapter derives, and fit_many with it is the runs separate fits make."""
import pytest
import torch
from torch import nn

import trainwell as tw
from trainwell.regularization import L1, L2, ElasticNet, SmoothL1, penalized_names
from trainwell.train.members import StackedModel

from ._runs import assert_members_equal_separate_fits, small_digits


def convnet(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                         nn.Linear(3 * 6 * 6, 5), nn.ReLU(), nn.Linear(5, 2, bias=False)).double()


def by_hand(model, phi):
    """Σ φ(W) over the weights of the Linear and Conv2d layers, written out layer by layer."""
    return sum(phi(model[i].weight).sum() for i in (0, 4, 6))


FORMULAS = [
    (L2(0.3), lambda w: 0.3 * 0.5 * w**2),
    (L1(0.3), lambda w: 0.3 * w.abs()),
    (ElasticNet(0.3, 0.25), lambda w: 0.3 * (0.25 * w.abs() + 0.75 / 2 * w**2)),
    (SmoothL1(0.3, eps=1e-3), lambda w: 0.3 * torch.sqrt(w**2 + 1e-3)),
]


@pytest.mark.parametrize("penalty, phi", FORMULAS, ids=[type(p).__name__ for p, _ in FORMULAS])
def test_penalty_equals_its_formula_over_the_weights_only(penalty, phi):
    net = convnet()
    value = penalty(net)
    assert value.shape == () and value.dtype == torch.float64
    torch.testing.assert_close(value, by_hand(net, phi), rtol=1e-14, atol=0)
    value.backward()
    for name, p in net.named_parameters():  # biases and batch-norm parameters get no gradient at all
        if name in ("0.weight", "4.weight", "6.weight"):
            assert p.grad is not None and p.grad.abs().sum() > 0
        else:
            assert p.grad is None, name


def test_gradients_are_the_derived_ones():
    net = convnet()
    w = net[4].weight
    L2(0.2)(net).backward()
    torch.testing.assert_close(w.grad, 0.2 * w.detach(), rtol=1e-14, atol=0)  # weight decay: α·w
    net.zero_grad()
    L1(0.2)(net).backward()
    torch.testing.assert_close(w.grad, 0.2 * torch.sign(w.detach()), rtol=0, atol=0)
    net.zero_grad()
    SmoothL1(0.2, eps=0.01)(net).backward()
    torch.testing.assert_close(w.grad, 0.2 * w.detach() / torch.sqrt(w.detach() ** 2 + 0.01), rtol=1e-14,
                               atol=0)


def test_elastic_net_ends_are_l1_and_l2():
    net = convnet()
    torch.testing.assert_close(ElasticNet(0.7, 1.0)(net), L1(0.7)(net), rtol=1e-15, atol=0)
    torch.testing.assert_close(ElasticNet(0.7, 0.0)(net), L2(0.7)(net), rtol=1e-15, atol=0)
    assert float(L2(0.0)(net).detach()) == 0.0


def test_which_parameters():
    net = convnet()
    assert penalized_names(net) == ["0.weight", "4.weight", "6.weight"]
    assert penalized_names(net, "all") == [n for n, _ in net.named_parameters()]
    assert penalized_names(net, ["1.weight"]) == ["1.weight"]
    only_bn = L2(1.0, params=["1.weight", "1.bias"])(net)
    torch.testing.assert_close(only_bn, 0.5 * (net[1].weight ** 2).sum() + 0.5 * (net[1].bias ** 2).sum())
    everything = L1(1.0, params="all")(net)
    torch.testing.assert_close(everything, sum(p.abs().sum() for p in net.parameters()))
    assert penalized_names(nn.Linear(3, 2)) == ["weight"]  # a bare layer is a model too
    assert repr(ElasticNet(0.1, 0.5)) == "ElasticNet(alpha=0.1, l1_ratio=0.5)"


@pytest.mark.parametrize("penalty", [p for p, _ in FORMULAS] + [L2(0.5, params="all")],
                         ids=[type(p).__name__ for p, _ in FORMULAS] + ["L2-all"])
def test_many_gives_each_members_own_penalty(penalty):
    models = [convnet(seed) for seed in range(3)]
    stacked = StackedModel(models, [2, 1])  # two groups, as a grid of two settings makes
    values = penalty.many(stacked)
    assert values.shape == (3,)
    expected = torch.stack([penalty(m) for m in models])
    torch.testing.assert_close(values, expected, rtol=1e-13, atol=0)
    values.sum().backward()  # each member's gradient reaches its own slice of the group's leaf
    leaf = stacked.params["4.weight"][0]
    models[1].zero_grad()
    penalty(models[1]).backward()
    torch.testing.assert_close(leaf.grad[1], models[1][4].weight.grad, rtol=1e-13, atol=0)


@pytest.mark.parametrize("penalty", [L2(0.01), L1(1e-3), ElasticNet(3e-3, 0.5), SmoothL1(1e-3, eps=1e-6)],
                         ids=["L2", "L1", "ElasticNet", "SmoothL1"])
def test_fit_many_with_a_penalty_equals_separate_fits(penalty):
    def build():
        return tw.models.mlp([64, 16, 10]).double()

    def sgd(params, **setting):
        return torch.optim.SGD(params, **{"lr": 0.1, "momentum": 0.9, **setting})

    assert_members_equal_separate_fits(build, small_digits(), make_optimizer=sgd, grid={"lr": [0.05, 0.2]},
                                       extras=lambda: {"penalty": penalty}, epochs=2, batch_size=50)


def test_a_penalty_changes_training_as_weight_decay_does():
    """SGD on J + L2(α) is SGD with weight_decay=α (torch adds α·w to the gradient): two-sided."""
    data = small_digits()

    def run(**kwargs):
        tw.seed_everything(0)
        model = tw.models.mlp([64, 16, 10]).double()
        wd = kwargs.pop("weight_decay", 0.0)
        params = [{"params": [model[0].weight, model[2].weight], "weight_decay": wd},
                  {"params": [model[0].bias, model[2].bias], "weight_decay": 0.0}]
        tw.train.fit(model, data, optimizer=torch.optim.SGD(params, lr=0.1), epochs=2, batch_size=50,
                     progress=False, **kwargs)
        return model

    penalized, decayed, plain = run(penalty=L2(0.05)), run(weight_decay=0.05), run()
    for a, b in zip(penalized.parameters(), decayed.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
    assert penalized[0].weight.norm() < plain[0].weight.norm()
