"""Dropout in practice (Part II, section 11): PyTorch's layers, batch norm's variance shift and
Monte Carlo uncertainty summaries.

Statistical checks use fixed seeds and bounds of five standard errors (a false alarm for a correct
implementation has probability below 1e-6).
"""
import math

import numpy as np
import pytest
import torch
from torch import nn

import trainwell as tw
from trainwell import data as twdata
from trainwell import dropout as dp
from trainwell.dropout import experiments as dx


def test_nn_dropout_mask_is_bernoulli_of_keep_and_scaled_by_reciprocal():
    x = torch.randn(50_000) + 3.0
    torch.manual_seed(5)
    y = nn.Dropout(p=0.3).train()(x)
    torch.manual_seed(5)
    mask = torch.empty_like(x).bernoulli_(0.7)
    assert torch.equal(y, x * (mask / 0.7))
    assert torch.equal(nn.Dropout(p=0.3).eval()(x), x) and torch.equal(dp.Dropout(keep=0.7).eval()(x), x)
    assert dp.Dropout(keep=0.7).p == pytest.approx(0.3)


def test_dropout2d_drops_whole_channels():
    torch.manual_seed(0)
    out = nn.Dropout2d(p=0.5).train()(torch.ones(40, 25, 3, 3)).flatten(2)
    assert torch.equal(out, out[..., :1].expand_as(out))
    assert set(out.unique().tolist()) <= {0.0, 2.0}


@pytest.mark.parametrize("m, v, keep", [(1.0, 0.25, 0.5), (-0.5, 2.0, 0.8), (0.0, 1.0, 0.9)])
def test_inverted_dropout_moments_by_sampling(m, v, keep):
    g = torch.Generator().manual_seed(1)
    n = 400_000
    x = m + math.sqrt(v) * torch.randn(n, generator=g, dtype=torch.float64)
    y = dp.dropout(x, keep, training=True, generator=g)
    mean, var = dp.inverted_dropout_moments(m, v, keep)
    assert float(var) == pytest.approx((v + m * m) / keep - m * m, rel=1e-12)
    c = y - y.mean()
    se_var = math.sqrt(((c ** 4).mean() - c.var() ** 2).item() / n)
    assert abs(y.var().item() - float(var)) <= 5 * se_var
    assert abs(y.mean().item() - float(mean)) <= 5 * math.sqrt(float(var) / n)


def test_inverted_dropout_moments_validates():
    with pytest.raises(ValueError, match="var"):
        dp.inverted_dropout_moments(0.0, -1.0, 0.5)
    with pytest.raises(ValueError, match="keep"):
        dp.inverted_dropout_moments(0.0, 1.0, 0.0)


def test_dropout_linear_variance_reduces_to_single_unit_and_matches_enumeration():
    g = torch.Generator().manual_seed(2)
    h = torch.rand(50, 1, generator=g, dtype=torch.float64)
    eval_var, train_var = dp.dropout_linear_variance(h, torch.ones(1, 1, dtype=torch.float64), 0.6)
    m, v = h.mean(), h.var(unbiased=False)
    assert eval_var.item() == pytest.approx(v.item(), rel=1e-12)
    assert train_var.item() == pytest.approx(((v + m ** 2) / 0.6 - m ** 2).item(), rel=1e-12)
    # exact: every example with every mask of its 4 inputs, weighted by the mask's probability
    h = torch.randn(30, 4, generator=g, dtype=torch.float64)
    W = torch.randn(3, 4, generator=g, dtype=torch.float64)
    masks = dp.enumerate_masks(4, dtype=torch.float64)
    p = dp.mask_probabilities(masks, 0.7) / len(h)
    z = torch.einsum("mi,ni,ji->mnj", masks, h, W) / 0.7  # (masks, examples, out)
    mean = torch.einsum("mn,mnj->j", p.unsqueeze(1).expand(-1, len(h)), z)
    var = torch.einsum("mn,mnj->j", p.unsqueeze(1).expand(-1, len(h)), (z - mean) ** 2)
    assert torch.allclose(dp.dropout_linear_variance(h, W, 0.7)[1], var, rtol=1e-12)
    with pytest.raises(ValueError, match="same in"):
        dp.dropout_linear_variance(h, W.T, 0.7)


def test_bn_dropout_mlp_layouts():
    every = tw.models.bn_dropout_mlp([8, 6, 6, 3], keep=0.8, placement="every")
    last = tw.models.bn_dropout_mlp([8, 6, 6, 3], keep=0.8, placement="last")
    none = tw.models.bn_dropout_mlp([8, 6, 6, 3], placement="none")
    kinds = [type(m).__name__ for m in every]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Dropout"] * 2 + ["Linear"]
    assert [type(m).__name__ for m in last].count("Dropout") == 1 and isinstance(last[-2], nn.Dropout)
    assert not any(isinstance(m, nn.Dropout) for m in none)
    assert every[3].p == pytest.approx(0.2)
    with pytest.raises(ValueError, match="placement"):
        tw.models.bn_dropout_mlp([8, 6, 3], placement="before")
    with pytest.raises(ValueError, match="hidden layer"):
        tw.models.bn_dropout_mlp([8, 3])


