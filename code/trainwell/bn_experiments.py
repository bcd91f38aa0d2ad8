"""Experiments of the batch-normalization chapter (Part III) that more than one cell needs.

* :func:`outside_gradient_demo`: the paper's example of normalization done outside the gradient
  step, where a bias grows without bound while the loss does not move (section 1).
* :func:`figure1_net`, :func:`figure1_run`: the paper's Figure 1 network and run (section 6).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ._validate import check_float, check_int
from .config import module_device, register_sizes
from .train import fit

register_sizes(
    "batchnorm.figure1",
    quick={"steps": 6000, "eval_every": 200, "seeds": 3},
    full={"steps": 50000, "eval_every": 500, "seeds": 5},
)

PERCENTILES = (15, 50, 85)


def outside_gradient_demo(u: torch.Tensor, target: torch.Tensor, *, steps: int, lr: float,
                          through_mean: bool) -> dict[str, np.ndarray]:
    """Gradient descent on a bias b in x = u + b, x̂ = x − E[x], loss = mean((x̂ − target)²).

    With ``through_mean=False`` the mean E[x] is computed from the data but treated as a constant
    by the gradient step (normalization "outside" the optimization): ∂ℓ/∂b = mean(∂ℓ/∂x̂), which is
    not zero when the targets have a mean the centred x̂ cannot produce, so b moves every step, yet
    x̂ = u − E[u] never changes and neither does the loss. With ``through_mean=True`` the gradient
    flows through E[x] and ∂ℓ/∂b = mean(∂ℓ/∂x̂) − mean(∂ℓ/∂x̂) = 0. Returns per-step ``b``, ``loss``
    and ``grad`` (Part III, section 1; Ioffe & Szegedy 2015, section 2).
    """
    steps = check_int("steps", steps, minimum=1)
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    if u.shape != target.shape or u.ndim != 1:
        raise ValueError(f"u and target must be 1-D of one length, got {tuple(u.shape)} and "
                         f"{tuple(target.shape)}")
    b = torch.zeros((), dtype=u.dtype, requires_grad=True)
    record = {"b": [], "loss": [], "grad": []}
    for _ in range(steps):
        x = u + b
        mean = x.mean() if through_mean else x.mean().detach()
        loss = ((x - mean - target) ** 2).mean()
        (grad,) = torch.autograd.grad(loss, b)
        with torch.no_grad():
            b -= lr * grad
        record["b"].append(b.item())
        record["loss"].append(loss.item())
        record["grad"].append(grad.item())
    return {k: np.array(v) for k, v in record.items()}


def figure1_net(n_in: int, n_out: int, *, bn: bool, hidden: int = 100, depth: int = 3,
                init_std: float = 0.1) -> nn.Sequential:
    """The network of the paper's Figure 1 (Part III, section 6): ``depth`` fully connected hidden
    layers of ``hidden`` sigmoid units, weights drawn from N(0, init_std²), biases zero. With
    ``bn=True`` every hidden layer is Linear → BatchNorm1d → sigmoid and the Linear has no bias
    (β takes its place). The last sigmoid's input is ``net[-3]``'s output in both variants."""
    n_in = check_int("n_in", n_in, minimum=1)
    n_out = check_int("n_out", n_out, minimum=1)
    check_int("hidden", hidden, minimum=1)
    check_int("depth", depth, minimum=1)
    init_std = check_float("init_std", init_std, minimum=0.0, min_inclusive=False)
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(depth):
        layers.append(nn.Linear(width, hidden, bias=not bn))
        if bn:
            layers.append(nn.BatchNorm1d(hidden))
        layers.append(nn.Sigmoid())
        width = hidden
    layers.append(nn.Linear(width, n_out))
    net = nn.Sequential(*layers)
    for module in net:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=init_std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return net


def figure1_run(data, *, bn: bool, steps: int, eval_every: int, lr: float, seed: int, unit: int = 0,
                batch_size: int = 60, device=None) -> dict[str, np.ndarray]:
    """Train :func:`figure1_net` with plain SGD on cross-entropy and record, every ``eval_every``
    steps, the test accuracy and the 15th, 50th and 85th percentiles over the test set of the input
    to sigmoid ``unit`` of the last hidden layer (the paper's Figure 1 a, b, c).

    Returns ``step`` (evaluation points), ``test_acc``, ``percentiles`` (shape (len(step), 3)) and
    ``history`` (the :class:`~trainwell.train.History`).
    """
    steps = check_int("steps", steps, minimum=1)
    eval_every = check_int("eval_every", eval_every, minimum=1, maximum=steps)
    torch.manual_seed(seed)
    net = figure1_net(data.n_features, data.n_classes, bn=bn)
    check_int("unit", unit, minimum=0, maximum=net[-3].num_features - 1 if bn else net[-3].out_features - 1)
    X_test, y_test = data.X_test, data.y_test
    record = {"step": [], "test_acc": [], "percentiles": []}
    captured = {}
    hook = net[-3].register_forward_hook(lambda mod, inp, out: captured.__setitem__("z", out[:, unit]))

    def evaluate_now(step, model):
        if step % eval_every:
            return
        model.eval()
        with torch.no_grad():
            xs = X_test.to(module_device(model))
            logits = model(xs)
            acc = (logits.argmax(1).cpu() == y_test).float().mean().item()
            z = captured["z"].float().cpu()
        model.train()
        record["step"].append(step)
        record["test_acc"].append(acc)
        record["percentiles"].append(torch.quantile(z, torch.tensor(PERCENTILES) / 100.0).numpy())

    epochs = math.ceil(steps / math.ceil(len(data.y_train) / batch_size))
    try:
        history = fit(net, data, optimizer=lambda p: torch.optim.SGD(p, lr=lr), epochs=epochs,
                      batch_size=batch_size, after_step=evaluate_now, max_steps=steps, seed=seed,
                      device=device, progress=False)
    finally:
        hook.remove()
    return {"step": np.array(record["step"]), "test_acc": np.array(record["test_acc"]),
            "percentiles": np.array(record["percentiles"]), "history": history}


register_sizes(
    "batchnorm.ema_lag",
    quick={"steps": 60, "eval_every": 3, "seeds": 5},
    full={"steps": 400, "eval_every": 5, "seeds": 10},
)


def ema_lag_run(data, *, steps: int, eval_every: int, lr: float, seed: int, width: int = 256,
                batch_size: int = 64) -> dict[str, np.ndarray]:
    """Test accuracy of a batch-norm MLP early in training, evaluated two ways (Part III, section 4):
    with PyTorch's running statistics (an exponential moving average, momentum 0.1) and with
    Algorithm 2's population statistics recomputed over the training set for the current weights.

    Returns ``step``, ``ema_acc`` and ``population_acc``.
    """
    import copy

    from .batchnorm import recompute_population_stats
    from .models import mlp
    from .train import evaluate

    steps = check_int("steps", steps, minimum=1)
    eval_every = check_int("eval_every", eval_every, minimum=1, maximum=steps)
    torch.manual_seed(seed)
    net = mlp([data.n_features, width, width, data.n_classes], norm=nn.BatchNorm1d)
    record = {"step": [], "ema_acc": [], "population_acc": []}

    def after_step(step, model):
        if step % eval_every:
            return
        record["step"].append(step)
        record["ema_acc"].append(evaluate(model, data.X_test, data.y_test)["acc"])
        frozen = copy.deepcopy(model)
        recompute_population_stats(frozen, data.X_train, batch_size)
        record["population_acc"].append(evaluate(frozen, data.X_test, data.y_test)["acc"])

    epochs = math.ceil(steps / math.ceil(len(data.y_train) / batch_size))
    fit(net, data, optimizer=lambda p: torch.optim.SGD(p, lr=lr), epochs=epochs, batch_size=batch_size,
        after_step=after_step, max_steps=steps, seed=seed, progress=False)
    return {k: np.array(v) for k, v in record.items()}


def figure1_data(seed: int = 0):
    """The dataset of the Figure 1 run: MNIST at the full size when it can be downloaded, otherwise
    (and always at the quick size) scikit-learn's 8×8 digits. Returns ``(dataset, note)``."""
    from .config import size
    from .data import DatasetUnavailable, load

    if size() == "full":
        try:
            return load("mnist", seed=seed), "MNIST (28x28), as in the paper"
        except DatasetUnavailable:
            return load("digits", seed=seed), "the 8x8 digits (MNIST could not be downloaded)"
    return load("digits", seed=seed), "the 8x8 digits (quick size)"


BN_POSITIONS = ("none", "before", "after")


def small_convnet(n_classes: int = 10, *, bn: str = "before", channels: tuple[int, int] = (16, 32)
                  ) -> nn.Sequential:
    """A two-layer convolutional network for 1×8×8 digits (Part III, section 4 on convolutional BN).

    ``bn="before"``: conv → BatchNorm2d → ReLU, as in the paper (the conv then has no bias, since β
    replaces it); ``"after"``: conv → ReLU → BatchNorm2d; ``"none"``: conv → ReLU. Global average
    pooling and a linear layer give the class scores.
    """
    if bn not in BN_POSITIONS:
        raise ValueError(f"Invalid bn: {bn!r} (allowed: {', '.join(map(repr, BN_POSITIONS))})")
    layers: list[nn.Module] = []
    width = 1
    for out in channels:
        layers.append(nn.Conv2d(width, out, 3, padding=1, bias=bn != "before"))
        if bn == "before":
            layers += [nn.BatchNorm2d(out), nn.ReLU()]
        elif bn == "after":
            layers += [nn.ReLU(), nn.BatchNorm2d(out)]
        else:
            layers.append(nn.ReLU())
        width = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, n_classes)]
    return nn.Sequential(*layers)


