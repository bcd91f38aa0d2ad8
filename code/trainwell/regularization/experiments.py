"""The experiments of Part I, regularization: each trains the book's networks through
:func:`trainwell.train.fit_many`, every seed (and every setting of a grid) side by side.

* :func:`memorization_runs`: a network large enough to memorize a small training set, with true and
  with randomized labels (section `reg-overfitting`);
* :func:`constraint_runs`: plain SGD over a grid of learning rates without regularization, with an L2
  penalty and with a max-norm projection, measured by :func:`dead_unit_fractions`, :func:`diverged`
  and :func:`largest_unit_norms`; :func:`constraint_tuning_runs`: the penalty and the projection at
  one learning rate over a grid of their strengths (section `reg-constraints`);
* :func:`augmentation_runs`: the same network with and without data augmentation on training sets
  of several sizes, each run the same number of steps (section `reg-augmentation`);
* :func:`weight_noise_runs` and :func:`input_noise_runs`: Gaussian noise on the weights or on the
  inputs of a network trained on a small set (section `reg-noise`);
* further sections add their runs below.
"""
from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from .._validate import check_bool, check_float, check_int, check_seeds
from ..config import threads
from ..models import layer_sizes, mlp
from ..train import EarlyStopping, Runs, fit_many
from .constraints import MaxNorm, dead_units
from .noise import GaussianInputNoise, WeightNoise
from .overfitting import with_random_labels
from .penalties import L2

_seeds = check_seeds  # the book's one seed check, under the name the displayed code reads
_one_thread = functools.partial(threads, 1)  # the book's one thread limit, likewise


def memorization_runs(data, *, fractions: Sequence[float], seeds, epochs: int,
                      hidden: Sequence[int] = (512, 512), lr: float = 1e-3, batch_size: int = 64,
                      eval_every: int = 1) -> dict[float, Runs]:
    """For each fraction of :func:`with_random_labels` (0 keeps the true labels, 1 replaces all of
    them), train a ReLU MLP with Adam on ``data``'s training split, one network per seed. The
    validation split keeps its true labels, so validation accuracy says what the network learned
    about digits rather than about its training set (Zhang, Bengio, Hardt, Recht & Vinyals 2017)."""
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    sizes = layer_sizes(data, hidden, min_hidden=1)
    out = {}
    for fraction in fractions:
        fraction = check_float("fraction", fraction, minimum=0.0, maximum=1.0)
        noisy = with_random_labels(data, fraction, seed=0) if fraction > 0 else data
        out[fraction] = fit_many(lambda: mlp(sizes), noisy, seeds=_seeds(seeds),
                                 optimizer=lambda p: torch.optim.Adam(p, lr=lr),
                                 epochs=check_int("epochs", epochs, minimum=1), batch_size=batch_size,
                                 eval_every=eval_every, progress=False)
    return out


