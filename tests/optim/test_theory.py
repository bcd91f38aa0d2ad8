"""Part IV's closed forms against direct computation: the momentum matrix against the survey's own
iteration, its spectral radius against NumPy's eigenvalues and against the measured decay of the
iterates, √γ for complex roots, the optimal (η*, γ*) as the minimum of the rate map, the effective
step η/(1 − γ), the survey's momentum and Nesterov's look-ahead form against SGD (trainwell's and
PyTorch's) step for step, Adam's bias formula against simulation, and NAdam's schedule against the
optimizer's own state."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from trainwell import optim
from trainwell.optim import functions as fn
from trainwell.optim import theory as th

F64 = torch.float64


def _close(a, b, tol=1e-12):
    """max |a − b| <= tol · max(1, max |b|)."""
    a, b = torch.as_tensor(a, dtype=F64), torch.as_tensor(b, dtype=F64)
    assert a.shape == b.shape
    scale = max(1.0, float(b.abs().max()))
    diff = float((a - b).abs().max())
    assert diff <= tol * scale, f"max |diff| = {diff:.3g} > {tol:.0e} * {scale:.3g}"


def _one_d(lam):
    return fn.Quadratic([[lam]])


# A grid of (η, γ, λ) that crosses every regime: complex roots, two real roots, divergence.
SETTINGS = [(a, g, lam) for a in (0.01, 0.1, 0.5, 1.0) for g in (0.0, 0.3, 0.9, 0.99)
            for lam in (0.5, 1.0, 3.0)]


def test_the_momentum_matrix_is_the_survey_iteration_on_a_one_dimensional_quadratic():
    for lr, gamma, lam in SETTINGS:
        thetas = th.survey_momentum_run(_one_d(lam), [1.0], 30, lr=lr, gamma=gamma)[:, 0]
        velocities = torch.cat([torch.zeros(1, dtype=F64), thetas[1:] - thetas[:-1]])
        M = th.momentum_matrix(lr, gamma, lam)
        z = np.array([1.0, 0.0])
        for k in range(31):
            _close([thetas[k], velocities[k]], z)
            z = M @ z
        assert np.linalg.det(M) == pytest.approx(gamma, abs=1e-14)


def test_the_rate_is_the_spectral_radius_of_the_matrix():
    for lr, gamma, lam in SETTINGS:
        radius = np.abs(np.linalg.eigvals(th.momentum_matrix(lr, gamma, lam))).max()
        assert th.momentum_rate(lr, gamma, lam) == pytest.approx(radius, rel=1e-9)


def test_complex_roots_have_modulus_sqrt_gamma_whatever_lr_and_lambda():
    gen = np.random.default_rng(0)
    seen = 0
    for _ in range(300):
        lr, gamma, lam = gen.uniform(0, 2), gen.uniform(0, 0.999), gen.uniform(0, 5)
        eig = np.linalg.eigvals(th.momentum_matrix(lr, gamma, lam))
        if abs(eig[0].imag) > 1e-9:
            seen += 1
            np.testing.assert_allclose(np.abs(eig), math.sqrt(gamma), rtol=1e-12)
            assert th.momentum_rate(lr, gamma, lam) == pytest.approx(math.sqrt(gamma), rel=1e-15)
    assert seen > 50


@pytest.mark.parametrize("lr, gamma, lam", [(0.1, 0.9, 1.0), (0.01, 0.5, 1.0), (0.5, 0.3, 1.0),
                                               (1.9, 0.05, 1.0), (0.05, 0.95, 10.0), (2.05, 0.0, 1.0),
                                               (4.0, 0.5, 1.0)])
def test_the_rate_is_the_measured_decay_of_the_iterates(lr, gamma, lam):
    rate = th.momentum_rate(lr, gamma, lam)
    steps = int(min(3000, 250 / abs(math.log(rate))))  # keep rate^steps far from under/overflow
    thetas = th.survey_momentum_run(_one_d(lam), [1.0], steps, lr=lr, gamma=gamma)[:, 0].numpy()
    velocities = np.diff(thetas, prepend=thetas[0])
    log_norm = np.log(np.hypot(thetas, velocities))
    k = np.arange(steps + 1)
    half = steps // 2  # fit the slope on the second half, after transients
    slope = np.polyfit(k[half:], log_norm[half:], 1)[0]
    assert math.exp(slope) == pytest.approx(rate, rel=2e-2)


def test_the_rate_map_is_the_worst_rate_over_the_eigenvalues_and_the_extremes_suffice():
    lrs, gammas = np.linspace(0.0, 0.06, 13), np.linspace(0.0, 0.98, 8)
    spectrum = np.linspace(1.0, 50.0, 25)
    rates = th.momentum_rate_map(lrs, gammas, spectrum)
    assert rates.shape == (len(gammas), len(lrs))
    for i, g in enumerate(gammas):
        for j, a in enumerate(lrs):
            assert rates[i, j] == max(th.momentum_rate(a, g, lam) for lam in spectrum)
    extremes = th.momentum_rate_map(torch.tensor(lrs), list(gammas), [1.0, 50.0])
    np.testing.assert_array_equal(rates, extremes)


@pytest.mark.parametrize("lam_min, lam_max", [(1.0, 100.0), (0.5, 2.0), (3.0, 3000.0)])
def test_the_optimum_minimizes_the_rate_map_and_gives_sqrt_kappa_acceleration(lam_min, lam_max):
    best = th.momentum_optimum(lam_min, lam_max)
    assert best.rate == pytest.approx(math.sqrt(best.gamma), rel=1e-15)
    # a grid that contains (η*, γ*) exactly: its minimum is there, and nowhere lower
    lrs = np.concatenate([best.lr * np.linspace(0.5, 1.5, 41), [best.lr]])
    gammas = np.concatenate([np.linspace(0.0, 0.999, 60), [best.gamma]])
    rates = th.momentum_rate_map(lrs, gammas, [lam_min, lam_max])
    i, j = np.unravel_index(np.argmin(rates), rates.shape)
    assert (gammas[i], lrs[j]) == (best.gamma, best.lr)
    # at the optimum the extremes sit on a double root, where √(b² − 4γ) amplifies rounding to ~1e-8
    assert rates[i, j] == pytest.approx(best.rate, rel=1e-6)
    for lam in (lam_min, lam_max):
        assert th.momentum_rate(best.lr, best.gamma, lam) == pytest.approx(best.rate, rel=1e-6)
    # plain gradient descent at its best step 2/(λ_min + λ_max) converges at (κ − 1)/(κ + 1)
    gd = max(th.momentum_rate(2 / (lam_min + lam_max), 0.0, lam) for lam in (lam_min, lam_max))
    kappa = lam_max / lam_min
    assert gd == pytest.approx((kappa - 1) / (kappa + 1), rel=1e-12)
    assert best.rate == pytest.approx((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1), rel=1e-15)
    assert best.rate < gd or kappa == 1


def test_momentum_at_the_optimum_converges_at_the_optimal_rate_on_a_2d_quadratic():
    q = fn.Quadratic.ill_conditioned(100.0, angle=0.7)
    best = th.momentum_optimum(1.0, 100.0)
    steps = 600
    path = fn.trajectory(lambda p: optim.SGD(p, **th.survey_to_sgd(best.lr, best.gamma)), q, [1.0, 1.0],
                         steps)
    dist = np.maximum(fn.distances_to_minimum(q, path), 1e-300)
    k = np.arange(steps + 1)
    # a double root decays like k·rateᵏ: remove the k before fitting
    slope = np.polyfit(k[100:], np.log(dist[100:]) - np.log(k[100:]), 1)[0]
    assert math.exp(slope) == pytest.approx(best.rate, rel=1e-2)


def test_the_velocity_under_a_constant_gradient_settles_at_the_effective_step():
    lr, gamma = 0.01, 0.9
    g = torch.tensor([2.0, -1.0], dtype=F64)
    thetas = th.survey_momentum_run(lambda theta: g, [0.0, 0.0], 400, lr=lr, gamma=gamma)
    v = thetas[1:] - thetas[:-1]
    k = torch.arange(1, 401, dtype=F64)[:, None]
    _close(v, -lr * g * (1 - gamma**k) / (1 - gamma))   # v_k = −η g (1 − γᵏ)/(1 − γ)
    _close(v[-1], -th.momentum_effective_step(lr, gamma) * g)


@pytest.mark.parametrize("module", [optim, torch.optim], ids=["trainwell", "torch"])
@pytest.mark.parametrize("function, start", [(fn.Quadratic.ill_conditioned(30.0, angle=0.5), [1.5, -1.0]),
                                             (fn.Rosenbrock(), [-1.2, 1.0])], ids=["quadratic", "rosenbrock"])
def test_the_survey_form_is_sgd_with_momentum_step_for_step(module, function, start):
    lr, gamma = 1e-3, 0.9
    kwargs = th.survey_to_sgd(lr, gamma)
    assert th.sgd_to_survey(kwargs["lr"], kwargs["momentum"], kwargs["dampening"]) == (lr, gamma)
    survey = th.survey_momentum_run(function, start, 300, lr=lr, gamma=gamma)
    theta = torch.nn.Parameter(torch.tensor(start, dtype=F64))
    opt = module.SGD([theta], **kwargs)
    for k in range(1, 301):
        theta.grad = function.grad(theta.detach())
        opt.step()
        _close(theta.detach(), survey[k])
        # and PyTorch's buffer is the survey's velocity divided by −η
        _close(-lr * opt.state[theta]["momentum_buffer"], survey[k] - survey[k - 1])


@pytest.mark.parametrize("module", [optim, torch.optim], ids=["trainwell", "torch"])
@pytest.mark.parametrize("function, start, lr",
                         [(fn.Quadratic.ill_conditioned(30.0, angle=0.5), [1.5, -1.0], 0.03),
                          (fn.Rosenbrock(), [-1.2, 1.0], 1e-3)], ids=["quadratic", "rosenbrock"])
def test_nesterov_look_ahead_is_pytorchs_reformulation_under_the_shift(module, function, start, lr):
    gamma, steps = 0.9, 400
    look = th.nesterov_lookahead_run(function, start, steps, lr=lr, gamma=gamma)
    kwargs = th.survey_to_sgd(lr, gamma, nesterov=True)
    torch_path = torch.as_tensor(fn.trajectory(lambda p: module.SGD(p, **kwargs), function, start, steps))
    _close(th.lookahead_to_pytorch(look, gamma), torch_path)
    _close(th.pytorch_to_lookahead(torch_path, gamma), look)
    # neither identity is vacuous: the raw sequences differ, and classical momentum differs from both
    assert float((look - torch_path).abs().max()) > 1e-4
    classical = th.survey_momentum_run(function, start, steps, lr=lr, gamma=gamma)
    assert float((classical - torch_path).abs().max()) > 1e-4


@pytest.mark.parametrize("beta, mean, std", [(0.999, 0.0, 1.0), (0.9, 1.5, 0.5)])
def test_the_ema_bias_formula_matches_simulation(beta, mean, std):
    steps, n_runs = 60, 20000
    sim = th.ema_bias_simulation(beta, steps, n_runs, seed=0, mean=mean, std=std)
    second = mean**2 + std**2
    t = torch.arange(1, steps + 1, dtype=F64)
    _close(sim.formula, (1 - beta**t) * second, tol=1e-15)
    assert bool(((sim.simulated - sim.formula).abs() <= 5 * sim.stderr).all())
    # the standard error is that of the mean of n_runs draws of v_t: Var v_t ≤ (1 − β)/(1 + β) Var g²
    var_g2 = 4 * mean**2 * std**2 + 2 * std**4
    assert bool((sim.stderr <= 1.2 * math.sqrt((1 - beta) / (1 + beta) * var_g2 / n_runs)).all())
    # uncorrected, the first average is (1 − β) E[g²], far too small; corrected, it is E[g²]
    assert sim.simulated[0].item() == pytest.approx((1 - beta) * second, rel=5 * sim.stderr[0].item()
                                                    / sim.simulated[0].item())
    corrected = sim.simulated / (1 - beta**t)
    assert bool(((corrected - second).abs() <= 5 * sim.stderr / (1 - beta**t)).all())


def test_the_ema_simulation_is_reproducible_from_its_seed():
    a = th.ema_bias_simulation(0.9, 5, 100, seed=7)
    b = th.ema_bias_simulation(0.9, 5, 100, seed=7)
    c = th.ema_bias_simulation(0.9, 5, 100, seed=8)
    assert torch.equal(a.simulated, b.simulated) and not torch.equal(a.simulated, c.simulated)


@pytest.mark.parametrize("module", [optim, torch.optim], ids=["trainwell", "torch"])
@pytest.mark.parametrize("psi", [4e-3, 0.0, 0.1])
def test_nadam_momentum_product_is_the_optimizers_state(module, psi, float64_default):
    beta1, r = 0.9, fn.Rosenbrock()
    theta = torch.nn.Parameter(torch.tensor([-1.2, 1.0], dtype=F64))
    opt = module.NAdam([theta], lr=1e-3, betas=(beta1, 0.999), momentum_decay=psi)
    for t in range(1, 40):
        theta.grad = r.grad(theta.detach())
        opt.step()
        expected = th.nadam_momentum_product(beta1, t, psi)
        assert opt.state[theta]["mu_product"].item() == pytest.approx(expected, rel=1e-15)


def test_nadam_momentum_schedule_rises_from_half_beta1_to_beta1_and_psi_zero_is_half_beta1():
    beta1 = 0.9
    mus = [th.nadam_momentum(beta1, t, 4e-3) for t in range(1, 60002, 500)]
    assert all(a < b for a, b in zip(mus, mus[1:], strict=False))
    assert beta1 / 2 < mus[0] < beta1 and mus[-1] == pytest.approx(beta1, rel=1e-3)
    dozat = beta1 * (1 - 0.5 * 0.96 ** (1 / 250))   # Dozat's 0.96^{t/250} at t = 1
    assert th.nadam_momentum(beta1, 1, 4e-3) == pytest.approx(dozat, rel=1e-15)
    assert {th.nadam_momentum(beta1, t, 0.0) for t in (1, 10, 1000)} == {beta1 / 2}
    assert th.nadam_momentum_product(beta1, 0) == 1.0
    assert th.nadam_momentum_product(beta1, 3, 0.0) == pytest.approx((beta1 / 2) ** 3, rel=1e-15)


@pytest.mark.parametrize("run", [th.survey_momentum_run, th.nesterov_lookahead_run])
def test_a_diverging_momentum_run_ends_with_nan_rows_and_maps_keep_them(run):
    path = run(_one_d(1.0), [1.0], 3000, lr=4.0, gamma=0.5)   # rate > 2: overflows within 1000 steps
    k = fn.diverged_at(path)
    assert k is not None and bool(torch.isfinite(path[:k]).all()) and bool(torch.isnan(path[k:]).all())
    assert float(path[k - 1].abs()) > 1e300
    assert fn.diverged_at(th.lookahead_to_pytorch(path, 0.5)) == k
