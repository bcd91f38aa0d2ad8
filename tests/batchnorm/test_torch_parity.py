"""Where PyTorch defines the behaviour, trainwell.batchnorm behaves the same: the layers against
nn.BatchNorm1d/2d over every constructor option, several steps, train and eval, empty batches and
dtype combinations; state_dicts without num_batches_tracked; the norms at their edges; and the
double backward of BatchNormFunction against F.batch_norm's.

Tolerances as in test_batchnorm.py (sums of at most a few hundred terms in another order): 1e-12 in
float64 and 1e-5 in float32. float16 / bfloat16 outputs are computed in float32 by both and rounded
once, so they may differ by one unit in the last place: 1e-2 (float16, 11-bit significand) and
4e-2 (bfloat16, 8 bits) relative to values of order 1-10.
"""
from __future__ import annotations

import collections
import inspect
import itertools
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from trainwell import batchnorm as bn

TOL = {torch.float64: {"atol": 1e-12, "rtol": 1e-12}, torch.float32: {"atol": 1e-5, "rtol": 1e-5},
       torch.float16: {"atol": 1e-2, "rtol": 1e-2}, torch.bfloat16: {"atol": 4e-2, "rtol": 4e-2}}
LAYOUTS = {"1d-NC": (bn.BatchNorm1d, nn.BatchNorm1d, (16, 4)),
           "1d-NCL": (bn.BatchNorm1d, nn.BatchNorm1d, (6, 4, 5)),
           "2d-NCHW": (bn.BatchNorm2d, nn.BatchNorm2d, (3, 4, 3, 4))}
AFFINE = {"affine": {"affine": True}, "affine-nobias": {"affine": True, "bias": False},
          "noaffine": {"affine": False}}


# BatchNorm's keyword `bias` (keep γ, drop β) is recent: torch 2.13 has it, Colab's 2.11 does not. Our
# layers always have it; against an older torch the bias-free cases have no twin, and PyTorch's repr
# does not print the keyword.
TORCH_HAS_BIAS = "bias" in inspect.signature(nn.BatchNorm1d).parameters


def torch_repr(ours) -> str:
    """repr(ours) as this version of PyTorch prints the same layer."""
    return repr(ours) if TORCH_HAS_BIAS else re.sub(r", bias=(True|False)", "", repr(ours))


def close(actual, expected, dtype):
    if actual is None or expected is None:
        assert actual is None and expected is None, (actual, expected)
        return
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    torch.testing.assert_close(actual, expected, **TOL[dtype])


def data(shape, dtype, seed):
    gen = torch.Generator().manual_seed(seed)
    return (2.0 * torch.randn(shape, generator=gen, dtype=torch.float64) + 0.5).to(dtype)


def twins(ours_cls, torch_cls, c, dtype, **kwargs):
    """Our layer and PyTorch's, built with the same keywords (device and dtype included), with the
    same random γ and β."""
    ours = ours_cls(c, device="cpu", dtype=dtype, **kwargs)
    ref = torch_cls(c, device="cpu", dtype=dtype, **kwargs)
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for name in ("weight", "bias"):
            if getattr(ref, name) is not None:
                value = (torch.rand(c, generator=gen, dtype=torch.float64) + 0.5).to(dtype)
                getattr(ours, name).copy_(value)
                getattr(ref, name).copy_(value)
    return ours, ref


def step(layer, x, grad):
    """Forward (and, when the output needs it, backward) through ``layer``: output, input gradient and
    parameter gradients, or the exception type it raised."""
    layer.zero_grad(set_to_none=True)
    x = x.clone().requires_grad_(True)
    try:
        y = layer(x)
    except (TypeError, ValueError, RuntimeError, NotImplementedError) as err:
        return type(err)
    y.backward(grad)
    grads = [None if p is None else p.grad for p in (layer.weight, layer.bias)]
    return y.detach(), x.grad, *grads


def same_step(ours, ref, x, grad, dtype):
    count = None if ref.num_batches_tracked is None else int(ref.num_batches_tracked)
    got, expected = step(ours, x, grad), step(ref, x, grad)
    if isinstance(expected, type):
        assert got is ValueError and expected is ValueError, (got, expected)  # both refuse
        if count is not None:  # the one deliberate difference: PyTorch counts the batch it refuses
            assert int(ours.num_batches_tracked) == count
            ref.num_batches_tracked.fill_(count)
        return
    assert not isinstance(got, type), f"ours raised {got.__name__}, PyTorch did not"
    for a, e in zip(got, expected, strict=True):
        close(a, e, dtype)
    same_buffers(ours, ref, dtype)