register_sizes(
    "batchnorm.conv_position",
    quick={"epochs": 15, "seeds": 3},
    full={"epochs": 60, "seeds": 10},
)
register_sizes(
    "batchnorm.lr_sweep",
    quick={"epochs": 8, "seeds": 3, "learning_rates": (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)},
    full={"epochs": 40, "seeds": 10, "learning_rates": (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)},
)


def lr_sweep_run(data, *, lr: float, bn: bool, epochs: int, seed: int, depth: int = 4, width: int = 128,
                 batch_size: int = 64) -> dict[str, float]:
    """Train a ReLU MLP (``depth`` hidden layers) with plain SGD at one learning rate, with or without
    batch norm before every nonlinearity (Part III, section 5). Returns the final validation accuracy
    (chance level if training diverged) and whether it diverged."""
    from .models import mlp

    torch.manual_seed(seed)
    net = mlp([data.n_features] + [width] * depth + [data.n_classes], norm=nn.BatchNorm1d if bn else None)
    history = fit(net, data, optimizer=lambda p: torch.optim.SGD(p, lr=lr), epochs=epochs,
                  batch_size=batch_size, seed=seed, progress=False)
    chance = 1.0 / data.n_classes
    if history.diverged or not history.epochs:
        return {"val_acc": chance, "diverged": True}
    return {"val_acc": float(history.epochs[-1]["val_acc"]), "diverged": False}


