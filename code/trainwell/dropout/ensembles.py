"""The dropout ensemble (sections `dropout-bagging` and `dropout-inference`).

:class:`MaskedMLP` evaluates sub-networks under explicit masks; :func:`enumerate_masks` lists all 2ⁿ
masks of n units; :func:`ensemble_predict` forms the arithmetic mean Σ_μ p(μ) p(y | x, μ) or the
renormalized geometric mean; :func:`mc_predict` averages k sampled masks in one batched forward.
Bagging on bootstrap resamples (:func:`bagging`) and dropout boosting (:class:`BoostingMLP`) are the
ensembles dropout is compared with.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._validate import check_bool, check_choice, check_float, check_int, check_same_length, check_tensor
from ..config import module_device
from ..models import eval_mode
from ..train import fit
from .core import _batch, _generator, _keep, _tensor_type, dropout

#: Exact enumeration visits 2ⁿ masks; 2²⁰ ≈ 10⁶ forward passes is the most this book asks of a CPU.
MAX_ENUMERATED_UNITS = 20


class MaskedMLP(nn.Module):
    """A ReLU MLP whose hidden units can be dropped by an *explicit* mask (section `dropout-inference`).

    ``forward(x)`` in training mode samples inverted-dropout masks (input units kept with
    ``keep_input``, hidden units with ``keep_hidden``); in eval mode it is the weight-scaled (mean)
    network. ``forward(x, masks=...)`` evaluates sub-networks: ``masks`` is a list with one tensor
    per hidden layer, of shape (width,) for one mask, (k, width) for k masks at once, each applied to
    every example, or (k, N, width) for k masks per example; with k masks the output has shape
    (k, N, classes) (the members of an ensemble in one batched forward). Explicit
    masks follow the training convention (inverted dropout): a hidden unit's value is multiplied by
    μ / keep_hidden, so a mask filled with ``keep_hidden`` gives the weight-scaled mean network, which
    is also the network in eval mode. Only hidden units are masked explicitly.
    """

    def __init__(self, sizes, *, keep_hidden: float = 0.5, keep_input: float = 1.0):
        super().__init__()
        if isinstance(sizes, (str, bytes, torch.Tensor)) or not hasattr(sizes, "__iter__"):
            raise TypeError(f"sizes must be a list of layer widths such as [64, 32, 10], got {sizes!r}")
        sizes = [check_int(f"sizes[{i}]", s, minimum=1) for i, s in enumerate(sizes)]
        if len(sizes) < 3:
            raise ValueError(f"MaskedMLP needs at least one hidden layer, got sizes {sizes}")
        self.sizes = sizes
        self.keep_hidden = _keep(keep_hidden, "keep_hidden")
        self.keep_input = _keep(keep_input, "keep_input")
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))

    @property
    def hidden_units(self) -> int:
        """Number of maskable units: the sum of the hidden widths."""
        return sum(self.sizes[1:-1])

    def split_mask(self, mask: torch.Tensor) -> list[torch.Tensor]:
        """Cut masks over all hidden units, shape (..., hidden_units), into one per hidden layer."""
        if _tensor_type("mask", mask).ndim == 0 or mask.shape[-1] != self.hidden_units:
            raise ValueError(f"mask has shape {tuple(mask.shape)}: its last axis must hold one entry for"
                             f" each of the network's {self.hidden_units} hidden units")
        return list(torch.split(mask, self.sizes[1:-1], dim=-1))

    def _check_input(self, x) -> None:
        _batch(x, self.sizes[0], self.layers[0].weight, type(self).__name__)

    def _check_masks(self, masks, x: torch.Tensor) -> None:
        """Explicit masks: a list with one (width,), (k, width) or (k, N, width) tensor per hidden layer,
        all of one
        kind, on x's device, with entries in [0, 1] (0/1 for a sub-network, keep_hidden for the mean)."""
        if not isinstance(masks, (list, tuple)):
            raise TypeError(f"masks must be a list with one tensor per hidden layer (use split_mask), "
                            f"got {type(masks).__name__}")
        if len(masks) != len(self.layers) - 1:
            raise ValueError(f"masks must hold one tensor per hidden layer ({len(self.layers) - 1}), "
                             f"got {len(masks)}")
        for i, (layer, mask) in enumerate(zip(self.layers[:-1], masks, strict=True)):
            _tensor_type(f"masks[{i}]", mask)
            per_example = mask.ndim == 3 and mask.shape[1] == x.shape[0]
            if mask.ndim not in (1, 2, 3) or mask.shape[-1] != layer.out_features or \
                    mask.ndim != masks[0].ndim or (mask.ndim == 3 and not per_example) or \
                    mask.shape[:-1] != masks[0].shape[:-1]:
                raise ValueError(f"a mask for a layer of {layer.out_features} units must have shape "
                                 f"({layer.out_features},), (k, {layer.out_features}) or "
                                 f"(k, {x.shape[0]}, {layer.out_features}) for the {x.shape[0]} examples, "
                                 f"like masks[0], got masks[{i}] of shape {tuple(mask.shape)}")
            if mask.device != x.device:
                raise ValueError(f"masks[{i}] is on {mask.device} but x is on {x.device}")
            if mask.is_complex() or not bool(((mask >= 0) & (mask <= 1)).all()):
                outside = mask[~((mask >= 0) & (mask <= 1))].flatten()[0].item()
                raise ValueError(f"masks[{i}] must hold entries in [0, 1] (1 keeps a unit; the 1/keep_hidden "
                                 f"scaling is applied here, not in the mask), got {outside}")

    def forward(self, x: torch.Tensor, masks: list[torch.Tensor] | None = None) -> torch.Tensor:
        self._check_input(x)
        if masks is None:
            h = dropout(x, self.keep_input, training=self.training)
            for layer in self.layers[:-1]:
                h = dropout(torch.relu(layer(h)), self.keep_hidden, training=self.training)
            return self.layers[-1](h)
        self._check_masks(masks, x)
        batched = masks[0].ndim >= 2
        h = x.unsqueeze(0) if batched else x
        for layer, mask in zip(self.layers[:-1], masks, strict=True):
            m = mask.to(h.dtype)
            m = m.unsqueeze(1) if m.ndim == 2 else m  # one mask per member for every example, or per example
            h = torch.relu(layer(h)) * (m / self.keep_hidden)
        return self.layers[-1](h)

    def mean_network(self, x: torch.Tensor) -> torch.Tensor:
        """The weight scaling inference rule: each hidden unit's expected mask, ``keep_hidden``, in place
        of a sampled one (with inverted scaling this is the eval-mode network)."""
        self._check_input(x)
        masks = [torch.full((w,), self.keep_hidden, dtype=x.dtype, device=x.device) for w in self.sizes[1:-1]]
        return self.forward(x, masks)


