"""Closed forms that section `part-optimization` verifies: momentum on a quadratic (Polyak 1964; the
analysis of Goh 2017, "Why momentum really works"), the survey's momentum and Nesterov forms next to
PyTorch's SGD (Sutskever, Martens, Dahl & Hinton 2013), the bias of Adam's running averages (Kingma &
Ba 2015) and NAdam's momentum schedule as PyTorch defines it (Dozat 2016).

The survey's momentum (Murugan & Durairaj 2017) is

    v ← γ v − η ∇J(θ),   θ ← θ + v,

PyTorch's ``SGD(lr=η, momentum=γ, dampening=τ)`` is b ← γ b + (1 − τ) g (b₁ = g₁), θ ← θ − η b. With
τ = 0 the two are one method, with v = −η b at every step (while η is constant). The book writes the
learning rate η throughout (the survey writes α).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from .._validate import check_bool, check_float, check_int
from .functions import F64, _as_float64, _run_arguments, _vector


def _lr(lr) -> float:
    return check_float("lr", lr, minimum=0.0)


def _gamma(gamma) -> float:
    return check_float("gamma", gamma, minimum=0.0, maximum=1.0, max_inclusive=False)


def _lam(lam) -> float:
    return check_float("lam", lam, minimum=0.0)


def _rates(lr: np.ndarray, gamma: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """max |z| over the roots of z² − (1 + γ − ηλ) z + γ, elementwise (arrays broadcast by the caller's
    deliberate choice of shapes). Complex roots have |z| = √γ, their product being γ."""
    b = 1.0 + gamma - lr * lam
    disc = b * b - 4.0 * gamma
    real = (np.abs(b) + np.sqrt(np.maximum(disc, 0.0))) / 2.0
    return np.where(disc < 0.0, np.sqrt(gamma), real)


def momentum_matrix(lr: float, gamma: float, lam: float) -> np.ndarray:
    """The 2×2 matrix M with (θ_{k+1}, v_{k+1}) = M (θ_k, v_k) for the survey's momentum on f(θ) = ½ λ θ²,
    one eigen-direction of a quadratic (Goh 2017):

        v_{k+1} = γ v_k − η λ θ_k,   θ_{k+1} = θ_k + v_{k+1}   ⇒   M = [[1 − ηλ, γ], [−ηλ, γ]].

    Its characteristic polynomial is z² − (1 + γ − ηλ) z + γ: det M = γ."""
    lr, gamma, lam = _lr(lr), _gamma(gamma), _lam(lam)
    return np.array([[1.0 - lr * lam, gamma], [-lr * lam, gamma]], dtype=np.float64)


def momentum_rate(lr: float, gamma: float, lam: float) -> float:
    """The convergence rate of momentum along an eigenvalue λ: the spectral radius max |z| of
    :func:`momentum_matrix`, so that ‖(θ_k, v_k)‖ shrinks like rateᵏ (it diverges when rate > 1).

    With b = 1 + γ − ηλ, the roots are (b ± √(b² − 4γ))/2: when they are complex (b² < 4γ) both
    have modulus √γ, whatever η and λ; otherwise the rate is (|b| + √(b² − 4γ))/2."""
    lr, gamma, lam = _lr(lr), _gamma(gamma), _lam(lam)
    return float(_rates(np.float64(lr), np.float64(gamma), np.float64(lam)))


def momentum_rate_map(lrs, gammas, lams) -> np.ndarray:
    """The convergence rate of momentum on a whole quadratic, the worst rate over its eigenvalues
    ``lams``, for every (γ, η) pair: an array of shape (len(gammas), len(lrs)), row i for gammas[i],
    column j for lrs[j] (``pcolormesh`` with η along the x-axis). Since the rate of one (η, γ) grows as
    λ leaves the complex region, λ_min and λ_max alone give the same map as the whole spectrum.

    Each argument is a 1-D sequence, array or tensor (nothing is broadcast): lrs ≥ 0,
    0 ≤ gammas < 1, lams ≥ 0."""
    a = _vector("lrs", lrs).numpy()
    g = _vector("gammas", gammas).numpy()
    lam = _vector("lams", lams).numpy()
    rules = (("lrs", a, a >= 0, ">= 0"), ("gammas", g, (g >= 0) & (g < 1), "in [0, 1)"),
             ("lams", lam, lam >= 0, ">= 0"))
    for name, v, ok, allowed in rules:
        if not ok.all():
            raise ValueError(f"Invalid {name}: {v[~ok][0]} (every entry must be {allowed})")
    rates = _rates(a[None, :, None], g[:, None, None], lam[None, None, :])  # (gamma, lr, lam)
    return rates.max(axis=2)


class MomentumOptimum(NamedTuple):
    """The best constant step and momentum for a quadratic with eigenvalues in [λ_min, λ_max]."""

    lr: float
    gamma: float
    rate: float


def momentum_optimum(lam_min: float, lam_max: float) -> MomentumOptimum:
    """The η*, γ* that minimize the worst rate over eigenvalues in [λ_min, λ_max], and that rate
    (Polyak 1964; Goh 2017), with κ = λ_max / λ_min:

        η* = (2 / (√λ_min + √λ_max))²,   γ* = ((√κ − 1) / (√κ + 1))²,   rate* = √γ* = (√κ − 1) / (√κ + 1),

    against (κ − 1)/(κ + 1) for the best plain gradient descent: √κ in place of κ. At the optimum
    both extreme eigenvalues sit on the boundary of the complex region (a double root)."""
    lo = check_float("lam_min", lam_min, minimum=0.0, min_inclusive=False)
    hi = check_float("lam_max", lam_max, minimum=0.0, min_inclusive=False)
    if hi < lo:
        raise ValueError(f"lam_max must be >= lam_min, got lam_min = {lo}, lam_max = {hi}")
    root_kappa = math.sqrt(hi / lo)
    rate = (root_kappa - 1.0) / (root_kappa + 1.0)
    return MomentumOptimum(lr=(2.0 / (math.sqrt(lo) + math.sqrt(hi))) ** 2, gamma=rate**2, rate=rate)


def momentum_effective_step(lr: float, gamma: float) -> float:
    """η / (1 − γ): under a constant gradient g the velocity settles where v = γ v − η g, at
    v = −η g / (1 − γ), so momentum γ multiplies the step by 1 / (1 − γ) (10 for γ = 0.9)."""
    return _lr(lr) / (1.0 - _gamma(gamma))


def survey_to_sgd(lr: float, gamma: float, *, nesterov: bool = False) -> dict:
    """The ``SGD`` keywords that run the survey's momentum (η, γ): ``dict(lr=η, momentum=γ,
    dampening=0, nesterov=...)``. The iterates agree step for step, and PyTorch's buffer is b = −v/η."""
    lr, gamma = _lr(lr), _gamma(gamma)
    nesterov = check_bool("nesterov", nesterov)
    if nesterov and gamma == 0:
        raise ValueError("Nesterov momentum needs gamma > 0 (PyTorch's SGD refuses nesterov=True without "
                         "momentum)")
    return {"lr": lr, "momentum": gamma, "dampening": 0.0, "nesterov": nesterov}


