"""Norm constraints enforced by projection after every step (section `dropout-regularizers`)."""
from __future__ import annotations

import torch
from torch import nn

from .._validate import check_float
from ..train import Callback


def _linear_layers(model) -> list[nn.Linear]:
    """Every ``nn.Linear`` of ``model``; a model with none is an error (nothing would be constrained)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not layers:
        raise ValueError(f"model ({type(model).__name__}) has no nn.Linear layer, so max-norm would "
                         "constrain nothing")
    return layers


@torch.no_grad()
def max_norm_(model: nn.Module, c: float) -> None:
    """Project every ``nn.Linear`` layer's incoming weight vectors onto the ball ‖w_j‖₂ ≤ c, in place:
    w_j ← w_j · min(1, c / ‖w_j‖₂) for each unit j (a row of the weight matrix). Srivastava et al.
    (2014) use this constraint together with dropout. In training, use the callback :class:`MaxNorm`.
    Everything is checked before any weight changes."""
    layers = _linear_layers(model)
    c = check_float("c", c, minimum=0.0, min_inclusive=False)
    for module in layers:
        norms = module.weight.norm(dim=1, keepdim=True)
        module.weight.mul_(torch.clamp(c / norms.clamp_min(1e-12), max=1.0))


class MaxNorm(Callback):
    """:func:`max_norm_` with radius ``c`` after every optimizer step:
    ``fit(..., callbacks=[MaxNorm(3.0)])``."""

    def __init__(self, c: float):
        self.c = check_float("c", c, minimum=0.0, min_inclusive=False)

    def on_fit_start(self, state) -> None:
        _linear_layers(state.model)  # a model without linear layers fails before the first step

    def on_step_end(self, state) -> None:
        max_norm_(state.model, self.c)
