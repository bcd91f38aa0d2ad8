"""Adagrad, step for step as ``torch.optim.Adagrad``."""
from __future__ import annotations

import torch

from ._common import PlainOptimizer, as_real, check_flags, check_number, direction, scalar, with_grad


class Adagrad(PlainOptimizer):
    r"""Adagrad (Duchi, Hazan & Singer 2011): each coordinate's step is divided by the root of the sum
    of all its squared gradients so far.

    Input: parameters θ₀, learning rate η, learning-rate decay ν, weight decay λ, initial accumulator
    value s₀, ε, maximize.
    State: ``step`` t and ``sum`` s, created for every parameter when the optimizer is built (a
    parameter group added later gets them at its first step), s starting at s₀.

    For t = 1, 2, ...:
        g_t ← ∇f(θ_{t−1})           (−∇f(θ_{t−1}) when maximize)
        g_t ← g_t + λ θ_{t−1}        if λ ≠ 0
        η̃_t ← η / (1 + (t − 1) ν)
        s_t ← s_{t−1} + g_t²
        θ_t ← θ_{t−1} − η̃_t g_t / (√s_t + ε)

    Differences from the paper: ε sits outside the square root, where the paper's diagonal version
    puts its δ (δI + diag(G_t)^{1/2}), but PyTorch's default ε = 1e-10 only guards against dividing by
    zero, where the paper's δ is a tuned constant; the decay ν of the learning rate and the starting
    value s₀ are PyTorch's additions.
    One deliberate difference from PyTorch 2.13: a parameter group's own ``initial_accumulator_value``
    is honoured; PyTorch fills every group's accumulator with the constructor's value.

    Sparse gradients are refused (PyTorch supports them for Adagrad); complex parameters are treated
    as pairs of reals. ``foreach``, ``fused`` and ``differentiable`` accept only None or False.
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
                                  "maximize": maximize, "differentiable": differentiable, "fused": fused})
        for group in self.param_groups:  # PyTorch creates the state at once: so do we
            for p in group["params"]:
                self._init_state(p, group)

    @staticmethod
    def _check(h: dict) -> None:
        check_number(h["lr"], "lr", "learning rate")
        check_number(h["lr_decay"], "lr_decay")
        check_number(h["weight_decay"], "weight_decay")
        check_number(h["initial_accumulator_value"], "initial_accumulator_value")
        check_number(h["eps"], "eps", "epsilon value")
        check_flags(h, "maximize")

    def _init_state(self, p: torch.Tensor, group: dict) -> dict:
        state = self.state[p]
        if not state:
            s0 = group["initial_accumulator_value"]
            state["step"] = scalar()
            state["sum"] = torch.full_like(p, complex(s0, s0) if p.is_complex() else s0,
                                           memory_format=torch.preserve_format)
        return state

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns what ``closure`` returns."""
        loss = self._loss(closure)
        for group in self.param_groups:
            lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
            weight_decay, maximize = group["weight_decay"], group["maximize"]
            for p in with_grad("Adagrad", group):
                state = self._init_state(p, group)
                state["step"] += 1
                t = state["step"].item()
                grad = direction(p, maximize, weight_decay)
                clr = lr / (1 + (t - 1) * lr_decay)
                param, grad, total = as_real(p, grad, state["sum"])
                total.addcmul_(grad, grad, value=1)
                param.addcdiv_(grad, total.sqrt().add_(eps), value=-clr)
        return loss
