"""The answer key of Part II's exercises (see :mod:`trainwell.exercises`): each expected value is
computed here from the inputs the checking cell passes, so the cell never shows the answer."""
from __future__ import annotations

import torch
from torch import nn

from ..exercises import register
from ..regularization import max_norm_
from .core import TORCH_DROPOUT_TYPES, drop_to_keep
from .ensembles import mask_probabilities
from .theory import inverted_dropout_moments
from .variants import GaussianDropout, stochastic_pool2d

# section `dropout-bagging`
register("do-ex-bootstrap", "probability that an image is in no member's resample",
         lambda n, k: (1 - 1 / n) ** (n * k), rtol=1e-9)
register("do-ex-corr", "largest covariance that halves the squared error",
         lambda k, v: (v / 2 - v / k) * k / (k - 1), rtol=1e-9)


# section `dropout-inference`
def _weighted_geometric_mean(masks, v, W, bias, keep):
    weights = mask_probabilities(masks, keep)
    return torch.softmax((weights[:, None] * torch.log_softmax((masks * v) @ W + bias, 1)).sum(0), 0)


register("do-ex-keep", "scaled softmax regression equals the weighted geometric mean",
         _weighted_geometric_mean, atol=1e-12,
         prepare=lambda factor, v, W, bias: torch.softmax(factor * v @ W + bias, 0))

# section `dropout-linear`
register("do-ex-ridge", "ridge coefficient equivalent to input dropout",
         lambda n, keep: (1 - keep) / keep * n, rtol=1e-12)


# section `dropout-practice`
def _variance_shift(mean, var, torch_p):
    train_var = inverted_dropout_moments(mean, var, drop_to_keep(torch_p))[1].item()
    return [train_var, (var / train_var) ** 0.5]


register("do-ex-shift", "recorded training variance and the shrink factor of the normalized value",
         _variance_shift, rtol=1e-6)


def _modes(model):
    return [float(m.training) for m in model.modules() if m is not model]


register("do-ex-mc-mode", "dropout layers in training mode, all other layers in eval mode",
         lambda net: [float(isinstance(m, TORCH_DROPOUT_TYPES)) for m in net.modules() if m is not net],
         prepare=lambda answer, net: _modes(net))


# section `dropout-regularizers`
def _max_norm_projection(w, c):
    layer = nn.Linear(len(w), 1, bias=False).double()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([w], dtype=torch.float64))
    max_norm_(layer, c)
    return layer.weight.detach()[0]


register("do-ex-maxnorm", "max-norm projection of (3, 4) onto the ball of radius 2", _max_norm_projection,
         rtol=1e-9)
register("do-ex-decay", "shrink factor of weight decay after 100 steps",
         lambda lr, weight_decay, steps: (1 - lr * weight_decay) ** steps, rtol=1e-9)

# section `dropout-variants`
register("do-ex-gauss-sigma", "sigma of Gaussian dropout matching q = 0.8",
         lambda keep: GaussianDropout.matching(keep).sigma, rtol=1e-9)
register("do-ex-stochpool", "test-time stochastic pooling of (1, 3, 0, 4)",
         lambda region: stochastic_pool2d(region, region.shape[-1], training=False).item(), rtol=1e-9)
