"""The answer key of Part I's exercises (see :mod:`trainwell.exercises`): each expected value is
computed here from the inputs the checking cell passes, so the cell never shows the answer."""
from __future__ import annotations

import math

from ..exercises import register
from .augmentation import RandomShift
from .experiments import augmentation_runs, constraint_tuning_runs, final_by_size, memorization_runs
from .proximal import soft_threshold


def _label_noise_run(data, fraction, seeds, epochs, hidden, eval_every):
    """Mean final validation accuracy of the memorization experiment at one fraction of random labels."""
    runs = memorization_runs(data, fractions=[fraction], seeds=range(seeds), epochs=epochs, hidden=hidden,
                             eval_every=eval_every)[fraction]
    return float(runs.final("val_acc").mean())


def _shift_gain(data, n, max_shift, image_shape, seeds, steps, hidden):
    """Mean gain in validation accuracy, in points, of shifts of up to ``max_shift`` pixels on n images."""
    runs = augmentation_runs(data, sizes=[n], seeds=range(seeds), steps=steps, hidden=hidden,
                             transform_builder=lambda: RandomShift(max_shift, image_shape))
    return float(100 * (final_by_size(runs["augmented"]) - final_by_size(runs["plain"])).mean())


def _loose_hidden_max_norm(data, lr, c, seeds, epochs):
    """Mean validation accuracy of max-norm on the hidden layers only, radius c, at learning rate lr."""
    grids = constraint_tuning_runs(data, lr=lr, alphas=[1e-4], max_norms=[c], seeds=range(seeds),
                                   epochs=epochs, output_layer=False)
    return float(grids["max-norm, hidden layers"][c].by_setting("val_acc").mean())


def _ball_multiplier(h, w_star, radius):
    """The α ≥ 0 with ‖w(α)‖ = radius, w_i(α) = h_i w*_i / (h_i + α): the norm falls as α grows, so
    bisection finds it (the constraint is active: ‖w*‖ > radius)."""
    def norm(alpha):
        return math.sqrt(sum((hi * wi / (hi + alpha)) ** 2 for hi, wi in zip(h, w_star, strict=True)))

    low, high = 0.0, 1.0
    while norm(high) > radius:
        high *= 2
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if norm(mid) > radius else (low, mid)
    return (low + high) / 2


def _momentum_decay(lr, weight_decay, momentum):
    """The larger root of z² − (1 − ηα + β) z + β = 0: the factor by which SGD with momentum β and
    weight_decay α shrinks a weight per step in the long run when the loss gradient is zero."""
    b = 1 - lr * weight_decay + momentum
    return (b + math.sqrt(b * b - 4 * momentum)) / 2

# section `reg-overfitting`
register("reg-ex-chance", "expected number of wrong labels after redrawing a fraction at random",
         lambda n, fraction, classes: n * fraction * (1 - 1 / classes), rtol=1e-9)
register("reg-ex-quarter-random", "final validation accuracy with a quarter of the labels random (a rerun)",
         _label_noise_run, atol=1e-3)

# section `reg-l2`
register("reg-ex-shrink", "fraction of the component kept along an eigenvector, lambda = 0.5, alpha = 2",
         lambda lam, alpha: lam / (lam + alpha), rtol=1e-9)
register("reg-ex-map", "ridge penalty for the MAP estimate, sigma = 3, tau = 0.5",
         lambda sigma, tau: sigma**2 / tau**2, rtol=1e-9)
register("reg-ex-momentum-decay", "long-run shrink factor per step of weight decay under SGD with momentum",
         _momentum_decay, rtol=1e-6)

# section `reg-l1`
register("reg-ex-threshold", "L1 solution of one coordinate of a diagonal quadratic",
         lambda w_star, H, alpha: soft_threshold(w_star, alpha / H), rtol=1e-9)
register("reg-ex-net-prox", "proximal step of the elastic-net penalty",
         lambda z, step, l1_ratio: soft_threshold(z, step * l1_ratio) / (1 + step * (1 - l1_ratio)),
         rtol=1e-6)

# section `reg-early-stopping`
register("reg-ex-early-alpha", "L2 penalty equivalent to stopping after tau steps of size eta",
         lambda eta, tau: 1 / (tau * eta), rtol=1e-9)
register("reg-ex-early-exact", "ridge alpha keeping what tau gradient steps keep along an eigen-direction",
         lambda lam, eta, tau: lam * (1 - eta * lam) ** tau / (1 - (1 - eta * lam) ** tau),
         rtol=1e-3)

# section `reg-noise`
register("reg-ex-noise-alpha", "L2 penalty equivalent to Gaussian input noise on a linear regression",
         lambda n, sigma: n * sigma**2, rtol=1e-9)
register("reg-ex-noise-ratio", "weight noise sigma over the RMS of a new Linear layer's weights",
         lambda sigma, fan_in: sigma * math.sqrt(3 * fan_in), rtol=1e-3)

# section `reg-spectral`
register("reg-ex-alpha-star", "penalty that minimizes one eigen-direction's squared bias plus variance",
         lambda sigma, theta: sigma**2 / theta**2, rtol=1e-9)
register("reg-ex-df", "effective degrees of freedom of ridge from the eigenvalues of X^T X",
         lambda eigenvalues, alpha: sum(lam / (lam + alpha) for lam in eigenvalues), rtol=1e-9)

# section `reg-constraints`
register("reg-ex-radius", "penalty with the same solution as an active L2 ball constraint, H = I",
         lambda norm, radius: norm / radius - 1, rtol=1e-9)
register("reg-ex-kkt-diagonal", "multiplier of an active L2 ball constraint on a diagonal quadratic",
         _ball_multiplier, rtol=1e-3)
register("reg-ex-loose-max-norm", "hidden-layer max-norm, loose radius, large learning rate (a rerun)",
         _loose_hidden_max_norm, atol=1e-3)

# section `reg-augmentation`
register("reg-ex-shifts", "number of distinct whole-pixel shifts of one image",
         lambda max_shift: (2 * max_shift + 1) ** 2, rtol=0.0)
register("reg-ex-wider-shifts", "gain in points from shifts of up to 4 pixels on 300 digits (a rerun)",
         _shift_gain, atol=0.05)
