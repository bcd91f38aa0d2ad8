from types import SimpleNamespace

import numpy as np
import pytest
import torch

import trainwell as tw
from trainwell.train import Callback, EarlyStopping, History, LRScheduler, Record, evaluate, fit, repeat

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else []) + (
    ["mps"] if torch.backends.mps.is_available() else [])


def blobs(n=240, seed=0, shuffle_labels=False):
    """Two well separated Gaussian classes in 5 dimensions, split 2:1 into train and validation."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    X = torch.randn(n, 5, generator=g) + 3.0 * y[:, None].float()
    if shuffle_labels:
        y = y[torch.randperm(n, generator=g)]
    k = 2 * n // 3
    return SimpleNamespace(X_train=X[:k], y_train=y[:k], X_val=X[k:], y_val=y[k:])


def sgd(lr=0.1):
    return lambda params: torch.optim.SGD(params, lr=lr)


def train_once(seed=0, **kwargs):
    torch.manual_seed(seed)
    model = tw.models.mlp([5, 16, 2])
    hist = fit(model, blobs(), optimizer=sgd(), epochs=5, batch_size=32, progress=False, seed=seed, **kwargs)
    return model, hist


def test_learns_a_separable_problem():
    _, hist = train_once()
    assert len(hist.epochs) == 5 and len(hist.step_loss) == 5 * 5  # 160 examples, batches of 32
    assert hist.metric("val_acc")[-1] > 0.95
    assert hist.metric("train_loss")[-1] < hist.metric("train_loss")[0]


def test_same_seed_same_result_different_seed_different_order():
    m1, h1 = train_once(seed=3)
    m2, h2 = train_once(seed=3)
    assert h1.step_loss == h2.step_loss
    pairs = zip(m1.state_dict().values(), m2.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    _, h3 = train_once(seed=4)
    assert h1.step_loss != h3.step_loss


def test_a_step_callback_sees_every_step_and_penalty_shrinks_weights():
    record = Record(lambda state: state.step)
    train_once(callbacks=[record])
    assert record.values == record.at == list(range(1, 26))
    plain, _ = train_once()
    shrunk, _ = train_once(penalty=lambda m: 1.0 * sum((p ** 2).sum() for p in m.parameters()))
    norm = lambda m: sum(float((p.detach() ** 2).sum()) for p in m.parameters())  # noqa: E731
    assert norm(shrunk) < 0.5 * norm(plain)


def test_early_stopping_restores_the_best_epoch():
    torch.manual_seed(0)
    data = blobs(shuffle_labels=True)  # labels are noise: validation loss gets worse as it memorizes
    model = tw.models.mlp([5, 256, 2])
    hist = fit(model, data, optimizer=lambda p: torch.optim.Adam(p, lr=1e-2), epochs=200, batch_size=16,
               callbacks=[EarlyStopping(patience=3)], progress=False)
    assert hist.stopped_early and len(hist.epochs) < 200 and "early stopping" in hist.stop_reason
    assert len(hist.epochs) == hist.best_epoch + 3
    best = hist.epochs[hist.best_epoch - 1]["val_loss"]
    assert best == min(hist.metric("val_loss"))
    assert evaluate(model, data.X_val, data.y_val)["loss"] == pytest.approx(best, rel=1e-6)


def test_early_stopping_without_restore_keeps_the_last_parameters():
    torch.manual_seed(0)
    data = blobs(shuffle_labels=True)
    model = tw.models.mlp([5, 256, 2])
    hist = fit(model, data, optimizer=lambda p: torch.optim.Adam(p, lr=1e-2), epochs=200, batch_size=16,
               callbacks=[EarlyStopping(patience=3, restore_best=False)], progress=False)
    last = hist.epochs[-1]["val_loss"]
    assert last > min(hist.metric("val_loss"))
    assert evaluate(model, data.X_val, data.y_val)["loss"] == pytest.approx(last, rel=1e-6)


def test_same_seed_same_history_with_dropout_and_augmentation_whatever_ran_between():
    """fit(seed=s) fixes the mini-batch order, the dropout masks and the augmentation's draws."""
    data = blobs()

    def run():
        torch.manual_seed(11)  # the same initialization
        model = tw.models.mlp([5, 32, 2], hidden_dropout=0.5, input_dropout=0.2)
        jitter = lambda x: x + 0.3 * torch.randn_like(x)  # noqa: E731  (augmentation from torch's RNG)
        return fit(model, data, optimizer=sgd(), epochs=4, batch_size=32, transform=jitter, seed=3,
                   progress=False)

    first = run()
    torch.rand(1000)  # unrelated random draws in between
    np.random.rand(10)
    second = run()
    assert first.step_loss == second.step_loss
    assert first.epochs[-1]["val_loss"] == second.epochs[-1]["val_loss"]
    model = tw.models.mlp([5, 8, 2], hidden_dropout=0.5)
    state = torch.random.get_rng_state()
    fit(model, data, optimizer=sgd(), epochs=1, progress=False)
    assert torch.equal(state, torch.random.get_rng_state())  # fit leaves the global generator as it was
    torch.manual_seed(11)
    other = fit(tw.models.mlp([5, 32, 2], hidden_dropout=0.5, input_dropout=0.2), data, optimizer=sgd(),
                epochs=4, batch_size=32, seed=4, progress=False)
    assert other.step_loss != first.step_loss


