"""L1 by proximal steps: the soft threshold, ISTA/FISTA for the lasso and the elastic net, the proximal
step as a training callback, and regularization paths by three methods (section `reg-l1`).

A gradient step on J(w) + α‖w‖₁ is not defined at w = 0; the *proximal* step is: take the gradient step
on J alone, then solve the L1 part exactly,

    w ← prox_{ηα‖·‖₁}(w − η∇J(w)) = soft_threshold(w − η∇J(w), ηα),

which sets every weight whose step lands within ηα of 0 to exactly 0 (Beck & Teboulle 2009).
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import NamedTuple

import numpy as np
import torch

from .._validate import check_bool, check_choice, check_float, check_int
from ..train import Callback
from ._arrays import as_float64, regression_data
from .penalties import _check_params, _penalized_tensors

PATH_METHODS = ("proximal", "subgradient", "smooth")


def soft_threshold(w, t):
    """sign(w)·max(|w| − t, 0), elementwise: the proximal operator of t‖·‖₁, i.e. the minimizer of
    ½(v − w)² + t|v| for every coordinate (Goodfellow et al. 2016, §7.1.2).

    ``w`` is a torch tensor, a NumPy array or a real number, and the result has its type (and dtype).
    ``t`` ≥ 0 is a real number, or an array or tensor of exactly ``w``'s shape (nothing is broadcast).
    """
    w, t = _check_threshold(w, t)
    return _shrink(w, t)


def _check_threshold(w, t):
    """soft_threshold's arguments checked: ``w`` as a float array, tensor or number, ``t`` as a number or
    as ``w``'s type and shape."""
    if isinstance(w, torch.Tensor):
        if not w.is_floating_point():
            raise TypeError(f"w must be a floating-point tensor, got dtype {w.dtype}")
        finite = bool(torch.isfinite(w).all())
    elif isinstance(w, np.ndarray) or (isinstance(w, numbers.Real) and not isinstance(w, bool)):
        w = np.asarray(w) if isinstance(w, np.ndarray) else float(w)
        if isinstance(w, np.ndarray) and w.dtype.kind != "f":
            raise TypeError(f"w must be a floating-point array, got dtype {w.dtype}")
        finite = bool(np.isfinite(w).all())
    else:
        raise TypeError(f"w must be a torch tensor, a NumPy array or a real number, got {type(w).__name__}")
    if not finite:
        raise ValueError("w holds non-finite values (NaN or inf), which would spread silently")
    if isinstance(t, (torch.Tensor, np.ndarray)):
        shape = tuple(np.shape(w))
        if tuple(t.shape) != shape:
            raise ValueError(f"t must be a number or have w's shape {shape}, got shape {tuple(t.shape)} "
                             "(nothing is broadcast)")
        t_values = t.detach().cpu().double().numpy() if isinstance(t, torch.Tensor) else np.asarray(t, float)
        if not np.isfinite(t_values).all() or (t_values < 0).any():
            raise ValueError("Invalid t: every threshold must be finite and >= 0")
        if isinstance(w, torch.Tensor):
            t = torch.as_tensor(t, dtype=w.dtype, device=w.device)
        elif isinstance(t, torch.Tensor):
            t = t_values
    else:
        t = check_float("t", t, minimum=0.0)
    return w, t


def _shrink(w, t):
    """soft_threshold's formula without its checks (the training callback's and ISTA's hot path)."""
    if isinstance(w, torch.Tensor):
        return torch.sign(w) * torch.clamp(w.abs() - t, min=0.0)
    out = np.sign(w) * np.maximum(np.abs(w) - t, 0.0)
    return float(out) if np.ndim(out) == 0 and not isinstance(w, np.ndarray) else out


def _proximal_gradient(grad, prox, w0: np.ndarray, step: float, *, max_iter: int, tol: float,
                       accelerated: bool) -> tuple[np.ndarray, int, bool]:
    """Minimize f + g from ``w0`` with w ← prox(z − step·∇f(z)), where z = w (ISTA) or an
    extrapolation of the last two iterates (FISTA, Beck & Teboulle 2009) with the momentum reset
    whenever it points uphill (O'Donoghue & Candès 2015). Stops when the step's change
    max|w_new − z| is at most tol·max(1, max|w_new|). Returns (w, iterations, converged)."""
    w, z, momentum = w0.copy(), w0.copy(), 1.0
    for k in range(1, max_iter + 1):
        w_new = prox(z - step * grad(z))
        change = float(np.abs(w_new - z).max())
        if accelerated and np.dot(z - w_new, w_new - w) > 0:  # restart: the momentum points uphill
            z, momentum = w_new, 1.0
        elif accelerated:
            following = (1.0 + math.sqrt(1.0 + 4.0 * momentum**2)) / 2.0
            z = w_new + (momentum - 1.0) / following * (w_new - w)
            momentum = following
        else:
            z = w_new
        w = w_new
        if change <= tol * max(1.0, float(np.abs(w).max())):
            return w, k, True
    return w, max_iter, False


