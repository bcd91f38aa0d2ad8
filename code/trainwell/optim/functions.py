"""Test functions for optimizers and the trajectories the real optimizers take on them, for
section `part-optimization`: an n-dimensional quadratic f(θ) = ½ (θ − c)ᵀ H (θ − c), Rosenbrock's
valley and a saddle, each evaluated in float64 and batched over leading dimensions, so that a whole
contour grid is one call.

A trajectory is driven by any ``torch.optim.Optimizer`` (the chapter uses ``trainwell.optim``'s), so a
figure shows the steps the optimizer really takes. Divergence is marked by NaN padding: a path always
has ``steps + 1`` rows, and every row from the first non-finite iterate on is NaN (see
:func:`diverged_at`). The runs of :mod:`~trainwell.optim.theory` and :mod:`~trainwell.optim.reference`
follow the same convention.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from .._validate import check_float, check_int

F64 = torch.float64


# ---------------------------------------------------------------------------------------------------
# Shared argument handling (also used by theory.py and reference.py).

def _as_float64(name: str, value, ndim: int, *, finite: bool = True) -> torch.Tensor:
    """``value`` (a real tensor, NumPy array, or nested list of numbers) as a new float64 tensor of
    exactly ``ndim`` dimensions, non-empty and, when ``finite``, without NaN or infinity."""
    if isinstance(value, torch.Tensor):
        if value.is_complex() or value.dtype == torch.bool:
            raise TypeError(f"{name} must hold real numbers, got a tensor of dtype {value.dtype}")
        t = value.detach().to("cpu", F64).clone()
    elif isinstance(value, (np.ndarray, list, tuple)):
        try:
            arr = np.asarray(value)
        except ValueError as err:  # ragged nested lists
            raise TypeError(f"{name} must be a rectangular array of real numbers, got {value!r}") from err
        real = np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
        if arr.dtype == bool or not real:
            raise TypeError(f"{name} must hold real numbers, got {value!r} (dtype {arr.dtype})")
        t = torch.tensor(arr, dtype=F64)
    else:
        raise TypeError(f"{name} must be a tensor, a NumPy array or a list of real numbers, got "
                        f"{type(value).__name__}")
    if t.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension{'s' * (ndim != 1)}, got shape {tuple(t.shape)}")
    if t.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(t.shape)})")
    if finite and not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} holds {int((~torch.isfinite(t)).sum())} non-finite value(s) (NaN or inf)")
    return t


def _vector(name: str, value, dim: int | None = None) -> torch.Tensor:
    """A finite float64 vector, of length ``dim`` when given (nothing is broadcast)."""
    v = _as_float64(name, value, 1)
    if dim is not None and v.shape[0] != dim:
        raise ValueError(f"{name} must have {dim} entries (one per coordinate), got {v.shape[0]}")
    return v


def _path(name: str, value, dim: int) -> torch.Tensor:
    """A path of iterates, (n, dim); NaN rows (divergence) are allowed."""
    p = _as_float64(name, value, 2, finite=False)
    if p.shape[1] != dim:
        raise ValueError(f"{name} must have {dim} columns (one per coordinate), got shape {tuple(p.shape)}")
    return p


def _callable(name: str, value) -> Callable:
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {value!r} ({type(value).__name__})")
    return value


def _gradient_function(grad, dim: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """``grad`` (an :class:`Objective` or a function θ ↦ ∇f(θ)) as a function of a float64 (dim,)
    tensor whose result is checked: a real tensor of shape (dim,), returned as float64."""
    if isinstance(grad, Objective):
        if grad.dim != dim:
            raise ValueError(f"grad is a {grad.dim}-dimensional {type(grad).__name__} but start has {dim} "
                             "entries")
        return grad._grad
    _callable("grad", grad)

    def checked(theta: torch.Tensor) -> torch.Tensor:
        g = grad(theta.clone())
        if not isinstance(g, torch.Tensor) or g.is_complex() or g.dtype == torch.bool:
            raise TypeError(f"grad must return a real tensor of shape ({dim},), got {type(g).__name__}"
                            + (f" of dtype {g.dtype}" if isinstance(g, torch.Tensor) else ""))
        if g.shape != (dim,):
            raise ValueError(f"grad must return a tensor of shape ({dim},) (one entry per coordinate), got "
                             f"shape {tuple(g.shape)} (nothing is broadcast)")
        return g.detach().to(F64)

    return checked


class _Path:
    """Rows θ₀, θ₁, …, θ_steps of a run; a non-finite iterate ends the run and its row and every later
    one stay NaN."""

    def __init__(self, start: torch.Tensor, steps: int):
        self.rows = torch.full((steps + 1, start.shape[0]), math.nan, dtype=F64)
        self.rows[0] = start

    def record(self, t: int, theta: torch.Tensor) -> bool:
        if not bool(torch.isfinite(theta).all()):
            return False
        self.rows[t] = theta
        return True


def _run_arguments(grad, start, steps) -> tuple[Callable, torch.Tensor, _Path]:
    """The validated (gradient function, θ₀, path) of a run of ``steps`` steps from ``start``."""
    steps = check_int("steps", steps, minimum=0)
    theta = _vector("start", start)
    f = _gradient_function(grad, theta.shape[0])
    return f, theta, _Path(theta, steps)


# ---------------------------------------------------------------------------------------------------
# The test functions.

class Objective:
    """A function f: Rᵈ → R with its gradient, evaluated in float64 and batched: ``value`` maps
    (..., d) to (...), ``grad`` maps (..., d) to (..., d).

    ``minimum`` is a minimizer θ* (None when f is unbounded below), ``minimum_value`` f(θ*), and
    ``box`` one (low, high) pair per coordinate, the region a figure shows. A new test function
    subclasses this and defines ``_value`` and ``_grad`` on float64 tensors of shape (..., d)."""

    def __init__(self, dim: int, *, minimum=None, minimum_value: float | None = None, box=None):
        self.dim = check_int("dim", dim, minimum=1)
        self.minimum = None if minimum is None else _vector("minimum", minimum, self.dim)
        self.minimum_value = None if minimum_value is None else check_float("minimum_value", minimum_value)
        if (self.minimum is None) != (self.minimum_value is None):
            raise ValueError("minimum and minimum_value must be given together (or both be None)")
        if box is None:
            box = [(-2.0, 2.0)] * self.dim
        b = _as_float64("box", box, 2)
        if b.shape != (self.dim, 2) or not bool((b[:, 0] < b[:, 1]).all()):
            raise ValueError(f"box must be {self.dim} pairs (low, high) with low < high, got {box!r}")
        self.box = tuple((float(lo), float(hi)) for lo, hi in b.tolist())

    def _value(self, theta: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _grad(self, theta: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _points(self, theta) -> torch.Tensor:
        if not isinstance(theta, torch.Tensor):
            raise TypeError(f"theta must be a torch.Tensor of shape (..., {self.dim}), got "
                            f"{type(theta).__name__}")
        if not theta.is_floating_point():
            raise TypeError(f"theta must be a floating-point tensor, got dtype {theta.dtype}")
        if theta.ndim == 0 or theta.shape[-1] != self.dim:
            raise ValueError(f"theta must have shape (..., {self.dim}) (last dimension = the {self.dim} "
                             f"coordinates), got {tuple(theta.shape)}")
        if not bool(torch.isfinite(theta).all()):
            raise ValueError(f"theta holds {int((~torch.isfinite(theta)).sum())} non-finite value(s) "
                             "(NaN or inf)")
        return theta.to(F64)

    def value(self, theta: torch.Tensor) -> torch.Tensor:
        """f(θ) in float64 for θ of shape (..., d); differentiable by autograd."""
        return self._value(self._points(theta))

    def grad(self, theta: torch.Tensor) -> torch.Tensor:
        """∇f(θ) in float64 for θ of shape (..., d), by its closed form."""
        return self._grad(self._points(theta))

    def grid(self, points: int = 101, box=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(X, Y, Z) for a contour plot of a 2-D function: X, Y from ``np.meshgrid`` over ``box``
        (default: the function's own), Z = f on every point, all (points, points) NumPy arrays."""
        if self.dim != 2:
            raise ValueError(f"grid draws 2-D functions; this {type(self).__name__} has dim = {self.dim}")
        points = check_int("points", points, minimum=2)
        b = self.box if box is None else _as_float64("box", box, 2)
        b = torch.as_tensor(b, dtype=F64)
        if b.shape != (2, 2) or not bool((b[:, 0] < b[:, 1]).all()):
            raise ValueError(f"box must be two pairs (low, high) with low < high, got {box!r}")
        xs = torch.linspace(float(b[0, 0]), float(b[0, 1]), points, dtype=F64)
        ys = torch.linspace(float(b[1, 0]), float(b[1, 1]), points, dtype=F64)
        X, Y = torch.meshgrid(xs, ys, indexing="xy")
        Z = self._value(torch.stack([X, Y], dim=-1))
        return X.numpy(), Y.numpy(), Z.numpy()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim})"


