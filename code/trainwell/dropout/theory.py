"""Closed forms of dropout (sections `dropout-inference`, `dropout-linear` and `dropout-practice`):
the softmax geometric-mean theorem, dropout on linear regression as an adaptive L2 penalty
(Wager, Wang & Liang 2013), fast dropout's moments (Wang & Manning 2013), and the moments of
inverted dropout that explain batch norm's variance shift."""
from __future__ import annotations

import torch

from .._validate import check_tensor
from .core import _keep, _same_device, _same_dtype
from .ensembles import MAX_ENUMERATED_UNITS, enumerate_masks, mask_probabilities


def _operands(*named: tuple[str, torch.Tensor], units: tuple[str, int] | None = None,
              same_dtype: bool = True) -> None:
    """The tensors of a closed form: floating point, non-empty, of one dtype (unless ``same_dtype`` is
    false) and one device, then finite (NaN or inf would spread into the result). ``units`` = (name, n):
    the argument that sets the n units whose 2ⁿ masks are enumerated."""
    for name, t in named:
        check_tensor(name, t, floating=True, nonempty=True)
    if same_dtype:
        _same_dtype(*named)
    _same_device(*named)
    if units is not None and units[1] > MAX_ENUMERATED_UNITS:
        name, n = units
        raise ValueError(f"{name} gives {n} units, whose 2^{n} masks would all be enumerated; the limit is "
                         f"{MAX_ENUMERATED_UNITS} units")
    for name, t in named:
        check_tensor(name, t, finite=True)


def softmax_regression_geometric_mean(W: torch.Tensor, b: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The renormalized geometric mean over all 2ⁿ input masks d of softmax(Wᵀ(d ⊙ v) + b), each mask
    with probability 2⁻ⁿ (keep = 1/2), computed by enumeration (section `dropout-inference`). The theorem says
    it equals softmax(½ Wᵀ v + b). ``W`` is (n, classes), ``v`` is (n,)."""
    for name, t in (("W", W), ("b", b), ("v", v)):
        check_tensor(name, t)
    if W.ndim != 2 or v.shape != (W.shape[0],) or b.shape != (W.shape[1],):
        raise ValueError(f"need W (n, c), b (c,), v (n,); got W {tuple(W.shape)}, b {tuple(b.shape)}, "
                         f"v {tuple(v.shape)}")
    _operands(("W", W), ("b", b), ("v", v), units=("W", W.shape[0]))
    d = enumerate_masks(W.shape[0], dtype=W.dtype)
    log_p = torch.log_softmax((d * v) @ W + b, dim=1)
    return torch.softmax(log_p.mean(0), dim=0)


def expected_dropout_squared_loss(X: torch.Tensor, y: torch.Tensor, w: torch.Tensor,
                                  keep: float) -> torch.Tensor:
    """E_μ Σ_i (y_i − (μ_i ⊙ x_i / keep) · w)² by enumerating every mask of every example's features
    (inverted dropout on the inputs of linear regression; section `dropout-linear`). Small d only.
    ``X`` is (N, d), ``y`` is (N,), ``w`` is (d,)."""
    keep = _keep(keep)
    _design(X, w, y)
    masks = enumerate_masks(X.shape[1], dtype=X.dtype)
    p = mask_probabilities(masks, keep)
    preds = torch.einsum("md,nd,d->mn", masks, X, w) / keep  # (masks, examples)
    return (p.unsqueeze(1) * (y.unsqueeze(0) - preds) ** 2).sum()


def _design(X, w, y=None) -> None:
    """X (N, d) with weights w (d,) and, if given, targets y (N,): nothing is broadcast."""
    check_tensor("X", X, ndim=2)
    check_tensor("w", w, shape=(X.shape[1],))
    named = [("X", X), ("w", w)]
    if y is not None:
        check_tensor("y", y, shape=(X.shape[0],))
        named.append(("y", y))
    _operands(*named, units=("X", X.shape[1]) if y is not None else None)


def wager_penalty(X: torch.Tensor, w: torch.Tensor, keep: float) -> torch.Tensor:
    """The L2 penalty dropout adds to linear regression (Wager, Wang & Liang 2013):
    (1 − keep)/keep · Σ_j w_j² Σ_i x_ij², one coefficient per feature, set by that feature's scale.
    ``X`` is (N, d), ``w`` is (d,)."""
    keep = _keep(keep)
    _design(X, w)
    return (1.0 - keep) / keep * (w ** 2 * (X ** 2).sum(0)).sum()


def dropout_regression_fit(X: torch.Tensor, y: torch.Tensor, keep: float) -> torch.Tensor:
    """The weights that minimize linear regression's expected loss under inverted input dropout,
    Σ_i (y_i − x_iᵀw)² + (1 − keep)/keep · Σ_j w_j² Σ_i x_ij² (Equation `do-wager`): the solution of
    (XᵀX + (1 − keep)/keep · diag(XᵀX)) w = Xᵀy. Rescaling a feature by c rescales its weight by 1/c
    and leaves the predictions unchanged, unlike ridge's (XᵀX + αI) w = Xᵀy. ``X`` is (N, d) with no
    all-zero column, ``y`` is (N,)."""
    keep = _keep(keep)
    check_tensor("X", X, ndim=2, floating=True, finite=True)
    check_tensor("y", y, shape=(X.shape[0],), floating=True, finite=True)
    _operands(("X", X), ("y", y))
    gram = X.T @ X
    if bool((gram.diagonal() == 0).any()):
        raise ValueError("X has an all-zero column: its weight is not determined")
    return torch.linalg.solve(gram + (1.0 - keep) / keep * torch.diag(gram.diagonal()), X.T @ y)


def fast_dropout_moments(x: torch.Tensor, w: torch.Tensor, keep: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of s = Σ_i w_i μ_i x_i with μ_i ~ Bernoulli(keep) (weight-scaling convention;
    Wang & Manning 2013): E[s] = keep Σ w_i x_i, Var[s] = keep (1 − keep) Σ w_i² x_i². Fast dropout
    replaces the sum by a Gaussian with these moments (section `dropout-linear`). Works along the
    last axis."""
    keep = _keep(keep)
    check_tensor("x", x, min_ndim=1)
    check_tensor("w", w, min_ndim=1)
    if x.shape[-1] != w.shape[-1] or not (w.ndim == 1 or w.shape == x.shape):
        raise ValueError(f"x and w must agree on the last axis, with w of shape (n,) or the shape of x "
                         f"(nothing else is broadcast), got {tuple(x.shape)} and {tuple(w.shape)}")
    _operands(("x", x), ("w", w))
    return keep * (w * x).sum(-1), keep * (1.0 - keep) * (w ** 2 * x ** 2).sum(-1)


def _as_float64(name: str, value) -> torch.Tensor:
    if isinstance(value, (bool, str, bytes)) or (isinstance(value, torch.Tensor) and (
            value.dtype == torch.bool or value.is_complex())):
        raise TypeError(f"{name} must be a real number or a tensor/array of them, got {value!r}")
    try:
        t = torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"{name} must be a real number or a tensor/array of them, got "
                        f"{type(value).__name__}") from None
    if not torch.isfinite(t).all():
        raise ValueError(f"Invalid {name}: it contains NaN or infinite values")
    return t


