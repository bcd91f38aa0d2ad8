"""Bad inputs to Part I's regularization tools, one row per mistake a new user could make.

Each row: a short id, the call, the exception type, and a phrase its message must contain (the phrase
names the argument). After the table: the functions that change state leave it alone when they fail.
"""
import types

import numpy as np
import pytest
import torch
from torch import nn

import trainwell as tw
from trainwell.regularization import (
    L1,
    L2,
    ActivityL1,
    AdditiveGaussianNoise,
    Compose,
    DecoupledDecay,
    ElasticNet,
    GaussianInputNoise,
    L2Ball,
    MaxNorm,
    ProximalL1,
    RandomFlip,
    RandomRotation,
    RandomShift,
    SmoothL1,
    WeightNoise,
    constrained_optimum,
    dead_units,
    eigen_shrinkage,
    gd_filter,
    gradient_descent_linear,
    ista,
    lasso_diagonal,
    max_norm_,
    noisy_input_loss,
    penalized_names,
    penalty_for_radius,
    project_l2_ball_,
    regularization_path,
    ridge,
    ridge_filter,
    rotate_images,
    shift_images,
    soft_threshold,
    with_random_labels,
)
from trainwell.train.members import StackedModel

NAN, INF = float("nan"), float("inf")
RNG = np.random.default_rng(0)
X = RNG.normal(size=(20, 3))
Y = RNG.normal(size=20)
X_NAN = X.copy()
X_NAN[3, 1] = np.nan
H = np.array([[2.0, 0.5], [0.5, 1.0]])
W2 = np.array([1.0, 1.0])


def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2))


def conv():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv1d(1, 2, 3), nn.ReLU())


def no_weights():
    """A model with parameters but no weights (tw.models.weight_names): a normalization layer's scale
    and shift and PReLU's slope."""
    return nn.Sequential(nn.LayerNorm(64), nn.PReLU())


def state_of(model, optimizer=None):
    """What a callback written for a run's members sees at on_fit_start (fit's one member)."""
    optimizer = optimizer or torch.optim.SGD(model.parameters(), lr=0.1)
    return types.SimpleNamespace(model=StackedModel.one(model), optimizer=optimizer)


def images(n=4):
    return torch.rand(n, 1, 8, 8)


def penalty_after(layer, x):
    """An ActivityL1 on ``layer`` after one forward pass of ``x``: the penalty is read on the call."""
    penalty = ActivityL1([layer], 0.1)
    layer(x)
    return penalty


