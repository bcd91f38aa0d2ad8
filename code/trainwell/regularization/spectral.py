"""Part I's linear regularizers in one currency (issue 29): the fraction of the least-squares fit each
keeps along every eigen-direction of the data (its *spectral filter*), the effective degrees of
freedom that filter spends, and the bias and variance of the ridge estimate along each direction.

Notation: X (n, d) the inputs of full column rank, XᵀX = V diag(λ) Vᵀ, w* = (XᵀX)⁻¹Xᵀy least
squares. A fitted w keeps the fraction fᵢ = (Vᵀw)ᵢ / (Vᵀw*)ᵢ of the i-th component of w*; for a
regularizer that acts along the eigen-directions (ridge, gradient descent from 0, the L2 ball, input
noise in expectation) the fitted values are ŷ = Σᵢ fᵢ uᵢuᵢᵀy, so the effective degrees of freedom
tr(∂ŷ/∂y) are Σᵢ fᵢ, between 0 and d (Hastie, Tibshirani & Friedman 2009, §3.4.1 and §7.6).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import check_float, check_int
from ._arrays import as_float64, regression_data


def _eigen(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lam, V = np.linalg.eigh(X.T @ X)
    if lam[0] <= 1e-12 * max(lam[-1], 1e-300):
        raise ValueError("X must have full column rank: XᵀX is singular, so least squares is not unique")
    return lam, V


def filter_of(X, y, w) -> tuple[np.ndarray, np.ndarray]:
    """``(λ, f)``: the eigenvalues of XᵀX (ascending) and the fraction fᵢ = (Vᵀw)ᵢ / (Vᵀw*)ᵢ of the
    least-squares solution's component along each eigenvector that the fitted ``w`` keeps. ``w`` may
    come from any algorithm; nothing about it is assumed."""
    X, y = regression_data(X, y)
    w = as_float64("w", w, ndim=1)
    if len(w) != X.shape[1]:
        raise ValueError(f"w must have one weight per column of X ({X.shape[1]}), got {len(w)}")
    lam, V = _eigen(X)
    ols = V.T @ np.linalg.solve(X.T @ X, X.T @ y)
    if (np.abs(ols) < 1e-12 * np.abs(ols).max()).any():
        raise ValueError("filter_of: least squares has no component along some eigenvector, so the "
                         "fraction kept there is 0/0")
    return lam, (V.T @ w) / ols


def degrees_of_freedom(factors) -> float:
    """Σᵢ fᵢ: the effective degrees of freedom of a fit that keeps the fractions ``factors`` of the
    eigen-components (d for least squares, 0 for w = 0)."""
    factors = as_float64("factors", factors, ndim=1)
    return float(factors.sum())


def ridge_degrees_of_freedom(X, alpha: float) -> float:
    """tr(X(XᵀX + αI)⁻¹Xᵀ), the trace of ridge's hat matrix, computed as a trace (not from the
    eigenvalues), so that a chapter can check it against Σᵢ λᵢ/(λᵢ + α)."""
    X = as_float64("X", X, ndim=2)
    alpha = check_float("alpha", alpha, minimum=0.0)
    hat = X @ np.linalg.solve(X.T @ X + alpha * np.eye(X.shape[1]), X.T)
    return float(np.trace(hat))


def noisy_copies_map(X, sigma: float, copies: int, seed: int) -> np.ndarray:
    """The (d, n) matrix M with which least squares on ``copies`` noisy copies of the data fits the
    weights, ŵ = My: each copy's inputs carry fresh independent N(0, σ²) noise, the targets are
    unchanged. With the noise drawn (fixed ``seed``) the fit is linear in y, so its effective degrees
    of freedom are tr(XM). Minimizing the *expected* loss over the noise instead gives ridge with
    α = nσ² (:func:`trainwell.regularization.quadratic.noisy_input_loss`); a finite sample only
    approaches it, and its fit is not a filter along XᵀX's eigenvectors (X̃ᵀX̃ is not diagonal there)."""
    X = as_float64("X", X, ndim=2)
    sigma = check_float("sigma", sigma, minimum=0.0)
    copies = check_int("copies", copies, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    noisy = [X + sigma * rng.standard_normal(X.shape) for _ in range(copies)]
    gram = sum(N.T @ N for N in noisy)
    return np.linalg.solve(gram, sum(N.T for N in noisy))


def noisy_copies_fit(X, y, sigma: float, copies: int, seed: int) -> np.ndarray:
    """The weights of least squares on ``copies`` noisy copies of the data: :func:`noisy_copies_map`
    applied to ``y``."""
    X, y = regression_data(X, y)
    return noisy_copies_map(X, sigma, copies, seed) @ y


def regularizer_paths(X, y, *, alphas, eta: float, taus, radii, sigmas, copies: int, seed: int) -> dict:
    """The paths of Part I's four linear regularizers, each along its own knob.

    Each regularizer is fitted by its own algorithm:
    ``{name: (knob values, weights (len(knob), d))}`` for ridge (α, solved), gradient descent from 0
    (steps τ at rate η), the L2 ball (radius k, projected gradient, no penalty) and input noise (σ, least
    squares on ``copies`` noisy copies of the data). :func:`filter_of` then reads each fit's filter."""
    from . import quadratic

    X, y = regression_data(X, y)
    H, w_star = X.T @ X, quadratic.ridge(X, y, 0.0)
    alphas, radii, sigmas = (as_float64(n, v, ndim=1) for n, v in
                             (("alphas", alphas), ("radii", radii), ("sigmas", sigmas)))
    taus = np.asarray(taus)
    return {
        "ridge": (alphas, np.array([quadratic.ridge(X, y, a) for a in alphas])),
        "gradient descent": (taus, quadratic.gradient_descent_path(X, y, eta, taus)),
        "L2 ball": (radii, np.array([quadratic.constrained_optimum(H, w_star, r, 2) for r in radii])),
        "input noise": (sigmas, np.array([noisy_copies_fit(X, y, s, copies, seed) for s in sigmas])),
    }


class BiasVariance(NamedTuple):
    """Per eigen-direction (columns, in the order of ``eigenvalues``) and per penalty (rows, in the
    order of ``alphas``): the bias (mean minus truth, signed) and the variance of the ridge estimate's
    component, and the true component θᵢ = (Vᵀw_true)ᵢ it estimates. The squared bias is ``bias**2``."""

    eigenvalues: np.ndarray
    theta: np.ndarray
    bias: np.ndarray
    variance: np.ndarray


def ridge_bias_variance(lam, theta, sigma: float, alphas) -> BiasVariance:
    """The closed forms: along an eigenvector with eigenvalue λ and true component θ, ridge with α
    estimates λ/(λ + α)·(θ + noise) with noise of variance σ²/λ, so its bias is −α/(λ + α)·θ (squared:
    (α/(λ + α))²θ²) and its variance σ²λ/(λ + α)². Their sum is smallest at α = σ²/θ², whatever λ."""
    lam = as_float64("lam", lam, ndim=1)
    theta = as_float64("theta", theta, ndim=1)
    if lam.shape != theta.shape:
        raise ValueError(f"theta must have lam's shape {lam.shape}, got {theta.shape} (nothing is broadcast)")
    if (lam <= 0).any():
        raise ValueError(f"Invalid lam: {lam[lam <= 0][0]:g} (every eigenvalue must be > 0)")
    sigma = check_float("sigma", sigma, minimum=0.0)
    alphas = as_float64("alphas", alphas, ndim=1)
    if (alphas < 0).any():
        raise ValueError(f"Invalid alphas: {alphas[alphas < 0][0]:g} (every α must be >= 0)")
    a = alphas[:, None]
    return BiasVariance(lam, theta, -a / (lam + a) * theta, sigma**2 * lam / (lam + a) ** 2)


def simulate_ridge_bias_variance(X, w_true, sigma: float, alphas, draws: int, seed: int) -> BiasVariance:
    """The same, measured: ``draws`` target vectors y = Xw_true + N(0, σ²I), ridge fitted to each at
    every α of ``alphas``, and the mean and variance over the draws of the fit's component along each
    eigenvector of XᵀX (the variance with divisor ``draws``; the bias against Vᵀw_true). The mean of
    ``draws`` fits has standard error √(variance/draws): compare biases within a few of those."""
    X = as_float64("X", X, ndim=2)
    w_true = as_float64("w_true", w_true, ndim=1)
    if len(w_true) != X.shape[1]:
        raise ValueError(f"w_true must have one weight per column of X ({X.shape[1]}), got {len(w_true)}")
    sigma = check_float("sigma", sigma, minimum=0.0)
    alphas = as_float64("alphas", alphas, ndim=1)
    if (alphas < 0).any():
        raise ValueError(f"Invalid alphas: {alphas[alphas < 0][0]:g} (every α must be >= 0)")
    draws = check_int("draws", draws, minimum=2)
    seed = check_int("seed", seed, minimum=0)
    lam, V = _eigen(X)
    Y = X @ w_true + sigma * np.random.default_rng(seed).standard_normal((draws, X.shape[0]))
    theta = V.T @ w_true
    bias, variance = [], []
    for alpha in alphas:
        fits = np.linalg.solve(X.T @ X + alpha * np.eye(X.shape[1]), X.T @ Y.T).T @ V  # (draws, d)
        bias.append(fits.mean(axis=0) - theta)
        variance.append(fits.var(axis=0))
    return BiasVariance(lam, theta, np.array(bias), np.array(variance))
