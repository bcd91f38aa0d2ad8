"""Part III, batch normalization, from scratch (Ioffe & Szegedy 2015), checked against PyTorch.

* :mod:`~trainwell.batchnorm.motivation`: normalization outside the gradient step fails
  (section `bn-motivation`);
* :mod:`~trainwell.batchnorm.algorithm1`: the batch normalizing transform and its backward pass by
  the paper's six formulas, as an autograd ``Function`` (section `bn-algorithm1`);
* :mod:`~trainwell.batchnorm.layers`: ``BatchNorm1d`` / ``BatchNorm2d`` with PyTorch's semantics
  and running statistics (section `bn-inference`);
* :mod:`~trainwell.batchnorm.inference`: Algorithm 2, population statistics and folding into the
  preceding layer (section `bn-inference`);
* :mod:`~trainwell.batchnorm.norms`: layer, instance and group norm (section `bn-beyond`);
* :mod:`~trainwell.batchnorm.distributed`, :mod:`~trainwell.batchnorm.data_parallel`: synchronized
  batch norm across workers (section `bn-beyond`);
* :mod:`~trainwell.batchnorm.experiments`: the chapter's experiments.
"""
from ..models import recompute_population_stats
from .algorithm1 import (
    BatchNormFunction,
    BNCache,
    batch_norm_backward,
    batch_norm_backward_compact,
    batch_norm_forward,
    normalize,
)
from .data_parallel import data_parallel_bn_step
from .distributed import run_data_parallel, sync_batch_stats
from .inference import fold_into_conv2d, fold_into_linear, inference_affine, population_stats
from .layers import BatchNorm, BatchNorm1d, BatchNorm2d
from .motivation import CenteredBias
from .norms import group_norm, instance_norm, layer_norm

__all__ = [
    "CenteredBias", "BNCache", "batch_norm_forward", "batch_norm_backward", "batch_norm_backward_compact",
    "BatchNormFunction", "normalize", "layer_norm", "instance_norm", "group_norm",
    "BatchNorm", "BatchNorm1d", "BatchNorm2d",
    "population_stats", "inference_affine", "fold_into_linear", "fold_into_conv2d",
    "sync_batch_stats", "run_data_parallel", "data_parallel_bn_step", "recompute_population_stats",
]
