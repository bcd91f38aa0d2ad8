"""``tw.train``: the one training loop every chapter uses, and the callbacks that extend it.

:func:`fit` trains one model; :func:`fit_many` trains one member per (setting, seed) side by side, each
the run its own :func:`fit` would make. Both are one run of the same loop (:mod:`.loop`), on the
members of a :class:`~.members.StackedModel` (for :func:`fit`, its one model, run as it is). The loop
keeps the whole (small) dataset on the device, shuffles with each member's own seeded generator, and
ends every epoch with an evaluation pass in eval mode over the training and validation splits
(the train/eval gap of dropout and batch norm is then visible in the history).

Everything else is a :class:`Callback`, called after every optimizer step and after every epoch,
and able to stop training: :class:`EarlyStopping` (patience, restoring the best parameters, member
by member), :class:`Record` (a measurement every n steps or epochs), :class:`HeldOut` (a further
split scored every epoch, to be read at an epoch chosen on validation), :class:`LRScheduler` (any
``torch.optim.lr_scheduler`` object, or one built on the run's optimizer), :class:`Schedule` (any
hyperparameter), and the projections of Part I (:class:`trainwell.regularization.MaxNorm`). A
``transform`` changes every training mini-batch (augmentation, input noise); a ``penalty`` is added
to every mini-batch's loss.

The modules: :mod:`.api` (fit, fit_many, repeat), :mod:`.loop` (the loop), :mod:`.state` (what a
callback sees), :mod:`.callbacks`, :mod:`.checks` (what is checked before the first step),
:mod:`.members` (M networks as one), :mod:`.scoring` (the members' losses and scores), :mod:`.results`
(History, Runs), :mod:`.grid`, :mod:`.progress`.
"""
from ..metrics import evaluate
from .api import fit, fit_many, repeat
from .callbacks import (
    MONITORS,
    Callback,
    EarlyStopping,
    HeldOut,
    LRScheduler,
    Record,
    Schedule,
    check_hyperparameter,
)
from .grid import settings_from_grid
from .members import StackedModel, StackError, member_rng
from .progress import progress_enabled
from .results import History, Runs
from .state import RunState, TrainState

__all__ = [
    "MONITORS", "Callback", "EarlyStopping", "HeldOut", "History", "LRScheduler", "Record", "RunState",
    "Runs", "Schedule", "StackError", "StackedModel", "TrainState", "check_hyperparameter", "evaluate", "fit",
    "fit_many", "member_rng", "progress_enabled", "repeat", "settings_from_grid",
]
