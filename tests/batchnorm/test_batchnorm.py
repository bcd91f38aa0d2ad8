"""trainwell.batchnorm agrees with PyTorch to stated tolerances, and rejects bad input clearly.

Tolerances: each comparison sums at most a few hundred O(1) terms (m ≤ 300) in a different order, or by
a different algorithm, than PyTorch's kernels. With unit roundoff u such sums typically differ by
about √m·u (relative) and at most by m·u. The tolerances follow from that and are never loosened to
make a test pass.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from trainwell import batchnorm as bn

# float64: u = 1.1e-16, so even the worst case m·u ≈ 3e-14; 1e-12 leaves a 30x margin.
F64 = {"atol": 1e-12, "rtol": 1e-12}
# float32: u = 6.0e-8, so √m·u ≈ 1e-6 typically; 1e-5 is 10x that (rtol covers sums like ∂ℓ/∂γ ~ √m).
F32 = {"atol": 1e-5, "rtol": 1e-5}
TOL = {torch.float64: F64, torch.float32: F32}

SHAPES = {"N,C": (16, 4), "N,C,L": (8, 4, 7), "N,C,H,W": (4, 4, 5, 6)}


def close(actual, expected, dtype=torch.float64):
    torch.testing.assert_close(actual, expected, **TOL[dtype])


def batch(shape, dtype, seed):
    """Inputs with a nonzero mean and a variance far from 1, so that normalizing does something."""
    gen = torch.Generator().manual_seed(seed)
    return (3.0 * torch.randn(shape, generator=gen, dtype=torch.float64) + 1.5).to(dtype)


def reduce_dims(x):
    return (0,) + tuple(range(2, x.ndim))


def pair(shape, dtype, **kwargs):
    """Our layer and PyTorch's for an input of ``shape``, with the same (random) γ and β."""
    ours_cls, torch_cls = (bn.BatchNorm2d, nn.BatchNorm2d) if len(shape) == 4 else (bn.BatchNorm1d,
                                                                                    nn.BatchNorm1d)
    ours, ref = ours_cls(shape[1], **kwargs).to(dtype), torch_cls(shape[1], **kwargs).to(dtype)
    if ref.affine:
        gen = torch.Generator().manual_seed(1)
        with torch.no_grad():
            for name in ("weight", "bias"):
                value = torch.randn(shape[1], generator=gen, dtype=torch.float64).to(dtype) + 1.0
                getattr(ours, name).copy_(value)
                getattr(ref, name).copy_(value)
    return ours, ref


def forward_backward(layer, x, grad):
    x = x.clone().requires_grad_(True)
    y = layer(x)
    y.backward(grad)
    return y.detach(), x.grad


def same_step(ours, ref, x, grad, dtype, affine):
    """One forward and backward pass through both layers: outputs, input gradients and (if affine)
    parameter gradients agree."""
    y, gx = forward_backward(ours, x, grad)
    y_ref, gx_ref = forward_backward(ref, x, grad)
    close(y, y_ref, dtype)
    close(gx, gx_ref, dtype)
    if affine:
        close(ours.weight.grad, ref.weight.grad, dtype)
        close(ours.bias.grad, ref.bias.grad, dtype)