def same_buffers(ours, ref, dtype):
    for name in ("running_mean", "running_var"):
        close(getattr(ours, name), getattr(ref, name), dtype)
    if ref.num_batches_tracked is None:
        assert ours.num_batches_tracked is None
    else:
        assert ours.num_batches_tracked.dtype == torch.long
        assert int(ours.num_batches_tracked) == int(ref.num_batches_tracked)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("momentum", [0.1, None, 0.0, 1.0], ids=["m0.1", "mNone", "m0", "m1"])
@pytest.mark.parametrize("track", [True, False], ids=["track", "notrack"])
@pytest.mark.parametrize("affine", AFFINE.values(), ids=AFFINE.keys())
@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_layer_sweep_matches_pytorch(layout, affine, track, momentum, dtype):
    ours_cls, torch_cls, shape = layout
    if "bias" in affine and not TORCH_HAS_BIAS:
        pytest.skip(f"torch {torch.__version__}'s BatchNorm has no bias keyword")
    ours, ref = twins(ours_cls, torch_cls, shape[1], dtype, momentum=momentum, track_running_stats=track,
                      **affine)
    assert torch_repr(ours) == repr(ref)
    assert ours.state_dict().keys() == ref.state_dict().keys()
    empty = (0,) + shape[1:]
    one = (1,) + shape[1:2] + (1,) * (len(shape) - 2)  # one value per channel

    def run(shape_, seed):
        same_step(ours, ref, data(shape_, dtype, seed), data(shape_, dtype, seed + 100), dtype)

    for seed, shape_ in enumerate([shape, shape, empty, shape, one]):  # training: an empty batch counts
        run(shape_, seed)
    for layer in (ours, ref):
        layer.eval()
    for seed, shape_ in enumerate([shape, empty, one], start=10):  # eval: running or batch statistics
        run(shape_, seed)
    for layer in (ours, ref):  # switched off after training: no more updates, eval keeps the buffers
        layer.track_running_stats = False
    run(shape, 20)
    for layer in (ours, ref):
        layer.train()
    run(shape, 21)
    run(empty, 22)
    for layer in (ours, ref):
        layer.track_running_stats = track
        layer.reset_running_stats()
    same_buffers(ours, ref, dtype)
    run(shape, 23)
    for layer in (ours, ref):
        layer.reset_parameters()
    for name in ("weight", "bias"):
        close(getattr(ours, name), getattr(ref, name), dtype)
    same_buffers(ours, ref, dtype)


def test_positional_device_and_dtype_like_pytorch():
    args = (5, 1e-3, 0.2, False, True, "cpu", torch.float64)
    ours, ref = bn.BatchNorm1d(*args), nn.BatchNorm1d(*args)
    assert repr(ours) == "BatchNorm1d(5, eps=0.001, momentum=0.2, affine=False, bias=False, " \
                         "track_running_stats=True)"
    assert torch_repr(ours) == repr(ref)
    for name, buf in ref.named_buffers():
        assert getattr(ours, name).dtype == buf.dtype and getattr(ours, name).device == buf.device
    assert repr(bn.BatchNorm2d(3, sync=True)).endswith("track_running_stats=True, sync=True)")


DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("track,affine", [(True, True), (True, False), (False, True), (False, False)],
                         ids=["track-affine", "track-noaffine", "notrack-affine", "notrack-noaffine"])
def test_every_dtype_combination_as_pytorch(mode, track, affine):
    """Which (layer dtype, input dtype) pairs run, and the output's dtype and values, are PyTorch's;
    where PyTorch raises, ours raises TypeError."""
    inputs = DTYPES + [torch.int64, torch.bool, torch.complex64]
    for layer_dtype, x_dtype in itertools.product(DTYPES, inputs):
        ours, ref = twins(bn.BatchNorm1d, nn.BatchNorm1d, 3, layer_dtype, affine=affine,
                          track_running_stats=track)
        for layer in (ours, ref):
            layer.train(mode == "train")
        x = data((6, 3), torch.float64, 1)
        x = x > 0 if x_dtype is torch.bool else x.to(x_dtype)
        try:
            expected = ref(x)
        except (RuntimeError, NotImplementedError):
            with pytest.raises(TypeError):
                ours(x)
            continue
        got = ours(x)
        assert got.dtype == expected.dtype == x_dtype, (layer_dtype, x_dtype)
        torch.testing.assert_close(got.double(), expected.double(), **TOL[x_dtype])
        same_buffers(ours, ref, layer_dtype)


@pytest.mark.parametrize("x_dtype", [torch.float16, torch.bfloat16])
def test_reduced_precision_gradients_as_pytorch(x_dtype):
    ours, ref = twins(bn.BatchNorm2d, nn.BatchNorm2d, 3, torch.float32)
    x, grad = data((4, 3, 2, 3), x_dtype, 2), data((4, 3, 2, 3), x_dtype, 3)
    for a, e in zip(step(ours, x, grad), step(ref, x, grad), strict=True):
        assert a.dtype == e.dtype
        torch.testing.assert_close(a.double(), e.double(), **TOL[x_dtype])
    same_buffers(ours, ref, torch.float32)


