"""Small model builders shared by every chapter, so that no notebook defines its own network."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from ._validate import check_float, check_int

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "identity": nn.Identity,
}


def mlp(sizes: Sequence[int], *, activation: str = "relu", hidden_dropout: float = 0.0,
        input_dropout: float = 0.0, norm: Callable[[int], nn.Module] | None = None,
        bias: bool = True) -> nn.Sequential:
    """A fully connected network ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``.

    Each hidden layer is ``Linear -> [norm] -> activation -> [Dropout]``; the last layer is a plain
    ``Linear`` (logits or regression outputs). ``hidden_dropout`` and ``input_dropout`` are PyTorch
    *drop* probabilities (Part II uses inclusion probabilities; the dropout chapter explains the
    mapping). ``norm`` builds a normalization layer from a width, e.g. ``nn.BatchNorm1d``.
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"mlp: sizes needs at least an input and an output width, got {sizes}")
    for i, width in enumerate(sizes):
        check_int(f"sizes[{i}]", width, minimum=1)
    if activation not in ACTIVATIONS:
        raise ValueError(f"Invalid activation: {activation!r} (allowed: {', '.join(map(repr, ACTIVATIONS))})")
    below_one = {"minimum": 0.0, "maximum": 1.0, "max_inclusive": False}
    hidden_dropout = check_float("hidden_dropout", hidden_dropout, **below_one)
    input_dropout = check_float("input_dropout", input_dropout, **below_one)

    layers: list[nn.Module] = [nn.Dropout(input_dropout)] if input_dropout > 0 else []
    for width_in, width_out in zip(sizes[:-2], sizes[1:-1], strict=True):
        layers.append(nn.Linear(width_in, width_out, bias=bias))
        if norm is not None:
            layers.append(norm(width_out))
        layers.append(ACTIVATIONS[activation]())
        if hidden_dropout > 0:
            layers.append(nn.Dropout(hidden_dropout))
    layers.append(nn.Linear(sizes[-2], sizes[-1], bias=bias))
    return nn.Sequential(*layers)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
