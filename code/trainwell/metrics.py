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
    if not isinstance(loss, str):
        raise TypeError(f"loss must be a name, one of {tuple(LOSSES)}, or a function (output, target) -> "
                        f"loss, got {loss!r} ({type(loss).__name__})")
    check_choice("loss", loss, tuple(LOSSES))
    return LOSSES[loss]


def _check_pair(X, y, where: str) -> None:
    for name, t in (("X", X), ("y", y)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{where}: {name} must be a tensor, got {type(t).__name__}")
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"{where}: X and y must have the examples along dimension 0, got shapes "
                         f"{tuple(X.shape)} and {tuple(y.shape)}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"{where}: X has {X.shape[0]} rows but y has {y.shape[0]}")
    if X.shape[0] == 0:
        raise ValueError(f"{where}: X and y are empty; there is nothing to score")
    if y.dtype == torch.bool or y.is_complex():
        raise TypeError(f"{where}: y must hold integer class indices (int64) or real-valued targets, got "
                        f"dtype {y.dtype}")


def _label_range(y: torch.Tensor) -> tuple[int, int]:
    """Smallest and largest class index in ``y``, read with one transfer from the device."""
    low, high = torch.stack([y.min(), y.max()]).tolist()
    return int(low), int(high)


@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, loss="cross_entropy",
             batch_size: int = 4096) -> dict[str, float]:
    """Mean loss (and, for integer class labels, accuracy) of ``model`` in eval mode.

    ``X`` and ``y`` are moved to the model's device first (a no-op when they are already there), so
    a network that :func:`~trainwell.train.fit` placed on a GPU can be scored on data loaded on the
    CPU. Every submodule's mode is restored afterwards. Returns ``{"loss": ..., "acc": ...}``.

    Checked first, so that nothing is silently broadcast or averaged over nothing: ``X`` and ``y``
    have the same, non-zero number of rows and ``X`` holds no NaN or infinity; integer labels have
    shape ``(n,)`` and lie in ``[0, C)`` for a model with ``C`` outputs; real-valued targets have
    exactly the shape of the model's outputs (``(n, 1)`` outputs against ``(n,)`` targets is an error).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"evaluate: model must be a torch.nn.Module, got {type(model).__name__}")
    loss_fn = resolve_loss(loss)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    _check_pair(X, y, "evaluate")
    classify = not y.is_floating_point()
    if classify and y.ndim != 1:
        raise ValueError(f"evaluate: integer class labels y must have shape ({y.shape[0]},), got "
                         f"{tuple(y.shape)}")
    dev = module_device(model, X.device)
    X, y = X.to(dev), y.to(dev)
    if X.is_floating_point() and not bool(torch.isfinite(X).all()):
        bad = int(X.numel() - torch.isfinite(X).sum())
        raise ValueError(f"evaluate: X holds {bad} non-finite value(s) (NaN or inf); the loss would be NaN "
                         "and the accuracy meaningless")
    label_range = _label_range(y) if classify else None
    # float64 sums (MPS has no float64): a float32 sum would round a float64 model's loss
    sums = torch.float32 if dev.type == "mps" else torch.float64
    total, correct = torch.zeros((), dtype=sums, device=dev), torch.zeros((), dtype=sums, device=dev)
    with eval_mode(model):
        for start in range(0, X.shape[0], batch_size):
            xb, yb = X[start:start + batch_size], y[start:start + batch_size]
            out = model(xb)
            if not classify and out.shape != yb.shape:
                raise ValueError(f"evaluate: the model's outputs have shape {tuple(out.shape)} but the "
                                 f"targets y have {tuple(yb.shape)}; a regression loss would broadcast them "
                                 "(give targets of the output's shape, e.g. y.unsqueeze(1))")
            if classify and start == 0:
                if out.ndim != 2 or out.shape[0] != xb.shape[0]:
                    raise ValueError(f"evaluate: integer labels need class scores of shape (n, C) from the "
                                     f"model, got outputs of shape {tuple(out.shape)}")
                low, high = label_range
                if low < 0 or high >= out.shape[1]:
                    raise ValueError(f"evaluate: y holds class indices in [{low}, {high}], outside "
                                     f"[0, {out.shape[1] - 1}] for a model with {out.shape[1]} outputs")
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
    from .data import Dataset

    if not isinstance(data, Dataset):
        raise TypeError(f"test_scores: data must be a trainwell.data.Dataset, got {type(data).__name__}")
    if data.classes is None:
        raise ValueError("test_scores: data must be a classification dataset (integer labels), got a "
                         "regression one")
    result = evaluate(model, data.X_test, data.y_test)
    if "acc" not in result:
        raise ValueError("test_scores needs a classification dataset (integer labels)")
    return result["acc"], -result["loss"]


#: How far a row of class probabilities may sum from one (rounding in float32 ensembles is ~1e-6).
PROBABILITY_SUM_TOLERANCE = 1e-3


def probability_scores(probs: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Accuracy and mean log-likelihood (1/N) Σ log p(y_i | x_i) of class probabilities ``probs``
    (shape (N, C), rows summing to one) for integer labels ``y`` (shape (N,)); log 0 counts as
    log 1e-300 rather than −∞. Refused: no rows, NaN, negative entries, rows that do not sum to one
    (within :data:`PROBABILITY_SUM_TOLERANCE`; logits or log-probabilities are a common slip), and
    labels outside [0, C)."""
    if not isinstance(probs, torch.Tensor) or probs.ndim != 2:
        got = tuple(probs.shape) if isinstance(probs, torch.Tensor) else type(probs).__name__
        raise ValueError(f"probs must be an (N, C) tensor of class probabilities, got {got}")
    if not probs.is_floating_point():
        raise TypeError(f"probs must be a floating-point tensor of probabilities, got dtype {probs.dtype}")
    if not isinstance(y, torch.Tensor) or y.shape != probs.shape[:1] or y.is_floating_point() \
            or y.dtype == torch.bool or y.is_complex():
        got = f"{y.dtype} of shape {tuple(y.shape)}" if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"y must hold {probs.shape[0]} integer labels, shape ({probs.shape[0]},), got {got}")
    if probs.numel() == 0:
        raise ValueError(f"probs is empty (shape {tuple(probs.shape)}); there is nothing to score")
    y = y.to(probs.device)
    low, high = _label_range(y)
    row_sums = probs.double().sum(-1)
    facts = torch.stack([(~torch.isfinite(probs)).sum().double(), (probs < 0).sum().double(),
                         (row_sums - 1).abs().max()]).tolist()
    if facts[0]:
        raise ValueError(f"probs holds {int(facts[0])} non-finite value(s) (NaN or inf)")
    if facts[1]:
        raise ValueError(f"probs holds {int(facts[1])} negative value(s); probabilities lie in [0, 1] "
                         "(were logits passed? apply softmax first)")
    if facts[2] > PROBABILITY_SUM_TOLERANCE:
        raise ValueError(f"probs rows must sum to one, but one is off by {facts[2]:.3g} (were unnormalized "
                         "scores passed? apply softmax first)")
    if low < 0 or high >= probs.shape[1]:
        raise ValueError(f"y holds class indices in [{low}, {high}], outside [0, {probs.shape[1] - 1}] for "
                         f"{probs.shape[1]} classes")
    accuracy = (probs.argmax(-1) == y).double().mean().item()
    log_lik = torch.log(probs.gather(-1, y.unsqueeze(-1)).double().clamp_min(1e-300)).mean().item()
    return accuracy, log_lik


