"""Closed forms of Part I on linear regression and quadratics, in float64, for the verification cells
(section `part-regularization`).

Notation: X (n, d) the inputs, y (n,) the targets, H the Hessian of the unregularized objective
(XᵀX for ½‖Xw − y‖²), w* its minimizer, α the penalty's weight, η a step size, τ a number of steps.
No function here fits an intercept: center X and y first if the model has one.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import check_choice, check_float, check_int
from ._arrays import as_float64, regression_data, square_matrix
from .proximal import _proximal_gradient, _shrink


def ridge(X, y, alpha: float) -> np.ndarray:
    """The minimizer of ½‖Xw − y‖² + (α/2)‖w‖²: w = (XᵀX + αI)⁻¹Xᵀy (no intercept; α = 0 is least
    squares, which needs XᵀX invertible). Seen through the data, L2 adds α to every input's sum of
    squares (XᵀX + αI), as d fake examples would (Goodfellow et al. 2016, §7.1.1); it shrinks every
    eigen-component and the norm ‖w‖, but a single weight of correlated features can grow or change
    sign."""
    X, y = regression_data(X, y)
    alpha = check_float("alpha", alpha, minimum=0.0)
    A = X.T @ X + alpha * np.eye(X.shape[1])
    if alpha == 0 and np.linalg.matrix_rank(A) < X.shape[1]:
        raise ValueError("alpha = 0 needs X of full column rank (XᵀX is singular: least squares has many "
                         "solutions)")
    return np.linalg.solve(A, X.T @ y)


class Shrinkage(NamedTuple):
    """What :func:`eigen_shrinkage` returns: the eigenvalues λ (ascending) and eigenvectors Q (columns)
    of H = XᵀX, and the unregularized and ridge optima in that basis, Qᵀw* and Qᵀw̃."""

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    ols: np.ndarray
    ridge: np.ndarray


def eigen_shrinkage(X, y, alpha: float) -> Shrinkage:
    """Both optima along the Hessian's eigenvectors, so that a chapter can check that L2 scales the
    unregularized optimum's i-th coordinate by λᵢ/(λᵢ + α): (Qᵀw̃)ᵢ = λᵢ/(λᵢ + α)·(Qᵀw*)ᵢ, with
    H = XᵀX = Q diag(λ) Qᵀ, w* = H⁻¹Xᵀy and w̃ = :func:`ridge` (Goodfellow et al. 2016, §7.1.1).
    Needs X of full column rank (a unique w*)."""
    X, y = regression_data(X, y)
    alpha = check_float("alpha", alpha, minimum=0.0)
    eigenvalues, Q = np.linalg.eigh(X.T @ X)
    if eigenvalues[0] <= 1e-12 * max(eigenvalues[-1], 1e-300):
        raise ValueError("X must have full column rank: XᵀX is singular, so the unregularized optimum is not "
                         "unique")
    w_star = ridge(X, y, 0.0)
    return Shrinkage(eigenvalues, Q, Q.T @ w_star, Q.T @ ridge(X, y, alpha))


def lasso_diagonal(w_star, H_diag, alpha: float) -> np.ndarray:
    """The minimizer of ½(w − w*)ᵀH(w − w*) + α‖w‖₁ for a diagonal H with entries H_ii > 0: every
    coordinate alone, wᵢ = sign(wᵢ*)·max(|wᵢ*| − α/H_ii, 0), a soft threshold that sets the weights
    with |wᵢ*| ≤ α/H_ii to exactly 0 (Goodfellow et al. 2016, §7.1.2)."""
    w_star = as_float64("w_star", w_star, ndim=1)
    H_diag = as_float64("H_diag", H_diag, ndim=1)
    if H_diag.shape != w_star.shape:
        raise ValueError(f"H_diag must have w_star's shape {w_star.shape}, got {H_diag.shape} (nothing is "
                         "broadcast)")
    if (H_diag <= 0).any():
        raise ValueError(f"Invalid H_diag: {H_diag[H_diag <= 0][0]:g} (every H_ii must be > 0)")
    alpha = check_float("alpha", alpha, minimum=0.0)
    return _shrink(w_star, alpha / H_diag)


def _eigenvalues(name: str, lam) -> np.ndarray:
    lam = as_float64(name, lam, ndim=np.ndim(lam))
    if (lam < 0).any():
        raise ValueError(f"Invalid {name}: {lam[lam < 0].flat[0]:g} (eigenvalues of XᵀX must be >= 0)")
    return lam


def gd_filter(lam, eta: float, tau: int):
    """1 − (1 − ηλ)^τ: the fraction of the optimum's component along an eigenvector with eigenvalue
    λ that τ gradient steps of size η from 0 reach on a quadratic. Early stopping after τ steps acts
    like L2 with α ≈ 1/(τη), whose fraction is :func:`ridge_filter` (Goodfellow et al. 2016, §7.8).
    ``lam`` is a number or an array of them (the result has its shape)."""
    lam = _eigenvalues("lam", lam)
    eta = check_float("eta", eta, minimum=0.0, min_inclusive=False)
    tau = check_int("tau", tau, minimum=0)
    out = 1.0 - (1.0 - eta * lam) ** tau
    return float(out) if out.ndim == 0 else out


def ridge_filter(lam, alpha: float):
    """λ/(λ + α): the fraction of the optimum's component along an eigenvector with eigenvalue λ that
    L2 with weight α keeps (see :func:`eigen_shrinkage` and :func:`gd_filter`). ``lam`` is a number
    or an array; with α = 0 every λ must be > 0."""
    lam = _eigenvalues("lam", lam)
    alpha = check_float("alpha", alpha, minimum=0.0)
    if alpha == 0 and (lam == 0).any():
        raise ValueError("ridge_filter: lam holds 0 and alpha is 0, so λ/(λ + α) is 0/0")
    out = lam / (lam + alpha)
    return float(out) if out.ndim == 0 else out


def gradient_descent_linear(X, y, eta: float, tau: int) -> np.ndarray:
    """w after τ full-batch gradient steps of size η on ½‖Xw − y‖² from w = 0:
    w ← w − ηXᵀ(Xw − y). With H = XᵀX = Q diag(λ) Qᵀ invertible and w* its minimizer,
    w_τ = Q diag(1 − (1 − ηλ)^τ) Qᵀ w* exactly (:func:`gd_filter`; Goodfellow et al. 2016, §7.8)."""
    X, y = regression_data(X, y)
    eta = check_float("eta", eta, minimum=0.0, min_inclusive=False)
    tau = check_int("tau", tau, minimum=0)
    w = np.zeros(X.shape[1])
    for _ in range(tau):
        w = w - eta * (X.T @ (X @ w - y))
    return w


def gradient_descent_path(X, y, eta: float, taus) -> np.ndarray:
    """The iterates of :func:`gradient_descent_linear` after each number of steps in ``taus``
    (increasing), from one run: row k is w after taus[k] steps."""
    X, y = regression_data(X, y)
    eta = check_float("eta", eta, minimum=0.0, min_inclusive=False)
    taus = np.asarray(taus)
    if taus.ndim != 1 or not taus.size or taus.dtype.kind not in "iu" or (taus < 0).any() \
            or (np.diff(taus) <= 0).any():
        raise ValueError(f"taus must be increasing step counts >= 0, got {taus!r}")
    w, done, path = np.zeros(X.shape[1]), 0, []
    for tau in taus:
        for _ in range(int(tau) - done):
            w = w - eta * (X.T @ (X @ w - y))
        done = int(tau)
        path.append(w.copy())
    return np.array(path)


def noisy_input_loss(X, y, w, sigma: float) -> float:
    """E‖y − (X + E)w‖²/n over input noise E with independent N(0, σ²) entries, in closed form:
    ‖y − Xw‖²/n + σ²‖w‖². Training on noisy inputs is, in expectation, the mean squared error plus
    σ²‖w‖²; multiplied by n/2, the objective ½‖y − Xw‖² + (α/2)‖w‖² with α = nσ², whose minimizer is
    :func:`ridge` with that α (Tikhonov regularization, Bishop 1995)."""
    X, y = regression_data(X, y)
    w = as_float64("w", w, ndim=1)
    if len(w) != X.shape[1]:
        raise ValueError(f"w must have one weight per column of X ({X.shape[1]}), got {len(w)}")
    sigma = check_float("sigma", sigma, minimum=0.0)
    return float(np.mean((y - X @ w) ** 2) + sigma**2 * (w @ w))


def _quadratic_problem(H, w_star, radius):
    w_star = as_float64("w_star", w_star, ndim=1)
    H = square_matrix("H", H, len(w_star), positive_definite=True)
    radius = check_float("radius", radius, minimum=0.0, min_inclusive=False)
    return H, w_star, radius


def _project_l1(v: np.ndarray, radius: float) -> np.ndarray:
    """The Euclidean projection onto {‖w‖₁ ≤ radius}: a soft threshold by the θ that makes the
    result's L1 norm equal to the radius (Duchi, Shalev-Shwartz, Singer & Chandra 2008)."""
    if np.abs(v).sum() <= radius:
        return v
    u = np.sort(np.abs(v))[::-1]
    cumulative = np.cumsum(u)
    k = np.arange(1, len(u) + 1)
    rho = int(np.nonzero(u - (cumulative - radius) / k > 0)[0][-1])
    theta = (cumulative[rho] - radius) / (rho + 1)
    return _shrink(v, theta)


