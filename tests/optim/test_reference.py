"""The papers' forms against trainwell.optim and torch.optim: where they should agree, to 1e-12 in
float64 over hundreds of steps (Adagrad and RMSprop with ε outside the root, Zeiler's AdaDelta and
Adadelta with lr = 1, Kingma & Ba's Algorithm 1 and Adam, their cheaper ordering with ε̂ = ε√(1 − β₂ᵗ),
Loshchilov & Hutter's AdamW and PyTorch's with λ_torch · lr_t = η_t λ, Dozat's NAdam with a constant-β₁
average and NAdam); where they should not, by exactly the amount the formulas give at the first step
(ε inside vs outside, ε̂ constant, no bias correction, Dozat's scheduled average)."""
from __future__ import annotations

import math

import pytest
import torch

from trainwell import optim
from trainwell.optim import functions as fn
from trainwell.optim import reference as ref

F64 = torch.float64
STEPS = 300


def _close(a, b, tol=1e-12):
    a, b = torch.as_tensor(a, dtype=F64), torch.as_tensor(b, dtype=F64)
    assert a.shape == b.shape
    scale = max(1.0, float(b.abs().max()))
    diff = float((a - b).abs().max())
    assert diff <= tol * scale, f"max |diff| = {diff:.3g} > {tol:.0e} * {scale:.3g}"


def _insensitive(run, start, most=1e3):
    """The premise of a 1e-12 equality over hundreds of steps: ``run`` (start -> path) does not amplify
    rounding. A start moved by 1e-13 must move the path by at most ``most`` times as much; chaotic
    settings amplify it by 1e11 or more, and there two correct implementations part on any CPU whose
    kernels round one operation differently."""
    moved = list(start)
    moved[0] += 1e-13
    amplification = float((torch.as_tensor(run(moved)) - torch.as_tensor(run(start))).abs().max()) / 1e-13
    assert amplification <= most, f"these settings amplify rounding {amplification:.2g}-fold"


def _differ(a, b, at_least=1e-6):
    assert float((torch.as_tensor(a) - torch.as_tensor(b)).abs().max()) > at_least


PROBLEMS = {
    "rosenbrock": (fn.Rosenbrock(), [-1.2, 1.0]),
    "quadratic": (fn.Quadratic.ill_conditioned(40.0, angle=0.6, center=[0.3, -0.2]), [1.5, 1.0]),
}
MODULES = {"trainwell": optim, "torch": torch.optim}


def _path(make, problem):
    function, start = PROBLEMS[problem]
    return torch.as_tensor(fn.trajectory(make, function, start, STEPS))


def _first_gradient(problem):
    function, start = PROBLEMS[problem]
    return function.grad(torch.tensor(start, dtype=F64))


both = pytest.mark.parametrize("module", list(MODULES))
problems = pytest.mark.parametrize("problem", list(PROBLEMS))


# Settings are chosen where the dynamics do not amplify rounding, and each equality test checks that first
# (_insensitive). Some settings do amplify it: Adam with β₂ = 0.9 and lr = 1e-2 ends in a cycle around the
# minimum where m/√v is 0/0-like; RMSprop with α = 0.9 and AdaDelta with ρ = 0.9 (ε = 1e-4 to 1e-6) or
# ρ = 0.95, ε = 1e-5 amplify a change of 1e-13 in the start 1e11-fold or more on these problems. There two
# correct implementations, equal to 1e-16 for a hundred steps, part by 1e-6 or more later on, and on
# which step depends on the CPU (on an AMD EPYC they parted on the quadratic, on the CPU of earlier
# sessions they did not).

# ---- Adagrad and RMSprop: where ε goes ---------------------------------------------------------------

@both
@problems
def test_adagrad_with_eps_outside_is_pytorchs(module, problem):
    function, start = PROBLEMS[problem]
    paper = ref.adagrad_paper(function, start, STEPS, lr=0.1, eps=1e-3, eps_inside=False)
    _insensitive(lambda s: ref.adagrad_paper(function, s, STEPS, lr=0.1, eps=1e-3, eps_inside=False), start)
    _close(paper, _path(lambda p: MODULES[module].Adagrad(p, lr=0.1, eps=1e-3), problem))