CASES = [
    # ---- max_norm_ ---------------------------------------------------------------------------------
    ("max_norm_-c-zero", lambda: max_norm_(mlp(), 0.0), ValueError, "Invalid c: 0.0"),
    ("max_norm_-c-negative", lambda: max_norm_(mlp(), -1.0), ValueError, "Invalid c: -1.0"),
    ("max_norm_-c-nan", lambda: max_norm_(mlp(), NAN), ValueError, "Invalid c: nan"),
    ("max_norm_-c-inf", lambda: max_norm_(mlp(), INF), ValueError, "Invalid c: inf"),
    ("max_norm_-c-string", lambda: max_norm_(mlp(), "1.0"), TypeError, "c must be a real number"),
    ("max_norm_-c-tensor", lambda: max_norm_(mlp(), torch.tensor(1.0)), TypeError, "c must be a real number"),
    ("max_norm_-model-tensor", lambda: max_norm_(torch.ones(3, 3), 1.0),
     TypeError, "model must be a torch.nn.Module"),
    ("max_norm_-model-list", lambda: max_norm_([nn.Linear(3, 2)], 1.0),
     TypeError, "model must be a torch.nn.Module"),
    ("max_norm_-model-parameters", lambda: max_norm_(mlp().parameters(), 1.0),
     TypeError, "model must be a torch.nn.Module"),
    ("max_norm_-model-without-linear", lambda: max_norm_(conv(), 1.0),
     ValueError, "model (Sequential) has no nn.Linear layer"),
    # ---- MaxNorm -----------------------------------------------------------------------------------
    ("MaxNorm-c-zero", lambda: MaxNorm(0), ValueError, "Invalid c: 0.0"),
    ("MaxNorm-c-negative", lambda: MaxNorm(-1.0), ValueError, "Invalid c: -1.0"),
    ("MaxNorm-c-none", lambda: MaxNorm(None), TypeError, "c must be a real number"),
    ("MaxNorm-c-bool", lambda: MaxNorm(True), TypeError, "c must be a real number"),
    ("RandomFlip-p-above-one", lambda: RandomFlip(1.5, (8, 8)), ValueError, "Invalid p: 1.5"),
    ("RandomFlip-shape-bad", lambda: RandomFlip(0.5, "8x8"), TypeError, "image_shape must be (H, W)"),
    ("RandomFlip-batch-not-images", lambda: RandomFlip(0.5, (8, 8))(torch.ones(2, 10)), ValueError,
     "is not a batch of images"),
    ("DecoupledDecay-rate-negative", lambda: DecoupledDecay(-0.1), ValueError, "Invalid rate: -0.1"),
    ("DecoupledDecay-rate-above-one", lambda: DecoupledDecay(1.5), ValueError, "Invalid rate: 1.5"),
    ("DecoupledDecay-params-unknown", lambda: DecoupledDecay(0.1, params="biases"), ValueError,
     "Invalid params: 'biases'"),
    ("DecoupledDecay-model-without-weights", lambda: DecoupledDecay(0.1).on_fit_start(state_of(no_weights())),
     ValueError, "has no parameter to penalize"),
    ("MaxNorm-model-without-linear", lambda: MaxNorm(1.0).on_fit_start(state_of(conv())),
     ValueError, "has no nn.Linear layer"),
    ("MaxNorm-output-layer-string", lambda: MaxNorm(1.0, output_layer="no"), TypeError, "output_layer"),
    ("max_norm_-only-an-output-layer",
     lambda: max_norm_(nn.Sequential(nn.Linear(3, 2)), 1.0, output_layer=False),
     ValueError, "has one nn.Linear layer, its output layer"),
    # ---- AdditiveGaussianNoise ---------------------------------------------------------------------
    ("AdditiveGaussianNoise-sigma-negative", lambda: AdditiveGaussianNoise(-1.0),
     ValueError, "Invalid sigma: -1.0"),
    ("AdditiveGaussianNoise-sigma-nan", lambda: AdditiveGaussianNoise(NAN), ValueError, "Invalid sigma: nan"),
    ("AdditiveGaussianNoise-sigma-string", lambda: AdditiveGaussianNoise("0.1"),
     TypeError, "sigma must be a real number"),
    ("AdditiveGaussianNoise-forward-integer",
     lambda: AdditiveGaussianNoise(0.1)(torch.ones(3, dtype=torch.long)),
     TypeError, "x must be a floating-point tensor"),
    ("AdditiveGaussianNoise-forward-list", lambda: AdditiveGaussianNoise(0.1)([1.0, 2.0]),
     TypeError, "x must be a floating-point tensor, got list"),
    # ---- ActivityL1 --------------------------------------------------------------------------------
    ("ActivityL1-layers-empty", lambda: ActivityL1([], 0.1), ValueError, "layers is empty"),
    ("ActivityL1-layers-int", lambda: ActivityL1(3, 0.1), TypeError, "layers must be a non-empty list"),
    ("ActivityL1-layers-string", lambda: ActivityL1("layers", 0.1),
     TypeError, "layers must be a non-empty list"),
    ("ActivityL1-layers-entry", lambda: ActivityL1([nn.Linear(3, 2), "relu"], 0.1),
     TypeError, "layers[1] must be a torch.nn.Module"),
    ("ActivityL1-layers-twice", lambda: ActivityL1([nn.Linear(2, 2)] * 2, 0.1),
     ValueError, "the same module twice"),
    ("ActivityL1-alpha-negative", lambda: ActivityL1([nn.Linear(3, 2)], -1.0),
     ValueError, "Invalid alpha: -1.0"),
    ("ActivityL1-alpha-string", lambda: ActivityL1([nn.Linear(3, 2)], "0.1"),
     TypeError, "alpha must be a real number"),
    ("ActivityL1-alpha-nan", lambda: ActivityL1([nn.Linear(3, 2)], NAN), ValueError, "Invalid alpha: nan"),
    ("ActivityL1-alpha-missing", lambda: ActivityL1([nn.Linear(3, 2)], None),
     TypeError, "alpha must be a real number"),
    ("ActivityL1-call-model-none", lambda: penalty_after(nn.Linear(3, 2), torch.ones(4, 3))(None),
     TypeError, "model must be a torch.nn.Module"),
    ("ActivityL1-call-conv-output",
     lambda: penalty_after(nn.Conv1d(1, 2, 3), torch.ones(4, 1, 5))(nn.Linear(1, 1)),
     ValueError, "layers[0] must output (N, units) activations, got shape (4, 2, 3)"),
    ("ActivityL1-call-tuple-output",
     lambda: penalty_after(nn.LSTM(3, 2, batch_first=True), torch.ones(4, 5, 3))(nn.Linear(1, 1)),
     TypeError, "layers[0] must output a tensor, got tuple"),
    ("ActivityL1-call-before-forward", lambda: ActivityL1([nn.Linear(3, 2)], 0.1)(nn.Linear(3, 2)),
     RuntimeError, "no forward pass recorded yet"),
    # ---- norm penalties ----------------------------------------------------------------------------
    ("L2-alpha-negative", lambda: L2(-0.1), ValueError, "Invalid alpha: -0.1"),
    ("L2-alpha-nan", lambda: L2(NAN), ValueError, "Invalid alpha: nan"),
    ("L2-params-unknown-word", lambda: L2(0.1, params="biases"), ValueError, "Invalid params: 'biases'"),
    ("L2-params-empty", lambda: L2(0.1, params=[]), TypeError,
     "params must be 'weights', 'all' or a non-empty"),
    ("L2-call-tensor", lambda: L2(0.1)(torch.ones(3)), TypeError, "L2: model must be a torch.nn.Module"),
    ("L2-call-model-without-weights", lambda: L2(0.1)(no_weights()), ValueError,
     "has no parameter to penalize"),
    ("L2-many-plain-model", lambda: L2(0.1).many(mlp()), TypeError,
     "stacked must be a fit_many StackedModel"),
    ("L1-alpha-string", lambda: L1("0.1"), TypeError, "alpha must be a real number"),
    ("L1-params-not-in-model", lambda: L1(0.1, params=["9.weight"])(mlp()), ValueError,
     "params names ['9.weight'], which model (Sequential) does not have"),
    ("ElasticNet-l1_ratio-above-one", lambda: ElasticNet(0.1, 1.5), ValueError, "Invalid l1_ratio: 1.5"),
    ("ElasticNet-l1_ratio-negative", lambda: ElasticNet(0.1, -0.1), ValueError, "Invalid l1_ratio: -0.1"),
    ("ElasticNet-alpha-negative", lambda: ElasticNet(-1.0, 0.5), ValueError, "Invalid alpha: -1.0"),
    ("SmoothL1-eps-zero", lambda: SmoothL1(0.1, eps=0.0), ValueError, "Invalid eps: 0.0"),
    ("SmoothL1-eps-negative", lambda: SmoothL1(0.1, eps=-1e-8), ValueError, "Invalid eps: -1e-08"),
    ("SmoothL1-alpha-inf", lambda: SmoothL1(INF), ValueError, "Invalid alpha: inf"),
    ("penalized_names-model-tensor", lambda: penalized_names(torch.ones(2)), TypeError,
     "model must be a torch.nn.Module or a fit_many StackedModel"),
    ("penalized_names-params-twice", lambda: penalized_names(mlp(), ["0.weight", "0.weight"]), ValueError,
     "params names a parameter twice"),
    ("penalized_names-params-int", lambda: penalized_names(mlp(), 3), TypeError, "params must be 'weights'"),
    # ---- proximal ----------------------------------------------------------------------------------
    ("soft_threshold-t-negative", lambda: soft_threshold(np.ones(3), -0.1), ValueError, "Invalid t: -0.1"),
    ("soft_threshold-w-integer-tensor", lambda: soft_threshold(torch.ones(3, dtype=torch.long), 0.1),
     TypeError, "w must be a floating-point tensor"),
    ("soft_threshold-w-list", lambda: soft_threshold([1.0, 2.0], 0.1), TypeError,
     "w must be a torch tensor, a NumPy array or a real number, got list"),
    ("soft_threshold-t-shape", lambda: soft_threshold(np.ones(3), np.ones(2)), ValueError,
     "t must be a number or have w's shape (3,), got shape (2,)"),
    ("soft_threshold-w-nan", lambda: soft_threshold(np.array([1.0, NAN]), 0.1), ValueError,
     "w holds non-finite"),
    ("ista-X-y-lengths", lambda: ista(X, Y[:-1], 0.1), ValueError,
     "X and y must have the same number of rows, got 20 and 19"),
    ("ista-X-nan", lambda: ista(X_NAN, Y, 0.1), ValueError, "X holds 1 non-finite value(s)"),
    ("ista-alpha-negative", lambda: ista(X, Y, -0.1), ValueError, "Invalid alpha: -0.1"),
    ("ista-l1_ratio-outside", lambda: ista(X, Y, 0.1, 1.2), ValueError, "Invalid l1_ratio: 1.2"),
    ("ista-X-vector", lambda: ista(Y, Y, 0.1), ValueError, "X must have 2 dimensions, got shape (20,)"),
    ("ista-max_iter-zero", lambda: ista(X, Y, 0.1, max_iter=0), ValueError, "Invalid max_iter: 0"),
    ("ista-tol-negative", lambda: ista(X, Y, 0.1, tol=-1.0), ValueError, "Invalid tol: -1.0"),
    ("ista-fit_intercept-string", lambda: ista(X, Y, 0.1, fit_intercept="yes"), TypeError,
     "fit_intercept must be True or False"),
    ("ista-X-constant", lambda: ista(np.ones((20, 3)), Y, 0.1), ValueError, "X has no variation"),
    ("ista-X-string", lambda: ista("X", Y, 0.1), TypeError,
     "X must be a NumPy array or a torch tensor, got str"),
    ("regularization_path-method", lambda: regularization_path(X, Y, [0.1], method="lars"), ValueError,
     "Invalid method: 'lars' (allowed: 'proximal', 'subgradient', 'smooth')"),
    ("regularization_path-alphas-negative", lambda: regularization_path(X, Y, [0.1, -1.0], method="proximal"),
     ValueError, "Invalid alphas: -1"),
    ("regularization_path-steps-zero", lambda: regularization_path(X, Y, [0.1], method="smooth", steps=0),
     ValueError, "Invalid steps: 0"),
    ("regularization_path-eps-zero", lambda: regularization_path(X, Y, [0.1], method="smooth", eps=0.0),
     ValueError, "Invalid eps: 0.0"),
    ("regularization_path-alphas-matrix", lambda: regularization_path(X, Y, [[0.1]], method="proximal"),
     ValueError, "alphas must have 1 dimension"),
    ("ProximalL1-alpha-negative", lambda: ProximalL1(-0.1), ValueError, "Invalid alpha: -0.1"),
    ("ProximalL1-params-word", lambda: ProximalL1(0.1, params="every"), ValueError,
     "Invalid params: 'every'"),
    ("ProximalL1-optimizer-without-the-weights",
     lambda: ProximalL1(0.1).on_fit_start(
         state_of(net := mlp(), torch.optim.SGD(net[2].parameters(), lr=0.1))),
     ValueError, "the optimizer does not train ['0.weight']"),
    # ---- quadratic ---------------------------------------------------------------------------------
    ("ridge-alpha-negative", lambda: ridge(X, Y, -1.0), ValueError, "Invalid alpha: -1.0"),
    ("ridge-X-y-lengths", lambda: ridge(X[:5], Y, 1.0), ValueError,
     "X and y must have the same number of rows"),
    ("ridge-y-nan", lambda: ridge(X, np.full(20, NAN), 1.0), ValueError, "y holds 20 non-finite value(s)"),
    ("ridge-rank-deficient-without-penalty", lambda: ridge(np.ones((20, 3)), Y, 0.0), ValueError,
     "alpha = 0 needs X of full column rank"),
    ("eigen_shrinkage-rank-deficient", lambda: eigen_shrinkage(np.ones((20, 3)), Y, 1.0), ValueError,
     "X must have full column rank"),
    ("eigen_shrinkage-alpha-nan", lambda: eigen_shrinkage(X, Y, NAN), ValueError, "Invalid alpha: nan"),
    ("lasso_diagonal-shapes", lambda: lasso_diagonal(np.ones(3), np.ones(2), 0.1), ValueError,
     "H_diag must have w_star's shape (3,), got (2,)"),
    ("lasso_diagonal-H-zero", lambda: lasso_diagonal(np.ones(2), np.array([1.0, 0.0]), 0.1), ValueError,
     "Invalid H_diag: 0"),
    ("lasso_diagonal-alpha-negative", lambda: lasso_diagonal(np.ones(2), np.ones(2), -0.1), ValueError,
     "Invalid alpha: -0.1"),
    ("gd_filter-eta-zero", lambda: gd_filter(np.ones(3), 0.0, 5), ValueError, "Invalid eta: 0.0"),
    ("gd_filter-tau-negative", lambda: gd_filter(np.ones(3), 0.1, -1), ValueError, "Invalid tau: -1"),
    ("gd_filter-tau-float", lambda: gd_filter(np.ones(3), 0.1, 2.5), TypeError, "tau must be an integer"),
    ("gd_filter-lam-negative", lambda: gd_filter(np.array([1.0, -2.0]), 0.1, 3), ValueError,
     "Invalid lam: -2"),
    ("ridge_filter-alpha-negative", lambda: ridge_filter(1.0, -1.0), ValueError, "Invalid alpha: -1.0"),
    ("ridge_filter-zero-over-zero", lambda: ridge_filter(np.array([0.0, 1.0]), 0.0), ValueError, "0/0"),
    ("gradient_descent_linear-eta-negative", lambda: gradient_descent_linear(X, Y, -0.1, 3), ValueError,
     "Invalid eta: -0.1"),
    ("gradient_descent_linear-tau-string", lambda: gradient_descent_linear(X, Y, 0.1, "10"), TypeError,
     "tau must be an integer"),
    ("gradient_descent_linear-X-y-lengths", lambda: gradient_descent_linear(X, Y[:3], 0.1, 3), ValueError,
     "X and y must have the same number of rows"),
    ("noisy_input_loss-w-length", lambda: noisy_input_loss(X, Y, np.ones(2), 0.1), ValueError,
     "w must have one weight per column of X (3), got 2"),
    ("noisy_input_loss-sigma-negative", lambda: noisy_input_loss(X, Y, np.ones(3), -0.1), ValueError,
     "Invalid sigma: -0.1"),
    ("constrained_optimum-radius-zero", lambda: constrained_optimum(H, W2, 0.0, 2), ValueError,
     "Invalid radius: 0.0"),
    ("constrained_optimum-norm-three", lambda: constrained_optimum(H, W2, 1.0, 3), ValueError,
     "Invalid norm: 3 (allowed: 1, 2)"),
    ("constrained_optimum-H-asymmetric",
     lambda: constrained_optimum(np.array([[1.0, 0.5], [0.0, 1.0]]), W2, 1.0, 2), ValueError,
     "H must be symmetric"),
    ("constrained_optimum-H-indefinite", lambda: constrained_optimum(np.diag([1.0, -1.0]), W2, 1.0, 2),
     ValueError, "H must be positive definite"),
    ("constrained_optimum-H-shape", lambda: constrained_optimum(np.eye(3), W2, 1.0, 2), ValueError,
     "H must be (2, 2), got shape (3, 3)"),
    ("penalty_for_radius-radius-negative", lambda: penalty_for_radius(H, W2, -1.0), ValueError,
     "Invalid radius: -1.0"),
    ("penalty_for_radius-w_star-matrix", lambda: penalty_for_radius(H, np.eye(2), 1.0), ValueError,
     "w_star must have 1 dimension"),
    # ---- constraints -------------------------------------------------------------------------------
    ("project_l2_ball_-radius-zero", lambda: project_l2_ball_(torch.ones(3), 0.0), ValueError,
     "Invalid radius: 0.0"),
    ("project_l2_ball_-params-empty", lambda: project_l2_ball_([], 1.0), ValueError, "params is empty"),
    ("project_l2_ball_-params-integer", lambda: project_l2_ball_([torch.ones(3, dtype=torch.long)], 1.0),
     TypeError, "params[0] must be a floating-point tensor"),
    ("project_l2_ball_-mixed-dtypes", lambda: project_l2_ball_([torch.ones(2), torch.ones(2).double()], 1.0),
     ValueError, "params must share one dtype and device"),
    ("project_l2_ball_-nan", lambda: project_l2_ball_([torch.tensor([1.0, NAN])], 1.0), ValueError,
     "their norm is not finite"),
    ("project_l2_ball_-params-string", lambda: project_l2_ball_("weights", 1.0), TypeError,
     "params must be a tensor or an iterable of tensors"),
    ("L2Ball-radius-zero", lambda: L2Ball(0.0), ValueError, "Invalid radius: 0.0"),
    ("L2Ball-radius-negative", lambda: L2Ball(-2.0), ValueError, "Invalid radius: -2.0"),
    ("L2Ball-model-without-weights", lambda: L2Ball(1.0).on_fit_start(state_of(no_weights())), ValueError,
     "has no parameter to penalize"),
    ("MaxNorm-stacked-without-linear",
     lambda: MaxNorm(1.0).on_fit_start(types.SimpleNamespace(model=StackedModel([nn.Sequential(nn.ReLU())]))),
     ValueError, "model (Sequential) has no nn.Linear layer"),
    ("dead_units-no-relu", lambda: dead_units(nn.Sequential(nn.Linear(4, 3), nn.Tanh()), torch.ones(2, 4)),
     ValueError, "has no nn.ReLU module"),
    ("dead_units-X-nan", lambda: dead_units(mlp(), torch.tensor([[1.0, NAN, 0.0, 0.0]])), ValueError,
     "X holds 1 non-finite value(s)"),
    ("dead_units-X-integer", lambda: dead_units(mlp(), torch.ones(2, 4, dtype=torch.long)), TypeError,
     "X must be a floating-point tensor"),
    ("dead_units-model-function", lambda: dead_units(torch.relu, torch.ones(2, 4)), TypeError,
     "model must be a torch.nn.Module"),
    # ---- augmentation ------------------------------------------------------------------------------
    ("shift_images-offsets-float", lambda: shift_images(images(), torch.zeros(4, 2), (1, 8, 8)), TypeError,
     "offsets must be an integer tensor"),
    ("shift_images-offsets-shape",
     lambda: shift_images(images(), torch.zeros(4, 3, dtype=torch.long), (8, 8)),
     ValueError, "offsets must have shape (4, 2)"),
    ("shift_images-offset-larger-than-image",
     lambda: shift_images(images(1), torch.tensor([[8, 0]]), (8, 8)), ValueError,
     "offsets must be smaller than the image (8 rows, 8 columns)"),
    ("shift_images-non-image-tensor",
     lambda: shift_images(torch.rand(4, 60), torch.zeros(4, 2, dtype=torch.long), (8, 8)),
     ValueError, "x of shape (4, 60) is not a batch of images of shape (8, 8)"),
    ("rotate_images-degrees-string", lambda: rotate_images(images(), "10", (8, 8)), TypeError,
     "degrees must be a number or a tensor"),
    ("rotate_images-degrees-shape", lambda: rotate_images(images(), torch.zeros(3), (8, 8)), ValueError,
     "degrees must be a number or a floating-point tensor of shape (4,)"),
    ("rotate_images-degrees-nan", lambda: rotate_images(images(), NAN, (8, 8)), ValueError,
     "Invalid degrees: nan"),
    ("rotate_images-non-image-tensor", lambda: rotate_images(torch.rand(4, 3, 8, 8), 5.0, (1, 8, 8)),
     ValueError, "x of shape (4, 3, 8, 8) is not a batch of images of shape (1, 8, 8)"),
    ("RandomShift-larger-than-the-image", lambda: RandomShift(8, (1, 8, 8)), ValueError,
     "Invalid max_shift: 8 (must be smaller than the image's 8 rows and 8 columns"),
    ("RandomShift-negative", lambda: RandomShift(-1, (8, 8)), ValueError, "Invalid max_shift: -1"),
    ("RandomShift-image_shape-int", lambda: RandomShift(1, 64), TypeError,
     "image_shape must be (H, W) or (C, H, W)"),
    ("RandomShift-image_shape-zero", lambda: RandomShift(1, (0, 8)), ValueError, "Invalid image_shape[0]: 0"),
    ("RandomShift-non-image-tensor", lambda: RandomShift(1, (8, 8))(torch.rand(4, 63)), ValueError,
     "RandomShift: x of shape (4, 63) is not a batch of images"),
    ("RandomShift-integer-batch", lambda: RandomShift(1, (8, 8))(torch.ones(4, 64, dtype=torch.long)),
     TypeError, "RandomShift: x must be a floating-point tensor"),
    ("RandomRotation-negative", lambda: RandomRotation(-5.0, (8, 8)), ValueError,
     "Invalid max_degrees: -5.0"),
    ("RandomRotation-beyond-half-turn", lambda: RandomRotation(200.0, (8, 8)), ValueError,
     "Invalid max_degrees: 200.0"),
    ("RandomRotation-image_shape-4d", lambda: RandomRotation(5.0, (1, 1, 8, 8)), TypeError,
     "image_shape must be (H, W) or (C, H, W)"),
    ("RandomRotation-non-image-tensor", lambda: RandomRotation(5.0, (8, 8))(torch.rand(64)), ValueError,
     "is not a batch of images"),
    ("Compose-empty", lambda: Compose([]), ValueError, "transforms is empty"),
    ("Compose-not-callable", lambda: Compose([RandomShift(1, (8, 8)), "rotate"]), TypeError,
     "transforms[1] must be a function of a batch"),
    ("Compose-single-transform", lambda: Compose(RandomShift(1, (8, 8))), TypeError,
     "transforms must be a list of transforms"),
    # ---- noise -------------------------------------------------------------------------------------
    ("GaussianInputNoise-sigma-negative", lambda: GaussianInputNoise(-0.1), ValueError,
     "Invalid sigma: -0.1"),
    ("GaussianInputNoise-integer-batch", lambda: GaussianInputNoise(0.1)(torch.ones(3, dtype=torch.long)),
     TypeError, "x must be a floating-point tensor"),
    ("WeightNoise-sigma-negative", lambda: WeightNoise(-0.1), ValueError, "Invalid sigma: -0.1"),
    ("WeightNoise-sigma-nan", lambda: WeightNoise(NAN), ValueError, "Invalid sigma: nan"),
    ("WeightNoise-model-without-weights", lambda: WeightNoise(0.1).on_fit_start(state_of(no_weights())),
     ValueError,
     "has no parameter to penalize"),
    # ---- overfitting -------------------------------------------------------------------------------
    ("with_random_labels-regression", lambda: with_random_labels(tw.data.load("regression", n=50, d=2), 0.5),
     ValueError, "data must be a classification dataset"),
    ("with_random_labels-fraction-above-one", lambda: with_random_labels(tw.data.load("wine"), 1.5),
     ValueError, "Invalid fraction: 1.5"),
    ("with_random_labels-fraction-negative", lambda: with_random_labels(tw.data.load("wine"), -0.2),
     ValueError, "Invalid fraction: -0.2"),
    ("with_random_labels-not-a-dataset", lambda: with_random_labels((X, Y), 0.5), TypeError,
     "data must be a trainwell.data.Dataset, got tuple"),
    ("with_random_labels-seed-negative", lambda: with_random_labels(tw.data.load("wine"), 0.5, seed=-1),
     ValueError, "Invalid seed: -1"),
]


