"""Datasets for the study of overfitting (section `reg-overfitting`): a network large enough can
memorize its training set, even when the labels are noise (Zhang et al. 2017).

Smaller training sets need no function here: ``data.subset_train(n, seed)`` of
:class:`trainwell.data.Dataset` keeps a seeded, class-stratified and nested subset of the training
split (validation and test unchanged).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from .._validate import check_float, check_int
from ..data import Dataset


def with_random_labels(data: Dataset, fraction: float, seed: int = 0) -> Dataset:
    """A copy of the classification dataset ``data`` in which ``round(fraction·n)`` training examples,
    chosen at random, get a label drawn uniformly from all classes (so about 1/K of them keep their
    label by chance, as in Zhang et al. 2017's "partially corrupted labels"). Validation and test
    labels are untouched, so they still measure what the network learned about the real task.
    ``extra["relabelled"]`` marks (bool, shape (n,)) the training examples whose label was redrawn.
    ``fraction=1`` gives entirely random training labels; ``seed`` fixes the choice and the labels.
    The new dataset has new training labels and shares every other tensor with ``data``."""
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a trainwell.data.Dataset, got {type(data).__name__}")
    if data.classes is None:
        raise ValueError(f"data must be a classification dataset; {data.name!r} is a regression one")
    fraction = check_float("fraction", fraction, minimum=0.0, maximum=1.0)
    seed = check_int("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    n = len(data.y_train)
    chosen = rng.permutation(n)[: round(fraction * n)]
    labels = data.y_train.cpu().numpy().copy()
    labels[chosen] = rng.integers(0, data.n_classes, size=len(chosen))
    relabelled = np.zeros(n, dtype=bool)
    relabelled[chosen] = True
    device = data.y_train.device
    return replace(data, y_train=torch.as_tensor(labels, device=device),
                   name=f"{data.name} ({fraction:.0%} random labels)",
                   description=data.description + f" {fraction:.0%} of the training labels redrawn uniformly "
                                                  f"at random (seed {seed}).",
                   extra={**data.extra, "relabelled": torch.as_tensor(relabelled, device=device)})