def _without_count(state, version):
    old = collections.OrderedDict((k, v) for k, v in state.items() if not k.endswith("num_batches_tracked"))
    if version is not None:
        old._metadata = collections.OrderedDict((k, dict(v, version=version) if k.endswith("1") or k == ""
                                                 else v) for k, v in state._metadata.items())
    return old


@pytest.mark.parametrize("version", [None, 1], ids=["no-metadata", "version-1"])
@pytest.mark.parametrize("source", ["ours", "torch"])
def test_state_dict_without_num_batches_tracked_loads_as_in_pytorch(source, version):
    """A state saved by a PyTorch older than num_batches_tracked: the layer keeps its own count."""
    def net(cls):
        return nn.Sequential(nn.Linear(3, 4), cls(4)).double()

    saved = net(bn.BatchNorm1d if source == "ours" else nn.BatchNorm1d)
    for seed in range(3):
        saved(data((8, 3), torch.float64, seed))
    old = _without_count(saved.state_dict(), version)
    targets = [net(bn.BatchNorm1d), net(nn.BatchNorm1d)]
    for target in targets:
        target(data((8, 3), torch.float64, 9))  # its own count: 1
        result = target.load_state_dict(old, strict=True)
        assert not result.missing_keys and not result.unexpected_keys
        close(target[1].running_var, saved[1].running_var, torch.float64)
    assert int(targets[0][1].num_batches_tracked) == int(targets[1][1].num_batches_tracked) == 1
    versions = [layer(4).state_dict()._metadata[""]["version"] for layer in (bn.BatchNorm1d, nn.BatchNorm1d)]
    assert versions == [2, 2]
    new_format = _without_count(saved.state_dict(), 2)  # a current state without the key is incomplete
    for target in targets:
        with pytest.raises(RuntimeError, match="num_batches_tracked"):
            target.load_state_dict(new_format)


@pytest.mark.parametrize("shape", [(2, 3, 1), (2, 3, 1, 1), (1, 2, 1, 1, 1)])
def test_instance_norm_over_one_spatial_element_raises_as_pytorch(shape):
    x = torch.randn(shape)
    with pytest.raises(ValueError, match="Expected more than 1 spatial element when training"):
        F.instance_norm(x)
    with pytest.raises(ValueError, match="Expected more than 1 spatial element when training"):
        bn.instance_norm(x, torch.ones(shape[1]), torch.zeros(shape[1]))


NORMS = {  # ours, PyTorch's, and the shape of γ and β for an input of a given shape
    "layer": (lambda x, w, b: bn.layer_norm(x, 2, w, b), lambda x, w, b: F.layer_norm(x, x.shape[-2:], w, b),
              lambda shape: shape[-2:]),
    "instance": (lambda x, w, b: bn.instance_norm(x, w, b),
                 lambda x, w, b: F.instance_norm(x, weight=w, bias=b), lambda shape: shape[1:2]),
    "group": (lambda x, w, b: bn.group_norm(x, 2, w, b), lambda x, w, b: F.group_norm(x, 2, w, b),
              lambda shape: shape[1:2]),
}


@pytest.mark.parametrize("x_dtype,param_dtype", [
    (torch.float16, torch.float32), (torch.bfloat16, torch.float32), (torch.float16, torch.float16),
    (torch.float64, None)],
                         ids=["f16-f32", "bf16-f32", "f16-f16", "f64-none"])
@pytest.mark.parametrize("norm", NORMS.keys())
def test_norms_in_reduced_precision_as_pytorch(norm, x_dtype, param_dtype):
    ours, theirs, param_shape = NORMS[norm]
    x = data((2, 4, 3), x_dtype, 4)
    w = b = None
    if param_dtype is not None:
        w, b = data(param_shape(x.shape), param_dtype, 5), data(param_shape(x.shape), param_dtype, 6)
    got, expected = ours(x, w, b), theirs(x, w, b)
    assert got.dtype == expected.dtype == x_dtype
    torch.testing.assert_close(got.double(), expected.double(), **TOL[x_dtype])


@pytest.mark.parametrize("shape", [(0, 4, 3), (2, 4, 0)], ids=["N=0", "L=0"])
@pytest.mark.parametrize("norm", NORMS.keys())
def test_norms_on_empty_inputs_as_pytorch(norm, shape):
    ours, theirs, param_shape = NORMS[norm]
    w, b = (torch.rand(param_shape(shape), dtype=torch.float64, requires_grad=True) for _ in range(2))
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    y = ours(x, w, b)
    assert y.shape == shape and y.dtype == x.dtype
    y.sum().backward()
    assert torch.equal(w.grad, torch.zeros_like(w)) and x.grad.shape == shape
    if not (norm == "instance" and shape[0] == 0):  # F.instance_norm fails on N = 0 with an IndexError
        assert theirs(x, w, b).shape == y.shape