@pytest.mark.parametrize("call, error, phrase", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input(call, error, phrase):
    with pytest.raises(error) as info:
        call()
    assert phrase in str(info.value), f"message {str(info.value)!r} lacks {phrase!r}"


def test_every_public_name_has_a_row():
    ids = " ".join(case[0] for case in CASES)
    missing = [name for name in tw.regularization.__all__ if f"{name}-" not in ids]
    assert not missing, f"no bad-input row for {missing}"
    assert len(CASES) >= 130 and len({case[0] for case in CASES}) == len(CASES)


def test_max_norm_changes_nothing_when_it_fails():
    net = mlp()
    with torch.no_grad():
        net[0].weight.mul_(10)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    for bad in (0.0, -1.0, NAN, "1"):
        with pytest.raises((TypeError, ValueError)):
            max_norm_(net, bad)
        assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())


def test_max_norm_callback_stops_fit_before_the_first_step():
    digits = tw.data.load("digits").subset_train(64)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Unflatten(1, (1, 64)), nn.Conv1d(1, 10, 64), nn.Flatten())  # no nn.Linear
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match="has no nn.Linear layer"):
        tw.train.fit(model, digits, optimizer=lambda p: torch.optim.SGD(p, lr=1.0), epochs=1,
                     callbacks=[MaxNorm(1.0)], progress=False)
    assert all(torch.equal(v, model.state_dict()[k].cpu()) for k, v in before.items())