class Quadratic(Objective):
    r"""f(θ) = ½ (θ − c)ᵀ H (θ − c), ∇f(θ) = H (θ − c), for a symmetric positive semi-definite H
    (d × d) and a center c (default 0). The center is a minimizer (the only one when H is positive
    definite) and f there is 0. Along each eigenvector of H, with eigenvalue λ, gradient descent with
    momentum is the one-dimensional problem of :func:`~trainwell.optim.theory.momentum_matrix`.

    ``H`` and ``center`` may be tensors, NumPy arrays or lists; symmetry and semi-definiteness are
    checked to a relative 1e-12."""

    def __init__(self, H, center=None):
        H = _as_float64("H", H, 2)
        if H.shape[0] != H.shape[1]:
            raise ValueError(f"H must be a square matrix, got shape {tuple(H.shape)}")
        d = H.shape[0]
        scale = float(H.abs().max())
        if float((H - H.T).abs().max()) > 1e-12 * scale:
            raise ValueError("H must be symmetric: the largest |H - H^T| is "
                             f"{float((H - H.T).abs().max()):.3g}")
        eig = torch.linalg.eigvalsh(H)
        if float(eig[0]) < -1e-12 * max(scale, 1e-300):
            raise ValueError("H must be positive semi-definite, its smallest eigenvalue is "
                             f"{float(eig[0]):.6g}")
        c = torch.zeros(d, dtype=F64) if center is None else _vector("center", center, d)
        box = [(float(ci) - 2.0, float(ci) + 2.0) for ci in c]
        super().__init__(d, minimum=c, minimum_value=0.0, box=box)
        self.H, self.center = H, c
        self.eigenvalues = eig.clamp(min=0.0)

    @classmethod
    def ill_conditioned(cls, kappa: float, *, angle: float = 0.0, center=None) -> Quadratic:
        """The 2-D quadratic with eigenvalues 1 and κ (condition number κ), its steep axis turned by
        ``angle`` radians from the y-axis: H = R diag(1, κ) Rᵀ. With angle 0 the valley lies along
        the coordinate axes, where per-coordinate methods (Adagrad, RMSprop, Adam) rescale it away."""
        kappa = check_float("kappa", kappa, minimum=1.0)
        angle = check_float("angle", angle)
        c, s = math.cos(angle), math.sin(angle)
        R = torch.tensor([[c, -s], [s, c]], dtype=F64)
        H = R @ torch.diag(torch.tensor([1.0, kappa], dtype=F64)) @ R.T
        return cls((H + H.T) / 2, center)

    @classmethod
    def spread_spectrum(cls, dim: int, *, lam_max: float = 1.0) -> Quadratic:
        """A quadratic on which gradient descent shows its worst-case order 1/k: eigenvalues λᵢ = λ_max·i/d
        for i = 1..d, spread evenly down towards zero, and a minimizer whose coordinates are 1/√λᵢ, so
        that every eigen-direction carries the same share λᵢcᵢ² = 1 of the starting loss. For k much
        smaller than d/(η λ_max) the loss after k gradient steps is about d/(4ηk) (section
        `opt-nesterov`)."""
        dim = check_int("dim", dim, minimum=2)
        lam_max = check_float("lam_max", lam_max, minimum=0.0, min_inclusive=False)
        lam = torch.arange(1, dim + 1, dtype=F64) * (lam_max / dim)
        return cls(torch.diag(lam), lam.rsqrt())

    @property
    def condition_number(self) -> float:
        """λ_max / λ_min (infinity when H is singular)."""
        lo, hi = float(self.eigenvalues[0]), float(self.eigenvalues[-1])
        return math.inf if lo == 0.0 else hi / lo

    def _value(self, theta):
        d = theta - self.center
        return 0.5 * ((d @ self.H) * d).sum(-1)

    def _grad(self, theta):
        return (theta - self.center) @ self.H  # H is symmetric

    def __repr__(self) -> str:
        return f"Quadratic(dim={self.dim}, eigenvalues={[round(float(e), 6) for e in self.eigenvalues]})"