def test_transform_changes_the_training_batches_only():
    seen = []

    def spy(x):
        seen.append(x.shape[0])
        return x

    train_once(transform=spy)
    assert sum(seen) == 5 * 160  # every training example once per epoch; evaluation is not transformed
    with pytest.raises(ValueError, match="transform must return a tensor with the batch's 32 examples"):
        train_once(transform=lambda x: x[:1])


def test_learning_rate_schedules_plug_in():
    torch.manual_seed(0)
    model = tw.models.mlp([5, 8, 2])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    fit(model, blobs(), optimizer=opt, epochs=3, progress=False, callbacks=[sched], device="cpu")
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 3)
    lrs = Record(lambda state: state.optimizer.param_groups[0]["lr"])
    fit(tw.models.mlp([5, 8, 2]), blobs(), optimizer=sgd(0.1), epochs=1, batch_size=32, progress=False,
        callbacks=[LRScheduler(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9), per="step"), lrs])
    assert lrs.values == pytest.approx([0.1 * 0.9 ** k for k in range(1, 6)])
    other = torch.optim.SGD(tw.models.mlp([5, 2]).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="attached to another optimizer"):
        fit(model, blobs(), optimizer=sgd(), epochs=1, progress=False,
            callbacks=[torch.optim.lr_scheduler.StepLR(other, 1)])


def test_a_callback_can_stop_training():
    class StopAtSeven(Callback):
        def on_step_end(self, state):
            if state.step == 7:
                state.stop("seven steps are enough")

    hist = fit(tw.models.mlp([5, 2]), blobs(), optimizer=sgd(), epochs=10, batch_size=32, progress=False,
               callbacks=[StopAtSeven()])
    assert len(hist.step_loss) == 7 and hist.stop_reason == "seven steps are enough"
    assert len(hist.epochs) == 2  # 5 steps per epoch: the interrupted second epoch is evaluated too


def test_optimizer_of_another_model_and_regression_shapes_are_rejected():
    other = tw.models.mlp([5, 2])
    with pytest.raises(ValueError, match="not the model's parameters"):
        fit(tw.models.mlp([5, 2]), blobs(), optimizer=torch.optim.SGD(other.parameters(), lr=0.1), epochs=1,
            progress=False)
    reg = blobs()
    reg.y_train, reg.y_val = reg.y_train.float(), reg.y_val.float()
    with pytest.raises(ValueError, match="would broadcast"):
        fit(tw.models.mlp([5, 1]), reg, optimizer=sgd(), epochs=1, loss="mse", progress=False)


def test_divergence_is_detected():
    torch.manual_seed(0)
    model = tw.models.mlp([5, 16, 2])
    with pytest.warns(RuntimeWarning, match="fit: training diverged: the training loss became nan at step"):
        hist = fit(model, blobs(), optimizer=sgd(lr=1e30), epochs=5, progress=False)
    assert hist.diverged and len(hist.epochs) < 5 and "became" in hist.stop_reason
    assert "diverged" in repr(hist) or not hist.epochs