@problems
def test_adagrad_eps_inside_differs_by_the_formula_and_only_through_eps(problem):
    function, start = PROBLEMS[problem]
    lr, eps = 0.1, 0.5
    inside = ref.adagrad_paper(function, start, STEPS, lr=lr, eps=eps, eps_inside=True)
    outside = ref.adagrad_paper(function, start, STEPS, lr=lr, eps=eps, eps_inside=False)
    g = _first_gradient(problem)   # G₁ = g²: −η g/√(g² + ε) against −η g/(|g| + ε)
    _close(inside[1] - outside[1], -lr * g * (1 / (g * g + eps).sqrt() - 1 / (g.abs() + eps)))
    _differ(inside, outside)
    _close(ref.adagrad_paper(function, start, STEPS, lr=lr, eps=0.0, eps_inside=True),
           ref.adagrad_paper(function, start, STEPS, lr=lr, eps=0.0, eps_inside=False))


@both
@problems
def test_rmsprop_with_eps_outside_is_pytorchs(module, problem):
    function, start = PROBLEMS[problem]
    paper = ref.rmsprop_paper(function, start, STEPS, lr=1e-2, alpha=0.99, eps=1e-4, eps_inside=False)
    _insensitive(lambda s: ref.rmsprop_paper(function, s, STEPS, lr=1e-2, alpha=0.99, eps=1e-4,
                                             eps_inside=False), start)
    _close(paper, _path(lambda p: MODULES[module].RMSprop(p, lr=1e-2, alpha=0.99, eps=1e-4), problem))


@problems
def test_rmsprop_eps_inside_differs_by_the_formula(problem):
    function, start = PROBLEMS[problem]
    lr, alpha, eps = 1e-2, 0.9, 0.5
    inside = ref.rmsprop_paper(function, start, STEPS, lr=lr, alpha=alpha, eps=eps, eps_inside=True)
    outside = ref.rmsprop_paper(function, start, STEPS, lr=lr, alpha=alpha, eps=eps, eps_inside=False)
    g = _first_gradient(problem)
    v = (1 - alpha) * g * g        # E[g²]₁
    _close(inside[1] - outside[1], -lr * g * (1 / (v + eps).sqrt() - 1 / (v.sqrt() + eps)))
    _differ(inside, outside)


# ---- AdaDelta -----------------------------------------------------------------------------------------

@both
@problems
@pytest.mark.parametrize("rho, eps", [(0.95, 1e-6), (0.99, 1e-4), (0.99, 1e-5)])
def test_zeilers_adadelta_is_adadelta_with_lr_1(module, problem, rho, eps):
    function, start = PROBLEMS[problem]
    paper = ref.adadelta_paper(function, start, STEPS, rho=rho, eps=eps)
    _insensitive(lambda s: ref.adadelta_paper(function, s, STEPS, rho=rho, eps=eps), start)
    _close(paper, _path(lambda p: MODULES[module].Adadelta(p, lr=1.0, rho=rho, eps=eps), problem))
    _differ(paper, _path(lambda p: MODULES[module].Adadelta(p, lr=0.5, rho=rho, eps=eps), problem), 1e-9)


# ---- Adam -----------------------------------------------------------------------------------------------

@both
@problems
@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.8, 0.99)])
def test_kingma_ba_algorithm_1_is_adam(module, problem, betas):
    function, start = PROBLEMS[problem]
    paper = ref.adam_paper(function, start, STEPS, lr=1e-2, betas=betas, eps=1e-8)
    _insensitive(lambda s: ref.adam_paper(function, s, STEPS, lr=1e-2, betas=betas, eps=1e-8), start)
    _close(paper, _path(lambda p: MODULES[module].Adam(p, lr=1e-2, betas=betas, eps=1e-8), problem))


