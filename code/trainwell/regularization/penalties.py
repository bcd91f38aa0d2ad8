"""Penalties added to the training loss, for ``fit(penalty=...)`` (section `dropout-regularizers`)."""
from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
from torch import nn

from .._validate import check_float


class ActivityL1:
    """Sparse-activity penalty α · (1/N) Σ_examples Σ_units |relu(z)| on the outputs z of the given
    layers (Goodfellow et al. 2016, section 7.10), for ``fit(..., penalty=...)``.

    Forward hooks on ``layers`` (e.g. the hidden linear layers of a network, whose outputs are
    the pre-activations) record each batch's outputs; calling the object returns the penalty of the
    most recent forward pass, the current mini-batch. Measured before any dropout mask that follows,
    the penalty does not depend on the mask. Call :meth:`remove` to detach the hooks.
    """

    def __init__(self, layers: Sequence[nn.Module], alpha: float):
        if isinstance(layers, nn.Module) and not isinstance(layers, nn.ModuleList):
            layers = [layers]
        elif isinstance(layers, (str, bytes, torch.Tensor)) or not hasattr(layers, "__iter__"):
            raise TypeError(f"ActivityL1: layers must be a non-empty list of torch.nn.Module, got "
                            f"{type(layers).__name__}")
        layers = list(layers)
        if not layers:
            raise ValueError("ActivityL1: layers is empty; give the layers whose outputs to penalize")
        for i, m in enumerate(layers):
            if not isinstance(m, nn.Module):
                raise TypeError(f"ActivityL1: layers[{i}] must be a torch.nn.Module, got {type(m).__name__}")
        if len({id(m) for m in layers}) < len(layers):
            raise ValueError("ActivityL1: layers names the same module twice; its activity would be counted "
                             "twice")
        self.alpha = check_float("alpha", alpha, minimum=0.0)
        self._latest: dict[int, torch.Tensor] = {}
        self._handles = [layer.register_forward_hook(functools.partial(self._record, i))
                         for i, layer in enumerate(layers)]

    def _record(self, i, module, inputs, output):
        self._latest[i] = output

    def __call__(self, model: nn.Module) -> torch.Tensor:
        if not isinstance(model, nn.Module):
            raise TypeError(f"ActivityL1: model must be a torch.nn.Module, got {type(model).__name__}")
        if not self._latest:
            raise RuntimeError("ActivityL1: no forward pass recorded yet")
        for i, z in self._latest.items():
            if not isinstance(z, torch.Tensor):
                raise TypeError(f"ActivityL1: layers[{i}] must output a tensor, got {type(z).__name__}")
            if z.ndim != 2:
                raise ValueError(f"ActivityL1: layers[{i}] must output (N, units) activations, got shape "
                                 f"{tuple(z.shape)}")
        total = sum(torch.relu(z).sum(-1).mean() for z in self._latest.values())
        return self.alpha * total

    def remove(self) -> None:
        """Detach the hooks from the layers."""
        for handle in self._handles:
            handle.remove()
        self._latest.clear()
