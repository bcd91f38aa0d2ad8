"""Variants of dropout (section `dropout-variants`): Gaussian multiplicative noise, DropConnect
and stochastic pooling."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .._validate import check_bool, check_float, check_int
from .core import _batch, _floating, _generator, _keep


class GaussianDropout(nn.Module):
    """Multiplicative Gaussian noise y = μ ⊙ x with μ_i ~ N(1, σ²) in training, identity at inference
    (Srivastava et al. 2014; section `dropout-variants`). E[μ] = 1, so no weight scaling is needed;
    σ² = (1 − keep)/keep gives inverted Bernoulli dropout's variance (:meth:`matching`)."""

    def __init__(self, sigma: float):
        super().__init__()
        self.sigma = check_float("sigma", sigma, minimum=0.0)

    @classmethod
    def matching(cls, keep: float) -> GaussianDropout:
        """The Gaussian dropout with the variance of inverted Bernoulli dropout at ``keep``."""
        keep = _keep(keep)
        return cls(math.sqrt((1.0 - keep) / keep))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _floating("x", x)
        if not self.training or self.sigma == 0.0:
            return x
        return x * (1.0 + self.sigma * torch.randn_like(x))

    def extra_repr(self) -> str:
        return f"sigma={self.sigma:g}"


class DropConnectLinear(nn.Linear):
    """A linear layer that drops individual *weights* (Wan et al. 2013; section `dropout-variants`).

    Training: each example i gets its own mask M_i ~ Bernoulli(keep) over the weight matrix and
    y_i = ((W ⊙ M_i) x_i) / keep + b (inverted scaling; the bias is not dropped). Inference: the mean
    network y = W x + b. (Wan et al. instead match the Gaussian moments of the pre-activation at
    inference; the mean network is the weight-scaling analogue.) Memory grows as batch × out × in.
    """

    def __init__(self, in_features: int, out_features: int, keep: float = 0.5, bias: bool = True):
        in_features = check_int("in_features", in_features, minimum=1)
        out_features = check_int("out_features", out_features, minimum=1)
        keep, bias = _keep(keep), check_bool("bias", bias)  # checked before any weight is drawn
        super().__init__(in_features, out_features, bias=bias)
        self.keep = keep

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _batch(x, self.in_features, self.weight, "DropConnectLinear")
        if not self.training:
            return F.linear(x, self.weight, self.bias)
        masks = torch.rand(x.shape[0], *self.weight.shape, device=x.device) < self.keep
        y = torch.einsum("noi,ni->no", self.weight * masks, x) / self.keep
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return super().extra_repr() + f", keep={self.keep}"


def stochastic_pool2d(x: torch.Tensor, kernel: int, *, training: bool,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """Stochastic pooling (Zeiler & Fergus 2013; section `dropout-variants`) over non-overlapping
    ``kernel × kernel`` regions of a non-negative (N, C, H, W) input (e.g. after a ReLU).

    In region R the activations a_i get probabilities p_i = a_i / Σ_{j∈R} a_j. Training: output one
    a_i drawn with probability p_i. Inference: the probability-weighted average Σ_i p_i a_i, which is
    the expectation of the training output. A region of zeros outputs 0.
    """
    kernel, training = check_int("kernel", kernel, minimum=1), check_bool("training", training)
    if _floating("x", x).ndim != 4 or x.shape[2] % kernel or x.shape[3] % kernel:
        raise ValueError(f"stochastic_pool2d needs (N, C, H, W) input x with H and W divisible by kernel "
                         f"{kernel}, got shape {tuple(x.shape)}")
    _generator(generator, x.device)
    if not bool(((x >= 0) & (x < math.inf)).all()):  # one reduction catches negatives, NaN and inf
        _nonnegative_error(x)
    n, c, h, w = x.shape
    regions = x.unfold(2, kernel, kernel).unfold(3, kernel, kernel)  # (N, C, H/k, W/k, k, k)
    regions = regions.reshape(n, c, h // kernel, w // kernel, kernel * kernel)
    total = regions.sum(-1, keepdim=True)
    p = torch.where(total > 0, regions / total.clamp_min(1e-30), torch.full_like(regions, 1.0 / kernel ** 2))
    if not training:
        return (p * regions).sum(-1)
    pick = torch.multinomial(p.detach().reshape(-1, kernel * kernel), 1, generator=generator)
    return regions.reshape(-1, kernel * kernel).gather(1, pick).reshape(n, c, h // kernel, w // kernel)


def _nonnegative_error(x: torch.Tensor):
    if (x < 0).any():
        raise ValueError(f"stochastic_pool2d needs non-negative activations x (apply a ReLU first), got "
                         f"{x.min().item():g}")
    raise ValueError("stochastic_pool2d needs finite non-negative activations x, got NaN or inf, which would "
                     "turn the region's probabilities into NaN")


class StochasticPool2d(nn.Module):
    """:func:`stochastic_pool2d` as a layer following ``train()`` / ``eval()``."""

    def __init__(self, kernel: int = 2):
        super().__init__()
        self.kernel = check_int("kernel", kernel, minimum=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return stochastic_pool2d(x, self.kernel, training=self.training)

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}"
