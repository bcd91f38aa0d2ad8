"""Dropout from scratch (Part II): both conventions, variants, and exact or sampled ensemble inference.

The text parameterizes dropout by the *inclusion* probability ``keep`` (a unit is kept with
probability ``keep``); PyTorch's ``nn.Dropout(p)`` takes the *drop* probability ``p = 1 - keep``.
:func:`keep_to_drop` and :func:`drop_to_keep` convert.

Two conventions give the same expected activations:

* *weight scaling* (Srivastava et al. 2014): train with y = μ ⊙ x, μ_i ~ Bernoulli(keep), and at
  inference multiply by ``keep`` (equivalently, scale the unit's outgoing weights);
* *inverted dropout* (PyTorch): train with y = μ ⊙ x / keep and use the identity at inference.

Ensemble inference for small networks (Part II, section 3): :func:`enumerate_masks` lists all 2ⁿ
masks of n units; :func:`ensemble_predict` forms the arithmetic mean Σ_μ p(μ) p(y | x, μ) or the
renormalized geometric mean; :func:`mc_predict` averages k sampled masks in one batched forward.

Also here: bagging on bootstrap resamples and dropout boosting (sections 1, 2, 8), the closed forms
for linear models and fast dropout (sections 6, 7), max-norm, DropConnect, Gaussian and additive
noise and stochastic pooling (sections 4, 9, 10).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._validate import check_choice, check_float, check_int

__all__ = [
    "keep_to_drop", "drop_to_keep", "dropout", "Dropout", "GaussianDropout", "DropConnectLinear",
    "MaskedMLP", "MAX_ENUMERATED_UNITS", "enumerate_masks", "mask_probabilities", "ensemble_predict",
    "mc_predict",
    "softmax_regression_geometric_mean", "expected_dropout_squared_loss", "wager_penalty",
    "fast_dropout_moments", "bootstrap_indices", "bootstrap", "bagging", "ensemble_probabilities",
    "BoostingMLP", "max_norm_",
    "AdditiveGaussianNoise", "noisy_mlp", "stochastic_pool2d", "StochasticPool2d",
    "TORCH_DROPOUT_TYPES", "inverted_dropout_moments", "dropout_linear_variance", "bn_dropout_mlp",
    "bn_variance_shift", "recompute_bn_stats_without_dropout", "predictive_uncertainty", "auroc",
    "split_known_classes",
]

#: Exact enumeration visits 2ⁿ masks; 2²⁰ ≈ 10⁶ forward passes is the most this book asks of a CPU.
MAX_ENUMERATED_UNITS = 20


def _keep(keep) -> float:
    return check_float("keep", keep, minimum=0.0, maximum=1.0, min_inclusive=False)


def keep_to_drop(keep: float) -> float:
    """PyTorch's drop probability ``p`` for the inclusion probability ``keep`` of the text."""
    return 1.0 - _keep(keep)


def drop_to_keep(p: float) -> float:
    """The inclusion probability ``keep`` for PyTorch's drop probability ``p`` (``0 <= p < 1``)."""
    return 1.0 - check_float("p", p, minimum=0.0, maximum=1.0, max_inclusive=False)