def _positive_floats(name: str, values, *, minimum: float = 0.0, min_inclusive: bool = False) -> list[float]:
    """``values`` as a non-empty list of distinct floats, each checked under the name ``name[i]``."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a list of numbers, got {values!r}")
    out = [check_float(f"{name}[{i}]", v, minimum=minimum, min_inclusive=min_inclusive)
           for i, v in enumerate(values)]
    if not out:
        raise ValueError(f"{name} is empty: give at least one value")
    if len(set(out)) != len(out):
        raise ValueError(f"{name} holds a value twice: {out}")
    return out


# ------------------------------------------------------------------------------------------------
# Projection against a penalty (section `reg-constraints`)

#: The arms of :func:`constraint_runs`, in order.
CONSTRAINT_ARMS = ("none", "L2 penalty", "max-norm, every layer", "max-norm, hidden layers")


def constraint_runs(data, *, learning_rates: Sequence[float], seeds, epochs: int, alpha: float,
                    max_norm: float, hidden: Sequence[int] = (256, 256), batch_size: int = 64,
                    eval_every: int = 1) -> dict[str, Runs]:
    """An MLP trained by SGD at every learning rate: plain, with L2, and with max-norm in two forms.

    A ReLU MLP trained with plain SGD (no momentum) at every learning rate of ``learning_rates``
    from every seed, four ways: without regularization (``"none"``), with the L2 penalty
    (α/2)·Σ‖W‖² of strength ``alpha`` (``"L2 penalty"``), and with every unit's incoming weight vector
    projected back onto the ball ‖w_j‖ ≤ ``max_norm`` after every step, either in every layer
    (``"max-norm, every layer"``, the output layer included) or in the hidden layers only, as in
    Srivastava et al. 2014 (``"max-norm, hidden layers"``). Returns one
    :class:`~trainwell.train.Runs` per arm (members: learning rates × seeds);
    :func:`dead_unit_fractions`, :func:`diverged` and :func:`largest_unit_norms` measure them. A
    penalty pulls every weight towards 0 by a fixed fraction ηα per step, whatever the learning rate
    does to the rest of the update; a projection only acts on a unit whose weights left the ball
    (Goodfellow et al. 2016, §7.2)."""
    lrs = _positive_floats("learning_rates", learning_rates)
    alpha = check_float("alpha", alpha, minimum=0.0)
    max_norm = check_float("max_norm", max_norm, minimum=0.0, min_inclusive=False)
    epochs = check_int("epochs", epochs, minimum=1)
    sizes = layer_sizes(data, hidden, min_hidden=1)
    seeds = _seeds(seeds)
    arms = {"none": {}, "L2 penalty": {"penalty": L2(alpha)},
            "max-norm, every layer": {"callbacks": [MaxNorm(max_norm)]},
            "max-norm, hidden layers": {"callbacks": [MaxNorm(max_norm, output_layer=False)]}}
    with _one_thread():
        return {name: fit_many(lambda: mlp(sizes), data, seeds=seeds, grid={"lr": lrs},
                               optimizer=lambda p: torch.optim.SGD(p, lr=lrs[0]), epochs=epochs,
                               batch_size=batch_size, eval_every=eval_every, progress=False,
                               tolerate_divergence=True, **extra)  # the largest rates may diverge
                for name, extra in arms.items()}


def _n_seeds(runs: Runs) -> int:
    if not isinstance(runs, Runs):
        raise TypeError(f"runs must be the Runs that fit_many returns, got {type(runs).__name__}")
    return len(dict.fromkeys(runs.seeds))


def diverged(runs: Runs) -> np.ndarray:
    """Whether each member's training diverged (a non-finite loss or metric), shape (settings, seeds)."""
    n_seeds = _n_seeds(runs)
    return np.array([h.diverged for h in runs.histories], dtype=bool).reshape(-1, n_seeds)


def dead_unit_fractions(runs: Runs, X: torch.Tensor) -> np.ndarray:
    """For each member, the fraction of its hidden ReLU units that output 0 on every row of ``X`` (the
    training inputs, say) after training (:func:`~trainwell.regularization.dead_units`), shape
    (settings, seeds); NaN for a member that diverged or whose weights are not finite."""
    n_seeds = _n_seeds(runs)
    out = np.full(len(runs), np.nan)
    for m, (model, history) in enumerate(zip(runs.models, runs.histories, strict=True)):
        finite = all(bool(torch.isfinite(p).all()) for p in model.parameters())
        if finite and not history.diverged:
            out[m] = dead_units(model, X)
    return out.reshape(-1, n_seeds)


@torch.no_grad()
def largest_unit_norms(runs: Runs, *, output_layer: bool = True) -> np.ndarray:
    """For each member, the largest norm ‖w_j‖₂ of a unit's incoming weights over every linear layer
    (what max-norm bounds; without ``output_layer``, over the hidden layers only), shape (settings,
    seeds); inf or NaN where the weights overflowed."""
    n_seeds = _n_seeds(runs)
    output_layer = check_bool("output_layer", output_layer)
    norms = []
    for model in runs.models:
        layers = [layer for layer in model.modules() if isinstance(layer, torch.nn.Linear)]
        layers = layers if output_layer else layers[:-1]
        norms.append(max(float(layer.weight.norm(dim=1).max()) for layer in layers))
    return np.array(norms).reshape(-1, n_seeds)


