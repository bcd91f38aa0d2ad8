"""Part II, dropout, from scratch: both conventions, the ensemble and its inference rules, the
closed forms, the variants, and dropout in practice.

* :mod:`~trainwell.dropout.core`: dropout in both conventions (section `dropout-bagging`);
* :mod:`~trainwell.dropout.ensembles`: masked sub-networks, exact and Monte Carlo ensembles,
  bagging and dropout boosting (sections `dropout-bagging`, `dropout-inference`);
* :mod:`~trainwell.dropout.theory`: the closed forms (sections `dropout-inference`,
  `dropout-linear`, `dropout-practice`);
* :mod:`~trainwell.dropout.variants`: Gaussian dropout, DropConnect, stochastic pooling
  (section `dropout-variants`);
* :mod:`~trainwell.dropout.practice`: the variance shift with batch norm, Monte Carlo uncertainty
  (section `dropout-practice`);
* :mod:`~trainwell.dropout.experiments`: the chapter's experiments.
"""
from .core import TORCH_DROPOUT_TYPES, Dropout, drop_to_keep, dropout, keep_to_drop
from .ensembles import (
    MAX_ENUMERATED_UNITS,
    BoostingMLP,
    MaskedMLP,
    bagging,
    bootstrap,
    bootstrap_indices,
    ensemble_predict,
    ensemble_probabilities,
    enumerate_masks,
    mask_probabilities,
    mc_predict,
)
from .practice import bn_variance_shift, predictive_uncertainty, recompute_bn_stats_without_dropout
from .theory import (
    dropout_linear_variance,
    dropout_regression_fit,
    expected_dropout_squared_loss,
    fast_dropout_moments,
    inverted_dropout_moments,
    softmax_regression_geometric_mean,
    wager_penalty,
)
from .variants import DropConnectLinear, GaussianDropout, StochasticPool2d, stochastic_pool2d

__all__ = [
    "keep_to_drop", "drop_to_keep", "dropout", "Dropout", "TORCH_DROPOUT_TYPES",
    "GaussianDropout", "DropConnectLinear", "stochastic_pool2d", "StochasticPool2d",
    "MaskedMLP", "MAX_ENUMERATED_UNITS", "enumerate_masks", "mask_probabilities", "ensemble_predict",
    "mc_predict", "bootstrap_indices", "bootstrap", "bagging", "ensemble_probabilities", "BoostingMLP",
    "softmax_regression_geometric_mean", "expected_dropout_squared_loss", "wager_penalty",
    "dropout_regression_fit",
    "fast_dropout_moments", "inverted_dropout_moments", "dropout_linear_variance",
    "bn_variance_shift", "recompute_bn_stats_without_dropout", "predictive_uncertainty",
]