class IstaResult(NamedTuple):
    """What :func:`ista` returns: the coefficients w, the intercept b and the iterations it took."""

    coef: np.ndarray
    intercept: float
    n_iter: int


def _centered(X: np.ndarray, y: np.ndarray, fit_intercept: bool):
    if not fit_intercept:
        return X, y, np.zeros(X.shape[1]), 0.0
    x_mean, y_mean = X.mean(axis=0), float(y.mean())
    return X - x_mean, y - y_mean, x_mean, y_mean


def ista(X, y, alpha: float, l1_ratio: float = 1.0, *, fit_intercept: bool = True, max_iter: int = 100_000,
         tol: float = 1e-12, accelerated: bool = True) -> IstaResult:
    """Proximal gradient descent on scikit-learn's lasso / elastic-net objective, in float64:

        (1/(2n))·‖y − Xw − b‖² + αρ·‖w‖₁ + (α(1 − ρ)/2)·‖w‖²,   ρ = ``l1_ratio``

    (Tibshirani 1996; Zou & Hastie 2005). The intercept b is not penalized, so it is removed by
    centering X and y (b = ȳ − x̄ᵀw; ``fit_intercept=False`` fits none). The smooth part has gradient
    Xᵀ(Xw − y)/n + α(1 − ρ)w, Lipschitz with L = λ_max(XᵀX/n) + α(1 − ρ); each step is
    w ← soft_threshold(z − ∇/L, αρ/L), from w = 0, with FISTA's extrapolated z when ``accelerated``
    (plain ISTA, z = w, otherwise). Stops when a step changes no coefficient by more than
    ``tol``·max(1, max|w|); warns if ``max_iter`` steps were not enough. Returns
    :class:`IstaResult` (coef, intercept, n_iter). Matches ``sklearn.linear_model.Lasso`` and
    ``ElasticNet`` (same ``alpha``, ``l1_ratio``), which solve the same objective by coordinate descent.
    """
    X, y = regression_data(X, y)
    alpha = check_float("alpha", alpha, minimum=0.0)
    l1_ratio = check_float("l1_ratio", l1_ratio, minimum=0.0, maximum=1.0)
    fit_intercept = check_bool("fit_intercept", fit_intercept)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    tol = check_float("tol", tol, minimum=0.0)
    accelerated = check_bool("accelerated", accelerated)
    Xc, yc, x_mean, y_mean = _centered(X, y, fit_intercept)
    n = len(yc)
    gram, xty = Xc.T @ Xc / n, Xc.T @ yc / n
    ridge_part, lasso_part = alpha * (1.0 - l1_ratio), alpha * l1_ratio
    lipschitz = float(np.linalg.eigvalsh(gram)[-1]) + ridge_part
    if lipschitz <= 0:
        raise ValueError("X has no variation (every column is constant after centering) and "
                         "alpha·(1 - l1_ratio) is 0: the objective does not depend on w")
    w, iterations, converged = _proximal_gradient(
        lambda v: gram @ v - xty + ridge_part * v, lambda v: _shrink(v, lasso_part / lipschitz),
        np.zeros(X.shape[1]), 1.0 / lipschitz, max_iter=max_iter, tol=tol, accelerated=accelerated)
    if not converged:
        warnings.warn(f"ista: not converged to tol={tol:g} in max_iter={max_iter} steps; raise max_iter",
                      RuntimeWarning, stacklevel=2)
    return IstaResult(w, float(y_mean - x_mean @ w), iterations)


