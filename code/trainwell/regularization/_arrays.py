"""Checks shared by Part I's closed forms and solvers: data arrive as NumPy arrays, torch tensors or lists
of numbers and are worked on as float64 NumPy arrays, checked first so that nothing broadcasts or spreads
NaN silently."""
from __future__ import annotations

import numbers

import numpy as np
import torch


def as_float64(name: str, value, *, ndim: int) -> np.ndarray:
    """``value`` as a float64 array with exactly ``ndim`` dimensions, non-empty and finite (a copy)."""
    if isinstance(value, torch.Tensor):
        if value.dtype == torch.bool or value.is_complex():
            raise TypeError(f"{name} must hold real numbers, got a tensor of dtype {value.dtype}")
        array = value.detach().cpu().double().numpy().copy()
    elif isinstance(value, (np.ndarray, list, tuple)) or (ndim == 0 and isinstance(value, numbers.Real)):
        array = np.array(value)
        if array.dtype == bool or array.dtype.kind not in "iuf":
            raise TypeError(f"{name} must hold real numbers, got an array of dtype {array.dtype}")
        array = array.astype(np.float64)
    else:
        raise TypeError(f"{name} must be a NumPy array or a torch tensor, got {type(value).__name__}")
    if array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension{'s' * (ndim != 1)}, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape}); there is nothing to compute")
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        raise ValueError(f"{name} holds {bad} non-finite value(s) (NaN or inf), which would spread silently")
    return array


def regression_data(X, y) -> tuple[np.ndarray, np.ndarray]:
    """A design matrix ``X`` (n, d) and targets ``y`` (n,) of one length, as float64."""
    X = as_float64("X", X, ndim=2)
    y = as_float64("y", y, ndim=1)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of rows, got {len(X)} and {len(y)} "
                         "(nothing is broadcast)")
    return X, y


def square_matrix(name: str, H, d: int | None = None, *, positive_definite: bool = False) -> np.ndarray:
    """A symmetric (d, d) matrix (symmetric to 1e-10 relative), positive definite if asked."""
    H = as_float64(name, H, ndim=2)
    if H.shape[0] != H.shape[1] or (d is not None and H.shape[0] != d):
        want = f"({d}, {d})" if d is not None else "square"
        raise ValueError(f"{name} must be {want}, got shape {H.shape}")
    if np.abs(H - H.T).max() > 1e-10 * max(1.0, np.abs(H).max()):
        raise ValueError(f"{name} must be symmetric, got max |H - H^T| = {np.abs(H - H.T).max():.3g}")
    if positive_definite:
        smallest = float(np.linalg.eigvalsh(H)[0])
        if smallest <= 0:
            raise ValueError(f"{name} must be positive definite, got smallest eigenvalue {smallest:.3g}")
    return (H + H.T) / 2