@pytest.mark.parametrize("lr", [1e30, 1e3])
def test_divergence_stops_before_the_bad_step_and_keeps_the_last_finite_loss_s_parameters(lr):
    """Before: the loop went on stepping with NaN until the epoch ended and returned NaN weights,
    without a word. Now the run stops at the first non-finite loss, before that step's update: its
    parameters are those of the same run stopped one step earlier by max_steps."""
    import re
    import warnings

    def run(**kwargs):
        torch.manual_seed(0)
        model = tw.models.mlp([5, 16, 2])
        return model, fit(model, blobs(), optimizer=sgd(lr=lr), epochs=20, batch_size=32, progress=False,
                          **kwargs)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tolerated: no warning
        model, hist = run(tolerate_divergence=True)
    step = int(re.search(r"at step (\d+)", hist.stop_reason).group(1))
    assert hist.diverged and len(hist.step_loss) == step - 1 and all(np.isfinite(hist.step_loss))
    assert "training stopped before that step's update" in hist.stop_reason
    earlier, _ = run(max_steps=step - 1, tolerate_divergence=True)
    for p, q in zip(model.parameters(), earlier.parameters(), strict=True):
        assert torch.isfinite(p).all() and torch.equal(p, q)


def test_regression_with_mse():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(200, 3, generator=g)
    y = X @ torch.tensor([[1.0], [-2.0], [0.5]])
    data = SimpleNamespace(X_train=X[:150], y_train=y[:150], X_val=X[150:], y_val=y[150:])
    model = torch.nn.Linear(3, 1)
    hist = fit(model, data, loss="mse", optimizer=sgd(0.1), epochs=30, progress=False)
    assert "val_acc" not in hist.epochs[0]
    assert hist.metric("val_loss")[-1] < 1e-3


def test_evaluate_restores_training_mode():
    model = tw.models.mlp([5, 8, 2], hidden_dropout=0.5)
    model.train()
    d = blobs()
    evaluate(model, d.X_val, d.y_val)
    assert model.training


@pytest.mark.parametrize("dev", DEVICES)
def test_runs_on_the_requested_device(dev):
    torch.manual_seed(0)
    model = tw.models.mlp([5, 8, 2])
    fit(model, blobs(), optimizer=sgd(), epochs=1, progress=False, device=dev)
    assert next(model.parameters()).device.type == dev


@pytest.mark.parametrize("dev", DEVICES)
def test_a_fitted_network_is_evaluated_on_data_left_on_the_cpu(dev):
    # fit() moves the network to `dev`; evaluate() and Algorithm 2 must take the CPU dataset as it is
    torch.manual_seed(0)
    d = blobs()
    model = tw.models.mlp([5, 8, 2], norm=torch.nn.BatchNorm1d)
    fit(model, d, optimizer=sgd(), epochs=1, progress=False, device=dev)
    assert tw.module_device(model).type == dev
    on_cpu = evaluate(model, d.X_val, d.y_val)
    on_dev = evaluate(model, d.X_val.to(dev), d.y_val.to(dev))
    assert on_cpu == pytest.approx(on_dev, rel=1e-6)
    assert tw.batchnorm.recompute_population_stats(model, d.X_train, batch_size=40) == len(d.y_train) // 40
    assert model[1].running_mean.device.type == dev


def test_default_device_is_the_one_setup_chose(monkeypatch):
    monkeypatch.setattr(tw.config, "_current", None)
    monkeypatch.setattr(tw.config, "pick_device", lambda prefer=None: torch.device("cpu"))
    assert tw.device() == torch.device("cpu")


@pytest.mark.parametrize("kwargs, error, match", [
    ({"epochs": 0}, ValueError, "Invalid epochs: 0"),
    ({"batch_size": -1}, ValueError, "Invalid batch_size: -1"),
    ({"callbacks": [EarlyStopping], }, TypeError, "Callback objects"),
    ({"callbacks": EarlyStopping(3)}, TypeError, "a list of callbacks"),
    ({"loss": "hinge"}, ValueError, "allowed: 'cross_entropy', 'mse'"),
    ({"optimizer": 0.1}, TypeError, "torch.optim.Optimizer"),
])
def test_bad_arguments(kwargs, error, match):
    args = {"optimizer": sgd(), "epochs": 1, "progress": False, **kwargs}
    with pytest.raises(error, match=match):
        fit(tw.models.mlp([5, 2]), blobs(), **args)


def test_early_stopping_arguments():
    with pytest.raises(ValueError, match="allowed: 'val_loss', 'val_acc'"):
        EarlyStopping(3, monitor="loss")
    with pytest.raises(ValueError, match="Invalid patience: 0"):
        EarlyStopping(0)


