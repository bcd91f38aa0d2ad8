"""Noise injected into a network's units as a regularizer (section `dropout-variants`)."""
from __future__ import annotations

import torch
from torch import nn

from .._validate import check_float


class AdditiveGaussianNoise(nn.Module):
    """Additive noise y = x + ε with ε_i ~ N(0, σ²) in training, identity at inference. Unlike
    multiplicative noise its scale does not grow with x, so a ReLU unit, whose output scales with
    its weights (relu(a z) = a relu(z) for a > 0), can make it negligible (section `dropout-variants`)."""

    def __init__(self, sigma: float):
        super().__init__()
        self.sigma = check_float("sigma", sigma, minimum=0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            got = f"dtype {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
            raise TypeError(f"x must be a floating-point tensor, got {got}")
        if not self.training or self.sigma == 0.0:
            return x
        return x + self.sigma * torch.randn_like(x)

    def extra_repr(self) -> str:
        return f"sigma={self.sigma:g}"
