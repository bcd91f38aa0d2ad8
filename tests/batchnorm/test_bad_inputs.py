"""Bad calls a new user of trainwell.batchnorm could make, one row each: the call raises the stated
exception, and its message names the argument (and says what it got or what is allowed).

Every public name of the subpackage has rows. The behaviour that must equal PyTorch's (not bad input)
is tested in test_torch_parity.py.
"""
from __future__ import annotations

import threading

import pytest
import torch
from torch import nn

from trainwell import batchnorm as bn

NAN = float("nan")


def x2(n=8, c=3, dtype=torch.float32):
    return torch.randn(n, c, generator=torch.Generator().manual_seed(0)).to(dtype)


def cache_of(x=None, gamma=None):
    return bn.batch_norm_forward(x2() if x is None else x, gamma, None, (0,))[1]


def eval_layer(cls=bn.BatchNorm1d, c=3, **kwargs):
    return cls(c, **kwargs).eval()


def without_running_var():
    layer = bn.BatchNorm1d(3).eval()
    layer.running_var = None
    return layer


def with_nan(x):
    x = x.clone()
    x.view(-1)[0] = NAN
    return x


def trained_bn(cls=bn.BatchNorm1d, c=4, **kwargs):
    layer = cls(c, **kwargs)
    layer(torch.randn(8, c) if cls is bn.BatchNorm1d else torch.randn(2, c, 3, 3))
    return layer.eval()


def bn_with(name, value, cls=bn.BatchNorm1d, c=4):
    layer = trained_bn(cls, c)
    with torch.no_grad():
        getattr(layer, name)[0] = value
    return layer


