"""Part IV, optimization: seven optimizers from scratch, one file per optimizer as in ``torch/optim``
(section `part-optimization`), each a ``torch.optim.Optimizer`` with PyTorch's constructor, defaults,
state names and state dicts, taking the same steps as PyTorch's to the last bit.

* :mod:`~trainwell.optim.sgd`: :class:`SGD`, plain, with momentum or Nesterov momentum;
* :mod:`~trainwell.optim.adagrad`: :class:`Adagrad`, steps divided by the root of summed squares;
* :mod:`~trainwell.optim.adadelta`: :class:`Adadelta`, a ratio of two running root mean squares;
* :mod:`~trainwell.optim.rmsprop`: :class:`RMSprop`, a running root mean square, optionally centered;
* :mod:`~trainwell.optim.adam`: :class:`Adam`, bias-corrected moments, AMSGrad;
* :mod:`~trainwell.optim.adamw`: :class:`AdamW`, Adam with decoupled weight decay;
* :mod:`~trainwell.optim.nadam`: :class:`NAdam`, Adam with Nesterov momentum;
* :mod:`~trainwell.optim._common`: what they share (argument checks, the gradient prelude, the base
  class that refuses PyTorch's ``foreach``/``fused``/``capturable``/``differentiable`` switches).
"""
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .nadam import NAdam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "NAdam"]