def enumerate_masks(n: int, *, dtype=torch.float32) -> torch.Tensor:
    """All 2ⁿ binary masks over n units as rows of a (2ⁿ, n) tensor (n ≤ :data:`MAX_ENUMERATED_UNITS`)."""
    n = check_int("n", n, minimum=1)
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be a torch.dtype such as torch.float64, got {dtype!r}")
    if n > MAX_ENUMERATED_UNITS:
        raise ValueError(f"Invalid n: {n} (enumerating masks over {n} units means 2^{n} sub-networks; the "
                         f"limit is {MAX_ENUMERATED_UNITS} units (2^{MAX_ENUMERATED_UNITS} ≈ 10^6 forward "
                         "passes) — use mc_predict to sample masks instead)")
    codes = torch.arange(2 ** n).unsqueeze(1)
    return ((codes >> torch.arange(n)) & 1).to(dtype)


def mask_probabilities(masks: torch.Tensor, keep: float) -> torch.Tensor:
    """p(μ) = Π keep^μ_i (1 − keep)^(1 − μ_i) for each row μ of ``masks``."""
    keep = _keep(keep)
    check_tensor("masks", masks, ndim=2)
    binary = (masks == 0) | (masks == 1)
    if not bool(binary.all()):
        bad = masks[~binary].unique()[:5].tolist()
        raise ValueError(f"masks must hold only 0s and 1s, one mask per row, got entries {bad}")
    on = masks.sum(dim=1)
    return keep ** on * (1.0 - keep) ** (masks.shape[1] - on)


@torch.no_grad()
def ensemble_predict(model: MaskedMLP, x: torch.Tensor, *, mean: str = "arithmetic",
                     chunk: int = 4096) -> torch.Tensor:
    """Class probabilities of the full dropout ensemble of ``model``, by enumerating every mask.

    ``"arithmetic"``: Σ_μ p(μ) softmax(f(x; μ)). ``"geometric"``: the renormalized weighted geometric
    mean, softmax(Σ_μ p(μ) log softmax(f(x; μ))) (section `dropout-inference`).
    """
    _model_and_input(model, x, enumerated=True)
    check_choice("mean", mean, ("arithmetic", "geometric"))
    chunk = check_int("chunk", chunk, minimum=1)
    masks = enumerate_masks(model.hidden_units, dtype=x.dtype)
    weights = mask_probabilities(masks, model.keep_hidden).to(x.device)
    total = 0.0
    for start in range(0, len(masks), chunk):
        block = masks[start:start + chunk].to(x.device)
        log_p = torch.log_softmax(model(x, model.split_mask(block)), dim=-1)  # (k, N, C)
        w = weights[start:start + chunk].view(-1, 1, 1)
        total = total + ((w * log_p.exp()).sum(0) if mean == "arithmetic" else (w * log_p).sum(0))
    return total if mean == "arithmetic" else torch.softmax(total, dim=-1)


