"""Part I, regularization (section `part-regularization`): the algorithms the chapter derives and checks.

* :mod:`~trainwell.regularization.penalties`: J̃(θ) = J(θ) + α·Ω(θ) for ``fit(penalty=...)`` and
  ``fit_many(penalty=...)``: :class:`L2`, :class:`L1`, :class:`ElasticNet`, :class:`SmoothL1`, the
  rule :func:`penalized_names` for which parameters they take, and Part II's sparse-activity
  penalty :class:`ActivityL1`;
* :mod:`~trainwell.regularization.proximal`: :func:`soft_threshold`, the lasso / elastic-net solver
  :func:`ista` (scikit-learn's objective), :func:`regularization_path` by three methods, and the
  proximal step as a callback, :class:`ProximalL1`;
* :mod:`~trainwell.regularization.quadratic`: closed forms on linear regression and quadratics for
  the verification cells: :func:`ridge`, :func:`eigen_shrinkage`, :func:`lasso_diagonal`,
  :func:`gd_filter`, :func:`ridge_filter`, :func:`gradient_descent_linear`,
  :func:`noisy_input_loss`, :func:`constrained_optimum`, :func:`penalty_for_radius`;
* :mod:`~trainwell.regularization.spectral`: every linear regularizer in one currency: the filter
  :func:`~trainwell.regularization.spectral.filter_of` fitted weights apply along the data's
  eigen-directions, its :func:`~trainwell.regularization.spectral.degrees_of_freedom`, training on
  :func:`~trainwell.regularization.spectral.noisy_copies_fit`, and ridge's bias and variance per
  direction, in closed form and simulated;
* :mod:`~trainwell.regularization.explorer` (a module, ``tw.regularization.explorer``): the L1 and L2
  constraint regions with a quadratic's contours and the constrained optima, as a figure
  (:func:`~trainwell.regularization.explorer.draw_constraint_regions`) and as an interactive one
  that works without a kernel (:func:`~trainwell.regularization.explorer.constraint_explorer`);
* :mod:`~trainwell.regularization.constraints`: projections after every step: max-norm per unit
  (:func:`max_norm_`, :class:`MaxNorm`), an L2 ball over the weights (:func:`project_l2_ball_`,
  :class:`L2Ball`), and :func:`dead_units`;
* :mod:`~trainwell.regularization.augmentation`: :func:`shift_images`, :func:`rotate_images` and the
  transforms :class:`RandomShift`, :class:`RandomRotation`, :class:`RandomFlip`, :class:`Compose`;
* :mod:`~trainwell.regularization.noise`: noise on units (:class:`AdditiveGaussianNoise`), inputs
  (:class:`GaussianInputNoise`) and weights (:class:`WeightNoise`);
* :mod:`~trainwell.regularization.overfitting`: :func:`with_random_labels`.

Early stopping is the base callback :class:`trainwell.train.EarlyStopping`; how optimistic the score
of the epoch it restores is, :mod:`~trainwell.regularization.selection` measures
(:func:`~trainwell.regularization.selection.selection_optimism`). Smaller training sets are
``Dataset.subset_train``.
"""
# modules used as such: the constraints section's figures, early stopping's selection optimism
from . import explorer, selection  # noqa: F401
from .augmentation import Compose, RandomFlip, RandomRotation, RandomShift, rotate_images, shift_images
from .constraints import L2Ball, MaxNorm, dead_units, max_norm_, project_l2_ball_
from .noise import AdditiveGaussianNoise, GaussianInputNoise, WeightNoise
from .overfitting import with_random_labels
from .penalties import L1, L2, ActivityL1, DecoupledDecay, ElasticNet, SmoothL1, penalized_names
from .proximal import ProximalL1, ista, regularization_path, soft_threshold
from .quadratic import (
    constrained_optimum,
    eigen_shrinkage,
    gd_filter,
    gradient_descent_linear,
    lasso_diagonal,
    noisy_input_loss,
    penalty_for_radius,
    ridge,
    ridge_filter,
)

__all__ = [
    "ActivityL1", "AdditiveGaussianNoise", "Compose", "DecoupledDecay", "ElasticNet", "GaussianInputNoise",
    "L1", "L2",
    "L2Ball", "MaxNorm", "ProximalL1", "RandomFlip", "RandomRotation", "RandomShift", "SmoothL1",
    "WeightNoise",
    "constrained_optimum", "dead_units", "eigen_shrinkage", "gd_filter", "gradient_descent_linear", "ista",
    "lasso_diagonal", "max_norm_", "noisy_input_loss", "penalized_names", "penalty_for_radius",
    "project_l2_ball_", "regularization_path", "ridge", "ridge_filter", "rotate_images", "shift_images",
    "soft_threshold", "with_random_labels",
]
