"""Part I, regularization: penalties, constraints by projection, and noise.

* :mod:`~trainwell.regularization.penalties`: penalties for ``fit(penalty=...)``, such as the
  sparse-activity penalty :class:`ActivityL1`;
* :mod:`~trainwell.regularization.constraints`: max-norm projection, as a function and as the
  callback :class:`MaxNorm`;
* :mod:`~trainwell.regularization.noise`: additive Gaussian noise as a layer.

Early stopping, which Part I also treats, is the base callback
:class:`trainwell.train.EarlyStopping`. Part I's own sections are still to be written
(section `part-regularization`); the tools here are those Part II already uses.
"""
from .constraints import MaxNorm, max_norm_
from .noise import AdditiveGaussianNoise
from .penalties import ActivityL1

__all__ = ["ActivityL1", "AdditiveGaussianNoise", "MaxNorm", "max_norm_"]
