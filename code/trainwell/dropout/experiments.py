"""The experiments of Part II, dropout, on real data: each function is one seed of one section's
run, built from the part's modules and the shared training loop :func:`trainwell.train.fit`."""
from __future__ import annotations

import copy
import functools
import math

import numpy as np
import torch

from .._validate import check_choice, check_float, check_int, check_seeds
from ..config import threads
from ..data import split_known_classes
from ..metrics import auroc, probability_scores, test_scores
from ..models import bn_dropout_mlp, eval_mode, layer_sizes, mlp, train_mode
from ..regularization import ActivityL1, AdditiveGaussianNoise, MaxNorm
from ..train import EarlyStopping, HeldOut, Record, Runs, fit, fit_many
from .core import Dropout, keep_to_drop
from .ensembles import BoostingMLP, MaskedMLP, bagging, ensemble_predict, ensemble_probabilities, mc_predict
from .practice import bn_variance_shift, predictive_uncertainty, recompute_bn_stats_without_dropout
from .theory import dropout_linear_variance
from .variants import DropConnectLinear, GaussianDropout


def one_thread(run):
    """Run an experiment with one CPU thread for torch's operations, then restore the setting
    (:func:`trainwell.config.threads`; the chapter's networks are tiny, and splitting their
    operations across threads costs more than it saves). GPU runs are unaffected."""
    return threads(1)(run)


@one_thread
def inference_rules_run(data, *, seed: int, hidden=(8, 8), epochs: int = 60, ks=(1, 10, 100),
                        mc_repeats: int = 5, keep: float = 0.5) -> dict:
    """Train a small ReLU :class:`MaskedMLP` with dropout (hidden units kept with ``keep``) and score
    every inference rule of section `dropout-inference` on the test split: the exact arithmetic and geometric
    means over all 2ⁿ masks, the weight scaling rule, and Monte Carlo with k masks per example
    (``mc_repeats`` independent draws for each k); beside it, as a contrast, the same k masks shared
    by every test example (``shared_*``: k whole sub-networks). Returns accuracies and mean
    log-likelihoods."""
    check_int("mc_repeats", mc_repeats, minimum=1)
    torch.manual_seed(seed)
    net = MaskedMLP(layer_sizes(data, hidden), keep_hidden=keep)
    fit(net, data, optimizer=lambda p: torch.optim.Adam(p, lr=1e-2), epochs=epochs, batch_size=64, seed=seed,
        progress=False)
    net = net.cpu().double().eval()  # ensembles are averaged in double precision on the CPU (seeded masks)
    X, y = data.X_test.double(), data.y_test
    out = {"arithmetic": probability_scores(ensemble_predict(net, X, mean="arithmetic"), y),
           "geometric": probability_scores(ensemble_predict(net, X, mean="geometric"), y),
           "weight scaling": probability_scores(torch.softmax(net.mean_network(X), -1), y)}
    for prefix, per_example in (("mc", True), ("shared", False)):
        generator = torch.Generator().manual_seed(10_000 + seed)
        mc = np.array([[probability_scores(mc_predict(net, X, k, generator=generator,
                                                      per_example=per_example), y)
                        for _ in range(mc_repeats)] for k in ks])  # (len(ks), repeats, 2)
        out[f"{prefix}_accuracy"], out[f"{prefix}_log_lik"] = mc[..., 0], mc[..., 1]
    out["ks"] = np.array(ks)
    out["n_masks"] = 2 ** net.hidden_units
    out["log2_masks"] = int(math.log2(out["n_masks"]))
    return out


