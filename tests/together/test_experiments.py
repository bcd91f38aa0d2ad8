"""Part V's ablation (section `together-ablation`): the recipe's switches, a member of a recipe run
that is the run a separate ``fit`` of the same seed makes, the shapes and keys of an ablation on a few
cheap steps, paired differences against a hand computation, the effects table on made-up numbers,
and one row per bad argument."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

import trainwell as tw
from trainwell.together import experiments as tx
from trainwell.together import lint
from trainwell.train import EarlyStopping, Runs, fit
from trainwell.train.members import StackedModel

ALL = list(tx.TECHNIQUES)
TINY = {"hidden": (16,), "max_shift": 1, "patience": 2, "batch_size": 50}
DIGITS = tw.data.load("digits").subset_train(100)


@pytest.fixture(scope="module")
def small():
    return tw.data.load("digits").subset_train(150)


# ---- recipe: what each switch changes --------------------------------------------------------------

def test_recipe_switches_each_technique(small):
    none = tx.recipe(small, [], epochs=4, **TINY)
    everything = tx.recipe(small, ALL, epochs=4, **TINY)
    assert none["techniques"] == () and everything["techniques"] == tx.TECHNIQUES
    plain, full = none["build"](), everything["build"]()
    assert [type(m) for m in plain] == [nn.Linear, nn.ReLU, nn.Linear]
    assert [type(m) for m in full] == [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Dropout, nn.Linear]
    assert full[0].bias is None and full[3].p == 0.5  # beta replaces the bias; dropout after the last BN
    assert none["fit"]["transform"] is None and none["fit"]["callbacks"] == []
    assert isinstance(everything["fit"]["transform"], tw.regularization.RandomShift)
    kinds = [type(cb) for cb in everything["fit"]["callbacks"]]
    assert kinds == [tw.regularization.DecoupledDecay, EarlyStopping]
    assert everything["fit"]["callbacks"][1].restore_best
    assert isinstance(none["fit"]["optimizer"](plain.parameters()), torch.optim.SGD)
    assert none["base_lr"] == 0.1
    assert isinstance(everything["fit"]["optimizer"](full.parameters()), torch.optim.Adam)
    assert everything["base_lr"] == 1e-3
    # Loshchilov & Hutter's normalized decay: 4 epochs of 3 steps
    assert everything["decay_per_step"] == pytest.approx(0.05 / np.sqrt(12)) and none["decay_per_step"] == 0
    assert none["fit"]["eval_every"] == 4 and everything["fit"]["eval_every"] == 1
    assert tx.recipe(small, ["dropout"], epochs=1, dropout=0.2, **TINY)["build"]()[2].p == 0.2


def test_full_recipe_passes_the_books_own_lint(small):
    parts = tx.recipe(small, ALL, epochs=3, **TINY)
    model = parts["build"]()
    optimizer = parts["fit"]["optimizer"](model.parameters())
    assert lint(model, optimizer, small, callbacks=parts["fit"]["callbacks"], batch_size=50, quiet=True) == []


def test_weight_decay_shrinks_the_weights_only(small):
    parts = tx.recipe(small, ["batch_norm", "weight_decay"], epochs=2, weight_decay=0.3, **TINY)
    model = parts["build"]()
    with torch.no_grad():
        model[1].weight.fill_(1.5)
        model[1].bias.fill_(0.5)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    decay = parts["fit"]["callbacks"][0]
    run = SimpleNamespace(model=StackedModel.one(model))
    decay.on_fit_start(run)
    decay.on_step_end(run)
    factor = 1 - parts["decay_per_step"]
    for name, p in model.named_parameters():
        expected = before[name] * factor if name in ("0.weight", "3.weight") else before[name]
        torch.testing.assert_close(p.detach(), expected, rtol=1e-6, atol=0), name


# ---- recipe_run: a member is its separate fit ----------------------------------------------------

def test_recipe_run_member_is_its_separate_fit(float64_default):
    # In float64: in float32 the stacked and the separate products round differently, and over 8 epochs
    # of Adam at 0.1 that reaches 4e-6 on some torch versions (2.11), however right both runs are.
    data = SimpleNamespace(**{f"{x}_{split}": getattr(DIGITS, f"{x}_{split}")
                              for x in "Xy" for split in ("train", "val", "test")},
                           n_classes=DIGITS.n_classes, n_features=DIGITS.n_features,
                           input_shape=DIGITS.input_shape)
    for split in ("train", "val", "test"):  # a Dataset holds float32 inputs: a namespace carries float64
        setattr(data, f"X_{split}", getattr(data, f"X_{split}").double())
    seeds, epochs = [0, 3], 8
    # a rate high enough and batches small enough that early stopping stops and restores within 8 epochs
    kwargs = dict(TINY, patience=1, batch_size=10, adam_lr=0.1)
    runs = tx.recipe_run(data, techniques=ALL, seeds=seeds, lrs=[0.05, 0.1], epochs=epochs,
                         **kwargs)
    assert isinstance(runs, Runs) and len(runs) == 4 and runs.seeds == seeds * 2
    assert [s["lr"] for s in runs.settings] == [0.05, 0.05, 0.1, 0.1]
    for m in (2, 3):  # the members at the base rate, which a separate fit uses
        seed = runs.seeds[m]
        separate = tx.recipe(DIGITS, ALL, epochs=epochs, **kwargs)  # fresh callbacks
        tw.seed_everything(seed)
        model = separate["build"]()
        history = fit(model, data, seed=seed, progress=False, **separate["fit"])
        assert history.stopped_early and history.best_epoch < len(history.epochs)  # restored
        other = runs.histories[m]
        np.testing.assert_allclose(other.step_loss, history.step_loss, rtol=1e-10)
        assert (other.best_epoch, other.stopped_early) == (history.best_epoch, history.stopped_early)
        for e1, e2 in zip(history.epochs, other.epochs, strict=True):
            for key in ("train_loss", "val_loss", "val_acc"):
                np.testing.assert_allclose(e2[key], e1[key], rtol=1e-10, err_msg=key)
        theirs = runs.models[m].state_dict()
        for name, value in model.state_dict().items():
            if value.is_floating_point():
                assert value.dtype == torch.float64
                torch.testing.assert_close(theirs[name], value, rtol=1e-10, atol=1e-12)
            else:
                assert torch.equal(theirs[name], value), name


# ---- ablation: arms, shapes, keys ----------------------------------------------------------------

def test_ablation_gives_every_arm_rate_and_seed(small):
    result = tx.ablation(small, techniques=["adam", "dropout"], always_on=["batch_norm"], seeds=[0, 1],
                         lr_factors=[0.5, 1.0, 2.0], epochs=2, **TINY)
    assert result["techniques"] == ("dropout", "adam") and result["always_on"] == ("batch_norm",)
    assert list(result["arms"]) == ["full", "full - dropout", "full - adam", "baseline", "baseline + dropout",
                                    "baseline + adam"]
    arms = result["arms"]
    assert arms["full"]["techniques"] == ("batch_norm", "dropout", "adam")
    assert arms["baseline"]["techniques"] == ("batch_norm",)
    assert arms["full - dropout"] is arms["baseline + adam"]  # one configuration, trained once
    for arm in arms.values():
        for key in ("train_acc", "val_acc", "test_acc", "epochs"):
            assert arm[key].shape == (3, 2), key
        assert ((arm["val_acc"] >= 0) & (arm["val_acc"] <= 1)).all()
        assert (arm["epochs"] == 2).all() and arm["seconds"] > 0
    assert arms["full"]["lrs"] == pytest.approx([5e-4, 1e-3, 2e-3])
    assert arms["baseline"]["lrs"] == pytest.approx([0.05, 0.1, 0.2])  # SGD's base rate, same factors
    assert result["seeds"] == [0, 1] and result["lr_factors"] == [0.5, 1.0, 2.0] and result["seconds"] > 0
    rows = tx.ablation_effects(result, n_resamples=200)
    assert [(r["technique"], r["kind"]) for r in rows] == [
        ("dropout", "leave-one-out"), ("dropout", "add-one-in"), ("adam", "leave-one-out"),
        ("adam", "add-one-in")]


def test_ablation_scores_the_restored_network_under_early_stopping():
    data = DIGITS
    kwargs = dict(TINY, patience=1, batch_size=10, adam_lr=0.1)
    result = tx.ablation(data, techniques=["early_stopping"], always_on=["adam"], seeds=[0, 3],
                         lr_factors=[1.0], epochs=8, **kwargs)
    stopped = result["arms"]["full"]
    assert (stopped["epochs"] < 8).all() and (result["arms"]["baseline"]["epochs"] == 8).all()
    runs = tx.recipe_run(data, techniques=["early_stopping", "adam"], seeds=[0, 3], lrs=[0.1], epochs=8,
                         **kwargs)
    assert all(h.best_epoch < len(h.epochs) for h in runs.histories)
    restored = [tw.metrics.evaluate(m, data.X_test, data.y_test)["acc"] for m in runs.models]
    last = [h.epochs[-1]["val_acc"] for h in runs.histories]
    np.testing.assert_allclose(stopped["test_acc"][0], restored)
    val = [tw.metrics.evaluate(m, data.X_val, data.y_val)["acc"] for m in runs.models]
    np.testing.assert_allclose(stopped["val_acc"][0], val)
    assert val != last  # the restored network, not the last epoch's


# ---- paired_differences ----------------------------------------------------------------------------

def test_paired_differences_against_a_hand_computation():
    a = [0.91, 0.88, 0.90, 0.93, 0.89]
    b = [0.89, 0.88, 0.86, 0.90, 0.88]
    out = tx.paired_differences(a, b, n_resamples=2000)
    d = np.array(a) - np.array(b)
    assert out["mean"] == pytest.approx(d.mean()) == pytest.approx(0.02)
    np.testing.assert_allclose(out["differences"], d)
    assert out["low"] <= out["mean"] <= out["high"]
    assert d.min() <= out["low"] and out["high"] <= d.max()  # means of resamples lie in the range of d
    assert out["low"] > 0  # every difference is >= 0 and most are > 0
    again = tx.paired_differences(np.array(a), torch.tensor(b, dtype=torch.float64), n_resamples=2000)
    assert (again["low"], again["high"]) == (out["low"], out["high"])  # seeded
    wider = tx.paired_differences(a, b, confidence=0.99, n_resamples=2000)
    assert wider["low"] <= out["low"] and wider["high"] >= out["high"]
    bca = tx.paired_differences(a, b, n_resamples=2000, method="BCa")
    assert bca["method"] == "BCa" and bca["low"] <= bca["mean"] <= bca["high"]


def test_paired_differences_of_identical_differences_is_a_point():
    out = tx.paired_differences([0.5, 0.6, 0.7], [0.4, 0.5, 0.6])
    assert out["low"] == out["high"] == pytest.approx(0.1) == pytest.approx(out["mean"])


# ---- ablation_effects on made-up numbers --------------------------------------------------------

def _arm(val, test):
    return {"val_acc": np.array(val, dtype=float), "test_acc": np.array(test, dtype=float)}


def test_effects_use_the_reference_rate_when_fixed_and_each_arms_own_when_retuned():
    up = [[0.5, 0.5, 0.5], [0.9, 0.9, 0.9]]  # validation: the second rate is best
    down = [[0.9, 0.9, 0.9], [0.5, 0.5, 0.5]]  # validation: the first rate is best
    result = {"techniques": ("adam",), "lr_factors": [1.0, 3.0], "arms": {
        "full": _arm(up, [[0.80, 0.81, 0.82], [0.90, 0.91, 0.92]]),
        "full - adam": _arm(down, [[0.89, 0.91, 0.93], [0.70, 0.71, 0.72]]),
        "baseline": _arm(up, [[0.60, 0.60, 0.60], [0.70, 0.71, 0.72]]),
        "baseline + adam": _arm(up, [[0.60, 0.60, 0.60], [0.70, 0.72, 0.71]])}}
    loo, aoi = tx.ablation_effects(result, n_resamples=500)
    # leave-one-out: fixed at the full recipe's best rate (3.0): 0.91 - 0.71; retuned: 0.91 - 0.91
    assert loo["fixed_mean"] == pytest.approx(0.20) and loo["reference_factor"] == 3.0
    assert loo["fixed_verdict"] == "helps"
    assert loo["retuned_mean"] == pytest.approx(0.0) and loo["retuned_factor"] == 1.0
    assert loo["retuned_verdict"] == "unclear" and loo["changed"] and loo["why"] == "verdict helps -> unclear"
    # at the fixed rate the differences are 0.20, 0.20, 0.20: paired, no spread; unpaired, both arms' spread
    assert loo["fixed_sd_paired"] == pytest.approx(0.0, abs=1e-12)
    assert loo["fixed_sd_unpaired"] == pytest.approx(np.sqrt(2) * 0.01)
    # add-one-in: both arms best at 3.0; the differences are 0, +0.01, -0.01
    assert aoi["fixed_mean"] == pytest.approx(0.0) == pytest.approx(aoi["retuned_mean"])
    assert aoi["fixed_low"] < 0 < aoi["fixed_high"] and not aoi["changed"] and aoi["why"] == ""


def test_effects_flag_a_sign_flip():
    same = [[0.5, 0.5, 0.5], [0.9, 0.9, 0.9]]
    flip = [[0.9, 0.9, 0.9], [0.5, 0.5, 0.5]]
    result = {"techniques": ("dropout",), "lr_factors": [1.0, 3.0], "arms": {
        "full": _arm(same, [[0.5, 0.5, 0.5], [0.80, 0.82, 0.78]]),
        "full - dropout": _arm(flip, [[0.81, 0.80, 0.81], [0.79, 0.80, 0.80]]),
        "baseline": _arm(same, [[0.5, 0.5, 0.5], [0.7, 0.7, 0.7]]),
        "baseline + dropout": _arm(same, [[0.5, 0.5, 0.5], [0.7, 0.7, 0.7]])}}
    loo = tx.ablation_effects(result, n_resamples=500)[0]
    assert loo["fixed_mean"] > 0 > loo["retuned_mean"]
    assert loo["changed"] and loo["why"] == "sign of the mean flips"


# ---- bad arguments -------------------------------------------------------------------------------

NO_TEST = SimpleNamespace(X_train=DIGITS.X_train, y_train=DIGITS.y_train, X_val=DIGITS.X_val,
                          y_val=DIGITS.y_val)
FIVE = [0.9, 0.8, 0.7, 0.6, 0.5]

CASES = [
    ("recipe-unknown-technique", lambda: tx.recipe(DIGITS, ["dropuot"], epochs=1), ValueError,
     "techniques[0]: unknown technique 'dropuot'"),
    ("recipe-techniques-str", lambda: tx.recipe(DIGITS, "dropout", epochs=1), TypeError,
     "techniques must be a list or set of technique names"),
    ("recipe-technique-twice", lambda: tx.recipe(DIGITS, ["adam", "adam"], epochs=1), ValueError,
     "techniques names a technique twice"),
    ("recipe-no-test-split", lambda: tx.recipe(NO_TEST, [], epochs=1), TypeError, "data.X_test is missing"),
    ("recipe-regression", lambda: tx.recipe(tw.data.load("diabetes"), [], epochs=1, image_shape=(2, 5)),
     ValueError, "must be a classification dataset"),
    ("recipe-not-square", lambda: tx.recipe(tw.data.load("wine"), ["augmentation"], epochs=1), ValueError,
     "not a square image; give image_shape"),
    ("recipe-image-shape-mismatch", lambda: tx.recipe(DIGITS, [], epochs=1, image_shape=(7, 7)), ValueError,
     "image_shape (7, 7) holds 49 values, but data's examples have 64"),
    ("recipe-dropout-one", lambda: tx.recipe(DIGITS, ["dropout"], epochs=1, dropout=1.0), ValueError,
     "Invalid dropout: 1.0"),
    ("recipe-hidden-empty", lambda: tx.recipe(DIGITS, [], epochs=1, hidden=()), ValueError,
     "hidden is empty"),
    ("recipe-hidden-int", lambda: tx.recipe(DIGITS, [], epochs=1, hidden=64), TypeError,
     "hidden must be a list of integer widths"),
    ("recipe-max-shift-too-big", lambda: tx.recipe(DIGITS, ["augmentation"], epochs=1, max_shift=8),
     ValueError, "Invalid max_shift: 8"),
    ("recipe-monitor", lambda: tx.recipe(DIGITS, [], epochs=1, monitor="val_accuracy"), ValueError,
     "Invalid monitor: 'val_accuracy'"),
    ("recipe-epochs-zero", lambda: tx.recipe(DIGITS, [], epochs=0), ValueError, "Invalid epochs: 0"),
    ("recipe-unknown-setting", lambda: tx.recipe(DIGITS, [], epochs=1, lr=0.1), TypeError, "lr"),
    ("run-seeds-empty", lambda: tx.recipe_run(DIGITS, techniques=[], seeds=[], lrs=[0.1], epochs=1),
     ValueError, "seeds is empty"),
    ("run-seeds-twice", lambda: tx.recipe_run(DIGITS, techniques=[], seeds=[1, 1], lrs=[0.1], epochs=1),
     ValueError, "seeds holds a seed twice"),
    ("run-lrs-empty", lambda: tx.recipe_run(DIGITS, techniques=[], seeds=[0], lrs=[], epochs=1), ValueError,
     "lrs is empty"),
    ("run-lrs-negative", lambda: tx.recipe_run(DIGITS, techniques=[], seeds=[0], lrs=[-0.1], epochs=1),
     ValueError, "Invalid lrs[0]: -0.1"),
    ("recipe-decay-removes-weights", lambda: tx.recipe(DIGITS, ["weight_decay"], epochs=1, weight_decay=2.0),
     ValueError, "weight_decay 2 over 2 steps is a decay of 1.41 per step, which removes every weight"),
    ("ablation-unknown-technique", lambda: tx.ablation(DIGITS, techniques=["bn"], seeds=[0], epochs=1),
     ValueError, "techniques[0]: unknown technique 'bn'"),
    ("ablation-techniques-empty", lambda: tx.ablation(DIGITS, techniques=[], seeds=[0], epochs=1), ValueError,
     "techniques is empty"),
    ("ablation-both", lambda: tx.ablation(DIGITS, techniques=["adam"], always_on=["adam"], seeds=[0],
                                          epochs=1), ValueError, "adam cannot be both ablated"),
    ("ablation-seeds-empty", lambda: tx.ablation(DIGITS, seeds=[], epochs=1), ValueError, "seeds is empty"),
    ("ablation-lr-factors-empty", lambda: tx.ablation(DIGITS, seeds=[0], lr_factors=[], epochs=1), ValueError,
     "lr_factors is empty"),
    ("ablation-lr-factors-zero", lambda: tx.ablation(DIGITS, seeds=[0], lr_factors=[0.0, 1.0], epochs=1),
     ValueError, "Invalid lr_factors[0]: 0.0"),
    ("ablation-bad-setting", lambda: tx.ablation(DIGITS, seeds=[0], epochs=1, patience=0), ValueError,
     "Invalid patience: 0"),
    ("pairs-lengths", lambda: tx.paired_differences(FIVE, FIVE[:4]), ValueError,
     "a and b must hold one number per seed for the same seeds, got 5 and 4 values"),
    ("pairs-one-seed", lambda: tx.paired_differences([0.9], [0.8]), ValueError,
     "a holds 1 value(s): a paired interval needs at least 2 seeds"),
    ("pairs-nan", lambda: tx.paired_differences(FIVE, [0.9, float("nan"), 0.7, 0.6, 0.5]), ValueError,
     "b holds 1 non-finite value(s)"),
    ("pairs-2d", lambda: tx.paired_differences([FIVE, FIVE], [FIVE, FIVE]), ValueError,
     "a must be one number per seed (1-D)"),
    ("pairs-str", lambda: tx.paired_differences("0.9 0.8", FIVE), TypeError, "a must be a list or array"),
    ("pairs-confidence", lambda: tx.paired_differences(FIVE, FIVE, confidence=95), ValueError,
     "Invalid confidence: 95"),
    ("pairs-method", lambda: tx.paired_differences(FIVE, FIVE, method="bca"), ValueError,
     "Invalid method: 'bca'"),
    ("pairs-resamples", lambda: tx.paired_differences(FIVE, FIVE, n_resamples=10), ValueError,
     "Invalid n_resamples: 10"),
    ("effects-not-a-result", lambda: tx.ablation_effects({"full": 1}), TypeError,
     "result must be the dict that ablation returns"),
]


@pytest.mark.parametrize("call, exception, phrase", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_arguments_are_refused_with_a_clear_message(call, exception, phrase):
    with pytest.raises(exception) as info:
        call()
    assert phrase in str(info.value)
