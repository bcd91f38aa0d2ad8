"""Part I's one currency (trainwell.regularization.spectral): filters measured from fitted weights,
degrees of freedom, noisy copies, and ridge's bias and variance per eigen-direction."""
import numpy as np
import pytest

from trainwell.regularization import quadratic
from trainwell.regularization import spectral as sp

RNG = np.random.default_rng(0)
X = RNG.standard_normal((60, 4)) * np.array([3.0, 1.0, 0.5, 0.2])
W_TRUE = np.array([1.0, -2.0, 0.5, 3.0])
Y = X @ W_TRUE + 0.3 * RNG.standard_normal(60)


def test_the_filter_read_off_fitted_weights_is_each_regularizer_s_own():
    lam, f = sp.filter_of(X, Y, quadratic.ridge(X, Y, 5.0))
    assert np.allclose(f, lam / (lam + 5.0), rtol=1e-10)
    eta = 1.0 / lam[-1]
    lam, f = sp.filter_of(X, Y, quadratic.gradient_descent_linear(X, Y, eta, 30))
    assert np.allclose(f, quadratic.gd_filter(lam, eta, 30), rtol=1e-10)
    lam, f = sp.filter_of(X, Y, quadratic.ridge(X, Y, 0.0))
    assert np.allclose(f, 1.0) and sp.degrees_of_freedom(f) == pytest.approx(4.0)
    assert sp.degrees_of_freedom(np.zeros(4)) == 0.0


def test_ridge_degrees_of_freedom_is_the_sum_of_its_filter():
    lam = np.linalg.eigvalsh(X.T @ X)
    for alpha in (0.0, 0.3, 10.0, 1e4):
        assert sp.ridge_degrees_of_freedom(X, alpha) == pytest.approx((lam / (lam + alpha)).sum(), rel=1e-10)


def test_noisy_copies_approach_ridge_with_n_sigma_squared():
    lam, f = sp.filter_of(X, Y, sp.noisy_copies_fit(X, Y, 0.3, 400, seed=1))
    assert np.allclose(f, lam / (lam + len(Y) * 0.09), atol=0.03)
    assert np.array_equal(sp.noisy_copies_fit(X, Y, 0.3, 5, 2), sp.noisy_copies_fit(X, Y, 0.3, 5, 2))
    assert np.allclose(sp.noisy_copies_fit(X, Y, 0.0, 3, 0), quadratic.ridge(X, Y, 0.0))


def test_the_noisy_copies_map_is_the_fit_and_its_df_approaches_ridge_s():
    M = sp.noisy_copies_map(X, 0.3, 400, seed=1)
    assert np.allclose(M @ Y, sp.noisy_copies_fit(X, Y, 0.3, 400, seed=1))
    ridge_df = sp.ridge_degrees_of_freedom(X, len(Y) * 0.09)
    assert abs(np.trace(X @ M) - ridge_df) < 0.02


def test_simulated_bias_and_variance_match_the_closed_forms():
    alphas = [0.0, 1.0, 30.0]
    draws = 4000
    measured = sp.simulate_ridge_bias_variance(X, W_TRUE, 0.5, alphas, draws, seed=3)
    exact = sp.ridge_bias_variance(measured.eigenvalues, measured.theta, 0.5, alphas)
    standard_error = np.sqrt(exact.variance / draws)
    assert (np.abs(measured.bias - exact.bias) <= 4 * standard_error).all()
    assert np.allclose(measured.variance / exact.variance, 1.0, atol=4 * np.sqrt(2 / draws))
    assert np.allclose(exact.bias[0], 0.0)  # least squares is unbiased


def test_each_direction_s_error_is_smallest_at_sigma_squared_over_theta_squared():
    lam, theta, sigma = np.array([0.5, 2.0, 8.0]), np.array([1.0, 0.3, 2.0]), 0.7
    alphas = np.geomspace(1e-3, 1e3, 20001)
    bv = sp.ridge_bias_variance(lam, theta, sigma, alphas)
    best = alphas[np.argmin(bv.bias**2 + bv.variance, axis=0)]
    assert np.allclose(best, sigma**2 / theta**2, rtol=1e-3)


BAD = [
    ("w-length", lambda: sp.filter_of(X, Y, np.zeros(3)), ValueError,
     "w must have one weight per column of X (4)"),
    ("X-rank", lambda: sp.filter_of(np.ones((5, 2)), np.arange(5.0), np.zeros(2)), ValueError,
     "X must have full column rank"),
    ("factors-2d", lambda: sp.degrees_of_freedom(np.ones((2, 2))), ValueError, "factors"),
    ("alpha-negative", lambda: sp.ridge_degrees_of_freedom(X, -1.0), ValueError, "Invalid alpha: -1.0"),
    ("copies-zero", lambda: sp.noisy_copies_fit(X, Y, 0.1, 0, 0), ValueError, "Invalid copies: 0"),
    ("sigma-nan", lambda: sp.noisy_copies_fit(X, Y, float("nan"), 2, 0), ValueError, "Invalid sigma"),
    ("theta-shape", lambda: sp.ridge_bias_variance([1.0, 2.0], [1.0], 0.1, [0.0]), ValueError,
     "theta must have lam's shape (2,)"),
    ("lam-zero", lambda: sp.ridge_bias_variance([0.0, 2.0], [1.0, 1.0], 0.1, [0.0]), ValueError,
     "Invalid lam: 0"),
    ("alphas-negative", lambda: sp.ridge_bias_variance([1.0], [1.0], 0.1, [-1.0]), ValueError,
     "Invalid alphas: -1"),
    ("draws-one", lambda: sp.simulate_ridge_bias_variance(X, W_TRUE, 0.1, [0.0], 1, 0), ValueError,
     "Invalid draws: 1"),
    ("w_true-length", lambda: sp.simulate_ridge_bias_variance(X, W_TRUE[:2], 0.1, [0.0], 5, 0), ValueError,
     "w_true must have one weight per column of X (4)"),
]


@pytest.mark.parametrize("name, call, error, match", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused_with_a_clear_message(name, call, error, match):
    with pytest.raises(error) as caught:
        call()
    assert match in str(caught.value)
