"""Dropout from scratch against PyTorch and against the theory of Part II.

Statistical checks use fixed seeds and bounds of five standard deviations of the relevant binomial
or Gaussian estimate (a false alarm for a correct implementation has probability below 1e-6).
"""
import math

import pytest
import torch
import torch.nn.functional as F

from trainwell import dropout as dp

N = 200_000  # entries per statistical test


def binomial_bound(n, keep):
    return 5 * math.sqrt(n * keep * (1 - keep))


@pytest.mark.parametrize("keep", [0.5, 0.8])
def test_kept_fraction_and_scaling_match_torch(keep):
    g = torch.Generator().manual_seed(0)
    ours = dp.dropout(torch.ones(N), keep, training=True, generator=g)
    torch.manual_seed(0)
    theirs = F.dropout(torch.ones(N), p=dp.keep_to_drop(keep), training=True)
    for y in (ours, theirs):
        kept = int((y != 0).sum())
        assert abs(kept - N * keep) <= binomial_bound(N, keep)
        assert torch.allclose(y[y != 0], torch.full_like(y[y != 0], 1 / keep))


def test_weight_scaling_convention_and_eval_mode():
    x = torch.randn(1000)
    assert torch.equal(dp.dropout(x, 0.8, training=False), x)
    assert torch.equal(dp.dropout(x, 0.8, training=False, inverted=False), x * 0.8)
    y = dp.dropout(x, 0.8, training=True, inverted=False)
    assert torch.all((y == 0) | (y == x))
    layer = dp.Dropout(keep=0.8)
    assert layer.p == pytest.approx(0.2) and torch.equal(layer.eval()(x), x)
    assert dp.drop_to_keep(0.2) == pytest.approx(0.8) and dp.keep_to_drop(0.8) == pytest.approx(0.2)


def test_gradient_flows_only_through_kept_units():
    x = torch.randn(5000, requires_grad=True)
    y = dp.dropout(x, 0.5, training=True)
    y.sum().backward()
    kept = y.detach() != 0
    assert torch.allclose(x.grad[kept], torch.full_like(x.grad[kept], 2.0))
    assert torch.all(x.grad[~kept] == 0)


def test_gaussian_dropout_moments():
    torch.manual_seed(0)
    layer = dp.GaussianDropout.matching(0.8)
    assert layer.sigma ** 2 == pytest.approx(0.25)
    noise = layer.train()(torch.ones(N))
    assert abs(noise.mean().item() - 1) <= 5 * layer.sigma / math.sqrt(N)
    # the sample variance of N Gaussians has standard deviation sigma^2 * sqrt(2 / (N - 1))
    assert abs(noise.var().item() - 0.25) <= 5 * 0.25 * math.sqrt(2 / (N - 1))
    assert torch.equal(layer.eval()(torch.ones(3)), torch.ones(3))


def test_dropconnect():
    torch.manual_seed(0)
    layer = dp.DropConnectLinear(4, 3, keep=0.5)
    x = torch.randn(1, 4).repeat(6, 1)
    assert torch.allclose(layer.eval()(x), F.linear(x, layer.weight, layer.bias))
    y = layer.train()(x)
    assert not torch.allclose(y[0], y[1])  # every example draws its own weight mask
    full = dp.DropConnectLinear(4, 3, keep=1.0)
    full.load_state_dict(layer.state_dict())
    assert torch.allclose(full.train()(x), F.linear(x, layer.weight, layer.bias), atol=1e-6)
    with pytest.raises(ValueError, match=r"expects \(N, 4\) input"):
        layer(torch.randn(2, 5))


def small_net(keep=0.5):
    torch.manual_seed(0)
    return dp.MaskedMLP([3, 4, 3, 2], keep_hidden=keep).double()