def regularization_path(X, y, alphas, *, method: str, steps: int = 1000, eps: float = 1e-8,
                        fit_intercept: bool = True) -> np.ndarray:
    """Lasso coefficients for every α in ``alphas`` after ``steps`` full-batch steps of one method, all
    from w = 0 with the step 1/L (L = λ_max(XᵀX/n)) on (1/(2n))‖y − Xw − b‖² + α‖w‖₁:

    - ``"proximal"``: ISTA, w ← soft_threshold(w − ∇J/L, α/L): exact zeros;
    - ``"subgradient"``: w ← w − (∇J + α·sign(w))/L, a gradient step with the subgradient sign(w) of
      ‖w‖₁: weights oscillate around 0 by about α/L and almost never equal it;
    - ``"smooth"``: gradient steps on the survey's α·Σ√(w² + ε) instead (Murugan & Durairaj 2017), gradient
      αw/√(w² + ε): no exact zeros either. That gradient changes by up to α/√ε per unit of w near 0,
      so this method's step is the stable 1/(L + α/√ε), smaller for each larger α (with 1/L a weight
      near 0 would be thrown back and forth ever further once α/√ε > L).

    Returns an array (len(alphas), d), so ``(path == 0).sum(1)`` counts each α's exact zeros.
    """
    X, y = regression_data(X, y)
    alphas = as_float64("alphas", alphas, ndim=1)
    if (alphas < 0).any():
        raise ValueError(f"Invalid alphas: {alphas[alphas < 0][0]:g} (every alpha must be >= 0)")
    method = check_choice("method", method, PATH_METHODS)
    steps = check_int("steps", steps, minimum=1)
    eps = check_float("eps", eps, minimum=0.0, min_inclusive=False)
    fit_intercept = check_bool("fit_intercept", fit_intercept)
    Xc, yc, _, _ = _centered(X, y, fit_intercept)
    n = len(yc)
    gram, xty = Xc.T @ Xc / n, Xc.T @ yc / n
    lipschitz = float(np.linalg.eigvalsh(gram)[-1])
    if lipschitz <= 0:
        raise ValueError("X has no variation (every column is constant after centering): nothing to fit")
    step, a = 1.0 / lipschitz, alphas[:, None]
    smooth_step = 1.0 / (lipschitz + a / math.sqrt(eps))
    W = np.zeros((len(alphas), X.shape[1]))
    for _ in range(steps):
        gradient = W @ gram - xty
        if method == "proximal":
            W = _shrink(W - step * gradient, step * a)
        elif method == "subgradient":
            W = W - step * (gradient + a * np.sign(W))
        else:
            W = W - smooth_step * (gradient + a * W / np.sqrt(W**2 + eps))
    return W


class ProximalL1(Callback):
    """The proximal step of L1 after every optimizer step: w ← soft_threshold(w, η·α).

    It acts on the weights :class:`~trainwell.regularization.penalties.L1` penalizes (``params``, see
    :func:`~trainwell.regularization.penalties.penalized_names`), with η the learning rate of the
    weight's param group, read at every step (so schedules are followed). With plain SGD this is
    proximal stochastic gradient descent on J + α‖w‖₁, and weights reach exactly 0; after other
    optimizers it is the same shrinkage, no longer an exact proximal step.

    ``fit(..., callbacks=[ProximalL1(1e-3)])``; in ``fit_many`` each setting's members are shrunk
    with their own param group's learning rate.
    """

    per_member = True

    def __init__(self, alpha: float, params="weights"):
        self.alpha = check_float("alpha", alpha, minimum=0.0)
        self.params = _check_params(params)

    def _targets(self, run) -> list[tuple[torch.Tensor, float]]:
        """(tensor, learning rate) for every tensor to shrink, as the optimizer holds it."""
        tensors = _penalized_tensors(run.model, self.params)
        rate = {id(p): group["lr"] for group in run.optimizer.param_groups for p in group["params"]}
        missing = [n for n, t in tensors if id(t) not in rate]
        if missing:
            raise ValueError(f"ProximalL1: the optimizer does not train {missing}, so there is no learning "
                             "rate for their proximal step")
        return [(t, float(rate[id(t)])) for _, t in tensors]

    def on_fit_start(self, run) -> None:
        self._targets(run)  # a model or optimizer it cannot work with fails before the first step

    @torch.no_grad()
    def on_step_end(self, run) -> None:
        for tensor, lr in self._targets(run):
            tensor.copy_(_shrink(tensor, lr * self.alpha))

    def __repr__(self) -> str:
        return f"ProximalL1(alpha={self.alpha:g})"
