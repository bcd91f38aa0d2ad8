"""The soft threshold, ISTA against scikit-learn, the three regularization paths, and the proximal step
as a training callback (exact zeros; fit_many equals separate fits)."""
import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes
from sklearn.linear_model import ElasticNet as SkElasticNet
from sklearn.linear_model import Lasso as SkLasso
from torch import nn

import trainwell as tw
from trainwell.regularization import ProximalL1, ista, regularization_path, soft_threshold

from ._runs import assert_members_equal_separate_fits, small_digits

ALPHAS = (0.01, 0.1, 0.5, 1.0)


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


def piecewise(w, t):
    """The soft threshold written case by case: w − t above t, w + t below −t, 0 in between."""
    return np.where(w > t, w - t, np.where(w < -t, w + t, 0.0))


def test_soft_threshold_is_its_closed_form_for_arrays_tensors_and_numbers():
    w = np.linspace(-3, 3, 601)
    np.testing.assert_array_equal(soft_threshold(w, 0.7), piecewise(w, 0.7))
    out = soft_threshold(torch.tensor(w, dtype=torch.float32), 0.7)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), piecewise(w.astype(np.float32), np.float32(0.7)), atol=1e-6)
    t = np.abs(np.sin(w))  # one threshold per element, same shape
    np.testing.assert_array_equal(soft_threshold(w, t), piecewise(w, t))
    assert soft_threshold(0.5, 0.2) == pytest.approx(0.3) and soft_threshold(-0.1, 0.2) == 0.0
    np.testing.assert_array_equal(soft_threshold(w, 0.0), w)  # t = 0 changes nothing


def test_soft_threshold_minimizes_the_proximal_objective():
    """prox_t(w) = argmin_v ½(v − w)² + t|v|: compared with a brute-force search over a fine grid."""
    grid = np.linspace(-4, 4, 800_001)
    for w, t in [(2.0, 0.5), (-1.3, 0.4), (0.3, 0.5), (-0.2, 0.2), (0.0, 1.0)]:
        brute = grid[np.argmin(0.5 * (grid - w) ** 2 + t * np.abs(grid))]
        assert abs(soft_threshold(w, t) - brute) <= 1e-5


def _sklearn(X, y, alpha, l1_ratio, fit_intercept=True):
    kwargs = dict(alpha=alpha, fit_intercept=fit_intercept, tol=1e-12, max_iter=1_000_000)
    model = SkLasso(**kwargs) if l1_ratio == 1.0 else SkElasticNet(l1_ratio=l1_ratio, **kwargs)
    return model.fit(X, y)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5, 0.1])
@pytest.mark.parametrize("shift", [0.0, 3.0], ids=["centred", "shifted"])
def test_ista_equals_sklearn_lasso_and_elastic_net_on_diabetes(diabetes, l1_ratio, shift):
    X, y = diabetes
    X = X + shift  # diabetes comes centred; shifted columns make the intercept a real test
    for alpha in ALPHAS:
        ours = ista(X, y, alpha, l1_ratio, tol=1e-14)
        theirs = _sklearn(X, y, alpha, l1_ratio)
        assert np.abs(ours.coef - theirs.coef_).max() <= 1e-6, (alpha, np.abs(ours.coef - theirs.coef_).max())
        assert abs(ours.intercept - theirs.intercept_) <= 1e-6
        assert 0 < ours.n_iter < 100_000
    # the sparsity is the lasso's: both have the same exact zeros at a large alpha
    big = ista(X, y, 1.0, 1.0)
    assert (big.coef == 0).sum() == (_sklearn(X, y, 1.0, 1.0).coef_ == 0).sum() >= 5


def test_ista_without_intercept_and_without_acceleration(diabetes):
    X, y = diabetes
    for alpha in (0.1, 1.0):
        plain = ista(X, y, alpha, 0.5, fit_intercept=False, accelerated=False, tol=1e-14)
        fast = ista(X, y, alpha, 0.5, fit_intercept=False, tol=1e-14)
        theirs = _sklearn(X, y, alpha, 0.5, fit_intercept=False)
        assert plain.intercept == 0.0
        assert np.abs(plain.coef - theirs.coef_).max() <= 1e-6
        assert np.abs(fast.coef - plain.coef).max() <= 1e-6


def test_ista_satisfies_the_lasso_optimality_conditions(diabetes):
    """0 ∈ ∇f(w) + α∂‖w‖₁: ∇ᵢf = −α·sign(wᵢ) where wᵢ ≠ 0 and |∇ᵢf| ≤ α where wᵢ = 0 (no sklearn)."""
    X, y = diabetes
    Xc, yc = X - X.mean(0), y - y.mean()
    for alpha in ALPHAS:
        w = ista(X, y, alpha, tol=1e-14).coef
        grad = Xc.T @ (Xc @ w - yc) / len(y)
        active = w != 0
        np.testing.assert_allclose(grad[active], -alpha * np.sign(w[active]), atol=1e-9)
        assert (np.abs(grad[~active]) <= alpha + 1e-9).all()


