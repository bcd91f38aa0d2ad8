"""Dropout itself in both conventions (section `dropout-bagging`).

The text writes the *inclusion* probability π (``keep``): a unit is kept with probability π.
PyTorch's ``nn.Dropout(p)`` takes the *drop* probability p = 1 − π; :func:`keep_to_drop` and
:func:`drop_to_keep` convert. Two conventions give the same expected activations:

* *weight scaling* (Srivastava et al. 2014): train with y = μ ⊙ x, μ_i ~ Bernoulli(π), and at
  inference multiply by π (equivalently, scale the unit's outgoing weights);
* *inverted dropout* (PyTorch): train with y = μ ⊙ x / π and use the identity at inference.
"""
from __future__ import annotations

import torch
from torch import nn

from .._validate import check_float

#: PyTorch's element-wise and channel-wise dropout layers (their ``p`` is the drop probability).
TORCH_DROPOUT_TYPES = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)


def _keep(keep) -> float:
    return check_float("keep", keep, minimum=0.0, maximum=1.0, min_inclusive=False)


def keep_to_drop(keep: float) -> float:
    """PyTorch's drop probability ``p`` for the inclusion probability ``keep`` of the text."""
    return 1.0 - _keep(keep)


def drop_to_keep(p: float) -> float:
    """The inclusion probability ``keep`` for PyTorch's drop probability ``p`` (``0 <= p < 1``)."""
    return 1.0 - check_float("p", p, minimum=0.0, maximum=1.0, max_inclusive=False)


def dropout(x: torch.Tensor, keep: float, *, training: bool, inverted: bool = True,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Bernoulli dropout of the entries of ``x`` (section `dropout-bagging`).

    Training: y = μ ⊙ x / keep (``inverted=True``, PyTorch's convention) or y = μ ⊙ x
    (``inverted=False``), with μ_i ~ Bernoulli(keep) drawn independently for every entry, hence for
    every example. Inference: y = x (inverted) or y = keep · x (weight scaling). E[y] is the same in
    training and inference in both conventions.
    """
    keep = _keep(keep)
    if not training:
        return x if inverted else x * keep
    mask = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype) < keep
    y = x * mask
    return y / keep if inverted else y


class Dropout(nn.Module):
    """:func:`dropout` as a layer, following ``train()`` / ``eval()``. ``Dropout(keep=0.8)`` equals
    PyTorch's ``nn.Dropout(p=0.2)`` in distribution when ``inverted=True``."""

    def __init__(self, keep: float = 0.5, *, inverted: bool = True):
        super().__init__()
        self.keep = _keep(keep)
        self.inverted = bool(inverted)

    @property
    def p(self) -> float:
        """PyTorch's name for the drop probability, 1 − keep."""
        return 1.0 - self.keep

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.keep, training=self.training, inverted=self.inverted)

    def extra_repr(self) -> str:
        return f"keep={self.keep}, p={self.p:g}, inverted={self.inverted}"