def dropout(x: torch.Tensor, keep: float, *, training: bool, inverted: bool = True,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Bernoulli dropout of the entries of ``x`` (Part II, section 2).

    Training: y = μ ⊙ x / keep (``inverted=True``, PyTorch's convention) or y = μ ⊙ x
    (``inverted=False``), with μ_i ~ Bernoulli(keep) drawn independently for every entry, hence for
    every example. Inference: y = x (inverted) or y = keep · x (weight scaling). E[y] is the same in
    training and inference in both conventions.
    """
    keep = _keep(keep)
    if not training:
        return x if inverted else x * keep
    mask = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype) < keep
    y = x * mask
    return y / keep if inverted else y


class Dropout(nn.Module):
    """:func:`dropout` as a layer, following ``train()`` / ``eval()``. ``Dropout(keep=0.8)`` equals
    PyTorch's ``nn.Dropout(p=0.2)`` in distribution when ``inverted=True``."""

    def __init__(self, keep: float = 0.5, *, inverted: bool = True):
        super().__init__()
        self.keep = _keep(keep)
        self.inverted = bool(inverted)

    @property
    def p(self) -> float:
        """PyTorch's name for the drop probability, 1 − keep."""
        return 1.0 - self.keep

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.keep, training=self.training, inverted=self.inverted)

    def extra_repr(self) -> str:
        return f"keep={self.keep}, p={self.p:g}, inverted={self.inverted}"


class GaussianDropout(nn.Module):
    """Multiplicative Gaussian noise y = μ ⊙ x with μ_i ~ N(1, σ²) in training, identity at inference
    (Srivastava et al. 2014; Part II, section 9). E[μ] = 1, so no weight scaling is needed;
    σ² = (1 − keep)/keep gives inverted Bernoulli dropout's variance (:meth:`matching`)."""

    def __init__(self, sigma: float):
        super().__init__()
        self.sigma = check_float("sigma", sigma, minimum=0.0)

    @classmethod
    def matching(cls, keep: float) -> GaussianDropout:
        """The Gaussian dropout with the variance of inverted Bernoulli dropout at ``keep``."""
        keep = _keep(keep)
        return cls(math.sqrt((1.0 - keep) / keep))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.sigma == 0.0:
            return x
        return x * (1.0 + self.sigma * torch.randn_like(x))

    def extra_repr(self) -> str:
        return f"sigma={self.sigma:g}"


class DropConnectLinear(nn.Linear):
    """A linear layer that drops individual *weights* (Wan et al. 2013; Part II, section 9).

    Training: each example i gets its own mask M_i ~ Bernoulli(keep) over the weight matrix and
    y_i = ((W ⊙ M_i) x_i) / keep + b (inverted scaling; the bias is not dropped). Inference: the mean
    network y = W x + b. (Wan et al. instead match the Gaussian moments of the pre-activation at
    inference; the mean network is the weight-scaling analogue.) Memory grows as batch × out × in.
    """

    def __init__(self, in_features: int, out_features: int, keep: float = 0.5, bias: bool = True):
        super().__init__(check_int("in_features", in_features, minimum=1),
                         check_int("out_features", out_features, minimum=1), bias=bias)
        self.keep = _keep(keep)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"DropConnectLinear expects (N, {self.in_features}) input, got {tuple(x.shape)}")
        if not self.training:
            return F.linear(x, self.weight, self.bias)
        masks = torch.rand(x.shape[0], *self.weight.shape, device=x.device) < self.keep
        y = torch.einsum("noi,ni->no", self.weight * masks, x) / self.keep
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return super().extra_repr() + f", keep={self.keep}"


class MaskedMLP(nn.Module):
    """A ReLU MLP whose hidden units can be dropped by an *explicit* mask (Part II, section 3).

    ``forward(x)`` in training mode samples inverted-dropout masks (input units kept with
    ``keep_input``, hidden units with ``keep_hidden``); in eval mode it is the weight-scaled (mean)
    network. ``forward(x, masks=...)`` evaluates sub-networks: ``masks`` is a list with one tensor
    per hidden layer, of shape (width,) for one mask or (k, width) for k masks at once, in which case
    the output has shape (k, N, classes) (the members of an ensemble in one batched forward). Explicit
    masks follow the training convention (inverted dropout): a hidden unit's value is multiplied by
    μ / keep_hidden, so a mask filled with ``keep_hidden`` gives the weight-scaled mean network, which
    is also the network in eval mode. Only hidden units are masked explicitly.
    """

    def __init__(self, sizes, *, keep_hidden: float = 0.5, keep_input: float = 1.0):
        super().__init__()
        sizes = [check_int(f"sizes[{i}]", s, minimum=1) for i, s in enumerate(sizes)]
        if len(sizes) < 3:
            raise ValueError(f"MaskedMLP needs at least one hidden layer, got sizes {sizes}")
        self.sizes = sizes
        self.keep_hidden = _keep(keep_hidden)
        self.keep_input = _keep(keep_input)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))

    @property
    def hidden_units(self) -> int:
        """Number of maskable units: the sum of the hidden widths."""
        return sum(self.sizes[1:-1])

    def split_mask(self, mask: torch.Tensor) -> list[torch.Tensor]:
        """Cut masks over all hidden units, shape (..., hidden_units), into one per hidden layer."""
        if mask.shape[-1] != self.hidden_units:
            raise ValueError(f"mask has {mask.shape[-1]} entries, the network has {self.hidden_units} "
                             "hidden units")
        return list(torch.split(mask, self.sizes[1:-1], dim=-1))

    def forward(self, x: torch.Tensor, masks: list[torch.Tensor] | None = None) -> torch.Tensor:
        if masks is None:
            h = dropout(x, self.keep_input, training=self.training)
            for layer in self.layers[:-1]:
                h = dropout(torch.relu(layer(h)), self.keep_hidden, training=self.training)
            return self.layers[-1](h)
        if len(masks) != len(self.layers) - 1:
            raise ValueError(f"masks must hold one tensor per hidden layer ({len(self.layers) - 1}), "
                             f"got {len(masks)}")
        batched = masks[0].ndim == 2
        h = x.unsqueeze(0) if batched else x
        for layer, mask in zip(self.layers[:-1], masks, strict=True):
            if mask.shape[-1] != layer.out_features or mask.ndim != masks[0].ndim:
                raise ValueError(f"a mask for a layer of {layer.out_features} units must have shape "
                                 f"({layer.out_features},) or (k, {layer.out_features}), "
                                 f"got {tuple(mask.shape)}")
            m = mask.to(h.dtype)
            h = torch.relu(layer(h)) * ((m.unsqueeze(1) if batched else m) / self.keep_hidden)
        return self.layers[-1](h)

    def mean_network(self, x: torch.Tensor) -> torch.Tensor:
        """The weight scaling inference rule: each hidden unit's expected mask, ``keep_hidden``, in place
        of a sampled one (with inverted scaling this is the eval-mode network)."""
        masks = [torch.full((w,), self.keep_hidden, dtype=x.dtype, device=x.device) for w in self.sizes[1:-1]]
        return self.forward(x, masks)