def _scores(name: str, values) -> np.ndarray:
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be a 1-D sequence, array or tensor of numbers, got a string")
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu()
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a 1-D sequence, array or tensor of numbers, got "
                        f"{type(values).__name__}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, one score per input, got shape {array.shape} (flatten it "
                         "yourself if that is really meant)")
    if array.size == 0:
        raise ValueError(f"{name} is empty; auroc needs at least one score on each side")
    bad = int((~np.isfinite(array)).sum())
    if bad:
        raise ValueError(f"{name} holds {bad} non-finite score(s) (NaN or inf); their rank is undefined")
    return array


def auroc(scores_in, scores_out) -> float:
    """Area under the ROC curve of a score meant to be larger out of distribution than in it.

    The score should be larger on ``scores_out`` (e.g. uncertainty on out-of-distribution inputs)
    than on ``scores_in``. The area is the probability that a random "out" score
    exceeds a random "in" score, ties counting one half (the Mann–Whitney statistic divided by
    n_in·n_out). 0.5 is chance, 1 a perfect separation (section `dropout-practice`). Each side must
    be a non-empty, finite, 1-D set of scores."""
    a = _scores("scores_in", scores_in)
    b = _scores("scores_out", scores_out)
    values, inverse, counts = np.unique(np.concatenate([a, b]), return_inverse=True, return_counts=True)
    mid_rank = np.cumsum(counts) - (counts - 1) / 2.0  # average 1-based rank of each distinct value
    rank_out = mid_rank[inverse[a.size:]].sum()
    return float((rank_out - b.size * (b.size + 1) / 2.0) / (a.size * b.size))
