"""The closed forms of Part I against independent routes: scikit-learn, first-order conditions, brute
force and simulation."""
import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

from trainwell.regularization import (
    constrained_optimum,
    eigen_shrinkage,
    gd_filter,
    gradient_descent_linear,
    ista,
    lasso_diagonal,
    noisy_input_loss,
    penalty_for_radius,
    ridge,
    ridge_filter,
)


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5)) * np.array([3.0, 1.0, 0.5, 0.2, 2.0])
    y = X @ rng.normal(size=5) + 0.3 * rng.normal(size=60)
    return X, y


def test_ridge_equals_sklearn_and_zeroes_the_gradient(problem):
    X, y = problem
    for alpha in (0.0, 0.1, 10.0):
        w = ridge(X, y, alpha)
        assert np.abs(X.T @ (X @ w - y) + alpha * w).max() <= 1e-10  # ∇(½‖Xw − y‖² + α/2‖w‖²) = 0
        if alpha:
            theirs = Ridge(alpha=alpha, fit_intercept=False, solver="cholesky").fit(X, y).coef_
            np.testing.assert_allclose(w, theirs, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ridge(torch.tensor(X), list(y), 1.0), ridge(X, y, 1.0), atol=0)  # any arrays


def test_eigen_shrinkage_scales_each_eigen_coordinate(problem):
    for X, y in (problem, load_diabetes(return_X_y=True)):
        for alpha in (0.01, 1.0, 30.0):
            s = eigen_shrinkage(X, y, alpha)
            np.testing.assert_allclose(s.ridge, s.eigenvalues / (s.eigenvalues + alpha) * s.ols,
                                       rtol=1e-8, atol=1e-10)
            least_squares = np.linalg.lstsq(X, y, rcond=None)[0]
            np.testing.assert_allclose(s.eigenvectors @ s.ols, least_squares, atol=1e-8)
            np.testing.assert_allclose(s.eigenvectors.T @ s.eigenvectors, np.eye(X.shape[1]), atol=1e-12)
            assert (np.diff(s.eigenvalues) >= 0).all()


def test_ridge_shrinks_most_the_weight_whose_feature_tells_least_about_y():
    """Two independent features of equal variance: the one with the smaller covariance with y keeps the
    smaller fraction of its least-squares weight, as (XᵀX + αI)⁻¹ says for a diagonal XᵀX."""
    n = 1000
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(n, 2)))
    X = q * np.sqrt(n)  # XᵀX = n·I exactly
    y = X @ np.array([2.0, 0.1]) + rng.normal(size=n)
    kept = ridge(X, y, 200.0) / ridge(X, y, 0.0)
    np.testing.assert_allclose(kept, n / (n + 200.0), rtol=1e-12)  # diagonal: every weight by λ/(λ + α)
    unequal = X * np.array([1.0, 0.3])  # now the second feature has the smaller variance
    kept = ridge(unequal, y, 200.0) / ridge(unequal, y, 0.0)
    np.testing.assert_allclose(kept, [n / (n + 200.0), 0.09 * n / (0.09 * n + 200.0)], rtol=1e-12)
    assert kept[1] < kept[0]


def test_lasso_diagonal_equals_ista_on_a_problem_with_diagonal_hessian():
    n, d = 400, 6
    rng = np.random.default_rng(2)
    q, _ = np.linalg.qr(rng.normal(size=(n, d)))
    scales = np.array([2.0, 1.5, 1.0, 0.7, 0.4, 0.2])
    X = q * scales * np.sqrt(n)  # XᵀX/n = diag(scales²): the Hessian of ista's objective
    w_star = np.array([1.0, -0.8, 0.3, -0.2, 0.05, 1.2])
    y = X @ w_star  # so w* is the unregularized optimum exactly
    for alpha in (0.01, 0.1, 0.3):
        closed = lasso_diagonal(w_star, scales**2, alpha)
        solved = ista(X, y, alpha, fit_intercept=False, tol=1e-14).coef
        np.testing.assert_allclose(closed, solved, atol=1e-9)
        zeros = np.abs(w_star) <= alpha / scales**2
        assert (closed[zeros] == 0).all() and (closed[~zeros] != 0).all()


