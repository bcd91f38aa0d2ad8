"""Penalties added to the training loss: J̃(θ) = J(θ) + α·Ω(θ) (sections `reg-l2` and `reg-l1`).

Every penalty is an object for ``fit(penalty=...)``: ``penalty(model)`` is a scalar tensor. The
parameter norm penalties (:class:`L2`, :class:`L1`, :class:`ElasticNet`, :class:`SmoothL1`) also work
with ``fit_many(penalty=...)``: ``penalty.many(stacked)`` gives each member's penalty, shape (M,), and
is the one formula: ``penalty(model)`` is the penalty of a run whose only member is ``model``.
Which parameters they penalize is one rule, :func:`penalized_names`, used by both, by
:class:`~trainwell.regularization.proximal.ProximalL1`, :class:`~trainwell.regularization.constraints.L2Ball`
and :class:`~trainwell.regularization.noise.WeightNoise`. The sparse-activity penalty
:class:`ActivityL1` is Part II's (section `dropout-regularizers`).
"""
from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
from torch import nn

from .._validate import check_float
from ..models import weight_names
from ..train import Callback
from ..train.members import StackedModel


def _check_params(params):
    """``params`` as :func:`penalized_names` takes it: "weights", "all" or a tuple of parameter names."""
    if isinstance(params, str):
        if params not in ("weights", "all"):
            raise ValueError(f"Invalid params: {params!r} "
                             "(allowed: 'weights', 'all' or a list of parameter names)")
        return params
    if not isinstance(params, Sequence) or not params or not all(isinstance(n, str) for n in params):
        raise TypeError("params must be 'weights', 'all' or a non-empty list of parameter names such as "
                        f"['0.weight'], got {params!r}")
    if len(set(params)) != len(params):
        raise ValueError(f"params names a parameter twice: {list(params)}")
    return tuple(params)


def penalized_names(model, params="weights") -> list[str]:
    """The names (as in ``model.named_parameters()``) of the parameters a norm penalty acts on.

    - ``params="weights"`` (the default): the weights as :func:`trainwell.models.weight_names`
      defines them, those that multiply a layer's input (linear, convolutional, embedding,
      attention and recurrent layers); not biases, not batch-norm scales and shifts, not other
      parameters (Goodfellow et al. 2016, §7.1: a bias does not multiply an input, and penalizing it
      pulls the outputs' offset towards 0);
    - ``"all"``: every parameter;
    - a list of names: exactly those.

    ``model`` is a ``torch.nn.Module`` or the :class:`~trainwell.train.members.StackedModel` of
    :func:`~trainwell.train.fit_many`, whose members are built like its first model, so a member
    of a stacked run is penalized exactly where its separate ``fit`` would be.
    """
    module = getattr(model, "template", model)  # a run's members are built like their first model
    if not isinstance(module, nn.Module):
        raise TypeError("model must be a torch.nn.Module or a fit_many StackedModel, "
                        f"got {type(model).__name__}")
    params = _check_params(params)
    available = [name for name, _ in module.named_parameters()]
    if params == "all":
        names = available
    elif params == "weights":
        names = weight_names(module)
    else:
        unknown = [n for n in params if n not in available]
        if unknown:
            raise ValueError(f"params names {unknown}, which model ({type(module).__name__}) does not have "
                             f"(its parameters: {', '.join(available)})")
        names = list(params)
    if not names:
        raise ValueError(f"model ({type(module).__name__}) has no parameter to penalize with "
                         f"params={params!r} (params='weights' takes the weights of linear, convolutional, "
                         "embedding, attention and recurrent layers)")
    return names


def _penalized_tensors(members, params="weights") -> list[tuple[str, torch.Tensor]]:
    """``(name, tensor)`` for every tensor that :func:`penalized_names` selects, as the optimizer of a
    run's members holds it (:meth:`~trainwell.train.members.StackedModel.leaves`: for one model its
    own parameter, for a stacked run every group's leaf), which a callback changes in place."""
    return [(n, leaf) for n in penalized_names(members, params) for leaf in members.leaves(n)]


