"""NAdam, Adam with Nesterov momentum, step for step as ``torch.optim.NAdam``."""
from __future__ import annotations

import torch

from ._common import (
    PlainOptimizer,
    as_real,
    check_betas,
    check_flags,
    check_number,
    direction,
    scalar,
    with_grad,
    zeros,
)


class NAdam(PlainOptimizer):
    r"""NAdam (Dozat 2016): Adam whose first moment takes a Nesterov look-ahead, with a momentum
    coefficient that warms up over the first steps.

    Input: parameters θ₀, learning rate η, β₁, β₂, ε, weight decay λ, momentum decay ψ,
    decoupled_weight_decay, maximize.
    State: ``step`` t, ``mu_product`` Π_t = μ₁⋯μ_t (a 0-d tensor starting at 1), ``exp_avg`` m and
    ``exp_avg_sq`` s starting at 0.

    For t = 1, 2, ...:
        g_t ← ∇f(θ_{t−1})                    (−∇f(θ_{t−1}) when maximize)
        if λ ≠ 0:  θ_{t−1} ← (1 − ηλ) θ_{t−1} if decoupled_weight_decay, else g_t ← g_t + λ θ_{t−1}
        μ_t ← β₁ (1 − ½ · 0.96^{tψ}),   μ_{t+1} ← β₁ (1 − ½ · 0.96^{(t+1)ψ})
        Π_t ← Π_{t−1} μ_t
        m_t ← β₁ m_{t−1} + (1 − β₁) g_t
        s_t ← β₂ s_{t−1} + (1 − β₂) g_t²
        d_t ← √(s_t / (1 − β₂^t)) + ε
        θ_t ← θ_{t−1} − η (1 − μ_t) / (1 − Π_t) · g_t / d_t − η μ_{t+1} / (1 − Π_t μ_{t+1}) · m_t / d_t

    Differences from the paper: Dozat's schedule is μ_t = β₁ (1 − ½ · 0.96^{t/250}); PyTorch writes
    1/250 as ψ = ``momentum_decay`` = 4e-3, and ψ = 0 gives the constant μ = β₁/2 (not β₁). The
    running average m_t uses the constant β₁; the schedule enters only the step's two coefficients,
    that of the current gradient (μ_t) and that of m_t (μ_{t+1}, the look-ahead). Π_t is kept in
    ``mu_product`` in the scalar state dtype (float32 unless float64 is the default dtype), so its
    rounding is part of the result. ``decoupled_weight_decay=True`` is PyTorch's NAdamW
    (Loshchilov & Hutter 2019), with the decay multiplied by η.

    Sparse gradients are refused, as in PyTorch; complex parameters are treated as pairs of reals.
    ``foreach``, ``capturable`` and ``differentiable`` accept only None or False.
    """

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False,
                 *, foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "momentum_decay": momentum_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize,
                                  "foreach": foreach, "capturable": capturable,
                                  "differentiable": differentiable})

    @staticmethod
    def _check(h: dict) -> None:
        check_number(h["lr"], "lr", "learning rate")
        check_number(h["eps"], "eps", "epsilon value")
        h["betas"] = check_betas(h["betas"])
        check_number(h["weight_decay"], "weight_decay")
        check_number(h["momentum_decay"], "momentum_decay")
        check_flags(h, "decoupled_weight_decay", "maximize")

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns what ``closure`` returns."""
        loss = self._loss(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay, psi, maximize = group["weight_decay"], group["momentum_decay"], group["maximize"]
            decoupled = group["decoupled_weight_decay"]
            for p in with_grad("NAdam", group):
                state = self.state[p]
                if not state:
                    state["step"], state["mu_product"] = scalar(0.0), scalar(1.0)
                    state["exp_avg"], state["exp_avg_sq"] = zeros(p), zeros(p)
                step_t, mu_product = state["step"], state["mu_product"]
                step_t += 1
                t = step_t.item()
                grad = direction(p, maximize, 0 if decoupled else weight_decay)
                if decoupled and weight_decay != 0:
                    p.mul_(1 - lr * weight_decay)
                mu = beta1 * (1.0 - 0.5 * (0.96 ** (t * psi)))
                mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * psi)))
                mu_product *= mu  # rounded to the scalar dtype, as in PyTorch
                prod = mu_product.item()
                param, grad, exp_avg, exp_avg_sq = as_real(p, grad, state["exp_avg"], state["exp_avg_sq"])
                exp_avg.lerp_(grad, 1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = exp_avg_sq.div(1 - beta2**t).sqrt_().add_(eps)
                param.addcdiv_(grad, denom, value=-lr * (1.0 - mu) / (1.0 - prod))
                param.addcdiv_(exp_avg, denom, value=(-lr * mu_next) / (1.0 - prod * mu_next))
        return loss
