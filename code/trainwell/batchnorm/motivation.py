"""Normalization done outside the gradient step, the failure that motivates batch norm
(section `bn-motivation`; Ioffe & Szegedy 2015, section 2)."""
from __future__ import annotations

import torch
from torch import nn

from .._validate import check_bool, check_tensor


class CenteredBias(nn.Module):
    """x = u + b followed by centring, x̂ = x − E[x] over the batch, with one learned bias b.

    With ``through_mean=True`` the gradient flows through E[x], so ∂ℓ/∂b = mean(∂ℓ/∂x̂) −
    mean(∂ℓ/∂x̂) = 0 and b never moves. With ``through_mean=False`` E[x] is computed from the data
    but treated as a constant by the gradient (normalization "outside" the optimization): then
    ∂ℓ/∂b = mean(∂ℓ/∂x̂), which is not zero when the targets have a mean the centred x̂ cannot
    produce, so b moves at every step while x̂ = u − E[u], and hence the loss, never changes.
    Inputs have shape (N, 1) with N >= 1 and the bias's floating-point ``dtype``."""

    def __init__(self, *, through_mean: bool, dtype=torch.float32):
        super().__init__()
        self.through_mean = check_bool("through_mean", through_mean)
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"Invalid dtype: {dtype!r} (must be a floating-point torch.dtype, e.g. "
                            "torch.float32)")
        self.b = nn.Parameter(torch.zeros((), dtype=dtype))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        check_tensor("u", u, shape=(None, 1), nonempty=True)
        if u.dtype != self.b.dtype or u.device != self.b.device:
            raise TypeError(f"u is {u.dtype} on {u.device} but the bias is {self.b.dtype} on "
                            f"{self.b.device}; convert one of them")
        x = u + self.b
        mean = x.mean() if self.through_mean else x.mean().detach()
        return x - mean

    def extra_repr(self) -> str:
        return f"through_mean={self.through_mean}"
