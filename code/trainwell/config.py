"""Seeding, device choice and the one line every notebook starts with, ``tw.setup()``.

The sizes of the experiments (quick or full) live in :mod:`trainwell.size_table`.
"""
from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass

import numpy as np
import torch

from ._validate import check_bool, check_choice, check_int
from .size_table import size


@contextlib.contextmanager
def threads(n: int):
    """Run a block (``with threads(1):``) or a function (``@threads(1)``) with ``n`` CPU threads for
    torch's operations, then restore the setting. The book's networks are small: splitting their
    operations across threads costs more than it saves, and on a 2-core machine shared with other
    work two threads made a run several times slower (wall time) than one. GPU runs are unaffected."""
    n = check_int("n", n, minimum=1)
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def pick_device(prefer: str | None = None) -> torch.device:
    """CUDA if present, then Apple's MPS, then the CPU; ``prefer`` ('cpu', 'cuda', 'mps') forces one."""
    if prefer is not None:
        if not isinstance(prefer, str):
            raise TypeError(f"prefer must be 'cpu', 'cuda', 'mps' or None, got {prefer!r} "
                            f"({type(prefer).__name__})")
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

    Afterwards :func:`device` returns the chosen device and :func:`current` the whole choice. Every
    argument (and ``TRAINWELL_SIZE``) is checked before anything is seeded or set, so a failed call
    leaves the random state, the style and :func:`current` as they were.
    """
    global _current
    seed = check_int("seed", seed, minimum=0, maximum=2**32 - 1)
    quiet = check_bool("quiet", quiet)
    dev = pick_device(device)
    chosen = Setup(seed=seed, device=dev, size=size(), torch_version=torch.__version__.split("+")[0])
    seed_everything(seed)
    from . import plot  # imported here: matplotlib is only needed once a notebook starts

    plot.use_style()
    _current = chosen
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
    if default is not None and not isinstance(default, (str, torch.device)):
        raise TypeError(f"module_device: default must be a device such as 'cpu', a torch.device or None, "
                        f"got {default!r} ({type(default).__name__})")
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    return torch.device(default) if default is not None else device()