class Rosenbrock(Objective):
    r"""Rosenbrock's valley f(x, y) = (a − x)² + b (y − x²)², minimum 0 at (a, a²): a curved, flat-
    bottomed valley that momentum must follow around its bend (Rosenbrock 1960)."""

    def __init__(self, a: float = 1.0, b: float = 100.0):
        self.a = check_float("a", a)
        self.b = check_float("b", b, minimum=0.0, min_inclusive=False)
        super().__init__(2, minimum=[self.a, self.a**2], minimum_value=0.0,
                         box=[(self.a - 3.0, self.a + 1.0), (self.a**2 - 2.0, self.a**2 + 2.0)])

    def _value(self, theta):
        x, y = theta[..., 0], theta[..., 1]
        return (self.a - x) ** 2 + self.b * (y - x**2) ** 2

    def _grad(self, theta):
        x, y = theta[..., 0], theta[..., 1]
        r = y - x**2
        return torch.stack([-2.0 * (self.a - x) - 4.0 * self.b * x * r, 2.0 * self.b * r], dim=-1)

    def __repr__(self) -> str:
        return f"Rosenbrock(a={self.a}, b={self.b})"


class Saddle(Objective):
    r"""The saddle f(x, y) = ½ (x² − y²): Hessian diag(1, −1), a stationary point at 0 that is no
    minimum (``minimum`` is None; f is unbounded below). Started exactly on the x-axis, gradient
    methods converge to the saddle; any offset in y grows like (1 + α)ᵏ."""

    def __init__(self):
        super().__init__(2, box=[(-1.5, 1.5), (-1.5, 1.5)])

    def _value(self, theta):
        return 0.5 * (theta[..., 0] ** 2 - theta[..., 1] ** 2)

    def _grad(self, theta):
        return torch.stack([theta[..., 0], -theta[..., 1]], dim=-1)

    def __repr__(self) -> str:
        return "Saddle()"


