"""Part IV's experiment functions: the shapes and settings they promise, on a few cheap epochs."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import trainwell as tw
from trainwell import optim as opt
from trainwell.optim import experiments as ox


@pytest.fixture(scope="module")
def small():
    return tw.data.load("digits").subset_train(200)


def test_lr_sweep_gives_every_rate_and_seed(small):
    runs = ox.lr_sweep(small, make_optimizer=lambda p: opt.SGD(p, lr=0.1), learning_rates=[0.01, 0.1],
                       seeds=[0, 1, 2], epochs=2, hidden=(16,))
    assert runs.by_setting("val_acc").shape == (2, 3)
    assert [s["lr"] for s in runs.settings] == [0.01] * 3 + [0.1] * 3
    with pytest.raises(ValueError, match="Invalid learning_rates\\[1\\]"):
        ox.lr_sweep(small, make_optimizer=lambda p: opt.SGD(p, lr=0.1), learning_rates=[0.1, -1.0],
                    seeds=[0], epochs=1)
    with pytest.raises(ValueError, match="learning_rates is empty"):
        ox.lr_sweep(small, make_optimizer=lambda p: opt.SGD(p), learning_rates=[], seeds=[0], epochs=1)


def test_momentum_schedule_arms_use_their_momentum(small):
    arms = ox.momentum_schedule_runs(small, lr=0.05, seeds=[0, 1], epochs=3, switch_epoch=1, hidden=(16,))
    assert list(arms) == list(ox.MOMENTUM_ARMS)
    for runs in arms.values():
        assert runs.curves("train_loss").shape == (1, 2, 3)
    # the first epoch of the schedule (momentum 0.5) is not the constant-momentum run's first epoch
    first = {k: r.curves("train_loss")[0, :, 0] for k, r in arms.items()}
    assert not torch.allclose(torch.tensor(first["momentum 0.9"]), torch.tensor(first["0.5, then 0.9"]))
    with pytest.raises(ValueError, match="Invalid switch_epoch: 0"):
        ox.momentum_schedule_runs(small, lr=0.05, seeds=[0], epochs=1, switch_epoch=0)


def test_accelerated_paths_and_the_schedule():
    assert [ox.nesterov_schedule(t) for t in (1, 2, 4)] == [0.0, 0.25, 0.5]
    f = opt.Quadratic.spread_spectrum(50)
    paths = ox.accelerated_paths(f, torch.zeros(50), lr=1.0, steps=30)
    assert set(paths) == {"gradient descent", "momentum, Nesterov's schedule", "Nesterov"}
    assert all(p.shape == (31, 50) for p in paths.values())
    gaps = {k: opt.suboptimality(f, p) for k, p in paths.items()}
    assert gaps["Nesterov"][-1] < gaps["gradient descent"][-1]


def test_spread_spectrum_shares_the_starting_loss_equally():
    f = opt.Quadratic.spread_spectrum(10, lam_max=2.0)
    lam = torch.diagonal(f.H)
    assert torch.allclose(lam, torch.arange(1, 11, dtype=torch.float64) * 0.2)
    assert torch.allclose(lam * f.center**2, torch.ones(10, dtype=torch.float64))


def test_nesterov_batch_runs_pair_the_optimizers_by_batch_size(small):
    out = ox.nesterov_batch_runs(small, batch_sizes=[200, 50], seeds=[0, 1], steps=6, lr=0.1)
    assert list(out) == [200, 50]
    for pair in out.values():
        assert set(pair) == {"SGD", "Nesterov"}
        assert all(len(h.step_loss) == 6 for h in pair["Nesterov"].histories)
    with pytest.raises(ValueError, match="Invalid batch size: 500"):
        ox.nesterov_batch_runs(small, batch_sizes=[500], seeds=[0], steps=1, lr=0.1)


def test_tuned_comparison_picks_the_best_rate_and_reruns_it_on_fresh_seeds(small):
    out = ox.tuned_comparison(small, lambda: tw.models.mlp([64, 10]), {"SGD": lambda p: opt.SGD(p)},
                              learning_rates={"SGD": [1e-4, 0.1]}, tune_seeds=[0, 1], test_seeds=[5, 6],
                              epochs=2)
    result = out["SGD"]
    table = result["grid"].by_setting("val_loss")
    assert result["best_lr"] == [1e-4, 0.1][int(table.mean(1).argmin())] == 0.1
    assert result["runs"].seeds == [5, 6] and result["runs"].settings[0] == {"lr": 0.1}
    with pytest.raises(ValueError, match="must be fresh"):
        ox.tuned_comparison(small, lambda: tw.models.mlp([64, 10]), {"SGD": lambda p: opt.SGD(p)},
                            learning_rates={"SGD": [0.1]}, tune_seeds=[0], test_seeds=[0], epochs=1)
    with pytest.raises(ValueError, match="no grid for Adam"):
        ox.tuned_comparison(small, lambda: tw.models.mlp([64, 10]), {"Adam": lambda p: opt.Adam(p)},
                            learning_rates={}, tune_seeds=[0], test_seeds=[1], epochs=1)


def test_a_diverged_rate_is_never_chosen():
    best = ox._better("val_loss")
    assert best(np.array([[np.nan, 0.1], [0.5, 0.5]])) == 1
    assert ox._better("val_acc")(np.array([[0.2, 0.3], [0.9, 0.8]])) == 1


def test_bias_travel_records_the_bias_after_every_step():
    data = ox.diabetes_column()
    assert data.y_train.shape[1:] == (1,) and float(data.y_train.mean()) > 100
    out = ox.bias_travel(data, {"SGD": lambda p: opt.SGD(p, lr=0.01)}, seeds=[0, 1], epochs=2)
    steps_per_epoch = -(-len(data.y_train) // 32)
    assert out["SGD"]["bias"].shape == (2 * steps_per_epoch, 2)
    assert out["SGD"]["steps"][-1] == 2 * steps_per_epoch


def test_sparse_regression_features_have_the_stated_frequencies():
    data = tw.data.make_sparse_regression(n=4000, d=5, p_max=0.5, p_min=0.05)
    freq = data.extra["frequency"].numpy()
    seen = data.X_train.mean(0).numpy()
    assert np.allclose(freq, np.geomspace(0.5, 0.05, 5)) and np.allclose(seen, freq, atol=0.03)
    with pytest.raises(ValueError, match="Invalid p_min"):
        tw.data.make_sparse_regression(p_max=0.1, p_min=0.2)
