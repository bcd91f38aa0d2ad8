"""Bad inputs to Part II's dropout package, one row per mistake a new user could make.

Each row: a short id, the call, the exception type, and a phrase its message must contain (the phrase
names the argument). Tensors on the ``meta`` device stand in for a second device: the checks read
only a tensor's device, never its values. After the table, the cases where PyTorch defines the
behaviour are checked against PyTorch itself, and the known defects of issue 12 get their own tests.
"""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from trainwell import data as twdata
from trainwell import dropout as dp

NAN, INF = float("nan"), float("inf")
F64 = torch.float64


def ones(*shape, dtype=torch.float32, device="cpu"):
    return torch.ones(*shape, dtype=dtype, device=device)


def with_nan(t):
    t = t.clone()
    t.view(-1)[0] = NAN
    return t


def net(sizes=(3, 4, 3, 2), keep=0.5):
    torch.manual_seed(0)
    return dp.MaskedMLP(list(sizes), keep_hidden=keep).double()


def boosting():
    torch.manual_seed(0)
    return dp.BoostingMLP([5, 6, 3], keep_hidden=0.5).double().train()


def dropconnect():
    torch.manual_seed(0)
    return dp.DropConnectLinear(4, 3, keep=0.5)


def bn_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5), nn.Linear(4, 2))


def tiny_data():
    return twdata.load("digits").subset_train(20)


def sgd(params):
    return torch.optim.SGD(params, lr=0.1)


def probs(k=3, n=4, c=5):
    return torch.softmax(torch.randn(k, n, c, generator=torch.Generator().manual_seed(0), dtype=F64), -1)


X8, Y8, W5 = ones(8, 5, dtype=F64), ones(8, dtype=F64), ones(5, dtype=F64)
WN, BN, VN = ones(4, 3, dtype=F64), ones(3, dtype=F64), ones(4, dtype=F64)

