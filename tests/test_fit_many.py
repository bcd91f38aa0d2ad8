"""fit_many: every member is the run its own fit would make (initialization, mini-batch order, dropout
masks, augmentation, batch-norm statistics, early stopping), settings of a grid included."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

import trainwell as tw
from trainwell.train import EarlyStopping, Record, fit, fit_many

SEEDS = [0, 3]
ONE_NET = nn.Linear(64, 10)


@pytest.fixture(scope="module")
def digits():
    return tw.data.load("digits")


def _as(data, dtype):
    return SimpleNamespace(X_train=data.X_train[:400].to(dtype), y_train=data.y_train[:400],
                           X_val=data.X_val[:200].to(dtype), y_val=data.y_val[:200])


def _separate(build, data, seed, **kwargs):
    tw.seed_everything(seed)
    model = build()
    return model, fit(model, data, seed=seed, progress=False, **kwargs)


def _rel(a, b) -> float:
    """Largest relative difference; entries that are the same infinity count as equal (a float64 run's
    step losses are recorded in float32, where a large finite loss is inf), any other mismatch in
    finiteness as infinitely different."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    same_inf = np.isinf(a) & (a == b)
    if (~np.isfinite(a) ^ ~np.isfinite(b)).any() or np.isnan(a).any() or np.isnan(b).any():
        return math.inf
    a, b = a[~same_inf], b[~same_inf]
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-30))) if a.size else 0.0


def _assert_same_run(runs, m, model, history, rtol):
    other = runs.histories[m]
    assert len(other.step_loss) == len(history.step_loss)
    assert _rel(history.step_loss, other.step_loss) <= rtol
    assert len(other.epochs) == len(history.epochs)
    for e1, e2 in zip(history.epochs, other.epochs, strict=True):
        assert set(e1) == set(e2)
        for key in e1:
            if key != "seconds":
                assert _rel(e1[key], e2[key]) <= rtol, (key, e1[key], e2[key])
    assert (other.best_epoch, other.stopped_early, other.diverged, other.stop_reason) == (
        history.best_epoch, history.stopped_early, history.diverged, history.stop_reason)
    theirs = runs.models[m].state_dict()
    for name, value in model.state_dict().items():
        if value.is_floating_point():
            scale = value.abs().max().clamp_min(1e-30)
            assert ((value - theirs[name]).abs().max() / scale).item() <= rtol, name
        else:
            assert torch.equal(value, theirs[name]), name


OPTIMIZERS = {
    "sgd-momentum": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
    "adam": lambda p: torch.optim.Adam(p, lr=2e-3),
}


@pytest.mark.parametrize("dtype, rtol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
@pytest.mark.parametrize("bn", [False, True])
def test_members_equal_their_separate_fit_runs(digits, dtype, rtol, opt, bn):
    data = _as(digits, dtype)

    def build():
        return tw.models.figure1_net(64, 10, bn=bn, hidden=24).to(dtype)

    kwargs = dict(optimizer=OPTIMIZERS[opt], epochs=3, batch_size=50)
    runs = fit_many(build, data, seeds=SEEDS, progress=False, **kwargs)
    assert runs.seeds == SEEDS and runs.settings == [{}, {}]
    for m, seed in enumerate(SEEDS):
        _assert_same_run(runs, m, *_separate(build, data, seed, **kwargs), rtol=rtol)


def test_a_grid_gives_each_setting_its_own_param_group(digits):
    data = _as(digits, torch.float64)

    def build():
        return tw.models.mlp([64, 32, 10]).double()

    grid = {"lr": [0.01, 0.1], "weight_decay": [0.0, 1e-3]}
    runs = fit_many(build, data, seeds=SEEDS, grid=grid, epochs=2, batch_size=64, progress=False,
                    optimizer=lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.9))
    assert len(runs) == 8 and runs.settings[0] == {"lr": 0.01, "weight_decay": 0.0}
    assert runs.members(lr=0.1, weight_decay=1e-3) == [6, 7]
    for m, (setting, seed) in enumerate(zip(runs.settings, runs.seeds, strict=True)):
        model, history = _separate(
            build, data, seed, epochs=2, batch_size=64,
            optimizer=lambda p, s=setting: torch.optim.SGD(p, momentum=0.9, **s))
        _assert_same_run(runs, m, model, history, rtol=1e-10)
    rows = runs.table()
    assert len(rows) == 8 * 2
    assert {"lr", "weight_decay", "seed", "member", "epoch", "val_loss"} <= set(rows[0])