def test_ista_warns_when_it_runs_out_of_steps(diabetes):
    X, y = diabetes
    with pytest.warns(RuntimeWarning, match="not converged"):
        ista(X, y, 0.01, max_iter=5)


def test_regularization_path_proximal_gives_zeros_the_others_none(diabetes):
    X, y = diabetes
    alphas = [0.1, 0.5, 1.0]
    paths = {m: regularization_path(X, y, alphas, method=m, steps=3000)
             for m in ("proximal", "subgradient", "smooth")}
    zeros = {m: (p == 0).sum(1) for m, p in paths.items()}
    assert (zeros["proximal"] >= 3).all() and (np.diff(zeros["proximal"]) >= 0).all()  # more α, more zeros
    assert zeros["subgradient"].sum() == 0 and zeros["smooth"].sum() == 0
    for i, alpha in enumerate(alphas):  # the proximal path has converged to the lasso solution
        np.testing.assert_allclose(paths["proximal"][i], ista(X, y, alpha).coef, atol=1e-6)
    # the subgradient path hovers near it: its weights that "should" be 0 oscillate at the scale of α/L
    step = 1 / np.linalg.eigvalsh(np.cov(X.T, bias=True))[-1]
    assert np.abs(paths["subgradient"] - paths["proximal"]).max() <= 2 * max(alphas) * step


def test_regularization_path_smooth_approaches_the_lasso_without_zeros(diabetes):
    """On standardized inputs, with its own stable step 1/(L + α/√ε), the smooth path comes within a
    few √ε of the lasso (its optimum differs from the lasso's by about that much) and has no zero."""
    X, y = diabetes
    X = (X - X.mean(0)) / X.std(0)
    alphas, eps = [0.1, 1.0, 10.0], 1e-3
    smooth = regularization_path(X, y, alphas, method="smooth", steps=20000, eps=eps)
    lasso = np.array([ista(X, y, a).coef for a in alphas])
    assert (smooth != 0).all() and (lasso == 0).sum() >= 3
    assert np.abs(smooth - lasso).max() <= 10 * np.sqrt(eps)


def linear_digits():
    torch.manual_seed(0)
    return nn.Linear(64, 10).double()


def test_proximal_l1_is_one_proximal_sgd_step():
    """One full-batch step: w₁ = soft_threshold(w₀ − η∇J(w₀), ηα), computed here by hand."""
    data, lr, alpha = small_digits(), 0.5, 0.02
    model = linear_digits()
    start = model.weight.detach().clone()
    loss = nn.functional.cross_entropy(model(data.X_train), data.y_train)
    grad = torch.autograd.grad(loss, model.weight)[0]
    expected = soft_threshold(start - lr * grad, lr * alpha)
    tw.train.fit(model, data, optimizer=lambda p: torch.optim.SGD(p, lr=lr), epochs=1, batch_size=200,
                 max_steps=1, callbacks=[ProximalL1(alpha)], progress=False)
    torch.testing.assert_close(model.weight.detach(), expected, rtol=0, atol=1e-15)
    assert (model.weight == 0).sum() > 0


def test_proximal_l1_gives_exact_zeros_where_the_penalty_does_not():
    data = small_digits()

    def train(**kwargs):
        model = linear_digits()
        tw.train.fit(model, data, optimizer=lambda p: torch.optim.SGD(p, lr=0.2), epochs=5, batch_size=50,
                     progress=False, **kwargs)
        return model

    proximal = train(callbacks=[ProximalL1(0.01)])
    subgradient = train(penalty=tw.regularization.L1(0.01))
    assert (proximal.weight == 0).float().mean() > 0.1  # many exact zeros, biases untouched
    assert (subgradient.weight == 0).sum() == 0 and (proximal.bias == 0).sum() == 0


def test_fit_many_with_proximal_l1_over_learning_rates_equals_separate_fits():
    def build():
        return tw.models.mlp([64, 16, 10]).double()

    runs = assert_members_equal_separate_fits(
        build, small_digits(), make_optimizer=lambda p, **s: torch.optim.SGD(p, **{"lr": 0.1, **s}),
        extras=lambda: {"callbacks": [ProximalL1(0.005)]}, grid={"lr": [0.05, 0.3]}, epochs=2, batch_size=50)
    zeros = [int((m[0].weight == 0).sum()) for m in runs.models]
    assert zeros[2] > zeros[0] > 0  # a larger learning rate shrinks by more per step


def test_proximal_l1_refuses_weights_the_optimizer_does_not_train():
    model = tw.models.mlp([64, 8, 10]).double()
    with pytest.raises(ValueError, match="the optimizer does not train"):
        tw.train.fit(model, small_digits(), optimizer=torch.optim.SGD(model[2].parameters(), lr=0.1),
                     epochs=1, callbacks=[ProximalL1(0.1)], progress=False)