# --------------------------------------------------------------------------------------------------
# The layer against nn.BatchNorm1d / nn.BatchNorm2d


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("track", [True, False], ids=["track", "notrack"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "noaffine"])
@pytest.mark.parametrize("momentum", [0.1, 0.5, None], ids=["m0.1", "m0.5", "mNone"])
@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_layer_matches_pytorch_train_then_eval(shape, momentum, affine, track, dtype):
    ours, ref = pair(shape, dtype, momentum=momentum, affine=affine, track_running_stats=track)
    for step in range(3):  # training: batch statistics, running averages
        x, grad = batch(shape, dtype, seed=10 + step), batch(shape, dtype, seed=20 + step)
        for layer in (ours, ref):
            layer.zero_grad()
        same_step(ours, ref, x, grad, dtype, affine)
        if track:
            close(ours.running_mean, ref.running_mean, dtype)
            close(ours.running_var, ref.running_var, dtype)
            assert ours.num_batches_tracked.dtype == torch.long
            assert int(ours.num_batches_tracked) == int(ref.num_batches_tracked) == step + 1
        else:
            assert ours.running_mean is None and ours.running_var is None
            assert ours.num_batches_tracked is None
    ours.eval()
    ref.eval()
    for layer in (ours, ref):
        layer.zero_grad()
    x, grad = batch(shape, dtype, seed=30), batch(shape, dtype, seed=31)
    same_step(ours, ref, x, grad, dtype, affine)
    if track:  # eval leaves the running statistics alone
        assert int(ours.num_batches_tracked) == 3


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_generic_batchnorm_accepts_every_layout(shape):
    ours = bn.BatchNorm(shape[1]).double()
    ref = (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(shape[1]).double()
    x, grad = batch(shape, torch.float64, 1), batch(shape, torch.float64, 2)
    for a, b in zip(forward_backward(ours, x, grad), forward_backward(ref, x, grad), strict=True):
        close(a, b)
    close(ours.running_var, ref.running_var)


def test_affine_and_no_affine_agree_at_initialisation():
    x = batch((8, 3, 4, 4), torch.float64, 3)
    close(bn.BatchNorm2d(3).double()(x), bn.BatchNorm2d(3, affine=False).double()(x))


# --------------------------------------------------------------------------------------------------
# BatchNormFunction: F.batch_norm, gradcheck, three ways to the same gradient


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "noaffine"])
@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_function_matches_functional_batch_norm(shape, affine, dtype):
    x, grad = batch(shape, dtype, 4), batch(shape, dtype, 5)
    params = [torch.rand(shape[1], dtype=dtype) + 0.5, torch.randn(shape[1], dtype=dtype)] if affine else []
    inputs = [t.clone().requires_grad_(True) for t in [x, *params]]
    y, mean, var = bn.BatchNormFunction.apply(inputs[0], *(inputs[1:] or [None, None]), reduce_dims(x), 1e-5)
    y.backward(grad)
    ref_inputs = [t.clone().requires_grad_(True) for t in [x, *params]]
    y_ref = F.batch_norm(ref_inputs[0], None, None, *(ref_inputs[1:] or [None, None]), training=True,
                         eps=1e-5)
    y_ref.backward(grad)
    close(y, y_ref, dtype)
    for ours, ref in zip(inputs, ref_inputs, strict=True):
        close(ours.grad, ref.grad, dtype)
    ref_var, ref_mean = torch.var_mean(x, dim=reduce_dims(x), correction=0)
    close(mean, ref_mean, dtype)
    close(var, ref_var, dtype)
    assert not mean.requires_grad and not var.requires_grad


@pytest.mark.parametrize("shape,dims", [((6, 3), (0,)), ((3, 2, 3, 4), (0, 2, 3)), ((4, 5), (1,))],
                         ids=["2d", "4d", "2d-over-features"])