def _project_l2(v: np.ndarray, radius: float) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v if norm <= radius else v * (radius / norm)


def constrained_optimum(H, w_star, radius: float, norm: int) -> np.ndarray:
    """The minimizer of ½(w − w*)ᵀH(w − w*) subject to ‖w‖_p ≤ ``radius``, for p = ``norm`` ∈ {1, 2}
    and H symmetric positive definite (Goodfellow et al. 2016, §7.2), by accelerated projected
    gradient descent (step 1/λ_max(H); projection onto the ball: rescaling for p = 2, the sorting
    algorithm of Duchi et al. 2008 for p = 1) to about 1e-12 in small dimensions. It uses no
    penalty: the KKT view says that the result equals the penalized optimum (H + αI)⁻¹Hw* for the
    α of :func:`penalty_for_radius` when p = 2, which a chapter can then check."""
    H, w_star, radius = _quadratic_problem(H, w_star, radius)
    norm = check_choice("norm", norm, (1, 2))
    project = _project_l1 if norm == 1 else _project_l2
    w, _, converged = _proximal_gradient(
        lambda w: H @ (w - w_star), lambda v: project(v, radius), project(w_star, radius),
        1.0 / float(np.linalg.eigvalsh(H)[-1]), max_iter=1_000_000, tol=1e-15, accelerated=True)
    if not converged:
        raise RuntimeError("constrained_optimum did not converge; H may be too badly conditioned")
    return w


def penalty_for_radius(H, w_star, radius: float) -> float:
    """The α ≥ 0 whose penalized optimum w(α) = argmin ½(w − w*)ᵀH(w − w*) + (α/2)‖w‖² = (H + αI)⁻¹Hw*
    has norm ‖w(α)‖₂ = ``radius``: the KKT multiplier of the constraint ‖w‖₂ ≤ radius (Goodfellow et al.
    2016, §7.2). 0 when ‖w*‖₂ ≤ radius (the constraint is inactive). ‖w(α)‖ falls as α grows, so α is
    found by bisection, to float64 precision."""
    H, w_star, radius = _quadratic_problem(H, w_star, radius)
    if np.linalg.norm(w_star) <= radius:
        return 0.0
    eye, target = np.eye(len(w_star)), H @ w_star

    def too_long(alpha: float) -> bool:
        return bool(np.linalg.norm(np.linalg.solve(H + alpha * eye, target)) > radius)

    low, high = 0.0, 1.0
    while too_long(high):
        low, high = high, 2.0 * high
    for _ in range(200):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        low, high = (middle, high) if too_long(middle) else (low, middle)
    return (low + high) / 2