def test_bn_variance_shift_and_recompute_without_dropout():
    torch.manual_seed(0)
    keep = 0.5
    model = tw.models.bn_dropout_mlp([10, 64, 64, 2], keep=keep, placement="every")
    for layer in model:
        if isinstance(layer, nn.BatchNorm1d):
            layer.momentum = None  # exact averages: the shift then follows from the formula alone
    X = torch.randn(4096, 10)
    model.train()
    with torch.no_grad():
        for k in range(0, 4096, 256):
            model(X[k:k + 256])
    ratios = [r["ratio"].mean().item() for r in dp.bn_variance_shift(model, X)]
    assert abs(ratios[0] - 1) < 0.05  # nothing in front of the first BN
    assert ratios[1] < 0.8  # (do-shift-linear) with keep 1/2 and ReLU inputs: a large shift
    assert model.training  # the mode is restored
    n = dp.recompute_bn_stats_without_dropout(model, X, 256)
    assert n == 16
    assert all(abs(r["ratio"].mean().item() - 1) < 0.05 for r in dp.bn_variance_shift(model, X))
    assert all(m.p == pytest.approx(1 - keep) for m in model if isinstance(m, nn.Dropout))  # rates restored
    with pytest.raises(ValueError, match="batch-norm"):
        dp.bn_variance_shift(nn.Sequential(nn.Linear(3, 2)), torch.randn(4, 3))
    with pytest.raises(ValueError, match="two examples"):
        dp.bn_variance_shift(model, torch.randn(1, 10))


def test_predictive_uncertainty_decomposition():
    g = torch.Generator().manual_seed(3)
    probs = torch.softmax(torch.randn(7, 11, 4, generator=g, dtype=torch.float64), -1)
    u = dp.predictive_uncertainty(probs)
    mean = probs.mean(0)
    assert torch.allclose(u["mean"], mean, atol=1e-15)
    assert torch.allclose(u["entropy"], -(mean * mean.log()).sum(-1), atol=1e-12)
    assert torch.allclose(u["entropy"], u["expected_entropy"] + u["mutual_information"], atol=1e-12)
    assert (u["mutual_information"] >= 0).all() and (u["entropy"] <= math.log(4) + 1e-12).all()
    assert torch.allclose(u["variance"], ((probs - mean) ** 2).mean(0).sum(-1), atol=1e-15)
    same = dp.predictive_uncertainty(probs[:1].expand(5, -1, -1))
    assert torch.allclose(same["mutual_information"], torch.zeros(11, dtype=torch.float64), atol=1e-12)
    with pytest.raises(ValueError, match="probabilities"):
        dp.predictive_uncertainty(torch.ones(2, 3, 4))
    with pytest.raises(ValueError, match=r"\(k, N, C\)"):
        dp.predictive_uncertainty(torch.ones(3, 4) / 4)


def test_auroc_against_pairwise_count():
    rng = np.random.default_rng(0)
    for _ in range(5):
        a, b = rng.integers(0, 8, 70), rng.integers(2, 10, 45)  # many ties
        pairs = (b[None, :] > a[:, None]).mean() + 0.5 * (b[None, :] == a[:, None]).mean()
        assert tw.metrics.auroc(a, b) == pytest.approx(pairs, abs=1e-12)
    assert tw.metrics.auroc([0.0, 1.0], [2.0, 3.0]) == 1.0 and tw.metrics.auroc([2.0, 3.0], [0.0, 1.0]) == 0.0
    assert tw.metrics.auroc(torch.ones(4), torch.ones(3)) == 0.5
    with pytest.raises(ValueError, match="at least one"):
        tw.metrics.auroc([], [1.0])
    with pytest.raises(ValueError, match="finite"):
        tw.metrics.auroc([float("nan")], [1.0])


def test_split_known_classes():
    digits = twdata.load("digits")
    known, X_out = tw.data.split_known_classes(digits, [3, 1])
    assert known.classes == ("3", "1") and known.n_classes == 2
    assert set(known.y_train.unique().tolist()) == {0, 1}
    assert len(known.y_test) == int(((digits.y_test == 3) | (digits.y_test == 1)).sum())
    assert len(X_out) + len(known.y_test) == len(digits.y_test)
    first_three = digits.X_train[digits.y_train == 3][0]
    assert torch.equal(known.X_train[known.y_train == 0][0], first_three)
    for bad in ([], [1, 1], list(range(10)), [10]):
        with pytest.raises(ValueError):
            tw.data.split_known_classes(digits, bad)


def test_validation_of_runs():
    digits = twdata.load("digits")
    with pytest.raises(ValueError, match="passes"):
        dx.forgot_eval_run(digits, seed=0, passes=1)
    with pytest.raises(ValueError, match="depth"):
        dx.variance_shift_run(digits, seed=0, depth=0)
    with pytest.raises(ValueError, match="k"):
        dx.ood_uncertainty_run(digits, seed=0, k=0)


def test_ood_uncertainty_run_small():
    digits = twdata.load("digits")
    r = dx.ood_uncertainty_run(digits, seed=0, hidden=64, epochs=30, k=8)
    assert set(r["auroc"]) == {"entropy", "mutual_information", "variance", "single entropy"}
    assert all(0.0 <= v <= 1.0 for v in r["auroc"].values())
    assert r["accuracy"] > 0.8  # five classes (chance 0.2); this short run reaches about 0.94
    assert len(r["scores"]["in"]["entropy"]) + len(r["scores"]["out"]["entropy"]) == len(digits.y_test)
