"""Part I's experiment functions (sections `reg-constraints`, `reg-augmentation`, `reg-noise`): the
shapes and keys they promise on a few cheap steps, members that are the runs a separate ``fit`` of
the same seed makes, and one row per bad argument."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import trainwell as tw
from trainwell.regularization import L2, GaussianInputNoise, MaxNorm, RandomShift, WeightNoise
from trainwell.regularization import experiments as rx
from trainwell.train import EarlyStopping, History, Runs, fit


@pytest.fixture(scope="module")
def small():
    return tw.data.load("digits").subset_train(100)


def _assert_member_is_fit(runs, m, data, *, optimizer, sizes, rtol=1e-5, **kwargs):
    """Member ``m`` of ``runs`` against ``fit`` of the same seed (float32, relative ``rtol``)."""
    seed = runs.seeds[m]
    tw.seed_everything(seed)
    model = tw.models.mlp(sizes)
    history = fit(model, data, optimizer=optimizer, seed=seed, progress=False, **kwargs)
    other = runs.histories[m]
    assert len(history.step_loss) == len(other.step_loss) > 0
    np.testing.assert_allclose(other.step_loss, history.step_loss, rtol=rtol)
    assert [e["epoch"] for e in other.epochs] == [e["epoch"] for e in history.epochs]
    for e1, e2 in zip(history.epochs, other.epochs, strict=True):
        for key in e1:
            if key != "seconds":
                np.testing.assert_allclose(e2[key], e1[key], rtol=rtol, err_msg=key)
    theirs = runs.models[m].state_dict()
    for name, value in model.state_dict().items():
        scale = value.abs().max().clamp_min(1e-30)
        assert ((value - theirs[name]).abs().max() / scale).item() <= rtol, name


# ---- constraint_runs (section `reg-constraints`) ---------------------------------------------------

def test_constraint_runs_gives_every_arm_rate_and_seed(small):
    arms = rx.constraint_runs(small, learning_rates=[0.1, 0.5], seeds=[0, 1], epochs=2, alpha=1e-3,
                              max_norm=0.5, hidden=(16,), batch_size=50)
    assert list(arms) == list(rx.CONSTRAINT_ARMS) == ["none", "L2 penalty", "max-norm, every layer",
                                                      "max-norm, hidden layers"]
    for runs in arms.values():
        assert runs.by_setting("val_acc").shape == (2, 2)
        assert runs.curves("val_loss").shape == (2, 2, 2)
        assert [s["lr"] for s in runs.settings] == [0.1, 0.1, 0.5, 0.5] and runs.seeds == [0, 1, 0, 1]
        dead = rx.dead_unit_fractions(runs, small.X_train)
        assert dead.shape == (2, 2) and ((dead >= 0) & (dead <= 1)).all()
        assert rx.diverged(runs).shape == (2, 2) and not rx.diverged(runs).any()
    norms = {name: rx.largest_unit_norms(runs) for name, runs in arms.items()}
    assert norms["max-norm, every layer"].max() <= 0.5 + 1e-6  # the projection holds after the last step
    assert norms["none"].max() > 0.5  # ... and did something: the plain runs' units grew past it
    hidden = rx.largest_unit_norms(arms["max-norm, hidden layers"], output_layer=False)
    assert hidden.max() <= 0.5 + 1e-6 < norms["max-norm, hidden layers"].max()  # the output layer: free
    for model in arms["max-norm, every layer"].models:
        assert model[0].weight.norm(dim=1).max() <= 0.5 + 1e-6


@pytest.mark.parametrize("arm", ["L2 penalty", "max-norm, every layer", "max-norm, hidden layers"])
def test_constraint_members_are_their_separate_fits(small, arm):
    arms = rx.constraint_runs(small, learning_rates=[0.05, 0.2], seeds=[0, 3], epochs=2, alpha=1e-2,
                              max_norm=0.5, hidden=(16,), batch_size=50)
    extra = {"L2 penalty": {"penalty": L2(1e-2)}, "max-norm, every layer": {"callbacks": [MaxNorm(0.5)]},
             "max-norm, hidden layers": {"callbacks": [MaxNorm(0.5, output_layer=False)]}}[arm]
    runs = arms[arm]
    m = runs.members(lr=0.2)[1]
    assert runs.seeds[m] == 3
    _assert_member_is_fit(runs, m, small, optimizer=lambda p: torch.optim.SGD(p, lr=0.2),
                          sizes=[64, 16, 10], epochs=2, batch_size=50, **extra)


def test_dead_unit_fractions_skips_diverged_members(small):
    torch.manual_seed(0)
    healthy, broken = tw.models.mlp([64, 8, 10]), tw.models.mlp([64, 8, 10])
    with torch.no_grad():
        healthy[0].bias.fill_(-100.0)  # every unit of the hidden layer is dead
        broken[0].weight[0, 0] = float("nan")
    runs = Runs([{}, {}], [0, 1], [History(), History()], [healthy, broken])
    dead = rx.dead_unit_fractions(runs, small.X_train)
    assert dead.shape == (1, 2) and dead[0, 0] == 1.0 and np.isnan(dead[0, 1])
    runs.histories[0].diverged = True
    assert np.isnan(rx.dead_unit_fractions(runs, small.X_train)).all()
    assert rx.diverged(runs).tolist() == [[True, False]]
    assert rx.largest_unit_norms(runs).shape == (1, 2)


def test_constraint_tuning_runs_gives_every_strength_as_its_separate_fit(small):
    grids = rx.constraint_tuning_runs(small, lr=0.5, alphas=[1e-3, 1e-2], max_norms=[0.3, 1.0], seeds=[0, 2],
                                      epochs=2, output_layer=False, hidden=(16,), batch_size=50)
    assert list(grids) == ["L2 penalty", "max-norm, hidden layers"]
    assert list(grids["L2 penalty"]) == [1e-3, 1e-2] and list(grids["max-norm, hidden layers"]) == [0.3, 1.0]
    for grid in grids.values():
        for runs in grid.values():
            assert runs.by_setting("val_acc").shape == (1, 2) and runs.seeds == [0, 2]
    hidden = rx.largest_unit_norms(grids["max-norm, hidden layers"][0.3], output_layer=False)
    assert hidden.max() <= 0.3 + 1e-6
    sgd = lambda p: torch.optim.SGD(p, lr=0.5)  # noqa: E731
    _assert_member_is_fit(grids["L2 penalty"][1e-2], 1, small, optimizer=sgd, sizes=[64, 16, 10], epochs=2,
                          batch_size=50, penalty=L2(1e-2))
    _assert_member_is_fit(grids["max-norm, hidden layers"][0.3], 0, small, optimizer=sgd, sizes=[64, 16, 10],
                          epochs=2, batch_size=50, callbacks=[MaxNorm(0.3, output_layer=False)])
    every = rx.constraint_tuning_runs(small, lr=0.5, alphas=[1e-3], max_norms=[0.3], seeds=[0], epochs=1,
                                      hidden=(16,), batch_size=50)
    assert list(every) == ["L2 penalty", "max-norm, every layer"]
    assert rx.largest_unit_norms(every["max-norm, every layer"][0.3]).max() <= 0.3 + 1e-6


# ---- augmentation_runs (section `reg-augmentation`) ------------------------------------------------

def test_augmentation_runs_take_the_same_steps_at_every_size(small):
    built = []

    def builder():
        built.append(RandomShift(1, (8, 8)))
        return built[-1]

    out = rx.augmentation_runs(small, sizes=[20, 50], seeds=[0, 1], steps=7, transform_builder=builder,
                               hidden=(16,), batch_size=16)
    assert list(out) == list(rx.AUGMENTATION_ARMS) == ["plain", "augmented"]
    assert len(built) == 2  # one fresh transform per size
    for by_size in out.values():
        assert list(by_size) == [20, 50]
        assert rx.final_by_size(by_size).shape == (2, 2)
        for runs in by_size.values():
            for history in runs.histories:
                assert len(history.step_loss) == 7  # 2 steps per epoch at n=20, 4 at n=50: both stop at 7
                assert len(history.epochs) == 1  # measured once, after the last step
    # the transform was applied: the augmented and plain runs of one seed part after the first step
    assert out["plain"][20].histories[0].step_loss[0] != out["augmented"][20].histories[0].step_loss[0]
    subset = small.subset_train(50)
    runs = out["augmented"][50]
    _assert_member_is_fit(runs, 1, subset, optimizer=lambda p: torch.optim.Adam(p, lr=1e-3),
                          sizes=[64, 16, 10], epochs=2, max_steps=7, batch_size=16,
                          transform=RandomShift(1, (8, 8)), eval_every=2)
    _assert_member_is_fit(out["plain"][50], 0, subset, optimizer=lambda p: torch.optim.Adam(p, lr=1e-3),
                          sizes=[64, 16, 10], epochs=2, max_steps=7, batch_size=16, eval_every=2)
    # one arm alone trains the same networks as that arm of the full call
    alone = rx.augmentation_runs(small, sizes=[50], seeds=[0, 1], steps=7, transform_builder=builder,
                                 hidden=(16,), batch_size=16, arms=["augmented"])
    assert list(alone) == ["augmented"]
    np.testing.assert_array_equal(rx.final_by_size(alone["augmented"], "val_loss"),
                                  rx.final_by_size({50: out["augmented"][50]}, "val_loss"))


# ---- weight_noise_runs and input_noise_runs (section `reg-noise`) ----------------------------------

@pytest.mark.parametrize("kind", ["weight", "input"])
def test_noise_runs_give_every_sigma_and_equal_separate_fits(small, kind):
    run = rx.weight_noise_runs if kind == "weight" else rx.input_noise_runs
    out = run(small, sigmas=[0.0, 0.1], seeds=[0, 2], epochs=2, hidden=(16,), batch_size=50)
    assert list(out) == [0.0, 0.1]
    for runs in out.values():
        assert runs.curves("val_acc").shape == (1, 2, 2)
    extra = ({"callbacks": [WeightNoise(0.1)]} if kind == "weight"
             else {"transform": GaussianInputNoise(0.1)})
    adam = lambda p: torch.optim.Adam(p, lr=1e-3)  # noqa: E731
    _assert_member_is_fit(out[0.1], 1, small, optimizer=adam, sizes=[64, 16, 10], epochs=2, batch_size=50,
                          **extra)
    _assert_member_is_fit(out[0.0], 0, small, optimizer=adam, sizes=[64, 16, 10], epochs=2, batch_size=50)
    assert out[0.0].histories[0].step_loss != out[0.1].histories[0].step_loss


def test_keep_best_returns_each_runs_best_epoch_weights(small):
    """keep_best trains every epoch and restores each member at its own epoch of lowest validation
    loss: the returned model scores that loss, and it equals fit with EarlyStopping(never stopping)."""
    out = rx.weight_noise_runs(small, sigmas=[0.0, 0.3], seeds=[0, 1], epochs=12, hidden=(16,),
                               batch_size=50, lr=0.05, keep_best=True)
    for runs in out.values():
        curves = runs.curves("val_loss")[0]
        assert curves.shape == (2, 12)  # trained to the end, not stopped
        for m, history in enumerate(runs.histories):
            best = int(np.argmin(curves[m]))
            assert history.best_epoch == best + 1
            score = tw.metrics.evaluate(runs.models[m], small.X_val, small.y_val)["loss"]
            assert score == pytest.approx(curves[m, best], rel=1e-5)
    adam = lambda p: torch.optim.Adam(p, lr=0.05)  # noqa: E731
    _assert_member_is_fit(out[0.3], 1, small, optimizer=adam, sizes=[64, 16, 10], epochs=12, batch_size=50,
                          callbacks=[WeightNoise(0.3), EarlyStopping(12)])
    assert any(h.best_epoch < 12 for runs in out.values() for h in runs.histories)  # a restore happened


# ---- bad inputs ------------------------------------------------------------------------------------

def _constraint(data, **change):
    kwargs = dict(learning_rates=[0.1], seeds=[0], epochs=1, alpha=1e-3, max_norm=1.0, hidden=(4,))
    return rx.constraint_runs(data, **{**kwargs, **change})


def _tuning(data, **change):
    kwargs = dict(lr=1.0, alphas=[1e-3], max_norms=[1.0], seeds=[0], epochs=1, hidden=(4,))
    return rx.constraint_tuning_runs(data, **{**kwargs, **change})


def _augmentation(data, **change):
    kwargs = dict(sizes=[20], seeds=[0], steps=1, transform_builder=lambda: RandomShift(1, (8, 8)),
                  hidden=(4,))
    return rx.augmentation_runs(data, **{**kwargs, **change})


def _noise(data, **change):
    kwargs = dict(sigmas=[0.1], seeds=[0], epochs=1, hidden=(4,))
    return rx.weight_noise_runs(data, **{**kwargs, **change})


CASES = [
    ("constraint-alpha-negative", lambda d: _constraint(d, alpha=-1.0), ValueError, "Invalid alpha: -1.0"),
    ("constraint-alpha-nan", lambda d: _constraint(d, alpha=float("nan")), ValueError, "Invalid alpha: nan"),
    ("constraint-alpha-string", lambda d: _constraint(d, alpha="0.1"), TypeError, "alpha must be a real"),
    ("constraint-max-norm-zero", lambda d: _constraint(d, max_norm=0), ValueError, "Invalid max_norm: 0.0"),
    ("constraint-max-norm-negative", lambda d: _constraint(d, max_norm=-2.0),
     ValueError, "Invalid max_norm: -2.0"),
    ("constraint-lrs-empty", lambda d: _constraint(d, learning_rates=[]),
     ValueError, "learning_rates is empty"),
    ("constraint-lr-negative", lambda d: _constraint(d, learning_rates=[0.1, -1.0]),
     ValueError, "Invalid learning_rates[1]: -1.0"),
    ("constraint-lr-zero", lambda d: _constraint(d, learning_rates=[0.0]),
     ValueError, "Invalid learning_rates[0]: 0.0"),
    ("constraint-lr-twice", lambda d: _constraint(d, learning_rates=[0.1, 0.1]),
     ValueError, "learning_rates holds a value twice"),
    ("constraint-lrs-number", lambda d: _constraint(d, learning_rates=0.1),
     TypeError, "learning_rates must be a list"),
    ("constraint-epochs-zero", lambda d: _constraint(d, epochs=0), ValueError, "Invalid epochs: 0"),
    ("constraint-hidden-empty", lambda d: _constraint(d, hidden=()), ValueError, "hidden is empty"),
    ("constraint-hidden-number", lambda d: _constraint(d, hidden=16), TypeError, "hidden must be a list"),
    ("constraint-hidden-zero", lambda d: _constraint(d, hidden=(8, 0)), ValueError, "Invalid hidden[1]: 0"),
    ("constraint-seeds-empty", lambda d: _constraint(d, seeds=[]), ValueError, "seeds is empty"),
    ("tuning-alphas-empty", lambda d: _tuning(d, alphas=[]), ValueError, "alphas is empty"),
    ("tuning-max-norm-zero", lambda d: _tuning(d, max_norms=[0.0]), ValueError, "Invalid max_norms[0]: 0.0"),
    ("tuning-lr-negative", lambda d: _tuning(d, lr=-1.0), ValueError, "Invalid lr: -1.0"),
    ("tuning-output-layer-string", lambda d: _tuning(d, output_layer="no"), TypeError, "output_layer"),
    ("largest-unit-norms-output-layer-string",
     lambda d: rx.largest_unit_norms(_constraint(d)["none"], output_layer="no"), TypeError, "output_layer"),
    ("augmentation-sizes-empty", lambda d: _augmentation(d, sizes=[]), ValueError, "sizes is empty"),
    ("augmentation-size-too-large", lambda d: _augmentation(d, sizes=[20, 101]),
     ValueError, "Invalid sizes[1]: 101 (must be <= 100)"),
    ("augmentation-size-zero", lambda d: _augmentation(d, sizes=[0]), ValueError, "Invalid sizes[0]: 0"),
    ("augmentation-size-float", lambda d: _augmentation(d, sizes=[50.0]),
     TypeError, "sizes[0] must be an integer"),
    ("augmentation-size-twice", lambda d: _augmentation(d, sizes=[20, 20]),
     ValueError, "sizes holds a size twice"),
    ("augmentation-sizes-number", lambda d: _augmentation(d, sizes=50), TypeError, "sizes must be a list"),
    ("augmentation-steps-zero", lambda d: _augmentation(d, steps=0), ValueError, "Invalid steps: 0"),
    ("augmentation-lr-negative", lambda d: _augmentation(d, lr=-1e-3), ValueError, "Invalid lr: -0.001"),
    ("augmentation-arm-unknown", lambda d: _augmentation(d, arms=["flipped"]), ValueError,
     "arms must be a non-empty list"),
    ("augmentation-arms-string", lambda d: _augmentation(d, arms="plain"), ValueError,
     "arms must be a non-empty list"),
    ("augmentation-arms-empty", lambda d: _augmentation(d, arms=[]), ValueError,
     "arms must be a non-empty list"),
    ("augmentation-builder-transform", lambda d: _augmentation(d, transform_builder=RandomShift(1, (8, 8))),
     TypeError, "transform_builder must be a function"),
    ("augmentation-builder-returns-none", lambda d: _augmentation(d, transform_builder=lambda: None),
     TypeError, "transform_builder() must return a transform"),
    ("noise-sigma-negative", lambda d: _noise(d, sigmas=[0.0, -0.1]), ValueError, "Invalid sigmas[1]: -0.1"),
    ("noise-sigmas-empty", lambda d: _noise(d, sigmas=[]), ValueError, "sigmas is empty"),
    ("noise-sigma-twice", lambda d: _noise(d, sigmas=[0.1, 0.1]), ValueError, "sigmas holds a value twice"),
    ("noise-epochs-zero", lambda d: _noise(d, epochs=0), ValueError, "Invalid epochs: 0"),
    ("noise-lr-zero", lambda d: _noise(d, lr=0), ValueError, "Invalid lr: 0.0"),
    ("noise-keep-best-sparse-evaluation", lambda d: _noise(d, keep_best=True, eval_every=5),
     ValueError, "eval_every must be 1, got 5"),
    ("noise-keep-best-string", lambda d: _noise(d, keep_best="yes"), TypeError, "keep_best"),
    ("input-noise-sigma-inf", lambda d: rx.input_noise_runs(d, sigmas=[float("inf")], seeds=[0], epochs=1),
     ValueError, "Invalid sigmas[0]: inf"),
    ("dead-unit-fractions-not-runs",
     lambda d: rx.dead_unit_fractions([tw.models.mlp([64, 4, 10])], d.X_train),
     TypeError, "runs must be the Runs that fit_many returns"),
    ("diverged-not-runs", lambda d: rx.diverged({}), TypeError, "runs must be the Runs"),
    ("largest-unit-norms-not-runs", lambda d: rx.largest_unit_norms(None),
     TypeError, "runs must be the Runs"),
    ("final-by-size-empty", lambda d: rx.final_by_size({}), ValueError, "results is empty"),
    ("final-by-size-whole-result", lambda d: rx.final_by_size({"plain": {}}),
     TypeError, "results must be one arm of augmentation_runs"),
]


@pytest.mark.parametrize("call, error, phrase", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(small, call, error, phrase):
    with pytest.raises(error) as info:
        call(small)
    assert phrase in str(info.value), f"message {str(info.value)!r} lacks {phrase!r}"