class _NormPenalty:
    """α·Σ φ(w) over the parameters :func:`penalized_names` selects, for one model or a stacked run.
    A subclass gives the elementwise φ in :meth:`_terms`."""

    def __init__(self, alpha: float, params="weights"):
        self.alpha = check_float("alpha", alpha, minimum=0.0)
        self.params = _check_params(params)

    def _terms(self, w: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, model: nn.Module) -> torch.Tensor:
        """The penalty of ``model``: a scalar tensor, differentiable in the parameters (the one member
        of :meth:`many`)."""
        if not isinstance(model, nn.Module):
            raise TypeError(f"{type(self).__name__}: model must be a torch.nn.Module, got "
                            f"{type(model).__name__} (use .many(stacked) for a fit_many StackedModel)")
        return self.many(StackedModel.one(model))[0]

    def many(self, stacked: StackedModel) -> torch.Tensor:
        """Each member's penalty α·Σ φ(w), shape (M,): what ``fit_many(penalty=...)`` adds to the
        members' losses."""
        if not isinstance(stacked, StackedModel):
            raise TypeError(f"{type(self).__name__}.many: stacked must be a fit_many StackedModel, got "
                            f"{type(stacked).__name__} (call the penalty itself on a single model)")
        names = penalized_names(stacked, self.params)
        per_name = [self._terms(stacked.param(n)).flatten(1).sum(1) for n in names]
        return self.alpha * torch.stack(per_name).sum(0)

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v:g}" for k, v in vars(self).items() if k not in ("alpha", "params"))
        shown = "" if self.params == "weights" else f", params={self.params!r}"
        return f"{type(self).__name__}(alpha={self.alpha:g}{extra}{shown})"


class L2(_NormPenalty):
    """L2 penalty (weight decay) α·Ω(θ) = (α/2)·Σ‖W‖² over the weights (:func:`penalized_names`).

    Its gradient αW turns a gradient step into w ← (1 − ηα)w − η∇J (Goodfellow et al. 2016, §7.1.1).
    """

    def _terms(self, w):
        return 0.5 * w.square()


class L1(_NormPenalty):
    """L1 penalty α·Σ|W| over the weights (:func:`penalized_names`; Tibshirani 1996). Not
    differentiable at 0: autograd uses the subgradient sign(w) (0 at 0), so plain gradient steps
    oscillate around 0 instead of reaching it; the proximal step
    (:class:`~trainwell.regularization.proximal.ProximalL1`) gives exact zeros."""

    def _terms(self, w):
        return w.abs()


class ElasticNet(_NormPenalty):
    """Elastic net α·(ρ·Σ|W| + (1 − ρ)/2·Σ‖W‖²) with ρ = ``l1_ratio`` in [0, 1] (Zou & Hastie 2005, in
    scikit-learn's parametrization: ρ = 1 is :class:`L1`, ρ = 0 is :class:`L2`)."""

    def __init__(self, alpha: float, l1_ratio: float, params="weights"):
        super().__init__(alpha, params)
        self.l1_ratio = check_float("l1_ratio", l1_ratio, minimum=0.0, maximum=1.0)

    def _terms(self, w):
        return self.l1_ratio * w.abs() + 0.5 * (1.0 - self.l1_ratio) * w.square()


class SmoothL1(_NormPenalty):
    """The survey's smooth approximation of L1, α·Σ√(W² + ε) with ε > 0 (Murugan & Durairaj 2017):
    differentiable everywhere, gradient αw/√(w² + ε), so plain gradient steps train with it, but a
    weight reaches 0 only by accident."""

    def __init__(self, alpha: float, eps: float = 1e-8, params="weights"):
        super().__init__(alpha, params)
        self.eps = check_float("eps", eps, minimum=0.0, min_inclusive=False)

    def _terms(self, w):
        return (w.square() + self.eps).sqrt()


class DecoupledDecay(Callback):
    """Decoupled weight decay: after every optimizer step, w ← (1 − rate)·w for the weights of
    ``params`` (:func:`penalized_names`), whatever the learning rate and the optimizer (Loshchilov &
    Hutter 2019, with schedule multiplier 1). With plain SGD at learning rate η it is the L2 penalty
    of α = rate/η applied after the gradient step instead of inside it; with adaptive optimizers the
    two differ (section `opt-adamw-nadam`). Each member of a run is decayed alike."""

    per_member = True

    def __init__(self, rate: float, params="weights"):
        self.rate = check_float("rate", rate, minimum=0.0, maximum=1.0)
        self.params = _check_params(params)

    def on_fit_start(self, run) -> None:
        self.weights = [tensor for _, tensor in _penalized_tensors(run.model, self.params)]

    @torch.no_grad()
    def on_step_end(self, run) -> None:
        for w in self.weights:
            w.mul_(1.0 - self.rate)

    def __repr__(self) -> str:
        return f"DecoupledDecay(rate={self.rate:g})"