def test_dropout_masks_are_each_members_own_and_reproducible_from_its_seed(digits):
    data = _as(digits, torch.float64)

    def build():
        return tw.models.mlp([64, 48, 48, 10], hidden_dropout=0.5, input_dropout=0.2).double()

    kwargs = dict(optimizer=lambda p: torch.optim.SGD(p, lr=0.05), epochs=2, batch_size=32)
    runs = fit_many(build, data, seeds=[1, 2, 5], progress=False, **kwargs)
    for m, seed in enumerate([1, 2, 5]):  # the same masks as fit draws, hence the same run
        _assert_same_run(runs, m, *_separate(build, data, seed, **kwargs), rtol=1e-10)
    alone = fit_many(build, data, seeds=[5], progress=False, **kwargs)
    assert alone.histories[0].step_loss == runs.histories[2].step_loss

    def same_init():  # one initialization for every member: only the masks and the order differ
        torch.manual_seed(0)
        return build()

    twins = fit_many(same_init, data, seeds=[1, 2], progress=False, **kwargs)
    assert twins.histories[0].step_loss[0] != twins.histories[1].step_loss[0]


def test_random_layers_without_parameters_and_augmentation_use_each_members_stream(digits):
    data = _as(digits, torch.float64)

    def build():
        net = tw.models.mlp([64, 32, 10], noise=lambda: tw.dropout.GaussianDropout(0.5)).double()
        return net

    def jitter(x):
        return x + 0.1 * torch.randn_like(x)

    kwargs = dict(optimizer=lambda p: torch.optim.SGD(p, lr=0.05), epochs=2, batch_size=40, transform=jitter)
    runs = fit_many(build, data, seeds=SEEDS, progress=False, **kwargs)
    for m, seed in enumerate(SEEDS):
        _assert_same_run(runs, m, *_separate(build, data, seed, **kwargs), rtol=1e-10)


def test_convolutional_members_equal_their_fit_runs(digits):
    images = SimpleNamespace(X_train=digits.X_train[:200].double().view(-1, 1, 8, 8),
                             y_train=digits.y_train[:200],
                             X_val=digits.X_val[:100].double().view(-1, 1, 8, 8), y_val=digits.y_val[:100])

    def build():
        return tw.models.small_convnet(10, bn="before", channels=(4, 6)).double()

    kwargs = dict(optimizer=lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), epochs=2, batch_size=50)
    runs = fit_many(build, images, seeds=SEEDS, progress=False, **kwargs)
    for m, seed in enumerate(SEEDS):
        _assert_same_run(runs, m, *_separate(build, images, seed, **kwargs), rtol=1e-10)


@pytest.mark.parametrize("restore_best", [True, False])
def test_early_stopping_acts_on_each_member_alone(digits, restore_best):
    data = _as(digits, torch.float64)

    def build():
        return tw.models.mlp([64, 64, 10]).double()

    kwargs = dict(optimizer=lambda p: torch.optim.SGD(p, lr=0.3, momentum=0.9), epochs=25, batch_size=25,
                  callbacks=[EarlyStopping(2, restore_best=restore_best)])
    seeds = [0, 1, 2, 3]
    runs = fit_many(build, data, seeds=seeds, progress=False, **kwargs)
    lengths = set()
    for m, seed in enumerate(seeds):
        model, history = _separate(build, data, seed, **kwargs)
        _assert_same_run(runs, m, model, history, rtol=1e-10)
        lengths.add(len(history.epochs))
    assert any(h.stopped_early for h in runs.histories)


def test_max_steps_and_record_see_every_member(digits):
    data = _as(digits, torch.float32)
    seen = []
    record = Record(lambda state: state.batch_loss.clone(), every=5)
    runs = fit_many(lambda: tw.models.mlp([64, 16, 10]), data, seeds=SEEDS, epochs=10, max_steps=12,
                    batch_size=64, optimizer=lambda p: torch.optim.SGD(p, lr=0.1), callbacks=[record],
                    progress=False)
    seen = record.values
    assert record.at == [5, 10] and all(v.shape == (2,) for v in seen)
    assert all(len(h.step_loss) == 12 and h.stop_reason == "max_steps=12 reached" for h in runs.histories)


