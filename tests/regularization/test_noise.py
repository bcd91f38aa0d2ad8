"""Noise on inputs (a transform) and on weights (a callback): statistics, the gradient is taken at the
perturbed weights and applied to the clean ones, nothing noisy leaks out, fit_many equals fit."""
import copy
import math

import torch
from torch import nn

import trainwell as tw
from trainwell.regularization import GaussianInputNoise, WeightNoise

from ._runs import assert_members_equal_separate_fits, small_digits

N = 200_000


def test_gaussian_input_noise_has_the_stated_mean_and_variance():
    torch.manual_seed(0)
    x = torch.full((N,), 2.0, dtype=torch.float64)
    noisy = GaussianInputNoise(0.5)(x)
    assert noisy.dtype == torch.float64 and noisy.shape == x.shape
    assert abs(noisy.mean().item() - 2.0) <= 5 * 0.5 / math.sqrt(N)
    assert abs(noisy.var().item() - 0.25) <= 5 * 0.25 * math.sqrt(2 / (N - 1))
    torch.manual_seed(0)
    assert torch.equal(GaussianInputNoise(0.5)(x), noisy)  # reproducible from the seed
    assert GaussianInputNoise(0.0)(x) is x


def _one_full_batch_step(callbacks, lr=0.5):
    """One SGD step on all 200 examples; returns the data, the model, a copy of it before the step, and
    the weights of both layers as the forward pass saw them."""
    data = small_digits()
    torch.manual_seed(0)
    model = tw.models.mlp([64, 16, 10]).double()
    start = copy.deepcopy(model)
    seen = {}

    def spy(layer, inputs, output):
        if layer.training:
            seen[layer] = layer.weight.detach().clone()

    for layer in (model[0], model[2]):
        layer.register_forward_hook(spy)
    tw.train.fit(model, data, optimizer=lambda p: torch.optim.SGD(p, lr=lr), epochs=1, batch_size=200,
                 max_steps=1, callbacks=callbacks, progress=False)
    return data, model, start, [seen[model[0]], seen[model[2]]]


def test_weight_noise_takes_the_gradient_at_the_noisy_weights_and_updates_the_clean_ones():
    sigma, lr = 0.05, 0.5
    data, model, start, seen = _one_full_batch_step([WeightNoise(sigma)], lr)
    noise = torch.cat([(seen[0] - start[0].weight).flatten(), (seen[1] - start[2].weight).flatten()]).detach()
    assert abs(noise.std().item() - sigma) <= 0.15 * sigma and abs(noise.mean().item()) <= 0.2 * sigma
    # the gradient at the perturbed weights (biases are not perturbed), computed on a copy that has them
    perturbed = copy.deepcopy(start)
    with torch.no_grad():
        perturbed[0].weight.copy_(seen[0])
        perturbed[2].weight.copy_(seen[1])
    nn.functional.cross_entropy(perturbed(data.X_train), data.y_train).backward()
    pairs = zip(start.named_parameters(), model.parameters(), perturbed.parameters(), strict=True)
    for (name, clean), after, noisy in pairs:
        torch.testing.assert_close(after.detach(), clean.detach() - lr * noisy.grad, rtol=0, atol=1e-14,
                                   msg=name)


def test_weight_noise_leaves_no_noise_behind():
    """Evaluation inside fit and the weights after it are clean: the last epoch's recorded training loss
    is the loss of the returned model."""
    data = small_digits()
    torch.manual_seed(0)
    model = tw.models.mlp([64, 16, 10]).double()
    history = tw.train.fit(model, data, optimizer=lambda p: torch.optim.SGD(p, lr=0.1), epochs=2,
                           batch_size=50, callbacks=[WeightNoise(0.1)], progress=False)
    assert history.epochs[-1]["train_loss"] == tw.metrics.evaluate(model, data.X_train, data.y_train)["loss"]
    assert not model._forward_pre_hooks  # the hook is gone


def test_weight_noise_zero_is_no_noise():
    def run(callbacks):
        data = small_digits()
        torch.manual_seed(0)
        model = tw.models.mlp([64, 16, 10]).double()
        return tw.train.fit(model, data, optimizer=lambda p: torch.optim.SGD(p, lr=0.1), epochs=1,
                            batch_size=50, callbacks=callbacks, progress=False).step_loss

    assert run([WeightNoise(0.0)]) == run([])
    assert run([WeightNoise(0.05)]) != run([])


def test_fit_many_with_weight_noise_and_input_noise_equals_separate_fits():
    def build():
        return tw.models.mlp([64, 16, 10], hidden_dropout=0.2).double()

    assert_members_equal_separate_fits(
        build, small_digits(), make_optimizer=lambda p, **s: torch.optim.SGD(p, **{"lr": 0.1, **s}),
        extras=lambda: {"callbacks": [WeightNoise(0.05)], "transform": GaussianInputNoise(0.1)},
        grid={"lr": [0.05, 0.2]}, epochs=2, batch_size=50)
