"""AdamW, Adam with decoupled weight decay, step for step as ``torch.optim.AdamW``."""
from __future__ import annotations

from .adam import Adam


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter 2019): Adam whose weight decay shrinks the parameters directly
    instead of entering the gradient, so that it is not divided by the adaptive denominator.

    Input: parameters θ₀, learning rate η, β₁, β₂, ε, weight decay λ (default 1e-2), amsgrad, maximize.
    State: as :class:`Adam` (``step``, ``exp_avg``, ``exp_avg_sq``, with amsgrad ``max_exp_avg_sq``).

    For t = 1, 2, ...:
        g_t ← ∇f(θ_{t−1})                    (−∇f(θ_{t−1}) when maximize)
        θ_{t−1} ← (1 − ηλ) θ_{t−1}
        m_t, s_t, u_t and the step exactly as in Adam, with g_t free of λ

    Difference from the paper: Loshchilov & Hutter decay by η_t λ θ, where η_t is a schedule
    multiplier and λ is *not* multiplied by the learning rate (their α, the book's η); PyTorch
    multiplies λ by the current η (so λ = 1e-2 with η = 1e-3 is a decay of 1e-5 per step, and a
    learning-rate schedule also schedules the decay). This is ``Adam(...,
    decoupled_weight_decay=True)``; the flag stays True whatever a loaded state dict says, as in
    PyTorch.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