def test_bad_data():
    with pytest.raises(TypeError, match="X_val is missing"):
        fit(tw.models.mlp([5, 2]), SimpleNamespace(X_train=torch.zeros(2, 5), y_train=torch.zeros(2)),
            optimizer=sgd(), epochs=1)
    d = blobs()
    d.y_train = d.y_train[:-1]
    with pytest.raises(ValueError, match="rows but y_train has"):
        fit(tw.models.mlp([5, 2]), d, optimizer=sgd(), epochs=1, progress=False)


def test_history_metric_plot_and_repeat():
    _, hist = train_once()
    with pytest.raises(ValueError, match="Unknown metric 'accuracy'"):
        hist.metric("accuracy")
    with pytest.raises(ValueError, match="empty"):
        History().metric("val_loss")
    fig = hist.plot(title="t")
    assert len(fig.axes) == 2 and fig.axes[0].get_xlabel() == "epoch"
    results = repeat(lambda s: np.random.rand(), [1, 2], progress=False)
    again = repeat(lambda s: np.random.rand(), [2, 1], progress=False)
    assert again == results[::-1] and results[0] != results[1]
    with pytest.raises(ValueError, match="seeds is empty"):
        repeat(lambda s: s, [])


def test_max_steps_ends_mid_epoch():
    torch.manual_seed(0)
    record = Record(lambda state: state.step)
    hist = fit(tw.models.mlp([5, 8, 2]), blobs(), optimizer=sgd(), epochs=100, batch_size=32, max_steps=12,
               callbacks=[record], progress=False)
    assert record.values == list(range(1, 13)) and len(hist.step_loss) == 12
    assert len(hist.epochs) == 3  # 5 steps per epoch: two full epochs and a partial third
    with pytest.raises(ValueError, match="Invalid max_steps: 0"):
        fit(tw.models.mlp([5, 2]), blobs(), optimizer=sgd(), epochs=1, max_steps=0)


def test_drop_last_skips_the_short_batch():
    torch.manual_seed(0)
    data = blobs(n=99)  # 66 training examples: two batches of 32 and one of 2
    hist = fit(tw.models.mlp([5, 4, 2], norm=torch.nn.BatchNorm1d), data, optimizer=sgd(), epochs=1,
               batch_size=32, drop_last=True, progress=False)
    assert len(hist.step_loss) == 2
    with pytest.raises(ValueError, match="leaves no mini-batch"):
        fit(tw.models.mlp([5, 2]), data, optimizer=sgd(), epochs=1, batch_size=100, drop_last=True)


def test_progress_bars_follow_the_environment_unless_asked(monkeypatch):
    from trainwell.train import progress_enabled

    monkeypatch.setenv("TRAINWELL_PROGRESS", "0")
    assert progress_enabled() is False and progress_enabled(True) is True
    monkeypatch.setenv("TRAINWELL_PROGRESS", "1")
    assert progress_enabled() is True and progress_enabled(False) is False
    monkeypatch.delenv("TRAINWELL_PROGRESS")
    assert progress_enabled() is True  # a live reader sees bars by default
    monkeypatch.setenv("TRAINWELL_PROGRESS", "yes")
    with pytest.raises(ValueError, match="TRAINWELL_PROGRESS must be 0 or 1, got 'yes'"):
        progress_enabled()
    monkeypatch.setenv("TRAINWELL_PROGRESS", "0")
    model = tw.models.mlp([5, 2])
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(TypeError, match="progress must be True, False or None, got 'no'"):
        fit(model, blobs(), optimizer=sgd(), epochs=1, progress="no")
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))  # nothing trained


# ---------------------------------------------------------------------------------------------------
# A loop that fails loudly (issue 26): what happens to the model and the other callbacks when
# something goes wrong part-way.

class _FailsAtEnd(Callback):
    def on_fit_end(self, state):
        raise RuntimeError("cannot tidy up")