def constraint_tuning_runs(data, *, lr: float, alphas: Sequence[float], max_norms: Sequence[float],
                           seeds, epochs: int, output_layer: bool = True, hidden: Sequence[int] = (256, 256),
                           batch_size: int = 64) -> dict[str, dict[float, Runs]]:
    """The penalty and the projection of :func:`constraint_runs` at one learning rate ``lr``, each
    over a grid of its own strength, so that both can be tuned on validation before they are compared:
    ``{"L2 penalty": {α: Runs}, "max-norm, every layer": {c: Runs}}`` for every α of ``alphas`` and
    c of ``max_norms`` (``"max-norm, hidden layers"`` without ``output_layer``), every member trained
    from every seed as there."""
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    alphas = _positive_floats("alphas", alphas)
    max_norms = _positive_floats("max_norms", max_norms)
    epochs = check_int("epochs", epochs, minimum=1)
    sizes = layer_sizes(data, hidden, min_hidden=1)
    seeds = _seeds(seeds)
    output_layer = check_bool("output_layer", output_layer)
    projection = CONSTRAINT_ARMS[2 if output_layer else 3]
    arms = {"L2 penalty": {a: {"penalty": L2(a)} for a in alphas},
            projection: {c: {"callbacks": [MaxNorm(c, output_layer=output_layer)]} for c in max_norms}}
    with _one_thread():
        return {name: {value: fit_many(lambda: mlp(sizes), data, seeds=seeds,
                                       optimizer=lambda p: torch.optim.SGD(p, lr=lr), epochs=epochs,
                                       batch_size=batch_size, progress=False, tolerate_divergence=True,
                                       **extra)
                       for value, extra in grid.items()}
                for name, grid in arms.items()}


# ------------------------------------------------------------------------------------------------
# Data augmentation against the size of the training set (section `reg-augmentation`)

#: The arms of :func:`augmentation_runs`, in order.
AUGMENTATION_ARMS = ("plain", "augmented")