def test_activity_l1_registers_no_hook_when_it_fails():
    layer = nn.Linear(3, 2)
    for bad in (-1.0, "0.1"):
        with pytest.raises((TypeError, ValueError)):
            ActivityL1([layer], bad)
    with pytest.raises(ValueError):
        ActivityL1([layer, layer], 0.1)
    assert not layer._forward_hooks


def test_valid_calls_still_work():
    x = torch.randn(5, 4)
    noise = AdditiveGaussianNoise(0.0).train()
    assert torch.equal(noise(x), x)  # sigma 0 is allowed: no noise
    assert torch.equal(AdditiveGaussianNoise(0.5).eval()(x), x)
    single = ActivityL1(mlp()[0], 0.0)  # one layer instead of a list, and alpha 0
    single.remove()
    listed = ActivityL1(nn.ModuleList([nn.Linear(4, 3), nn.Linear(3, 2)]), 0.1)
    listed.remove()
    layer = nn.Linear(3, 4).double()  # a single layer is a model with one nn.Linear
    with torch.no_grad():
        layer.weight.fill_(2.0)
    max_norm_(layer, 1.0)
    torch.testing.assert_close(layer.weight.norm(dim=1), torch.ones(4, dtype=torch.float64))


def test_project_l2_ball_changes_nothing_when_it_fails():
    good, bad = torch.full((3,), 5.0), torch.tensor([1.0, NAN])
    for params, radius in (([good, bad], 1.0), ([good], 0.0), ([good, torch.ones(2).double()], 1.0)):
        with pytest.raises((TypeError, ValueError)):
            project_l2_ball_(params, radius)
        assert torch.equal(good, torch.full((3,), 5.0))


