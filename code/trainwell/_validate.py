"""Small argument checks shared by every module: each failure names the bad value and what is allowed."""
from __future__ import annotations

import numbers


def check_seeds(seeds, name: str = "seeds") -> list[int]:
    """``seeds`` as a list of distinct integers in [0, 2³² − 1] (a list, tuple or range): the one check
    of every function that takes the seeds of a run."""
    from collections.abc import Sequence

    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence):
        raise TypeError(f"{name} must be a list of integers, got {seeds!r}")
    seeds = [check_int(f"{name}[{i}]", s, minimum=0, maximum=2**32 - 1) for i, s in enumerate(seeds)]
    if not seeds:
        raise ValueError(f"{name} is empty: give at least one seed (two for a confidence interval)")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"{name} holds a seed twice: {seeds}")
    return seeds


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


def is_bool(value) -> bool:
    """Whether ``value`` is True or False: Python's bool or NumPy's (``np.True_``), which PyTorch takes
    wherever it takes a flag. (NumPy 2 renamed its type from ``bool_`` to ``bool``; testing the class,
    not its name, holds for both.)"""
    import numpy as np

    return isinstance(value, (bool, np.bool_))


def check_bool(name: str, value) -> bool:
    """Return ``value`` if it is True or False (NumPy's bool included); a string such as "no" is an
    error, not a truthy value."""
    if is_bool(value):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")


def _describe(value) -> str:
    import torch

    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    return f"{type(value).__name__}"


def check_tensor(name: str, value, *, ndim=None, min_ndim: int | None = None, floating: bool = False,
                 finite: bool = False, nonempty: bool = False, shape=None):
    """Return ``value`` if it is a torch tensor meeting every stated condition, else raise a clear error.

    ``ndim`` is an int or a tuple of allowed ints; ``shape`` a tuple whose ``None`` entries match any
    size; ``floating`` demands a floating-point dtype; ``finite`` rejects NaN and infinity (which would
    silently spread); ``nonempty`` rejects a tensor with no elements."""
    import torch

    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {_describe(value)}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if value.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{name} must have {want} dimensions, got {_describe(value)}")
    if min_ndim is not None and value.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension{'s' * (min_ndim != 1)}, "
                         f"got {_describe(value)}")
    if shape is not None:
        ok = value.ndim == len(shape) and all(
            s is None or s == v for s, v in zip(shape, value.shape, strict=False))
        if not ok:
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape)
            want += ",)" if len(shape) == 1 else ")"
            raise ValueError(f"{name} must have shape {want}, got {_describe(value)}")
    if floating and not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if nonempty and value.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(value.shape)}); there is nothing to compute")
    if finite and value.numel() and (value.is_floating_point() or value.is_complex()):
        if not bool(torch.isfinite(value).all()):
            bad = int((~torch.isfinite(value)).sum())
            raise ValueError(f"{name} holds {bad} non-finite value(s) (NaN or inf), which would spread "
                             "silently; clean or impute them first")
    return value


def check_same_length(names: tuple[str, str], a, b, *, dim: int = 0) -> None:
    """Raise when two tensors (or sequences) differ in length along ``dim``; nothing is broadcast."""
    la = a.shape[dim] if hasattr(a, "shape") else len(a)
    lb = b.shape[dim] if hasattr(b, "shape") else len(b)
    if la != lb:
        raise ValueError(f"{names[0]} and {names[1]} must have the same size along dimension {dim}, "
                         f"got {la} and {lb} (nothing is broadcast)")
