"""Part V, putting it together (section `part-together`): the pitfalls checker and the ablation.
The one subpackage that may import every other part.

* :mod:`~trainwell.together.lint`: :func:`lint`, which reports the silent mistakes of a training
  set-up (weight decay on batch-norm parameters and biases, Adam's coupled weight decay, NAdam's
  ``momentum_decay=0``, Keras-style batch-norm momenta, dropout's ``p`` read as a keep probability,
  evaluation in training mode, batches too small for batch norm, dropout before batch norm, early
  stopping without restoring the best parameters) as :class:`LintWarning` objects, and
  :func:`weight_decay_groups`, the optimizer parameter groups that exempt normalization parameters
  and biases from weight decay;
* :mod:`~trainwell.together.experiments`: the ablation of the book's recipe, each technique switched
  off in the full recipe and on in the plain baseline, at a fixed and at a retuned learning rate,
  with paired bootstrap intervals over seeds.
"""
from .lint import LINT_CODES, LintWarning, lint, weight_decay_groups

__all__ = ["lint", "LintWarning", "LINT_CODES", "weight_decay_groups"]