def test_masked_mlp_masks_batched_and_mean_network():
    net = small_net()
    x = torch.randn(5, 3, dtype=torch.float64)
    masks = dp.enumerate_masks(net.hidden_units, dtype=torch.float64)[:9]
    batched = net(x, net.split_mask(masks))
    looped = torch.stack([net(x, net.split_mask(m)) for m in masks])
    torch.testing.assert_close(batched, looped, rtol=0, atol=1e-12)
    torch.testing.assert_close(net.mean_network(x), net.eval()(x), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="7 hidden units"):
        net.split_mask(torch.ones(6))
    with pytest.raises(ValueError, match="one tensor per hidden layer"):
        net(x, [torch.ones(4)])


def test_enumeration_and_the_arithmetic_mean():
    masks = dp.enumerate_masks(4)
    assert masks.shape == (16, 4) and len({tuple(r.tolist()) for r in masks}) == 16
    assert dp.mask_probabilities(masks, 0.3).sum().item() == pytest.approx(1.0)
    net = small_net()
    x = torch.randn(4, 3, dtype=torch.float64)
    all_masks = dp.enumerate_masks(net.hidden_units, dtype=torch.float64)
    p = dp.mask_probabilities(all_masks, 0.5)
    by_hand = sum(w * torch.softmax(net(x, net.split_mask(m)), -1) for w, m in zip(p, all_masks, strict=True))
    torch.testing.assert_close(dp.ensemble_predict(net, x, chunk=7), by_hand, rtol=0, atol=1e-12)
    geo = dp.ensemble_predict(net, x, mean="geometric")
    torch.testing.assert_close(geo.sum(-1), torch.ones(4, dtype=torch.float64), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="the limit is 20 units"):
        dp.enumerate_masks(21)


def test_softmax_regression_weight_scaling_theorem():
    g = torch.Generator().manual_seed(0)
    n, c = 12, 4
    f64 = {"generator": g, "dtype": torch.float64}
    W, b, v = torch.randn(n, c, **f64), torch.randn(c, **f64), torch.randn(n, **f64)
    exact = dp.softmax_regression_geometric_mean(W, b, v)
    torch.testing.assert_close(exact, torch.softmax(0.5 * v @ W + b, 0), rtol=0, atol=1e-12)
    # and the arithmetic mean is a different thing
    d = dp.enumerate_masks(n, dtype=torch.float64)
    arithmetic = torch.softmax((d * v) @ W + b, 1).mean(0)
    assert (arithmetic - exact).abs().max() > 1e-4


def test_wager_identity_is_exact():
    g = torch.Generator().manual_seed(0)
    scales = torch.tensor([0.1, 1, 3, 1, 0.5], dtype=torch.float64)  # features of very different sizes
    X = torch.randn(6, 5, generator=g, dtype=torch.float64) * scales
    y, w = torch.randn(6, generator=g, dtype=torch.float64), torch.randn(5, generator=g, dtype=torch.float64)
    for keep in (0.5, 0.8):
        lhs = dp.expected_dropout_squared_loss(X, y, w, keep)
        rhs = ((y - X @ w) ** 2).sum() + dp.wager_penalty(X, w, keep)
        torch.testing.assert_close(lhs, rhs, rtol=1e-12, atol=1e-12)


def test_fast_dropout_moments_match_monte_carlo():
    g = torch.Generator().manual_seed(0)
    x, w = (torch.randn(50, generator=g, dtype=torch.float64) for _ in range(2))
    mean, var = dp.fast_dropout_moments(x, w, 0.7)
    K = 100_000
    s = ((torch.rand(K, 50, generator=g, dtype=torch.float64) < 0.7) * w * x).sum(1)
    assert abs(s.mean().item() - mean.item()) <= 5 * math.sqrt(var.item() / K)
    # a sum of 50 independent terms is close to Gaussian, whose sample variance has standard error
    # var * sqrt(2 / (K - 1))
    assert abs(s.var().item() - var.item()) <= 5 * var.item() * math.sqrt(2 / (K - 1))


def test_mc_predict_shared_masks_are_the_batched_mean_of_its_masks():
    net = small_net()
    x = torch.randn(4, 3, dtype=torch.float64)
    g = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    samples = dp.mc_predict(net, x, 50, generator=g(), return_samples=True, per_example=False)
    masks = (torch.rand(50, net.hidden_units, generator=g()) < 0.5).double()
    looped = torch.stack([torch.softmax(net(x, net.split_mask(m)), -1) for m in masks])
    torch.testing.assert_close(samples, looped, rtol=0, atol=1e-12)
    mean = dp.mc_predict(net, x, 50, generator=g(), per_example=False)
    torch.testing.assert_close(mean, looped.mean(0), rtol=0, atol=1e-12)