def augmentation_runs(data, *, sizes: Sequence[int], seeds, steps: int,
                      transform_builder: Callable[[], Callable[[torch.Tensor], torch.Tensor]],
                      hidden: Sequence[int] = (128, 128), lr: float = 1e-3, batch_size: int = 64,
                      subset_seed: int = 0, arms: Sequence[str] = AUGMENTATION_ARMS
                      ) -> dict[str, dict[int, Runs]]:
    """Plain and augmented training of an MLP at every training-set size and seed.

    For every training-set size n of ``sizes`` (the first n examples of one class-stratified
    ordering of ``data``'s training split, so smaller sets are nested in larger ones; see
    ``Dataset.subset_train``), train a ReLU MLP with Adam (learning rate ``lr``) from every seed twice:
    on the images as they are (``"plain"``) and with a fresh draw of the label-preserving transform
    ``transform_builder()`` applied to every training mini-batch (``"augmented"``), e.g.
    ``lambda: RandomShift(2, (28, 28))``.

    Every run takes exactly ``steps`` optimizer steps, whatever n: with equal epochs a run on 50
    examples would take a sixteenth of the updates of a run on 1,000 (at batch size 64), and the
    comparison across sizes would measure training length as much as data. The metrics are measured
    once, after the last step. Returns ``{arm: {n: Runs}}`` for the ``arms`` asked for (both by
    default; a plain arm already trained with the same sizes, seeds and steps need not be trained
    again); :func:`final_by_size` arranges a metric as (sizes, seeds)."""
    steps = check_int("steps", steps, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    if not callable(transform_builder) or not _takes_no_arguments(transform_builder):
        raise TypeError("transform_builder must be a function of no arguments that builds the transform, "
                        f"e.g. lambda: RandomShift(2, (28, 28)), got {transform_builder!r} (a transform "
                        "itself takes a batch)")
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise TypeError(f"sizes must be a list of training-set sizes, got {sizes!r}")
    available = len(data.y_train)
    ns = [check_int(f"sizes[{i}]", n, minimum=1, maximum=available) for i, n in enumerate(sizes)]
    if not ns:
        raise ValueError("sizes is empty")
    if len(set(ns)) != len(ns):
        raise ValueError(f"sizes holds a size twice: {ns}")
    if isinstance(arms, str) or not isinstance(arms, Sequence) or not arms or \
            any(arm not in AUGMENTATION_ARMS for arm in arms) or len(set(arms)) != len(arms):
        raise ValueError(f"arms must be a non-empty list of distinct arms from {AUGMENTATION_ARMS}, "
                         f"got {arms!r}")
    seeds = _seeds(seeds)
    net = layer_sizes(data, hidden, min_hidden=1)
    out: dict[str, dict[int, Runs]] = {arm: {} for arm in arms}
    with _one_thread():
        for n in ns:
            subset = data.subset_train(n, seed=subset_seed)
            epochs = math.ceil(steps / math.ceil(n / batch_size))
            transform = transform_builder()  # a fresh one for every size, checked before anything trains
            if not callable(transform):
                raise TypeError("transform_builder() must return a transform (a function of a batch), "
                                f"got {type(transform).__name__}")
            for arm in arms:
                out[arm][n] = fit_many(lambda: mlp(net), subset, seeds=seeds,
                                       optimizer=lambda p: torch.optim.Adam(p, lr=lr), epochs=epochs,
                                       max_steps=steps, batch_size=batch_size,
                                       transform=transform if arm == "augmented" else None,
                                       eval_every=epochs, progress=False)
    return out


def _takes_no_arguments(fn) -> bool:
    try:
        inspect.signature(fn).bind()
    except TypeError:
        return False
    except ValueError:  # no signature to read (some built-ins): let the call decide
        return True
    return True


def final_by_size(results: dict[int, Runs], metric: str = "val_acc") -> np.ndarray:
    """``metric`` after training for one arm of :func:`augmentation_runs` (``results["plain"]``, say),
    shape (sizes, seeds), the sizes in the order given."""
    if not isinstance(results, dict) or not all(isinstance(r, Runs) for r in results.values()):
        raise TypeError("results must be one arm of augmentation_runs: a dict size -> Runs")
    if not results:
        raise ValueError("results is empty: it holds no training-set size")
    return np.stack([runs.final(metric) for runs in results.values()])


# ------------------------------------------------------------------------------------------------
# Noise on the weights and on the inputs (section `reg-noise`)


def _noise_runs(data, sigmas, seeds, epochs, hidden, lr, batch_size, eval_every, keep_best,
                noise) -> dict[float, Runs]:
    sigmas = _positive_floats("sigmas", sigmas, min_inclusive=True)
    epochs = check_int("epochs", epochs, minimum=1)
    lr = check_float("lr", lr, minimum=0.0, min_inclusive=False)
    if check_bool("keep_best", keep_best) and eval_every != 1:
        raise ValueError(f"keep_best=True keeps the epoch of lowest validation loss, which needs the "
                         f"validation loss of every epoch: eval_every must be 1, got {eval_every!r}")
    sizes = layer_sizes(data, hidden, min_hidden=1)
    seeds = _seeds(seeds)

    def extras(sigma):
        kwargs = noise(sigma)
        if keep_best:  # a patience of every epoch: it never stops, it only restores the best epoch
            kwargs["callbacks"] = kwargs.get("callbacks", []) + [EarlyStopping(epochs, restore_best=True)]
        return kwargs

    with _one_thread():
        return {sigma: fit_many(lambda: mlp(sizes), data, seeds=seeds,
                                optimizer=lambda p: torch.optim.Adam(p, lr=lr), epochs=epochs,
                                batch_size=batch_size, eval_every=eval_every, progress=False, **extras(sigma))
                for sigma in sigmas}


def weight_noise_runs(data, *, sigmas: Sequence[float], seeds, epochs: int,
                      hidden: Sequence[int] = (256, 256), lr: float = 1e-3, batch_size: int = 64,
                      eval_every: int = 1, keep_best: bool = False) -> dict[float, Runs]:
    """For every σ of ``sigmas``, train a ReLU MLP with Adam on ``data`` (a small training set, e.g.
    300 digits) from every seed with Gaussian noise N(0, σ²) added to every weight (not the biases)
    for each mini-batch's forward and backward pass and taken away before the update is applied
    (:class:`~trainwell.regularization.WeightNoise`, Graves 2011). σ = 0 is the plain network.
    With ``keep_best``, every run trains all ``epochs`` and then gets back the weights of its epoch
    of lowest validation loss (early stopping without the stop), so that each σ can be scored at its
    own best point on a split that chose nothing. Returns ``{σ: Runs}``."""
    return _noise_runs(data, sigmas, seeds, epochs, hidden, lr, batch_size, eval_every, keep_best,
                       lambda sigma: {"callbacks": [WeightNoise(sigma)]})


def input_noise_runs(data, *, sigmas: Sequence[float], seeds, epochs: int,
                     hidden: Sequence[int] = (256, 256), lr: float = 1e-3, batch_size: int = 64,
                     eval_every: int = 1, keep_best: bool = False) -> dict[float, Runs]:
    """:func:`weight_noise_runs` with the noise on the inputs instead: every training mini-batch's
    inputs get a fresh draw x + σε, ε ~ N(0, I) (:class:`~trainwell.regularization.GaussianInputNoise`;
    for a linear model and the squared loss it is L2 regularization in expectation, Bishop 1995).
    Returns ``{σ: Runs}``."""
    return _noise_runs(data, sigmas, seeds, epochs, hidden, lr, batch_size, eval_every, keep_best,
                       lambda sigma: {"transform": GaussianInputNoise(sigma)})