def test_a_member_that_diverges_stops_alone(digits):
    X, Xv = digits.X_train[:400].double(), digits.X_val[:200].double()
    data = SimpleNamespace(X_train=X, y_train=X.sum(1, keepdim=True), X_val=Xv, y_val=Xv.sum(1, keepdim=True))

    def build():
        return tw.models.mlp([64, 32, 1]).double()

    # lr 1e8: the float64 loss overflows at step 19 (third epoch) for seed 0, at step 9 for seed 3
    with pytest.warns(RuntimeWarning, match=r"fit_many: 2 of 4 members diverged \(lr=100000000.0, seed 0: "
                                            "the "
                                            "training loss became inf at step 19"):
        runs = fit_many(build, data, seeds=SEEDS, grid=[{"lr": 1e8}, {"lr": 1e-3}], epochs=3, batch_size=64,
                        loss="mse", optimizer=lambda p: torch.optim.SGD(p, lr=0.1), progress=False)
    assert [h.stop_reason.split(";")[0] for h in runs.histories[:2]] == [
        "the training loss became inf at step 19", "the training loss became inf at step 9"]
    assert [len(h.step_loss) for h in runs.histories] == [18, 8, 21, 21]
    assert not any(h.diverged for h in runs.histories[2:])
    assert np.isfinite(runs.final("val_loss")[2:]).all()
    for m, (setting, seed) in enumerate(zip(runs.settings, runs.seeds, strict=True)):
        model, history = _separate(build, data, seed, epochs=3, batch_size=64, loss="mse",
                                   tolerate_divergence=True,
                                   optimizer=lambda p, s=setting: torch.optim.SGD(p, **s))
        _assert_same_run(runs, m, model, history, rtol=1e-10)  # a diverged member too: finite, as its fit


BAD = [
    ("build not callable", dict(build=3), TypeError, "build must be a function"),
    ("seeds empty", dict(seeds=[]), ValueError, "seeds is empty"),
    ("seeds a number", dict(seeds=3), TypeError, "seeds must be a list of integers"),
    ("seeds repeated", dict(seeds=[1, 1]), ValueError, "seeds holds a seed twice"),
    ("seed negative", dict(seeds=[-1]), ValueError, "Invalid seeds[0]"),
    ("optimizer object", dict(optimizer=torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)), TypeError,
     "optimizer must be a function params -> Optimizer"),
    ("grid unknown key", dict(grid={"lrr": [0.1]}), ValueError, "lrr, not a hyperparameter of SGD"),
    ("grid value nan", dict(grid={"lr": [float("nan")]}), ValueError, "not a finite number"),
    ("grid string", dict(grid="lr"), TypeError, "grid must be None, a dict of lists"),
    ("grid scalar values", dict(grid={"lr": 0.1}), TypeError, "grid['lr'] must be a non-empty list"),
    ("grid list of mixed keys", dict(grid=[{"lr": 0.1}, {"momentum": 0.9}]), ValueError,
     "must name the same hyperparameters"),
    ("grid repeated setting", dict(grid=[{"lr": 0.1}, {"lr": 0.1}]), ValueError, "a setting appears twice"),
    ("build returns not a module", dict(build=lambda: 3), TypeError, "build() must return a torch.nn.Module"),
    ("build returns one object", dict(build=lambda: ONE_NET), ValueError,
     "returned the same model object twice"),
    ("flatten over the batch", dict(build=lambda: nn.Sequential(nn.Flatten(0), nn.Linear(64, 10))),
     ValueError, "a Flatten over the batch dimension cannot be stacked"),
    ("callback it does not know", dict(callbacks=[tw.train.Callback()]), TypeError,
     "does not know how to apply Callback"),
    ("two early stoppings", dict(callbacks=[EarlyStopping(1), EarlyStopping(2)]), ValueError,
     "at most one EarlyStopping"),
    ("penalty without many", dict(penalty=lambda model: 0.0), TypeError, "penalty must have a method many"),
    ("epochs zero", dict(epochs=0), ValueError, "Invalid epochs: 0"),
    ("batch size zero", dict(batch_size=0), ValueError, "Invalid batch_size: 0"),
]


@pytest.mark.parametrize("case, change, error, phrase", BAD, ids=[b[0] for b in BAD])
def test_bad_arguments_are_clear_errors(digits, case, change, error, phrase):
    kwargs = dict(build=lambda: tw.models.mlp([64, 8, 10]), data=_as(digits, torch.float32), seeds=[0, 1],
                  optimizer=lambda p: torch.optim.SGD(p, lr=0.1), epochs=1, progress=False)
    kwargs.update(change)
    with pytest.raises(error) as info:
        fit_many(**kwargs)
    assert phrase in str(info.value)


