"""The answer key of Part I's exercises (see :mod:`trainwell.exercises`): each expected value is
computed here from the inputs the checking cell passes, so the cell never shows the answer."""
from __future__ import annotations

from ..exercises import register
from .proximal import soft_threshold

# section `reg-overfitting`
register("reg-ex-chance", "expected number of wrong labels after redrawing a fraction at random",
         lambda n, fraction, classes: n * fraction * (1 - 1 / classes), rtol=1e-9)

# section `reg-l2`
register("reg-ex-shrink", "fraction of the component kept along an eigenvector, lambda = 0.5, alpha = 2",
         lambda lam, alpha: lam / (lam + alpha), rtol=1e-9)
register("reg-ex-map", "ridge penalty for the MAP estimate, sigma = 3, tau = 0.5",
         lambda sigma, tau: sigma**2 / tau**2, rtol=1e-9)

# section `reg-l1`
register("reg-ex-threshold", "L1 solution of one coordinate of a diagonal quadratic",
         lambda w_star, H, alpha: soft_threshold(w_star, alpha / H), rtol=1e-9)

# section `reg-early-stopping`
register("reg-ex-early-alpha", "L2 penalty equivalent to stopping after tau steps of size eta",
         lambda eta, tau: 1 / (tau * eta), rtol=1e-9)

# section `reg-noise`
register("reg-ex-noise-alpha", "L2 penalty equivalent to Gaussian input noise on a linear regression",
         lambda n, sigma: n * sigma**2, rtol=1e-9)

# section `reg-spectral`
register("reg-ex-alpha-star", "penalty that minimizes one eigen-direction's squared bias plus variance",
         lambda sigma, theta: sigma**2 / theta**2, rtol=1e-9)
register("reg-ex-df", "effective degrees of freedom of ridge from the eigenvalues of X^T X",
         lambda eigenvalues, alpha: sum(lam / (lam + alpha) for lam in eigenvalues), rtol=1e-9)

# section `reg-constraints`
register("reg-ex-radius", "penalty with the same solution as an active L2 ball constraint, H = I",
         lambda norm, radius: norm / radius - 1, rtol=1e-9)

# section `reg-augmentation`
register("reg-ex-shifts", "number of distinct whole-pixel shifts of one image",
         lambda max_shift: (2 * max_shift + 1) ** 2, rtol=0.0)
