"""What the seven optimizers share: argument checks worded as PyTorch words them, the refusal of
PyTorch's implementation switches, the gradient prelude (sign for ``maximize``, L2 weight decay),
scalar state as PyTorch stores it, and a small base class that checks every parameter group and keeps
loaded state dicts in PyTorch's format."""
from __future__ import annotations

import math
import numbers

import torch
from torch.optim import Optimizer

from .._validate import check_bool, is_bool

# PyTorch's keywords that choose *how* a step is computed (several kernels), not *what* it computes.
SWITCHES = ("foreach", "fused", "capturable", "differentiable")


class BetasLengthError(ValueError, IndexError):
    """``betas`` is not a pair. A ValueError, and an IndexError too because PyTorch, indexing a
    one-element ``betas``, raises one: code that catches PyTorch's error catches ours."""


def check_number(value, name: str, label: str | None = None, *, low: float = 0.0, high: float | None = None,
                 high_open: bool = False):
    """Return ``value`` if it is a finite real number in [low, high] (or [low, high) when ``high_open``).

    Failures read as PyTorch's (``Invalid learning rate: -1.0``); a non-number, a bool or a tensor is a
    TypeError, NaN and infinity a ValueError (PyTorch lets some of those through)."""
    if isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a Python number, got a tensor: trainwell's optimizers take plain "
                        f"floats (a tensor {name}, used by PyTorch for CUDA graphs, is not supported)")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    x = float(value)
    inside = x >= low and (high is None or (x < high if high_open else x <= high))
    if not (math.isfinite(x) and inside):
        raise ValueError(f"Invalid {label or name + ' value'}: {value}")
    return value


def check_betas(betas) -> tuple[float, float]:
    """``betas`` as a tuple of two numbers in [0, 1), with PyTorch's wording."""
    if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or not hasattr(betas, "__getitem__"):
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r} ({type(betas).__name__})")
    if len(betas) != 2:
        raise BetasLengthError(f"betas must be a pair (beta1, beta2), got {len(betas)} value(s): {betas!r}")
    for i, beta in enumerate(betas):
        check_number(beta, f"betas[{i}]", f"beta parameter at index {i}", high=1.0, high_open=True)
    return tuple(betas)


def check_flags(hyper: dict, *names: str) -> None:
    for name in names:
        check_bool(name, hyper[name])


def check_switches(owner: str, hyper: dict) -> None:
    """Refuse PyTorch's implementation switches: None and False are accepted (so code written for
    ``torch.optim`` with its defaults runs unchanged), True is a ValueError."""
    for name in SWITCHES:
        value = hyper.get(name)
        if value is None or (is_bool(value) and not value):
            continue
        if is_bool(value):
            raise ValueError(f"{owner}(..., {name}=True) is not supported: trainwell's {owner} has one plain "
                             f"per-tensor implementation; pass {name}=None or False (torch.optim.{owner} "
                             f"has the {name} option)")
        raise TypeError(f"{name} must be None, True or False, got {value!r} ({type(value).__name__})")


def scalar_dtype() -> torch.dtype:
    """The dtype PyTorch gives ``step`` (and NAdam's ``mu_product``): float64 when that is the default
    dtype, else float32, whatever the parameters' dtype."""
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


def scalar(value: float = 0.0) -> torch.Tensor:
    """A 0-d CPU tensor of :func:`scalar_dtype`, as PyTorch keeps ``step``."""
    return torch.tensor(value, dtype=scalar_dtype())