@pytest.mark.parametrize("callback", [lambda: ProximalL1(0.1), lambda: L2Ball(1.0), lambda: WeightNoise(0.1)],
                         ids=["ProximalL1", "L2Ball", "WeightNoise"])
def test_weight_callbacks_stop_fit_before_the_first_step(callback):
    digits = tw.data.load("digits").subset_train(64)
    torch.manual_seed(0)
    model = no_weights()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match="has no parameter to penalize"):
        tw.train.fit(model, digits, optimizer=lambda p: torch.optim.SGD(p, lr=1.0), epochs=1,
                     callbacks=[callback()], progress=False)
    assert all(torch.equal(v, model.state_dict()[k].cpu()) for k, v in before.items())
    assert not model._forward_pre_hooks


def test_fit_many_takes_the_new_callbacks_and_penalties():
    """Every Part I callback is written for a run's members (per_member) and every norm penalty has many():
    fit_many accepts them
    (the equality with separate fits is tested in each module's own tests)."""
    for cb in (ProximalL1(0.1), L2Ball(1.0), WeightNoise(0.1), MaxNorm(1.0)):
        assert cb.per_member is True
    for penalty in (L2(0.1), L1(0.1), ElasticNet(0.1, 0.5), SmoothL1(0.1)):
        assert callable(penalty.many)
