"""Bad input to the training loop (tw.train, tw.stacked): one row per case, the call, the exception
type and a phrase the message must contain. fit_many's own cases are in test_fit_many.py."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import nn

import trainwell as tw
from trainwell.train import (
    EarlyStopping,
    History,
    LRScheduler,
    Record,
    RunState,
    Schedule,
    TrainState,
    fit,
    progress_enabled,
    repeat,
    settings_from_grid,
)
from trainwell.train.members import StackedModel

# Fixed data: the messages below quote label ranges, so the labels must not depend on the global RNG
# state at collection (an unseeded Y[:10] without a 0 once made "[0, 7]" read "[1, 7]")
X = torch.randn(40, 4, generator=torch.Generator().manual_seed(0))
Y = torch.arange(40) % 3
DATA = SimpleNamespace(X_train=X, y_train=Y, X_val=X[:10], y_val=Y[:10])


def net():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def sgd(p):
    return torch.optim.SGD(p, lr=0.1)


def _fit(**change):
    kwargs = dict(model=net(), data=DATA, optimizer=sgd, epochs=1, progress=False)
    kwargs.update(change)
    model = kwargs.pop("model")
    return fit(model, **kwargs)


def _data(**change):
    fields = dict(X_train=X, y_train=Y, X_val=X[:10], y_val=Y[:10])
    fields.update(change)
    return SimpleNamespace(**fields)


def _history():
    h = History()
    h.epochs.append({"epoch": 1, "val_loss": 1.0})
    return h


def _state():
    model = net()
    run = RunState(model=StackedModel.one(model), optimizer=sgd(model.parameters()),
                   histories=[History()], active=[True], device=torch.device("cpu"))
    return TrainState(run, model)


CASES = [
    # fit: the model, optimizer and sizes
    ("fit model not a module", lambda: _fit(model="net"), TypeError, "model must be a torch.nn.Module"),
    ("fit epochs zero", lambda: _fit(epochs=0), ValueError, "Invalid epochs: 0"),
    ("fit epochs float", lambda: _fit(epochs=2.0), TypeError, "epochs must be an integer"),
    ("fit batch size negative", lambda: _fit(batch_size=-4), ValueError, "Invalid batch_size: -4"),
    ("fit seed negative", lambda: _fit(seed=-1), ValueError, "Invalid seed: -1"),
    ("fit max steps zero", lambda: _fit(max_steps=0), ValueError, "Invalid max_steps: 0"),
    ("fit tolerate_divergence string", lambda: _fit(tolerate_divergence="yes"), TypeError,
     "tolerate_divergence must be True or False"),
    ("fit progress string", lambda: _fit(progress="yes"), TypeError, "progress must be True, False or None"),
    ("fit optimizer not callable", lambda: _fit(optimizer=0.1), TypeError,
     "optimizer must be a torch.optim.Optimizer or a function"),
    ("fit optimizer function returns junk", lambda: _fit(optimizer=lambda p: 0.1), TypeError,
     "the optimizer function returned float"),
    ("fit optimizer of another model", lambda: _fit(optimizer=sgd(net().parameters())), ValueError,
     "not the model's parameters"),
    ("fit loss unknown", lambda: _fit(loss="hinge"), ValueError, "Invalid loss: 'hinge'"),
    ("fit penalty not callable", lambda: _fit(penalty=0.1), TypeError, "penalty must be a function"),
    ("fit penalty not scalar", lambda: _fit(penalty=lambda m: torch.ones(3)), ValueError,
     "penalty(model) must return a scalar tensor"),
    ("fit transform not callable", lambda: _fit(transform="flip"), TypeError, "transform must be a function"),
    ("fit transform drops examples", lambda: _fit(transform=lambda x: x[:1]), ValueError,
     "transform must return a tensor with the batch's"),
    ("fit callbacks not a list", lambda: _fit(callbacks=EarlyStopping(2)), TypeError,
     "callbacks must be a list of callbacks"),
    ("fit callback of another kind", lambda: _fit(callbacks=[print]), TypeError,
     "callbacks must hold trainwell.train.Callback objects"),
    ("fit drop_last leaves nothing", lambda: _fit(batch_size=64, drop_last=True), ValueError,
     "leaves no mini-batch"),
    ("fit drop_last a string", lambda: _fit(drop_last="yes"), TypeError, "drop_last must be True or False"),
    ("fit two early stoppings", lambda: _fit(callbacks=[EarlyStopping(2), EarlyStopping(3)]), ValueError,
     "give at most one EarlyStopping"),
    ("fit batch norm on a last batch of one", lambda: _fit(
        model=nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 3)), batch_size=13), ValueError,
     "pass drop_last=True"),
    # fit: the data
    ("data without X_val", lambda: _fit(data=SimpleNamespace(X_train=X, y_train=Y)), TypeError,
     "X_val is missing"),
    ("data rows differ", lambda: _fit(data=_data(y_train=Y[:30])), ValueError,
     "X_train has 40 rows but y_train has 30"),
    ("data empty val", lambda: _fit(data=_data(X_val=X[:0], y_val=Y[:0])), ValueError,
     "the val split is empty"),
    ("data integer inputs", lambda: _fit(data=_data(X_train=(X * 10).long())), TypeError,
     "X_train must be a floating-point tensor"),
    ("data bool labels", lambda: _fit(data=_data(y_train=Y > 0)), TypeError,
     "y_train must hold integer class labels or float targets"),
    ("data val of another width", lambda: _fit(data=_data(X_val=torch.randn(10, 5))), ValueError,
     "X_train and X_val must share dtype and example shape"),
    ("data val of another dtype", lambda: _fit(data=_data(X_val=X[:10].double())), ValueError,
     "X_train and X_val must share dtype"),
    ("data labels against float targets", lambda: _fit(data=_data(y_val=Y[:10].float())), ValueError,
     "both be class labels or both float targets"),
    ("regression targets that would broadcast", lambda: _fit(
        model=nn.Linear(4, 1), loss="mse", data=_data(y_train=torch.randn(40), y_val=torch.randn(10))),
     ValueError, "a regression loss would broadcast them"),
    # the data, checked before the first step (issue 26): every split, not only what an epoch touches
    ("data nan in the training inputs", lambda: _fit(data=_data(X_train=_nan(X))), ValueError,
     "X_train holds 1 non-finite value(s)"),
    ("data inf in the validation inputs", lambda: _fit(data=_data(X_val=_nan(X[:10], float("inf")))),
     ValueError, "X_val holds 1 non-finite value(s)"),
    ("data nan in the test inputs", lambda: _fit(data=_data(X_test=_nan(X[:10]), y_test=Y[:10])),
     ValueError, "X_test holds 1 non-finite value(s)"),
    ("data nan regression target", lambda: _fit(
        model=nn.Linear(4, 1), loss="mse",
        data=_data(y_train=_nan(torch.randn(40, 1)), y_val=torch.randn(10, 1))),
     ValueError, "y_train holds 1 non-finite value(s)"),
    ("data validation label out of range", lambda: _fit(data=_data(y_val=_label(Y[:10], 7))), ValueError,
     "y_val holds class labels in [0, 7], outside [0, 2] for a model with 3 outputs"),
    ("data negative training label", lambda: _fit(data=_data(y_train=_label(Y, -1))), ValueError,
     "y_train holds class labels in [-1, 2]"),
    ("data test label out of range", lambda: _fit(data=_data(X_test=X[:10], y_test=_label(Y[:10], 3))),
     ValueError, "y_test holds class labels in [0, 3]"),
    ("data labels for a model without classes",
     lambda: _fit(model=nn.Sequential(nn.Linear(4, 3), nn.Flatten(0))),
     ValueError, "integer labels need class scores of shape (n, C)"),
    # callbacks
    ("early stopping patience zero", lambda: EarlyStopping(0), ValueError, "Invalid patience: 0"),
    ("early stopping monitor unknown", lambda: EarlyStopping(2, monitor="loss"), ValueError,
     "Invalid monitor: 'loss'"),
    ("early stopping restore string", lambda: EarlyStopping(2, restore_best="yes"), TypeError,
     "restore_best must be True or False"),
    ("early stopping min_delta negative", lambda: EarlyStopping(2, min_delta=-0.1), ValueError,
     "Invalid min_delta: -0.1"),
    ("record measure not callable", lambda: Record(3), TypeError, "measure must be a function"),
    ("record every zero", lambda: Record(lambda s: 0, every=0), ValueError, "Invalid every: 0"),
    ("record per unknown", lambda: Record(lambda s: 0, per="batch"), ValueError, "Invalid per: 'batch'"),
    ("scheduler not a scheduler", lambda: LRScheduler(0.5), TypeError,
     "scheduler must be a torch.optim.lr_scheduler object or a function"),
    ("scheduler per unknown", lambda: LRScheduler(lambda o: None, per="batch"), ValueError,
     "Invalid per: 'batch'"),
    ("scheduler of another optimizer", lambda: _fit(callbacks=[torch.optim.lr_scheduler.StepLR(
        sgd(net().parameters()), 1)]), ValueError, "attached to another optimizer"),
    ("plateau stepped per step", lambda: _fit(callbacks=[LRScheduler(
        lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o), per="step")]), ValueError,
     "ReduceLROnPlateau needs an epoch's metric"),
    ("schedule name not a string", lambda: Schedule(3, lambda e: 0.9), TypeError,
     "name must be a hyperparameter's name"),
    ("schedule not a function", lambda: Schedule("momentum", 0.9), TypeError,
     "schedule must be a function epoch -> value"),
    ("schedule of an unknown hyperparameter", lambda: _fit(callbacks=[Schedule("beta", lambda e: 0.9)]),
     ValueError, "has no hyperparameter 'beta'"),
    ("schedule giving a non-number", lambda: _fit(callbacks=[Schedule("lr", lambda e: None)]), ValueError,
     "must be a finite number"),
    ("schedule giving a negative learning rate", lambda: _fit(callbacks=[Schedule("lr", lambda e: -0.5)]),
     ValueError, "schedule(1) for 'lr': Invalid learning rate: -0.5"),
    ("schedule per step giving a negative momentum", lambda: _fit(
        optimizer=lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), epochs=3,
        callbacks=[Schedule("momentum", lambda t: 0.9 if t < 3 else -0.1, per="step")]), ValueError,
     "schedule(3) for 'momentum': Invalid momentum value: -0.1"),
    ("schedule of the book's SGD giving a negative weight decay", lambda: _fit(
        optimizer=lambda p: tw.optim.SGD(p, lr=0.1), callbacks=[Schedule("weight_decay", lambda e: -1e-3)]),
     ValueError, "Invalid weight_decay value: -0.001"),
    ("scheduler giving a negative learning rate", lambda: _fit(epochs=2, callbacks=[LRScheduler(
        lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1.0 - 2 * e))]), ValueError,
     "LRScheduler: LambdaLR: Invalid learning rate: -0.1"),
    ("record at_start string", lambda: Record(lambda s: 0, at_start="no"), TypeError,
     "at_start must be True or False"),
    ("stop without a reason", lambda: _state().stop(""), ValueError, "give the reason as a sentence"),
    # repeat, histories, progress
    ("repeat run not callable", lambda: repeat(3, [0]), TypeError, "run must be a function of the seed"),
    ("repeat no seeds", lambda: repeat(lambda s: s, []), ValueError, "seeds is empty"),
    ("repeat seeds repeated", lambda: repeat(lambda s: s, [1, 1]), ValueError, "seeds holds a seed twice"),
    ("repeat seeds a generator", lambda: repeat(lambda s: s, (s for s in [1])), TypeError,
     "seeds must be a list of integers"),
    ("threads zero", lambda: tw.config.threads(0).__enter__(), ValueError, "Invalid n: 0"),
    ("history metric unknown", lambda: _history().metric("val_acc"), ValueError, "Unknown metric 'val_acc'"),
    ("history empty", lambda: History().metric("val_loss"), ValueError, "no epoch has finished"),
    ("progress environment bad", lambda: _progress_env("maybe"), ValueError,
     "TRAINWELL_PROGRESS must be 0 or 1"),
    # grids and stacking
    ("grid not a grid", lambda: settings_from_grid(0.1), TypeError, "grid must be None, a dict of lists"),
    ("grid key not a name", lambda: settings_from_grid({1: [0.1]}), TypeError,
     "grid keys must be hyperparameter names"),
    ("grid list of numbers", lambda: settings_from_grid([0.1, 0.01]), TypeError,
     "must hold dicts of hyperparameters"),
    ("grid infinite value", lambda: settings_from_grid({"lr": [float("inf")]}), ValueError,
     "not a finite number"),
    ("stacked no models", lambda: StackedModel([]), TypeError, "models must be a non-empty list"),
    ("stacked group sizes wrong", lambda: StackedModel([net(), net()], [3]), ValueError,
     "must be positive and add up to the 2 members"),
    ("stacked generators wrong", lambda: StackedModel([net(), net()], generators=[torch.Generator()]),
     ValueError, "1 generators for 2 members"),
    ("stacked input without members", lambda: StackedModel([net(), net()])(X), ValueError,
     "x must have the 2 members along dimension 0"),
]


def _nan(t: torch.Tensor, value: float = float("nan")) -> torch.Tensor:
    t = t.clone()
    t.view(-1)[0] = value
    return t


def _label(y: torch.Tensor, label: int) -> torch.Tensor:
    y = y.clone()
    y[-1] = label
    return y


def _progress_env(value):
    import os

    old = os.environ.get("TRAINWELL_PROGRESS")
    os.environ["TRAINWELL_PROGRESS"] = value
    try:
        return progress_enabled(None)
    finally:
        if old is None:
            del os.environ["TRAINWELL_PROGRESS"]
        else:
            os.environ["TRAINWELL_PROGRESS"] = old


@pytest.mark.parametrize("case, call, error, phrase", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(case, call, error, phrase):
    with pytest.raises(error) as info:
        call()
    assert phrase in str(info.value), str(info.value)


def test_the_table_is_large_and_its_ids_unique():
    assert len(CASES) >= 50
    assert len({c[0] for c in CASES}) == len(CASES)


def test_a_refused_fit_changes_nothing():
    model = net()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError):
        fit(model, _data(y_train=Y[:30]), optimizer=sgd, epochs=1, progress=False)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert tw.models.count_parameters(model) == 67
