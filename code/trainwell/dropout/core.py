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

from .._validate import check_bool, check_float

#: PyTorch's element-wise and channel-wise dropout layers (their ``p`` is the drop probability).
TORCH_DROPOUT_TYPES = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)


def _keep(keep, name: str = "keep") -> float:
    return check_float(name, keep, minimum=0.0, maximum=1.0, min_inclusive=False)


# Checks shared by the part's modules. They read only a tensor's type, shape, dtype and device, never
# its values, so they cost no device synchronization and can run in every forward pass.

def _tensor_type(name: str, x) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    return x


def _floating(name: str, x) -> torch.Tensor:
    """``x`` if it is a floating-point tensor (dropout's masks and noise are real numbers)."""
    if not _tensor_type(name, x).is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    return x


def _same_device(*named: tuple[str, torch.Tensor]) -> None:
    """Raise unless every tensor lives on the device of the first."""
    (first, a), *rest = named
    for name, b in rest:
        if b.device != a.device:
            raise ValueError(f"{first} and {name} must be on the same device, got {a.device} and {b.device}")


def _same_dtype(*named: tuple[str, torch.Tensor]) -> None:
    """Raise unless every tensor has the dtype of the first (nothing is promoted silently)."""
    (first, a), *rest = named
    for name, b in rest:
        if b.dtype != a.dtype:
            raise TypeError(f"{first} and {name} must have the same dtype, got {a.dtype} and {b.dtype}")


def _generator(generator, device: torch.device) -> None:
    """``generator`` must be ``None`` or a ``torch.Generator`` on the device the numbers are drawn on."""
    if generator is None:
        return
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    if generator.device.type != torch.device(device).type:
        raise ValueError(f"generator is on {generator.device} but the random numbers are drawn on {device}; "
                         f"use torch.Generator(device={torch.device(device).type!r})")


def _batch(x, width: int, weight: torch.Tensor, owner: str) -> torch.Tensor:
    """``x`` if it is an (N, width) tensor with the dtype and device of the layer's ``weight``."""
    _tensor_type("x", x)
    if x.ndim != 2 or x.shape[1] != width:
        raise ValueError(f"{owner} expects (N, {width}) input x, got shape {tuple(x.shape)}")
    if x.dtype != weight.dtype:
        raise TypeError(f"x has dtype {x.dtype} but {owner}'s weights have dtype {weight.dtype}; convert one "
                        "of them (e.g. model.double() or x.float())")
    if x.device != weight.device:
        raise ValueError(f"x is on {x.device} but {owner}'s weights are on {weight.device}; move one of them")
    return x


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
    keep, x = _keep(keep), _floating("x", x)
    training, inverted = check_bool("training", training), check_bool("inverted", inverted)
    _generator(generator, x.device)
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
        self.inverted = check_bool("inverted", inverted)

    @property
    def p(self) -> float:
        """PyTorch's name for the drop probability, 1 − keep."""
        return 1.0 - self.keep

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.keep, training=self.training, inverted=self.inverted)

    def extra_repr(self) -> str:
        return f"keep={self.keep}, p={self.p:g}, inverted={self.inverted}"