# ---------------------------------------------------------------------------------------------------
# Trajectories and what figures plot from them.

def _objective(function) -> Objective:
    if not isinstance(function, Objective):
        raise TypeError("function must be a trainwell.optim test function (Quadratic, Rosenbrock, Saddle or "
                        f"another Objective), got {type(function).__name__}")
    return function


def trajectory(make_optimizer: Callable, function: Objective, start, steps: int, *,
               adjust: Callable | None = None) -> np.ndarray:
    """The iterates θ₀, …, θ_steps of a real optimizer on ``function``, a (steps + 1, d) float64 array.

    θ is one ``torch.nn.Parameter`` (float64) starting at ``start``; the optimizer is
    ``make_optimizer([θ])`` (any ``torch.optim.Optimizer``); each step calls ``optimizer.step(closure)``
    whose closure sets θ.grad = ∇f(θ) and returns f(θ), so optimizers that re-evaluate (L-BFGS) work
    too. ``adjust(t, optimizer)``, when given, runs before step t = 1, 2, … and may change the
    hyperparameters (a learning-rate schedule; the survey's momentum raised from 0.5 to 0.9).

    Divergence: when an iterate is not finite the run stops, and that row and all later ones are NaN,
    so the array keeps its shape (several optimizers stack into one array) and plots simply end where
    the run blew up; :func:`diverged_at` gives the step."""
    _callable("make_optimizer", make_optimizer)
    function = _objective(function)
    theta0 = _vector("start", start, function.dim)
    steps = check_int("steps", steps, minimum=0)
    if adjust is not None:
        _callable("adjust", adjust)
    theta = torch.nn.Parameter(theta0.clone())
    optimizer = make_optimizer([theta])
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError("make_optimizer must return a torch.optim.Optimizer built on the parameters it is "
                        f"given, got {type(optimizer).__name__}")
    if not any(p is theta for group in optimizer.param_groups for p in group["params"]):
        raise ValueError("make_optimizer must build the optimizer on the parameter list it is given "
                         "(the optimizer it returned does not hold that parameter)")

    def closure():
        point = theta.detach().clone()  # so that no gradient can alias the parameter it updates
        theta.grad = function._grad(point)
        return function._value(point)

    path = _Path(theta0, steps)
    for t in range(1, steps + 1):
        if adjust is not None:
            adjust(t, optimizer)
        optimizer.step(closure)
        if not path.record(t, theta.detach()):
            break
    return path.rows.numpy()