@one_thread
def train_scored(make_model, data, *, seed: int, epochs: int, lr: float = 1e-3, weight_decay: float = 0.0,
                 max_norm: float | None = None, activity_l1: float = 0.0, batch_size: int = 64,
                 max_steps: int | None = None, patience: int | None = None) -> dict:
    """Train ``make_model()`` (initialized under ``seed``) with Adam on ``data`` using the shared loop,
    optionally with L2 weight decay (added to the gradient, as ``torch.optim.Adam`` does), a max-norm
    constraint on every unit's incoming weights after each step (:class:`MaxNorm`), and an
    :class:`ActivityL1` penalty of strength ``activity_l1`` on the hidden activities of a
    :class:`MaskedMLP`; ``max_steps`` ends training after that many
    updates (for equal budgets across training-set sizes); with ``patience``, training stops early and
    the best epoch's parameters (by validation loss) are restored. Returns the history and the test
    accuracy and log-likelihood."""
    torch.manual_seed(seed)
    model = make_model()
    callbacks = ([] if max_norm is None else [MaxNorm(max_norm)]) + (
        [] if patience is None else [EarlyStopping(patience)])
    penalty = ActivityL1(model.layers[:-1], activity_l1) if activity_l1 > 0 else None
    try:
        history = fit(model, data, optimizer=lambda p: torch.optim.Adam(p, lr=lr, weight_decay=weight_decay),
                      epochs=epochs, batch_size=batch_size, seed=seed, penalty=penalty, callbacks=callbacks,
                      max_steps=max_steps, progress=False)
    finally:
        if penalty is not None:
            penalty.remove()
    accuracy, log_lik = test_scores(model, data)
    return {"history": history, "accuracy": accuracy, "log_lik": log_lik, "model": model}


@one_thread
def ensemble_comparison_run(data, *, seed: int, hidden: int = 256, epochs: int = 50, k: int = 10,
                            keep: float = 0.5) -> dict:
    """One seed of Part II's comparison of ensembles: a plain network, the same network trained with
    dropout, with dropout boosting (:class:`BoostingMLP`, the same masks), and a bagged ensemble of
    ``k`` plain networks on bootstrap resamples. Every network is 2 hidden ReLU layers of ``hidden``
    units trained with Adam for ``epochs`` epochs. Returns per-epoch validation losses, test scores,
    and the bagged ensemble's test scores using its first 1, 2, ..., k members."""
    check_int("k", k, minimum=1)
    sizes = layer_sizes(data, (hidden, hidden))
    makers = {"plain": lambda: MaskedMLP(sizes, keep_hidden=1.0),
              "dropout": lambda: MaskedMLP(sizes, keep_hidden=keep),
              "dropout boosting": lambda: BoostingMLP(sizes, keep_hidden=keep)}
    out = {}
    for name, make in makers.items():
        r = train_scored(make, data, seed=seed, epochs=epochs)
        hist = r["history"]
        out[name] = {"val_loss": hist.metric("val_loss"), "train_loss": hist.metric("train_loss"),
                     "test": (r["accuracy"], r["log_lik"])}
    members = bagging(makers["plain"], data, k, seed=seed,
                      optimizer=lambda p: torch.optim.Adam(p, lr=1e-3), epochs=epochs)
    member_probs = torch.stack([ensemble_probabilities([m], data.X_test) for m in members]).double()
    running = member_probs.cumsum(0) / torch.arange(1, k + 1, dtype=torch.float64).view(-1, 1, 1)
    out["bagging"] = {"test_by_k": np.array([probability_scores(p, data.y_test) for p in running]),
                      "members": np.array([probability_scores(p, data.y_test) for p in member_probs])}
    return out


#: The arms of :func:`regularizer_comparison_runs`, in order: each dropout arm adds one change to the
#: one before it (dropout; then max-norm; then a larger learning rate).
REGULARIZER_ARMS = ("plain", "weight decay", "max-norm", "sparse activity", "dropout", "dropout + max-norm",
                    "dropout + max-norm, larger lr")