register_sizes(
    "batchnorm.regularization",
    quick={"n_train": 1000, "epochs": 40, "seeds": 3},
    full={"n_train": 3500, "epochs": 200, "seeds": 10},
)
register_sizes(
    "batchnorm.batch_size",
    quick={"batch_sizes": (2, 4, 8, 16, 64, 256), "epochs": 4, "seeds": 3},
    full={"batch_sizes": (2, 4, 8, 16, 32, 64, 128, 256), "epochs": 20, "seeds": 10},
)
register_sizes(
    "batchnorm.wine",
    quick={"epochs": 60, "seeds": 5},
    full={"epochs": 300, "seeds": 20},
)
REGULARIZERS = ("none", "batch norm", "dropout", "both")


def regularization_run(data, *, variant: str, epochs: int, seed: int, width: int = 256, lr: float = 0.05,
                       batch_size: int = 32, drop: float = 0.3):
    """Train a two-hidden-layer ReLU MLP with momentum SGD with one of :data:`REGULARIZERS` (batch
    norm before each ReLU, dropout with drop probability ``drop`` after it, or both) and return the
    :class:`~trainwell.train.History` (Part III, section 7)."""
    from .models import mlp

    if variant not in REGULARIZERS:
        raise ValueError(f"Invalid variant: {variant!r} (allowed: {', '.join(map(repr, REGULARIZERS))})")
    torch.manual_seed(seed)
    net = mlp([data.n_features, width, width, data.n_classes],
              norm=nn.BatchNorm1d if variant in ("batch norm", "both") else None,
              hidden_dropout=drop if variant in ("dropout", "both") else 0.0)
    return fit(net, data, optimizer=lambda p: torch.optim.SGD(p, lr=lr, momentum=0.9), epochs=epochs,
               batch_size=batch_size, seed=seed, progress=False)


