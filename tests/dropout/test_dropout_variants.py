"""The experiments of Part II, sections 9 and 10 (dropout variants; additive against multiplicative noise)."""
import numpy as np
import pytest
import torch

from trainwell.data import load
from trainwell.dropout import experiments as dx


@pytest.fixture(scope="module")
def tiny():
    return load("mnist1d").subset_train(128, seed=0)


def test_variant_mlp_builds_each_network():
    sizes = [5, 4, 4, 3]
    kinds = {name: [type(m).__name__ for m in dx.variant_mlp(name, sizes)] for name in dx.NOISE_VARIANTS}
    assert kinds["plain"] == ["Linear", "ReLU"] * 2 + ["Linear"]
    assert kinds["dropout"] == ["Linear", "ReLU", "Dropout"] * 2 + ["Linear"]
    assert kinds["Gaussian dropout"] == ["Linear", "ReLU", "GaussianDropout"] * 2 + ["Linear"]
    assert kinds["DropConnect"] == ["DropConnectLinear", "ReLU"] * 2 + ["Linear"]
    assert kinds["additive noise"] == ["Linear", "ReLU", "AdditiveGaussianNoise"] * 2 + ["Linear"]
    gauss = dx.variant_mlp("Gaussian dropout", sizes, keep=0.8)[2]
    assert gauss.sigma == pytest.approx(0.5)  # sqrt((1 - 0.8) / 0.8)
    assert dx.variant_mlp("additive noise", sizes, sigma_add=0.7)[2].sigma == 0.7
    assert dx.variant_mlp("DropConnect", sizes, keep=0.8)[0].keep == 0.8


@pytest.mark.parametrize("call, error, match", [
    (lambda: dx.variant_mlp("spatial dropout", [3, 4, 2]), ValueError, "name"),
    (lambda: dx.variant_mlp("dropout", [3, 4, 2], keep=0.0), ValueError, "Invalid keep"),
    (lambda: dx.variant_mlp("additive noise", [3, 4, 2], sigma_add=-1.0), ValueError, "Invalid sigma_add"),
    (lambda: dx.hidden_signal_and_noise(torch.nn.Linear(3, 2), torch.zeros(1, 3)), TypeError,
     "nn.Sequential"),
])
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_hidden_signal_and_noise_measures_each_layer_and_keeps_the_random_state():
    torch.manual_seed(0)
    X = torch.rand(4000, 6, dtype=torch.float64)
    plain = dx.variant_mlp("plain", [6, 8, 5, 2]).double()
    signal, noise = dx.hidden_signal_and_noise(plain, X)
    h1 = torch.relu(plain[0](X))
    h2 = torch.relu(plain[2](h1))
    rms = [h.pow(2).mean().sqrt().item() for h in (h1, h2)]
    np.testing.assert_allclose(signal, rms, rtol=1e-12)
    np.testing.assert_array_equal(noise, [0.0, 0.0])

    for name, expected in (("additive noise", lambda s: np.full(2, 0.3)), ("Gaussian dropout", lambda s: s),
                           ("dropout", lambda s: s)):  # inverted dropout at keep 1/2: RMS noise = RMS h
        torch.manual_seed(0)
        net = dx.variant_mlp(name, [6, 8, 5, 2], sigma_add=0.3).double()
        before = torch.random.get_rng_state()
        signal, noise = dx.hidden_signal_and_noise(net, X)
        assert torch.equal(torch.random.get_rng_state(), before)
        assert net[2].training  # the noise layers' modes are restored
        np.testing.assert_allclose(noise, expected(signal), rtol=0.05)
    dc = dx.variant_mlp("DropConnect", [6, 8, 5, 2]).double()
    signal, noise = dx.hidden_signal_and_noise(dc, X)  # DropConnect layers count as their mean network
    h1 = torch.relu(X @ dc[0].weight.T + dc[0].bias)
    np.testing.assert_allclose(signal[0], h1.pow(2).mean().sqrt().item(), rtol=1e-12)
    np.testing.assert_array_equal(noise, [0.0, 0.0])


def test_variants_run_returns_curves_and_scores(tiny):
    out = dx.variants_run(tiny, seed=0, hidden=8, epochs=2, names=("plain", "DropConnect"))
    assert set(out) == {"plain", "DropConnect"}
    for r in out.values():
        assert r["val_loss"].shape == (2,) and r["train_loss"].shape == (2,)
        accuracy, log_lik = r["test"]
        assert 0.0 <= accuracy <= 1.0 and log_lik < 0.0
    with pytest.raises(ValueError, match="names"):
        dx.variants_run(tiny, seed=0, hidden=8, epochs=1, names=("maxout",))


def test_noise_scale_run_records_every_epoch_and_does_not_change_training(tiny):
    out = dx.noise_scale_run(tiny, seed=1, hidden=8, epochs=3, probe=50, names=("additive noise", "dropout"))
    for r in out.values():
        assert r["signal"].shape == (4, 2) and r["noise"].shape == (4, 2)  # initialization + 3 epochs
    np.testing.assert_allclose(out["additive noise"]["noise"], 0.2, rtol=0.25)
    # the recording leaves the random state alone: the same training as variants_run with the same seed
    again = dx.variants_run(tiny, seed=1, hidden=8, epochs=3, names=("dropout",))
    np.testing.assert_allclose(out["dropout"]["val_loss"], again["dropout"]["val_loss"], rtol=1e-6)