def test_mc_predict_draws_its_own_masks_for_every_example():
    net = small_net()
    x = torch.randn(4, 3, dtype=torch.float64)
    g = lambda: torch.Generator().manual_seed(2)  # noqa: E731
    samples = dp.mc_predict(net, x, 30, generator=g(), return_samples=True)
    masks = (torch.rand(30, 4, net.hidden_units, generator=g()) < 0.5).double()
    # member t of example i is the sub-network of its own mask masks[t, i], run on x[i] alone
    looped = torch.stack([torch.stack([torch.softmax(net(x[i:i + 1], net.split_mask(masks[t, i])), -1)[0]
                                       for i in range(4)]) for t in range(30)])
    torch.testing.assert_close(samples, looped, rtol=0, atol=1e-12)
    # the same example repeated gets different members: its masks are not shared
    same = dp.mc_predict(net, x[:1].repeat(2, 1), 30, generator=g(), return_samples=True)
    assert not torch.equal(same[:, 0], same[:, 1])


@pytest.mark.parametrize("call, match", [
    (lambda: dp.dropout(torch.ones(2), 0.0, training=True), r"Invalid keep: 0.0 \(must be in \(0.0, 1.0\]\)"),
    (lambda: dp.Dropout(keep=1.5), "Invalid keep: 1.5"),
    (lambda: dp.drop_to_keep(1.0), r"Invalid p: 1.0 \(must be in \[0.0, 1.0\)\)"),
    (lambda: dp.GaussianDropout(-0.1), "Invalid sigma: -0.1"),
    (lambda: dp.ensemble_predict(small_net(), torch.ones(1, 3, dtype=torch.float64), mean="median"),
     "allowed: 'arithmetic', 'geometric'"),
    (lambda: dp.fast_dropout_moments(torch.ones(3), torch.ones(4), 0.5), "agree on the last axis"),
])
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_inference_rules_run_scores_every_rule():
    from trainwell import data
    from trainwell.dropout import experiments as dx

    digits = data.load("digits").subset_train(300)
    r = dx.inference_rules_run(digits, seed=0, hidden=(3, 3), epochs=2, ks=(1, 4), mc_repeats=2)
    assert r["n_masks"] == 64 and r["mc_accuracy"].shape == (2, 2) and r["mc_log_lik"].shape == (2, 2)
    assert r["shared_accuracy"].shape == (2, 2) and r["shared_log_lik"].shape == (2, 2)
    for rule in ("arithmetic", "geometric", "weight scaling"):
        accuracy, log_lik = r[rule]
        assert 0 <= accuracy <= 1 and log_lik <= 0
    with pytest.raises(ValueError, match="Invalid mc_repeats: 0"):
        dx.inference_rules_run(digits, seed=0, mc_repeats=0)


def test_bootstrap_and_bagging():
    from trainwell import data

    digits = data.load("digits").subset_train(200)
    boot = dp.bootstrap(digits, seed=3)
    assert torch.equal(boot.y_train, digits.y_train[dp.bootstrap_indices(200, 3)])
    assert boot.X_train.shape == digits.X_train.shape and torch.equal(boot.X_test, digits.X_test)
    # the number of distinct examples left out of a bootstrap sample is about n (1 - 1/n)^n ~ n / e
    rows = {tuple(r.tolist()) for r in boot.X_train}
    left_out = len({tuple(r.tolist()) for r in digits.X_train}) - len(rows)
    n = 200
    mean = n * (1 - 1 / n) ** n
    assert abs(left_out - mean) <= 5 * math.sqrt(mean)  # a loose Poisson-type bound on the count
    members = dp.bagging(lambda: torch.nn.Linear(64, 10), digits, 3, seed=1,
                         optimizer=lambda p: torch.optim.SGD(p, lr=0.1), epochs=1)
    probs = dp.ensemble_probabilities(members, digits.X_test)
    by_hand = sum(torch.softmax(m(digits.X_test), -1) for m in members) / 3
    torch.testing.assert_close(probs, by_hand.detach())
    with pytest.raises(ValueError, match="at least one model"):
        dp.ensemble_probabilities([], digits.X_test)