@problems
def test_the_cheaper_ordering_is_algorithm_1_when_eps_hat_is_eps_root_of_the_correction(problem):
    function, start = PROBLEMS[problem]
    lr, (b1, b2), eps = 1e-2, (0.9, 0.999), 1e-3
    alg1 = ref.adam_paper(function, start, STEPS, lr=lr, betas=(b1, b2), eps=eps)
    fast = ref.adam_paper_fast(function, start, STEPS, lr=lr, betas=(b1, b2),
                               eps_hat=lambda t: eps * math.sqrt(1 - b2**t))
    _close(fast, alg1)
    constant = ref.adam_paper_fast(function, start, STEPS, lr=lr, betas=(b1, b2), eps_hat=eps)
    g = _first_gradient(problem)   # a constant ε̂ acts as ε/√(1 − β₂) at t = 1
    _close(constant[1] - alg1[1], -lr * g * (1 / (g.abs() + eps / math.sqrt(1 - b2)) - 1 / (g.abs() + eps)))
    _differ(constant, alg1)


@problems
def test_without_bias_correction_the_first_step_is_far_too_large(problem):
    function, start = PROBLEMS[problem]
    lr, (b1, b2), eps = 1e-3, (0.9, 0.999), 1e-8
    plain = ref.adam_paper(function, start, 5, lr=lr, betas=(b1, b2), eps=eps, bias_correction=False)
    corrected = ref.adam_paper(function, start, 5, lr=lr, betas=(b1, b2), eps=eps)
    g = _first_gradient(problem)
    _close(plain[1] - plain[0], -lr * (1 - b1) * g / (math.sqrt(1 - b2) * g.abs() + eps))
    _close(corrected[1] - corrected[0], -lr * g / (g.abs() + eps))
    ratio = (plain[1] - plain[0]) / (corrected[1] - corrected[0])
    _close(ratio, torch.full_like(ratio, (1 - b1) / math.sqrt(1 - b2)), tol=1e-6)
    assert bool((ratio > 3).all())


# ---- AdamW ----------------------------------------------------------------------------------------------

@both
@problems
def test_loshchilov_hutter_adamw_is_pytorchs_when_decay_times_lr_is_schedule_times_lambda(module, problem):
    function, start = PROBLEMS[problem]
    alpha, lam = 1e-2, 0.05

    def eta(t):   # a cosine schedule multiplier
        return 0.5 * (1 + math.cos(math.pi * t / STEPS))

    paper = ref.adamw_paper(function, start, STEPS, lr=alpha, weight_decay=lam, schedule=eta)
    _insensitive(lambda s: ref.adamw_paper(function, s, STEPS, lr=alpha, weight_decay=lam, schedule=eta),
                 start)

    def set_lr(t, opt):
        opt.param_groups[0]["lr"] = eta(t) * alpha

    def run(weight_decay):
        def make(p):
            return MODULES[module].AdamW(p, lr=alpha, weight_decay=weight_decay)
        return torch.as_tensor(fn.trajectory(make, function, start, STEPS, adjust=set_lr))

    _close(paper, run(lam / alpha))         # λ_torch · lr_t = (λ/α)(η_t α) = η_t λ
    _differ(paper, run(lam), 1e-4)          # the same number in both is a different method
    _close(ref.adamw_paper(function, start, STEPS, lr=alpha, weight_decay=lam, schedule=None),
           ref.adamw_paper(function, start, STEPS, lr=alpha, weight_decay=lam, schedule=1.0))


# ---- NAdam ----------------------------------------------------------------------------------------------

@both
@problems
@pytest.mark.parametrize("psi", [4e-3, 0.0, 0.05])
def test_dozat_with_a_constant_beta1_average_is_pytorchs_nadam(module, problem, psi, float64_default):
    function, start = PROBLEMS[problem]
    paper = ref.nadam_paper(function, start, STEPS, lr=1e-2, momentum_decay=psi, scheduled_average=False)
    _insensitive(lambda s: ref.nadam_paper(function, s, STEPS, lr=1e-2, momentum_decay=psi,
                                           scheduled_average=False), start)
    _close(paper, _path(lambda p: MODULES[module].NAdam(p, lr=1e-2, momentum_decay=psi), problem))