def test_gradcheck_float64(shape, dims):
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(shape, generator=gen, dtype=torch.float64, requires_grad=True)
    kept = [s for i, s in enumerate(shape) if i not in dims]
    gamma = (torch.rand(kept, generator=gen, dtype=torch.float64) + 0.5).requires_grad_(True)
    beta = torch.randn(kept, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(bn.BatchNormFunction.apply, (x, gamma, beta, dims, 1e-5))
    assert torch.autograd.gradcheck(bn.BatchNormFunction.apply, (x, None, None, dims, 1e-5))


def naive_batch_norm(x, gamma, beta, dims, eps):
    """Algorithm 1 written plainly, for autograd to differentiate."""
    mean = x.mean(dim=dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
    x_hat = (x - mean) / torch.sqrt(var + eps)
    stat = [1 if i in dims else s for i, s in enumerate(x.shape)]
    y = x_hat if gamma is None else x_hat * gamma.reshape(stat)
    return y if beta is None else y + beta.reshape(stat)


@pytest.mark.parametrize("with_gamma", [True, False], ids=["gamma", "nogamma"])
@pytest.mark.parametrize("shape,dims", [((16, 4), (0,)), ((4, 3, 5, 6), (0, 2, 3)), ((5, 6, 7), (1, 2)),
                                        ((6, 3, 4), (0, 2))], ids=["bn1d", "bn2d", "layer", "bn1d-seq"])
def test_six_formulas_equal_compact_form_and_autograd(shape, dims, with_gamma):
    x, grad = batch(shape, torch.float64, 7), batch(shape, torch.float64, 8)
    kept = [s for i, s in enumerate(shape) if i not in dims]
    gamma = torch.rand(kept, dtype=torch.float64) + 0.5 if with_gamma else None
    beta = torch.randn(kept, dtype=torch.float64)
    y, cache = bn.batch_norm_forward(x, gamma, beta, dims, 1e-5)
    six = bn.batch_norm_backward(grad, cache, gamma)
    compact = bn.batch_norm_backward_compact(grad, cache, gamma)
    leaves = [t.clone().requires_grad_(True) for t in (x, torch.ones(kept, dtype=torch.float64)
                                                         if gamma is None else gamma, beta)]
    y_naive = naive_batch_norm(leaves[0], leaves[1], leaves[2], dims, 1e-5)
    auto = torch.autograd.grad(y_naive, leaves, grad)
    close(y, y_naive.detach())
    for a, b, c in zip(six, compact, auto, strict=True):
        close(a, c)
        close(b, c)


def test_identity_is_recovered():
    """γ = √(Var + ε), β = E (the batch's own statistics) undo the normalization: y = x."""
    x = batch((32, 5), torch.float64, 9)
    var, mean = torch.var_mean(x, dim=0, correction=0)
    close(bn.normalize(x, (0,), torch.sqrt(var + 1e-5), mean), x)
    layer = bn.BatchNorm1d(5).double()
    with torch.no_grad():
        layer.weight.copy_(torch.sqrt(var + 1e-5))
        layer.bias.copy_(mean)
    close(layer(x), x)


# --------------------------------------------------------------------------------------------------
# Other axes: layer, instance and group norm


def grads_of(fn, x, params, grad):
    leaves = [t.clone().requires_grad_(True) for t in (x, *params)]
    y = fn(*leaves)
    return (y.detach(), *torch.autograd.grad(y, leaves, grad))


@pytest.mark.parametrize("shape,k", [((4, 3, 5), 1), ((4, 3, 5), 2), ((2, 3, 4, 5), 3)])
def test_layer_norm_matches_pytorch(shape, k):
    x, grad = batch(shape, torch.float64, 10), batch(shape, torch.float64, 11)
    w, b = torch.rand(shape[-k:], dtype=torch.float64) + 0.5, torch.randn(shape[-k:], dtype=torch.float64)
    ours = grads_of(lambda x, w, b: bn.layer_norm(x, k, w, b), x, (w, b), grad)
    ref = grads_of(lambda x, w, b: F.layer_norm(x, shape[-k:], w, b, 1e-5), x, (w, b), grad)
    for a, r in zip(ours, ref, strict=True):
        close(a, r)


@pytest.mark.parametrize("shape", [(4, 3, 5), (2, 3, 4, 5)])
def test_instance_norm_matches_pytorch(shape):
    x, grad = batch(shape, torch.float64, 12), batch(shape, torch.float64, 13)
    w, b = torch.rand(shape[1], dtype=torch.float64) + 0.5, torch.randn(shape[1], dtype=torch.float64)
    ours = grads_of(lambda x, w, b: bn.instance_norm(x, w, b), x, (w, b), grad)
    ref = grads_of(lambda x, w, b: F.instance_norm(x, weight=w, bias=b, eps=1e-5), x, (w, b), grad)
    for a, r in zip(ours, ref, strict=True):
        close(a, r)


@pytest.mark.parametrize("shape,groups", [((2, 6, 4, 5), 1), ((2, 6, 4, 5), 2), ((2, 6, 4, 5), 6),
                                          ((3, 6, 7), 3)])
def test_group_norm_matches_pytorch(shape, groups):
    x, grad = batch(shape, torch.float64, 14), batch(shape, torch.float64, 15)
    w, b = torch.rand(shape[1], dtype=torch.float64) + 0.5, torch.randn(shape[1], dtype=torch.float64)
    ours = grads_of(lambda x, w, b: bn.group_norm(x, groups, w, b), x, (w, b), grad)
    ref = grads_of(lambda x, w, b: F.group_norm(x, groups, w, b, 1e-5), x, (w, b), grad)
    for a, r in zip(ours, ref, strict=True):
        close(a, r)


# --------------------------------------------------------------------------------------------------
# state_dict, Algorithm 2, folding


@pytest.mark.parametrize("affine,track", [(True, True), (False, True), (True, False)],
                         ids=["affine-track", "noaffine-track", "affine-notrack"])
@pytest.mark.parametrize("ndim", [2, 4])
def test_state_dict_round_trip_with_pytorch(ndim, affine, track):
    shape = (8, 3) if ndim == 2 else (4, 3, 5, 5)
    ours, ref = pair(shape, torch.float64, affine=affine, track_running_stats=track)
    for seed in range(2):
        ours(batch(shape, torch.float64, seed))
    ref.load_state_dict(ours.state_dict(), strict=True)
    back = type(ours)(3, affine=affine, track_running_stats=track).double()
    back.load_state_dict(ref.state_dict(), strict=True)
    assert ours.state_dict().keys() == ref.state_dict().keys() == back.state_dict().keys()
    for layer in (ours, ref, back):
        layer.eval()
    x = batch(shape, torch.float64, 5)
    close(ref(x), ours(x))
    close(back(x), ours(x))


def test_population_stats_equal_cumulative_running_stats():
    """Algorithm 2's E[x], Var[x] == running statistics with momentum=None after one pass."""
    for shape, ref in (((20, 4), nn.BatchNorm1d(4, momentum=None)),
                       ((5, 4, 3, 3), nn.BatchNorm2d(4, momentum=None))):
        batches = [batch(shape, torch.float64, 40 + k) for k in range(6)]
        ref, ours = ref.double(), bn.BatchNorm(4, momentum=None).double()
        for x in batches:
            ref(x)
            ours(x)
        mean, var = bn.population_stats(batches, dims=reduce_dims(batches[0]))
        close(mean, ref.running_mean)
        close(var, ref.running_var)
        close(ours.running_var, ref.running_var)


def test_inference_affine_is_eval_mode_batch_norm():
    x = batch((10, 4), torch.float64, 16)
    mean, var = torch.randn(4, dtype=torch.float64), torch.rand(4, dtype=torch.float64) + 0.5
    gamma, beta = torch.randn(4, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
    scale, shift = bn.inference_affine(gamma, beta, mean, var, 1e-3)
    close(scale * x + shift, F.batch_norm(x, mean, var, gamma, beta, training=False, eps=1e-3))
    scale, shift = bn.inference_affine(None, None, mean, var, 1e-3)
    close(scale * x + shift, F.batch_norm(x, mean, var, training=False, eps=1e-3))


def trained_bn(cls, n, affine=True):
    """A batch-norm layer with non-trivial running statistics and parameters, in eval mode."""
    layer = cls(n, affine=affine).double()
    shape = (16, n) if cls in (bn.BatchNorm1d, nn.BatchNorm1d) else (4, n, 3, 3)
    for seed in range(3):
        layer(batch(shape, torch.float64, 50 + seed))
    if affine:
        with torch.no_grad():
            layer.weight.uniform_(0.5, 1.5)
            layer.bias.normal_()
    return layer.eval()


@pytest.mark.parametrize("bn_cls", [bn.BatchNorm1d, nn.BatchNorm1d], ids=["ours", "torch"])
@pytest.mark.parametrize("bias,affine", [(True, True), (False, True), (True, False)],
                         ids=["bias", "nobias", "noaffine"])
def test_fold_into_linear(bn_cls, bias, affine):
    torch.manual_seed(0)
    linear = nn.Linear(5, 4, bias=bias).double()
    norm = trained_bn(bn_cls, 4, affine)
    folded = bn.fold_into_linear(linear, norm)
    assert folded is not linear and folded.bias is not None
    x = batch((7, 5), torch.float64, 17)
    close(folded(x), norm(linear(x)))


@pytest.mark.parametrize("bn_cls", [bn.BatchNorm2d, nn.BatchNorm2d], ids=["ours", "torch"])
@pytest.mark.parametrize("conv_kwargs", [{"bias": False}, {"bias": True, "stride": 2, "padding": 1},
                                         {"bias": False, "groups": 2, "dilation": 2}],
                         ids=["nobias", "bias-stride-padding", "groups-dilation"])
def test_fold_into_conv2d(bn_cls, conv_kwargs):
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 6, 3, **conv_kwargs).double()
    norm = trained_bn(bn_cls, 6)
    folded = bn.fold_into_conv2d(conv, norm)
    assert folded is not conv and folded.bias is not None
    x = batch((2, 4, 9, 9), torch.float64, 18)
    close(folded(x), norm(conv(x)))


# --------------------------------------------------------------------------------------------------
# Bad input: each error names the value and what is allowed


def test_layer_errors():
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        bn.BatchNorm1d(3)(torch.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        bn.BatchNorm2d(3)(torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match=r"expected at least 2D input"):
        bn.BatchNorm(3)(torch.randn(3))
    with pytest.raises(ValueError, match=r"expected 4 channels .* got 3"):
        bn.BatchNorm2d(4)(torch.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, got input "
                                         r"size \(1, 3\)"):
        bn.BatchNorm1d(3)(torch.randn(1, 3))
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel"):
        bn.BatchNorm2d(3)(torch.randn(1, 3, 1, 1))
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel"):  # batch stats in eval
        bn.BatchNorm1d(3, track_running_stats=False).eval()(torch.randn(1, 3))
    bn.BatchNorm1d(3).eval()(torch.randn(1, 3))  # running statistics: one example is fine
    with pytest.raises(ValueError, match=r"Invalid eps: 0.0 \(must be in \(0.0, inf\)\)"):
        bn.BatchNorm1d(3, eps=0)
    with pytest.raises(ValueError, match=r"Invalid eps: -1e-05"):
        bn.BatchNorm1d(3, eps=-1e-5)
    for momentum in (1.5, -0.1):
        with pytest.raises(ValueError, match=rf"Invalid momentum: {momentum} \(must be in \[0.0, 1.0\]\)"):
            bn.BatchNorm1d(3, momentum=momentum)
    with pytest.raises(ValueError, match=r"Invalid num_features: 0 \(must be >= 1\)"):
        bn.BatchNorm1d(0)
    with pytest.raises(TypeError, match=r"num_features must be an integer, got 2.5"):
        bn.BatchNorm1d(2.5)


def test_function_and_helper_errors():
    x = torch.randn(4, 3)
    with pytest.raises(ValueError, match=r"gamma must have shape \(3,\) .* got \(1,\); nothing is broadcast"):
        bn.normalize(x, (0,), torch.ones(1))
    with pytest.raises(ValueError, match=r"beta must have shape \(4,\)"):
        bn.normalize(x, (1,), None, torch.zeros(3))
    with pytest.raises(ValueError, match=r"Invalid dims: \(2,\) \(axis 2 is out of range for a 2-D input"):
        bn.normalize(x, (2,))
    with pytest.raises(ValueError, match=r"Invalid dims: \(0, -2\) \(an axis is repeated\)"):
        bn.normalize(x, (0, -2))
    with pytest.raises(ValueError, match=r"Invalid dims: \(\) \(must be a non-empty tuple"):
        bn.normalize(x, ())
    with pytest.raises(TypeError, match=r"floating-point tensor, got Tensor of dtype torch.int64"):
        bn.normalize(torch.ones(4, 3, dtype=torch.long), (0,))
    with pytest.raises(ValueError, match=r"Invalid eps: 0.0"):
        bn.normalize(x, (0,), eps=0.0)
    with pytest.raises(TypeError, match=r"weight is torch.float32 but the input is torch.float64"):
        bn.BatchNorm1d(3)(x.double())
    with pytest.raises(ValueError, match=r"Invalid num_groups: 4 \(must divide the number of channels 6\)"):
        bn.group_norm(torch.randn(2, 6, 3), 4)
    with pytest.raises(ValueError, match=r"weight must have shape \(5,\), got \(3,\)"):
        bn.layer_norm(torch.randn(2, 3, 5), 1, torch.ones(3))
    with pytest.raises(ValueError, match=r"instance_norm expects an \(N, C, \*spatial\) input"):
        bn.instance_norm(torch.randn(2, 3))
    with pytest.raises(ValueError, match=r"var must have the shape of mean \(3,\), got \(4,\)"):
        bn.inference_affine(None, None, torch.zeros(3), torch.ones(4))


def test_algorithm2_and_folding_errors():
    with pytest.raises(ValueError, match=r"batches is empty"):
        bn.population_stats([])
    with pytest.raises(ValueError, match=r"batch 1 has 5 values per feature .* batch 0 has 4"):
        bn.population_stats([torch.randn(4, 3), torch.randn(5, 3)])
    with pytest.raises(ValueError, match=r"unbiased variance needs m >= 2"):
        bn.population_stats([torch.randn(1, 3)])
    linear = nn.Linear(3, 4)
    with pytest.raises(ValueError, match=r"no running statistics \(track_running_stats=False\)"):
        bn.fold_into_linear(linear, nn.BatchNorm1d(4, track_running_stats=False))
    with pytest.raises(ValueError, match=r"bn.num_features = 5 does not match the 4 outputs of the linear"):
        bn.fold_into_linear(linear, bn.BatchNorm1d(5))
    with pytest.raises(ValueError, match=r"bn.num_features = 4 does not match the 6 outputs of the conv"):
        bn.fold_into_conv2d(nn.Conv2d(3, 6, 3), nn.BatchNorm2d(4))
    with pytest.raises(TypeError, match=r"bn must be a batch-norm layer .*, got LayerNorm"):
        bn.fold_into_linear(linear, nn.LayerNorm(4))
    with pytest.raises(TypeError, match=r"conv must be an nn.Conv2d, got Linear"):
        bn.fold_into_conv2d(linear, nn.BatchNorm2d(4))


# --------------------------------------------------------------------------------------------------
# Synchronized batch norm: two gloo worker processes on CPU

HAVE_GLOO = torch.distributed.is_available() and torch.distributed.is_gloo_available()
needs_gloo = pytest.mark.skipif(not HAVE_GLOO, reason="torch.distributed with gloo is not available")


@needs_gloo
def test_sync_batch_norm_equals_full_batch_norm_on_two_workers():
    shape = (8, 3, 4, 5)
    x_full, grad_full = batch(shape, torch.float64, 60), batch(shape, torch.float64, 61)
    weight, bias = torch.rand(3, dtype=torch.float64) + 0.5, torch.randn(3, dtype=torch.float64)
    workers = bn.run_data_parallel(bn.data_parallel_bn_step, x_full, grad_full, weight, bias, 0.1,
                                   world_size=2, timeout_s=120)

    ref = nn.BatchNorm2d(3).double()  # one process, the whole batch
    with torch.no_grad():
        ref.weight.copy_(weight)
        ref.bias.copy_(bias)
    y_full, gx_full = forward_backward(ref, x_full, grad_full)

    sync = [w["sync"] for w in workers]
    close(torch.cat([s["y"] for s in sync]), y_full)
    close(torch.cat([s["grad_x"] for s in sync]), gx_full)
    close(sum(s["grad_weight"] for s in sync), ref.weight.grad)  # data parallel adds worker gradients
    close(sum(s["grad_bias"] for s in sync), ref.bias.grad)
    for s in sync:
        close(s["running_mean"], ref.running_mean)
        close(s["running_var"], ref.running_var)

    local = [w["local"] for w in workers]  # per-worker statistics: a different normalization
    for name, full in (("y", y_full), ("grad_x", gx_full)):
        assert (torch.cat([s[name] for s in local]) - full).abs().max() > 1e-3
    for s in local:
        assert (s["running_mean"] - ref.running_mean).abs().max() > 1e-3
        assert (s["running_var"] - ref.running_var).abs().max() > 1e-3


@needs_gloo
def test_run_data_parallel_reports_a_failing_worker():
    with pytest.raises(RuntimeError, match=r"(?s)worker \d of 2 failed:.*TypeError: x_full must be a torch"):
        bn.run_data_parallel(bn.data_parallel_bn_step, "not a tensor", None, world_size=2, timeout_s=120)


def test_sync_needs_an_initialized_process_group():
    with pytest.raises(RuntimeError, match=r"sync_batch_stats needs torch.distributed to be initialized"):
        bn.sync_batch_stats(torch.randn(4, 3), (0,))
    layer = bn.BatchNorm1d(3, sync=True).double()  # without a process group: plain batch norm
    x = batch((6, 3), torch.float64, 62)
    close(layer(x), F.batch_norm(x, None, None, training=True))


def test_run_data_parallel_argument_errors():
    with pytest.raises(ValueError, match=r"Invalid world_size: 0 \(must be >= 1\)"):
        bn.run_data_parallel(bn.data_parallel_bn_step, world_size=0)
    with pytest.raises(TypeError, match=r"fn must be callable, got int"):
        bn.run_data_parallel(3)
    with pytest.raises(ValueError, match=r"Invalid timeout_s: 0.0"):
        bn.run_data_parallel(bn.data_parallel_bn_step, timeout_s=0)



def test_recompute_population_stats_is_algorithm_2_for_every_layer():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5, momentum=0.3), nn.ReLU(), nn.Linear(5, 4),
                        bn.BatchNorm1d(4))
    X = torch.randn(50, 6, dtype=torch.float64)
    net = net.double().eval()
    used = bn.recompute_population_stats(net, X, batch_size=16)
    assert used == 3 and not net.training and net[1].momentum == 0.3 and net[4].momentum == 0.1
    first_inputs = [net[0](X[k * 16:(k + 1) * 16]).detach() for k in range(3)]
    mean, var = bn.population_stats(first_inputs)
    torch.testing.assert_close(net[1].running_mean, mean, rtol=0, atol=1e-12)
    torch.testing.assert_close(net[1].running_var, var, rtol=0, atol=1e-12)
    assert int(net[1].num_batches_tracked) == 3
    with pytest.raises(ValueError, match="fewer than one batch of 64"):
        bn.recompute_population_stats(net, X, batch_size=64)
    with pytest.raises(ValueError, match="no batch-norm layer"):
        bn.recompute_population_stats(nn.Linear(2, 2), X, batch_size=4)