CASES = [
    # --- CenteredBias (motivation) ---
    ("centered-through-mean-str", lambda: bn.CenteredBias(through_mean="yes"), TypeError,
     "through_mean must be True or False"),
    ("centered-dtype-int", lambda: bn.CenteredBias(through_mean=True, dtype=torch.long), TypeError,
     "Invalid dtype: torch.int64"),
    ("centered-u-wide", lambda: bn.CenteredBias(through_mean=True)(torch.randn(4, 3)), ValueError,
     "u must have shape (any, 1)"),
    ("centered-u-dtype", lambda: bn.CenteredBias(through_mean=True)(torch.randn(4, 1, dtype=torch.float64)),
     TypeError, "u is torch.float64"),
    ("centered-u-empty", lambda: bn.CenteredBias(through_mean=False)(torch.randn(0, 1)), ValueError,
     "u is empty"),
    # --- batch_norm_forward ---
    ("forward-int-x", lambda: bn.batch_norm_forward(torch.ones(4, 3, dtype=torch.long), None, None, (0,)),
     TypeError, "x must be a floating-point tensor"),
    ("forward-empty-x", lambda: bn.batch_norm_forward(torch.randn(0, 3), None, None, (0,)), ValueError,
     "x is empty"),
    ("forward-dims-float", lambda: bn.batch_norm_forward(x2(), None, None, (0.5,)), TypeError,
     "dims entry must be an integer"),
    ("forward-dims-out-of-range", lambda: bn.batch_norm_forward(x2(), None, None, (2,)), ValueError,
     "Invalid dims: (2,)"),
    ("forward-gamma-broadcasts", lambda: bn.batch_norm_forward(x2(), torch.ones(1), None, (0,)), ValueError,
     "gamma must have shape (3,)"),
    ("forward-gamma-dtype", lambda: bn.batch_norm_forward(x2(), torch.ones(3, dtype=torch.float64), None,
                                                          (0,)), TypeError, "gamma is torch.float64"),
    ("forward-eps-zero", lambda: bn.batch_norm_forward(x2(), None, None, (0,), eps=0.0), ValueError,
     "Invalid eps: 0.0"),
    ("forward-eps-str", lambda: bn.batch_norm_forward(x2(), None, None, (0,), eps="1e-5"), TypeError,
     "eps must be a real number"),
    ("forward-eps-nan", lambda: bn.batch_norm_forward(x2(), None, None, (0,), eps=NAN), ValueError,
     "Invalid eps: nan"),
    # --- batch_norm_backward (the six formulas) ---
    ("backward-grad-broadcasts", lambda: bn.batch_norm_backward(torch.ones(1, 3), cache_of()), ValueError,
     "grad_y must have the shape of the forward's input (8, 3), got (1, 3)"),
    ("backward-grad-transposed", lambda: bn.batch_norm_backward(torch.ones(3, 8), cache_of()), ValueError,
     "grad_y must have the shape"),
    ("backward-grad-dtype", lambda: bn.batch_norm_backward(torch.ones(8, 3, dtype=torch.float64), cache_of()),
     TypeError, "grad_y is torch.float64"),
    ("backward-grad-list", lambda: bn.batch_norm_backward([[1.0] * 3] * 8, cache_of()), TypeError,
     "grad_y must be a tensor"),
    ("backward-cache-tuple", lambda: bn.batch_norm_backward(torch.ones(8, 3), tuple(cache_of())), TypeError,
     "cache must be the BNCache"),
    ("backward-gamma-shape", lambda: bn.batch_norm_backward(torch.ones(8, 3), cache_of(), torch.ones(4)),
     ValueError, "gamma must have shape (3,)"),
    # --- batch_norm_backward_compact ---
    ("compact-grad-broadcasts", lambda: bn.batch_norm_backward_compact(torch.ones(1, 3), cache_of()),
     ValueError, "grad_y must have the shape of the forward's input (8, 3), got (1, 3)"),
    ("compact-grad-scalar", lambda: bn.batch_norm_backward_compact(torch.tensor(1.0), cache_of()), ValueError,
     "grad_y must have the shape"),
    ("compact-cache-none", lambda: bn.batch_norm_backward_compact(torch.ones(8, 3), None), TypeError,
     "cache must be the BNCache"),
    # --- BatchNormFunction and normalize ---
    ("function-gamma-broadcasts", lambda: bn.BatchNormFunction.apply(x2(), torch.ones(1), None, (0,), 1e-5),
     ValueError, "gamma must have shape (3,)"),
    ("function-dims-repeated", lambda: bn.BatchNormFunction.apply(x2(), None, None, (0, -2), 1e-5),
     ValueError, "Invalid dims: (0, -2) (an axis is repeated)"),
    ("function-eps-negative", lambda: bn.BatchNormFunction.apply(x2(), None, None, (0,), -1e-5), ValueError,
     "Invalid eps: -1e-05"),
    ("normalize-x-list", lambda: bn.normalize([[1.0, 2.0], [3.0, 4.0]], (0,)), TypeError,
     "x must be a floating-point tensor, got list"),
    ("normalize-dims-empty", lambda: bn.normalize(x2(), ()), ValueError, "Invalid dims: ()"),
    ("normalize-dims-bool", lambda: bn.normalize(x2(), True), ValueError, "Invalid dims: True"),
    ("normalize-beta-device", lambda: bn.normalize(x2(), (0,), None, torch.zeros(3, device="meta")),
     TypeError, "beta is torch.float32 on meta"),
    # --- layer_norm ---
    ("layer-norm-ndim-zero", lambda: bn.layer_norm(x2(), 0), ValueError, "Invalid normalized_ndim: 0"),
    ("layer-norm-ndim-too-big", lambda: bn.layer_norm(x2(), 3), ValueError, "Invalid normalized_ndim: 3"),
    ("layer-norm-weight-broadcasts", lambda: bn.layer_norm(torch.randn(2, 3, 5), 1, torch.ones(1)),
     ValueError, "weight must have shape (5,), got (1,)"),
    ("layer-norm-weight-dtype", lambda: bn.layer_norm(x2(), 1, torch.ones(3, dtype=torch.float64)), TypeError,
     "weight is torch.float64 but x is torch.float32"),
    ("layer-norm-int-x", lambda: bn.layer_norm(torch.ones(2, 3, dtype=torch.long), 1), TypeError,
     "x must be a floating-point tensor"),
    ("layer-norm-eps-zero", lambda: bn.layer_norm(x2(), 1, eps=0), ValueError, "Invalid eps: 0.0"),
    ("layer-norm-x-none", lambda: bn.layer_norm(None, 1), TypeError,
     "x must be a torch.Tensor, got NoneType"),
    # --- instance_norm ---
    ("instance-norm-2d", lambda: bn.instance_norm(x2()), ValueError,
     "instance_norm expects an (N, C, *spatial) input"),
    ("instance-norm-one-spatial-element", lambda: bn.instance_norm(torch.randn(2, 3, 1, 1)), ValueError,
     "got input size (2, 3, 1, 1)"),
    ("instance-norm-bias-shape", lambda: bn.instance_norm(torch.randn(2, 3, 5), None, torch.zeros(4)),
     ValueError, "bias must have shape (3,), got (4,)"),
    ("instance-norm-weight-bf16", lambda: bn.instance_norm(torch.randn(2, 3, 5),
                                                           torch.ones(3, dtype=torch.bfloat16)),
     TypeError, "weight is torch.bfloat16 but x is torch.float32"),
    # --- group_norm ---
    ("group-norm-zero-groups", lambda: bn.group_norm(torch.randn(2, 6, 3), 0), ValueError,
     "Invalid num_groups: 0"),
    ("group-norm-groups-not-dividing", lambda: bn.group_norm(torch.randn(2, 6, 3), 4), ValueError,
     "Invalid num_groups: 4 (must divide the number of channels 6)"),
    ("group-norm-groups-float", lambda: bn.group_norm(torch.randn(2, 6, 3), 2.0), TypeError,
     "num_groups must be an integer"),
    ("group-norm-1d-x", lambda: bn.group_norm(torch.randn(6), 2), ValueError,
     "group_norm expects an (N, C, *) input"),
    ("group-norm-bias-dtype", lambda: bn.group_norm(torch.randn(2, 6, 3), 2, torch.ones(6),
                                                    torch.zeros(6, dtype=torch.float64)),
     TypeError, "bias is torch.float64 but x is torch.float32"),
    # --- BatchNorm / BatchNorm1d / BatchNorm2d: construction ---
    ("layer-num-features-negative", lambda: bn.BatchNorm(-1), ValueError, "Invalid num_features: -1"),
    ("layer-num-features-zero", lambda: bn.BatchNorm2d(0), ValueError, "Invalid num_features: 0"),
    ("layer-num-features-float", lambda: bn.BatchNorm1d(2.5), TypeError, "num_features must be an integer"),
    ("layer-eps-zero", lambda: bn.BatchNorm1d(3, eps=0), ValueError, "Invalid eps: 0.0"),
    ("layer-momentum-above-one", lambda: bn.BatchNorm1d(3, momentum=1.5), ValueError,
     "Invalid momentum: 1.5"),
    ("layer-momentum-negative", lambda: bn.BatchNorm2d(3, momentum=-0.1), ValueError,
     "Invalid momentum: -0.1"),
    ("layer-momentum-str", lambda: bn.BatchNorm1d(3, momentum="0.1"), TypeError,
     "momentum must be a real number"),
    ("layer-affine-str", lambda: bn.BatchNorm1d(3, affine="no"), TypeError, "affine must be True or False"),
    ("layer-track-int", lambda: bn.BatchNorm1d(3, track_running_stats=1), TypeError,
     "track_running_stats must be True or False"),
    ("layer-bias-str", lambda: bn.BatchNorm1d(3, bias="yes"), TypeError, "bias must be True or False"),
    ("layer-dtype-long", lambda: bn.BatchNorm1d(3, dtype=torch.long), TypeError,
     "Invalid dtype: torch.int64"),
    ("layer-device-unknown", lambda: bn.BatchNorm2d(3, device="gpu0"), ValueError, "Invalid device: 'gpu0'"),
    # --- BatchNorm / BatchNorm1d / BatchNorm2d: forward ---
    ("bn1d-4d-input", lambda: bn.BatchNorm1d(3)(torch.randn(2, 3, 4, 4)), ValueError,
     "expected 2D or 3D input (got 4D input)"),
    ("bn2d-3d-input", lambda: bn.BatchNorm2d(3)(torch.randn(2, 3, 4)), ValueError,
     "expected 4D input (got 3D input)"),
    ("bn-1d-input", lambda: bn.BatchNorm(3)(torch.randn(3)), ValueError, "expected at least 2D input"),
    ("bn-wrong-channels", lambda: bn.BatchNorm2d(4)(torch.randn(2, 3, 4, 4)), ValueError,
     "expected 4 channels (num_features) in dim 1, got 3"),
    ("bn-one-value-per-channel", lambda: bn.BatchNorm1d(3)(torch.randn(1, 3)), ValueError,
     "got input size (1, 3)"),
    ("bn-one-value-eval-no-stats", lambda: eval_layer(track_running_stats=False)(torch.randn(1, 3)),
     ValueError, "got input size (1, 3)"),
    ("bn-input-list", lambda: bn.BatchNorm1d(3)([[1.0, 2.0, 3.0]] * 4), TypeError,
     "input must be a torch.Tensor, got list"),
    ("bn-train-int64", lambda: bn.BatchNorm1d(3)(torch.ones(4, 3, dtype=torch.long)), TypeError,
     "input must be a floating-point tensor"),
    ("bn-eval-int64", lambda: eval_layer()(torch.ones(4, 3, dtype=torch.long)), TypeError,
     "input must be a floating-point tensor"),
    ("bn-eval-bool", lambda: eval_layer()(torch.ones(4, 3, dtype=torch.bool)), TypeError,
     "input must be a floating-point tensor"),
    ("bn-eval-complex", lambda: eval_layer()(torch.ones(4, 3, dtype=torch.complex64)), TypeError,
     "input must be a floating-point tensor"),
    ("bn-eval-float64-on-float32", lambda: eval_layer()(x2(dtype=torch.float64)), TypeError,
     "weight is torch.float32 but the input is torch.float64"),
    ("bn-eval-noaffine-float64-on-float32", lambda: eval_layer(affine=False)(x2(dtype=torch.float64)),
     TypeError, "running_mean is torch.float32 but the input is torch.float64"),
    ("bn-train-half-module-bf16-input", lambda: bn.BatchNorm1d(3).half()(x2(dtype=torch.bfloat16)),
     TypeError, "weight is torch.float16 but the input is torch.bfloat16"),
    ("bn-eval-one-buffer-missing", lambda: without_running_var()(x2()), ValueError,
     "running_mean and running_var must both be tensors or both be None"),
    ("bn-device-mismatch", lambda: bn.BatchNorm1d(3, device="meta")(x2()), TypeError,
     "weight is on meta but the input is on cpu"),
    # --- population_stats ---
    ("population-one-tensor", lambda: bn.population_stats(torch.randn(10, 3)), TypeError,
     "batches must be an iterable of mini-batch tensors, got one tensor of shape (10, 3)"),
    ("population-int", lambda: bn.population_stats(5), TypeError,
     "batches must be an iterable of mini-batch tensors, got int"),
    ("population-pairs", lambda: bn.population_stats([(x2(), torch.zeros(8))]), TypeError,
     "batches[0] must be a torch.Tensor, got tuple"),
    ("population-nan", lambda: bn.population_stats([x2(), with_nan(x2())]), ValueError,
     "batches[1] holds 1 non-finite value"),
    ("population-mixed-dtypes", lambda: bn.population_stats([x2(), x2(dtype=torch.float64)]), TypeError,
     "batches[1] is torch.float64 on cpu but batches[0] is torch.float32"),
    ("population-empty-batch", lambda: bn.population_stats([torch.randn(0, 3)]), ValueError,
     "batches[0] is empty"),
    ("population-int-batch", lambda: bn.population_stats([torch.ones(4, 3, dtype=torch.long)]), TypeError,
     "batches[0] must be a floating-point tensor"),
    ("population-dims-out-of-range", lambda: bn.population_stats([x2()], dims=(3,)), ValueError,
     "Invalid dims: (3,)"),
    ("population-no-batches", lambda: bn.population_stats(iter([])), ValueError, "batches is empty"),
    ("population-batch-sizes-differ", lambda: bn.population_stats([x2(4), x2(5)]), ValueError,
     "batch 1 has 5 values per feature"),
    # --- inference_affine ---
    ("affine-negative-var", lambda: bn.inference_affine(None, None, torch.zeros(3),
                                                        torch.tensor([1.0, -1, 1])),
     ValueError, "var holds 1 negative value(s)"),
    ("affine-nan-mean", lambda: bn.inference_affine(None, None, torch.tensor([0.0, NAN, 0]), torch.ones(3)),
     ValueError, "mean holds 1 non-finite value(s)"),
    ("affine-gamma-broadcasts", lambda: bn.inference_affine(torch.ones(1), None, torch.zeros(3),
                                                            torch.ones(3)),
     ValueError, "gamma must have the shape of mean (3,), got (1,)"),
    ("affine-dtype-mix", lambda: bn.inference_affine(None, None, torch.zeros(3),
                                                     torch.ones(3, dtype=torch.float64)),
     TypeError, "var is torch.float64 on cpu but mean is torch.float32"),
    ("affine-mean-list", lambda: bn.inference_affine(None, None, [0.0, 0.0], torch.ones(2)), TypeError,
     "mean must be a torch.Tensor, got list"),
    ("affine-int-mean", lambda: bn.inference_affine(None, None, torch.zeros(3, dtype=torch.long),
                                                    torch.ones(3, dtype=torch.long)),
     TypeError, "mean must be a floating-point tensor"),
    ("affine-eps-zero", lambda: bn.inference_affine(None, None, torch.zeros(3), torch.ones(3), eps=0.0),
     ValueError, "Invalid eps: 0.0"),
    # --- fold_into_linear / fold_into_conv2d ---
    ("fold-linear-not-linear", lambda: bn.fold_into_linear(nn.Conv2d(3, 4, 1), trained_bn()), TypeError,
     "linear must be an nn.Linear, got Conv2d"),
    ("fold-linear-not-batch-norm", lambda: bn.fold_into_linear(nn.Linear(3, 4), nn.LayerNorm(4)), TypeError,
     "bn must be a batch-norm layer"),
    ("fold-linear-features", lambda: bn.fold_into_linear(nn.Linear(3, 4), trained_bn(c=5)), ValueError,
     "bn.num_features = 5 does not match the 4 outputs of the linear layer"),
    ("fold-linear-no-stats", lambda: bn.fold_into_linear(nn.Linear(3, 4),
                                                         bn.BatchNorm1d(4, track_running_stats=False)),
     ValueError, "bn has no running statistics"),
    ("fold-linear-nan-stats", lambda: bn.fold_into_linear(nn.Linear(3, 4), bn_with("running_mean", NAN)),
     ValueError, "bn.running_mean holds 1 non-finite value(s)"),
    ("fold-linear-negative-var", lambda: bn.fold_into_linear(nn.Linear(3, 4), bn_with("running_var", -1.0)),
     ValueError, "bn.running_var holds 1 negative value(s)"),
    ("fold-linear-dtype", lambda: bn.fold_into_linear(nn.Linear(3, 4), trained_bn().double()), TypeError,
     "bn is torch.float64 but the linear layer is torch.float32"),
    ("fold-conv-not-conv", lambda: bn.fold_into_conv2d(nn.Linear(3, 4), trained_bn(bn.BatchNorm2d)),
     TypeError, "conv must be an nn.Conv2d, got Linear"),
    ("fold-conv-channels", lambda: bn.fold_into_conv2d(nn.Conv2d(3, 6, 3), trained_bn(bn.BatchNorm2d)),
     ValueError, "bn.num_features = 4 does not match the 6 outputs of the convolution"),
    ("fold-conv-device", lambda: bn.fold_into_conv2d(nn.Conv2d(3, 4, 3), bn.BatchNorm2d(4, device="meta")),
     TypeError, "bn is on meta but the convolution is on cpu"),
    # --- sync_batch_stats, run_data_parallel, data_parallel_bn_step ---
    ("sync-int-x", lambda: bn.sync_batch_stats(torch.ones(4, 3, dtype=torch.long), (0,)), TypeError,
     "x must be a floating-point tensor"),
    ("sync-dims-out-of-range", lambda: bn.sync_batch_stats(x2(), (5,)), ValueError, "Invalid dims: (5,)"),
    ("run-world-size-zero", lambda: bn.run_data_parallel(bn.data_parallel_bn_step, world_size=0), ValueError,
     "Invalid world_size: 0"),
    ("run-fn-not-callable", lambda: bn.run_data_parallel(3), TypeError, "fn must be callable, got int"),
    ("run-timeout-negative", lambda: bn.run_data_parallel(bn.data_parallel_bn_step, timeout_s=-1), ValueError,
     "Invalid timeout_s: -1.0"),
    ("run-fn-lambda", lambda: bn.run_data_parallel(lambda rank, world: rank), TypeError,
     "fn must be picklable"),
    ("run-args-unpicklable", lambda: bn.run_data_parallel(bn.data_parallel_bn_step, threading.Lock()),
     TypeError, "args must be picklable"),
    ("step-rank-out-of-range", lambda: bn.data_parallel_bn_step(2, 2, x2(), x2()), ValueError,
     "Invalid rank: 2 (must be <= 1)"),
    ("step-grad-shape", lambda: bn.data_parallel_bn_step(0, 2, x2(), torch.ones(8)), ValueError,
     "grad_full must have shape (8, 3)"),
    ("step-grad-dtype", lambda: bn.data_parallel_bn_step(0, 2, x2(), x2(dtype=torch.float64)), TypeError,
     "grad_full is torch.float64 but x_full is torch.float32"),
    ("step-weight-broadcasts", lambda: bn.data_parallel_bn_step(0, 2, x2(), x2(), torch.ones(1)), ValueError,
     "weight must have shape (3,)"),
    ("step-x-str", lambda: bn.data_parallel_bn_step(0, 2, "x", x2()), TypeError,
     "x_full must be a torch.Tensor, got str"),
    ("step-too-few-examples", lambda: bn.data_parallel_bn_step(0, 2, x2(1), x2(1)), ValueError,
     "x_full has 1 examples, fewer than the 2 workers"),
    ("step-momentum", lambda: bn.data_parallel_bn_step(0, 1, x2(), x2(), momentum=2), ValueError,
     "Invalid momentum: 2"),
    # --- recompute_population_stats (re-exported from trainwell.models) ---
    ("recompute-batch-size-one", lambda: bn.recompute_population_stats(bn.BatchNorm1d(3), x2(), batch_size=1),
     ValueError, "Invalid batch_size: 1"),
]


