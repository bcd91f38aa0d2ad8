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

The chapter's analysis tools:

* :mod:`~trainwell.optim.functions`: test functions (:class:`Quadratic`, :class:`Rosenbrock`,
  :class:`Saddle`) and the :func:`trajectory` a real optimizer takes on them;
* :mod:`~trainwell.optim.theory`: closed forms (momentum's rate on a quadratic, the survey's momentum
  and Nesterov forms against PyTorch's, Adam's bias, NAdam's schedule);
* :mod:`~trainwell.optim.reference`: the papers' own forms of the adaptive methods, as plain loops.
"""
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .nadam import NAdam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "NAdam"]

# The analysis tools of the chapter (test functions and trajectories, closed forms, the papers' forms).
from . import functions, reference, theory  # noqa: E402
from .functions import *  # noqa: E402,F403
from .reference import *  # noqa: E402,F403
from .theory import *  # noqa: E402,F403

__all__ += ["functions", "theory", "reference"] + functions.__all__ + theory.__all__ + reference.__all__