def test_gradient_descent_is_a_spectral_filter_and_early_stopping_acts_like_l2(problem):
    X, y = problem
    s = eigen_shrinkage(X, y, 1.0)
    eta = 1.0 / s.eigenvalues[-1]
    for tau in (0, 1, 7, 50):
        w = gradient_descent_linear(X, y, eta, tau)
        np.testing.assert_allclose(w, s.eigenvectors @ (gd_filter(s.eigenvalues, eta, tau) * s.ols),
                                   rtol=1e-10, atol=1e-12)
    # α = 1/(τη): filters agree where τηλ ≪ 1 (both ≈ τηλ) and where τηλ ≫ 1 (both ≈ 1)
    eta, tau = 1e-3, 1000
    small = np.array([1e-3, 1e-2, 1e-1])
    large = np.array([30.0, 100.0])
    alpha = 1 / (tau * eta)
    x = tau * eta * small
    assert (np.abs(gd_filter(small, eta, tau) / ridge_filter(small, alpha) - 1) <= x).all()
    assert (np.abs(gd_filter(large, eta, tau) - ridge_filter(large, alpha)) <= 1 / (tau * eta * large)).all()
    assert gd_filter(2.0, 0.1, 3) == pytest.approx(1 - 0.8**3) and ridge_filter(3.0, 1.0) == 0.75


def test_noisy_input_loss_is_the_expectation_of_the_simulated_loss(problem):
    X, y = problem
    w = ridge(X, y, 1.0)
    sigma, draws = 0.4, 4000
    rng = np.random.default_rng(3)
    losses = np.array([np.mean((y - (X + sigma * rng.normal(size=X.shape)) @ w) ** 2) for _ in range(draws)])
    exact = noisy_input_loss(X, y, w, sigma)
    assert abs(losses.mean() - exact) <= 5 * losses.std() / np.sqrt(draws)
    assert exact == pytest.approx(np.mean((y - X @ w) ** 2) + sigma**2 * w @ w, rel=1e-14)
    assert noisy_input_loss(X, y, w, 0.0) == pytest.approx(np.mean((y - X @ w) ** 2), rel=1e-15)


H2 = np.array([[2.0, 0.6], [0.6, 0.5]])
W_STAR = np.array([1.5, 1.0])


@pytest.mark.parametrize("radius", [0.3, 1.0, 1.7])
def test_the_l2_constraint_is_the_penalty_with_its_kkt_multiplier(radius):
    alpha = penalty_for_radius(H2, W_STAR, radius)
    penalized = np.linalg.solve(H2 + alpha * np.eye(2), H2 @ W_STAR)
    constrained = constrained_optimum(H2, W_STAR, radius, 2)
    assert alpha > 0 and abs(np.linalg.norm(penalized) - radius) <= 1e-12
    np.testing.assert_allclose(constrained, penalized, atol=1e-10)
    # no point of the ball's boundary is better (brute force over 100,000 directions)
    angles = np.linspace(0, 2 * np.pi, 100_000)
    ring = radius * np.stack([np.cos(angles), np.sin(angles)], 1)
    value = lambda w: 0.5 * np.einsum("...i,ij,...j->...", w - W_STAR, H2, w - W_STAR)
    assert value(constrained) <= value(ring).min() + 1e-12


def test_larger_balls_need_smaller_penalties_and_an_inactive_one_none():
    alphas = [penalty_for_radius(H2, W_STAR, r) for r in (0.2, 0.5, 1.0, 1.7)]
    assert all(a > b for a, b in zip(alphas, alphas[1:], strict=False))
    assert penalty_for_radius(H2, W_STAR, 2.0) == 0.0  # ‖w*‖ ≈ 1.80 is inside
    np.testing.assert_array_equal(constrained_optimum(H2, W_STAR, 2.0, 2), W_STAR)
    np.testing.assert_array_equal(constrained_optimum(H2, W_STAR, 3.0, 1), W_STAR)


def test_the_l1_constraint_is_the_soft_threshold_with_its_multiplier():
    """Diagonal H: the L1-ball optimum equals lasso_diagonal for the α its active coordinates imply."""
    H_diag = np.array([2.0, 0.5, 1.0, 4.0])
    w_star = np.array([1.0, -0.2, 0.6, -0.3])
    for radius in (0.5, 1.2):
        w = constrained_optimum(np.diag(H_diag), w_star, radius, 1)
        assert abs(np.abs(w).sum() - radius) <= 1e-10
        active = np.flatnonzero(np.abs(w) > 1e-12)
        alpha = H_diag[active[0]] * (w_star[active[0]] - w[active[0]]) * np.sign(w[active[0]])
        np.testing.assert_allclose(lasso_diagonal(w_star, H_diag, alpha), w, atol=1e-9)
    w = constrained_optimum(H2, W_STAR, 1.0, 1)  # non-diagonal: a corner of the diamond
    np.testing.assert_allclose(w, [1.0, 0.0], atol=1e-10)
