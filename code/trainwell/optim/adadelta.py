"""Adadelta, step for step as ``torch.optim.Adadelta``."""
from __future__ import annotations

import torch

from ._common import PlainOptimizer, as_real, check_flags, check_number, direction, scalar, with_grad, zeros


class Adadelta(PlainOptimizer):
    r"""Adadelta (Zeiler 2012): the step is the gradient rescaled by the ratio of two running root
    mean squares, that of past updates over that of past gradients, so that it carries the units of
    the parameter.

    Input: parameters θ₀, learning rate η, decay ρ, ε, weight decay λ, maximize.
    State: ``step`` t, ``square_avg`` s (of g²) and ``acc_delta`` u (of Δθ²), both starting at 0.

    For t = 1, 2, ...:
        g_t ← ∇f(θ_{t−1})                     (−∇f(θ_{t−1}) when maximize)
        g_t ← g_t + λ θ_{t−1}                  if λ ≠ 0
        s_t ← ρ s_{t−1} + (1 − ρ) g_t²
        Δ_t ← √(u_{t−1} + ε) / √(s_t + ε) · g_t
        u_t ← ρ u_{t−1} + (1 − ρ) Δ_t²
        θ_t ← θ_{t−1} − η Δ_t

    Difference from the paper: Zeiler's update has no learning rate (θ_t = θ_{t−1} − Δ_t); PyTorch
    multiplies by η, whose default 1.0 gives the paper's method. ε sits inside both roots, as in the
    paper (and there it also seeds the very first steps, when u = 0).

    Sparse gradients are refused, as in PyTorch; complex parameters are treated as pairs of reals.
    ``foreach``, ``capturable`` and ``differentiable`` accept only None or False.
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0,
                 foreach: bool | None = None, *, capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                                  "maximize": maximize, "capturable": capturable, "foreach": foreach,
                                  "differentiable": differentiable})

    @staticmethod
    def _check(h: dict) -> None:
        check_number(h["lr"], "lr", "learning rate")
        check_number(h["rho"], "rho", high=1.0)
        check_number(h["eps"], "eps", "epsilon value")
        check_number(h["weight_decay"], "weight_decay")
        check_flags(h, "maximize")

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns what ``closure`` returns."""
        loss = self._loss(closure)
        for group in self.param_groups:
            lr, rho, eps = group["lr"], group["rho"], group["eps"]
            weight_decay, maximize = group["weight_decay"], group["maximize"]
            for p in with_grad("Adadelta", group):
                state = self.state[p]
                if not state:
                    state["step"], state["square_avg"], state["acc_delta"] = scalar(), zeros(p), zeros(p)
                state["step"] += 1
                grad = direction(p, maximize, weight_decay)
                param, grad, square_avg, acc_delta = as_real(p, grad, state["square_avg"], state["acc_delta"])
                square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
                std = square_avg.add(eps).sqrt_()
                delta = acc_delta.add(eps).sqrt_().div_(std).mul_(grad)
                acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
                param.add_(delta, alpha=-lr)
        return loss
