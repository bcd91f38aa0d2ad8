"""The answer key of Part III's exercises (see :mod:`trainwell.exercises`): each expected value is
computed here from the inputs the checking cell passes, so the cell never shows the answer."""
from __future__ import annotations

import math

from ..exercises import register
from .algorithm1 import batch_norm_forward
from .experiments import figure1_run
from .norms import layer_norm

# section `bn-algorithm1`
register("bn-ex-m1", "Algorithm 1 output for a batch of one example (gamma=1, beta=0)",
         lambda x: batch_norm_forward(x, None, None, dims=(0,))[0], atol=1e-12)
register("bn-ex-shift", "shifting a batch leaves batch norm's output unchanged",
         lambda x, gamma, beta: batch_norm_forward(x, gamma, beta, dims=(0,))[0], atol=1e-12)

# section `bn-motivation`
register("bn-ex-outside-scale", "normalizing by the standard deviation removes a scale a > 0",
         lambda u: u / u.std(), atol=1e-12)

# section `bn-inference`
register("bn-ex-ema-memory", "steps until the initial running mean weighs less than 1%",
         lambda momentum, fraction: math.ceil(math.log(fraction) / math.log(1 - momentum)))
register("bn-ex-fold-keras", "PyTorch momentum equivalent to Keras momentum 0.9",
         lambda keras_momentum: 1 - keras_momentum, atol=1e-12)

# section `bn-conv-lr`
register("bn-ex-effective-lr", "effective step factor for a = 4", lambda a: 1 / a ** 2, atol=1e-12)

# section `bn-figure1`
register("bn-ex-fig1-lr", "plain network, lr=0.5, final test accuracy",
         lambda data, steps: figure1_run(data, bn=False, steps=steps, eval_every=steps, lr=0.5,
                                         seed=0)["test_acc"][-1], atol=1e-6)

# section `bn-beyond`
register("bn-ex-groupnorm-limits", "group norm with G = 1 equals layer norm",
         lambda x: layer_norm(x, x.ndim - 1), atol=1e-12)