def sgd_to_survey(lr: float, momentum: float, dampening: float = 0.0) -> tuple[float, float]:
    """(η, γ) of the survey's momentum for PyTorch's ``SGD(lr, momentum, dampening=0)``: η = lr,
    γ = momentum. A dampening τ ≠ 0 has no exact survey form (PyTorch's first step is undamped, the
    later ones scaled by 1 − τ), so it is refused."""
    lr = check_float("lr", lr, minimum=0.0)
    momentum = check_float("momentum", momentum, minimum=0.0, maximum=1.0, max_inclusive=False)
    dampening = check_float("dampening", dampening)
    if dampening != 0:
        raise ValueError(f"Invalid dampening: {dampening} (only 0 has an exact survey form: PyTorch's first "
                         "step is undamped and the later ones are scaled by 1 - dampening)")
    return lr, momentum


def survey_momentum_run(grad, start, steps: int, *, lr: float, gamma: float) -> torch.Tensor:
    """The iterates θ₀, …, θ_steps ((steps + 1, d), float64) of the survey's momentum,

        v₀ = 0;   v_k = γ v_{k−1} − η ∇f(θ_{k−1});   θ_k = θ_{k−1} + v_k,

    for ``grad`` an :class:`~trainwell.optim.functions.Objective` or a function θ ↦ ∇f(θ). The
    velocities are the differences of consecutive rows. Rows after a non-finite iterate are NaN."""
    f, theta, path = _run_arguments(grad, start, steps)
    lr, gamma = _lr(lr), _gamma(gamma)
    v = torch.zeros_like(theta)
    for k in range(1, path.rows.shape[0]):
        v = gamma * v - lr * f(theta)         # v ← γ v − η ∇J(θ)
        theta = theta + v                        # θ ← θ + v
        if not path.record(k, theta):
            break
    return path.rows


