"""Adam, with the AMSGrad variant and optionally decoupled weight decay, step for step as
``torch.optim.Adam``."""
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


class Adam(PlainOptimizer):
    r"""Adam (Kingma & Ba 2015), with AMSGrad as an option.

    Running averages of the gradient and of its square, corrected for
    their start at zero, give a per-coordinate step; AMSGrad (Reddi, Kale & Kumar 2018) divides by the
    largest second moment seen so far instead.

    Input: parameters θ₀, learning rate η, β₁, β₂, ε, weight decay λ, amsgrad, maximize,
    decoupled_weight_decay.
    State: ``step`` t, ``exp_avg`` m and ``exp_avg_sq`` s starting at 0, and with amsgrad
    ``max_exp_avg_sq`` ŝ starting at 0.

    For t = 1, 2, ...:
        g_t ← ∇f(θ_{t−1})                    (−∇f(θ_{t−1}) when maximize)
        if λ ≠ 0:  θ_{t−1} ← (1 − ηλ) θ_{t−1} if decoupled_weight_decay, else g_t ← g_t + λ θ_{t−1}
        m_t ← β₁ m_{t−1} + (1 − β₁) g_t
        s_t ← β₂ s_{t−1} + (1 − β₂) g_t²
        with amsgrad:  ŝ_t ← max(ŝ_{t−1}, s_t),  u_t ← ŝ_t;   else u_t ← s_t
        θ_t ← θ_{t−1} − η / (1 − β₁^t) · m_t / (√u_t / √(1 − β₂^t) + ε)

    Differences from the paper: none in the formulas. PyTorch follows the paper's Algorithm 1, in
    which ε is added to the bias-corrected root √(s_t / (1 − β₂^t)), not the paper's faster reordering
    that folds both corrections into the step size and adds ε to the uncorrected √s_t. With amsgrad the
    maximum is kept of the *uncorrected* s and corrected afterwards; Reddi et al.'s AMSGrad has no bias
    correction. ``decoupled_weight_decay=True`` makes this AdamW (Loshchilov & Hutter 2019), see
    :class:`AdamW`.

    Sparse gradients are refused, as in PyTorch; complex parameters are treated as pairs of reals.
    ``foreach``, ``fused``, ``capturable`` and ``differentiable`` accept only None or False.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach,
                                  "capturable": capturable, "differentiable": differentiable, "fused": fused,
                                  "decoupled_weight_decay": decoupled_weight_decay})

    @staticmethod
    def _check(h: dict) -> None:
        check_number(h["lr"], "lr", "learning rate")
        check_number(h["eps"], "eps", "epsilon value")
        h["betas"] = check_betas(h["betas"])
        check_number(h["weight_decay"], "weight_decay")
        check_flags(h, "amsgrad", "maximize", "decoupled_weight_decay")

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns what ``closure`` returns."""
        loss = self._loss(closure)
        name = type(self).__name__
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay, amsgrad, maximize = group["weight_decay"], group["amsgrad"], group["maximize"]
            decoupled = group["decoupled_weight_decay"]
            for p in with_grad(name, group):
                state = self.state[p]
                if not state:
                    state["step"], state["exp_avg"], state["exp_avg_sq"] = scalar(), zeros(p), zeros(p)
                    if amsgrad:
                        state["max_exp_avg_sq"] = zeros(p)
                step_t = state["step"]
                step_t += 1
                t = step_t.item()
                grad = direction(p, maximize, 0 if decoupled else weight_decay)
                if decoupled and weight_decay != 0:
                    p.mul_(1 - lr * weight_decay)
                param, grad, exp_avg, exp_avg_sq = as_real(p, grad, state["exp_avg"], state["exp_avg_sq"])
                exp_avg.lerp_(grad, 1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                if amsgrad:
                    (second,) = as_real(state["max_exp_avg_sq"])
                    torch.maximum(second, exp_avg_sq, out=second)
                else:
                    second = exp_avg_sq
                # PyTorch's order of operations, kept for bit-equal results: 1 − β^t in double precision,
                # the root of the correction separately, ε after the division.
                step_size = lr / (1 - beta1**t)
                denom = second.sqrt().div_((1 - beta2**t) ** 0.5).add_(eps)
                param.addcdiv_(exp_avg, denom, value=-step_size)
        return loss
