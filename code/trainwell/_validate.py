"""Small argument checks shared by every module: each failure names the bad value and what is allowed."""
from __future__ import annotations

import numbers


def check_int(name: str, value, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` if it is an integer in [minimum, maximum], else raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        raise ValueError(f"Invalid {name}: {value} (must be >= {minimum})")
    if maximum is not None and value > maximum:
        raise ValueError(f"Invalid {name}: {value} (must be <= {maximum})")
    return int(value)


def check_float(name: str, value, *, minimum: float | None = None, maximum: float | None = None,
                min_inclusive: bool = True, max_inclusive: bool = True) -> float:
    """Return ``value`` as a float if it is a finite real number in the stated interval."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"Invalid {name}: {value} (must be finite)")
    lo_ok = minimum is None or (value >= minimum if min_inclusive else value > minimum)
    hi_ok = maximum is None or (value <= maximum if max_inclusive else value < maximum)
    if not (lo_ok and hi_ok):
        lo = "-inf" if minimum is None else f"{minimum}"
        hi = "inf" if maximum is None else f"{maximum}"
        interval = ("[" if min_inclusive and minimum is not None else "(") + f"{lo}, {hi}" + (
            "]" if max_inclusive and maximum is not None else ")")
        raise ValueError(f"Invalid {name}: {value} (must be in {interval})")
    return value


def check_choice(name: str, value, choices) -> object:
    """Return ``value`` if it is one of ``choices``."""
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"Invalid {name}: {value!r} (allowed: {allowed})")
    return value