def enumerate_masks(n: int, *, dtype=torch.float32) -> torch.Tensor:
    """All 2ⁿ binary masks over n units as rows of a (2ⁿ, n) tensor (n ≤ :data:`MAX_ENUMERATED_UNITS`)."""
    n = check_int("n", n, minimum=1)
    if n > MAX_ENUMERATED_UNITS:
        raise ValueError(f"enumerating masks over {n} units means 2^{n} sub-networks; the limit is "
                         f"{MAX_ENUMERATED_UNITS} units (2^{MAX_ENUMERATED_UNITS} ≈ 10^6 forward passes) — "
                         "use mc_predict to sample masks instead")
    codes = torch.arange(2 ** n).unsqueeze(1)
    return ((codes >> torch.arange(n)) & 1).to(dtype)


def mask_probabilities(masks: torch.Tensor, keep: float) -> torch.Tensor:
    """p(μ) = Π keep^μ_i (1 − keep)^(1 − μ_i) for each row μ of ``masks``."""
    keep = _keep(keep)
    on = masks.sum(dim=1)
    return keep ** on * (1.0 - keep) ** (masks.shape[1] - on)


@torch.no_grad()
def ensemble_predict(model: MaskedMLP, x: torch.Tensor, *, mean: str = "arithmetic",
                     chunk: int = 4096) -> torch.Tensor:
    """Class probabilities of the full dropout ensemble of ``model``, by enumerating every mask.

    ``"arithmetic"``: Σ_μ p(μ) softmax(f(x; μ)). ``"geometric"``: the renormalized weighted geometric
    mean, softmax(Σ_μ p(μ) log softmax(f(x; μ))) (Part II, section 3).
    """
    check_choice("mean", mean, ("arithmetic", "geometric"))
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
               return_samples: bool = False) -> torch.Tensor:
    """Monte Carlo dropout: the mean of softmax(f(x; μ)) over k sampled masks, all k sub-networks in
    one batched forward pass (no Python loop over k). With ``return_samples`` the (k, N, C) member
    probabilities are returned instead (for predictive variances)."""
    k = check_int("k", k, minimum=1)
    masks = (torch.rand(k, model.hidden_units, generator=generator) < model.keep_hidden).to(x.dtype)
    probs = torch.softmax(model(x, model.split_mask(masks.to(x.device))), dim=-1)
    return probs if return_samples else probs.mean(0)