def zeros(p: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(p, memory_format=torch.preserve_format)


def with_grad(owner: str, group: dict) -> list[torch.Tensor]:
    """The group's parameters that have a gradient; a sparse gradient is refused before anything moves."""
    params = [p for p in group["params"] if p.grad is not None]
    for p in params:
        if p.grad.is_sparse:
            raise RuntimeError(f"trainwell's {owner} does not support sparse gradients (use a dense "
                               f"gradient, or torch.optim.{owner} / torch.optim.SparseAdam)")
    return params


def direction(p: torch.Tensor, maximize: bool, weight_decay: float) -> torch.Tensor:
    """g = ∇f (−∇f when maximizing) plus λθ when λ ≠ 0: a new tensor only when it differs from p.grad."""
    grad = p.grad
    if maximize:
        grad = -grad
        if weight_decay != 0:
            grad.add_(p, alpha=weight_decay)  # our own temporary: no second one needed
    elif weight_decay != 0:
        grad = grad.add(p, alpha=weight_decay)
    return grad


def as_real(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """One parameter's complex tensors viewed as real pairs (so that squares and square roots act per
    component, as in PyTorch); real ones unchanged. A parameter, its gradient and its state are all
    complex or all real, so the first tensor decides (the common real case costs one check)."""
    if not tensors[0].is_complex():
        return tensors
    return tuple(torch.view_as_real(t) for t in tensors)


class PlainOptimizer(Optimizer):
    """A ``torch.optim.Optimizer`` whose hyperparameters are checked by ``_check`` for the defaults and
    for every parameter group, that refuses PyTorch's implementation switches, and whose loaded state
    dicts are completed with the defaults (a torch checkpoint that used ``foreach=True`` loads, and
    steps with our single implementation)."""

    def __init__(self, params, defaults: dict) -> None:
        check_switches(type(self).__name__, defaults)
        self._check(defaults)
        super().__init__(params, defaults)

    @staticmethod
    def _check(hyper: dict) -> None:  # each optimizer states its own rules
        raise NotImplementedError

    def add_param_group(self, param_group: dict) -> None:
        if isinstance(param_group, dict):  # anything else: PyTorch's own error
            for name, default in self.defaults.items():
                param_group.setdefault(name, default)
            check_switches(type(self).__name__, param_group)
            self._check(param_group)
        super().add_param_group(param_group)

    def load_state_dict(self, state_dict: dict) -> None:
        """PyTorch's ``load_state_dict``, after two checks that leave the optimizer unchanged when they
        fail. A state dict saved by another kind of optimizer (Adam's, loaded into SGD) is refused:
        it lacks this optimizer's numeric hyperparameters (SGD's ``momentum``), which
        ``torch.optim.SGD`` notices only at its next step (a KeyError) and which we would otherwise
        fill silently with the defaults. And every loaded hyperparameter goes through the
        constructor's check of its range (a learning rate edited to -1 in a checkpoint is refused as
        ``SGD(lr=-1)`` is); combinations are not re-checked, since a schedule may legitimately make
        one the constructor refuses (Nesterov's momentum starts at 0)."""
        groups = state_dict.get("param_groups") if isinstance(state_dict, dict) else None
        if isinstance(groups, list):
            name = type(self).__name__
            required = [k for k, v in self.defaults.items() if k not in SWITCHES and not is_bool(v)]
            for i, group in enumerate(groups):
                if not isinstance(group, dict):
                    continue  # PyTorch's own error follows
                missing = [k for k in required if k not in group]
                if missing:
                    saved = ", ".join(k for k in group if k != "params")
                    raise ValueError(f"{name}.load_state_dict: param group {i} has no {', '.join(missing)}; "
                                     f"the state dict was saved by another kind of optimizer (its "
                                     f"hyperparameters: {saved})")
                # each number on its own beside the defaults with every flag off (its range, as for a
                # schedule's value in trainwell.train.Schedule); each flag is True or False
                plain = {k: False if is_bool(v) else v for k, v in self.defaults.items()}
                for key, default in self.defaults.items():
                    if key not in group or key in SWITCHES:
                        continue
                    try:
                        if is_bool(default):
                            check_bool(key, group[key])
                        else:
                            self._check({**plain, key: group[key]})
                    except (TypeError, ValueError) as error:
                        raise type(error)(f"{name}.load_state_dict: param group {i}: {error}") from None
        super().load_state_dict(state_dict)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            for name, default in self.defaults.items():
                group.setdefault(name, default)
            for name in SWITCHES:
                if group.get(name):
                    group[name] = self.defaults.get(name)
        # Scalar state goes back to PyTorch's fresh format: checkpoints of old versions kept plain numbers,
        # and Optimizer.load_state_dict casts every state tensor but ``step`` to the parameter's dtype
        # (NAdam's float32 ``mu_product`` would come back float64 and round differently from then on).
        for s in self.state.values():
            for key in ("step", "mu_product"):
                if key in s and not (torch.is_tensor(s[key]) and s[key].dtype == scalar_dtype()):
                    s[key] = scalar(float(s[key]))

    @staticmethod
    def _loss(closure):
        if closure is None:
            return None
        with torch.enable_grad():
            return closure()
