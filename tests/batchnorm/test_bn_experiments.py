"""The batch-norm chapter's experiment code: structure, the math of the outside-gradient demo,
argument checks, and the size switch of the Figure 1 data (all small and fast)."""
import numpy as np
import pytest
import torch
from torch import nn

import trainwell as tw
from trainwell.batchnorm import experiments as bx


@pytest.fixture(scope="module")
def digits():
    return tw.data.load("digits")


def test_outside_gradient_demo_matches_the_algebra():
    g = torch.Generator().manual_seed(0)
    u = torch.randn(30, dtype=torch.float64, generator=g)
    target = 2.0 + torch.randn(30, dtype=torch.float64, generator=g)
    out = bx.outside_gradient_demo(u, target, steps=5, lr=0.5, through_mean=False)
    # d loss / d b with the mean held fixed is mean(2 (x_hat - target)) = -2 mean(target)
    assert out["grad"] == pytest.approx(np.full(5, -2 * target.mean().item()), abs=1e-12)
    assert np.ptp(out["loss"]) < 1e-12 and out["b"][-1] == pytest.approx(5 * 0.5 * 2 * target.mean().item())
    inside = bx.outside_gradient_demo(u, target, steps=5, lr=0.5, through_mean=True)
    assert np.abs(inside["grad"]).max() < 1e-14
    with pytest.raises(ValueError, match="1-D tensors of one length"):
        bx.outside_gradient_demo(u, target[:3], steps=1, lr=0.1, through_mean=True)


def test_figure1_net_follows_the_paper():
    plain, with_bn = tw.models.figure1_net(64, 10, bn=False), tw.models.figure1_net(64, 10, bn=True)
    assert [type(m).__name__ for m in plain] == ["Linear", "Sigmoid"] * 3 + ["Linear"]
    assert [type(m).__name__ for m in with_bn] == ["Linear", "BatchNorm1d", "Sigmoid"] * 3 + ["Linear"]
    assert all(m.bias is None for m in with_bn if isinstance(m, nn.Linear) and m.out_features == 100)
    assert plain[0].weight.std().item() == pytest.approx(0.1, rel=0.05)
    with pytest.raises(ValueError, match="Invalid init_std"):
        tw.models.figure1_net(4, 2, bn=True, init_std=0.0)


def test_figure1_run_records_what_the_figure_needs(digits):
    r = bx.figure1_run(digits, bn=True, steps=40, eval_every=20, lr=0.5, seed=0)
    assert r["step"].tolist() == [20, 40] and r["percentiles"].shape == (2, 3)
    assert (np.diff(r["percentiles"], axis=1) >= 0).all()  # 15th <= 50th <= 85th
    assert 0.0 <= r["test_acc"].min() <= r["test_acc"].max() <= 1.0
    with pytest.raises(ValueError, match="Invalid eval_every: 50"):
        bx.figure1_run(digits, bn=True, steps=40, eval_every=50, lr=0.5, seed=0)


def test_figure1_data_follows_the_size_switch(monkeypatch, tmp_path):
    monkeypatch.setenv("TRAINWELL_SIZE", "quick")
    assert bx.figure1_data()[0].name == "mnist5k"
    monkeypatch.setenv("TRAINWELL_SIZE", "full")
    monkeypatch.setenv("TRAINWELL_OFFLINE", "1")
    monkeypatch.setenv("TRAINWELL_DATA", str(tmp_path))
    data, note = bx.figure1_data()
    assert data.name == "mnist5k" and "could not be downloaded" in note


def test_small_convnet_variants():
    x = torch.randn(4, 1, 8, 8)
    for position in tw.models.BN_POSITIONS:
        assert tw.models.small_convnet(bn=position)(x).shape == (4, 10)
    kinds = [type(m).__name__ for m in tw.models.small_convnet(bn="after")][:3]
    assert kinds == ["Conv2d", "ReLU", "BatchNorm2d"]
    with pytest.raises(ValueError, match="allowed: 'none', 'before', 'after'"):
        tw.models.small_convnet(bn="middle")


def test_experiment_runners_return_sane_numbers(digits):
    acc = bx.lr_sweep_runs(digits, bn=True, learning_rates=[0.1, 1e4], seeds=[0, 1], epochs=1)
    assert acc.shape == (2, 2) and ((0 <= acc) & (acc <= 1)).all()
    assert (acc[:, 1] == 0.1).all()  # lr 1e4 diverges: chance level for the digits' 10 classes
    curves = bx.conv_position_runs(tw.data.load("digits", flatten=False), position="after", seeds=[0],
                                   epochs=2)
    assert curves.shape == (1, 2)
    bs = bx.batch_size_runs(digits, batch_size=64, epochs=1, seeds=[0, 1])
    assert bs["eval_acc"].shape == (2,) and ((0 <= bs["train_mode_acc"]) & (bs["train_mode_acc"] <= 1)).all()
    lag = bx.ema_lag_run(digits, steps=6, eval_every=3, lr=0.5, seed=0)
    assert lag["step"].tolist() == [3, 6] and lag["ema_acc"].shape == lag["population_acc"].shape
    hist = bx.regularization_runs(digits.subset_train(200), variant="both", epochs=1, seeds=[0])
    assert len(hist) == 1 and len(hist[0].epochs) == 1
    with pytest.raises(ValueError, match="Invalid variant"):
        bx.regularization_runs(digits, variant="weight decay", epochs=1, seeds=[0])
    wine = bx.wine_runs(tw.data.load("wine"), first_layer_bn=True, epochs=1, seeds=[0, 1])
    assert len(wine) == 2 and isinstance(wine[0].epochs[0]["val_acc"], float)


def test_batch_size_runs_leave_running_statistics_as_trained(digits, monkeypatch):
    """Measuring train-mode accuracy must not change the models' running statistics."""
    captured = {}
    real = bx.fit_many

    def spy(*args, **kwargs):
        runs = real(*args, **kwargs)
        captured["before"] = [{k: v.clone() for k, v in m.state_dict().items()} for m in runs.models]
        captured["models"] = runs.models
        return runs

    monkeypatch.setattr(bx, "fit_many", spy)
    bx.batch_size_runs(digits, batch_size=32, epochs=1, seeds=[0, 1])
    for before, model in zip(captured["before"], captured["models"], strict=True):
        after = model.state_dict()
        assert all(torch.equal(before[k], after[k]) for k in after)