def softmax_regression_geometric_mean(W: torch.Tensor, b: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The renormalized geometric mean over all 2ⁿ input masks d of softmax(Wᵀ(d ⊙ v) + b), each mask
    with probability 2⁻ⁿ (keep = 1/2), computed by enumeration (Part II, section 3). The theorem says
    it equals softmax(½ Wᵀ v + b). ``W`` is (n, classes), ``v`` is (n,)."""
    if W.ndim != 2 or v.shape != (W.shape[0],) or b.shape != (W.shape[1],):
        raise ValueError(f"need W (n, c), b (c,), v (n,); got {tuple(W.shape)}, {tuple(b.shape)}, "
                         f"{tuple(v.shape)}")
    d = enumerate_masks(W.shape[0], dtype=W.dtype)
    log_p = torch.log_softmax((d * v) @ W + b, dim=1)
    return torch.softmax(log_p.mean(0), dim=0)


def expected_dropout_squared_loss(X: torch.Tensor, y: torch.Tensor, w: torch.Tensor,
                                  keep: float) -> torch.Tensor:
    """E_μ Σ_i (y_i − (μ_i ⊙ x_i / keep) · w)² by enumerating every mask of every example's features
    (inverted dropout on the inputs of linear regression; Part II, section 6). Small d only."""
    keep = _keep(keep)
    masks = enumerate_masks(X.shape[1], dtype=X.dtype)
    p = mask_probabilities(masks, keep)
    preds = torch.einsum("md,nd,d->mn", masks, X, w) / keep  # (masks, examples)
    return (p.unsqueeze(1) * (y.unsqueeze(0) - preds) ** 2).sum()


def wager_penalty(X: torch.Tensor, w: torch.Tensor, keep: float) -> torch.Tensor:
    """The L2 penalty dropout adds to linear regression (Wager, Wang & Liang 2013):
    (1 − keep)/keep · Σ_j w_j² Σ_i x_ij², one coefficient per feature, set by that feature's scale."""
    keep = _keep(keep)
    return (1.0 - keep) / keep * (w ** 2 * (X ** 2).sum(0)).sum()


def fast_dropout_moments(x: torch.Tensor, w: torch.Tensor, keep: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of s = Σ_i w_i μ_i x_i with μ_i ~ Bernoulli(keep) (weight-scaling convention;
    Wang & Manning 2013): E[s] = keep Σ w_i x_i, Var[s] = keep (1 − keep) Σ w_i² x_i². Fast dropout
    replaces the sum by a Gaussian with these moments (Part II, section 7). Works along the last axis."""
    keep = _keep(keep)
    if x.shape[-1] != w.shape[-1]:
        raise ValueError(f"x and w must agree on the last axis, got {tuple(x.shape)} and {tuple(w.shape)}")
    return keep * (w * x).sum(-1), keep * (1.0 - keep) * (w ** 2 * x ** 2).sum(-1)


# ------------------------------------------------------------------------------------------------
# Dropout in practice: PyTorch's layers, batch norm's variance shift, Monte Carlo uncertainty
# (Part II, section 11)

#: PyTorch's element-wise and channel-wise dropout layers (their ``p`` is the drop probability).
TORCH_DROPOUT_TYPES = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)


def _as_float64(name: str, value) -> torch.Tensor:
    t = torch.as_tensor(value, dtype=torch.float64)
    if not torch.isfinite(t).all():
        raise ValueError(f"Invalid {name}: it contains NaN or infinite values")
    return t


def inverted_dropout_moments(mean, var, keep: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of y = μ x / keep, μ ~ Bernoulli(keep) independent of x, for a unit x with
    mean ``mean`` and variance ``var`` (inverted dropout in training; Part II, section 11).

    E[y] = E[x] = m, and since μ² = μ, E[y²] = E[x²]/keep = (v + m²)/keep, so

        Var_train[y] = (v + m²)/keep − m²   against   Var_eval[y] = v   (dropout off).

    The training variance is larger by (1/keep − 1)(v + m²): a batch-norm layer that sees y records
    the larger variance, the *variance shift* of Li et al. (2019). Works element-wise on tensors.
    """
    keep = _keep(keep)
    m, v = _as_float64("mean", mean), _as_float64("var", var)
    if (v < 0).any():
        raise ValueError(f"Invalid var: {v.min().item():g} (variances must be >= 0)")
    return m.clone(), (v + m ** 2) / keep - m ** 2


def dropout_linear_variance(h: torch.Tensor, weight: torch.Tensor,
                            keep: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-output variance of z = W y over the rows of ``h``, where y = μ ⊙ h / keep is inverted
    dropout of the layer's input h (Part II, section 11). Given h, the masks add variance
    ((1 − keep)/keep) Σ_i W_ji² h_i² and leave the mean W h unchanged, so by the law of total variance

        Var_train[z_j] = Var_eval[z_j] + (1 − keep)/keep · Σ_i W_ji² E[h_i²],   Var_eval[z_j] = Var[(W h)_j].

    ``h`` is (N, in) (activations with dropout off), ``weight`` is (out, in). Returns
    ``(eval_var, train_var)``, population variances over the N rows, in float64."""
    keep = _keep(keep)
    if h.ndim != 2 or weight.ndim != 2 or h.shape[1] != weight.shape[1]:
        raise ValueError(f"need h (N, in) and weight (out, in) with the same in, got {tuple(h.shape)} "
                         f"and {tuple(weight.shape)}")
    h, w = h.detach().double(), weight.detach().double()
    eval_var = (h @ w.T).var(0, unbiased=False)
    return eval_var, eval_var + (1.0 - keep) / keep * (w ** 2) @ (h ** 2).mean(0)


def bn_dropout_mlp(sizes, *, keep: float = 0.5, placement: str = "every") -> nn.Sequential:
    """A batch-normalized ReLU network ``sizes[0] -> ... -> sizes[-1]`` with PyTorch's ``nn.Dropout``
    (drop probability 1 − ``keep``) placed in one of three ways (Part II, section 11):

    * ``"every"``: Linear → BN → ReLU → Dropout in every hidden layer, so every batch-norm layer but
      the first sees the output of a dropout layer (through a linear layer): the variance shift;
    * ``"last"``: Linear → BN → ReLU in every hidden layer and one Dropout after the last, so no
      batch-norm layer comes after a dropout layer (one remedy of Li et al. 2019);
    * ``"none"``: no dropout.

    The output layer is a plain ``nn.Linear``; the linear layers before a BN have no bias (BN's β
    replaces it).
    """
    check_choice("placement", placement, ("every", "last", "none"))
    keep = _keep(keep)
    sizes = [check_int(f"sizes[{i}]", s, minimum=1) for i, s in enumerate(sizes)]
    if len(sizes) < 3:
        raise ValueError(f"bn_dropout_mlp needs at least one hidden layer, got sizes {sizes}")
    layers: list[nn.Module] = []
    hidden = list(zip(sizes[:-2], sizes[1:-1], strict=True))
    for i, (a, b) in enumerate(hidden):
        layers += [nn.Linear(a, b, bias=False), nn.BatchNorm1d(b), nn.ReLU()]
        if placement == "every" or (placement == "last" and i == len(hidden) - 1):
            layers.append(nn.Dropout(1.0 - keep))
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


def _bn_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    from .batchnorm import BatchNorm

    found = [(name, m) for name, m in model.named_modules()
             if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, BatchNorm)) and m.track_running_stats]
    if not found:
        raise ValueError("model has no batch-norm layer with running statistics")
    return found


@torch.no_grad()
def bn_variance_shift(model: nn.Module, X: torch.Tensor) -> list[dict]:
    """For every batch-norm layer of ``model``: its ``running_var`` (recorded in training, with dropout
    on) and the variance its input actually has at inference, measured over ``X`` with the model in
    eval mode (unbiased, per feature, as ``running_var`` is). Returns one dict per layer with
    ``name``, ``running_var``, ``eval_var`` and ``ratio`` = eval_var / running_var; a ratio below 1
    means BN divides by too large a standard deviation at inference (Part II, section 11).
    The model's mode is restored."""
    if not isinstance(X, torch.Tensor) or X.ndim < 2 or X.shape[0] < 2:
        raise ValueError(f"X must be a tensor of at least two examples, shape (N, ...); got "
                         f"{tuple(X.shape) if isinstance(X, torch.Tensor) else type(X).__name__}")
    layers = _bn_layers(model)
    seen: dict[str, torch.Tensor] = {}
    hooks = [m.register_forward_pre_hook(lambda mod, args, name=name: seen.__setitem__(name, args[0]))
             for name, m in layers]
    was_training = model.training
    try:
        model.eval()
        model(X)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    out = []
    for name, m in layers:
        x = seen[name]
        dims = [d for d in range(x.ndim) if d != 1]
        eval_var = x.double().var(dim=dims, unbiased=True)
        running = m.running_var.detach().double()
        out.append({"name": name, "running_var": running.cpu(), "eval_var": eval_var.cpu(),
                    "ratio": (eval_var / running).cpu()})
    return out


def recompute_bn_stats_without_dropout(model: nn.Module, X: torch.Tensor, batch_size: int) -> int:
    """Algorithm 2's population statistics for every batch-norm layer of ``model``
    (:func:`trainwell.batchnorm.recompute_population_stats`), computed with every dropout layer
    switched off, so that each BN records the statistics its input has at inference: the second
    remedy for the variance shift (Part II, section 11). Dropout layers are PyTorch's
    (``nn.Dropout``, ``nn.Dropout1d/2d/3d``) or :class:`Dropout`; their rates are restored
    afterwards. Returns the number of batches used."""
    from .batchnorm import recompute_population_stats

    drops = [m for m in model.modules() if isinstance(m, TORCH_DROPOUT_TYPES + (Dropout,))]
    saved = [(m.p if isinstance(m, TORCH_DROPOUT_TYPES) else m.keep) for m in drops]
    try:
        for m in drops:
            if isinstance(m, TORCH_DROPOUT_TYPES):
                m.p = 0.0
            else:
                m.keep = 1.0
        return recompute_population_stats(model, X, batch_size)
    finally:
        for m, value in zip(drops, saved, strict=True):
            if isinstance(m, TORCH_DROPOUT_TYPES):
                m.p = value
            else:
                m.keep = value


def predictive_uncertainty(samples: torch.Tensor) -> dict[str, torch.Tensor]:
    """Uncertainty summaries of Monte Carlo dropout (Gal & Ghahramani 2016; Part II, section 11) from
    the class probabilities of k sampled sub-networks, ``samples`` of shape (k, N, C) (e.g.
    :func:`mc_predict` with ``return_samples=True``). With p̄ = (1/k) Σ_t p_t:

    * ``mean``: p̄, shape (N, C);
    * ``entropy``: predictive entropy H[p̄] = −Σ_c p̄_c log p̄_c (nats);
    * ``expected_entropy``: (1/k) Σ_t H[p_t], the members' average entropy;
    * ``mutual_information``: entropy − expected_entropy ≥ 0, large when the members are each
      confident but disagree with each other;
    * ``variance``: Σ_c Var_t[p_t,c], the spread of the members' probabilities.

    All but ``mean`` have shape (N,).
    """
    if not isinstance(samples, torch.Tensor) or samples.ndim != 3:
        got = tuple(samples.shape) if isinstance(samples, torch.Tensor) else type(samples).__name__
        raise ValueError(f"samples must be a (k, N, C) tensor of class probabilities, got {got}")
    p = samples.double()
    if (p < 0).any() or not torch.allclose(p.sum(-1), torch.ones_like(p[..., 0]), atol=1e-4):
        raise ValueError("samples must be probabilities: non-negative, summing to 1 over the last axis")
    mean = p.mean(0)

    def entropy(q):
        return -(q * torch.log(q.clamp_min(1e-300))).sum(-1)

    h, eh = entropy(mean), entropy(p).mean(0)
    return {"mean": mean, "entropy": h, "expected_entropy": eh, "mutual_information": (h - eh).clamp_min(0.0),
            "variance": p.var(0, unbiased=False).sum(-1)}


def auroc(scores_in, scores_out) -> float:
    """Area under the ROC curve of a score meant to be larger on ``scores_out`` (e.g. uncertainty on
    out-of-distribution inputs) than on ``scores_in``: the probability that a random "out" score
    exceeds a random "in" score, ties counting one half (the Mann–Whitney statistic divided by
    n_in·n_out). 0.5 is chance, 1 a perfect separation (Part II, section 11)."""
    a = np.asarray(torch.as_tensor(scores_in).detach().cpu(), dtype=np.float64).ravel()
    b = np.asarray(torch.as_tensor(scores_out).detach().cpu(), dtype=np.float64).ravel()
    if a.size == 0 or b.size == 0:
        raise ValueError(f"auroc needs at least one score on each side, got {a.size} and {b.size}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("auroc: scores must be finite")
    values, inverse, counts = np.unique(np.concatenate([a, b]), return_inverse=True, return_counts=True)
    mid_rank = np.cumsum(counts) - (counts - 1) / 2.0  # average 1-based rank of each distinct value
    rank_out = mid_rank[inverse[a.size:]].sum()
    return float((rank_out - b.size * (b.size + 1) / 2.0) / (a.size * b.size))


def split_known_classes(data, known) -> tuple:
    """Split a classification dataset into the classes a model may learn and the ones it never sees
    (Part II, section 11): returns ``(known_data, X_unknown)``, where ``known_data`` keeps only the
    examples of the classes in ``known`` in every split, relabelled 0, 1, ... in the order given,
    and ``X_unknown`` holds the *test* inputs of every other class (out-of-distribution inputs)."""
    from dataclasses import replace

    if data.classes is None:
        raise ValueError("split_known_classes needs a classification dataset")
    known = [check_int("known class", c, minimum=0, maximum=data.n_classes - 1) for c in known]
    if not known or len(set(known)) != len(known) or len(known) >= data.n_classes:
        raise ValueError(f"known must list distinct classes, at least one and fewer than all "
                         f"{data.n_classes}; got {known}")
    table = torch.full((data.n_classes,), -1, dtype=torch.int64)
    table[torch.tensor(known)] = torch.arange(len(known))
    parts = {}
    for split in ("train", "val", "test"):
        X, y = getattr(data, f"X_{split}"), getattr(data, f"y_{split}")
        new = table.to(y.device)[y]
        parts[f"X_{split}"], parts[f"y_{split}"] = X[new >= 0], new[new >= 0]
    unknown = table.to(data.y_test.device)[data.y_test] < 0
    known_data = replace(data, **parts, classes=tuple(data.classes[c] for c in known),
                         name=f"{data.name} (classes {', '.join(data.classes[c] for c in known)})")
    return known_data, data.X_test[unknown]


# ------------------------------------------------------------------------------------------------
# Bagging and dropout boosting (Part II, sections 1, 2 and 8)


def bootstrap_indices(n: int, seed: int) -> torch.Tensor:
    """n indices drawn uniformly *with replacement* from 0, ..., n − 1 (a seeded bootstrap sample)."""
    n = check_int("n", n, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    return torch.randint(n, (n,), generator=torch.Generator().manual_seed(seed))


def bootstrap(data, seed: int):
    """The dataset with its training split replaced by a bootstrap resample: n draws *with
    replacement* from the n training examples (Breiman 1996; Part II, section 1). Each example is
    left out with probability (1 − 1/n)ⁿ ≈ e⁻¹ ≈ 0.37. Validation and test splits are unchanged."""
    from dataclasses import replace

    idx = bootstrap_indices(data.X_train.shape[0], seed).to(data.X_train.device)
    return replace(data, X_train=data.X_train[idx], y_train=data.y_train[idx])


def bagging(make_model, data, k: int, *, seed: int = 0, **fit_kwargs) -> list[nn.Module]:
    """Train ``k`` models, member j from ``make_model()`` on bootstrap resample j of the training
    split, with the shared loop :func:`trainwell.train.fit` (``fit_kwargs`` are passed on). Predict
    with :func:`ensemble_probabilities`, the arithmetic mean of the members (Part II, section 1)."""
    from .train import fit

    k = check_int("k", k, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    fit_kwargs.setdefault("progress", False)
    members = []
    for j in range(k):
        torch.manual_seed(seed * 1000 + j)  # a different initialization for every member
        model = make_model()
        fit(model, bootstrap(data, seed * 1000 + j), seed=seed * 1000 + j, **fit_kwargs)
        members.append(model.eval())
    return members


@torch.no_grad()
def ensemble_probabilities(models, x: torch.Tensor) -> torch.Tensor:
    """Arithmetic mean (1/k) Σ_j softmax(f_j(x)) of the class probabilities of ``models`` in eval mode,
    shape (N, classes)."""
    models = list(models)
    if not models:
        raise ValueError("ensemble_probabilities needs at least one model")
    total = 0.0
    for model in models:
        was_training = model.training
        total = total + torch.softmax(model.eval()(x), dim=-1)
        model.train(was_training)
    return total / len(models)


class BoostingMLP(MaskedMLP):
    """Dropout boosting (Warde-Farley et al. 2014; Part II, section 8): the same masks as dropout,
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
        if keep_input != 1.0:
            raise ValueError(f"BoostingMLP drops hidden units only: keep_input must be 1, got {keep_input!r}")
        super().__init__(sizes, keep_hidden=keep_hidden)

    def forward(self, x: torch.Tensor, masks: list[torch.Tensor] | None = None) -> torch.Tensor:
        if masks is not None or not self.training:
            return super().forward(x, masks)
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


# ------------------------------------------------------------------------------------------------
# Max-norm, additive noise, stochastic pooling, networks with a chosen noise layer (sections 4, 9, 10)


@torch.no_grad()
def max_norm_(model: nn.Module, c: float) -> None:
    """Project every ``nn.Linear`` layer's incoming weight vectors onto the ball ‖w_j‖₂ ≤ c, in place:
    w_j ← w_j · min(1, c / ‖w_j‖₂) for each unit j (a row of the weight matrix). Srivastava et al.
    (2014) use this constraint together with dropout (Part II, section 4). Call after every step,
    e.g. ``fit(..., after_step=lambda step, m: max_norm_(m, 3.0))``."""
    c = check_float("c", c, minimum=0.0, min_inclusive=False)
    for module in model.modules():
        if isinstance(module, nn.Linear):
            norms = module.weight.norm(dim=1, keepdim=True)
            module.weight.mul_(torch.clamp(c / norms.clamp_min(1e-12), max=1.0))


class AdditiveGaussianNoise(nn.Module):
    """Additive noise y = x + ε with ε_i ~ N(0, σ²) in training, identity at inference (Part II,
    section 10). Unlike multiplicative noise its scale does not grow with x, so a ReLU unit, whose
    output scales with its weights (relu(a z) = a relu(z) for a > 0), can make it negligible."""

    def __init__(self, sigma: float):
        super().__init__()
        self.sigma = check_float("sigma", sigma, minimum=0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.sigma == 0.0:
            return x
        return x + self.sigma * torch.randn_like(x)

    def extra_repr(self) -> str:
        return f"sigma={self.sigma:g}"


def noisy_mlp(sizes, noise=None, *, linear=None) -> nn.Sequential:
    """A ReLU network ``sizes[0] -> ... -> sizes[-1]`` with ``noise()`` (a function returning a module,
    e.g. ``lambda: Dropout(keep=0.5)``) after every hidden ReLU. ``linear(in, out)`` builds the hidden
    layers (default ``nn.Linear``; e.g. ``lambda a, b: DropConnectLinear(a, b, keep=0.5)``); the output
    layer is always a plain ``nn.Linear``. The networks of Part II, sections 9 and 10."""
    sizes = [check_int(f"sizes[{i}]", s, minimum=1) for i, s in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"noisy_mlp: sizes needs at least an input and an output width, got {sizes}")
    linear = nn.Linear if linear is None else linear
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-2], sizes[1:-1], strict=True):
        layers += [linear(a, b), nn.ReLU()] + ([noise()] if noise is not None else [])
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


def stochastic_pool2d(x: torch.Tensor, kernel: int, *, training: bool,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """Stochastic pooling (Zeiler & Fergus 2013; Part II, section 9) over non-overlapping
    ``kernel × kernel`` regions of a non-negative (N, C, H, W) input (e.g. after a ReLU).

    In region R the activations a_i get probabilities p_i = a_i / Σ_{j∈R} a_j. Training: output one
    a_i drawn with probability p_i. Inference: the probability-weighted average Σ_i p_i a_i, which is
    the expectation of the training output. A region of zeros outputs 0.
    """
    kernel = check_int("kernel", kernel, minimum=1)
    if x.ndim != 4 or x.shape[2] % kernel or x.shape[3] % kernel:
        raise ValueError(f"stochastic_pool2d needs (N, C, H, W) input with H and W divisible by kernel "
                         f"{kernel}, got {tuple(x.shape)}")
    if (x < 0).any():
        raise ValueError("stochastic_pool2d needs non-negative activations (apply a ReLU first)")
    n, c, h, w = x.shape
    regions = x.unfold(2, kernel, kernel).unfold(3, kernel, kernel)  # (N, C, H/k, W/k, k, k)
    regions = regions.reshape(n, c, h // kernel, w // kernel, kernel * kernel)
    total = regions.sum(-1, keepdim=True)
    p = torch.where(total > 0, regions / total.clamp_min(1e-30), torch.full_like(regions, 1.0 / kernel ** 2))
    if not training:
        return (p * regions).sum(-1)
    pick = torch.multinomial(p.detach().reshape(-1, kernel * kernel), 1, generator=generator)
    return regions.reshape(-1, kernel * kernel).gather(1, pick).reshape(n, c, h // kernel, w // kernel)


class StochasticPool2d(nn.Module):
    """:func:`stochastic_pool2d` as a layer following ``train()`` / ``eval()``."""

    def __init__(self, kernel: int = 2):
        super().__init__()
        self.kernel = check_int("kernel", kernel, minimum=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return stochastic_pool2d(x, self.kernel, training=self.training)

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}"
