"""The experiments of Part I, regularization: each trains the book's networks through
:func:`trainwell.train.fit_many`, every seed (and every setting of a grid) side by side.

* :func:`memorization_runs`: a network large enough to memorize a small training set, with true and
  with randomized labels (section `reg-overfitting`);
* further sections add their runs below.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from .._validate import check_float, check_int
from ..models import mlp
from ..train import Runs, fit_many
from .overfitting import with_random_labels


def _seeds(seeds) -> list[int]:
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds is empty")
    return seeds


def memorization_runs(data, *, fractions: Sequence[float], seeds, epochs: int,
                      hidden: Sequence[int] = (512, 512), lr: float = 1e-3, batch_size: int = 64,
                      eval_every: int = 1) -> dict[float, Runs]:
    """For each fraction of :func:`with_random_labels` (0 keeps the true labels, 1 replaces all of
    them), train a ReLU MLP with Adam on ``data``'s training split, one network per seed. The
    validation split keeps its true labels, so validation accuracy says what the network learned
    about digits rather than about its training set (Zhang, Bengio, Hardt, Recht & Vinyals 2017)."""
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    sizes = [data.n_features, *hidden, data.n_classes]
    out = {}
    for fraction in fractions:
        fraction = check_float("fraction", fraction, minimum=0.0, maximum=1.0)
        noisy = with_random_labels(data, fraction, seed=0) if fraction > 0 else data
        out[fraction] = fit_many(lambda: mlp(sizes), noisy, seeds=_seeds(seeds),
                                 optimizer=lambda p: torch.optim.Adam(p, lr=lr),
                                 epochs=check_int("epochs", epochs, minimum=1), batch_size=batch_size,
                                 eval_every=eval_every, progress=False)
    return out