def diverged_at(path) -> int | None:
    """The index of the first row of ``path`` (an (n, d) array or tensor) that is not finite, i.e. the
    step at which a run diverged; None when every row is finite."""
    p = _as_float64("path", path, 2, finite=False)
    bad = (~torch.isfinite(p)).any(dim=1).nonzero()
    return None if bad.numel() == 0 else int(bad[0, 0])


def _rows(function, path) -> tuple[Objective, torch.Tensor, torch.Tensor]:
    function = _objective(function)
    p = _path("path", path, function.dim)
    finite = torch.isfinite(p).all(dim=1)
    return function, p, finite


def gradient_norms(function: Objective, path) -> np.ndarray:
    """‖∇f(θ_k)‖ for every row θ_k of ``path`` ((n, d), as :func:`trajectory` returns), NaN where the
    row is not finite: the y-axis of a log-log convergence plot that needs no known minimum."""
    function, p, finite = _rows(function, path)
    out = torch.full((p.shape[0],), math.nan, dtype=F64)
    out[finite] = torch.linalg.vector_norm(function._grad(p[finite]), dim=-1)
    return out.numpy()


def suboptimality(function: Objective, path) -> np.ndarray:
    """f(θ_k) − f(θ*) for every row of ``path``, NaN where the row is not finite. Needs a function
    with a minimum (not the saddle)."""
    function, p, finite = _rows(function, path)
    if function.minimum_value is None:
        raise ValueError(f"function has no minimum ({function!r} is unbounded below): suboptimality is "
                         "undefined; use gradient_norms")
    out = torch.full((p.shape[0],), math.nan, dtype=F64)
    out[finite] = function._value(p[finite]) - function.minimum_value
    return out.numpy()


def distances_to_minimum(function: Objective, path) -> np.ndarray:
    """‖θ_k − θ*‖ for every row of ``path``, NaN where the row is not finite. Needs a function with a
    minimum (not the saddle)."""
    function, p, finite = _rows(function, path)
    if function.minimum is None:
        raise ValueError(f"function has no minimum ({function!r} is unbounded below): the distance to it is "
                         "undefined; use gradient_norms")
    out = torch.full((p.shape[0],), math.nan, dtype=F64)
    out[finite] = torch.linalg.vector_norm(p[finite] - function.minimum, dim=-1)
    return out.numpy()


__all__ = ["Objective", "Quadratic", "Rosenbrock", "Saddle", "trajectory", "diverged_at", "gradient_norms",
           "suboptimality", "distances_to_minimum"]