def inverted_dropout_moments(mean, var, keep: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of y = μ x / keep, μ ~ Bernoulli(keep) independent of x, for a unit x with
    mean ``mean`` and variance ``var`` (inverted dropout in training; section `dropout-practice`).

    E[y] = E[x] = m, and since μ² = μ, E[y²] = E[x²]/keep = (v + m²)/keep, so

        Var_train[y] = (v + m²)/keep − m²   against   Var_eval[y] = v   (dropout off).

    The training variance is larger by (1/keep − 1)(v + m²): a batch-norm layer that sees y records
    the larger variance, the *variance shift* of Li et al. (2019). Works element-wise on tensors.
    """
    keep = _keep(keep)
    m, v = _as_float64("mean", mean), _as_float64("var", var)
    if m.shape != v.shape and m.ndim and v.ndim:
        raise ValueError(f"mean and var must have the same shape (or one be a single number), got "
                         f"{tuple(m.shape)} and {tuple(v.shape)}; nothing is broadcast")
    _same_device(("mean", m), ("var", v))
    if (v < 0).any():
        raise ValueError(f"Invalid var: {v.min().item():g} (variances must be >= 0)")
    return m.clone(), (v + m ** 2) / keep - m ** 2


def dropout_linear_variance(h: torch.Tensor, weight: torch.Tensor,
                            keep: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-output variance of z = W y over the rows of ``h``, where y = μ ⊙ h / keep is inverted
    dropout of the layer's input h (section `dropout-practice`). Given h, the masks add variance
    ((1 − keep)/keep) Σ_i W_ji² h_i² and leave the mean W h unchanged, so by the law of total variance

        Var_train[z_j] = Var_eval[z_j] + (1 − keep)/keep · Σ_i W_ji² E[h_i²],   Var_eval[z_j] = Var[(W h)_j].

    ``h`` is (N, in) (activations with dropout off), ``weight`` is (out, in). Returns
    ``(eval_var, train_var)``, population variances over the N rows, in float64."""
    keep = _keep(keep)
    check_tensor("h", h)
    check_tensor("weight", weight)
    if h.ndim != 2 or weight.ndim != 2 or h.shape[1] != weight.shape[1]:
        raise ValueError(f"need h (N, in) and weight (out, in) with the same in, got {tuple(h.shape)} "
                         f"and {tuple(weight.shape)}")
    _operands(("h", h), ("weight", weight), same_dtype=False)  # both are converted to float64
    h, w = h.detach().double(), weight.detach().double()
    eval_var = (h @ w.T).var(0, unbiased=False)
    return eval_var, eval_var + (1.0 - keep) / keep * (w ** 2) @ (h ** 2).mean(0)