def test_boosting_forward_is_the_mean_network_with_gradients_of_kept_units_only():
    torch.manual_seed(0)
    net = dp.BoostingMLP([5, 6, 4, 3], keep_hidden=0.5).double()
    x = torch.randn(1, 5, dtype=torch.float64)
    torch.manual_seed(1)
    out = net.train()(x)
    torch.testing.assert_close(out, net.eval()(x), rtol=0, atol=1e-12)  # value: the mean network
    out.sum().backward()
    torch.manual_seed(1)  # the same masks again: first hidden layer's draw comes first
    mask1 = (torch.rand(1, 6) < 0.5).squeeze(0)
    # a dropped unit of the first hidden layer: neither its incoming weights nor its outgoing ones move
    dropped = (~mask1).nonzero().flatten()
    assert len(dropped) > 0
    assert torch.all(net.layers[0].weight.grad[dropped] == 0)
    assert torch.all(net.layers[1].weight.grad[:, dropped] == 0)
    with pytest.raises(ValueError, match="keep_input must be 1"):
        dp.BoostingMLP([5, 6, 3], keep_input=0.8)


def test_stochastic_pooling():
    g = torch.Generator().manual_seed(0)
    x = torch.relu(torch.randn(2, 3, 4, 4, generator=g, dtype=torch.float64))
    x[0, 0, :2, :2] = 0.0  # a region of zeros
    test = dp.stochastic_pool2d(x, 2, training=False)
    regions = x.unfold(2, 2, 2).unfold(3, 2, 2).reshape(2, 3, 2, 2, 4)
    total = regions.sum(-1)
    expected = torch.where(total > 0, (regions ** 2).sum(-1) / total.clamp_min(1e-30),
                           torch.zeros_like(total))
    torch.testing.assert_close(test, expected, rtol=0, atol=1e-12)
    # training picks one value of each region, with probability proportional to it
    draws = dp.stochastic_pool2d(x.repeat(4000, 1, 1, 1), 2, training=True, generator=g)
    draws = draws.view(4000, 2, 3, 2, 2)
    assert torch.all((draws.unsqueeze(-1) == regions).any(-1))
    # the mean of 4000 draws is within 5 standard errors of the test-time output
    sd = ((regions ** 3).sum(-1) / total.clamp_min(1e-30) - expected ** 2).clamp_min(0).sqrt()
    assert torch.all((draws.mean(0) - expected).abs() <= 5 * sd / math.sqrt(4000) + 1e-12)
    with pytest.raises(ValueError, match="non-negative"):
        dp.stochastic_pool2d(-x - 1, 2, training=False)
    with pytest.raises(ValueError, match="divisible by kernel 3"):
        dp.StochasticPool2d(3)(x)


def test_train_scored_applies_max_norm_and_the_activity_penalty():
    from trainwell import data
    from trainwell.dropout import experiments as dx

    digits = data.load("digits").subset_train(128)
    make = lambda: dp.MaskedMLP([64, 32, 10], keep_hidden=1.0)  # noqa: E731
    r = dx.train_scored(make, digits, seed=0, epochs=2, max_norm=0.5)
    assert r["model"].layers[0].weight.norm(dim=1).max().item() <= 0.5 + 1e-5
    assert 0 <= r["accuracy"] <= 1 and r["log_lik"] <= 0
    plain = dx.train_scored(make, digits, seed=0, epochs=20)
    sparse = dx.train_scored(make, digits, seed=0, epochs=20, activity_l1=0.3)
    activity = [torch.relu(res["model"].layers[0](digits.X_train)).sum(1).mean().item()
                for res in (plain, sparse)]
    assert activity[1] < 0.5 * activity[0]  # the penalty shrinks the hidden activity
    assert not sparse["model"].layers[0]._forward_hooks  # hooks removed after training


