"""Norm constraints enforced by projection after every step (sections `reg-constraints` and
`dropout-regularizers`), and a count of dead ReLU units.

A penalty α·Ω(θ) and a constraint Ω(θ) ≤ k are two faces of one problem: for every k there is an α
(the KKT multiplier) whose penalized optimum is the constrained one. Projection enforces the
constraint exactly after each gradient step, whatever the learning rate, so the weights cannot run
away, and, unlike a large penalty, it does not pull every weight towards 0 (Goodfellow et al. 2016, §7.2).
"""
from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from .._validate import check_bool, check_float, check_tensor
from ..config import module_device
from ..models import eval_mode
from ..train import Callback
from ..train.members import StackedModel
from .penalties import _check_params, penalized_names


def _linear_weights(members, output_layer: bool = True) -> list[torch.Tensor]:
    """The weights of every ``nn.Linear`` layer of a run's members, each as its stacked (M_g, out, in)
    tensors group by group (for one model, (1, out, in) views of its own weights); without
    ``output_layer``, all but the last linear layer in module order (a feed-forward network's output
    layer). Nothing left to constrain is an error."""
    output_layer = check_bool("output_layer", output_layer)
    module = members.template
    names = [f"{name}.weight" if name else "weight" for name, m in module.named_modules()
             if isinstance(m, nn.Linear)]
    if not names:
        raise ValueError(f"model ({type(module).__name__}) has no nn.Linear layer, so max-norm would "
                         "constrain nothing")
    if not output_layer:
        if len(names) == 1:
            raise ValueError(f"model ({type(module).__name__}) has one nn.Linear layer, its output layer, "
                             "so max-norm with output_layer=False would constrain nothing")
        names = names[:-1]
    return [w for name in names for w in members.params[name]]


@torch.no_grad()
def _max_norm_(weights: list[torch.Tensor], c: float) -> None:
    for w in weights:  # (M_g, out, in): one row per member and unit, w_j ← w_j · min(1, c / ‖w_j‖₂)
        norms = w.norm(dim=-1, keepdim=True)
        w.mul_(torch.clamp(c / norms.clamp_min(1e-12), max=1.0))


