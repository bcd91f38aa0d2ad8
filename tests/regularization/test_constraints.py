"""Projections: onto an L2 ball (function and callback) and max-norm per unit in fit_many; dead units."""
import pytest
import torch
from torch import nn

import trainwell as tw
from trainwell.regularization import L2Ball, MaxNorm, dead_units, max_norm_, project_l2_ball_

from ._runs import assert_members_equal_separate_fits, small_digits


def test_projection_onto_the_l2_ball_is_bounded_idempotent_and_keeps_direction():
    torch.manual_seed(0)
    a, b = torch.randn(4, 3, dtype=torch.float64) * 3, torch.randn(5, dtype=torch.float64) * 3
    a0, b0 = a.clone(), b.clone()
    before = project_l2_ball_([a, b], 2.0)
    whole = torch.cat([a0.flatten(), b0])
    torch.testing.assert_close(before, whole.norm(), rtol=1e-15, atol=0)
    projected = torch.cat([a.flatten(), b])
    assert abs(projected.norm().item() - 2.0) <= 1e-14  # on the sphere: it started outside
    torch.testing.assert_close(projected, whole * (2.0 / whole.norm()), rtol=1e-15, atol=0)  # one factor
    again = [a.clone(), b.clone()]
    project_l2_ball_([a, b], 2.0)  # idempotent: a point of the ball stays where it is
    assert torch.equal(a, again[0]) and torch.equal(b, again[1])
    inside = torch.tensor([0.3, -0.4])
    project_l2_ball_(inside, 1.0)
    assert torch.equal(inside, torch.tensor([0.3, -0.4]))


def test_projection_is_the_nearest_point_of_the_ball():
    """Against random points of the ball: none is closer to the original than the projection."""
    torch.manual_seed(1)
    v = torch.randn(6, dtype=torch.float64) * 4
    p = v.clone()
    project_l2_ball_(p, 1.5)
    points = torch.randn(20_000, 6, dtype=torch.float64)
    points = points / points.norm(dim=1, keepdim=True) * 1.5 * torch.rand(20_000, 1, dtype=torch.float64)
    assert (points - v).norm(dim=1).min() >= (p - v).norm()


def test_l2_ball_callback_holds_the_weights_in_the_ball_after_every_step():
    data = small_digits()
    torch.manual_seed(0)
    net = tw.models.mlp([64, 32, 10]).double()
    norms = []

    class Spy(tw.train.Callback):
        def on_step_end(self, state):
            norms.append(torch.cat([state.model[0].weight.flatten(), state.model[2].weight.flatten()]).norm())

    tw.train.fit(net, data, optimizer=lambda p: torch.optim.SGD(p, lr=1.0), epochs=2, batch_size=50,
                 callbacks=[L2Ball(1.0), Spy()], progress=False)
    assert len(norms) == 8 and max(norms) <= 1.0 + 1e-12 and min(norms) >= 1.0 - 1e-12  # active throughout
    assert net[0].bias.norm() > 0.05  # the biases were not projected


@pytest.mark.parametrize("callback", [lambda: MaxNorm(0.5), lambda: L2Ball(2.0)], ids=["MaxNorm", "L2Ball"])
def test_fit_many_with_a_projection_equals_separate_fits(callback):
    def build():
        return tw.models.mlp([64, 16, 10]).double()

    runs = assert_members_equal_separate_fits(
        build, small_digits(), make_optimizer=lambda p, **s: torch.optim.SGD(p, **{"lr": 0.1, **s}),
        extras=lambda: {"callbacks": [callback()]}, grid={"lr": [0.3, 1.0]}, epochs=2, batch_size=50)
    for model in runs.models:
        if isinstance(callback(), MaxNorm):
            assert model[0].weight.norm(dim=1).max() <= 0.5 + 1e-12
        else:
            assert torch.cat([model[0].weight.flatten(), model[2].weight.flatten()]).norm() <= 2.0 + 1e-12


def test_max_norm_single_model_behaviour_is_unchanged():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).double()
    with torch.no_grad():
        net[0].weight.mul_(5)
    rows = net[0].weight.detach().clone()
    max_norm_(net, 1.0)
    expected = rows * torch.clamp(1.0 / rows.norm(dim=1, keepdim=True), max=1.0)
    torch.testing.assert_close(net[0].weight.detach(), expected, rtol=1e-15, atol=0)


def test_max_norm_without_the_output_layer_leaves_it_free():
    """output_layer=False constrains the hidden units only (Srivastava et al. 2014): the last linear
    layer is untouched, the others projected as before; in training the same holds after every step."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)).double()
    with torch.no_grad():
        for layer in (net[0], net[2], net[4]):
            layer.weight.mul_(5)
    rows = [net[i].weight.detach().clone() for i in (0, 2, 4)]
    max_norm_(net, 1.0, output_layer=False)
    for i, before in zip((0, 2), rows[:2], strict=True):
        expected = before * torch.clamp(1.0 / before.norm(dim=1, keepdim=True), max=1.0)
        torch.testing.assert_close(net[i].weight.detach(), expected, rtol=1e-15, atol=0)
    assert torch.equal(net[4].weight.detach(), rows[2])
    assert rows[2].norm(dim=1).max() > 1.0  # so the untouched output layer was outside the ball

    model = tw.models.mlp([64, 8, 10]).double()
    tw.train.fit(model, small_digits(), optimizer=lambda p: torch.optim.SGD(p, lr=2.0), epochs=1,
                 batch_size=50, callbacks=[MaxNorm(0.3, output_layer=False)], progress=False)
    assert model[0].weight.norm(dim=1).max() <= 0.3 + 1e-12
    assert model[2].weight.norm(dim=1).max() > 0.3


def _dead_by_hand(net, X):
    with torch.no_grad():
        h1 = torch.relu(net[0](X))
        h2 = torch.relu(net[3](h1))
    dead = torch.cat([(h1 == 0).all(0), (h2 == 0).all(0)])
    return dead.sum().item() / dead.numel()


def test_dead_units_counts_the_units_that_never_fire():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Dropout(0.5), nn.Linear(6, 5), nn.ReLU(),
                        nn.Linear(5, 2))
    X = torch.randn(50, 4)
    with torch.no_grad():
        net[0].weight[:2] = 0.0  # units 0 and 1 of layer 1: zero weights, negative bias -> always 0
        net[0].bias[:2] = -1.0
        net[3].weight[4] = 0.0  # unit 4 of layer 2: likewise
        net[3].bias[4] = -0.5
        net[3].bias[:4] = 10.0  # the others of layer 2 fire on every example
    net.train()
    fraction = dead_units(net, X)  # measured in eval mode: dropout would otherwise zero units at random
    assert fraction == pytest.approx(_dead_by_hand(net, X), abs=1e-15) and fraction >= 3 / 11
    assert net.training and net[2].training  # the mode is given back
    with torch.no_grad():  # revive them: a positive bias makes a unit fire whatever its input
        net[0].bias[:2] = 5.0
        net[3].bias[4] = 5.0
    revived = dead_units(net, X)
    assert revived == pytest.approx(_dead_by_hand(net, X), abs=1e-15) and revived < fraction
