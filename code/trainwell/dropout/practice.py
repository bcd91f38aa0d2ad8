"""Dropout in practice (section `dropout-practice`): batch norm's variance shift behind a dropout
layer and its remedy, and Monte Carlo dropout's uncertainty summaries."""
from __future__ import annotations

import torch
from torch import nn

from .._validate import check_int, check_tensor
from ..config import module_device
from ..models import batch_norm_layers, eval_mode, recompute_population_stats
from .core import TORCH_DROPOUT_TYPES, Dropout, _tensor_type


@torch.no_grad()
def bn_variance_shift(model: nn.Module, X: torch.Tensor) -> list[dict]:
    """For every batch-norm layer of ``model``: its ``running_var`` (recorded in training, with dropout
    on) and the variance its input actually has at inference, measured over ``X`` with the model in
    eval mode (unbiased, per feature, as ``running_var`` is). Returns one dict per layer with
    ``name``, ``running_var``, ``eval_var`` and ``ratio`` = eval_var / running_var; a ratio below 1
    means BN divides by too large a standard deviation at inference (section `dropout-practice`).
    The model's mode is restored; ``X`` is moved to the model's device."""
    layers = batch_norm_layers(model)  # a model that is no nn.Module, or has no BN layer, fails here
    if _tensor_type("X", X).ndim < 2 or X.shape[0] < 2:
        raise ValueError(f"X must be a tensor of at least two examples, shape (N, ...); got {tuple(X.shape)}")
    check_tensor("X", X, finite=True)  # a NaN would make every variance below NaN
    X = X.to(module_device(model, X.device))
    seen: dict[str, torch.Tensor] = {}
    hooks = [m.register_forward_pre_hook(lambda mod, args, name=name: seen.__setitem__(name, args[0]))
             for name, m in layers]
    try:
        with eval_mode(model):
            model(X)
    finally:
        for h in hooks:
            h.remove()
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
    """Algorithm 2's population statistics recomputed with dropout switched off.

    For every batch-norm layer of ``model`` (:func:`trainwell.models.recompute_population_stats`),
    computed with every dropout layer switched off, so that each BN records the statistics its input
    has at inference: the second remedy for the variance shift (section `dropout-practice`). Dropout
    layers are PyTorch's (``nn.Dropout``, ``nn.Dropout1d/2d/3d``) or :class:`Dropout`; their rates
    are restored afterwards. Returns the number of batches used."""
    batch_norm_layers(model)  # checked before any rate is touched
    _tensor_type("X", X)
    batch_size = check_int("batch_size", batch_size, minimum=2)
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
    """Uncertainty summaries of Monte Carlo dropout (Gal & Ghahramani 2016; section `dropout-practice`) from
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
    if _tensor_type("samples", samples).ndim != 3:
        raise ValueError(f"samples must be a (k, N, C) tensor of class probabilities, got shape "
                         f"{tuple(samples.shape)}")
    check_tensor("samples", samples, nonempty=True, finite=True)
    p = samples.double()
    if (p < 0).any() or not torch.allclose(p.sum(-1), torch.ones_like(p[..., 0]), atol=1e-4):
        raise ValueError("samples must be probabilities: non-negative, summing to 1 over the last axis")
    mean = p.mean(0)

    def entropy(q):
        return -(q * torch.log(q.clamp_min(1e-300))).sum(-1)

    h, eh = entropy(mean), entropy(p).mean(0)
    return {"mean": mean, "entropy": h, "expected_entropy": eh, "mutual_information": (h - eh).clamp_min(0.0),
            "variance": p.var(0, unbiased=False).sum(-1)}