CASES = [
    # ---- core: the two conventions, dropout and Dropout -------------------------------------------
    ("keep_to_drop-zero", lambda: dp.keep_to_drop(0.0), ValueError, "Invalid keep: 0.0"),
    ("keep_to_drop-string", lambda: dp.keep_to_drop("0.5"), TypeError, "keep must be a real number"),
    ("keep_to_drop-nan", lambda: dp.keep_to_drop(NAN), ValueError, "Invalid keep: nan"),
    ("drop_to_keep-one", lambda: dp.drop_to_keep(1.0), ValueError, "Invalid p: 1.0"),
    ("drop_to_keep-negative", lambda: dp.drop_to_keep(-0.1), ValueError, "Invalid p: -0.1"),
    ("drop_to_keep-none", lambda: dp.drop_to_keep(None), TypeError, "p must be a real number"),
    ("dropout-training-string", lambda: dp.dropout(ones(3), 0.5, training="no"),
     TypeError, "training must be True or False"),
    ("dropout-training-int", lambda: dp.dropout(ones(3), 0.5, training=1),
     TypeError, "training must be True or False"),
    ("dropout-training-none", lambda: dp.dropout(ones(3), 0.5, training=None),
     TypeError, "training must be True or False"),
    ("dropout-keep-above-one", lambda: dp.dropout(ones(3), 1.5, training=True),
     ValueError, "Invalid keep: 1.5"),
    ("dropout-keep-zero", lambda: dp.dropout(ones(3), 0.0, training=False), ValueError, "Invalid keep: 0.0"),
    ("dropout-keep-tensor", lambda: dp.dropout(ones(3), torch.tensor(0.5), training=True),
     TypeError, "keep must be a real number"),
    ("dropout-x-list", lambda: dp.dropout([1.0, 2.0], 0.5, training=True),
     TypeError, "x must be a torch.Tensor"),
    ("dropout-x-integer", lambda: dp.dropout(torch.ones(3, dtype=torch.long), 0.5, training=True),
     TypeError, "x must be a floating-point tensor"),
    ("dropout-inverted-string", lambda: dp.dropout(ones(3), 0.5, training=True, inverted="yes"),
     TypeError, "inverted must be True or False"),
    ("dropout-generator-seed", lambda: dp.dropout(ones(3), 0.5, training=True, generator=0),
     TypeError, "generator must be a torch.Generator"),
    ("dropout-generator-device",
     lambda: dp.dropout(ones(3, device="meta"), 0.5, training=True, generator=torch.Generator()),
     ValueError, "generator is on cpu"),
    ("Dropout-torch-p-zero", lambda: dp.Dropout(0.0), ValueError, "Invalid keep: 0.0"),
    ("Dropout-keep-negative", lambda: dp.Dropout(keep=-0.2), ValueError, "Invalid keep: -0.2"),
    ("Dropout-inverted-string", lambda: dp.Dropout(0.5, inverted="no"),
     TypeError, "inverted must be True or False"),
    ("Dropout-forward-list", lambda: dp.Dropout(0.5)([1.0]), TypeError, "x must be a torch.Tensor"),
    # ---- variants: Gaussian dropout, DropConnect, stochastic pooling -------------------------------
    ("GaussianDropout-sigma-negative", lambda: dp.GaussianDropout(-0.1), ValueError, "Invalid sigma: -0.1"),
    ("GaussianDropout-sigma-inf", lambda: dp.GaussianDropout(INF), ValueError, "Invalid sigma: inf"),
    ("GaussianDropout-sigma-string", lambda: dp.GaussianDropout("0.5"),
     TypeError, "sigma must be a real number"),
    ("GaussianDropout.matching-keep-zero", lambda: dp.GaussianDropout.matching(0.0),
     ValueError, "Invalid keep: 0.0"),
    ("GaussianDropout-forward-integer", lambda: dp.GaussianDropout(0.5)(torch.ones(3, dtype=torch.long)),
     TypeError, "x must be a floating-point tensor"),
    ("DropConnectLinear-in-zero", lambda: dp.DropConnectLinear(0, 3), ValueError, "Invalid in_features: 0"),
    ("DropConnectLinear-out-float", lambda: dp.DropConnectLinear(4, 2.5),
     TypeError, "out_features must be an integer"),
    ("DropConnectLinear-keep-above-one", lambda: dp.DropConnectLinear(4, 3, keep=1.2),
     ValueError, "Invalid keep: 1.2"),
    ("DropConnectLinear-bias-string", lambda: dp.DropConnectLinear(4, 3, bias="no"),
     TypeError, "bias must be True or False"),
    ("DropConnectLinear-forward-width", lambda: dropconnect()(ones(2, 5)),
     ValueError, r"expects (N, 4) input x"),
    ("DropConnectLinear-forward-1d", lambda: dropconnect()(ones(4)), ValueError, r"expects (N, 4) input x"),
    ("DropConnectLinear-forward-dtype", lambda: dropconnect()(ones(2, 4, dtype=F64)),
     TypeError, "x has dtype torch.float64"),
    ("DropConnectLinear-forward-device", lambda: dropconnect()(ones(2, 4, device="meta")),
     ValueError, "x is on meta"),
    ("stochastic_pool2d-kernel-zero", lambda: dp.stochastic_pool2d(ones(1, 1, 4, 4), 0, training=False),
     ValueError, "Invalid kernel: 0"),
    ("stochastic_pool2d-training-string", lambda: dp.stochastic_pool2d(ones(1, 1, 4, 4), 2, training="yes"),
     TypeError, "training must be True or False"),
    ("stochastic_pool2d-3d", lambda: dp.stochastic_pool2d(ones(1, 4, 4), 2, training=False),
     ValueError, "(N, C, H, W) input x"),
    ("stochastic_pool2d-not-divisible", lambda: dp.stochastic_pool2d(ones(1, 1, 4, 4), 3, training=False),
     ValueError, "divisible by kernel 3"),
    ("stochastic_pool2d-negative", lambda: dp.stochastic_pool2d(-ones(1, 1, 2, 2), 2, training=False),
     ValueError, "non-negative activations x"),
    ("stochastic_pool2d-nan", lambda: dp.stochastic_pool2d(with_nan(ones(1, 1, 2, 2)), 2, training=False),
     ValueError, "got NaN or inf"),
    ("stochastic_pool2d-integer",
     lambda: dp.stochastic_pool2d(torch.ones(1, 1, 2, 2, dtype=torch.long), 2, training=False),
     TypeError, "x must be a floating-point tensor"),
    ("stochastic_pool2d-generator-seed",
     lambda: dp.stochastic_pool2d(ones(1, 1, 2, 2), 2, training=True, generator=123),
     TypeError, "generator must be a torch.Generator"),
    ("StochasticPool2d-kernel-float", lambda: dp.StochasticPool2d(2.0),
     TypeError, "kernel must be an integer"),
    ("StochasticPool2d-kernel-negative", lambda: dp.StochasticPool2d(-1), ValueError, "Invalid kernel: -1"),
    # ---- ensembles: masked networks, enumeration, exact and Monte Carlo ensembles, bagging -----------
    ("MaskedMLP-sizes-int", lambda: dp.MaskedMLP(5), TypeError, "sizes must be a list of layer widths"),
    ("MaskedMLP-no-hidden-layer", lambda: dp.MaskedMLP([3, 2]), ValueError, "at least one hidden layer"),
    ("MaskedMLP-width-zero", lambda: dp.MaskedMLP([3, 0, 2]), ValueError, "Invalid sizes[1]: 0"),
    ("MaskedMLP-keep-hidden-zero", lambda: dp.MaskedMLP([3, 4, 2], keep_hidden=0),
     ValueError, "Invalid keep_hidden: 0.0"),
    ("MaskedMLP-keep-input-two", lambda: dp.MaskedMLP([3, 4, 2], keep_input=2),
     ValueError, "Invalid keep_input: 2.0"),
    ("MaskedMLP-forward-width", lambda: net()(ones(2, 4, dtype=F64)), ValueError, r"expects (N, 3) input x"),
    ("MaskedMLP-forward-dtype", lambda: net()(ones(2, 3)), TypeError, "x has dtype torch.float32"),
    ("MaskedMLP-forward-device", lambda: net()(ones(2, 3, dtype=F64, device="meta")),
     ValueError, "x is on meta"),
    ("MaskedMLP-masks-tensor", lambda: net()(ones(2, 3, dtype=F64), ones(2, 4, dtype=F64)),
     TypeError, "masks must be a list"),
    ("MaskedMLP-masks-count", lambda: net()(ones(2, 3, dtype=F64), [ones(4)]),
     ValueError, "one tensor per hidden layer"),
    ("MaskedMLP-masks-scaled", lambda: net()(ones(2, 3, dtype=F64), [2 * ones(4), ones(3)]),
     ValueError, "masks[0] must hold entries in [0, 1]"),
    ("MaskedMLP-masks-negative", lambda: net()(ones(2, 3, dtype=F64), [ones(4), -ones(3)]),
     ValueError, "masks[1] must hold entries in [0, 1]"),
    ("MaskedMLP-masks-width", lambda: net()(ones(2, 3, dtype=F64), [ones(4), ones(4)]),
     ValueError, "got masks[1] of shape (4,)"),
    ("MaskedMLP-masks-3d", lambda: net()(ones(2, 3, dtype=F64), [ones(1, 1, 4), ones(1, 1, 3)]),
     ValueError, "got masks[0] of shape (1, 1, 4)"),
    ("MaskedMLP-masks-mixed", lambda: net()(ones(2, 3, dtype=F64), [ones(4), ones(2, 3)]),
     ValueError, "like masks[0]"),
    ("MaskedMLP-masks-device", lambda: net()(ones(2, 3, dtype=F64), [ones(4, device="meta"), ones(3)]),
     ValueError, "masks[0] is on meta"),
    ("MaskedMLP-masks-list-entry", lambda: net()(ones(2, 3, dtype=F64), [[1, 1, 1, 1], ones(3)]),
     TypeError, "masks[0] must be a torch.Tensor"),
    ("split_mask-length", lambda: net().split_mask(ones(6)), ValueError, "network's 7 hidden units"),
    ("split_mask-scalar", lambda: net().split_mask(torch.tensor(1.0)), ValueError, "mask has shape ()"),
    ("split_mask-list", lambda: net().split_mask([1] * 7), TypeError, "mask must be a torch.Tensor"),
    ("mean_network-list", lambda: net().mean_network([[1.0, 2.0, 3.0]]),
     TypeError, "x must be a torch.Tensor"),
    ("enumerate_masks-zero", lambda: dp.enumerate_masks(0), ValueError, "Invalid n: 0"),
    ("enumerate_masks-too-many", lambda: dp.enumerate_masks(21), ValueError, "Invalid n: 21"),
    ("enumerate_masks-float", lambda: dp.enumerate_masks(3.0), TypeError, "n must be an integer"),
    ("enumerate_masks-dtype-string", lambda: dp.enumerate_masks(3, dtype="float64"),
     TypeError, "dtype must be a torch.dtype"),
    ("mask_probabilities-entries-2-and-minus-1",
     lambda: dp.mask_probabilities(torch.tensor([[1.0, 2.0], [0.0, -1.0]]), 0.5),
     ValueError, "masks must hold only 0s and 1s"),
    ("mask_probabilities-nan", lambda: dp.mask_probabilities(with_nan(ones(2, 2)), 0.5),
     ValueError, "masks must hold only 0s and 1s"),
    ("mask_probabilities-1d", lambda: dp.mask_probabilities(ones(4), 0.5),
     ValueError, "masks must have 2 dimensions"),
    ("mask_probabilities-list", lambda: dp.mask_probabilities([[0, 1]], 0.5),
     TypeError, "masks must be a torch.Tensor"),
    ("mask_probabilities-keep-zero", lambda: dp.mask_probabilities(ones(2, 2), 0),
     ValueError, "Invalid keep: 0.0"),
    ("ensemble_predict-chunk-negative", lambda: dp.ensemble_predict(net(), ones(2, 3, dtype=F64), chunk=-1),
     ValueError, "Invalid chunk: -1"),
    ("ensemble_predict-chunk-zero", lambda: dp.ensemble_predict(net(), ones(2, 3, dtype=F64), chunk=0),
     ValueError, "Invalid chunk: 0"),
    ("ensemble_predict-chunk-float", lambda: dp.ensemble_predict(net(), ones(2, 3, dtype=F64), chunk=2.5),
     TypeError, "chunk must be an integer"),
    ("ensemble_predict-mean-median", lambda: dp.ensemble_predict(net(), ones(2, 3, dtype=F64), mean="median"),
     ValueError, "Invalid mean: 'median'"),
    ("ensemble_predict-plain-model", lambda: dp.ensemble_predict(nn.Linear(3, 2), ones(2, 3)),
     TypeError, "model must be a MaskedMLP"),
    ("ensemble_predict-x-nan", lambda: dp.ensemble_predict(net(), with_nan(ones(2, 3, dtype=F64))),
     ValueError, "x holds 1 non-finite value"),
    ("ensemble_predict-x-width", lambda: dp.ensemble_predict(net(), ones(2, 5, dtype=F64)),
     ValueError, r"expects (N, 3) input x"),
    ("ensemble_predict-too-many-units", lambda: dp.ensemble_predict(net((3, 21, 2)), ones(1, 3, dtype=F64)),
     ValueError, "model has 21 hidden units"),
    ("mc_predict-k-zero", lambda: dp.mc_predict(net(), ones(2, 3, dtype=F64), 0), ValueError, "Invalid k: 0"),
    ("mc_predict-k-float", lambda: dp.mc_predict(net(), ones(2, 3, dtype=F64), 2.0),
     TypeError, "k must be an integer"),
    ("mc_predict-return-samples-string",
     lambda: dp.mc_predict(net(), ones(2, 3, dtype=F64), 4, return_samples="yes"),
     TypeError, "return_samples must be True or False"),
    ("mc_predict-per-example-string",
     lambda: dp.mc_predict(net(), ones(2, 3, dtype=F64), 4, per_example="yes"), TypeError, "per_example"),
    ("masks-per-example-wrong-n",
     lambda: net()(ones(2, 3, dtype=F64), net().split_mask(ones(4, 3, net().hidden_units, dtype=F64))),
     ValueError, "for the 2 examples"),
    ("mc_predict-generator-seed", lambda: dp.mc_predict(net(), ones(2, 3, dtype=F64), 4, generator=7),
     TypeError, "generator must be a torch.Generator"),
    ("mc_predict-x-inf", lambda: dp.mc_predict(net(), ones(2, 3, dtype=F64) * INF, 4),
     ValueError, "x holds 6 non-finite value"),
    ("mc_predict-x-dtype", lambda: dp.mc_predict(net(), ones(2, 3), 4),
     TypeError, "x has dtype torch.float32"),
    ("mc_predict-plain-model", lambda: dp.mc_predict(nn.Linear(3, 2), ones(2, 3), 4),
     TypeError, "model must be a MaskedMLP"),
    ("bootstrap_indices-n-zero", lambda: dp.bootstrap_indices(0, 0), ValueError, "Invalid n: 0"),
    ("bootstrap_indices-seed-negative", lambda: dp.bootstrap_indices(5, -1), ValueError, "Invalid seed: -1"),
    ("bootstrap-data-tensor", lambda: dp.bootstrap(ones(5, 2), 0),
     TypeError, "data must be a trainwell dataset"),
    ("bootstrap-seed-string", lambda: dp.bootstrap(tiny_data(), "0"), TypeError, "seed must be an integer"),
    ("bagging-model-not-factory", lambda: dp.bagging(nn.Linear(64, 10), tiny_data(), 2),
     TypeError, "make_model must be a function"),
    ("bagging-factory-returns-list",
     lambda: dp.bagging(lambda: [nn.Linear(64, 10)], tiny_data(), 2, optimizer=sgd, epochs=1),
     TypeError, "make_model must return a torch.nn.Module"),
    ("bagging-k-zero", lambda: dp.bagging(lambda: nn.Linear(64, 10), tiny_data(), 0),
     ValueError, "Invalid k: 0"),
    ("bagging-data-none", lambda: dp.bagging(lambda: nn.Linear(64, 10), None, 2),
     TypeError, "data must be a trainwell dataset"),
    ("ensemble_probabilities-single-model", lambda: dp.ensemble_probabilities(nn.Linear(3, 2), ones(2, 3)),
     TypeError, "models must be a list of models"),
    ("ensemble_probabilities-empty", lambda: dp.ensemble_probabilities([], ones(2, 3)),
     ValueError, "at least one model"),
    ("ensemble_probabilities-not-a-model",
     lambda: dp.ensemble_probabilities([nn.Linear(3, 2), "net"], ones(2, 3)),
     TypeError, "models[1] must be a torch.nn.Module"),
    ("ensemble_probabilities-classes-differ",
     lambda: dp.ensemble_probabilities([nn.Linear(3, 2), nn.Linear(3, 4)], ones(2, 3)),
     ValueError, "models[1] returns shape (2, 4)"),
    ("ensemble_probabilities-1d-output",
     lambda: dp.ensemble_probabilities([nn.Sequential(nn.Linear(3, 1), nn.Flatten(0))], ones(2, 3)),
     ValueError, "models[0] must return (N, classes)"),
    ("ensemble_probabilities-x-nan",
     lambda: dp.ensemble_probabilities([nn.Linear(3, 2)], with_nan(ones(2, 3))),
     ValueError, "x holds 1 non-finite value"),
    ("BoostingMLP-keep-input", lambda: dp.BoostingMLP([5, 6, 3], keep_input=0.8),
     ValueError, "keep_input must be 1"),
    ("BoostingMLP-keep-input-string", lambda: dp.BoostingMLP([5, 6, 3], keep_input="1"),
     TypeError, "keep_input must be a real number"),
    ("BoostingMLP-keep-hidden", lambda: dp.BoostingMLP([5, 6, 3], keep_hidden=1.5),
     ValueError, "Invalid keep_hidden: 1.5"),
    ("BoostingMLP-forward-width", lambda: boosting()(ones(2, 4, dtype=F64)),
     ValueError, r"expects (N, 5) input x"),
    # ---- theory: the closed forms ------------------------------------------------------------------
    ("softmax_geometric-W-1d", lambda: dp.softmax_regression_geometric_mean(ones(4, dtype=F64), BN, VN),
     ValueError, "need W (n, c), b (c,), v (n,)"),
    ("softmax_geometric-b-length", lambda: dp.softmax_regression_geometric_mean(WN, ones(4, dtype=F64), VN),
     ValueError, "got W (4, 3), b (4,)"),
    ("softmax_geometric-W-list", lambda: dp.softmax_regression_geometric_mean([[1.0]], BN, VN),
     TypeError, "W must be a torch.Tensor"),
    ("softmax_geometric-dtype", lambda: dp.softmax_regression_geometric_mean(WN, BN, ones(4)),
     TypeError, "W and v must have the same dtype"),
    ("softmax_geometric-v-nan", lambda: dp.softmax_regression_geometric_mean(WN, BN, with_nan(VN)),
     ValueError, "v holds 1 non-finite value"),
    ("softmax_geometric-too-many-inputs",
     lambda: dp.softmax_regression_geometric_mean(ones(21, 3, dtype=F64), BN, ones(21, dtype=F64)),
     ValueError, "W gives 21 units"),
    ("softmax_geometric-integer",
     lambda: dp.softmax_regression_geometric_mean(torch.ones(4, 3, dtype=torch.long), BN, VN),
     TypeError, "W must be a floating-point tensor"),
    ("expected_loss-y-length", lambda: dp.expected_dropout_squared_loss(X8, ones(1, dtype=F64), W5, 0.5),
     ValueError, "y must have shape (8,)"),
    ("expected_loss-y-column", lambda: dp.expected_dropout_squared_loss(X8, ones(8, 1, dtype=F64), W5, 0.5),
     ValueError, "y must have shape (8,)"),
    ("expected_loss-w-length", lambda: dp.expected_dropout_squared_loss(X8, Y8, ones(1, dtype=F64), 0.5),
     ValueError, "w must have shape (5,)"),
    ("expected_loss-too-many-features",
     lambda: dp.expected_dropout_squared_loss(ones(2, 21, dtype=F64), Y8[:2], ones(21, dtype=F64), 0.5),
     ValueError, "X gives 21 units"),
    ("expected_loss-keep-zero", lambda: dp.expected_dropout_squared_loss(X8, Y8, W5, 0.0),
     ValueError, "Invalid keep: 0.0"),
    ("expected_loss-dtype", lambda: dp.expected_dropout_squared_loss(X8, ones(8), W5, 0.5),
     TypeError, "X and y must have the same dtype"),
    ("expected_loss-empty",
     lambda: dp.expected_dropout_squared_loss(ones(0, 5, dtype=F64), ones(0, dtype=F64), W5, 0.5),
     ValueError, "X is empty"),
    ("expected_loss-X-nan", lambda: dp.expected_dropout_squared_loss(with_nan(X8), Y8, W5, 0.5),
     ValueError, "X holds 1 non-finite value"),
    ("expected_loss-y-labels",
     lambda: dp.expected_dropout_squared_loss(X8, torch.ones(8, dtype=torch.long), W5, 0.5),
     TypeError, "y must be a floating-point tensor"),
    ("wager-w-length", lambda: dp.wager_penalty(X8, ones(1, dtype=F64), 0.5),
     ValueError, "w must have shape (5,)"),
    ("wager-w-column", lambda: dp.wager_penalty(X8, ones(5, 1, dtype=F64), 0.5),
     ValueError, "w must have shape (5,)"),
    ("wager-X-1d", lambda: dp.wager_penalty(W5, W5, 0.5), ValueError, "X must have 2 dimensions"),
    ("wager-device", lambda: dp.wager_penalty(X8, ones(5, dtype=F64, device="meta"), 0.5),
     ValueError, "X and w must be on the same device"),
    ("wager-X-inf", lambda: dp.wager_penalty(X8 * INF, W5, 0.5), ValueError, "X holds 40 non-finite value"),
    ("wager-keep-above-one", lambda: dp.wager_penalty(X8, W5, 1.5), ValueError, "Invalid keep: 1.5"),
    ("dropout_regression_fit-y-length", lambda: dp.dropout_regression_fit(X8, ones(3, dtype=F64), 0.5),
     ValueError, "y must have shape (8,)"),
    ("dropout_regression_fit-X-nan", lambda: dp.dropout_regression_fit(with_nan(X8), Y8, 0.5),
     ValueError, "X holds 1 non-finite value"),
    ("dropout_regression_fit-keep-zero", lambda: dp.dropout_regression_fit(X8, Y8, 0.0),
     ValueError, "Invalid keep: 0.0"),
    ("dropout_regression_fit-zero-column", lambda: dp.dropout_regression_fit(X8 * 0, Y8, 0.5),
     ValueError, "all-zero column"),
    ("fast_dropout-last-axis", lambda: dp.fast_dropout_moments(ones(3), ones(4), 0.5),
     ValueError, "x and w must agree on the last axis"),
    ("fast_dropout-w-broadcast", lambda: dp.fast_dropout_moments(ones(5, 3), ones(1, 3), 0.5),
     ValueError, "nothing else is broadcast"),
    ("fast_dropout-x-scalar", lambda: dp.fast_dropout_moments(torch.tensor(1.0), ones(1), 0.5),
     ValueError, "x must have at least 1 dimension,"),
    ("fast_dropout-keep-zero", lambda: dp.fast_dropout_moments(ones(3), ones(3), 0.0),
     ValueError, "Invalid keep: 0.0"),
    ("fast_dropout-x-nan", lambda: dp.fast_dropout_moments(with_nan(ones(3)), ones(3), 0.5),
     ValueError, "x holds 1 non-finite value"),
    ("fast_dropout-x-list", lambda: dp.fast_dropout_moments([1.0, 2.0], ones(2), 0.5),
     TypeError, "x must be a torch.Tensor"),
    ("fast_dropout-empty", lambda: dp.fast_dropout_moments(ones(0), ones(0), 0.5), ValueError, "x is empty"),
    ("inverted_moments-var-negative", lambda: dp.inverted_dropout_moments(0.0, -1.0, 0.5),
     ValueError, "Invalid var: -1"),
    ("inverted_moments-mean-string", lambda: dp.inverted_dropout_moments("a", 1.0, 0.5),
     TypeError, "mean must be a real number"),
    ("inverted_moments-var-none", lambda: dp.inverted_dropout_moments(0.0, None, 0.5),
     TypeError, "var must be a real number"),
    ("inverted_moments-lengths", lambda: dp.inverted_dropout_moments(ones(3), ones(2), 0.5),
     ValueError, "mean and var must have the same shape"),
    ("inverted_moments-column", lambda: dp.inverted_dropout_moments(ones(3), ones(3, 1), 0.5),
     ValueError, "nothing is broadcast"),
    ("inverted_moments-mean-nan", lambda: dp.inverted_dropout_moments(NAN, 1.0, 0.5),
     ValueError, "Invalid mean"),
    ("inverted_moments-keep-zero", lambda: dp.inverted_dropout_moments(0.0, 1.0, 0.0),
     ValueError, "Invalid keep: 0.0"),
    ("linear_variance-weight-layer", lambda: dp.dropout_linear_variance(ones(5, 4), nn.Linear(4, 3), 0.5),
     TypeError, "weight must be a torch.Tensor"),
    ("linear_variance-transposed", lambda: dp.dropout_linear_variance(ones(5, 4), ones(4, 3), 0.5),
     ValueError, "with the same in"),
    ("linear_variance-h-1d", lambda: dp.dropout_linear_variance(ones(4), ones(3, 4), 0.5),
     ValueError, "need h (N, in)"),
    ("linear_variance-h-empty", lambda: dp.dropout_linear_variance(ones(0, 4), ones(3, 4), 0.5),
     ValueError, "h is empty"),
    ("linear_variance-h-nan", lambda: dp.dropout_linear_variance(with_nan(ones(5, 4)), ones(3, 4), 0.5),
     ValueError, "h holds 1 non-finite value"),
    ("linear_variance-h-integer",
     lambda: dp.dropout_linear_variance(torch.ones(5, 4, dtype=torch.long), ones(3, 4), 0.5),
     TypeError, "h must be a floating-point tensor"),
    ("linear_variance-device", lambda: dp.dropout_linear_variance(ones(5, 4), ones(3, 4, device="meta"), 0.5),
     ValueError, "h and weight must be on the same device"),
    # ---- practice: batch norm's variance shift, Monte Carlo uncertainty ---------------------------
    ("bn_variance_shift-no-bn", lambda: dp.bn_variance_shift(nn.Sequential(nn.Linear(3, 2)), ones(4, 3)),
     ValueError, "no batch-norm layer"),
    ("bn_variance_shift-model-string", lambda: dp.bn_variance_shift("model", ones(4, 3)),
     TypeError, "model must be a torch.nn.Module"),
    ("bn_variance_shift-X-list", lambda: dp.bn_variance_shift(bn_model(), [[1.0, 2.0, 3.0]] * 4),
     TypeError, "X must be a torch.Tensor"),
    ("bn_variance_shift-one-example", lambda: dp.bn_variance_shift(bn_model(), ones(1, 3)),
     ValueError, "at least two examples"),
    ("bn_variance_shift-X-nan", lambda: dp.bn_variance_shift(bn_model(), with_nan(ones(4, 3))),
     ValueError, "X holds 1 non-finite value"),
    ("recompute_bn-batch-size-one", lambda: dp.recompute_bn_stats_without_dropout(bn_model(), ones(8, 3), 1),
     ValueError, "Invalid batch_size: 1"),
    ("recompute_bn-batch-size-float",
     lambda: dp.recompute_bn_stats_without_dropout(bn_model(), ones(8, 3), 4.0),
     TypeError, "batch_size must be an integer"),
    ("recompute_bn-no-bn", lambda: dp.recompute_bn_stats_without_dropout(nn.Linear(3, 2), ones(8, 3), 4),
     ValueError, "no batch-norm layer"),
    ("recompute_bn-X-list", lambda: dp.recompute_bn_stats_without_dropout(bn_model(), [[1.0] * 3] * 8, 4),
     TypeError, "X must be a torch.Tensor"),
    ("recompute_bn-model-string", lambda: dp.recompute_bn_stats_without_dropout("net", ones(8, 3), 4),
     TypeError, "model must be a torch.nn.Module"),
    ("predictive_uncertainty-2d", lambda: dp.predictive_uncertainty(ones(3, 4) / 4),
     ValueError, "samples must be a (k, N, C) tensor"),
    ("predictive_uncertainty-logits", lambda: dp.predictive_uncertainty(torch.randn(3, 4, 5)),
     ValueError, "samples must be probabilities"),
    ("predictive_uncertainty-list", lambda: dp.predictive_uncertainty([[[1.0]]]),
     TypeError, "samples must be a torch.Tensor"),
    ("predictive_uncertainty-nan", lambda: dp.predictive_uncertainty(with_nan(probs())),
     ValueError, "samples holds 1 non-finite value"),
    ("predictive_uncertainty-no-members", lambda: dp.predictive_uncertainty(ones(0, 4, 5)),
     ValueError, "samples is empty"),
]