def max_norm_(model: nn.Module, c: float, *, output_layer: bool = True) -> None:
    """Project every ``nn.Linear`` layer's incoming weight vectors onto the ball ‖w_j‖₂ ≤ c, in place:
    w_j ← w_j · min(1, c / ‖w_j‖₂) for each unit j (a row of the weight matrix). Srivastava et al.
    (2014) use this constraint together with dropout, on the hidden units: ``output_layer=False``
    leaves the last linear layer free. In training, use the callback :class:`MaxNorm`.
    Everything is checked before any weight changes."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    c = check_float("c", c, minimum=0.0, min_inclusive=False)
    _max_norm_(_linear_weights(StackedModel.one(model), output_layer), c)


class MaxNorm(Callback):
    """:func:`max_norm_` with radius ``c`` after every optimizer step:
    ``fit(..., callbacks=[MaxNorm(3.0)])``; ``output_layer=False`` constrains the hidden units only.
    Every member of a run has its units projected alone: the rows of each stacked linear weight
    (M, out, in)."""

    per_member = True

    def __init__(self, c: float, *, output_layer: bool = True):
        self.c = check_float("c", c, minimum=0.0, min_inclusive=False)
        self.output_layer = check_bool("output_layer", output_layer)

    def on_fit_start(self, run) -> None:
        self.weights = _linear_weights(run.model, self.output_layer)  # nothing to constrain fails here

    def on_step_end(self, run) -> None:
        _max_norm_(self.weights, self.c)


def _project_members_(tensors: list[torch.Tensor], radius: float) -> torch.Tensor:
    """Scale member m's slice t[m] of every tensor by one factor min(1, radius/‖θ_m‖), θ_m the
    concatenation of those slices; returns the norms ‖θ_m‖ before, shape (M,)."""
    norms = torch.stack([t.reshape(t.shape[0], -1).square().sum(1) for t in tensors]).sum(0).sqrt()
    scale = torch.clamp(radius / norms.clamp_min(1e-12), max=1.0)
    for t in tensors:
        t.mul_(scale.view(-1, *[1] * (t.ndim - 1)))
    return norms


@torch.no_grad()
def project_l2_ball_(params, radius: float) -> torch.Tensor:
    """Project the concatenation θ of the given tensors onto the ball ‖θ‖₂ ≤ radius, in place:
    θ ← θ·min(1, radius/‖θ‖₂), one factor for all of them (as ``torch.nn.utils.clip_grad_norm_`` treats
    gradients). This is the constraint Ω(θ) = ½‖θ‖² ≤ k that an L2 penalty on the same tensors relaxes
    (Goodfellow et al. 2016, §7.2); for a ball per unit use :func:`max_norm_`. ``params``: a tensor or
    an iterable of tensors (e.g. ``model.parameters()``) of one floating dtype. Returns ‖θ‖₂ before
    the projection. Everything is checked before any tensor changes."""
    radius = check_float("radius", radius, minimum=0.0, min_inclusive=False)
    if isinstance(params, torch.Tensor):
        params = [params]
    elif isinstance(params, (str, bytes)) or not isinstance(params, Iterable):
        raise TypeError(f"params must be a tensor or an iterable of tensors, got {type(params).__name__}")
    params = list(params)
    if not params:
        raise ValueError("params is empty: there is nothing to project")
    for i, p in enumerate(params):
        check_tensor(f"params[{i}]", p, floating=True)
    if len({(p.dtype, p.device) for p in params}) > 1:
        raise ValueError("params must share one dtype and device, got "
                         f"{sorted({f'{p.dtype} on {p.device}' for p in params})}")
    norm = torch.stack([p.detach().square().sum() for p in params]).sum().sqrt()
    if not bool(torch.isfinite(norm)):
        raise ValueError("params hold non-finite values (NaN or inf): their norm is not finite")
    _project_members_([p.unsqueeze(0) for p in params], radius)
    return norm


class L2Ball(Callback):
    """:func:`project_l2_ball_` of the weights an L2 penalty takes (``params``, see
    :func:`~trainwell.regularization.penalties.penalized_names`) after every optimizer step:
    ``fit(..., callbacks=[L2Ball(5.0)])``. Each member of a run has its weights projected onto its
    own ball."""

    per_member = True

    def __init__(self, radius: float, params="weights"):
        self.radius = check_float("radius", radius, minimum=0.0, min_inclusive=False)
        self.params = _check_params(params)

    def on_fit_start(self, run) -> None:
        penalized_names(run.model, self.params)  # a model without such weights fails before training

    @torch.no_grad()
    def on_step_end(self, run) -> None:
        members, names = run.model, penalized_names(run.model, self.params)
        for g in range(len(members.group_sizes)):
            _project_members_([members.params[n][g] for n in names], self.radius)

    def __repr__(self) -> str:
        return f"L2Ball(radius={self.radius:g})"


@torch.no_grad()
def dead_units(model: nn.Module, X: torch.Tensor) -> float:
    """The fraction of hidden ReLU units that output 0 on every example of ``X``: such a unit passes
    no gradient to its weights, so no step can revive it (what a large learning rate with a penalty,
    rather than a projection, can leave behind). The units are the outputs of every ``nn.ReLU``
    module of ``model`` (each output coordinate, e.g. every channel and position of a feature map),
    measured in eval mode; a NaN output is not counted as dead."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_tensor("X", X, min_ndim=2, floating=True, finite=True, nonempty=True)
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    if not relus:
        raise ValueError(f"model ({type(model).__name__}) has no nn.ReLU module, so it has no ReLU units")
    alive: list[torch.Tensor] = []
    handles = [m.register_forward_hook(lambda _m, _i, out: alive.append((out != 0).any(0).flatten()))
               for m in relus]
    try:
        with eval_mode(model):
            model(X.to(module_device(model, X.device)))
    finally:
        for handle in handles:
            handle.remove()
    alive_all = torch.cat(alive)
    return float((~alive_all).sum()) / alive_all.numel()
