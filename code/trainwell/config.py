"""Seeding, device choice, the one plotting style, and the size switch (quick vs full).

Every notebook starts with ``tw.setup()``. Sizes live here, in one table, so that notebooks never
branch on the size themselves: a notebook asks ``tw.sizes("using.digits_mlp")`` and gets the
settings for the size selected by the environment variable ``TRAINWELL_SIZE``.
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass
from types import MappingProxyType, SimpleNamespace

import numpy as np
import torch

from ._validate import check_choice, check_int

#: Name of the environment variable that selects the size of every experiment.
SIZE_ENV = "TRAINWELL_SIZE"
#: The allowed sizes: ``quick`` (the default; what the website shows, each notebook at most two
#: minutes on a 2-core CPU) and ``full`` (paper-scale steps and data, meant for a GPU).
SIZES_ALLOWED = ("quick", "full")

# One entry per experiment, named "<notebook>.<experiment>". Both sizes must define the same keys.
_SIZES: dict[str, dict[str, dict]] = {
    "using.digits_mlp": {
        "quick": {"epochs": 30, "batch_size": 64, "hidden": 128, "seeds": 3},
        "full": {"epochs": 200, "batch_size": 64, "hidden": 512, "seeds": 10},
    },
}
SIZE_TABLE = MappingProxyType(_SIZES)


def size() -> str:
    """Return the selected size, ``"quick"`` unless ``TRAINWELL_SIZE`` says ``"full"``."""
    value = os.environ.get(SIZE_ENV, "quick").strip().lower() or "quick"
    if value not in SIZES_ALLOWED:
        raise ValueError(f"Invalid {SIZE_ENV}={value!r} (allowed: 'quick', 'full')")
    return value


def sizes(experiment: str) -> SimpleNamespace:
    """Settings of ``experiment`` at the selected size, as attributes (``s.epochs``, ``s.seeds``...).

    >>> s = sizes("using.digits_mlp")   # doctest: +SKIP
    >>> s.epochs
    30
    """
    if experiment not in _SIZES:
        known = ", ".join(sorted(_SIZES))
        raise KeyError(f"Unknown experiment {experiment!r} (known: {known})")
    return SimpleNamespace(**_SIZES[experiment][size()])


def register_sizes(experiment: str, *, quick: dict, full: dict) -> None:
    """Add an experiment's two sizes to the table (used by the package's topic modules)."""
    if set(quick) != set(full):
        raise ValueError(f"quick and full sizes of {experiment!r} must have the same keys, "
                         f"got {sorted(quick)} and {sorted(full)}")
    _SIZES[experiment] = {"quick": dict(quick), "full": dict(full)}


def pick_device(prefer: str | None = None) -> torch.device:
    """CUDA if present, then Apple's MPS, then the CPU; ``prefer`` ('cpu', 'cuda', 'mps') forces one."""
    if prefer is not None:
        check_choice("prefer", prefer, ("cpu", "cuda", "mps"))
        if prefer == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("prefer='cuda' but torch.cuda.is_available() is False")
        if prefer == "mps" and not torch.backends.mps.is_available():
            raise RuntimeError("prefer='mps' but torch.backends.mps.is_available() is False")
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and every GPU)."""
    seed = check_int("seed", seed, minimum=0, maximum=2**32 - 1)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


@dataclass(frozen=True)
class Setup:
    """What :func:`setup` chose; ``str()`` is the one line it reports."""

    seed: int
    device: torch.device
    size: str
    torch_version: str

    def __str__(self) -> str:
        return (f"trainwell: seed {self.seed}, device {self.device.type}, size {self.size}, "
                f"torch {self.torch_version}")


_current: Setup | None = None


def setup(seed: int = 0, *, device: str | None = None, quiet: bool = False) -> None:
    """Seed everything, choose the device, set the plotting style and report the choice in one line.

    Afterwards :func:`device` returns the chosen device and :func:`current` the whole choice.
    """
    global _current
    seed_everything(seed)
    dev = pick_device(device)
    from . import plot  # imported here: matplotlib is only needed once a notebook starts

    plot.use_style()
    _current = Setup(seed=seed, device=dev, size=size(), torch_version=torch.__version__.split("+")[0])
    if not quiet:
        print(_current)


def current() -> Setup | None:
    """What the last :func:`setup` chose (``None`` before the first call)."""
    return _current


def device() -> torch.device:
    """The device chosen by the last :func:`setup` (picked afresh if setup was never called)."""
    return _current.device if _current is not None else pick_device()


def module_device(module: torch.nn.Module, default: torch.device | str | None = None) -> torch.device:
    """The device of ``module``'s first parameter or buffer: where inputs to it must live.

    Functions that take a trained network and a dataset move the data there, so a network that
    :func:`trainwell.train.fit` placed on a GPU can be evaluated on a dataset loaded on the CPU. A
    module with no tensors gives ``default`` (the current :func:`device` when that is ``None``).
    """
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"module_device: expected a torch.nn.Module, got {type(module).__name__}")
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    return torch.device(default) if default is not None else device()