def test_members_that_differ_are_refused(digits):
    widths = iter([8, 9])
    with pytest.raises(ValueError, match="member 1 is not built like member 0"):
        fit_many(lambda: tw.models.mlp([64, next(widths), 10]), _as(digits, torch.float32), seeds=[0, 1],
                 optimizer=lambda p: torch.optim.SGD(p, lr=0.1), epochs=1, progress=False)


def test_runs_arranged_by_setting_and_seed(digits):
    data = _as(digits, torch.float32)
    runs = fit_many(lambda: tw.models.mlp([64, 8, 10]), data, seeds=[0, 1, 2], grid={"lr": [0.01, 0.1]},
                    epochs=2, optimizer=lambda p: torch.optim.SGD(p, lr=0.1), progress=False)
    table = runs.by_setting("val_acc")
    assert table.shape == (2, 3)
    assert table[1, 2] == runs.histories[runs.members(lr=0.1)[2]].epochs[-1]["val_acc"]
    curves = runs.curves("val_loss")
    assert curves.shape == (2, 3, 2) and curves[0, 1, 0] == runs.histories[1].epochs[0]["val_loss"]


def test_a_schedule_sets_a_hyperparameter_every_epoch_in_fit_and_fit_many(digits):
    from trainwell.train import Schedule

    data = _as(digits, torch.float64)

    def build():
        return tw.models.mlp([64, 16, 10]).double()

    kwargs = dict(optimizer=lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.0), epochs=3, batch_size=64)
    runs = fit_many(build, data, seeds=SEEDS, progress=False,
                    callbacks=[Schedule("momentum", lambda e: 0.5 if e == 1 else 0.9)], **kwargs)
    for m, seed in enumerate(SEEDS):
        schedule = Schedule("momentum", lambda e: 0.5 if e == 1 else 0.9)
        model, history = _separate(build, data, seed, callbacks=[schedule], **kwargs)
        _assert_same_run(runs, m, model, history, rtol=1e-10)
        assert schedule.values == [0.5, 0.9, 0.9]
    with pytest.raises(ValueError, match="has no hyperparameter 'betas'"):
        _separate(build, data, 0, callbacks=[Schedule("betas", lambda e: 0.9)], **kwargs)


def test_callbacks_started_before_a_failing_one_are_ended():
    ended = []

    class Tidy(tw.train.Callback):
        def on_fit_end(self, state):
            ended.append("tidy")

    class Broken(tw.train.Callback):
        def on_fit_start(self, state):
            raise RuntimeError("cannot start")

    data = SimpleNamespace(X_train=torch.randn(20, 4), y_train=torch.randint(0, 2, (20,)),
                           X_val=torch.randn(5, 4), y_val=torch.randint(0, 2, (5,)))
    with pytest.raises(RuntimeError, match="cannot start"):
        fit(nn.Linear(4, 2), data, optimizer=lambda p: torch.optim.SGD(p, lr=0.1), epochs=1,
            callbacks=[Tidy(), Broken()], progress=False)
    assert ended == ["tidy"]


def test_a_schedule_per_step_sets_the_value_before_every_step(digits):
    from trainwell.train import Schedule

    data = _as(digits, torch.float64)
    schedule = Schedule("momentum", lambda t: (t - 1) / (t + 2), per="step")
    model, history = _separate(lambda: tw.models.mlp([64, 10]).double(), data, 0, callbacks=[schedule],
                               optimizer=lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.5), epochs=2,
                               batch_size=400)
    assert len(schedule.values) == len(history.step_loss) == 2
    assert schedule.values == [0.0, 0.25]