@torch.no_grad()
def mc_predict(model: MaskedMLP, x: torch.Tensor, k: int, *, generator: torch.Generator | None = None,
               return_samples: bool = False, per_example: bool = True) -> torch.Tensor:
    """Monte Carlo dropout: the mean of softmax(f(x; μ)) over k sampled masks, all k sub-networks in
    one batched forward pass (no Python loop over k). Each example draws its own k masks, as a
    training-mode forward pass does (``per_example=False`` applies the same k masks to every example,
    which scores whole sub-networks rather than Monte Carlo dropout). With ``return_samples`` the
    (k, N, C) member probabilities are returned instead (for predictive variances)."""
    _model_and_input(model, x)
    k, return_samples = check_int("k", k, minimum=1), check_bool("return_samples", return_samples)
    per_example = check_bool("per_example", per_example)
    _generator(generator, torch.device("cpu"))  # the masks are drawn on the CPU, then moved to x's device
    shape = (k, x.shape[0], model.hidden_units) if per_example else (k, model.hidden_units)
    masks = (torch.rand(*shape, generator=generator) < model.keep_hidden).to(x.dtype)
    probs = torch.softmax(model(x, model.split_mask(masks.to(x.device))), dim=-1)
    return probs if return_samples else probs.mean(0)


def _model_and_input(model, x, *, enumerated: bool = False) -> None:
    """``model`` must be a :class:`MaskedMLP` (with few enough hidden units to enumerate, if
    ``enumerated``) and ``x`` a finite (N, inputs) tensor of its dtype on its device."""
    if not isinstance(model, MaskedMLP):
        raise TypeError(f"model must be a MaskedMLP (its hidden units take explicit masks), got "
                        f"{type(model).__name__}")
    if enumerated and model.hidden_units > MAX_ENUMERATED_UNITS:
        n = model.hidden_units
        raise ValueError(f"model has {n} hidden units, whose 2^{n} masks would all be enumerated; the limit "
                         f"is {MAX_ENUMERATED_UNITS} units (use mc_predict instead)")
    model._check_input(x)
    check_tensor("x", x, finite=True)


def _dataset(data) -> None:
    """``data`` must be a dataset (a dataclass) with a non-empty training split of matching lengths."""
    from dataclasses import is_dataclass

    if isinstance(data, type) or not is_dataclass(data) or not all(
            isinstance(getattr(data, a, None), torch.Tensor) for a in ("X_train", "y_train")):
        raise TypeError(f"data must be a trainwell dataset with tensors X_train and y_train (e.g. "
                        f"tw.data.load('digits')), got {type(data).__name__}")
    check_same_length(("data.X_train", "data.y_train"), data.X_train, data.y_train)
    if data.X_train.shape[0] == 0:
        raise ValueError("data.X_train is empty: there is nothing to resample")