@both
def test_under_a_float32_default_dtype_pytorch_rounds_the_momentum_product(module):
    assert torch.get_default_dtype() == torch.float32
    function, start = PROBLEMS["rosenbrock"]
    paper = ref.nadam_paper(function, start, STEPS, lr=1e-2, scheduled_average=False)
    torch_path = _path(lambda p: MODULES[module].NAdam(p, lr=1e-2), "rosenbrock")
    _close(paper, torch_path, tol=1e-6)
    _differ(paper, torch_path, 1e-13)


@problems
def test_dozats_scheduled_average_differs_from_the_first_step_by_the_formula(problem, float64_default):
    function, start = PROBLEMS[problem]
    lr, b1, eps = 1e-2, 0.9, 1e-8
    paper = ref.nadam_paper(function, start, STEPS, lr=lr, eps=eps, scheduled_average=True)
    torch_path = _path(lambda p: optim.NAdam(p, lr=lr, eps=eps), problem)
    mu1, mu2 = (b1 * (1 - 0.5 * 0.96 ** (t * 4e-3)) for t in (1, 2))
    g = _first_gradient(problem)
    # m₁ = (1 − μ₁) g instead of (1 − β₁) g; it enters through μ₂ m₁ / (1 − μ₁μ₂), over √n̂₁ + ε = |g| + ε
    _close(paper[1] - torch_path[1], -lr * mu2 * (b1 - mu1) * g / ((1 - mu1 * mu2) * (g.abs() + eps)))
    _differ(paper, torch_path, 1e-3)


# ---- common behaviour ------------------------------------------------------------------------------------

RUNS = {
    "adagrad_paper": lambda g, s, n: ref.adagrad_paper(g, s, n),
    "rmsprop_paper": lambda g, s, n: ref.rmsprop_paper(g, s, n),
    "adadelta_paper": lambda g, s, n: ref.adadelta_paper(g, s, n),
    "adam_paper": lambda g, s, n: ref.adam_paper(g, s, n),
    "adam_paper_fast": lambda g, s, n: ref.adam_paper_fast(g, s, n),
    "adamw_paper": lambda g, s, n: ref.adamw_paper(g, s, n, weight_decay=0.1),
    "nadam_paper": lambda g, s, n: ref.nadam_paper(g, s, n),
}


@pytest.mark.parametrize("name", list(RUNS))
def test_a_function_and_an_objective_give_the_same_run_of_the_right_shape(name):
    r = fn.Rosenbrock()
    a = RUNS[name](r, [-1.2, 1.0], 20)
    b = RUNS[name](lambda theta: r.grad(theta), torch.tensor([-1.2, 1.0], dtype=F64), 20)
    assert a.shape == (21, 2) and a.dtype == F64
    assert torch.equal(a, b)
    assert torch.equal(RUNS[name](r, [-1.2, 1.0], 0), torch.tensor([[-1.2, 1.0]], dtype=F64))


@pytest.mark.parametrize("name", list(RUNS))
def test_a_non_finite_gradient_ends_the_run_with_nan_rows(name):
    calls = []

    def grad(theta):
        calls.append(1)
        return torch.full_like(theta, math.inf) if len(calls) == 3 else theta.clone()

    path = RUNS[name](grad, [1.0, -1.0, 0.5], 10)
    assert path.shape == (11, 3) and len(calls) == 3
    assert bool(torch.isfinite(path[:3]).all()) and bool(torch.isnan(path[3:]).all())
    assert fn.diverged_at(path) == 3


def test_adam_without_correction_is_adam_minus_the_divisions():
    torch.manual_seed(0)
    grads = [torch.randn(3, dtype=torch.float64) for _ in range(4)]
    theta = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    plain = ref.AdamWithoutCorrection([theta], lr=0.1, betas=(0.9, 0.99), eps=1e-8)
    m = s = torch.zeros(3, dtype=torch.float64)
    expected = torch.zeros(3, dtype=torch.float64)
    for g in grads:
        theta.grad = g.clone()
        plain.step()
        m, s = 0.9 * m + 0.1 * g, 0.99 * s + 0.01 * g * g
        expected = expected - 0.1 * m / (s.sqrt() + 1e-8)
    assert torch.allclose(theta.detach(), expected, rtol=1e-12, atol=1e-14)
