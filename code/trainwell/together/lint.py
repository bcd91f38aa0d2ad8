"""The pitfalls checker of Part V (section `together-pitfalls`): :func:`lint` reads a model, its optimizer,
the data or batch size and the training callbacks, and reports the silent mistakes that the earlier
parts measured, each with its fix. :func:`weight_decay_groups` is the fix of the first of them.

Every check reads only the objects' settings (classes, hyperparameters, modes, layer order); nothing
is run and nothing is changed. The checks, by code (:data:`LINT_CODES`):

* ``wd-on-bn-bias``: weight decay on batch-norm parameters or biases. They are few, one per unit,
  and limit the model's capacity little; decay only pulls γ, β and the biases toward 0, which can
  cost accuracy, so the usual recipe exempts them ("no bias decay", He et al. 2019);
* ``adam-coupled-wd``: Adam-family optimizers with ``weight_decay`` added to the gradient (L2 in
  the loss, then divided by Adam's per-coordinate √v̂), not decoupled as in AdamW (Loshchilov &
  Hutter 2019; section `opt-adamw-nadam`);
* ``nadam-momentum-decay-zero``: NAdam's momentum schedule μ_t = β₁(1 − ½·0.96^{tψ}) with
  ψ = ``momentum_decay`` = 0 is the constant β₁/2, not β₁ (Dozat 2016);
* ``bn-momentum``: a batch-norm momentum outside (0, 0.5]. PyTorch's momentum is the weight of the
  *new* batch, running ← (1 − m)·running + m·batch; Keras' is the weight of the *old* value, so
  Keras' 0.99 is PyTorch's 0.01 (section `bn-inference`);
* ``input-dropout-p``: heavy dropout on the inputs, usually a keep probability passed where a drop
  probability is meant, or the reverse (section `dropout-practice`);
* ``train-mode-eval``: a model to be evaluated whose dropout or batch-norm layers are in training
  mode (section `dropout-practice`);
* ``small-batch-bn``: batch norm on batches of fewer than 16 examples, where training and eval mode
  behave like two different networks (section `bn-beyond`); ``bn-batch-of-one``: a last mini-batch
  of one example per epoch, on which PyTorch's BatchNorm1d raises an error one epoch in;
* ``dropout-before-bn``: a dropout layer feeding a batch-norm layer (directly or through linear
  layers), the variance shift of Li, Chen, Hu & Yang 2019 (section `dropout-practice`);
* ``early-stop-no-restore``: early stopping that keeps the last parameters instead of the best ones
  (section `reg-early-stopping`).

The dropout checks read layer order only inside ``nn.Sequential`` containers (nested ones included),
whose order is their order of execution; in a module with a hand-written ``forward`` they see no
order and find nothing, and ``dropout-before-bn`` follows a dropout only through linear maps
(weighted layers, pooling, reshaping): a dropout, then an activation, then batch norm is not reported.
"""
from __future__ import annotations

import dataclasses
import numbers
import textwrap
from collections.abc import Iterator

import torch
from torch import nn

from .._validate import check_bool, check_float, check_int
from ..dropout.core import TORCH_DROPOUT_TYPES, Dropout
from ..dropout.variants import DropConnectLinear, GaussianDropout, StochasticPool2d
from ..models import is_batch_norm, weight_names
from ..optim import Adam as BookAdam
from ..optim import NAdam as BookNAdam
from ..regularization.noise import AdditiveGaussianNoise
from ..train import Callback, EarlyStopping

#: Every check's code and what it looks for, in the order :func:`lint` reports them.
LINT_CODES: dict[str, str] = {
    "wd-on-bn-bias": "weight decay applied to batch-norm (or other normalization) parameters or biases",
    "adam-coupled-wd": "Adam, NAdam, RAdam or Adamax with weight_decay > 0 as L2 in the loss, not decoupled",
    "nadam-momentum-decay-zero": "NAdam with momentum_decay=0, whose momentum is β₁/2, not β₁",
    "bn-momentum": "batch-norm momentum outside (0, 0.5], such as Keras' 0.99 in PyTorch's convention",
    "input-dropout-p": "dropout on the inputs that drops more than half of them",
    "train-mode-eval": "evaluation with dropout or batch-norm layers still in training mode",
    "small-batch-bn": "batch norm trained on batches of fewer than 16 examples",
    "bn-batch-of-one": "batch norm with a last mini-batch of a single example in every epoch",
    "dropout-before-bn": "a dropout layer feeding a batch-norm layer (the variance shift)",
    "early-stop-no-restore": "early stopping without restoring the best epoch's parameters",
}