def bootstrap_indices(n: int, seed: int) -> torch.Tensor:
    """n indices drawn uniformly *with replacement* from 0, ..., n − 1 (a seeded bootstrap sample)."""
    n = check_int("n", n, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    return torch.randint(n, (n,), generator=torch.Generator().manual_seed(seed))


def bootstrap(data, seed: int):
    """The dataset with its training split replaced by a bootstrap resample: n draws *with
    replacement* from the n training examples (Breiman 1996; section `dropout-bagging`). Each example is
    left out with probability (1 − 1/n)ⁿ ≈ e⁻¹ ≈ 0.37. Validation and test splits are unchanged."""
    from dataclasses import replace

    _dataset(data)
    idx = bootstrap_indices(data.X_train.shape[0], seed).to(data.X_train.device)
    return replace(data, X_train=data.X_train[idx], y_train=data.y_train[idx])


def bagging(make_model, data, k: int, *, seed: int = 0, **fit_kwargs) -> list[nn.Module]:
    """Train ``k`` models, member j from ``make_model()`` on bootstrap resample j of the training
    split, with the shared loop :func:`trainwell.train.fit` (``fit_kwargs`` are passed on). Predict
    with :func:`ensemble_probabilities`, the arithmetic mean of the members (section `dropout-bagging`)."""
    if isinstance(make_model, nn.Module) or not callable(make_model):
        raise TypeError(f"make_model must be a function that builds a new model, such as "
                        f"lambda: MaskedMLP(...), got {type(make_model).__name__} (every member needs its "
                        "own parameters)")
    _dataset(data)
    k = check_int("k", k, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    fit_kwargs.setdefault("progress", False)
    members = []
    for j in range(k):
        torch.manual_seed(seed * 1000 + j)  # a different initialization for every member
        model = make_model()
        if not isinstance(model, nn.Module):
            raise TypeError(f"make_model must return a torch.nn.Module, got {type(model).__name__}")
        fit(model, bootstrap(data, seed * 1000 + j), seed=seed * 1000 + j, **fit_kwargs)
        members.append(model.eval())
    return members


@torch.no_grad()
def ensemble_probabilities(models, x: torch.Tensor) -> torch.Tensor:
    """Arithmetic mean (1/k) Σ_j softmax(f_j(x)) of the class probabilities of ``models`` in eval mode,
    shape (N, classes), on ``x``'s device (each model sees ``x`` on its own device)."""
    if isinstance(models, nn.Module) and not isinstance(models, nn.ModuleList):
        raise TypeError(f"models must be a list of models, got a single {type(models).__name__}; "
                        "pass [model] for an ensemble of one")
    if not hasattr(models, "__iter__") or isinstance(models, (str, torch.Tensor)):
        raise TypeError(f"models must be a list of models, got {type(models).__name__}")
    models = list(models)
    if not models:
        raise ValueError("ensemble_probabilities needs at least one model")
    for j, model in enumerate(models):
        if not isinstance(model, nn.Module):
            raise TypeError(f"models[{j}] must be a torch.nn.Module, got {type(model).__name__}")
    check_tensor("x", x, finite=True)
    total, shape = 0.0, None
    for j, model in enumerate(models):
        with eval_mode(model):
            logits = model(x.to(module_device(model, x.device)))
        if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or logits.shape[0] != x.shape[0]:
            got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
            raise ValueError(f"models[{j}] must return (N, classes) scores for the N = {x.shape[0]} rows "
                             f"of x, got {got}")
        if shape is not None and logits.shape != shape:
            raise ValueError(f"models[{j}] returns shape {tuple(logits.shape)} but models[0] returns "
                             f"{tuple(shape)}; an ensemble's members must predict the same classes")
        shape = logits.shape
        total = total + torch.softmax(logits, dim=-1).to(x.device)
    return total / len(models)


class BoostingMLP(MaskedMLP):
    """Dropout boosting (Warde-Farley et al. 2014; section `dropout-bagging`): the same masks as dropout,
    a different objective.

    Dropout takes, for a sampled mask μ, a gradient step on the sub-network's own loss
    −log p(y | x, μ). Dropout boosting takes the step on the loss of the *whole ensemble*,
    −log p_ens(y | x), with p_ens given by the weight-scaled mean network, but changes only the
    parameters of the sampled sub-network. In training mode each hidden layer computes

        h_kept = μ ⊙ h,  h_dropped = stop_gradient((1 − μ) ⊙ h),
        z = W h_kept + stop_gradient(W) h_dropped + b,

    whose value is the mean network's z = W h + b (inverted convention), while gradients reach only
    kept units and the weights leaving them. In eval mode, and with explicit masks, this is a
    :class:`MaskedMLP`; masks are drawn per example with inclusion probability ``keep_hidden``. Input
    units are never dropped here (``keep_input`` must be 1).
    """

    def __init__(self, sizes, *, keep_hidden: float = 0.5, keep_input: float = 1.0):
        if check_float("keep_input", keep_input) != 1.0:
            raise ValueError(f"BoostingMLP drops hidden units only: keep_input must be 1, got {keep_input!r}")
        super().__init__(sizes, keep_hidden=keep_hidden)

    def forward(self, x: torch.Tensor, masks: list[torch.Tensor] | None = None) -> torch.Tensor:
        if masks is not None or not self.training:
            return super().forward(x, masks)
        self._check_input(x)
        h = x
        for i, layer in enumerate(self.layers):
            if i == 0:
                z = layer(h)
            else:
                mu = (torch.rand(h.shape, device=h.device) < self.keep_hidden).to(h.dtype)
                kept, dropped = mu * h, ((1.0 - mu) * h).detach()
                z = F.linear(kept, layer.weight, layer.bias) + F.linear(dropped, layer.weight.detach())
            h = torch.relu(z) if i < len(self.layers) - 1 else z
        return h
