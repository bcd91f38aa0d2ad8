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
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._validate import check_choice, check_float, check_int

__all__ = [
    "keep_to_drop", "drop_to_keep", "dropout", "Dropout", "GaussianDropout", "DropConnectLinear",
    "MaskedMLP", "MAX_ENUMERATED_UNITS", "enumerate_masks", "mask_probabilities", "ensemble_predict",
    "mc_predict",
    "softmax_regression_geometric_mean", "expected_dropout_squared_loss", "wager_penalty",
    "fast_dropout_moments",
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
