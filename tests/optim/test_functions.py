"""Part IV's test functions and trajectories: every closed-form gradient against autograd on batches of
points, minima where the functions say they are, contour grids equal to pointwise values, trajectories
equal to a hand-written loop of the same optimizer (bit for bit) and to the closed form of gradient
descent on a quadratic, divergence marked by NaN padding, and the plotting helpers against direct
per-row computation."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from trainwell import optim
from trainwell.optim import functions as fn

F64 = torch.float64


def _random_psd(d: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    A = torch.randn(d, d, generator=gen, dtype=F64)
    return A @ A.T / d + 0.1 * torch.eye(d, dtype=F64)


def _functions():
    gen = torch.Generator().manual_seed(3)
    return [
        fn.Quadratic(_random_psd(5, 0), torch.randn(5, generator=gen, dtype=F64)),
        fn.Quadratic.ill_conditioned(25.0, angle=0.4, center=[0.5, -0.25]),
        fn.Rosenbrock(),
        fn.Rosenbrock(a=-0.5, b=3.0),
        fn.Saddle(),
    ]


FUNCTIONS = _functions()
IDS = [repr(f) for f in FUNCTIONS]


@pytest.mark.parametrize("function", FUNCTIONS, ids=IDS)
def test_the_closed_form_gradient_is_autograd_of_the_value_on_a_batch(function):
    gen = torch.Generator().manual_seed(1)
    theta = (2 * torch.randn(4, 3, function.dim, generator=gen, dtype=F64)).requires_grad_(True)
    value = function.value(theta)
    assert value.shape == (4, 3) and value.dtype == F64
    (auto,) = torch.autograd.grad(value.sum(), theta)
    torch.testing.assert_close(function.grad(theta.detach()), auto, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("function", FUNCTIONS, ids=IDS)
def test_batched_evaluation_equals_one_point_at_a_time(function):
    gen = torch.Generator().manual_seed(2)
    theta = torch.randn(6, function.dim, generator=gen, dtype=F64)
    values = function.value(theta)
    grads = function.grad(theta)
    for i in range(6):
        assert function.value(theta[i]).item() == pytest.approx(values[i].item(), rel=1e-14, abs=1e-14)
        torch.testing.assert_close(function.grad(theta[i]), grads[i], rtol=1e-14, atol=1e-14)


def test_float32_points_are_evaluated_in_float64():
    q = fn.Quadratic.ill_conditioned(4.0)
    assert q.value(torch.ones(2)).dtype == F64 and q.grad(torch.ones(3, 2)).dtype == F64


@pytest.mark.parametrize("function", [f for f in FUNCTIONS if f.minimum is not None],
                         ids=[i for i, f in zip(IDS, FUNCTIONS, strict=True) if f.minimum is not None])
def test_the_minimum_is_a_stationary_point_with_the_stated_value_and_below_its_neighbours(function):
    x = function.minimum
    assert function.value(x).item() == pytest.approx(function.minimum_value, abs=1e-14)
    assert torch.linalg.vector_norm(function.grad(x)).item() < 1e-12
    gen = torch.Generator().manual_seed(4)
    around = x + 0.1 * torch.randn(200, function.dim, generator=gen, dtype=F64)
    assert bool((function.value(around) >= function.minimum_value).all())


def test_the_saddle_is_stationary_and_rises_along_x_and_falls_along_y():
    s = fn.Saddle()
    assert s.minimum is None and s.minimum_value is None
    assert torch.count_nonzero(s.grad(torch.zeros(2, dtype=F64))) == 0
    t = torch.linspace(-1, 1, 11, dtype=F64)
    zero = torch.zeros_like(t)
    assert bool((s.value(torch.stack([t, zero], -1)) >= 0).all())
    assert bool((s.value(torch.stack([zero, t], -1)) <= 0).all())


def test_ill_conditioned_has_eigenvalues_1_and_kappa_and_turns_its_steep_axis_by_angle():
    kappa, angle = 50.0, 0.3
    q = fn.Quadratic.ill_conditioned(kappa, angle=angle)
    torch.testing.assert_close(q.eigenvalues, torch.tensor([1.0, kappa], dtype=F64), rtol=1e-12, atol=1e-12)
    assert q.condition_number == pytest.approx(kappa, rel=1e-12)
    steep = torch.tensor([-math.sin(angle), math.cos(angle)], dtype=F64)  # the y-axis turned by angle
    torch.testing.assert_close(q.H @ steep, kappa * steep, rtol=1e-12, atol=1e-12)
    axis_aligned = fn.Quadratic.ill_conditioned(kappa)
    torch.testing.assert_close(axis_aligned.H, torch.diag(torch.tensor([1.0, kappa], dtype=F64)))


def test_a_singular_quadratic_has_infinite_condition_number_and_its_center_is_a_minimizer():
    q = fn.Quadratic([[1.0, 0.0], [0.0, 0.0]], center=[1.0, 2.0])
    assert q.condition_number == math.inf
    assert q.value(torch.tensor([1.0, 7.0], dtype=F64)).item() == 0.0  # the whole line x = 1 is minimal


def test_grid_evaluates_the_function_on_every_point_of_the_box():
    r = fn.Rosenbrock()
    X, Y, Z = r.grid(points=7)
    assert X.shape == Y.shape == Z.shape == (7, 7)
    assert (X.min(), X.max(), Y.min(), Y.max()) == (*r.box[0], *r.box[1])
    direct = r.value(torch.tensor(np.stack([X, Y], -1)))
    np.testing.assert_array_equal(Z, direct.numpy())
    X2, Y2, _ = r.grid(points=3, box=[(0.0, 1.0), (2.0, 4.0)])
    np.testing.assert_array_equal(X2[0], [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(Y2[:, 0], [2.0, 3.0, 4.0])


# ---- trajectories --------------------------------------------------------------------------------------

MAKERS = {
    "SGD": lambda p: optim.SGD(p, lr=1e-3),
    "SGD-momentum": lambda p: optim.SGD(p, lr=1e-3, momentum=0.9),
    "SGD-nesterov": lambda p: optim.SGD(p, lr=1e-3, momentum=0.9, nesterov=True),
    "Adagrad": lambda p: optim.Adagrad(p, lr=0.1),
    "Adadelta": lambda p: optim.Adadelta(p),
    "RMSprop": lambda p: optim.RMSprop(p, lr=1e-2, centered=True),
    "Adam": lambda p: optim.Adam(p, lr=1e-2),
    "AdamW": lambda p: optim.AdamW(p, lr=1e-2, weight_decay=0.1),
    "NAdam": lambda p: optim.NAdam(p, lr=1e-2),
    "torch-Adam": lambda p: torch.optim.Adam(p, lr=1e-2, amsgrad=True),
}


def _hand_loop(make, function, start, steps):
    theta = torch.nn.Parameter(torch.tensor(start, dtype=F64))
    opt = make([theta])
    rows = [theta.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        theta.grad = function.grad(theta.detach())
        opt.step()
        rows.append(theta.detach().clone())
    return torch.stack(rows).numpy()


@pytest.mark.parametrize("name", list(MAKERS))
def test_a_trajectory_is_the_hand_written_loop_of_the_same_optimizer_bit_for_bit(name):
    r, start = fn.Rosenbrock(), [-1.2, 1.0]
    path = fn.trajectory(MAKERS[name], r, start, 60)
    assert path.shape == (61, 2) and path.dtype == np.float64
    np.testing.assert_array_equal(path, _hand_loop(MAKERS[name], r, start, 60))
    assert fn.diverged_at(path) is None and np.any(path[-1] != path[0])


def test_gradient_descent_on_a_quadratic_follows_its_closed_form():
    q = fn.Quadratic(_random_psd(4, 5), center=[1.0, -1.0, 0.5, 2.0])
    alpha, steps, start = 0.3, 40, torch.tensor([0.0, 0.5, -1.0, 1.0], dtype=F64)
    path = fn.trajectory(lambda p: optim.SGD(p, lr=alpha), q, start, steps)
    step = torch.eye(4, dtype=F64) - alpha * q.H                  # θ_k − c = (I − αH)ᵏ (θ₀ − c)
    closed = torch.stack([q.center + torch.linalg.matrix_power(step, k) @ (start - q.center)
                          for k in range(steps + 1)])
    np.testing.assert_allclose(path, closed.numpy(), rtol=0, atol=1e-12)


def test_closures_that_reevaluate_work_lbfgs():
    q = fn.Quadratic(_random_psd(3, 6))
    path = fn.trajectory(lambda p: torch.optim.LBFGS(p, lr=1, max_iter=20, tolerance_grad=1e-13,
                                                             tolerance_change=0.0), q, [1.0, -2.0, 0.5], 3)
    assert np.linalg.norm(path[-1]) < 1e-8  # L-BFGS solves a 3-D quadratic in a few iterations


def test_adjust_changes_hyperparameters_before_each_step_as_a_hand_loop_would():
    q, start = fn.Quadratic.ill_conditioned(10.0), [1.5, 1.0]

    def schedule(t, opt):  # the survey's momentum schedule: 0.5 at first, 0.9 from step 20 on
        opt.param_groups[0]["momentum"] = 0.5 if t < 20 else 0.9

    path = fn.trajectory(lambda p: optim.SGD(p, lr=0.02, momentum=0.5), q, start, 50, adjust=schedule)
    theta = torch.nn.Parameter(torch.tensor(start, dtype=F64))
    opt = optim.SGD([theta], lr=0.02, momentum=0.5)
    rows = [theta.detach().clone()]
    for t in range(1, 51):
        schedule(t, opt)
        theta.grad = q.grad(theta.detach())
        opt.step()
        rows.append(theta.detach().clone())
    np.testing.assert_array_equal(path, torch.stack(rows).numpy())
    constant = fn.trajectory(lambda p: optim.SGD(p, lr=0.02, momentum=0.5), q, start, 50)
    assert np.array_equal(path[:20], constant[:20]) and not np.array_equal(path[20:], constant[20:])


def test_divergence_stops_the_run_and_pads_with_nan():
    q = fn.Quadratic.ill_conditioned(10.0)
    alpha = 2.5 / 10.0  # beyond 2 / λ_max: the steep coordinate grows by |1 − 10 α| = 1.5 per step
    path = fn.trajectory(lambda p: optim.SGD(p, lr=alpha), q, [1.0, 1.0], 2000)
    k = fn.diverged_at(path)
    assert k is not None and 0 < k < 2000 and path.shape == (2001, 2)
    assert np.isfinite(path[:k]).all() and np.isnan(path[k:]).all()
    # the finite part is the exact gradient-descent path: (1 − α)ᵏ and (1 − 10α)ᵏ
    ks = np.arange(k)
    np.testing.assert_allclose(path[:k, 1], (1 - 10 * alpha) ** ks, rtol=1e-12)
    assert abs(path[k - 1, 1]) > 1e300  # it stopped because the iterates overflowed, not before


def test_diverged_at_reads_tensors_and_arrays():
    assert fn.diverged_at(np.zeros((3, 2))) is None
    t = torch.zeros(4, 2)
    t[2, 1] = math.inf
    assert fn.diverged_at(t) == 2


def test_the_plotting_helpers_equal_direct_per_row_computation_and_keep_nan_rows():
    r = fn.Rosenbrock()
    path = fn.trajectory(lambda p: optim.Adam(p, lr=0.05), r, [-1.2, 1.0], 30)
    path[25:] = np.nan
    norms = fn.gradient_norms(r, path)
    sub = fn.suboptimality(r, path)
    dist = fn.distances_to_minimum(r, path)
    for k in range(25):
        row = torch.tensor(path[k])
        assert norms[k] == pytest.approx(torch.linalg.vector_norm(r.grad(row)).item(), rel=1e-14)
        assert sub[k] == pytest.approx(r.value(row).item() - 0.0, rel=1e-14)
        assert dist[k] == pytest.approx(math.hypot(path[k, 0] - 1.0, path[k, 1] - 1.0), rel=1e-14)
    for series in (norms, sub, dist):
        assert series.shape == (31,) and np.isnan(series[25:]).all()


def test_the_saddle_has_gradient_norms_but_no_suboptimality():
    s = fn.Saddle()
    path = fn.trajectory(lambda p: optim.SGD(p, lr=0.1), s, [1.0, 1e-3], 10)
    assert np.all(np.diff(np.abs(path[:, 1])) > 0)  # the offset in y grows like (1 + α)ᵏ
    np.testing.assert_allclose(path[:, 1], 1e-3 * 1.1 ** np.arange(11), rtol=1e-12)
    assert fn.gradient_norms(s, path).shape == (11,)
    with pytest.raises(ValueError, match="function has no minimum"):
        fn.suboptimality(s, path)