def nesterov_lookahead_run(grad, start, steps: int, *, lr: float, gamma: float) -> torch.Tensor:
    """The iterates of Nesterov's accelerated gradient in the look-ahead form of Sutskever et al. (2013):

        v₀ = 0;   v_k = γ v_{k−1} − η ∇f(θ_{k−1} + γ v_{k−1});   θ_k = θ_{k−1} + v_k:

    first move along the velocity, then correct with the gradient found there. PyTorch's
    ``SGD(nesterov=True)`` keeps the look-ahead point θ′ = θ + γ v instead; :func:`lookahead_to_pytorch`
    maps these iterates onto PyTorch's. Rows after a non-finite iterate are NaN."""
    f, theta, path = _run_arguments(grad, start, steps)
    lr, gamma = _lr(lr), _gamma(gamma)
    v = torch.zeros_like(theta)
    for k in range(1, path.rows.shape[0]):
        v = gamma * v - lr * f(theta + gamma * v)   # gradient at the look-ahead point θ + γ v
        theta = theta + v
        if not path.record(k, theta):
            break
    return path.rows


def lookahead_to_pytorch(thetas, gamma: float) -> torch.Tensor:
    """PyTorch's Nesterov iterates θ′_k = θ_k + γ v_k from the look-ahead form's θ_k, with
    v_k = θ_k − θ_{k−1} and v₀ = 0 (so θ′₀ = θ₀).

    Why they are PyTorch's: with g = ∇f(θ′_k), v_{k+1} = γ v_k − η g, so
    θ′_{k+1} = θ_k + v_{k+1} + γ v_{k+1} = θ′_k − η g + γ v_{k+1}; writing v = −η b gives b_{k+1} = γ b_k + g
    and θ′_{k+1} = θ′_k − η (g + γ b_{k+1}), which is ``SGD(lr=η, momentum=γ, nesterov=True)``.
    ``thetas`` is (n, d), as :func:`nesterov_lookahead_run` returns; NaN rows stay NaN."""
    gamma = _gamma(gamma)
    th = _as_path(thetas)
    v = torch.zeros_like(th)
    v[1:] = th[1:] - th[:-1]
    return th + gamma * v


def pytorch_to_lookahead(iterates, gamma: float) -> torch.Tensor:
    """The inverse of :func:`lookahead_to_pytorch`: from PyTorch's Nesterov iterates θ′_k back to the
    look-ahead form's θ_k, by θ_k = (θ′_k + γ θ_{k−1}) / (1 + γ), θ₀ = θ′₀ (a recursion that damps
    rounding errors by γ / (1 + γ) < 1 per step). ``iterates`` is (n, d), e.g. from
    :func:`~trainwell.optim.functions.trajectory`."""
    gamma = _gamma(gamma)
    phi = _as_path(iterates, name="iterates")
    th = torch.empty_like(phi)
    th[0] = phi[0]
    for k in range(1, phi.shape[0]):
        th[k] = (phi[k] + gamma * th[k - 1]) / (1.0 + gamma)
    return th


def _as_path(value, name: str = "thetas") -> torch.Tensor:
    """An (n, d) float64 path of any width d (NaN rows allowed)."""
    return _as_float64(name, value, 2, finite=False)


