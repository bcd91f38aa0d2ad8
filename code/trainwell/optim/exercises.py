"""The answer key of Part IV's exercises (see :mod:`trainwell.exercises`): each expected value is
computed here from the inputs the checking cell passes, so the cell never shows the answer."""
from __future__ import annotations

import math

from ..exercises import register
from .theory import momentum_effective_step

# section `opt-sgd-momentum`
register("opt-ex-effective-step", "settled step size for eta = 0.01 and gamma = 0.99",
         lambda lr, gamma: momentum_effective_step(lr, gamma), rtol=1e-9)


def _steps_ratio(kappa):
    root = math.sqrt(kappa)
    return math.log((root - 1) / (root + 1)) / math.log((kappa - 1) / (kappa + 1))


register("opt-ex-condition", "steps of gradient descent per step of momentum, kappa = 1e4", _steps_ratio,
         rtol=1e-6)

# section `opt-nesterov`
register("opt-ex-rates", "steps to reach the target error at orders 1/k and 1/k^2",
         lambda steps, error, target: [steps * error / target, steps * math.sqrt(error / target)],
         rtol=1e-9)

# section `opt-adaptive`
register("opt-ex-adagrad-step", "Adagrad's 100th step under a constant gradient",
         lambda lr, t: lr / math.sqrt(t), rtol=1e-9)
register("opt-ex-rmsprop-first", "RMSprop's first step in units of eta", lambda rho: 1 / math.sqrt(1 - rho),
         rtol=1e-9)

# section `opt-adam`
register("opt-ex-adam-factor", "1 - beta2^t for beta2 = 0.999 after 100 steps",
         lambda beta2, t: 1 - beta2**t, rtol=1e-9)
register("opt-ex-adam-sign", "Adam's first step in units of eta",
         lambda beta1, beta2: (1 - beta1) / (1 - beta1) * math.sqrt(1 - beta2) / math.sqrt(1 - beta2),
         rtol=1e-9)

# section `opt-adamw-nadam`
register("opt-ex-adamw-decay", "the factor of AdamW's decay after 10,000 steps at its defaults",
         lambda lr, weight_decay, steps: (1 - lr * weight_decay) ** steps, rtol=1e-9)

# section `opt-side-by-side`
register("opt-ex-budget", "optimizers that 35 runs allow under the section's protocol",
         lambda budget, rates, tune_seeds, test_seeds: budget // (rates * tune_seeds + test_seeds))
