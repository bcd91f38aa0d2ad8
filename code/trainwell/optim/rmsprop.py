"""RMSprop, plain or centered, with optional momentum, step for step as ``torch.optim.RMSprop``."""
from __future__ import annotations

import torch

from ._common import PlainOptimizer, as_real, check_flags, check_number, direction, scalar, with_grad, zeros


class RMSprop(PlainOptimizer):
    r"""RMSprop (Tieleman & Hinton 2012): divide the gradient by a running root mean square of its
    recent values; the centered variant (Graves 2013) divides by a running standard deviation instead.

    Input: parameters θ₀, learning rate η, smoothing ρ (PyTorch's ``alpha``), ε, weight decay λ,
    momentum γ, centered, maximize.
    State: ``step`` t, ``square_avg`` s, and when used ``grad_avg`` a (centered) and
    ``momentum_buffer`` b (γ > 0), all starting at 0.

    For t = 1, 2, ...:
        g_t ← ∇f(θ_{t−1})                  (−∇f(θ_{t−1}) when maximize)
        g_t ← g_t + λ θ_{t−1}               if λ ≠ 0
        s_t ← ρ s_{t−1} + (1 − ρ) g_t²
        if centered:  a_t ← ρ a_{t−1} + (1 − ρ) g_t,   r_t ← √(s_t − a_t²) + ε
        else:         r_t ← √s_t + ε
        if γ > 0:     b_t ← γ b_{t−1} + g_t / r_t,     θ_t ← θ_{t−1} − η b_t
        else:         θ_t ← θ_{t−1} − η g_t / r_t

    Differences from the sources: the lecture has no ε and no momentum; Graves puts ε inside the
    root (√(s − a² + ε)); PyTorch adds ε outside it, to √s or √(s − a²), which changes the scale of
    the safeguard. Momentum is applied to the normalized step, and η multiplies the buffer, as in
    PyTorch's SGD.

    Sparse gradients are refused, as in PyTorch; complex parameters are treated as pairs of reals.
    ``foreach``, ``capturable`` and ``differentiable`` accept only None or False.
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                                  "centered": centered, "weight_decay": weight_decay,
                                  "capturable": capturable, "foreach": foreach, "maximize": maximize,
                                  "differentiable": differentiable})

    @staticmethod
    def _check(h: dict) -> None:
        check_number(h["lr"], "lr", "learning rate")
        check_number(h["eps"], "eps", "epsilon value")
        check_number(h["momentum"], "momentum")
        check_number(h["weight_decay"], "weight_decay")
        check_number(h["alpha"], "alpha")
        check_flags(h, "centered", "maximize")

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns what ``closure`` returns."""
        loss = self._loss(closure)
        for group in self.param_groups:
            lr, alpha, eps, momentum = group["lr"], group["alpha"], group["eps"], group["momentum"]
            weight_decay, centered, maximize = group["weight_decay"], group["centered"], group["maximize"]
            for p in with_grad("RMSprop", group):
                state = self.state[p]
                if not state:
                    state["step"], state["square_avg"] = scalar(), zeros(p)
                if momentum > 0 and "momentum_buffer" not in state:
                    state["momentum_buffer"] = zeros(p)
                if centered and "grad_avg" not in state:
                    state["grad_avg"] = zeros(p)
                state["step"] += 1
                grad = direction(p, maximize, weight_decay)
                param, grad, square_avg = as_real(p, grad, state["square_avg"])
                square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
                if centered:
                    (grad_avg,) = as_real(state["grad_avg"])
                    grad_avg.lerp_(grad, 1 - alpha)
                    avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
                else:
                    avg = square_avg.sqrt()
                avg.add_(eps)
                if momentum > 0:
                    (buf,) = as_real(state["momentum_buffer"])
                    buf.mul_(momentum).addcdiv_(grad, avg)
                    param.add_(buf, alpha=-lr)
                else:
                    param.addcdiv_(grad, avg, value=-lr)
        return loss
