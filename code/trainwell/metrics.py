"""``tw.metrics``: the one way a model, or an ensemble's probabilities, is scored.

* :func:`evaluate`: mean loss (and accuracy for class labels) of a model in eval mode, in batches,
  on the model's device; :func:`test_scores` is its test-split summary (accuracy, log-likelihood).
* :func:`probability_scores`: accuracy and mean log-likelihood of class probabilities (ensembles,
  Monte Carlo averages), where there is no single model to evaluate.
* :func:`auroc`: area under the ROC curve of a score, e.g. uncertainty on unseen inputs.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._validate import check_choice, check_int
from .config import module_device
from .models import eval_mode

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: The losses :func:`evaluate` and :func:`trainwell.train.fit` know by name.
LOSSES: dict[str, LossFn] = {"cross_entropy": F.cross_entropy, "mse": F.mse_loss}


def resolve_loss(loss) -> LossFn:
    """A loss given by name (one of :data:`LOSSES`) or as a function ``(output, target) -> scalar``."""
    if callable(loss):
        return loss
    check_choice("loss", loss, tuple(LOSSES))
    return LOSSES[loss]


def _check_pair(X, y, where: str) -> None:
    for name, t in (("X", X), ("y", y)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{where}: {name} must be a tensor, got {type(t).__name__}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"{where}: X has {X.shape[0]} rows but y has {y.shape[0]}")
    if X.shape[0] == 0:
        raise ValueError(f"{where}: X and y are empty; there is nothing to score")


@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, loss="cross_entropy",
             batch_size: int = 4096) -> dict[str, float]:
    """Mean loss (and, for integer class labels, accuracy) of ``model`` in eval mode.

    ``X`` and ``y`` are moved to the model's device first (a no-op when they are already there), so
    a network that :func:`~trainwell.train.fit` placed on a GPU can be scored on data loaded on the
    CPU. Every submodule's mode is restored afterwards. Returns ``{"loss": ..., "acc": ...}``.
    """
    loss_fn = resolve_loss(loss)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    _check_pair(X, y, "evaluate")
    dev = module_device(model, X.device)
    X, y = X.to(dev), y.to(dev)
    classify = not y.is_floating_point()
    total, correct = torch.zeros((), device=dev), torch.zeros((), device=dev)
    with eval_mode(model):
        for start in range(0, X.shape[0], batch_size):
            xb, yb = X[start:start + batch_size], y[start:start + batch_size]
            out = model(xb)
            if not classify and out.shape != yb.shape:
                raise ValueError(f"evaluate: the model's outputs have shape {tuple(out.shape)} but the "
                                 f"targets have {tuple(yb.shape)}; a regression loss would broadcast them "
                                 "(give targets of the output's shape, e.g. y.unsqueeze(1))")
            total += loss_fn(out, yb) * xb.shape[0]
            if classify:
                correct += (out.argmax(dim=1) == yb).sum()
    result = {"loss": total.item() / X.shape[0]}
    if classify:
        result["acc"] = correct.item() / X.shape[0]
    return result


def test_scores(model: nn.Module, data) -> tuple[float, float]:
    """Test accuracy and mean test log-likelihood (nats per example, minus the cross-entropy) of a
    classifier ``model`` in eval mode, through :func:`evaluate`."""
    result = evaluate(model, data.X_test, data.y_test)
    if "acc" not in result:
        raise ValueError("test_scores needs a classification dataset (integer labels)")
    return result["acc"], -result["loss"]


def probability_scores(probs: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Accuracy and mean log-likelihood (1/N) Σ log p(y_i | x_i) of class probabilities ``probs``
    (shape (N, C), rows summing to one) for integer labels ``y`` (shape (N,)); log 0 counts as
    log 1e-300 rather than −∞."""
    if not isinstance(probs, torch.Tensor) or probs.ndim != 2:
        got = tuple(probs.shape) if isinstance(probs, torch.Tensor) else type(probs).__name__
        raise ValueError(f"probs must be an (N, C) tensor of class probabilities, got {got}")
    if not isinstance(y, torch.Tensor) or y.shape != probs.shape[:1] or y.is_floating_point():
        got = f"{y.dtype} of shape {tuple(y.shape)}" if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"y must hold {probs.shape[0]} integer labels, shape ({probs.shape[0]},), got {got}")
    y = y.to(probs.device)
    accuracy = (probs.argmax(-1) == y).double().mean().item()
    log_lik = torch.log(probs.gather(-1, y.unsqueeze(-1)).double().clamp_min(1e-300)).mean().item()
    return accuracy, log_lik


def auroc(scores_in, scores_out) -> float:
    """Area under the ROC curve of a score meant to be larger on ``scores_out`` (e.g. uncertainty on
    out-of-distribution inputs) than on ``scores_in``: the probability that a random "out" score
    exceeds a random "in" score, ties counting one half (the Mann–Whitney statistic divided by
    n_in·n_out). 0.5 is chance, 1 a perfect separation (section `dropout-practice`)."""
    a = np.asarray(torch.as_tensor(scores_in).detach().cpu(), dtype=np.float64).ravel()
    b = np.asarray(torch.as_tensor(scores_out).detach().cpu(), dtype=np.float64).ravel()
    if a.size == 0 or b.size == 0:
        raise ValueError(f"auroc needs at least one score on each side, got {a.size} and {b.size}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("auroc: scores must be finite")
    values, inverse, counts = np.unique(np.concatenate([a, b]), return_inverse=True, return_counts=True)
    mid_rank = np.cumsum(counts) - (counts - 1) / 2.0  # average 1-based rank of each distinct value
    rank_out = mid_rank[inverse[a.size:]].sum()
    return float((rank_out - b.size * (b.size + 1) / 2.0) / (a.size * b.size))