def test_chapter_runs_return_their_shapes():
    from trainwell import data
    from trainwell.dropout import experiments as dx

    small = data.load("mnist1d").subset_train(96, seed=0)
    bag = dx.ensemble_comparison_run(small, seed=0, hidden=8, epochs=2, k=3)
    assert set(bag) == {"plain", "dropout", "dropout boosting", "bagging"}
    assert len(bag["plain"]["val_loss"]) == 2 and bag["bagging"]["test_by_k"].shape == (3, 2)
    # using all k members is the mean of the k members' probabilities: the running mean ends at the bag
    assert bag["bagging"]["members"].shape == (3, 2)
    reg = dx.regularizer_comparison_runs(small, seeds=[0, 1], hidden=8, epochs=2)
    assert tuple(reg) == dx.REGULARIZER_ARMS
    # (settings, seeds, evaluations): evaluated every second epoch, so once in two epochs
    assert all(r.curves("val_loss").shape == (1, 2, 1) and r.at_best("test_loss").shape == (2,)
               for r in reg.values())
    # at these tiny weights max-norm never binds, so the arms it is added to are the arms before it
    assert reg["dropout"].final("test_loss").tolist() == reg["dropout + max-norm"].final("test_loss").tolist()
    assert reg["dropout"].final("test_loss").tolist() != reg["plain"].final("test_loss").tolist()
    assert (reg["dropout + max-norm"].final("test_loss").tolist()
            != reg["dropout + max-norm, larger lr"].final("test_loss").tolist())
    sweep = dx.size_sweep_run(small, seed=0, sizes=(32, 96), steps=3, hidden=8)
    assert sweep["plain"].shape == (2, 2) and list(sweep["sizes"]) == [32, 96]
    best = sweep["best_step"]["dropout"]
    assert best.shape == (2,) and (best >= 1).all() and (best <= 3).all()  # within the budget of 3 updates


def test_dropout_regression_fit_minimizes_the_enumerated_loss_and_ignores_feature_units():
    g = torch.Generator().manual_seed(3)
    X = torch.randn(9, 4, generator=g, dtype=torch.float64) * torch.tensor([0.1, 1.0, 5.0, 0.5],
                                                                           dtype=torch.float64)
    y = torch.randn(9, generator=g, dtype=torch.float64)
    w = dp.dropout_regression_fit(X, y, 0.7).requires_grad_(True)
    dp.expected_dropout_squared_loss(X, y, w, 0.7).backward()  # every mask enumerated
    assert w.grad.abs().max().item() < 1e-10
    scale = torch.tensor([3.0, 0.2, 7.0, 1.5], dtype=torch.float64)
    rescaled = dp.dropout_regression_fit(X * scale, y, 0.7)
    torch.testing.assert_close((X * scale) @ rescaled, X @ w.detach(), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="all-zero column"):
        dp.dropout_regression_fit(torch.zeros(3, 2, dtype=torch.float64), torch.ones(3, dtype=torch.float64),
                                  0.5)
    with pytest.raises(ValueError, match="y"):
        dp.dropout_regression_fit(X, y[:3], 0.5)


@pytest.mark.parametrize("kwargs, error, phrase", [
    ({"seeds": [0, 0]}, ValueError, "seeds"), ({"seeds": [0], "keep": 0.0}, ValueError, "Invalid keep: 0.0"),
    ({"seeds": [0], "hidden": 0}, ValueError, "Invalid hidden: 0"),
    ({"seeds": [0], "dropout_max_norm_lr": -1.0}, ValueError, "Invalid dropout_max_norm_lr: -1.0"),
])
def test_the_regularizer_comparison_refuses_bad_settings_by_name(kwargs, error, phrase):
    from trainwell import data
    from trainwell.dropout import experiments as dx

    with pytest.raises(error, match=phrase):
        dx.regularizer_comparison_runs(data.load("mnist1d").subset_train(64, seed=0), epochs=1, **kwargs)