def test_eval_every_measures_only_every_few_epochs_and_the_last(digits):
    data = _as(digits, torch.float64)

    def build():
        return tw.models.mlp([64, 16, 10]).double()

    kwargs = dict(optimizer=lambda p: torch.optim.SGD(p, lr=0.1), epochs=7, batch_size=100, eval_every=3)
    runs = fit_many(build, data, seeds=SEEDS, progress=False, **kwargs)
    for m, seed in enumerate(SEEDS):
        model, history = _separate(build, data, seed, **kwargs)
        assert [e["epoch"] for e in history.epochs] == [3, 6, 7]
        _assert_same_run(runs, m, model, history, rtol=1e-10)
    with pytest.raises(ValueError, match="eval_every=2 leaves epochs without metrics"):
        fit_many(build, data, seeds=[0], optimizer=lambda p: torch.optim.SGD(p, lr=0.1), epochs=2,
                 eval_every=2, callbacks=[EarlyStopping(1)], progress=False)
    with pytest.raises(ValueError, match="Invalid eval_every: 0"):
        _separate(build, data, 0, optimizer=lambda p: torch.optim.SGD(p, lr=0.1), epochs=1, eval_every=0)


def test_epochs_to_a_target(digits):
    runs = fit_many(lambda: tw.models.mlp([64, 32, 10]), _as(digits, torch.float32), seeds=[0, 1], epochs=4,
                    optimizer=lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), progress=False)
    acc = runs.curves("val_acc")[0]
    first = runs.epochs_to(0.5)
    for m in range(2):
        hits = np.nonzero(acc[m] >= 0.5)[0]
        assert (first[m] == hits[0] + 1) if len(hits) else np.isnan(first[m])
    assert np.isnan(runs.epochs_to(2.0)).all() and not np.isnan(runs.epochs_to(10.0, "val_loss")).any()
    with pytest.raises(ValueError, match="Unknown metric 'val_f1'"):
        runs.epochs_to(0.5, "val_f1")


SINGLE_CASES = {
    "figure 1 with batch norm": (lambda: tw.models.figure1_net(64, 10, bn=True, hidden=24), False),
    "dropout": (lambda: tw.models.mlp([64, 48, 10], hidden_dropout=0.5, input_dropout=0.2), False),
    "noise layer and augmentation": (
        lambda: tw.models.mlp([64, 32, 10], noise=lambda: tw.dropout.GaussianDropout(0.5)), False),
    "convolutions, batch norm, Flatten(-3)": (
        lambda: nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(-3), nn.Linear(64, 10)), True),
}


@pytest.mark.parametrize("case", list(SINGLE_CASES))
def test_a_single_member_is_its_fit_run_bit_for_bit(digits, case):
    """One member is not stacked: its own module runs, so even in float32 it is fit's run exactly."""
    build, images = SINGLE_CASES[case]
    data = _as(digits, torch.float32)
    if images:
        data = SimpleNamespace(X_train=data.X_train.view(-1, 1, 8, 8), y_train=data.y_train,
                               X_val=data.X_val.view(-1, 1, 8, 8), y_val=data.y_val)

    def jitter(x):
        return x + 0.1 * torch.randn_like(x)

    kwargs = dict(optimizer=lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9), epochs=2, batch_size=50,
                  transform=jitter if case == "noise layer and augmentation" else None)
    runs = fit_many(build, data, seeds=[7], progress=False, **kwargs)
    _assert_same_run(runs, 0, *_separate(build, data, 7, **kwargs), rtol=0.0)
    assert runs.histories[0].step_loss == _separate(build, data, 7, **kwargs)[1].step_loss
    pair = fit_many(build, data, seeds=[7, 8], progress=False, **kwargs)  # the stacked path agrees
    _assert_same_run(pair, 0, *_separate(build, data, 7, **kwargs), rtol=1e-5)


def test_stacked_linear_weights_take_their_gradients_without_a_copy(digits):
    """A linear layer's stacked weight is laid out as its transpose, so the gradient of x @ Wᵀ arrives
    in the leaf's own strides (autograd then stores it as it is) and the values are the members'."""
    from trainwell.train.members import StackedModel

    members = [tw.models.figure1_net(64, 10, bn=False, hidden=24) for _ in range(3)]
    stacked = StackedModel(members, group_sizes=[2, 1])
    for g, (weight, size) in enumerate(zip(stacked.params["0.weight"], [2, 1], strict=True)):
        assert weight.shape == (size, 24, 64) and weight.stride() == (24 * 64, 1, 24)
        start = 2 * g
        assert torch.equal(weight.detach(), torch.stack([m[0].weight for m in members[start:start + size]]))
    out = stacked(digits.X_train[:30].expand(3, 30, 64))
    out.square().sum().backward()
    for leaves in stacked.params.values():
        for leaf in leaves:
            assert leaf.grad is not None and leaf.grad.stride() == leaf.stride()
    for m, member in enumerate(members):  # every member's output is its own module's
        torch.testing.assert_close(out[m], member(digits.X_train[:30]), rtol=1e-5, atol=1e-6)


