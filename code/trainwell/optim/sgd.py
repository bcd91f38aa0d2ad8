"""Stochastic gradient descent with optional (Nesterov) momentum, step for step as ``torch.optim.SGD``."""
from __future__ import annotations

import math

import torch

from ._common import PlainOptimizer, check_flags, check_number, direction, with_grad


class SGD(PlainOptimizer):
    r"""Stochastic gradient descent (Robbins & Monro 1951) with heavy-ball momentum (Polyak 1964) or
    Nesterov momentum (Nesterov 1983, in the form of Sutskever et al. 2013).

    Input: parameters θ₀, learning rate η, momentum γ, dampening τ, weight decay λ, nesterov, maximize.
    State: the momentum buffer b (only when γ ≠ 0), created at the first step.

    For t = 1, 2, ...:
        g_t ← ∇f(θ_{t−1})                 (−∇f(θ_{t−1}) when maximize)
        g_t ← g_t + λ θ_{t−1}              if λ ≠ 0
        if γ ≠ 0:
            b_t ← g_t                       if t = 1
            b_t ← γ b_{t−1} + (1 − τ) g_t   otherwise
            g_t ← g_t + γ b_t               if nesterov, else g_t ← b_t
        θ_t ← θ_{t−1} − η g_t

    Differences from the papers, all PyTorch's conventions:

    * the learning rate multiplies the buffer, not the gradient inside it: Sutskever et al. write
      v_t = γ v_{t−1} − η g_t, θ_t = θ_{t−1} + v_t. The two agree while η is constant; when a schedule
      changes η, PyTorch's form rescales the whole accumulated velocity at once;
    * the buffer starts at the first gradient, undamped, instead of at zero;
    * Nesterov's look-ahead is reformulated so that the gradient is taken at the current parameters:
      with the shifted variable θ' = θ − η γ b the update becomes g + γ b, and no gradient at a
      look-ahead point is ever evaluated. It requires γ > 0 and τ = 0, as in PyTorch.

    Sparse gradients are refused (PyTorch supports them for SGD); there is one per-tensor
    implementation, so ``foreach``, ``fused`` and ``differentiable`` accept only None or False.
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                                  "foreach": foreach, "differentiable": differentiable, "fused": fused})

    @staticmethod
    def _check(h: dict) -> None:
        check_number(h["lr"], "lr", "learning rate")
        check_number(h["momentum"], "momentum")
        check_number(h["dampening"], "dampening", low=-math.inf)
        check_number(h["weight_decay"], "weight_decay")
        check_flags(h, "nesterov", "maximize")
        if h["nesterov"] and (h["momentum"] <= 0 or h["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns what ``closure`` returns."""
        loss = self._loss(closure)
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
            for p in with_grad("SGD", group):
                grad = direction(p, maximize, weight_decay)
                if momentum != 0:  # without momentum there is no state at all, as in PyTorch
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = grad.clone()
                    else:
                        buf.mul_(momentum).add_(grad, alpha=1 - dampening)
                    grad = grad.add(buf, alpha=momentum) if nesterov else buf
                p.add_(grad, alpha=-lr)
        return loss