#: Below this many examples per batch the book measured training and eval mode of a batch-normalized
#: network drifting apart (section `bn-beyond`).
MIN_BN_BATCH = 16

#: Dropout layers whose ``p`` is PyTorch's *drop* probability.
_TORCH_DROPOUTS = TORCH_DROPOUT_TYPES + (nn.AlphaDropout, nn.FeatureAlphaDropout)
#: Normalization layers whose parameters should not be decayed (batch norm is :func:`is_batch_norm`).
_OTHER_NORMS = tuple(getattr(nn, name) for name in (
    "LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "RMSNorm",
    "LocalResponseNorm") if hasattr(nn, name))
#: Layers that compute a linear map of their input, through which dropout's extra variance reaches
#: the next layer unchanged in kind (section `dropout-practice`).
_WEIGHTED = (nn.Linear, nn.Bilinear, nn.modules.conv._ConvNd)
_LINEAR_MAPS = _WEIGHTED + (nn.Flatten, nn.Unflatten, nn.Identity, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
                            nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)
#: Layers that behave differently in training and eval mode besides batch norm.
_RANDOM_LAYERS = _TORCH_DROPOUTS + (Dropout, GaussianDropout, DropConnectLinear, StochasticPool2d,
                                    AdditiveGaussianNoise)
#: Optimizers that divide every step by a per-coordinate root mean square (and their L2 with it).
_ADAM_FAMILY = (torch.optim.Adam, torch.optim.NAdam, torch.optim.RAdam, torch.optim.Adamax, BookAdam,
                BookNAdam)
_NADAMS = (torch.optim.NAdam, BookNAdam)


@dataclasses.dataclass(frozen=True)
class LintWarning:
    """One finding of :func:`lint`: a stable ``code`` (a key of :data:`LINT_CODES`), a ``message`` that
    names the layer, parameter or group and the fix, and ``where``, the names involved (module or
    parameter names of the model, ``param_groups[i]`` or ``callbacks[i]``)."""

    code: str
    message: str
    where: tuple[str, ...] = ()

    def __post_init__(self):
        if self.code not in LINT_CODES:
            raise ValueError(f"Invalid code: {self.code!r} (allowed: {', '.join(LINT_CODES)})")
        if not isinstance(self.message, str):
            raise TypeError(f"message must be a string, got {type(self.message).__name__}")
        if not self.message.strip():
            raise ValueError(f"message must be a non-empty string, got {self.message!r}")
        if not isinstance(self.where, tuple) or not all(isinstance(w, str) for w in self.where):
            raise TypeError(f"where must be a tuple of names (str), got {self.where!r}")

    def __str__(self) -> str:
        return f"[lint] {self.code}: {self.message}"


# ------------------------------------------------------------------------------------------------
# Small helpers


def _label(name: str) -> str:
    return repr(name) if name else "(the model itself)"


def _layer(name: str, module: nn.Module) -> str:
    return f"{type(module).__name__} {_label(name)}"