def test_empty_batches_as_pytorch():
    for (ours_cls, torch_cls, shape), mode in itertools.product(LAYOUTS.values(), ("train", "eval")):
        ours, ref = twins(ours_cls, torch_cls, shape[1], torch.float64)
        for layer in (ours, ref):
            layer.train(mode == "train")
        for empty in ((0,) + shape[1:], shape[:2] + (0,) * (len(shape) - 2)):
            if len(empty) == 2 and empty[0] != 0:
                continue
            x, grad = torch.randn(empty, dtype=torch.float64), torch.randn(empty, dtype=torch.float64)
            got, expected = step(ours, x, grad), step(ref, x, grad)
            for a, e in zip(got, expected, strict=True):
                close(a, e, torch.float64)
            assert torch.equal(ours.weight.grad, torch.zeros(shape[1], dtype=torch.float64))
            same_buffers(ours, ref, torch.float64)
        assert int(ours.num_batches_tracked) == (2 if mode == "train" and len(shape) > 2 else
                                                 1 if mode == "train" else 0)


def test_track_running_stats_switched_off_after_training_as_pytorch():
    ours, ref = twins(bn.BatchNorm1d, nn.BatchNorm1d, 4, torch.float64)
    for seed in range(3):
        ours(data((16, 4), torch.float64, seed))
        ref(data((16, 4), torch.float64, seed))
    for layer in (ours, ref):
        layer.track_running_stats = False
        layer.eval()
    x = data((16, 4), torch.float64, 7)
    close(ours(x), ref(x), torch.float64)
    batch_stats = F.batch_norm(x, None, None, ours.weight, ours.bias, training=True)
    assert (ours(x) - batch_stats).abs().max() > 1e-3  # the running statistics, not the batch's


# --------------------------------------------------------------------------------------------------
# Double backward


@pytest.mark.parametrize("affine", [True, False], ids=["affine", "noaffine"])
@pytest.mark.parametrize("shape,dims", [((6, 3), (0,)), ((3, 2, 3, 4), (0, 2, 3)), ((4, 5), (1,)),
                                        ((5, 4, 3), (1, 2))], ids=["bn1d", "bn2d", "layer", "layer-3d"])
def test_double_backward_gradgradcheck(shape, dims, affine):
    gen = torch.Generator().manual_seed(8)
    x = torch.randn(shape, generator=gen, dtype=torch.float64, requires_grad=True)
    kept = [s for i, s in enumerate(shape) if i not in dims]
    params = [(torch.rand(kept, generator=gen, dtype=torch.float64) + 0.5).requires_grad_(True),
              torch.randn(kept, generator=gen, dtype=torch.float64, requires_grad=True)] if affine else []

    def fn(x, *p):
        return bn.BatchNormFunction.apply(x, *(p or (None, None)), dims, 1e-5)[0]

    assert torch.autograd.gradgradcheck(fn, (x, *params))


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 2, 3)], ids=["NC", "NCHW"])
def test_second_derivatives_equal_pytorch(shape):
    """A gradient penalty, ‖∂ℓ/∂x‖², differentiated through our layer and through nn.BatchNorm."""
    ours, ref = twins(*LAYOUTS["2d-NCHW" if len(shape) == 4 else "1d-NC"][:2], 3, torch.float64)
    x, probe = data(shape, torch.float64, 9), data(shape, torch.float64, 10)
    results = []
    for layer in (ours, ref):
        layer.zero_grad(set_to_none=True)
        leaf = x.clone().requires_grad_(True)
        loss = (layer(leaf) * probe).pow(2).sum()
        (g,) = torch.autograd.grad(loss, leaf, create_graph=True)
        g.pow(2).sum().backward()
        results.append((g.detach(), leaf.grad, layer.weight.grad, layer.bias.grad))
    for a, e in zip(*results, strict=True):
        close(a, e, torch.float64)


def test_first_derivative_does_not_depend_on_create_graph():
    x, grad = data((16, 4), torch.float64, 11), data((16, 4), torch.float64, 12)
    gamma = torch.rand(4, dtype=torch.float64, requires_grad=True)
    grads = []
    for create_graph in (False, True):
        leaf = x.clone().requires_grad_(True)
        y = bn.BatchNormFunction.apply(leaf, gamma, None, (0,), 1e-5)[0]
        grads.append(torch.autograd.grad(y, (leaf, gamma), grad, create_graph=create_graph))
    for a, e in zip(*grads, strict=True):
        close(a.detach(), e, torch.float64)