@pytest.mark.parametrize("many", [False, True], ids=["fit", "fit_many"])
def test_every_callback_is_ended_when_an_earlier_one_fails_at_the_end(many):
    """Before: the exception skipped the later callbacks' on_fit_end, so WeightNoise's hooks stayed on
    the model and every later training-mode forward added noise to its weights."""
    from trainwell.regularization import WeightNoise

    class Ends(Callback):
        per_member = True

        def on_fit_end(self, state):
            raise ValueError("and neither can I")

    class FailsAtEnd(_FailsAtEnd):
        per_member = True

    noise = WeightNoise(0.5)
    kwargs = dict(optimizer=sgd(), epochs=1, batch_size=32, progress=False,
                  callbacks=[FailsAtEnd(), noise, Ends()])
    with pytest.raises(RuntimeError, match="cannot tidy up") as info:
        if many:
            tw.train.fit_many(lambda: tw.models.mlp([5, 16, 2]), blobs(), seeds=[0, 1], **kwargs)
        else:
            model = tw.models.mlp([5, 16, 2])
            fit(model, blobs(), **kwargs)
    assert "Ends.on_fit_end also failed: ValueError: and neither can I" in "\n".join(info.value.__notes__)
    if not many:
        model.train()
        x = blobs().X_val
        assert torch.equal(model(x), model(x))  # no noise hook left behind
        assert not model._forward_pre_hooks


def test_a_refused_schedule_value_changes_no_hyperparameter():
    from trainwell.train import Schedule

    model = tw.models.mlp([5, 16, 2])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    schedule = Schedule("lr", lambda e: 0.1 / e if e < 3 else -0.1)
    with pytest.raises(ValueError, match=r"schedule\(3\) for 'lr': Invalid learning rate: -0.1"):
        fit(model, blobs(), optimizer=opt, epochs=5, progress=False, callbacks=[schedule])
    assert schedule.values == [0.1, 0.05] and opt.param_groups[0]["lr"] == 0.05


def test_a_refused_scheduler_step_puts_the_last_rate_back():
    model = tw.models.mlp([5, 16, 2])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = LRScheduler(lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: [1.0, 0.5, -1.0][e]))
    with pytest.raises(ValueError, match="Invalid learning rate: -0.1"):
        fit(model, blobs(), optimizer=opt, epochs=5, progress=False, callbacks=[scheduler])
    assert opt.param_groups[0]["lr"] == 0.05


def test_bad_labels_in_any_split_are_refused_before_the_first_step():
    """Before: a label out of range in y_val was refused only after a whole epoch of training, by
    evaluate; now the model is untouched."""
    model = tw.models.mlp([5, 16, 2])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    data = blobs()
    data.y_val = data.y_val.clone()
    data.y_val[3] = 2
    with pytest.raises(ValueError, match=r"y_val holds class labels in \[0, 2\], outside \[0, 1\]"):
        fit(model, data, optimizer=sgd(), epochs=3, progress=False)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("flag", [np.True_, np.False_])
def test_numpy_booleans_are_flags_as_in_pytorch(flag):
    from trainwell.batchnorm import BatchNorm1d

    assert BatchNorm1d(3, affine=flag).affine == bool(flag) == torch.nn.BatchNorm1d(3, affine=flag).affine
    params = [torch.zeros(2, requires_grad=True)]
    for module in (torch.optim, tw.optim):
        opt = module.SGD(params, lr=0.1, momentum=0.9, nesterov=flag, foreach=np.False_)
        assert opt.param_groups[0]["nesterov"] == flag
    assert EarlyStopping(2, restore_best=flag).restore_best is bool(flag)
    assert tw.models.figure1_net(4, 2, bn=flag) is not None
    assert tw.train.progress_enabled(flag) is bool(flag)


def test_numpy_numbers_are_numbers_as_in_pytorch():
    from trainwell.batchnorm import BatchNorm1d

    assert BatchNorm1d(np.int64(3)).num_features == torch.nn.BatchNorm1d(np.int64(3)).num_features == 3
    assert tw.models.mlp([np.int64(5), np.int32(4), 2])[0].out_features == 4
    opt = tw.optim.SGD([torch.zeros(2, requires_grad=True)], lr=np.float32(0.1), momentum=np.float64(0.9))
    assert opt.param_groups[0]["momentum"] == 0.9
    hist = fit(tw.models.mlp([5, 3, 2]), blobs(), optimizer=sgd(), epochs=np.int64(2),
               batch_size=np.int32(32), seed=np.uint8(3), progress=False,
               callbacks=[EarlyStopping(np.int64(2))])
    assert len(hist.epochs) == 2