def batch_size_run(data, *, batch_size: int, epochs: int, seed: int, lr: float = 0.05, width: int = 128
                   ) -> dict[str, float]:
    """Train a batch-norm MLP with mini-batches of ``batch_size`` for ``epochs`` epochs (the same number
    of examples seen for every batch size; Part III, section 8) and measure its test accuracy twice:
    in eval mode (running statistics) and in training mode on test batches of the same size (the batch
    statistics the network was trained with). Returns ``eval_acc`` and ``train_mode_acc``."""
    from .models import mlp

    batch_size = check_int("batch_size", batch_size, minimum=2)
    torch.manual_seed(seed)
    net = mlp([data.n_features, width, width, data.n_classes], norm=nn.BatchNorm1d)
    fit(net, data, optimizer=lambda p: torch.optim.SGD(p, lr=lr), epochs=epochs, batch_size=batch_size,
        drop_last=True, seed=seed, progress=False)
    net.eval()
    test = data.to(module_device(net))  # fit() placed the network on tw.device()
    with torch.no_grad():
        eval_acc = (net(test.X_test).argmax(1) == test.y_test).float().mean().item()
        snapshot = {k: v.clone() for k, v in net.state_dict().items()}
        net.train()  # batch statistics of test batches of the training size; running stats restored below
        n = (len(test.y_test) // batch_size) * batch_size
        correct = sum((net(test.X_test[i:i + batch_size]).argmax(1) == test.y_test[i:i + batch_size]).sum()
                      .item() for i in range(0, n, batch_size))
        net.load_state_dict(snapshot)
        net.eval()
    return {"eval_acc": eval_acc, "train_mode_acc": correct / n}


def wine_run(data, *, first_layer_bn: bool, epochs: int, seed: int, lr: float = 0.05, width: int = 64):
    """A one-hidden-layer ReLU MLP on the wine data, optionally with a BatchNorm1d over the raw input
    features as its very first layer (Part III, section 9). Momentum SGD, batches of 16. Returns the
    :class:`~trainwell.train.History`."""
    from .models import mlp

    torch.manual_seed(seed)
    body = mlp([data.n_features, width, data.n_classes])
    net = nn.Sequential(nn.BatchNorm1d(data.n_features), *body) if first_layer_bn else body
    return fit(net, data, optimizer=lambda p: torch.optim.SGD(p, lr=lr, momentum=0.9), epochs=epochs,
               batch_size=16, seed=seed, progress=False)
