"""``tw.check``: the one way a chapter verifies a claim by computing both of its sides.

Each call prints exactly one line,

    [check] <claim>: PASS (max |diff| = 3.1e-16, tol = 1e-12)

or ``FAIL``, and returns the verdict. The verdict and the tolerance are what nbval compares; the
measured difference is shown to the reader but replaced by a placeholder in the comparison (see
``tests/nbval_sanitize.cfg``), because its last digits legitimately vary across CPUs and BLAS builds.
For the same reason the measurements a :func:`check_true` line shows are not compared either.
"""
from __future__ import annotations

import math
import re

import numpy as np
import scipy.stats
import torch

from ._validate import check_bool, check_float


class Verdict:
    """The result of a check: true when it passed. ``line`` is the printed verdict.

    In a notebook a verdict displays nothing of its own (the line was already printed), so a cell
    may end with a check without a stray ``True`` in its output.
    """

    __slots__ = ("passed", "line")

    def __init__(self, passed: bool, line: str):
        if not isinstance(line, str):
            raise TypeError(f"Verdict: line must be the printed verdict (str), got {type(line).__name__}")
        self.passed = check_bool("passed", passed)
        self.line = line

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"Verdict({'PASS' if self.passed else 'FAIL'})"

    def _ipython_display_(self) -> None:
        pass


def _as_array(name: str, value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().to("cpu")
        if value.dtype == torch.bfloat16 or value.dtype == torch.float16:
            value = value.float()
        value = value.numpy()
    arr = np.asarray(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be numeric (a number, array or tensor), got {type(value).__name__}")
    return arr.astype(np.complex128 if np.iscomplexobj(arr) else np.float64)


def _fmt(x: float) -> str:
    """Two significant digits; ``0`` for an exact zero."""
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    return f"{x:.2g}"


def max_abs_diff(lhs, rhs) -> float:
    """Largest |lhs - rhs| over all elements; shapes must be equal (nothing is broadcast)."""
    a, b = _as_array("lhs", lhs), _as_array("rhs", rhs)
    if a.shape != b.shape:
        raise ValueError(f"check: lhs and rhs must have the same shape, got {a.shape} and {b.shape} "
                         "(nothing is broadcast)")
    if a.size == 0:
        raise ValueError("check: lhs and rhs are empty; there is nothing to compare")
    diff = np.abs(a - b)
    return float("nan") if np.isnan(diff).any() else float(diff.max())


def check(claim: str, lhs, rhs, *, rtol: float = 0.0, atol: float = 0.0, quiet: bool = False) -> Verdict:
    """Compare both sides of ``claim`` element by element and print a one-line verdict.

    PASS when every element satisfies |lhs - rhs| <= atol + rtol * |rhs| (the rule of
    ``torch.allclose``) and nothing is NaN. The line states the tolerance as ``tol = atol`` when it
    is absolute, ``rtol = ...`` when relative, and ``atol = ..., rtol = ...`` when both apply.
    ``lhs`` and ``rhs`` are numbers, arrays or tensors of the same shape. With ``rtol = atol = 0``
    the sides must be exactly equal.
    """
    if not isinstance(claim, str) or not claim.strip():
        raise ValueError("check: claim must be a non-empty sentence saying what is compared")
    rtol = check_float("rtol", rtol, minimum=0.0)
    atol = check_float("atol", atol, minimum=0.0)
    diff = max_abs_diff(lhs, rhs)
    a, b = _as_array("lhs", lhs), _as_array("rhs", rhs)
    ok = bool(np.isfinite(diff) and np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))
    # The tolerance as the rule uses it: an absolute one (tol), a relative one (rtol), or both, named as
    # torch.allclose names them (a bare "tol" beside an rtol read as if |diff| had to be below it)
    if atol and rtol:
        tol = [f"atol = {_fmt(atol)}", f"rtol = {_fmt(rtol)}"]
    elif rtol:
        tol = [f"rtol = {_fmt(rtol)}"]
    else:
        tol = [f"tol = {_fmt(atol)}"]
    verdict = "PASS" if ok else "FAIL"
    line = f"[check] {claim.strip()}: {verdict} (max |diff| = {_fmt(diff)}, {', '.join(tol)})"
    if not quiet:
        print(line)
    return Verdict(ok, line)


def check_true(claim: str, condition, detail: str = "", *, quiet: bool = False) -> Verdict:
    """Verdict line for a claim that is a condition rather than an equality (e.g. ``a < b``).

    ``detail`` should show the numbers the condition was computed from, rounded for reading. nbval
    compares the claim and the verdict but not ``detail`` (see ``tests/nbval_sanitize.cfg``): after
    training, those numbers are reproducible on one machine but not across processors.
    """
    if not isinstance(claim, str):
        raise TypeError(f"check_true: claim must be a sentence (str) saying what is tested, got "
                        f"{type(claim).__name__}")
    if not claim.strip():
        raise ValueError("check_true: claim must be a non-empty sentence saying what is tested")
    if not isinstance(detail, str):
        raise TypeError(f"check_true: detail must be a str showing the numbers behind the condition, got "
                        f"{type(detail).__name__} (format them first, e.g. with f-strings)")
    quiet = check_bool("quiet", quiet)
    if isinstance(condition, torch.Tensor):
        if condition.numel() != 1:
            raise ValueError(f"check_true: condition must be a single truth value, got shape "
                             f"{tuple(condition.shape)}")
        condition = condition.item()
    if not isinstance(condition, (bool, np.bool_)):
        raise TypeError(f"check_true: condition must be a bool, got {type(condition).__name__}")
    ok = bool(condition)
    detail = re.sub(r"\s*\n\s*", " ", detail)  # one line per claim, also for a wrapped array
    line = f"[check] {claim.strip()}: {'PASS' if ok else 'FAIL'}" + (f" ({detail})" if detail else "")
    if not quiet:
        print(line)
    return Verdict(ok, line)


def t_interval(values, coverage: float = 0.95) -> tuple[float, float]:
    """Mean of ``values`` and the half-width of its Student-t interval at ``coverage``.

    ``values`` are independent measurements of one quantity (one per seed, or seed-by-seed paired
    differences between two arms), so the interval is mean ± t·s/√n with n − 1 degrees of freedom.
    It covers the mean over seeds of this experiment, not the spread of a single new run.
    """
    arr = _as_array("t_interval: values", values)
    if arr.ndim != 1 or arr.size < 2:
        raise ValueError(f"t_interval: values must be one-dimensional with at least 2 measurements, "
                         f"got shape {arr.shape}")
    if np.iscomplexobj(arr) or not np.isfinite(arr).all():
        raise ValueError(f"t_interval: values must be finite real numbers, got {arr}")
    coverage = check_float("coverage", coverage, minimum=0.0, maximum=1.0, min_inclusive=False,
                           max_inclusive=False)
    t = float(scipy.stats.t.ppf(0.5 + coverage / 2, arr.size - 1))
    return float(arr.mean()), t * float(arr.std(ddof=1)) / math.sqrt(arr.size)