# The defaults of regularizer_comparison_runs were chosen by validation loss on seed 0 (1000 MNIST-1D
# signals, 50 epochs) from weight decay {1e-3, 1e-2, 1e-1}, max-norm c {0.5, 1, 2, 4}, activity L1
# {1e-4, 1e-3, 1e-2, 3e-2, 1e-1}, and for dropout + max-norm c {1, 2, 4} at learning rates 1e-3 and 3e-3.


@one_thread
def regularizer_comparison_runs(data, *, seeds, hidden: int = 256, epochs: int = 80, keep: float = 0.5,
                                weight_decay: float = 1e-2, max_norm: float = 1.0, activity_l1: float = 1e-2,
                                lr: float = 1e-3, dropout_max_norm_lr: float = 3e-3,
                                eval_every: int = 2) -> dict[str, Runs]:
    """The network trained plain and with each regularizer, every seed side by side.

    Section `dropout-regularizers`: a :class:`MaskedMLP` with two hidden ReLU layers of ``hidden``
    units, trained with Adam (learning rate ``lr``) for ``epochs`` epochs, one arm of
    :data:`REGULARIZER_ARMS` per entry: plain; with L2 weight decay (Adam's ``weight_decay``); with
    every unit's incoming weights kept in the ball of radius ``max_norm`` (:class:`MaxNorm`); with
    the sparse-activity penalty (:class:`ActivityL1` on both hidden layers); with dropout (hidden units
    kept with ``keep``); with dropout and max-norm; and with both at ``dropout_max_norm_lr``, the
    larger rate the bound on the weights is meant to make safe (Srivastava et al. 2014). Every arm's
    histories also hold the test split's loss and accuracy at every evaluation (:class:`HeldOut`), to
    be read at each network's best validation epoch (``runs.at_best("test_loss")``) or at the end of
    the budget (``runs.final("test_loss")``). The networks are evaluated every ``eval_every`` epochs
    (and after the last), the same grid for every arm: evaluating three splits costs about as much as
    the epoch's training. Returns one :class:`~trainwell.train.Runs` per arm, members in seed order."""
    seeds = check_seeds(seeds)
    sizes = layer_sizes(data, (check_int("hidden", hidden, minimum=1),) * 2)
    keep = check_float("keep", keep, minimum=0.0, maximum=1.0, min_inclusive=False)
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    fast = check_float("dropout_max_norm_lr", dropout_max_norm_lr, minimum=0.0, min_inclusive=False)
    weight_decay = check_float("weight_decay", weight_decay, minimum=0.0)
    activity_l1 = check_float("activity_l1", activity_l1, minimum=0.0)
    max_norm = check_float("max_norm", max_norm, minimum=0.0, min_inclusive=False)
    arms = {"plain": (1.0, lr, {}), "weight decay": (1.0, lr, {"weight_decay": weight_decay}),
            "max-norm": (1.0, lr, {"max_norm": max_norm}),
            "sparse activity": (1.0, lr, {"activity": activity_l1}),
            "dropout": (keep, lr, {}), "dropout + max-norm": (keep, lr, {"max_norm": max_norm}),
            "dropout + max-norm, larger lr": (keep, fast, {"max_norm": max_norm})}
    out = {}
    for name, (keep_hidden, rate, extra) in arms.items():
        decay = extra.get("weight_decay", 0.0)
        callbacks = [HeldOut(data.X_test, data.y_test)]
        if "max_norm" in extra:
            callbacks.append(MaxNorm(extra["max_norm"]))
        penalty = ActivityL1(lambda net: net.layers[:-1], extra["activity"]) if "activity" in extra else None
        out[name] = fit_many(functools.partial(MaskedMLP, sizes, keep_hidden=keep_hidden), data, seeds=seeds,
                             optimizer=lambda p, r=rate, d=decay: torch.optim.Adam(p, lr=r, weight_decay=d),
                             epochs=check_int("epochs", epochs, minimum=1), penalty=penalty,
                             callbacks=callbacks, eval_every=check_int("eval_every", eval_every, minimum=1),
                             progress=False)
    return out