@pytest.mark.parametrize("call,exc,phrase", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_rejected_clearly(call, exc, phrase):
    with pytest.raises(exc) as info:
        call()
    assert phrase in str(info.value), f"message {str(info.value)!r} lacks {phrase!r}"


def test_the_table_covers_every_public_name():
    named = " ".join(case[0] for case in CASES)
    prefixes = {"CenteredBias": "centered-", "batch_norm_forward": "forward-",
                "batch_norm_backward": "backward-", "batch_norm_backward_compact": "compact-",
                "BatchNormFunction": "function-", "normalize": "normalize-", "layer_norm": "layer-norm-",
                "instance_norm": "instance-norm-", "group_norm": "group-norm-", "BatchNorm": "bn-",
                "BatchNorm1d": "bn1d-", "BatchNorm2d": "bn2d-", "population_stats": "population-",
                "inference_affine": "affine-", "fold_into_linear": "fold-linear-",
                "fold_into_conv2d": "fold-conv-", "sync_batch_stats": "sync-", "run_data_parallel": "run-",
                "data_parallel_bn_step": "step-", "recompute_population_stats": "recompute-",
                "BNCache": "backward-cache-"}
    assert set(prefixes) == set(bn.__all__)
    for name, prefix in prefixes.items():
        assert prefix in named, f"no bad-input row for {name}"
    assert len(CASES) >= 60 and len({case[0] for case in CASES}) == len(CASES)


def test_a_rejected_training_step_changes_no_buffer():
    """Validation comes before the state changes (PyTorch counts the batch before it fails)."""
    layer = bn.BatchNorm1d(3)
    layer(x2())
    before = {name: buf.clone() for name, buf in layer.named_buffers()}
    for bad in (torch.randn(1, 3), torch.ones(4, 3, dtype=torch.long), x2(dtype=torch.float64)):
        with pytest.raises((TypeError, ValueError)):
            layer(bad)
    for name, buf in layer.named_buffers():
        assert torch.equal(buf, before[name]), name