class ActivityL1(Callback):
    """Sparse-activity penalty α · (1/N) Σ_examples Σ_units |relu(z)| on the outputs z of chosen layers.

    Goodfellow et al. 2016, section 7.10, for ``fit(..., penalty=...)`` and ``fit_many``. Forward
    hooks on ``layers`` (e.g. the hidden linear layers of a network, whose outputs are the
    pre-activations) record each batch's outputs, so the penalty is that of the current mini-batch;
    it is measured before the dropout mask that follows each layer (a later layer's output still
    depends on the masks before it).

    ``layers`` is a list of modules of one model, hooked at once (calling the object on that model
    returns the penalty of its latest forward pass; :meth:`remove` detaches the hooks), or a function
    ``model -> layers`` (e.g. ``lambda net: net.layers[:-1]``). Given to ``fit`` or ``fit_many`` as
    the penalty, the object is also started and ended as a callback of the run: a function is applied
    to the run's model when training starts and its hooks are removed when it ends. In ``fit_many``
    the members' layers must run member by member (Part II's mask-explicit networks do): each member's
    forward pass through the hooked layers is recorded in turn, and ``many`` returns one penalty per
    member.
    """

    per_member = True

    def __init__(self, layers, alpha: float):
        self._select = None
        if callable(layers) and not isinstance(layers, nn.Module):
            self._select = layers
            layers = []
        elif isinstance(layers, nn.Module) and not isinstance(layers, nn.ModuleList):
            layers = [layers]
        elif isinstance(layers, (str, bytes, torch.Tensor)) or not hasattr(layers, "__iter__"):
            raise TypeError(f"ActivityL1: layers must be a non-empty list of torch.nn.Module or a function "
                            f"model -> layers, got {type(layers).__name__}")
        self.alpha = check_float("alpha", alpha, minimum=0.0)
        self._outputs: dict[int, list[torch.Tensor]] = {}
        self._in_run = False
        self._handles: list = []
        self._run_handles: list = []
        if self._select is None:
            self._handles = self._hook(list(layers))

    def _hook(self, layers: list) -> list:
        """Check ``layers`` and hook each; returns the handles."""
        if not layers:
            raise ValueError("ActivityL1: layers is empty; give the layers whose outputs to penalize")
        for i, m in enumerate(layers):
            if not isinstance(m, nn.Module):
                raise TypeError(f"ActivityL1: layers[{i}] must be a torch.nn.Module, got {type(m).__name__}")
        if len({id(m) for m in layers}) < len(layers):
            raise ValueError("ActivityL1: layers names the same module twice; its activity would be counted "
                             "twice")
        return [layer.register_forward_hook(functools.partial(self._record, i))
                for i, layer in enumerate(layers)]

    def _record(self, i, module, inputs, output):
        if self._in_run:  # every member's pass since the run's forward began
            self._outputs.setdefault(i, []).append(output)
        else:
            self._outputs[i] = [output]

    def on_fit_start(self, run) -> None:
        if self._select is not None:
            chosen = self._select(run.model.template)
            if isinstance(chosen, nn.Module) and not isinstance(chosen, nn.ModuleList):
                chosen = [chosen]
            if isinstance(chosen, (str, bytes, torch.Tensor)) or not hasattr(chosen, "__iter__"):
                raise TypeError(f"ActivityL1: layers(model) must return a list of torch.nn.Module, got "
                                f"{type(chosen).__name__}")
            self._run_handles = self._hook(list(chosen))
        self._run_handles.append(run.model.register_forward_pre_hook(lambda _members: self._outputs.clear()))
        self._outputs.clear()
        self._in_run = True

    def on_fit_end(self, run) -> None:
        for handle in self._run_handles:
            handle.remove()
        self._run_handles, self._in_run = [], False
        self._outputs.clear()

    def _recorded(self, count: int) -> list[list[torch.Tensor]]:
        """The outputs of the latest ``count`` passes, per hooked layer, checked."""
        if not self._outputs:
            raise RuntimeError("ActivityL1: no forward pass recorded yet (in fit_many, give layers as a "
                               "function of the model, e.g. lambda net: net.layers[:-1], and a network "
                               "whose layers run member by member)")
        out = []
        for i in sorted(self._outputs):
            zs = self._outputs[i][-count:]
            if len(zs) != count:
                raise RuntimeError(f"ActivityL1: layers[{i}] ran {len(zs)} times in the latest forward pass "
                                   f"of {count} members; the members must run member by member through "
                                   "the hooked layers")
            for z in zs:
                if not isinstance(z, torch.Tensor):
                    raise TypeError(f"ActivityL1: layers[{i}] must output a tensor, got {type(z).__name__}")
                if z.ndim != 2:
                    raise ValueError(f"ActivityL1: layers[{i}] must output (N, units) activations, got "
                                     f"shape {tuple(z.shape)}")
            out.append(zs)
        return out

    def __call__(self, model: nn.Module) -> torch.Tensor:
        if not isinstance(model, nn.Module):
            raise TypeError(f"ActivityL1: model must be a torch.nn.Module, got {type(model).__name__}")
        return self.many(None)[0]

    def many(self, members) -> torch.Tensor:
        """Each member's penalty, shape (M,), from its latest forward pass (``members`` is the run's;
        ``None`` reads one pass)."""
        count = 1 if members is None else members.members
        layers = self._recorded(count)
        return self.alpha * torch.stack([sum(torch.relu(zs[m]).sum(-1).mean() for zs in layers)
                                         for m in range(count)])

    def remove(self) -> None:
        """Detach the hooks from the layers."""
        for handle in self._handles + self._run_handles:
            handle.remove()
        self._handles, self._run_handles = [], []
        self._outputs.clear()
