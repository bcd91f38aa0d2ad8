"""Bad inputs to Part IV's analysis tools (``functions``, ``theory``, ``reference``), one row per mistake:
a short id that starts with the public name it calls, the call, the exception type, and a phrase the
message must contain, which names the argument. A last test checks that every public name of the three
modules has a row."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from trainwell import optim
from trainwell.optim import functions as fn
from trainwell.optim import reference as ref
from trainwell.optim import theory as th

NAN, INF = float("nan"), float("inf")
Q = fn.Quadratic.ill_conditioned(10.0)
R = fn.Rosenbrock()
S = [-1.2, 1.0]


def sgd(p):
    return optim.SGD(p, lr=0.01)


def grad_of(value):
    return lambda theta: value


CASES = [
    # ---- functions: the test functions -------------------------------------------------------------
    ("Objective-dim-zero", lambda: fn.Objective(0), ValueError, "Invalid dim: 0"),
    ("Objective-dim-float", lambda: fn.Objective(2.0), TypeError, "dim must be an integer"),
    ("Objective-minimum-without-value", lambda: fn.Objective(2, minimum=[0.0, 0.0]), ValueError,
     "minimum and minimum_value must be given together"),
    ("Objective-box-reversed", lambda: fn.Objective(1, box=[(1.0, -1.0)]), ValueError, "box must be 1 pairs"),
    ("Objective.value-abstract", lambda: fn.Objective(1).value(torch.zeros(1)), NotImplementedError, ""),
    ("Quadratic-H-not-square", lambda: fn.Quadratic(torch.ones(2, 3)), ValueError,
     "H must be a square matrix"),
    ("Quadratic-H-vector", lambda: fn.Quadratic([1.0, 2.0]), ValueError, "H must have 2 dimensions"),
    ("Quadratic-H-asymmetric", lambda: fn.Quadratic([[1.0, 0.5], [0.0, 1.0]]), ValueError,
     "H must be symmetric"),
    ("Quadratic-H-indefinite", lambda: fn.Quadratic([[1.0, 0.0], [0.0, -1.0]]), ValueError,
     "H must be positive semi-definite"),
    ("Quadratic-H-nan", lambda: fn.Quadratic([[NAN]]), ValueError, "H holds 1 non-finite value"),
    ("Quadratic-H-string", lambda: fn.Quadratic("eye"), TypeError, "H must be a tensor"),
    ("Quadratic-H-complex", lambda: fn.Quadratic(torch.eye(2, dtype=torch.complex64)), TypeError,
     "H must hold real numbers"),
    ("Quadratic-H-ragged", lambda: fn.Quadratic([[1.0], [1.0, 2.0]]), TypeError, "H must be a rectangular"),
    ("Quadratic-H-empty", lambda: fn.Quadratic(torch.zeros(0, 0)), ValueError, "H is empty"),
    ("Quadratic-center-length", lambda: fn.Quadratic(torch.eye(2), center=[1.0, 2.0, 3.0]), ValueError,
     "center must have 2 entries"),
    ("Quadratic.ill_conditioned-kappa-below-1", lambda: fn.Quadratic.ill_conditioned(0.5), ValueError,
     "Invalid kappa: 0.5"),
    ("Quadratic.ill_conditioned-kappa-inf", lambda: fn.Quadratic.ill_conditioned(INF), ValueError,
     "Invalid kappa: inf"),
    ("Quadratic.ill_conditioned-angle-string", lambda: fn.Quadratic.ill_conditioned(10.0, angle="45"),
     TypeError, "angle must be a real number"),
    ("Rosenbrock-b-zero", lambda: fn.Rosenbrock(b=0.0), ValueError, "Invalid b: 0.0"),
    ("Rosenbrock-a-nan", lambda: fn.Rosenbrock(a=NAN), ValueError, "Invalid a: nan"),
    ("Saddle-argument", lambda: fn.Saddle(1.0), TypeError, "positional argument"),
    ("value-list", lambda: Q.value([1.0, 2.0]), TypeError, "theta must be a torch.Tensor"),
    ("value-wrong-width", lambda: Q.value(torch.zeros(5, 3)), ValueError, "theta must have shape (..., 2)"),
    ("value-scalar", lambda: R.value(torch.tensor(1.0)), ValueError, "theta must have shape (..., 2)"),
    ("value-integer", lambda: R.value(torch.zeros(2, dtype=torch.long)), TypeError,
     "theta must be a floating-point tensor"),
    ("grad-nan", lambda: R.grad(torch.tensor([NAN, 0.0])), ValueError, "theta holds 1 non-finite value"),
    ("grid-points-one", lambda: R.grid(points=1), ValueError, "Invalid points: 1"),
    ("grid-box-reversed", lambda: R.grid(box=[(1.0, 0.0), (0.0, 1.0)]), ValueError, "box must be two pairs"),
    ("grid-not-2d", lambda: fn.Quadratic(torch.eye(3)).grid(), ValueError, "grid draws 2-D functions"),
    # ---- functions: trajectories and what is plotted from them --------------------------------------------
    ("trajectory-optimizer-object",
     lambda: fn.trajectory(optim.SGD([torch.zeros(1, requires_grad=True)]), Q, S, 3), TypeError,
     "make_optimizer must be callable"),
    ("trajectory-returns-not-optimizer", lambda: fn.trajectory(lambda p: p, Q, S, 3), TypeError,
     "make_optimizer must return a torch.optim.Optimizer"),
    ("trajectory-other-parameters",
     lambda: fn.trajectory(lambda p: optim.SGD([torch.zeros(2, requires_grad=True)]), Q, S, 3), ValueError,
     "make_optimizer must build the optimizer on the parameter list"),
    ("trajectory-function-callable", lambda: fn.trajectory(sgd, lambda t: t, S, 3), TypeError,
     "function must be a trainwell.optim test function"),
    ("trajectory-start-length", lambda: fn.trajectory(sgd, Q, [1.0, 2.0, 3.0], 3), ValueError,
     "start must have 2 entries"),
    ("trajectory-start-nan", lambda: fn.trajectory(sgd, Q, [NAN, 1.0], 3), ValueError,
     "start holds 1 non-finite value"),
    ("trajectory-start-matrix", lambda: fn.trajectory(sgd, Q, [[1.0, 2.0]], 3), ValueError,
     "start must have 1 dimension"),
    ("trajectory-steps-negative", lambda: fn.trajectory(sgd, Q, S, -1), ValueError, "Invalid steps: -1"),
    ("trajectory-steps-float", lambda: fn.trajectory(sgd, Q, S, 10.0), TypeError, "steps must be an integer"),
    ("trajectory-adjust-not-callable", lambda: fn.trajectory(sgd, Q, S, 3, adjust=0.5), TypeError,
     "adjust must be callable"),
    ("diverged_at-vector", lambda: fn.diverged_at(np.zeros(3)), ValueError, "path must have 2 dimensions"),
    ("diverged_at-string", lambda: fn.diverged_at("path"), TypeError, "path must be a tensor"),
    ("gradient_norms-width", lambda: fn.gradient_norms(Q, np.zeros((4, 3))), ValueError,
     "path must have 2 columns"),
    ("gradient_norms-function", lambda: fn.gradient_norms("rosenbrock", np.zeros((4, 2))), TypeError,
     "function must be a trainwell.optim test function"),
    ("suboptimality-saddle", lambda: fn.suboptimality(fn.Saddle(), np.zeros((4, 2))), ValueError,
     "function has no minimum"),
    ("suboptimality-empty", lambda: fn.suboptimality(Q, np.zeros((0, 2))), ValueError, "path is empty"),
    ("distances_to_minimum-saddle", lambda: fn.distances_to_minimum(fn.Saddle(), np.zeros((4, 2))),
     ValueError, "function has no minimum"),
    ("distances_to_minimum-list-of-strings", lambda: fn.distances_to_minimum(Q, [["a", "b"]]), TypeError,
     "path must hold real numbers"),
    # ---- theory: momentum on a quadratic -----------------------------------------------------------------
    ("momentum_matrix-lr-negative", lambda: th.momentum_matrix(-0.1, 0.9, 1.0), ValueError,
     "Invalid lr: -0.1"),
    ("momentum_matrix-gamma-one", lambda: th.momentum_matrix(0.1, 1.0, 1.0), ValueError,
     "Invalid gamma: 1.0"),
    ("momentum_matrix-lam-negative", lambda: th.momentum_matrix(0.1, 0.9, -1.0), ValueError,
     "Invalid lam: -1.0"),
    ("momentum_rate-lr-tensor", lambda: th.momentum_rate(torch.tensor(0.1), 0.9, 1.0), TypeError,
     "lr must be a real number"),
    ("momentum_rate-gamma-nan", lambda: th.momentum_rate(0.1, NAN, 1.0), ValueError, "Invalid gamma: nan"),
    ("momentum_rate_map-lrs-scalar", lambda: th.momentum_rate_map(0.1, [0.5], [1.0]), TypeError,
     "lrs must be a tensor"),
    ("momentum_rate_map-gammas-matrix", lambda: th.momentum_rate_map([0.1], [[0.5, 0.9]], [1.0]), ValueError,
     "gammas must have 1 dimension"),
    ("momentum_rate_map-gammas-above-one", lambda: th.momentum_rate_map([0.1], [0.5, 1.2], [1.0]), ValueError,
     "Invalid gammas: 1.2"),
    ("momentum_rate_map-lams-negative", lambda: th.momentum_rate_map([0.1], [0.5], [1.0, -2.0]), ValueError,
     "Invalid lams: -2.0"),
    ("momentum_rate_map-lrs-empty", lambda: th.momentum_rate_map([], [0.5], [1.0]), ValueError,
     "lrs is empty"),
    ("momentum_rate_map-lrs-inf", lambda: th.momentum_rate_map([INF], [0.5], [1.0]), ValueError,
     "lrs holds 1 non-finite value"),
    ("MomentumOptimum-missing-rate", lambda: th.MomentumOptimum(0.1, 0.5), TypeError, "'rate'"),
    ("momentum_optimum-lam_min-zero", lambda: th.momentum_optimum(0.0, 10.0), ValueError,
     "Invalid lam_min: 0.0"),
    ("momentum_optimum-reversed", lambda: th.momentum_optimum(10.0, 1.0), ValueError,
     "lam_max must be >= lam_min"),
    ("momentum_optimum-lam_max-string", lambda: th.momentum_optimum(1.0, "100"), TypeError,
     "lam_max must be a real number"),
    ("momentum_effective_step-gamma-one", lambda: th.momentum_effective_step(0.1, 1.0), ValueError,
     "Invalid gamma: 1.0"),
    ("momentum_effective_step-lr-none", lambda: th.momentum_effective_step(None, 0.9), TypeError,
     "lr must be a real number"),
    # ---- theory: the survey's forms and PyTorch's ---------------------------------------------------------
    ("survey_to_sgd-nesterov-string", lambda: th.survey_to_sgd(0.1, 0.9, nesterov="yes"), TypeError,
     "nesterov must be True or False"),
    ("survey_to_sgd-nesterov-without-gamma", lambda: th.survey_to_sgd(0.1, 0.0, nesterov=True), ValueError,
     "Nesterov momentum needs gamma > 0"),
    ("sgd_to_survey-dampening", lambda: th.sgd_to_survey(0.1, 0.9, 0.1), ValueError,
     "Invalid dampening: 0.1"),
    ("sgd_to_survey-lr-negative", lambda: th.sgd_to_survey(-0.1, 0.9), ValueError, "Invalid lr: -0.1"),
    ("sgd_to_survey-momentum-above-one", lambda: th.sgd_to_survey(0.1, 1.5), ValueError,
     "Invalid momentum: 1.5"),
    ("survey_momentum_run-grad-number", lambda: th.survey_momentum_run(3.0, S, 5, lr=0.1, gamma=0.9),
     TypeError, "grad must be callable"),
    ("survey_momentum_run-grad-returns-list",
     lambda: th.survey_momentum_run(grad_of([1.0, 2.0]), S, 5, lr=0.1, gamma=0.9), TypeError,
     "grad must return a real tensor of shape (2,)"),
    ("survey_momentum_run-grad-broadcasts",
     lambda: th.survey_momentum_run(grad_of(torch.ones(1)), S, 5, lr=0.1, gamma=0.9), ValueError,
     "grad must return a tensor of shape (2,)"),
    ("survey_momentum_run-objective-dim", lambda: th.survey_momentum_run(Q, [1.0, 2.0, 3.0], 5, lr=0.1,
                                                                         gamma=0.9), ValueError,
     "grad is a 2-dimensional Quadratic but start has 3 entries"),
    ("survey_momentum_run-gamma-negative", lambda: th.survey_momentum_run(Q, S, 5, lr=0.1, gamma=-0.5),
     ValueError, "Invalid gamma: -0.5"),
    ("survey_momentum_run-lr-missing", lambda: th.survey_momentum_run(Q, S, 5, gamma=0.9), TypeError,
     "'lr'"),
    ("nesterov_lookahead_run-steps-string",
     lambda: th.nesterov_lookahead_run(Q, S, "5", lr=0.1, gamma=0.9), TypeError,
     "steps must be an integer"),
    ("nesterov_lookahead_run-start-empty", lambda: th.nesterov_lookahead_run(Q, [], 5, lr=0.1, gamma=0.9),
     ValueError, "start is empty"),
    ("lookahead_to_pytorch-vector", lambda: th.lookahead_to_pytorch(torch.zeros(5), 0.9), ValueError,
     "thetas must have 2 dimensions"),
    ("lookahead_to_pytorch-gamma-one", lambda: th.lookahead_to_pytorch(torch.zeros(5, 2), 1.0), ValueError,
     "Invalid gamma: 1.0"),
    ("pytorch_to_lookahead-string", lambda: th.pytorch_to_lookahead("path", 0.9), TypeError,
     "iterates must be a tensor"),
    ("pytorch_to_lookahead-complex", lambda: th.pytorch_to_lookahead(torch.zeros(3, 2, dtype=torch.complex64),
                                                                     0.9), TypeError,
     "iterates must hold real numbers"),
    # ---- theory: Adam's bias, NAdam's schedule -----------------------------------------------------------
    ("EmaBias-missing-stderr", lambda: th.EmaBias(torch.zeros(1), torch.zeros(1)), TypeError, "'stderr'"),
    ("ema_bias_simulation-beta-one", lambda: th.ema_bias_simulation(1.0, 10, 100, 0), ValueError,
     "Invalid beta: 1.0"),
    ("ema_bias_simulation-n_runs-one", lambda: th.ema_bias_simulation(0.9, 10, 1, 0), ValueError,
     "Invalid n_runs: 1"),
    ("ema_bias_simulation-steps-zero", lambda: th.ema_bias_simulation(0.9, 0, 100, 0), ValueError,
     "Invalid steps: 0"),
    ("ema_bias_simulation-seed-generator", lambda: th.ema_bias_simulation(0.9, 10, 100, torch.Generator()),
     TypeError, "seed must be an integer"),
    ("ema_bias_simulation-std-negative", lambda: th.ema_bias_simulation(0.9, 10, 100, 0, std=-1.0),
     ValueError, "Invalid std: -1.0"),
    ("nadam_momentum-t-zero", lambda: th.nadam_momentum(0.9, 0), ValueError, "Invalid t: 0"),
    ("nadam_momentum-beta1-one", lambda: th.nadam_momentum(1.0, 5), ValueError, "Invalid beta1: 1.0"),
    ("nadam_momentum-psi-negative", lambda: th.nadam_momentum(0.9, 5, -4e-3), ValueError,
     "Invalid psi: -0.004"),
    ("nadam_momentum_product-t-float", lambda: th.nadam_momentum_product(0.9, 2.5), TypeError,
     "t must be an integer"),
    ("nadam_momentum_product-t-negative", lambda: th.nadam_momentum_product(0.9, -1), ValueError,
     "Invalid t: -1"),
    # ---- reference: the papers' forms ----------------------------------------------------------------------
    ("AdamWithoutCorrection-lr-negative",
     lambda: ref.AdamWithoutCorrection([torch.zeros(1, requires_grad=True)], lr=-1.0), ValueError,
     "Invalid lr: -1.0"),
    ("AdamWithoutCorrection-betas-three",
     lambda: ref.AdamWithoutCorrection([torch.zeros(1, requires_grad=True)], betas=(0.9, 0.9, 0.9)),
     ValueError, "betas must be a pair"),
    ("Quadratic.spread_spectrum-dim-one", lambda: fn.Quadratic.spread_spectrum(1), ValueError,
     "Invalid dim: 1"),
    ("adagrad_paper-lr-negative", lambda: ref.adagrad_paper(R, S, 5, lr=-0.1), ValueError,
     "Invalid lr: -0.1"),
    ("adagrad_paper-eps_inside-string", lambda: ref.adagrad_paper(R, S, 5, eps_inside="yes"), TypeError,
     "eps_inside must be True or False"),
    ("adagrad_paper-grad-none", lambda: ref.adagrad_paper(None, S, 5), TypeError, "grad must be callable"),
    ("rmsprop_paper-alpha-above-one", lambda: ref.rmsprop_paper(R, S, 5, alpha=1.5), ValueError,
     "Invalid alpha: 1.5"),
    ("rmsprop_paper-eps-nan", lambda: ref.rmsprop_paper(R, S, 5, eps=NAN), ValueError, "Invalid eps: nan"),
    ("adadelta_paper-rho-negative", lambda: ref.adadelta_paper(R, S, 5, rho=-0.1), ValueError,
     "Invalid rho: -0.1"),
    ("adadelta_paper-lr-keyword", lambda: ref.adadelta_paper(R, S, 5, lr=1.0), TypeError, "'lr'"),
    ("adam_paper-betas-one-value", lambda: ref.adam_paper(R, S, 5, betas=(0.9,)), ValueError,
     "betas must be a pair"),
    ("adam_paper-beta2-one", lambda: ref.adam_paper(R, S, 5, betas=(0.9, 1.0)), ValueError,
     "Invalid beta parameter at index 1: 1.0"),
    ("adam_paper-bias_correction-int", lambda: ref.adam_paper(R, S, 5, bias_correction=0), TypeError,
     "bias_correction must be True or False"),
    ("adam_paper-start-bool", lambda: ref.adam_paper(R, torch.tensor([True, False]), 5), TypeError,
     "start must hold real numbers"),
    ("adam_paper_fast-eps_hat-negative", lambda: ref.adam_paper_fast(R, S, 5, eps_hat=-1e-8), ValueError,
     "Invalid eps_hat: -1e-08"),
    ("adam_paper_fast-eps_hat-none", lambda: ref.adam_paper_fast(R, S, 5, eps_hat=None), TypeError,
     "eps_hat must be a real number"),
    ("adam_paper_fast-eps_hat-returns-string", lambda: ref.adam_paper_fast(R, S, 5, eps_hat=lambda t: "tiny"),
     TypeError, "eps_hat must return a real number for each step t"),
    ("adam_paper_fast-eps_hat-returns-negative", lambda: ref.adam_paper_fast(R, S, 5, eps_hat=lambda t: -t),
     ValueError, "Invalid eps_hat(1): -1"),
    ("adamw_paper-weight_decay-missing", lambda: ref.adamw_paper(R, S, 5), TypeError, "'weight_decay'"),
    ("adamw_paper-weight_decay-negative", lambda: ref.adamw_paper(R, S, 5, weight_decay=-0.01), ValueError,
     "Invalid weight_decay: -0.01"),
    ("adamw_paper-schedule-string", lambda: ref.adamw_paper(R, S, 5, weight_decay=0.1, schedule="cosine"),
     TypeError, "schedule must be a real number"),
    ("adamw_paper-schedule-returns-nan",
     lambda: ref.adamw_paper(R, S, 5, weight_decay=0.1, schedule=lambda t: math.nan), ValueError,
     "Invalid schedule(1): nan"),
    ("nadam_paper-momentum_decay-negative", lambda: ref.nadam_paper(R, S, 5, momentum_decay=-1e-3),
     ValueError, "Invalid momentum_decay: -0.001"),
    ("nadam_paper-scheduled_average-none", lambda: ref.nadam_paper(R, S, 5, scheduled_average=None),
     TypeError, "scheduled_average must be True or False"),
    ("nadam_paper-betas-string", lambda: ref.nadam_paper(R, S, 5, betas="0.9, 0.999"), TypeError,
     "betas must be a pair"),
]


@pytest.mark.parametrize("call, error, phrase", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input(call, error, phrase):
    with pytest.raises(error) as info:
        call()
    assert phrase in str(info.value), f"message {str(info.value)!r} lacks {phrase!r}"


def test_every_public_name_has_a_row_and_the_table_is_long():
    ids = [case[0] for case in CASES]
    assert len(ids) >= 40 and len(set(ids)) == len(ids)
    names = fn.__all__ + th.__all__ + ref.__all__
    missing = [n for n in names if not any(i.startswith((n + "-", n + ".")) for i in ids)]
    assert not missing, f"no bad-input row for {missing}"
    methods = ["value", "grad", "grid", "Quadratic.ill_conditioned"]
    assert all(any(i.startswith(m + "-") for i in ids) for m in methods)


def test_the_analysis_names_are_exported_by_trainwell_optim():
    for module in (fn, th, ref):
        for name in module.__all__:
            assert getattr(optim, name) is getattr(module, name)
            assert name in optim.__all__
