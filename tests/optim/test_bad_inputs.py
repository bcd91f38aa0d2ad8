"""Bad arguments to Part IV's optimizers, one row per case: the optimizer, its arguments, the exception
we raise, a phrase our message must contain, and what PyTorch 2.13 does with the same arguments.

Where PyTorch raises, we raise the same type (the second test checks it against PyTorch itself), with
its wording where it has one. Where PyTorch accepts the value (``torch`` is None) we are deliberately
stricter: a string for a flag, NaN or infinity, a tensor learning rate, betas longer than two, and
PyTorch's implementation switches, which ours does not have."""
from __future__ import annotations

import pytest
import torch

from trainwell import optim

P = object()  # stands for a fresh list of one trainable tensor


def _params():
    return [torch.zeros(3, requires_grad=True)]


def _args(args: tuple) -> tuple:
    return tuple(_params() if a is P else a for a in args)


def row(name, args, kwargs, error, phrase, torch_error, *, id):
    return pytest.param(name, args, kwargs, error, phrase, torch_error, id=id)


NAN, INF = float("nan"), float("inf")
ROWS = [
    # SGD
    row("SGD", (P,), {"lr": -1.0}, ValueError, "Invalid learning rate: -1.0", ValueError,
        id="sgd-negative-lr"),
    row("SGD", (P,), {"momentum": -0.5}, ValueError, "Invalid momentum value: -0.5", ValueError,
        id="sgd-negative-momentum"),
    row("SGD", (P,), {"weight_decay": -0.1}, ValueError, "Invalid weight_decay value: -0.1", ValueError,
        id="sgd-negative-weight-decay"),
    row("SGD", (P,), {"nesterov": True}, ValueError, "Nesterov momentum requires a momentum", ValueError,
        id="sgd-nesterov-without-momentum"),
    row("SGD", (P,), {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, ValueError,
        "zero dampening", ValueError, id="sgd-nesterov-with-dampening"),
    row("SGD", (P,), {"lr": "0.1"}, TypeError, "lr must be a real number", TypeError, id="sgd-string-lr"),
    row("SGD", (P,), {"lr": None}, TypeError, "lr must be a real number", TypeError, id="sgd-none-lr"),
    row("SGD", (P,), {"momentum": "high"}, TypeError, "momentum must be a real number", TypeError,
        id="sgd-string-momentum"),
    row("SGD", (P,), {"lr": NAN}, ValueError, "Invalid learning rate: nan", None, id="sgd-nan-lr"),
    row("SGD", (P,), {"lr": INF}, ValueError, "Invalid learning rate: inf", None, id="sgd-inf-lr"),
    row("SGD", (P,), {"lr": True}, TypeError, "lr must be a real number", None, id="sgd-bool-lr"),
    row("SGD", (P,), {"lr": torch.tensor(0.1)}, TypeError, "tensor lr", None, id="sgd-tensor-lr"),
    row("SGD", (P,), {"dampening": "x"}, TypeError, "dampening must be a real number", None,
        id="sgd-string-dampening"),
    row("SGD", (P,), {"momentum": 0.9, "nesterov": "yes"}, TypeError, "nesterov must be True or False", None,
        id="sgd-string-nesterov"),
    row("SGD", (P,), {"maximize": 1}, TypeError, "maximize must be True or False", None,
        id="sgd-int-maximize"),
    row("SGD", (P,), {"foreach": True}, ValueError, "one plain per-tensor implementation", None,
        id="sgd-foreach"),
    row("SGD", (P,), {"fused": True}, ValueError, "(..., fused=True) is not supported", None, id="sgd-fused"),
    row("SGD", (P,), {"differentiable": True}, ValueError, "differentiable=True", None,
        id="sgd-differentiable"),
    row("SGD", (P,), {"foreach": "yes"}, TypeError, "foreach must be None, True or False", None,
        id="sgd-string-foreach"),
    row("SGD", ([],), {}, ValueError, "empty parameter list", ValueError, id="sgd-empty-params"),
    row("SGD", (torch.zeros(3, requires_grad=True),), {}, TypeError, "should be an iterable of Tensors",
        TypeError, id="sgd-single-tensor"),
    row("SGD", ([1.0],), {}, TypeError, "optimizer can only optimize Tensors", TypeError,
        id="sgd-params-not-tensors"),
    row("SGD", ([torch.zeros(3, requires_grad=True) * 2],), {}, ValueError, "non-leaf", ValueError,
        id="sgd-non-leaf-param"),
    row("SGD", ([{"params": _params(), "lr": -1.0}],), {}, ValueError, "Invalid learning rate: -1.0", None,
        id="sgd-group-negative-lr"),
    row("SGD", ([{"params": _params(), "foreach": True}],), {}, ValueError, "foreach=True", None,
        id="sgd-group-foreach"),
    row("SGD", ([{"lr": 0.1}],), {}, KeyError, "params", KeyError, id="sgd-group-without-params"),
    # Adagrad
    row("Adagrad", (P,), {"lr": -0.01}, ValueError, "Invalid learning rate: -0.01", ValueError,
        id="adagrad-negative-lr"),
    row("Adagrad", (P,), {"lr_decay": -1}, ValueError, "Invalid lr_decay value: -1", ValueError,
        id="adagrad-negative-lr-decay"),
    row("Adagrad", (P,), {"initial_accumulator_value": -0.1}, ValueError,
        "Invalid initial_accumulator_value value: -0.1", ValueError, id="adagrad-negative-accumulator"),
    row("Adagrad", (P,), {"eps": -1e-10}, ValueError, "Invalid epsilon value: -1e-10", ValueError,
        id="adagrad-negative-eps"),
    row("Adagrad", (P,), {"weight_decay": -1.0}, ValueError, "Invalid weight_decay value", ValueError,
        id="adagrad-negative-weight-decay"),
    row("Adagrad", (P, 0.01, 0, 0, 0, 1e-10, True), {}, ValueError, "foreach=True", None,
        id="adagrad-positional-foreach"),
    row("Adagrad", (P,), {"fused": True}, ValueError, "fused=True", None, id="adagrad-fused"),
    # Adadelta
    row("Adadelta", (P,), {"rho": 1.5}, ValueError, "Invalid rho value: 1.5", ValueError,
        id="adadelta-rho-above-1"),
    row("Adadelta", (P,), {"rho": -0.1}, ValueError, "Invalid rho value: -0.1", ValueError,
        id="adadelta-negative-rho"),
    row("Adadelta", (P,), {"eps": -1e-6}, ValueError, "Invalid epsilon value", ValueError,
        id="adadelta-negative-eps"),
    row("Adadelta", (P,), {"lr": -1.0}, ValueError, "Invalid learning rate", ValueError,
        id="adadelta-negative-lr"),
    row("Adadelta", (P,), {"capturable": True}, ValueError, "capturable=True", None,
        id="adadelta-capturable"),
    # RMSprop
    row("RMSprop", (P,), {"alpha": -0.1}, ValueError, "Invalid alpha value: -0.1", ValueError,
        id="rmsprop-negative-alpha"),
    row("RMSprop", (P,), {"momentum": -0.1}, ValueError, "Invalid momentum value: -0.1", ValueError,
        id="rmsprop-negative-momentum"),
    row("RMSprop", (P,), {"eps": -1.0}, ValueError, "Invalid epsilon value: -1.0", ValueError,
        id="rmsprop-negative-eps"),
    row("RMSprop", (P,), {"weight_decay": -0.5}, ValueError, "Invalid weight_decay value: -0.5", ValueError,
        id="rmsprop-negative-weight-decay"),
    row("RMSprop", (P,), {"centered": "no"}, TypeError, "centered must be True or False", None,
        id="rmsprop-string-centered"),
    row("RMSprop", (P,), {"alpha": "0.9"}, TypeError, "alpha must be a real number", TypeError,
        id="rmsprop-string-alpha"),
    # Adam
    row("Adam", (P,), {"lr": -1e-3}, ValueError, "Invalid learning rate: -0.001", ValueError,
        id="adam-negative-lr"),
    row("Adam", (P,), {"eps": -1e-8}, ValueError, "Invalid epsilon value: -1e-08", ValueError,
        id="adam-negative-eps"),
    row("Adam", (P,), {"betas": (1.0, 0.999)}, ValueError, "Invalid beta parameter at index 0: 1.0",
        ValueError, id="adam-beta1-is-1"),
    row("Adam", (P,), {"betas": (0.9, -0.1)}, ValueError, "Invalid beta parameter at index 1: -0.1",
        ValueError, id="adam-negative-beta2"),
    row("Adam", (P,), {"betas": (0.9, 1.5)}, ValueError, "Invalid beta parameter at index 1: 1.5", ValueError,
        id="adam-beta2-above-1"),
    row("Adam", (P,), {"betas": (0.9,)}, IndexError, "betas must be a pair", IndexError,
        id="adam-one-beta"),
    row("Adam", (P,), {"betas": (0.9,)}, ValueError, "betas must be a pair", IndexError,
        id="adam-one-beta-is-also-a-value-error"),
    row("Adam", (P,), {"betas": (0.9, 0.99, 0.999)}, ValueError, "betas must be a pair", None,
        id="adam-three-betas"),
    row("Adam", (P,), {"betas": 0.9}, TypeError, "betas must be a pair", TypeError, id="adam-scalar-betas"),
    row("Adam", (P,), {"betas": ("a", 0.9)}, TypeError, "betas[0] must be a real number", TypeError,
        id="adam-string-beta"),
    row("Adam", (P,), {"weight_decay": -1e-2}, ValueError, "Invalid weight_decay value: -0.01", ValueError,
        id="adam-negative-weight-decay"),
    row("Adam", (P,), {"amsgrad": "yes"}, TypeError, "amsgrad must be True or False", None,
        id="adam-string-amsgrad"),
    row("Adam", (P,), {"decoupled_weight_decay": "x"}, TypeError,
        "decoupled_weight_decay must be True or False", None, id="adam-string-decoupled"),
    row("Adam", (P,), {"fused": True}, ValueError, "fused=True", None, id="adam-fused"),
    row("Adam", (P,), {"capturable": True}, ValueError, "capturable=True", None, id="adam-capturable"),
    row("Adam", (P,), {"foreach": True}, ValueError, "foreach=True", None, id="adam-foreach"),
    # AdamW
    row("AdamW", (P,), {"weight_decay": -0.01}, ValueError, "Invalid weight_decay value: -0.01", ValueError,
        id="adamw-negative-weight-decay"),
    row("AdamW", (P,), {"betas": (0.9, 1.0)}, ValueError, "Invalid beta parameter at index 1: 1.0",
        ValueError, id="adamw-beta2-is-1"),
    row("AdamW", (P,), {"lr": -1.0}, ValueError, "Invalid learning rate", ValueError, id="adamw-negative-lr"),
    row("AdamW", (P,), {"foreach": True}, ValueError, "foreach=True", None, id="adamw-foreach"),
    # NAdam
    row("NAdam", (P,), {"momentum_decay": -1e-3}, ValueError, "Invalid momentum_decay value: -0.001",
        ValueError, id="nadam-negative-momentum-decay"),
    row("NAdam", (P,), {"betas": (-0.1, 0.999)}, ValueError, "Invalid beta parameter at index 0: -0.1",
        ValueError, id="nadam-negative-beta1"),
    row("NAdam", (P,), {"lr": -2e-3}, ValueError, "Invalid learning rate: -0.002", ValueError,
        id="nadam-negative-lr"),
    row("NAdam", (P,), {"eps": -1.0}, ValueError, "Invalid epsilon value", ValueError,
        id="nadam-negative-eps"),
    row("NAdam", (P,), {"decoupled_weight_decay": "yes"}, TypeError,
        "decoupled_weight_decay must be True or False", None, id="nadam-string-decoupled"),
    row("NAdam", (P,), {"capturable": True}, ValueError, "capturable=True", None, id="nadam-capturable"),
]


def test_the_table_is_long_enough_and_covers_every_optimizer():
    assert len(ROWS) >= 40
    assert {r.values[0] for r in ROWS} == {"SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "NAdam"}


@pytest.mark.parametrize("name, args, kwargs, error, phrase, torch_error", ROWS)
def test_ours_raises_the_stated_error(name, args, kwargs, error, phrase, torch_error):
    with pytest.raises(error) as info:
        getattr(optim, name)(*_args(args), **kwargs)
    assert phrase in str(info.value)


@pytest.mark.parametrize("name, args, kwargs, error, phrase, torch_error", ROWS)
def test_torch_raises_the_same_type_or_accepts(name, args, kwargs, error, phrase, torch_error):
    """Checks the table's last column against PyTorch itself: where it raises, ours raises the same
    type (ours may be more specific); where it accepts, the row is one of our deliberate extras."""
    if torch_error is None:
        getattr(torch.optim, name)(*_args(args), **kwargs)
        return
    with pytest.raises(torch_error):
        getattr(torch.optim, name)(*_args(args), **kwargs)
    with pytest.raises(torch_error):
        getattr(optim, name)(*_args(args), **kwargs)


def test_none_and_false_switches_are_accepted_as_in_code_written_for_torch():
    for name in ("SGD", "Adam", "AdamW"):
        opt = getattr(optim, name)(_params(), foreach=None, fused=None, differentiable=False)
        assert opt.param_groups[0]["foreach"] is None
    optim.Adam(_params(), foreach=False, fused=False, capturable=False)
    optim.NAdam(_params(), foreach=False, capturable=False, differentiable=False)


def test_add_param_group_checks_the_new_group():
    opt = optim.Adam(_params())
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        opt.add_param_group({"params": _params(), "betas": (0.9, 1.0)})
    with pytest.raises(ValueError, match="foreach=True"):
        opt.add_param_group({"params": _params(), "foreach": True})
    with pytest.raises(TypeError, match="param_group must be a dict"):  # PyTorch's own message
        opt.add_param_group([torch.zeros(2, requires_grad=True)])
    assert len(opt.param_groups) == 1