@one_thread
def size_sweep_run(data, *, seed: int, sizes=(250, 500, 1000), steps: int = 1500, hidden: int = 256,
                   keep: float = 0.5, patience: int = 10) -> dict:
    """One seed of section `dropout-regularizers`: a plain and a dropout network (hidden units
    kept with ``keep``) trained on nested training subsets of each size in ``sizes`` for at most
    ``steps`` updates, each stopped early once its validation loss has not improved for ``patience``
    epochs and restored to its best epoch, so both are compared at their best. Returns arrays of
    test accuracy and log-likelihood, one row per size, and under ``"best_step"`` the number of
    updates to each network's best epoch."""
    check_int("steps", steps, minimum=1)
    out = {"plain": [], "dropout": []}
    best_step = {"plain": [], "dropout": []}
    for n in sizes:
        subset = data.subset_train(n, seed=0)
        steps_per_epoch = math.ceil(n / 64)
        epochs = math.ceil(steps / steps_per_epoch)
        for name, keep_hidden in (("plain", 1.0), ("dropout", keep)):
            make = functools.partial(MaskedMLP, layer_sizes(data, (hidden, hidden)),
                                     keep_hidden=keep_hidden)
            r = train_scored(make, subset, seed=seed, epochs=epochs, max_steps=steps, patience=patience)
            out[name].append((r["accuracy"], r["log_lik"]))
            # the last epoch may be cut short by the budget
            best_step[name].append(min(r["history"].best_epoch * steps_per_epoch, steps))
    return ({name: np.array(v) for name, v in out.items()} | {"sizes": np.array(sizes)}
            | {"best_step": {name: np.array(v) for name, v in best_step.items()}})


# ------------------------------------------------------------------------------------------------
# Variants of dropout and why multiplicative noise works (section `dropout-variants`)

#: The networks of section `dropout-variants`, by name: what follows each hidden ReLU (or, for DropConnect,
#: what replaces each hidden linear layer).
NOISE_VARIANTS = ("plain", "dropout", "Gaussian dropout", "DropConnect", "additive noise")


def variant_mlp(name: str, sizes, *, keep: float = 0.5, sigma_add: float = 0.2) -> torch.nn.Sequential:
    """The ReLU network ``sizes`` with one kind of noise on its hidden layers (section `dropout-variants`):

    - ``"plain"``: none;
    - ``"dropout"``: inverted Bernoulli dropout, units kept with probability ``keep``;
    - ``"Gaussian dropout"``: multiplicative μ ~ N(1, σ²) with σ² = (1 − keep)/keep, the same variance;
    - ``"DropConnect"``: every hidden linear layer drops individual weights, kept with ``keep``;
    - ``"additive noise"``: h + ε with ε ~ N(0, ``sigma_add``²), a fixed scale.
    """
    check_choice("name", name, NOISE_VARIANTS)
    keep = check_float("keep", keep, minimum=0.0, maximum=1.0, min_inclusive=False)
    sigma_add = check_float("sigma_add", sigma_add, minimum=0.0)
    if name == "DropConnect":
        return mlp(sizes, linear=lambda a, b, bias: DropConnectLinear(a, b, keep=keep, bias=bias))
    noise = {"plain": None, "dropout": lambda: Dropout(keep),
             "Gaussian dropout": lambda: GaussianDropout.matching(keep),
             "additive noise": lambda: AdditiveGaussianNoise(sigma_add)}[name]
    return mlp(sizes, noise=noise)