@pytest.mark.parametrize("call, error, phrase", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input(call, error, phrase):
    with pytest.raises(error) as info:
        call()
    assert phrase in str(info.value), f"message {str(info.value)!r} lacks {phrase!r}"


def test_every_public_name_has_a_row():
    ids = " ".join(case[0] for case in CASES)
    short = {"softmax_regression_geometric_mean": "softmax_geometric", "expected_dropout_squared_loss":
             "expected_loss", "wager_penalty": "wager", "fast_dropout_moments": "fast_dropout",
             "inverted_dropout_moments": "inverted_moments", "dropout_linear_variance": "linear_variance",
             "recompute_bn_stats_without_dropout": "recompute_bn"}
    callables = [n for n in dp.__all__ if callable(getattr(dp, n)) and n != "TORCH_DROPOUT_TYPES"]
    missing = [n for n in callables if short.get(n, n) + "-" not in ids and short.get(n, n) + "." not in ids]
    assert not missing, f"no bad-input row for {missing}"
    assert len(CASES) >= 60 and len({case[0] for case in CASES}) == len(CASES)


# ---- where PyTorch defines the behaviour, ours matches it ---------------------------------------------

@pytest.mark.parametrize("training", ["no", 1, 0, None, 1.0])
def test_non_bool_training_is_a_type_error_as_in_torch(training):
    with pytest.raises(TypeError):
        F.dropout(ones(3), 0.5, training=training)
    with pytest.raises(TypeError, match="training must be True or False"):
        dp.dropout(ones(3), 0.5, training=training)


@pytest.mark.parametrize("p", [-0.5, 1.5])
def test_a_drop_probability_outside_0_1_is_a_value_error_as_in_torch(p):
    keep = 1.0 - p  # the same mistake in the text's convention
    with pytest.raises(ValueError):
        F.dropout(ones(3), p, training=True)
    with pytest.raises(ValueError):
        nn.Dropout(p)
    with pytest.raises(ValueError, match="Invalid keep"):
        dp.dropout(ones(3), keep, training=True)
    with pytest.raises(ValueError, match="Invalid keep"):
        dp.Dropout(keep)


def test_a_non_tensor_input_is_a_type_error_as_in_torch():
    with pytest.raises(TypeError):
        F.dropout([1.0, 2.0], 0.5, training=True)
    with pytest.raises(TypeError):
        dp.dropout([1.0, 2.0], 0.5, training=True)


@pytest.mark.parametrize("training", [True, False])
def test_empty_inputs_pass_through_as_in_torch(training):
    for shape in ((0,), (0, 5), (3, 0)):
        theirs = F.dropout(ones(*shape), 0.5, training=training)
        ours = dp.dropout(ones(*shape), 0.5, training=training)
        assert ours.shape == theirs.shape == shape
    x = ones(0, 1, 4, 4)
    assert dp.stochastic_pool2d(x, 2, training=training).shape == F.max_pool2d(x, 2).shape == (0, 1, 2, 2)
    layer = dropconnect().train(training)
    assert layer(ones(0, 4)).shape == nn.Linear(4, 3)(ones(0, 4)).shape == (0, 3)


def test_where_ours_is_stricter_than_torch():
    """Two deliberate differences, both raised before anything is drawn: an integer tensor is an error
    in both modes (torch fails only in training, so the mistake would surface late), and ``keep``
    must be a Python number (torch also takes a tensor ``p``)."""
    ints = torch.ones(3, dtype=torch.long)
    with pytest.raises(RuntimeError):
        F.dropout(ints, 0.5, training=True)
    assert torch.equal(F.dropout(ints, 0.5, training=False), ints)
    for training in (True, False):
        with pytest.raises(TypeError, match="floating-point"):
            dp.dropout(ints, 0.5, training=training)
    F.dropout(ones(3), torch.tensor(0.5), training=True)
    with pytest.raises(TypeError, match="keep must be a real number"):
        dp.dropout(ones(3), torch.tensor(0.5), training=True)


def test_keep_one_is_the_identity_like_torch_p_zero():
    x = torch.randn(100)
    torch.testing.assert_close(dp.dropout(x, 1.0, training=True), F.dropout(x, 0.0, training=True))
    torch.testing.assert_close(dp.Dropout(1.0).train()(x), nn.Dropout(0.0).train()(x))


# ---- the known defects of issue 12 -------------------------------------------------------------------

def test_wrong_length_weights_and_targets_no_longer_broadcast():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(6, 4, generator=g, dtype=F64)
    y, w = torch.randn(6, generator=g, dtype=F64), torch.randn(4, generator=g, dtype=F64)
    for bad_w in (w[:1], w.unsqueeze(1), torch.cat([w, w])):
        with pytest.raises(ValueError, match="w must have shape"):
            dp.wager_penalty(X, bad_w, 0.5)
        with pytest.raises(ValueError, match="w must have shape"):
            dp.expected_dropout_squared_loss(X, y, bad_w, 0.5)
    for bad_y in (y[:1], y.unsqueeze(1), y[:5]):
        with pytest.raises(ValueError, match="y must have shape"):
            dp.expected_dropout_squared_loss(X, bad_y, w, 0.5)
    # the right shapes still satisfy Wager's identity
    lhs = dp.expected_dropout_squared_loss(X, y, w, 0.5)
    torch.testing.assert_close(lhs, ((y - X @ w) ** 2).sum() + dp.wager_penalty(X, w, 0.5), rtol=1e-12,
                               atol=1e-12)


def test_mask_probabilities_rejects_non_binary_masks_and_still_sums_to_one():
    with pytest.raises(ValueError, match=r"got entries \[-1.0, 2.0\]"):
        dp.mask_probabilities(torch.tensor([[1.0, 2.0], [0.0, -1.0]]), 0.5)
    for dtype in (torch.float64, torch.long, torch.bool):
        masks = dp.enumerate_masks(5, dtype=dtype)
        assert dp.mask_probabilities(masks, 0.3).sum().item() == pytest.approx(1.0)


def test_ensemble_predict_with_a_bad_chunk_raises_instead_of_returning_zero():
    x = torch.randn(3, 3, dtype=F64)
    for chunk in (-1, 0):
        with pytest.raises(ValueError, match=f"Invalid chunk: {chunk}"):
            dp.ensemble_predict(net(), x, chunk=chunk)
    full = dp.ensemble_predict(net(), x)
    torch.testing.assert_close(dp.ensemble_predict(net(), x, chunk=1), full, rtol=0, atol=1e-12)
    assert full.shape == (3, 2)


def test_dropout_with_training_no_raises_before_drawing():
    state = torch.random.get_rng_state()
    with pytest.raises(TypeError, match=r"training must be True or False, got 'no' \(str\)"):
        dp.dropout(torch.ones(1000), 0.5, training="no")
    assert torch.equal(torch.random.get_rng_state(), state)  # nothing was drawn, nothing was dropped


# ---- state is left alone when a call fails -----------------------------------------------------------

def test_recompute_bn_stats_restores_the_rates_when_it_fails():
    model = bn_model()
    ours = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), dp.Dropout(0.7), nn.Linear(4, 2))
    for m, expected in ((model, 0.5), (ours, 0.7)):
        before = {k: v.clone() for k, v in m.state_dict().items()}
        with pytest.raises(ValueError, match="fewer than one batch"):
            dp.recompute_bn_stats_without_dropout(m, ones(3, 3), 4)
        rate = m[2].p if isinstance(m[2], nn.Dropout) else m[2].keep
        assert rate == pytest.approx(expected)
        assert all(torch.equal(v, m.state_dict()[k]) for k, v in before.items())