def test_member_losses_are_each_members_cross_entropy(digits):
    from trainwell.metrics import resolve_loss
    from trainwell.train.loop import _member_losses

    g = torch.Generator().manual_seed(0)
    out = torch.randn(4, 25, 10, generator=g, dtype=torch.float64) * 5
    labels = torch.randint(0, 10, (4, 25), generator=g)
    probabilities = torch.softmax(torch.randn(4, 25, 10, generator=g, dtype=torch.float64), -1)
    for targets in (labels, probabilities):
        got = _member_losses("cross_entropy", resolve_loss("cross_entropy"), out, targets)
        want = torch.stack([torch.nn.functional.cross_entropy(out[m], targets[m]) for m in range(4)])
        torch.testing.assert_close(got, want, rtol=1e-13, atol=0.0)


def test_evaluation_in_chunks_equals_evaluation_at_once(digits):
    from trainwell.metrics import resolve_loss
    from trainwell.train.loop import _evaluate_members
    from trainwell.train.members import StackedModel

    stacked = StackedModel([tw.models.figure1_net(64, 10, bn=False, hidden=24).double() for _ in range(30)])
    X, y = digits.X_train.double(), digits.y_train
    chunked = _evaluate_members(stacked, X, y, "cross_entropy", resolve_loss("cross_entropy"))  # 273 rows
    whole = _evaluate_members(stacked, X, y, "cross_entropy", resolve_loss("cross_entropy"), batch_size=4096)
    for a, b in zip(chunked, whole, strict=True):
        assert a["acc"] == b["acc"] and abs(a["loss"] - b["loss"]) <= 1e-12 * b["loss"]


def test_a_single_member_is_not_stacked_but_shows_stacked_views(digits):
    from trainwell.train.members import StackedModel

    member = tw.models.figure1_net(64, 10, bn=True, hidden=24)
    stacked = StackedModel([member])
    own = list(member.parameters())
    assert all(a is b for a, b in zip(stacked.param_groups()[0], own, strict=True))  # the module's own
    assert stacked.leaves("0.weight")[0] is member[0].weight
    view = stacked.params["0.weight"][0]
    assert view.shape == (1, 24, 64) and view.data_ptr() == member[0].weight.data_ptr()
    with torch.no_grad():
        view[0, 0, 0] = 5.0  # written through to the module
    assert member[0].weight[0, 0].item() == 5.0
    stacked(digits.X_train[:30], shared=True)  # a training step's forward updates the module's statistics
    assert stacked.buffers["1.running_mean"].data_ptr() == member[1].running_mean.data_ptr()
    assert int(member[1].num_batches_tracked) == 1


BAD_DATA = [
    ("nan in the validation inputs", "X_val", 0, float("nan"), "X_val holds 1 non-finite value(s)"),
    ("validation label out of range", "y_val", -1, 10, "y_val holds class labels in [0, 10], outside [0, 9]"),
    ("negative training label", "y_train", 0, -2, "y_train holds class labels in [-2, 9]"),
]


@pytest.mark.parametrize("case, split, index, value, phrase", BAD_DATA, ids=[b[0] for b in BAD_DATA])
def test_bad_data_is_refused_before_the_first_step(digits, case, split, index, value, phrase):
    data = _as(digits, torch.float32)
    t = getattr(data, split).clone()
    t.view(-1)[index] = value
    setattr(data, split, t)
    with pytest.raises(ValueError) as info:
        fit_many(lambda: tw.models.mlp([64, 8, 10]), data, seeds=[0, 1],
                 optimizer=lambda p: torch.optim.SGD(p, lr=0.1), epochs=1, progress=False)
    assert phrase in str(info.value) and "fit_many" in str(info.value)


def test_a_schedule_value_is_checked_as_the_constructor_checks_it(digits):
    from trainwell.train import Schedule

    with pytest.raises(ValueError, match=r"schedule\(2\) for 'lr': Invalid learning rate: -0.5"):
        fit_many(lambda: tw.models.mlp([64, 8, 10]), _as(digits, torch.float32), seeds=[0, 1],
                 optimizer=lambda p: torch.optim.SGD(p, lr=0.1), epochs=3, progress=False,
                 callbacks=[Schedule("lr", lambda e: 0.1 if e == 1 else -0.5)])