@one_thread
def variants_run(data, *, seed: int, hidden: int = 128, epochs: int = 40, keep: float = 0.5, lr: float = 3e-3,
                 names=("plain", "dropout", "Gaussian dropout", "DropConnect")) -> dict:
    """One seed of section `dropout-variants`: the networks ``names`` of :func:`variant_mlp` (two hidden ReLU
    layers of ``hidden`` units), each trained with Adam (learning rate ``lr``) for ``epochs`` epochs.
    Returns, per network, the per-epoch training and validation losses (measured without noise) and
    the test accuracy and log-likelihood."""
    hidden = check_int("hidden", hidden, minimum=1)
    for name in names:
        check_choice("names", name, NOISE_VARIANTS)
    sizes = layer_sizes(data, (hidden, hidden))
    out = {}
    for name in names:
        make = functools.partial(variant_mlp, name, sizes, keep=keep)
        r = train_scored(make, data, seed=seed, epochs=epochs, lr=lr)
        history = r["history"]
        out[name] = {"train_loss": history.metric("train_loss"), "val_loss": history.metric("val_loss"),
                     "test": (r["accuracy"], r["log_lik"])}
    return out


@torch.no_grad()
def hidden_signal_and_noise(model: torch.nn.Sequential, X: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Signal and noise of every hidden layer of a :func:`variant_mlp` network (section `dropout-variants`).

    Runs ``X`` through the noise-free network and returns two arrays with one entry per hidden ReLU:
    the RMS of its output h, sqrt(mean h²), and the RMS of the noise its noise layer adds in training,
    sqrt(mean (noise(h) − h)²) (zeros for a network without noise layers). DropConnect layers are
    evaluated as their mean network. The global random state is left as it was, so recording these
    during training does not change the training run.
    """
    if not isinstance(model, torch.nn.Sequential):
        raise TypeError("hidden_signal_and_noise expects the nn.Sequential of variant_mlp, "
                        f"got {type(model).__name__}")
    signal, noise = [], []
    devices = [X.device] if X.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        h = X
        for module in model:
            if isinstance(module, torch.nn.Linear):
                h = torch.nn.functional.linear(h, module.weight, module.bias)
            elif isinstance(module, torch.nn.ReLU):
                h = torch.relu(h)
                signal.append(h.pow(2).mean().sqrt().item())
                noise.append(0.0)
            else:  # a noise layer after the ReLU: measure what it adds, continue with the clean h
                with train_mode(module):
                    noise[-1] = (module(h) - h).pow(2).mean().sqrt().item()
    return np.array(signal), np.array(noise)


@one_thread
def noise_scale_run(data, *, seed: int, hidden: int = 128, epochs: int = 40, keep: float = 0.5,
                    sigma_add: float = 0.2, lr: float = 3e-3, probe: int = 500,
                    names=("plain", "additive noise", "Gaussian dropout", "dropout")) -> dict:
    """One seed of section `dropout-variants`: additive against multiplicative noise after the hidden ReLUs.

    Each network ``names`` of :func:`variant_mlp` is trained as in :func:`variants_run`; at
    initialization and after every epoch :func:`hidden_signal_and_noise` is recorded on the first
    ``probe`` training examples. Returns, per network, ``signal`` and ``noise`` arrays of shape
    (epochs + 1, hidden layers), the per-epoch training and validation losses, and the test scores.
    """
    hidden = check_int("hidden", hidden, minimum=1)
    probe = check_int("probe", probe, minimum=1)
    epochs = check_int("epochs", epochs, minimum=1)
    for name in names:
        check_choice("names", name, NOISE_VARIANTS)
    sizes = layer_sizes(data, (hidden, hidden))
    X = data.X_train[:probe]
    out = {}
    for name in names:
        torch.manual_seed(seed)
        model = variant_mlp(name, sizes, keep=keep, sigma_add=sigma_add)
        record = Record(lambda state: hidden_signal_and_noise(state.model, X.to(state.device)), per="epoch",
                        at_start=True)
        history = fit(model, data, optimizer=lambda p: torch.optim.Adam(p, lr=lr), epochs=epochs,
                      batch_size=64, seed=seed, callbacks=[record], progress=False)
        accuracy, log_lik = test_scores(model, data)
        records = record.values
        out[name] = {"signal": np.array([r[0] for r in records]), "noise": np.array([r[1] for r in records]),
                     "train_loss": history.metric("train_loss"), "val_loss": history.metric("val_loss"),
                     "test": (accuracy, log_lik)}
    return out


# ------------------------------------------------------------------------------------------------
# Dropout in practice: the forgotten eval(), batch norm's variance shift, Monte Carlo uncertainty
# (section `dropout-practice`)

@one_thread
def forgot_eval_run(data, *, seed: int, hidden: int = 256, epochs: int = 30, passes: int = 10,
                    keep_input: float = 0.8, keep_hidden: float = 0.5) -> dict:
    """One seed of the forgotten ``model.eval()``: test accuracy in eval mode and in training mode.

    Section `dropout-practice`: train ``tw.models.mlp`` with
    PyTorch's dropout (inputs kept with ``keep_input``, two hidden ReLU layers of ``hidden`` units
    kept with ``keep_hidden``), then score the test split in eval mode and, as if ``eval()`` had been
    forgotten, in training mode ``passes`` times. Returns the eval-mode accuracy, the train-mode
    accuracies, and the fraction of test inputs whose predicted class changes between two
    train-mode passes."""
    seed, passes = check_int("seed", seed, minimum=0), check_int("passes", passes, minimum=2)
    torch.manual_seed(seed)
    model = mlp(layer_sizes(data, (hidden, hidden)), input_dropout=keep_to_drop(keep_input),
                hidden_dropout=keep_to_drop(keep_hidden))
    fit(model, data, optimizer=lambda p: torch.optim.Adam(p, lr=1e-3), epochs=epochs, seed=seed,
        progress=False)
    dev = next(model.parameters()).device
    X, y = data.X_test.to(dev), data.y_test.to(dev)
    with torch.no_grad():
        with eval_mode(model):
            eval_pred = model(X).argmax(1)
        with train_mode(model):  # the bug: predictions with dropout still on
            train_preds = torch.stack([model(X).argmax(1) for _ in range(passes)])
    return {"eval_accuracy": (eval_pred == y).double().mean().item(),
            "train_accuracies": (train_preds == y).double().mean(1).cpu().numpy(),
            "flip_rate": (train_preds[0] != train_preds[1]).double().mean().item()}


@one_thread
def variance_shift_run(data, *, seed: int, hidden: int = 128, depth: int = 3, epochs: int = 15,
                       keep: float = 0.5, batch_size: int = 64) -> dict:
    """One seed of the variance-shift experiment (section `dropout-practice`). Trains three
    :func:`~trainwell.dropout.bn_dropout_mlp` networks of ``depth`` hidden layers with Adam: dropout
    before every batch norm (``"every"``), dropout after the last one only (``"last"``), and none.
    The ``"every"`` network is also scored after
    :func:`~trainwell.dropout.recompute_bn_stats_without_dropout` on the training split. Returns test
    accuracies and log-likelihoods, and for the ``"every"`` network the per-layer mean of
    eval_var / running_var (:func:`~trainwell.dropout.bn_variance_shift` on the test split) before
    and after the recomputation, and for each BN layer behind a dropout layer the training variance
    predicted by :func:`~trainwell.dropout.dropout_linear_variance` (from eval-mode activations of
    the training split) over its ``running_var``."""
    seed = check_int("seed", seed, minimum=0)
    depth = check_int("depth", depth, minimum=1)
    sizes = layer_sizes(data, [check_int("hidden", hidden, minimum=1)] * depth)
    out: dict = {}
    for placement in ("every", "last", "none"):
        torch.manual_seed(seed)
        model = bn_dropout_mlp(sizes, keep=keep, placement=placement)
        fit(model, data, optimizer=lambda p: torch.optim.Adam(p, lr=1e-3), epochs=epochs,
            batch_size=batch_size, drop_last=True, seed=seed, progress=False)
        dev = next(model.parameters()).device
        out[placement] = test_scores(model, data)
        if placement == "every":
            X_test = data.X_test.to(dev)
            out["every: ratios"] = [r["ratio"].mean().item() for r in bn_variance_shift(model, X_test)]
            out["every: predicted / running"] = _predicted_running_var(model, data.X_train.to(dev), keep)
            fixed = copy.deepcopy(model)
            recompute_bn_stats_without_dropout(fixed, data.X_train.to(dev), batch_size)
            out["every, BN recomputed"] = test_scores(fixed, data)
            out["every, BN recomputed: ratios"] = [r["ratio"].mean().item()
                                                   for r in bn_variance_shift(fixed, X_test)]
    return out


@torch.no_grad()
def _predicted_running_var(model: torch.nn.Sequential, X: torch.Tensor, keep: float) -> list[float]:
    """For each BN layer of a ``bn_dropout_mlp`` network that follows Dropout → Linear: the mean over
    features of the training variance predicted by ``dropout_linear_variance`` from the eval-mode
    activations on ``X``, divided by the layer's ``running_var``."""
    ratios = []
    with eval_mode(model):
        for j, layer in enumerate(model):
            behind_dropout = j >= 3 and isinstance(model[j - 2], torch.nn.Dropout)
            if isinstance(layer, torch.nn.BatchNorm1d) and behind_dropout:
                _, predicted = dropout_linear_variance(model[:j - 1](X), model[j - 1].weight, keep)
                ratios.append((predicted / layer.running_var.double()).mean().item())
    return ratios