def test_bn_variance_shift_and_ensembles_restore_the_mode_when_the_model_fails():
    model = bn_model().train()
    with pytest.raises(RuntimeError):
        dp.bn_variance_shift(model, ones(4, 5))  # the wrong width fails inside the model
    assert model.training and all(m.training for m in model.modules())
    member = nn.Linear(3, 2).train()
    with pytest.raises(RuntimeError):
        dp.ensemble_probabilities([member], ones(2, 4))
    assert member.training


def test_the_chapter_s_valid_calls_still_work():
    """The calls the notebooks make, with the shapes and types they use, pass every new check."""
    x = torch.randn(6, 3, dtype=F64)
    m = net()
    dp.ensemble_predict(m, x)
    dp.mc_predict(m, x, 5, generator=torch.Generator().manual_seed(0), return_samples=True)
    masks = dp.enumerate_masks(m.hidden_units, dtype=F64)
    m(x, m.split_mask(masks[:10]))  # batched masks
    m(x[:1], m.split_mask(masks[3]))  # one mask
    m(x, m.split_mask(masks[3].bool()))  # a boolean mask
    m.mean_network(x)
    dp.inverted_dropout_moments(0.4, 0.36, 0.8)
    dp.inverted_dropout_moments(torch.zeros(3), 1.0, 0.8)  # a single number with a tensor
    dp.fast_dropout_moments(torch.ones(4, 7), torch.ones(7), 0.5)  # one w for every row
    dp.fast_dropout_moments(torch.ones(4, 7), torch.ones(4, 7), 0.5)
    dp.dropout_linear_variance(torch.randn(5, 4), torch.randn(3, 4, dtype=F64), 0.5)  # both become float64
    assert math.isfinite(dp.wager_penalty(torch.randn(4, 3), torch.randn(3), 0.5).item())
