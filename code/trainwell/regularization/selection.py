"""How optimistic is the score of an epoch chosen on the data that score it? (section
`reg-early-stopping`).

Early stopping keeps the epoch with the best validation accuracy, so that accuracy is the largest of
many noisy measurements and overstates what the network does on new data. Comparing it with the
test accuracy mixes that selection with any difference in difficulty between the two splits.
:func:`selection_optimism` separates them: it splits the held-out examples at random into two halves
many times, chooses the epoch on one half by the patience rule (:func:`patience_choice`, the rule of
:class:`~trainwell.train.EarlyStopping`) and scores it on both. For a fixed epoch the two halves agree
on average over the random splits, so what remains is the optimism the choice put in.
:func:`correctness_record` records, after every epoch of :func:`~trainwell.train.fit_many`, which
held-out examples each member classifies correctly.
"""
from __future__ import annotations

import numpy as np
import torch

from .._validate import check_int, check_tensor
from ..train import Record


def patience_choice(values, patience: int) -> np.ndarray:
    """The epoch (1-based) that :class:`~trainwell.train.EarlyStopping` with ``monitor`` an accuracy
    and ``min_delta=0`` restores, for every column of ``values`` (shape (epochs, ...), one score per
    epoch, higher better): the first epoch whose score no later epoch beats before ``patience``
    epochs without improvement end the run (or the last epoch comes)."""
    values = np.asarray(values, dtype=float)
    if values.ndim < 1 or values.shape[0] == 0:
        raise ValueError(f"patience_choice: values must have shape (epochs, ...) with at least one epoch, "
                         f"got shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError("patience_choice: values must be finite (a NaN score never improves, so the "
                         "choice would be meaningless)")
    patience = check_int("patience", patience, minimum=1)
    best = values[0].copy()
    chosen = np.ones(values.shape[1:], dtype=int)
    waited = np.zeros(values.shape[1:], dtype=int)
    running = np.ones(values.shape[1:], dtype=bool)
    for epoch in range(1, values.shape[0]):
        better = running & (values[epoch] > best)
        best = np.where(better, values[epoch], best)
        chosen = np.where(better, epoch + 1, chosen)
        waited = np.where(better, 0, waited + running)
        running &= waited < patience
    return chosen


def selection_optimism(correct, *, patience: int, resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """Per member, how much the accuracy of the epoch chosen on a random half of the held-out examples
    exceeds that epoch's accuracy on the other half, averaged over ``resamples`` random halvings.

    ``correct`` has shape (epochs, members, examples): whether each member classified each held-out
    example correctly after each epoch (:func:`correctness_record`). The epoch is chosen by
    :func:`patience_choice`; the halves are drawn from a generator seeded with ``seed``. Returns an
    array of shape (members,)."""
    correct = np.asarray(correct)
    if correct.ndim != 3 or correct.dtype != bool:
        raise ValueError(f"selection_optimism: correct must be a boolean array of shape (epochs, members, "
                         f"examples), got {correct.dtype} of shape {correct.shape}")
    epochs, members, n = correct.shape
    if n < 2:
        raise ValueError(f"selection_optimism: need at least 2 held-out examples to halve, got {n}")
    resamples = check_int("resamples", resamples, minimum=1)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    half = n // 2
    in_a = np.zeros((resamples, n))
    for r in range(resamples):
        in_a[r, rng.permutation(n)[:half]] = 1.0
    flat = correct.reshape(epochs * members, n).astype(float)
    acc_a = (flat @ in_a.T / half).reshape(epochs, members, resamples)
    acc_b = (flat @ (1.0 - in_a).T / (n - half)).reshape(epochs, members, resamples)
    chosen = patience_choice(acc_a, patience) - 1  # (members, resamples), 0-based
    pick = np.take_along_axis
    gap = pick(acc_a, chosen[None], axis=0)[0] - pick(acc_b, chosen[None], axis=0)[0]
    return gap.mean(axis=1)


def correctness_record(X: torch.Tensor, y: torch.Tensor) -> Record:
    """A :class:`~trainwell.train.Record` for :func:`~trainwell.train.fit_many` that stores, after every
    epoch, a boolean array (members, examples): which of ``X`` each member classifies as ``y`` (in
    evaluation mode). Stack its ``values`` to shape (epochs, members, examples)."""
    X = check_tensor("X", X, ndim=2, floating=True)
    y = check_tensor("y", y, ndim=1)
    if len(X) != len(y):
        raise ValueError(f"correctness_record: X has {len(X)} rows but y has {len(y)} labels")

    @torch.no_grad()
    def measure(state) -> np.ndarray:
        stacked = state.model
        was_training = stacked.training
        stacked.eval()
        try:
            logits = stacked(X.to(state.device), shared=True)
        finally:
            stacked.train(was_training)
        return (logits.argmax(-1).cpu() == y).numpy()

    return Record(measure, per="epoch")