@one_thread
def ood_uncertainty_run(data, *, seed: int, known=(0, 1, 2, 3, 4), hidden: int = 256, epochs: int = 60,
                        keep: float = 0.5, k: int = 50) -> dict:
    """One seed of Monte Carlo dropout as an uncertainty estimate (section `dropout-practice`). Trains a
    :class:`~trainwell.dropout.MaskedMLP` (two hidden ReLU layers, hidden units kept with ``keep``)
    on the classes ``known`` only (:func:`~trainwell.dropout.split_known_classes`), then scores the
    known classes' test inputs ("in") and the other classes' test inputs ("out") with ``mc_predict``
    over ``k`` masks and ``predictive_uncertainty``, and with the single weight-scaled network's
    softmax entropy. Returns the in/out scores, their AUROCs (``auroc``) and the in-distribution
    test accuracy of the Monte Carlo mean."""
    seed, k = check_int("seed", seed, minimum=0), check_int("k", k, minimum=1)
    known_data, X_out = split_known_classes(data, known)
    torch.manual_seed(seed)
    net = MaskedMLP([data.n_features, hidden, hidden, len(known)], keep_hidden=keep)
    fit(net, known_data, optimizer=lambda p: torch.optim.Adam(p, lr=1e-3), epochs=epochs, seed=seed,
        progress=False)
    net = net.cpu().eval()  # a seeded CPU generator draws the masks, so the scoring runs on the CPU
    generator = torch.Generator().manual_seed(10_000 + seed)
    scores: dict = {}
    for side, X in (("in", known_data.X_test.cpu()), ("out", X_out.cpu())):
        u = predictive_uncertainty(mc_predict(net, X, k, generator=generator, return_samples=True))
        with torch.no_grad():
            single = torch.softmax(net(X).double(), -1)
        u["single entropy"] = -(single * torch.log(single.clamp_min(1e-300))).sum(-1)
        scores[side] = {name: u[name].numpy() for name in
                        ("entropy", "mutual_information", "variance", "single entropy")}
        if side == "in":
            accuracy = (u["mean"].argmax(-1) == known_data.y_test.cpu()).double().mean().item()
    return {"scores": scores, "accuracy": accuracy,
            "auroc": {name: auroc(scores["in"][name], scores["out"][name]) for name in scores["in"]}}
