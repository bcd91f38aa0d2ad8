"""Random labels: only the chosen training labels change, uniformly over the classes, reproducibly."""
import numpy as np
import pytest
import torch

import trainwell as tw
from trainwell.regularization import with_random_labels


@pytest.fixture(scope="module")
def digits():
    return tw.data.load("digits")


def test_only_the_chosen_training_labels_are_redrawn(digits):
    before = digits.y_train.clone()
    noisy = with_random_labels(digits, 0.4, seed=1)
    marked = noisy.extra["relabelled"]
    n = len(digits.y_train)
    assert marked.dtype == torch.bool and int(marked.sum()) == round(0.4 * n)
    assert torch.equal(noisy.y_train[~marked], digits.y_train[~marked])
    changed = (noisy.y_train != digits.y_train).sum().item()
    assert abs(changed - 0.9 * round(0.4 * n)) <= 5 * np.sqrt(round(0.4 * n) * 0.09)  # 1 in 10 kept by chance
    for split in ("X_train", "X_val", "y_val", "X_test", "y_test"):
        assert torch.equal(getattr(noisy, split), getattr(digits, split)), split
    assert torch.equal(digits.y_train, before)  # the original is untouched
    assert "40% random labels" in noisy.name


def test_random_labels_are_uniform_and_reproducible(digits):
    noisy = with_random_labels(digits, 1.0, seed=2)
    n, k = len(noisy.y_train), 10
    counts = torch.bincount(noisy.y_train, minlength=k).numpy()
    expected = n / k
    assert ((counts - expected) ** 2 / expected).sum() <= 35.0  # chi-square, 9 dof: p < 1e-4 beyond
    assert torch.equal(with_random_labels(digits, 1.0, seed=2).y_train, noisy.y_train)
    assert not torch.equal(with_random_labels(digits, 1.0, seed=3).y_train, noisy.y_train)
    assert torch.equal(with_random_labels(digits, 0.0).y_train, digits.y_train)
