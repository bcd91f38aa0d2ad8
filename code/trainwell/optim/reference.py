"""The papers' forms of the adaptive methods of section `part-optimization`, as plain loops over float64
tensors, one line per line of the paper, so that a chapter can set each beside ``trainwell.optim``
(and ``torch.optim``) and show where they agree and exactly where they differ.

Every function takes ``grad`` (a :class:`~trainwell.optim.functions.Objective` or a function
θ ↦ ∇f(θ) of a (d,) tensor), a start θ₀ and a number of steps, and returns the iterates θ₀, …,
θ_steps as a (steps + 1, d) float64 tensor; rows after a non-finite iterate are NaN. Hyperparameters
carry PyTorch's names (and defaults) where PyTorch has the same one, with the paper's symbol in the
docstring. Differences from PyTorch, which the tests measure:

* ε inside the root, √(G + ε), in Adagrad and RMSprop as the survey prints them (``eps_inside=True``);
  PyTorch adds it outside, √G + ε (``eps_inside=False`` gives PyTorch's steps);
* AdaDelta: none (PyTorch with lr = 1 is Zeiler's method);
* Adam: none for Algorithm 1; the section-2 reordering equals it when ε̂_t = ε √(1 − β₂ᵗ);
* AdamW: PyTorch multiplies the decay by the learning rate; Loshchilov & Hutter by the schedule η_t
  only, so they agree when λ_torch · lr_t = η_t λ (lr_t = η_t α, i.e. λ_torch = λ / α);
* NAdam: Dozat's Algorithm 2 averages m_t with the scheduled μ_t, PyTorch (like Keras) with the
  constant β₁ (``scheduled_average=False`` gives PyTorch's steps); PyTorch also rounds μ₁⋯μ_t to
  float32 unless float64 is the default dtype.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from .._validate import check_bool, check_float
from ._common import check_betas
from .functions import _run_arguments


def _nonneg(name: str, value) -> float:
    return check_float(name, value, minimum=0.0)


def _betas(betas) -> tuple[float, float]:
    b1, b2 = check_betas(betas)
    return check_float("betas[0]", b1), check_float("betas[1]", b2)


def _per_step(name: str, value) -> Callable[[int], float]:
    """A constant ≥ 0, or a function t ↦ value ≥ 0 whose results are checked as they are used."""
    if callable(value):
        def checked(t: int) -> float:
            out = value(t)
            try:
                return check_float(f"{name}({t})", out, minimum=0.0)
            except TypeError as err:
                raise TypeError(f"{name} must return a real number for each step t, got {out!r} at t = {t}"
                                ) from err
        return checked
    constant = _nonneg(name, value)
    return lambda t: constant


def adagrad_paper(grad, start, steps: int, *, lr: float = 1e-2, eps: float = 1e-10,
                  eps_inside: bool = True) -> torch.Tensor:
    """Adagrad's diagonal update (Duchi, Hazan & Singer 2011) as many overviews print it:

        G_t = G_{t−1} + g_t²,   θ_t = θ_{t−1} − η g_t / √(G_t + ε)              (``eps_inside=True``)

    ``eps_inside=False`` puts ε outside, θ_t = θ_{t−1} − η g_t / (√G_t + ε): Duchi et al.'s own
    δI + diag(G_t)^{1/2} and ``torch.optim.Adagrad`` (lr_decay = 0, initial_accumulator_value = 0)."""
    f, theta, path = _run_arguments(grad, start, steps)
    lr, eps, inside = _nonneg("lr", lr), _nonneg("eps", eps), check_bool("eps_inside", eps_inside)
    G = torch.zeros_like(theta)
    for t in range(1, path.rows.shape[0]):
        g = f(theta)                                    # g_t = ∇f(θ_{t−1})
        G = G + g * g                                   # G_t = Σ_{τ ≤ t} g_τ²
        root = (G + eps).sqrt() if inside else G.sqrt() + eps
        theta = theta - lr * g / root                   # θ_t = θ_{t−1} − η g_t / √(G_t + ε)
        if not path.record(t, theta):
            break
    return path.rows


def rmsprop_paper(grad, start, steps: int, *, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                  eps_inside: bool = True) -> torch.Tensor:
    """RMSprop (Tieleman & Hinton 2012, lecture 6.5): divide the gradient by a running root mean square,

        E[g²]_t = α E[g²]_{t−1} + (1 − α) g_t²,   θ_t = θ_{t−1} − η g_t / √(E[g²]_t + ε)   (``eps_inside``)

    The lecture uses α = 0.9 and no ε; many from-scratch versions put ε inside the root, as here.
    ``eps_inside=False`` gives √E[g²]_t + ε, the step of ``torch.optim.RMSprop`` (not centered, no
    momentum)."""
    f, theta, path = _run_arguments(grad, start, steps)
    lr, eps, inside = _nonneg("lr", lr), _nonneg("eps", eps), check_bool("eps_inside", eps_inside)
    alpha = check_float("alpha", alpha, minimum=0.0, maximum=1.0)
    Eg2 = torch.zeros_like(theta)
    for t in range(1, path.rows.shape[0]):
        g = f(theta)
        Eg2 = alpha * Eg2 + (1 - alpha) * g * g         # E[g²]_t
        root = (Eg2 + eps).sqrt() if inside else Eg2.sqrt() + eps
        theta = theta - lr * g / root                   # θ_t = θ_{t−1} − η g_t / RMS[g]_t
        if not path.record(t, theta):
            break
    return path.rows


def adadelta_paper(grad, start, steps: int, *, rho: float = 0.9, eps: float = 1e-6) -> torch.Tensor:
    """ADADELTA exactly as Zeiler (2012), Algorithm 1, with RMS[y]_t = √(E[y²]_t + ε) and no
    learning rate:

        E[g²]_t = ρ E[g²]_{t−1} + (1 − ρ) g_t²
        Δθ_t = − RMS[Δθ]_{t−1} / RMS[g]_t · g_t
        E[Δθ²]_t = ρ E[Δθ²]_{t−1} + (1 − ρ) Δθ_t²
        θ_t = θ_{t−1} + Δθ_t

    ``torch.optim.Adadelta(lr=1.0)`` is this method. (Zeiler used ρ = 0.95, ε = 1e-6; PyTorch's
    default ρ is 0.9.)"""
    f, theta, path = _run_arguments(grad, start, steps)
    rho = check_float("rho", rho, minimum=0.0, maximum=1.0)
    eps = _nonneg("eps", eps)
    Eg2 = torch.zeros_like(theta)                       # E[g²]_0 = 0
    Edx2 = torch.zeros_like(theta)                      # E[Δθ²]_0 = 0
    for t in range(1, path.rows.shape[0]):
        g = f(theta)                                    # compute gradient g_t
        Eg2 = rho * Eg2 + (1 - rho) * g * g             # accumulate gradient
        dx = -(Edx2 + eps).sqrt() / (Eg2 + eps).sqrt() * g   # compute update
        Edx2 = rho * Edx2 + (1 - rho) * dx * dx         # accumulate updates
        theta = theta + dx                              # apply update
        if not path.record(t, theta):
            break
    return path.rows


def adam_paper(grad, start, steps: int, *, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
               eps: float = 1e-8, bias_correction: bool = True) -> torch.Tensor:
    """Adam as Kingma & Ba (2015), Algorithm 1 (α = ``lr``):

        m_t = β₁ m_{t−1} + (1 − β₁) g_t,   v_t = β₂ v_{t−1} + (1 − β₂) g_t²
        m̂_t = m_t / (1 − β₁ᵗ),   v̂_t = v_t / (1 − β₂ᵗ)
        θ_t = θ_{t−1} − α m̂_t / (√v̂_t + ε)

    which is ``torch.optim.Adam``. ``bias_correction=False`` drops the two divisions (m̂ = m, v̂ = v):
    the first step is then α (1 − β₁) g / (√(1 − β₂) |g| + ε), about α (1 − β₁)/√(1 − β₂) per
    coordinate, 3.2 α for the default betas."""
    f, theta, path = _run_arguments(grad, start, steps)
    lr, (b1, b2), eps = _nonneg("lr", lr), _betas(betas), _nonneg("eps", eps)
    corrected = check_bool("bias_correction", bias_correction)
    m = torch.zeros_like(theta)
    v = torch.zeros_like(theta)
    for t in range(1, path.rows.shape[0]):
        g = f(theta)                                    # g_t = ∇f(θ_{t−1})
        m = b1 * m + (1 - b1) * g                       # biased first moment
        v = b2 * v + (1 - b2) * g * g                   # biased second raw moment
        m_hat = m / (1 - b1**t) if corrected else m     # bias-corrected first moment
        v_hat = v / (1 - b2**t) if corrected else v     # bias-corrected second raw moment
        theta = theta - lr * m_hat / (v_hat.sqrt() + eps)
        if not path.record(t, theta):
            break
    return path.rows


def adam_paper_fast(grad, start, steps: int, *, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                    eps_hat=1e-8) -> torch.Tensor:
    """Adam in the cheaper order of Kingma & Ba (2015, section 2), both corrections folded into the
    step size:

        α_t = α √(1 − β₂ᵗ) / (1 − β₁ᵗ),   θ_t = θ_{t−1} − α_t m_t / (√v_t + ε̂)

    Algebra: this is Algorithm 1 exactly when ε̂ = ε √(1 − β₂ᵗ), so ``eps_hat`` may be a function
    t ↦ ε̂_t as well as a constant; a constant ε̂ = ε is a slightly larger safeguard in the first steps."""
    f, theta, path = _run_arguments(grad, start, steps)
    lr, (b1, b2) = _nonneg("lr", lr), _betas(betas)
    eps_t = _per_step("eps_hat", eps_hat)
    m = torch.zeros_like(theta)
    v = torch.zeros_like(theta)
    for t in range(1, path.rows.shape[0]):
        g = f(theta)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        alpha_t = lr * (1 - b2**t) ** 0.5 / (1 - b1**t)
        theta = theta - alpha_t * m / (v.sqrt() + eps_t(t))
        if not path.record(t, theta):
            break
    return path.rows


def adamw_paper(grad, start, steps: int, *, weight_decay: float, lr: float = 1e-3,
                betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, schedule=None) -> torch.Tensor:
    """AdamW as Loshchilov & Hutter (2019), Algorithm 2 (α = ``lr``, λ = ``weight_decay``,
    η_t = ``schedule(t)``, the schedule multiplier; None means η_t = 1):

        m_t, v_t, m̂_t, v̂_t as in Adam (the gradient without any λθ term)
        θ_t = θ_{t−1} − η_t (α m̂_t / (√v̂_t + ε) + λ θ_{t−1})

    The decay is multiplied by η_t, not by α. ``torch.optim.AdamW(lr=lr_t, weight_decay=λ′)`` shrinks by
    lr_t λ′ instead, so the two agree when lr_t = η_t α and λ′ = λ / α."""
    f, theta, path = _run_arguments(grad, start, steps)
    lr, (b1, b2), eps = _nonneg("lr", lr), _betas(betas), _nonneg("eps", eps)
    lam = _nonneg("weight_decay", weight_decay)
    eta = _per_step("schedule", 1.0 if schedule is None else schedule)
    m = torch.zeros_like(theta)
    v = torch.zeros_like(theta)
    for t in range(1, path.rows.shape[0]):
        g = f(theta)                                    # ∇f_t(θ_{t−1}), no L2 term
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        eta_t = eta(t)                                  # SetScheduleMultiplier(t)
        theta = theta - eta_t * (lr * m_hat / (v_hat.sqrt() + eps) + lam * theta)
        if not path.record(t, theta):
            break
    return path.rows


def nadam_paper(grad, start, steps: int, *, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                eps: float = 1e-8, momentum_decay: float = 4e-3,
                scheduled_average: bool = True) -> torch.Tensor:
    """NAdam, Nesterov momentum inside Adam (Dozat 2016), with the momentum schedule
    μ_t = β₁ (1 − ½ · 0.96^{tψ}) (ψ = ``momentum_decay``; Dozat's 0.96^{t/250} is ψ = 4e-3), ν = β₂ and
    η = ``lr``:

        ĝ_t = g_t / (1 − Π_{i ≤ t} μ_i)
        m_t = μ_t m_{t−1} + (1 − μ_t) g_t              (β₁ instead of μ_t: ``scheduled_average=False``)
        m̂_t = m_t / (1 − Π_{i ≤ t+1} μ_i)
        n_t = ν n_{t−1} + (1 − ν) g_t²,   n̂_t = n_t / (1 − νᵗ)
        m̄_t = (1 − μ_t) ĝ_t + μ_{t+1} m̂_t
        θ_t = θ_{t−1} − η m̄_t / (√n̂_t + ε)

    Write-ups of the method differ on whether the first moment m_t is averaged with the scheduled μ_t
    or with the constant β₁; ``torch.optim.NAdam`` (like Keras) uses β₁, which ``scheduled_average=False``
    reproduces (to rounding when float64 is the default dtype; otherwise PyTorch keeps Π in float32).
    With the scheduled average, m_t weighs the newest gradient by 1 − μ_t ≈ 1 − β₁/2 at first, about
    five times 1 − β₁, and forgets faster."""
    f, theta, path = _run_arguments(grad, start, steps)
    lr, (b1, b2), eps = _nonneg("lr", lr), _betas(betas), _nonneg("eps", eps)
    psi = _nonneg("momentum_decay", momentum_decay)
    scheduled = check_bool("scheduled_average", scheduled_average)

    def mu(t: int) -> float:
        return b1 * (1.0 - 0.5 * 0.96 ** (t * psi))

    m = torch.zeros_like(theta)
    n = torch.zeros_like(theta)
    prod = 1.0                                           # Π_{i ≤ t} μ_i
    for t in range(1, path.rows.shape[0]):
        g = f(theta)
        prod = prod * mu(t)
        g_hat = g / (1 - prod)
        avg = mu(t) if scheduled else b1
        m = avg * m + (1 - avg) * g
        m_hat = m / (1 - prod * mu(t + 1))
        n = b2 * n + (1 - b2) * g * g
        n_hat = n / (1 - b2**t)
        m_bar = (1 - mu(t)) * g_hat + mu(t + 1) * m_hat
        theta = theta - lr * m_bar / (n_hat.sqrt() + eps)
        if not path.record(t, theta):
            break
    return path.rows


__all__ = ["AdamWithoutCorrection", "adagrad_paper", "rmsprop_paper", "adadelta_paper", "adam_paper",
           "adam_paper_fast", "adamw_paper", "nadam_paper"]


class AdamWithoutCorrection(torch.optim.Optimizer):
    """Adam without its bias correction, as an optimizer for real networks (section `opt-adam`):

        m_t = β₁ m_{t−1} + (1 − β₁) g_t,   s_t = β₂ s_{t−1} + (1 − β₂) g_t²,
        θ_t = θ_{t−1} − η m_t / (√s_t + ε)

    with m₀ = s₀ = 0. Its first step is η (1 − β₁)/√(1 − β₂) per coordinate (3.2 η for the default
    betas, 32 η with β₁ = 0 and β₂ = 0.999) instead of Adam's η: the averages start at zero and
    √s_t is too small until 1 − β₂ᵗ approaches 1. A teaching device, not for use."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        defaults = {"lr": _nonneg("lr", lr), "betas": _betas(betas), "eps": _nonneg("eps", eps)}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None if closure is None else closure()
        for group in self.param_groups:
            (b1, b2), lr, eps = group["betas"], group["lr"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["m"], state["s"] = torch.zeros_like(p), torch.zeros_like(p)
                m, s = state["m"], state["s"]
                m.lerp_(p.grad, 1 - b1)                          # m_t
                s.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)  # s_t
                p.addcdiv_(m, s.sqrt().add_(eps), value=-lr)       # no division by 1 − βᵗ
        return loss
