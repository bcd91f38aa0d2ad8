"""The experiments of Part V, putting it together: an ablation of the book's recipe (section
`together-ablation`).

* :func:`recipe`: one network, optimizer and training set-up in which each technique of the book is a
  switch (:data:`TECHNIQUES`: batch norm, dropout, decoupled weight decay, data augmentation, early
  stopping with restore, Adam rather than plain SGD); :func:`recipe_run` trains one configuration
  from every seed at every learning rate side by side (:func:`~trainwell.train.fit_many`);
* :func:`ablation`: the full recipe, the recipe without each technique (leave one out), the plain
  baseline and the baseline with each technique (add one in), every arm at every learning rate of a
  small grid, scored on the validation and the test split;
* :func:`paired_differences`: the mean of paired per-seed differences and its bootstrap interval;
* :func:`ablation_effects`: per technique its leave-one-out and add-one-in effects on test accuracy,
  at a fixed learning rate and with the learning rate retuned for every arm, and whether retuning
  changes the conclusion.
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .._validate import check_bool, check_choice, check_float, check_int
from ..models import layer_sizes
from ..regularization.augmentation import RandomShift
from ..regularization.experiments import (  # Part I's checks and thread policy
    _one_thread,
    _positive_floats,
    _seeds,
)
from ..regularization.penalties import DecoupledDecay
from ..train import MONITORS, Callback, EarlyStopping, Runs, fit_many

#: The switches of :func:`recipe`, in the order tables list them.
TECHNIQUES = ("batch_norm", "dropout", "weight_decay", "augmentation", "early_stopping", "adam")

#: The bootstrap intervals :func:`paired_differences` offers (``scipy.stats.bootstrap``'s names).
BOOTSTRAP_METHODS = ("percentile", "basic", "BCa")


# ------------------------------------------------------------------------------------------------
# Argument checks


def _techniques(name: str, values, *, allow_empty: bool = True) -> frozenset[str]:
    """``values`` (names of :data:`TECHNIQUES`) as a frozenset; a bare string is refused rather than
    read letter by letter."""
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, set, frozenset)):
        raise TypeError(f"{name} must be a list or set of technique names such as ['dropout', 'adam'], "
                        f"got {values!r}")
    values = list(values)
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise TypeError(f"{name}[{i}] must be a technique name, got {v!r}")
        if v not in TECHNIQUES:
            raise ValueError(f"{name}[{i}]: unknown technique {v!r} (allowed: {', '.join(TECHNIQUES)})")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} names a technique twice: {values}")
    if not values and not allow_empty:
        raise ValueError(f"{name} is empty: name at least one technique of {', '.join(TECHNIQUES)}")
    return frozenset(values)


def _ordered(techniques) -> tuple[str, ...]:
    return tuple(t for t in TECHNIQUES if t in techniques)


def _image_shape(data, image_shape) -> tuple[int, int]:
    if image_shape is None:
        side = math.isqrt(data.n_features)
        if side * side != data.n_features:
            raise ValueError(f"data's {data.n_features} inputs are not a square image; give image_shape, "
                             "e.g. (28, 28), for the augmentation")
        return (side, side)
    if isinstance(image_shape, (str, bytes)) or not isinstance(image_shape, Sequence) or \
            len(image_shape) not in (2, 3):
        raise TypeError(f"image_shape must be (H, W) or (C, H, W), got {image_shape!r}")
    shape = tuple(check_int(f"image_shape[{i}]", s, minimum=1) for i, s in enumerate(image_shape))
    if math.prod(shape) != data.n_features:
        raise ValueError(f"image_shape {shape} holds {math.prod(shape)} values, but data's examples have "
                         f"{data.n_features}")
    return shape


def _check_data(data) -> None:
    for name in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
        if not isinstance(getattr(data, name, None), torch.Tensor):
            raise TypeError(f"data must be a trainwell.data.Dataset with a test split; data.{name} is "
                            "missing")
    if data.y_train.is_floating_point() or getattr(data, "n_classes", None) is None:
        raise ValueError("data must be a classification dataset (integer labels): the ablation compares "
                         "accuracies")


# ------------------------------------------------------------------------------------------------
# The recipe


def _weight_decay_callback(rate: float) -> Callback:
    """Decoupled weight decay after every optimizer step, w ← (1 − rate)·w for the weights of the
    linear layers (never biases or batch-norm parameters), whatever the learning rate:
    :class:`~trainwell.regularization.DecoupledDecay`, Loshchilov & Hutter (2019)'s θ ← θ − η_t·λ·θ
    with schedule multiplier η_t = 1, not PyTorch's AdamW, which multiplies λ by the learning rate
    (so that a learning-rate grid would also be a weight-decay grid). AdamW with
    :func:`~trainwell.together.weight_decay_groups` would need two param groups per setting, which
    fit_many does not allow. AdamW shrinks before its update and this after, a difference of order
    rate·η per step."""
    return DecoupledDecay(rate)


def recipe(data, techniques, *, epochs: int, hidden: Sequence[int] = (256, 256), dropout: float = 0.5,
           weight_decay: float = 0.05, max_shift: int = 2, patience: int = 5, monitor: str = "val_loss",
           adam_lr: float = 1e-3, sgd_lr: float = 0.1, sgd_momentum: float = 0.0, batch_size: int = 64,
           image_shape=None) -> dict:
    """The book's training recipe with each technique of :data:`TECHNIQUES` switched on or off by
    ``techniques`` (section `together-ablation`), for ``data`` (a classification
    :class:`~trainwell.data.Dataset` of images, flat or not). Returns the pieces of a run::

        {"techniques": (...), "build": build, "base_lr": η₀, "decay_per_step": λ,
         "fit": {"optimizer": ..., "transform": ..., "callbacks": [...], "epochs": ..., "batch_size": ...,
                 "eval_every": ...}}

    so that ``seed_everything(s); model = r["build"](); fit(model, data, seed=s, **r["fit"])`` is one
    run and :func:`recipe_run` the same runs side by side. The network is a ReLU MLP with the widths
    ``hidden``; each switch changes one thing:

    - ``"batch_norm"``: every hidden layer is Linear (no bias) → BatchNorm1d → ReLU instead of
      Linear → ReLU;
    - ``"dropout"``: one ``nn.Dropout(dropout)`` (drop probability) after the last hidden layer only,
      so that no batch-norm layer ever sees dropped units (the variance shift, section
      `dropout-practice`, which :func:`~trainwell.together.lint` flags);
    - ``"weight_decay"``: decoupled decay of the linear layers' weights (not biases, not batch-norm
      parameters) after every step, w ← (1 − λ)·w, the same with SGD as with Adam and at every
      learning rate, with Loshchilov & Hutter (2019)'s normalized λ = ``weight_decay``·√(1/T) for T
      optimizer steps in all (their λ_norm; they found 0.025 to 0.05 best);
    - ``"augmentation"``: every training mini-batch shifted by up to ``max_shift`` pixels
      (:class:`~trainwell.regularization.RandomShift`, zero fill) on images of ``image_shape``
      (``None``: square, from the number of inputs);
    - ``"early_stopping"``: :class:`~trainwell.train.EarlyStopping` on ``monitor`` with ``patience``,
      restoring the best epoch's parameters; without it, the last epoch's parameters are kept;
    - ``"adam"``: ``torch.optim.Adam`` at base rate ``adam_lr`` instead of ``torch.optim.SGD`` at
      ``sgd_lr`` with momentum ``sgd_momentum`` (0: plain SGD).

    The epoch metrics are measured every epoch with early stopping, which needs them, and otherwise
    only after the last epoch (``eval_every``): the passes over the training and validation splits
    would cost about a third of a short run.
    """
    _check_data(data)
    on = _techniques("techniques", techniques)
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    sizes = layer_sizes(data, hidden, min_hidden=1)
    p = check_float("dropout", dropout, minimum=0.0, maximum=1.0, min_inclusive=False, max_inclusive=False)
    weight_decay = check_float("weight_decay", weight_decay, minimum=0.0)
    max_shift = check_int("max_shift", max_shift, minimum=1)
    patience = check_int("patience", patience, minimum=1)
    monitor = check_choice("monitor", monitor, MONITORS)
    adam_lr = check_float("adam_lr", adam_lr, minimum=0.0, min_inclusive=False)
    sgd_lr = check_float("sgd_lr", sgd_lr, minimum=0.0, min_inclusive=False)
    sgd_momentum = check_float("sgd_momentum", sgd_momentum, minimum=0.0, maximum=1.0, max_inclusive=False)
    shape = _image_shape(data, image_shape)
    transform = RandomShift(max_shift, shape) if "augmentation" in on else None  # checks max_shift

    bn = "batch_norm" in on

    def build() -> nn.Sequential:
        layers: list[nn.Module] = [nn.Flatten()] if len(data.input_shape) > 1 else []
        for a, b in zip(sizes[:-2], sizes[1:-1], strict=True):
            layers += [nn.Linear(a, b, bias=not bn), nn.BatchNorm1d(b), nn.ReLU()] if bn else \
                [nn.Linear(a, b), nn.ReLU()]
        if "dropout" in on:
            layers.append(nn.Dropout(p))
        layers.append(nn.Linear(sizes[-2], sizes[-1]))
        return nn.Sequential(*layers)

    if "adam" in on:
        base_lr = adam_lr

        def optimizer(params):
            return torch.optim.Adam(params, lr=adam_lr)
    else:
        base_lr = sgd_lr

        def optimizer(params):
            return torch.optim.SGD(params, lr=sgd_lr, momentum=sgd_momentum)

    steps = epochs * math.ceil(len(data.y_train) / batch_size)
    decay = weight_decay / math.sqrt(steps) if "weight_decay" in on else 0.0
    if decay >= 1:
        raise ValueError(f"weight_decay {weight_decay:g} over {steps} steps is a decay of {decay:.3g} per "
                         "step, which removes every weight; lower it")
    callbacks: list = []
    if decay > 0:
        callbacks.append(_weight_decay_callback(decay))
    if "early_stopping" in on:
        callbacks.append(EarlyStopping(patience, monitor=monitor, restore_best=True))
    return {"techniques": _ordered(on), "build": build, "base_lr": base_lr, "decay_per_step": decay,
            "fit": {"optimizer": optimizer, "transform": transform, "callbacks": callbacks, "epochs": epochs,
                    "batch_size": batch_size, "eval_every": 1 if "early_stopping" in on else epochs}}


def recipe_run(data, *, techniques, seeds, lrs: Sequence[float], epochs: int, **settings) -> Runs:
    """Train the :func:`recipe` with ``techniques`` switched on from every seed of ``seeds`` at every
    learning rate of ``lrs`` (the actual rates of the recipe's optimizer: Adam's with ``"adam"``,
    SGD's without), all side by side in one :func:`~trainwell.train.fit_many` call (section
    `together-ablation`). ``settings`` are :func:`recipe`'s other keywords. Returns the
    :class:`~trainwell.train.Runs` (members: learning rates × seeds). With early stopping, each
    member ends with its best epoch's parameters, and its history's last epoch is not the epoch it
    was restored to: score ``runs.models`` (as :func:`ablation` does), not ``runs.final``."""
    parts = recipe(data, techniques, epochs=epochs, **settings)
    seeds = _seeds(seeds)
    lrs = _positive_floats("lrs", lrs)
    with _one_thread():
        return fit_many(parts["build"], data, seeds=seeds, grid={"lr": lrs}, progress=False,
                        tolerate_divergence=True, **parts["fit"])  # a grid's largest rates may diverge


# ------------------------------------------------------------------------------------------------
# The ablation


def _arms(techniques: frozenset, always_on: frozenset) -> dict[str, frozenset]:
    """Arm name -> the techniques it switches on, in the order the tables list them."""
    order = _ordered(techniques)
    full = techniques | always_on
    arms = {"full": full}
    arms.update({f"full - {t}": full - {t} for t in order})
    arms["baseline"] = always_on
    arms.update({f"baseline + {t}": always_on | {t} for t in order})
    return arms


def ablation(data, *, techniques: Sequence[str] = TECHNIQUES, always_on: Sequence[str] = (), seeds,
             lr_factors: Sequence[float] = (1.0, 3.0, 10.0), epochs: int, progress: bool = False,
             **settings) -> dict:
    """An ablation of :func:`recipe` (section `together-ablation`): for every arm, train it from every
    seed at every learning rate of the grid, and score the trained networks on the validation and the
    test split.

    The arms: ``"full"`` (every technique of ``techniques`` and ``always_on``), ``"full - t"`` for
    every t of ``techniques`` (leave one out), ``"baseline"`` (only ``always_on``) and
    ``"baseline + t"`` (add one in): 2·len(techniques) + 2 configurations, each a
    :func:`recipe_run` of len(lr_factors) × len(seeds) members; an arm that two names describe (with
    one technique) is trained once. The learning rates are ``lr_factors`` times the base rate of the
    arm's optimizer (``adam_lr`` or ``sgd_lr``), so that one grid serves Adam and SGD; the default
    (1, 3, 10) reaches above the optimizers' usual defaults, as short runs want, but an arm may still
    do best at its top (check ``val_acc`` before calling a rate tuned). ``settings`` are
    :func:`recipe`'s other keywords, the same for every arm; ``progress`` prints each arm's seconds.

    Returns ``{"techniques", "always_on", "seeds", "lr_factors", "settings", "seconds", "arms"}``;
    ``arms[name]`` holds ``"techniques"``, ``"lrs"`` (the actual rates), ``"train_acc"`` (on the
    unaugmented training images), ``"val_acc"`` and ``"test_acc"`` (arrays of shape (lr_factors,
    seeds), each the accuracy of the network training ended with: the restored one under early
    stopping), ``"epochs"`` (epochs trained) and
    ``"seconds"``. Choose learning rates on ``val_acc`` and report ``test_acc``
    (:func:`ablation_effects` does), so that the choice does not bias the number reported.
    """
    _check_data(data)
    studied = _techniques("techniques", techniques, allow_empty=False)
    always = _techniques("always_on", always_on)
    both = studied & always
    if both:
        raise ValueError(f"{', '.join(_ordered(both))} cannot be both ablated (techniques) and always on "
                         "(always_on)")
    seeds = _seeds(seeds)
    factors = _positive_floats("lr_factors", lr_factors)
    epochs = check_int("epochs", epochs, minimum=1)
    progress = check_bool("progress", progress)
    arms = _arms(studied, always)
    for on in arms.values():  # every arm's settings are checked before anything trains
        recipe(data, on, epochs=epochs, **settings)
    out = {"techniques": _ordered(studied), "always_on": _ordered(always), "seeds": seeds,
           "lr_factors": factors, "settings": dict(settings, epochs=epochs), "arms": {}}
    started = time.perf_counter()
    done: dict[frozenset, dict] = {}
    for name, on in arms.items():
        if on not in done:
            t0 = time.perf_counter()
            parts = recipe(data, on, epochs=epochs, **settings)
            lrs = [f * parts["base_lr"] for f in factors]
            steps_per_epoch = math.ceil(len(data.y_train) / parts["fit"]["batch_size"])
            runs = recipe_run(data, techniques=on, seeds=seeds, lrs=lrs, epochs=epochs, **settings)
            done[on] = {"techniques": _ordered(on), "lrs": lrs,
                        "train_acc": runs.evaluate(data.X_train, data.y_train)["acc"],
                        "val_acc": runs.evaluate(data.X_val, data.y_val)["acc"],
                        "test_acc": runs.evaluate(data.X_test, data.y_test)["acc"],
                        "epochs": np.array([len(h.step_loss) / steps_per_epoch for h in runs.histories])
                        .reshape(-1, len(seeds)),
                        "seconds": time.perf_counter() - t0}
            if progress:
                print(f"{name}: {done[on]['seconds']:.1f} s")
        out["arms"][name] = done[on]
    out["seconds"] = time.perf_counter() - started
    return out


# ------------------------------------------------------------------------------------------------
# Paired differences and the effects


def _scores(name: str, values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be a list or array of per-seed numbers, got {values!r}")
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a list or array of per-seed numbers, got {values!r}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one number per seed (1-D), got shape {arr.shape}")
    if arr.size < 2:
        raise ValueError(f"{name} holds {arr.size} value(s): a paired interval needs at least 2 seeds")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} holds {int((~np.isfinite(arr)).sum())} non-finite value(s) (NaN or inf)")
    return arr


def paired_differences(a, b, *, confidence: float = 0.95, n_resamples: int = 10_000, seed: int = 0,
                       method: str = "percentile") -> dict:
    """The mean of the per-seed differences ``a[i] − b[i]`` (two arms trained from the same seeds) and
    its bootstrap confidence interval (section `together-ablation`).

    Paired: the seeds are resampled, each with both of its numbers, which is resampling the vector of
    differences d (``scipy.stats.bootstrap`` on d, statistic the mean). The seed-to-seed variation
    that two arms share (the same data order, much the same initialization) cancels in d.

    ``method="percentile"`` (the default) takes the quantiles of the resampled means: simple, and
    always inside the range of the differences. With 5 seeds there are only 126 distinct resamples
    and every bootstrap interval is too narrow: the resampled means vary by (n − 1)/n of the
    variance of the mean, and a normal quantile stands in for Student's t with n − 1 degrees of
    freedom. For 5 normal differences a nominal 95 % percentile interval covered the true mean 85 %
    of the time (400 simulated experiments; a t interval, 1.6 times wider, covered it 95.5 %).
    ``"BCa"`` corrects bias and skew with an acceleration estimated by a jackknife of 5 values,
    itself noisy: it covered 84.5 % in the same simulation, no better, at the price of a method a
    reader cannot check by hand; it is offered, not the default. Read an interval from 5 seeds as
    a screen, not as a test; more seeds fix it.

    Returns ``{"mean", "low", "high", "differences", "confidence", "method"}``. When every difference
    is the same number, the interval is that number (the bootstrap has nothing to resample).
    Refuses arrays of different lengths, fewer than 2 seeds, and NaN or infinite values.
    """
    from scipy import stats

    a, b = _scores("a", a), _scores("b", b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must hold one number per seed for the same seeds, got {a.size} and "
                         f"{b.size} values")
    confidence = check_float("confidence", confidence, minimum=0.0, maximum=1.0, min_inclusive=False,
                             max_inclusive=False)
    n_resamples = check_int("n_resamples", n_resamples, minimum=100)
    seed = check_int("seed", seed, minimum=0)
    method = check_choice("method", method, BOOTSTRAP_METHODS)
    d = a - b
    mean = float(d.mean())
    if np.ptp(d) == 0:
        low = high = mean
    else:
        ci = stats.bootstrap((d,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                             method=method, random_state=np.random.default_rng(seed),
                             vectorized=True).confidence_interval
        low, high = float(ci.low), float(ci.high)
    return {"mean": mean, "low": low, "high": high, "differences": d, "confidence": confidence,
            "method": method}


def _verdict(effect: dict) -> str:
    if effect["low"] > 0:
        return "helps"
    if effect["high"] < 0:
        return "hurts"
    return "unclear"


def _best(arm: dict) -> int:
    """Index of the learning rate with the highest validation accuracy averaged over seeds."""
    return int(np.argmax(arm["val_acc"].mean(axis=1)))


def ablation_effects(result: dict, *, confidence: float = 0.95, n_resamples: int = 10_000,
                     seed: int = 0) -> list[dict]:
    """The effect of every technique of an :func:`ablation` on test accuracy, with a paired bootstrap
    interval (:func:`paired_differences`), one row per technique and kind (section
    `together-ablation`):

    - leave one out: full − (full − t), the loss from removing t from the recipe;
    - add one in: (baseline + t) − baseline, the gain from adding t to the plain network.

    Each at a fixed learning rate (both arms at the factor that maximized the reference arm's mean
    validation accuracy: the full recipe's for leave-one-out, the baseline's for add-one-in) and with
    the learning rate retuned (each arm at its own best factor on validation accuracy; a tie goes to
    the smaller factor). Learning rates are chosen on the validation split and effects measured on
    the test split.

    Each row: ``technique``, ``kind``, ``fixed_mean``, ``fixed_low``, ``fixed_high``,
    ``retuned_mean``, ``retuned_low``, ``retuned_high``, the standard deviation of the fixed-rate
    differences as paired (``fixed_sd_paired``) and as it would be for unpaired seeds
    (``fixed_sd_unpaired``, the two arms' variances added), the factors used (``reference_factor``,
    ``retuned_factor``), the verdicts (``"helps"``, ``"hurts"`` when the interval excludes 0, else
    ``"unclear"``), and ``changed``: True when retuning changes the conclusion, that is the
    verdicts differ or the mean changes sign; ``why`` says which. ``pandas.DataFrame(rows)`` is a
    table.
    """
    if not isinstance(result, dict) or not {"arms", "techniques", "lr_factors"} <= set(result):
        raise TypeError("result must be the dict that ablation returns")
    factors, arms = result["lr_factors"], result["arms"]
    boot = {"confidence": confidence, "n_resamples": n_resamples, "seed": seed}
    rows = []
    for t in result["techniques"]:
        for kind, with_t, without_t, reference in (
                ("leave-one-out", "full", f"full - {t}", "full"),
                ("add-one-in", f"baseline + {t}", "baseline", "baseline")):
            ref = _best(arms[reference])
            best = {name: _best(arms[name]) for name in (with_t, without_t)}
            test = {name: arms[name]["test_acc"] for name in (with_t, without_t)}
            fixed = paired_differences(test[with_t][ref], test[without_t][ref], **boot)
            retuned = paired_differences(test[with_t][best[with_t]], test[without_t][best[without_t]], **boot)
            other = without_t if reference == with_t else with_t
            verdicts = (_verdict(fixed), _verdict(retuned))
            flipped = fixed["mean"] * retuned["mean"] < 0
            why = ("verdict " + " -> ".join(verdicts) if verdicts[0] != verdicts[1] else
                   "sign of the mean flips" if flipped else "")
            a, b = test[with_t][ref], test[without_t][ref]
            rows.append({"technique": t, "kind": kind,
                         "fixed_mean": fixed["mean"], "fixed_low": fixed["low"], "fixed_high": fixed["high"],
                         "fixed_sd_paired": float(np.std(a - b, ddof=1)),
                         "fixed_sd_unpaired": float(np.sqrt(np.var(a, ddof=1) + np.var(b, ddof=1))),
                         "retuned_mean": retuned["mean"], "retuned_low": retuned["low"],
                         "retuned_high": retuned["high"], "reference_factor": factors[ref],
                         "retuned_factor": factors[best[other]], "fixed_verdict": verdicts[0],
                         "retuned_verdict": verdicts[1], "changed": bool(why), "why": why})
    return rows