def _names(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _drop_probability(module: nn.Module) -> float | None:
    """The fraction of its input that a dropout-like layer zeroes in training, or None for other layers."""
    if isinstance(module, Dropout):
        return 1.0 - module.keep
    if isinstance(module, _TORCH_DROPOUTS):
        return float(module.p)
    return None


def _noisy(module: nn.Module) -> bool:
    """True for a layer that multiplies its input by random noise of mean one (dropout, Gaussian dropout)."""
    p = _drop_probability(module)
    if p is not None:
        return p > 0
    return isinstance(module, GaussianDropout) and module.sigma > 0


def _is_norm(module: nn.Module) -> bool:
    return is_batch_norm(module) or isinstance(module, _OTHER_NORMS)


def _bias_or_norm(model: nn.Module) -> set[int]:
    """``id`` of every bias and every parameter of a normalization layer."""
    found = set()
    for _, module in model.named_modules():
        for p_name, p in module.named_parameters(recurse=False):
            if _is_norm(module) or "bias" in p_name:
                found.add(id(p))
    return found


def _no_decay_names(model: nn.Module) -> dict[int, str]:
    """``id(parameter) -> name`` for every parameter that weight decay should leave alone: all but the
    weights of :func:`trainwell.models.weight_names` (biases, normalization parameters, PReLU slopes)."""
    weights = set(weight_names(model))
    return {id(p): name for name, p in model.named_parameters() if name not in weights}


def _leaves_in_order(model: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    for name, module in model.named_modules():
        if not any(True for _ in module.children()):
            yield name, module


def _flat(seq: nn.Sequential, prefix: str) -> Iterator[tuple[str, nn.Module]]:
    for name, child in seq.named_children():
        full = f"{prefix}.{name}" if prefix else name
        if isinstance(child, nn.Sequential):
            yield from _flat(child, full)
        else:
            yield full, child


def _chains(module: nn.Module, prefix: str = "") -> Iterator[list[tuple[str, nn.Module]]]:
    """Every ``nn.Sequential`` of the model as one flat list of ``(name, layer)`` in execution order
    (nested sequentials are spliced in), outermost first."""
    if isinstance(module, nn.Sequential):
        chain = list(_flat(module, prefix))
        yield chain
        inner = chain
    else:
        inner = [(f"{prefix}.{n}" if prefix else n, c) for n, c in module.named_children()]
    for name, child in inner:
        if isinstance(child, nn.Sequential) or any(True for _ in child.children()):
            yield from _chains(child, name)


def _group_decay(group: dict) -> float:
    wd = group.get("weight_decay", 0.0)
    return float(wd.item() if isinstance(wd, torch.Tensor) else wd)


def _owner(optimizer: torch.optim.Optimizer) -> str:
    cls = type(optimizer)
    return f"{'torch.optim' if cls.__module__.startswith('torch') else 'tw.optim'}.{cls.__name__}"


# ------------------------------------------------------------------------------------------------
# The checks, one function each; each returns its warnings


def _check_decay_on_norm_and_bias(model, optimizer) -> list[LintWarning]:
    names = _no_decay_names(model)
    found = []
    for i, group in enumerate(optimizer.param_groups):
        wd = _group_decay(group)
        if wd <= 0:
            continue
        hit_params = [p for p in group["params"] if id(p) in names]
        hit = [names[id(p)] for p in hit_params]
        if not hit:
            continue
        usual = _bias_or_norm(model)
        kind = "normalization or bias" if all(id(p) in usual for p in hit_params) else \
            "non-weight (bias, normalization, activation)"
        found.append(LintWarning(
            "wd-on-bn-bias",
            f"param group {i} of {_owner(optimizer)} decays {len(hit)} {kind} parameter(s) "
            f"with weight_decay={wd:g}: {_names(hit)}. Decay pulls them toward 0 and regularizes little; "
            f"put them in a second param group with weight_decay=0, e.g. "
            f"{type(optimizer).__name__}(tw.together.weight_decay_groups(model, {wd:g}), ...).",
            tuple(hit)))
    return found


def _check_coupled_decay(optimizer) -> list[LintWarning]:
    if not isinstance(optimizer, _ADAM_FAMILY):
        return []
    groups = [i for i, g in enumerate(optimizer.param_groups)
              if _group_decay(g) > 0 and not g.get("decoupled_weight_decay", False)]
    if not groups:
        return []
    wd = _group_decay(optimizer.param_groups[groups[0]])
    name = type(optimizer).__name__
    if isinstance(optimizer, torch.optim.Adamax):
        fix = "use AdamW instead"
    elif isinstance(optimizer, (torch.optim.Adam, BookAdam)):
        fix = f"use AdamW, or {name}(..., decoupled_weight_decay=True)"
    else:
        fix = f"use {name}(..., decoupled_weight_decay=True)"
    where = tuple(f"param_groups[{i}]" for i in groups)
    return [LintWarning(
        "adam-coupled-wd",
        f"{_owner(optimizer)} has weight_decay={wd:g} (param group{'s' * (len(groups) > 1)} "
        f"{', '.join(map(str, groups))}) added to the gradient: that is L2 in the loss, scaled by "
        f"{name}'s per-coordinate step, so coordinates with large gradients are hardly decayed; AdamW "
        f"(decoupled) is usually what is meant (Loshchilov & Hutter 2019): {fix}.",
        where)]


def _check_nadam_momentum_decay(optimizer) -> list[LintWarning]:
    if not isinstance(optimizer, _NADAMS):
        return []
    groups = [i for i, g in enumerate(optimizer.param_groups) if float(g.get("momentum_decay", 4e-3)) == 0]
    if not groups:
        return []
    beta1 = float(optimizer.param_groups[groups[0]]["betas"][0])
    return [LintWarning(
        "nadam-momentum-decay-zero",
        f"{_owner(optimizer)} has momentum_decay=0 (param group{'s' * (len(groups) > 1)} "
        f"{', '.join(map(str, groups))}): its momentum μ_t = β₁(1 − ½·0.96^(t·ψ)) is then the constant "
        f"β₁/2 = {beta1 / 2:g}, not β₁ = {beta1:g}. The default momentum_decay=4e-3 starts at β₁/2 too "
        "and approaches β₁ only over thousands of steps; for a constant β₁ use Adam.",
        tuple(f"param_groups[{i}]" for i in groups))]


def _check_bn_momentum(model) -> list[LintWarning]:
    found = []
    for name, m in model.named_modules():
        if not is_batch_norm(m) or not getattr(m, "track_running_stats", True):
            continue
        momentum = getattr(m, "momentum", None)
        if momentum is None or 0 < momentum <= 0.5:
            continue
        if momentum == 0:
            why = ("momentum=0 never updates the running statistics, so eval mode normalizes with their "
                   "initial values (mean 0, variance 1)")
        else:
            why = ("PyTorch's momentum is the weight of the NEW batch (running ← (1 − m)·running + "
                   f"m·batch), so {momentum:g} makes the running statistics follow the last few batches; "
                   f"{momentum:g} looks like Keras' convention (the weight of the OLD value), which is "
                   f"PyTorch's momentum={1 - momentum:.3g}")
        found.append(LintWarning(
            "bn-momentum",
            f"{_layer(name, m)} has momentum {momentum:g}: {why}. Use a momentum in (0, 0.5], "
            "e.g. the default 0.1, or None for a cumulative average.",
            (name,)))
    return found


def _check_input_dropout(model) -> list[LintWarning]:
    found = []
    for name, m in _leaves_in_order(model):
        if isinstance(m, _WEIGHTED):
            break
        p = _drop_probability(m)
        if p is None or p <= 0.5:
            continue
        if isinstance(m, Dropout):
            text = (f"{_layer(name, m)} on the inputs keeps only {m.keep:g} of them: the book's Dropout "
                    f"takes the keep probability; inputs are usually kept with probability 0.8; did you mean "
                    f"keep = 1 − {m.keep:g} = {1 - m.keep:.3g}?")
        else:
            text = (f"{_layer(name, m)} on the inputs has p={p:g}, so it drops {p:.0%} of them: "
                    f"nn.{type(m).__name__}(p) takes the drop probability; inputs are usually kept with "
                    f"probability 0.8 (p = 0.2); did you mean p = 1 − {p:g} = {1 - p:.3g}?")
        found.append(LintWarning("input-dropout-p", text, (name,)))
    return found


def _check_train_mode(model) -> list[LintWarning]:
    layers = [(n, m) for n, m in model.named_modules()
              if m.training and (is_batch_norm(m) or isinstance(m, _RANDOM_LAYERS))]
    if not layers:
        return []
    names = [n for n, _ in layers]
    shown = _names([f"{type(m).__name__} {_label(n)}" for n, m in layers], limit=3)
    return [LintWarning(
        "train-mode-eval",
        f"the model is to be evaluated but {shown} {'is' if len(layers) == 1 else 'are'} in training mode "
        "(dropout draws new masks on every pass; batch norm normalizes by the evaluated batch and "
        "overwrites its running statistics with it), so its scores are not the trained network's; call "
        "model.eval() first, or evaluate inside `with tw.eval_mode(model):`.",
        tuple(names))]


def _check_batch_size(model, n_train, batch_size, drop_last) -> list[LintWarning]:
    bns = [n for n, m in model.named_modules() if is_batch_norm(m)]
    if not bns:
        return []
    layers = _names([_label(n) for n in bns], limit=3)
    found = []
    if batch_size is not None:
        per_batch = batch_size if n_train is None else min(batch_size, n_train)
    else:
        per_batch = n_train
    if per_batch is not None and per_batch < MIN_BN_BATCH:
        source = (f"batch_size={batch_size}" if batch_size is not None and per_batch == batch_size
                  else f"{n_train} training examples in all")
        found.append(LintWarning(
            "small-batch-bn",
            f"the batch-norm layers ({layers}) would see batches of {per_batch} example(s) ({source}): below "
            f"about {MIN_BN_BATCH} examples per batch the batch statistics are so noisy that the network in "
            "training mode and in eval mode behave like two different models (Part III, \"Batch mates, batch "
            "sizes\"); use "
            f"batches of at least {MIN_BN_BATCH}, or a normalization that does not use the batch (layer or "
            "group norm).",
            tuple(bns)))
    if (batch_size is not None and n_train is not None and not drop_last and n_train > batch_size
            and n_train % batch_size == 1):
        found.append(LintWarning(
            "bn-batch-of-one",
            f"with {n_train} training examples and batch_size={batch_size}, the last mini-batch of every "
            "epoch holds one example: a BatchNorm1d on (N, C) has one value per channel there, no "
            "variance, and PyTorch raises an error one epoch into training; a BatchNorm2d normalizes it "
            "by the statistics of a single image. Pass drop_last=True or choose another batch size.",
            tuple(bns)))
    return found


def _check_dropout_before_bn(model) -> list[LintWarning]:
    found, seen = [], set()
    for chain in _chains(model):
        for j, (bn_name, bn) in enumerate(chain):
            if not is_batch_norm(bn) or bn_name in seen:
                continue
            k, through = j - 1, []
            while k >= 0 and isinstance(chain[k][1], _LINEAR_MAPS):
                through.append(_layer(*chain[k]))
                k -= 1
            if k < 0 or not _noisy(chain[k][1]):
                continue
            seen.add(bn_name)
            d_name, d = chain[k]
            via = f" through {', '.join(reversed(through))}" if through else ""
            found.append(LintWarning(
                "dropout-before-bn",
                f"{_layer(d_name, d)} feeds {_layer(bn_name, bn)}{via}: in training the batch norm records "
                "the variance inflated by dropout and at inference divides by it, the variance shift "
                "(Li, Chen, Hu & Yang 2019; Part II, \"Dropout in practice\"); put dropout after the last "
                "batch-norm layer only, or recompute the statistics with dropout off "
                "(tw.dropout.recompute_bn_stats_without_dropout).",
                (d_name, bn_name)))
    return found


def _check_early_stopping(callbacks) -> list[LintWarning]:
    found = []
    for i, cb in enumerate(callbacks):
        if isinstance(cb, EarlyStopping) and not cb.restore_best:
            found.append(LintWarning(
                "early-stop-no-restore",
                f"callbacks[{i}], EarlyStopping(patience={cb.patience}, monitor={cb.monitor!r}), has "
                f"restore_best=False: training ends {cb.patience} epoch(s) after the best one and the model "
                "keeps those last, already overfitted parameters; pass restore_best=True (the default).",
                (f"callbacks[{i}]",)))
    return found


# ------------------------------------------------------------------------------------------------
# Validation and the public functions


def _check_optimizer(optimizer, model: nn.Module) -> None:
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer or None, got {type(optimizer).__name__}")
    own = {id(p) for p in model.parameters()}
    given = [p for group in optimizer.param_groups for p in group["params"]]
    foreign = sum(id(p) not in own for p in given)
    if not given or foreign:
        raise ValueError(f"optimizer holds {foreign or 'no'} parameter(s) that are not the model's (was it "
                         "built on another model?); lint would inspect the wrong thing")


def _training_size(data) -> int:
    X = getattr(data, "X_train", None)
    if X is None:
        raise TypeError(f"data must be a trainwell.data.Dataset or have an X_train attribute, "
                        f"got {type(data).__name__}")
    try:
        n = X.shape[0] if hasattr(X, "shape") else len(X)
    except (TypeError, IndexError):
        raise TypeError(f"data.X_train must be a tensor or array of examples, "
                        f"got {type(X).__name__}") from None
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"data.X_train holds no examples (size {n!r}); there is nothing to train on")
    return int(n)


def _check_callbacks(callbacks) -> list:
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks must be a list of fit's callbacks, got {type(callbacks).__name__}"
                        + (" (wrap it: callbacks=[...])" if isinstance(callbacks, Callback) else ""))
    schedulers = (torch.optim.lr_scheduler.LRScheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    for i, cb in enumerate(callbacks):
        if not isinstance(cb, (Callback,) + schedulers):
            raise TypeError(f"callbacks[{i}] must be a trainwell.train.Callback or a learning-rate "
                            f"scheduler, got {type(cb).__name__}")
    return list(callbacks)


def lint(model: nn.Module, optimizer: torch.optim.Optimizer | None = None, data=None, *,
         callbacks: list | None = None, batch_size: int | None = None, drop_last: bool = False,
         for_evaluation: bool = False, quiet: bool = False) -> list[LintWarning]:
    """Check a training set-up for the pitfalls of Part V (section `together-pitfalls`) and return one
    :class:`LintWarning` per finding; unless ``quiet``, print each on a line of its own, or
    ``[lint] no problems found``.

    - ``model``: always checked for batch-norm momenta, heavy input dropout and dropout feeding batch
      norm;
    - ``optimizer`` (built on ``model``'s parameters): weight decay on normalization parameters and
      biases, Adam-family weight decay that is not decoupled, NAdam with ``momentum_decay=0``;
    - ``data`` (a :class:`~trainwell.data.Dataset`, or anything with ``X_train``), ``batch_size`` and
      ``drop_last`` as they will be passed to :func:`~trainwell.train.fit`: batches too small for
      batch norm, a last batch of one;
    - ``callbacks``, as passed to ``fit``: early stopping without ``restore_best``;
    - ``for_evaluation=True`` says the model is about to be evaluated: its dropout and batch-norm
      layers must then be in eval mode.

    Every argument is checked before anything is inspected; nothing is changed.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if optimizer is not None:
        _check_optimizer(optimizer, model)
    n_train = None if data is None else _training_size(data)
    callbacks = _check_callbacks(callbacks)
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, minimum=1)
    drop_last = check_bool("drop_last", drop_last)
    for_evaluation = check_bool("for_evaluation", for_evaluation)
    quiet = check_bool("quiet", quiet)

    found: list[LintWarning] = []
    if optimizer is not None:
        found += _check_decay_on_norm_and_bias(model, optimizer)
        found += _check_coupled_decay(optimizer)
        found += _check_nadam_momentum_decay(optimizer)
    found += _check_bn_momentum(model)
    found += _check_input_dropout(model)
    if for_evaluation:
        found += _check_train_mode(model)
    found += _check_batch_size(model, n_train, batch_size, drop_last)
    found += _check_dropout_before_bn(model)
    found += _check_early_stopping(callbacks)
    if not quiet:
        for warning in found:  # wrapped, so that a page or a terminal shows it without scrolling sideways
            print(textwrap.fill(str(warning), width=96, subsequent_indent="    ", break_long_words=False,
                                break_on_hyphens=False))
        if not found:
            print("[lint] no problems found")
    return found


def weight_decay_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two parameter groups for an optimizer, the fix of ``wd-on-bn-bias``: ``weight_decay`` on the
    weights as :func:`trainwell.models.weight_names` defines them (linear, convolutional, embedding,
    attention and recurrent weights), and ``weight_decay=0`` on everything else: every bias (attention
    and recurrent biases included), all parameters of normalization layers (batch, layer, group,
    instance norm) and activation parameters such as PReLU's slopes. An empty group is left out.
    Use as ``torch.optim.AdamW(weight_decay_groups(model, 0.01), lr=1e-3)``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    weight_decay = check_float("weight_decay", weight_decay, minimum=0.0)
    params = list(model.parameters())
    if not params:
        raise ValueError("model has no parameters; there is nothing for an optimizer to train")
    skip = _no_decay_names(model)
    decayed = [p for p in params if id(p) not in skip]
    kept = [p for p in params if id(p) in skip]
    groups = [{"params": decayed, "weight_decay": weight_decay}, {"params": kept, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]
