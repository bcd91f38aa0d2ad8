"""Part I's tools: max-norm projection (function and callback), additive noise, the activity penalty."""
import math

import pytest
import torch

import trainwell as tw
from trainwell import dropout as dp

N = 200_000


def test_max_norm_projection():
    torch.manual_seed(0)
    net = tw.models.mlp([4, 8, 3])
    with torch.no_grad():
        net[0].weight.mul_(10)
    small = net[2].weight.clone()
    tw.regularization.max_norm_(net, 1.5)
    assert net[0].weight.norm(dim=1).max().item() <= 1.5 + 1e-6
    assert torch.allclose(net[0].weight.norm(dim=1), torch.full((8,), 1.5))
    norms = small.norm(dim=1)
    torch.testing.assert_close(net[2].weight, small * torch.clamp(1.5 / norms, max=1.0).unsqueeze(1))
    with pytest.raises(ValueError, match="Invalid c: 0.0"):
        tw.regularization.max_norm_(net, 0.0)


def test_additive_noise():
    torch.manual_seed(0)
    layer = tw.regularization.AdditiveGaussianNoise(0.5)
    noise = layer.train()(torch.zeros(N))
    assert abs(noise.mean().item()) <= 5 * 0.5 / math.sqrt(N)
    assert abs(noise.var().item() - 0.25) <= 5 * 0.25 * math.sqrt(2 / (N - 1))
    assert torch.equal(layer.eval()(torch.ones(3)), torch.ones(3))
    with pytest.raises(ValueError, match="Invalid sigma"):
        tw.regularization.AdditiveGaussianNoise(-1.0)


def test_activity_l1_penalty_is_the_mean_summed_relu_activity():
    torch.manual_seed(0)
    net = dp.MaskedMLP([5, 7, 4, 3], keep_hidden=0.5).double()
    penalty = tw.regularization.ActivityL1(net.layers[:-1], 0.1)
    with pytest.raises(RuntimeError, match="no forward pass"):
        penalty(net)
    x = torch.randn(6, 5, dtype=torch.float64)
    net.eval()(x)  # no masks in eval mode, so both layers' activities can be recomputed by hand
    h1 = torch.relu(net.layers[0](x))
    h2 = torch.relu(net.layers[1](h1))
    torch.testing.assert_close(penalty(net), 0.1 * (h1.sum(1).mean() + h2.sum(1).mean()))
    net.train()(x)  # in training the first layer's activity is taken before its mask is applied
    torch.testing.assert_close(torch.relu(penalty._outputs[0][-1]), h1)
    penalty.remove()
    net(x)
    assert not penalty._outputs and not net.layers[0]._forward_hooks
    with pytest.raises(ValueError, match="layers is empty"):
        tw.regularization.ActivityL1([], 0.1)
    with pytest.raises(ValueError, match="Invalid alpha"):
        tw.regularization.ActivityL1(net.layers[:-1], -1.0)




def test_max_norm_callback_projects_after_every_step():
    digits = tw.data.load("digits").subset_train(128)
    torch.manual_seed(0)
    net = tw.models.mlp([64, 32, 10])
    seen = []

    class Spy(tw.train.Callback):
        def on_step_end(self, state):
            seen.append(max(m.weight.norm(dim=1).max().item() for m in state.model
                            if isinstance(m, torch.nn.Linear)))

    tw.train.fit(net, digits, optimizer=lambda p: torch.optim.SGD(p, lr=1.0), epochs=2, batch_size=32,
                 callbacks=[tw.regularization.MaxNorm(0.5), Spy()], progress=False)
    assert len(seen) == 8 and max(seen) <= 0.5 + 1e-5
    with pytest.raises(ValueError, match="Invalid c: -1.0"):
        tw.regularization.MaxNorm(-1.0)