class EmaBias(NamedTuple):
    """Result of :func:`ema_bias_simulation`, each a (steps,) float64 tensor for t = 1, …, steps."""

    simulated: torch.Tensor   # the mean of v_t over the runs
    formula: torch.Tensor     # (1 − βᵗ) E[g²]
    stderr: torch.Tensor      # the standard error of the simulated mean


def ema_bias_simulation(beta: float, steps: int, n_runs: int, seed: int, *, mean: float = 0.0,
                        std: float = 1.0) -> EmaBias:
    """Adam's second-moment average v_t = β v_{t−1} + (1 − β) g_t², v₀ = 0, simulated over ``n_runs``
    independent runs of stationary gradients g_t ~ N(mean, std²), against Kingma & Ba's (2015) formula

        E[v_t] = (1 − β) Σ_{i ≤ t} β^{t−i} E[g_i²] = (1 − βᵗ) E[g²],   E[g²] = mean² + std²,

    which is why Adam divides by 1 − βᵗ (with non-stationary gradients a term ζ is added, small when
    β forgets old gradients). The same holds for the first moment with E[g] in place of E[g²]."""
    beta = check_float("beta", beta, minimum=0.0, maximum=1.0, max_inclusive=False)
    steps = check_int("steps", steps, minimum=1)
    n_runs = check_int("n_runs", n_runs, minimum=2)
    seed = check_int("seed", seed, minimum=0)
    mean = check_float("mean", mean)
    std = check_float("std", std, minimum=0.0)
    gen = torch.Generator().manual_seed(seed)
    v = torch.zeros(n_runs, dtype=F64)
    simulated = torch.empty(steps, dtype=F64)
    stderr = torch.empty(steps, dtype=F64)
    for t in range(steps):
        g = mean + std * torch.randn(n_runs, generator=gen, dtype=F64)
        v = beta * v + (1.0 - beta) * g * g
        simulated[t] = v.mean()
        stderr[t] = v.std() / math.sqrt(n_runs)
    t = torch.arange(1, steps + 1, dtype=F64)
    formula = (1.0 - beta**t) * (mean**2 + std**2)
    return EmaBias(simulated, formula, stderr)


def nadam_momentum(beta1: float, t: int, psi: float = 4e-3) -> float:
    """NAdam's momentum at step t as PyTorch defines it: μ_t = β₁ (1 − ½ · 0.96^{tψ}), ψ =
    ``momentum_decay`` (Dozat 2016 writes 0.96^{t/250}, i.e. ψ = 1/250 = 4e-3). It rises from about
    β₁/2 towards β₁; with ψ = 0 it is the constant β₁/2, not β₁."""
    beta1 = check_float("beta1", beta1, minimum=0.0, maximum=1.0, max_inclusive=False)
    t = check_int("t", t, minimum=1)
    psi = check_float("psi", psi, minimum=0.0)
    return beta1 * (1.0 - 0.5 * (0.96 ** (float(t) * psi)))


def nadam_momentum_product(beta1: float, t: int, psi: float = 4e-3) -> float:
    """Π_t = μ₁ μ₂ ⋯ μ_t (1 for t = 0), multiplied in PyTorch's order: NAdam's ``mu_product`` state,
    which corrects the bias of its Nesterov step (1 − Π_t and 1 − Π_t μ_{t+1})."""
    beta1 = check_float("beta1", beta1, minimum=0.0, maximum=1.0, max_inclusive=False)
    t = check_int("t", t, minimum=0)
    psi = check_float("psi", psi, minimum=0.0)
    product = 1.0
    for i in range(1, t + 1):
        product *= nadam_momentum(beta1, i, psi)
    return product


__all__ = ["momentum_matrix", "momentum_rate", "momentum_rate_map", "MomentumOptimum", "momentum_optimum",
           "momentum_effective_step", "survey_to_sgd", "sgd_to_survey", "survey_momentum_run",
           "nesterov_lookahead_run", "lookahead_to_pytorch", "pytorch_to_lookahead", "EmaBias",
           "ema_bias_simulation", "nadam_momentum", "nadam_momentum_product"]
