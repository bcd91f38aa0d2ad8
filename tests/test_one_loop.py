"""fit is a one-member run of fit_many's loop: what its callbacks see, the models it accepts that
fit_many cannot stack, the state its early stopping restores, and the checks both share."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from trainwell.train import Callback, EarlyStopping, Record, RunState, TrainState, fit, fit_many

X = torch.randn(60, 4, generator=torch.Generator().manual_seed(0))
Y = torch.arange(60) % 3
DATA = SimpleNamespace(X_train=X[:40], y_train=Y[:40], X_val=X[40:], y_val=Y[40:])


def net():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def sgd(params):
    return torch.optim.SGD(params, lr=0.1)


class Seen(Callback):
    """Keeps the state object it is given at every call."""

    def __init__(self, per_member=False):
        self.per_member, self.states = per_member, []

    def on_fit_start(self, state):
        self.states.append(state)

    def on_step_end(self, state):
        self.states.append(state)

    def on_epoch_end(self, state):
        self.states.append(state)


def test_fit_callbacks_see_the_model_and_per_member_ones_see_the_run():
    model = net()
    plain, members = Seen(), Seen(per_member=True)
    history = fit(model, DATA, optimizer=sgd, epochs=2, batch_size=20, callbacks=[plain, members],
                  progress=False)
    assert all(isinstance(s, TrainState) for s in plain.states) and len(plain.states) == 1 + 4 + 2
    view = plain.states[-1]
    assert view.model is model and view.history is history and view.record == history.epochs[-1]
    assert view.batch_loss.ndim == 0 and view.batch_loss.item() == pytest.approx(history.step_loss[-1])
    run = members.states[-1]
    assert isinstance(run, RunState) and run.model.members == 1 and run.histories == [history]
    assert run.model.leaves("0.weight")[0] is model[0].weight  # the module's own parameters, not copies


class Gate(nn.Module):
    """A layer with parameters of its own kind that replaces a buffer at every training forward instead
    of updating it in place."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(8))
        self.register_buffer("calls", torch.zeros(()))

    def forward(self, x):
        if self.training:
            self.calls = self.calls + 1  # a new tensor: a view taken at the start would go stale
        return x * self.scale


def test_fit_restores_the_best_epochs_buffers_even_when_a_layer_replaces_them():
    model = nn.Sequential(nn.Linear(4, 8), Gate(), nn.ReLU(), nn.Linear(8, 3))
    calls = Record(lambda s: s.model[1].calls.item(), per="epoch")
    history = fit(model, DATA, optimizer=lambda p: torch.optim.SGD(p, lr=0.5), epochs=30, batch_size=10,
                  callbacks=[calls, EarlyStopping(3, restore_best=True)], progress=False)
    assert history.stopped_early and history.best_epoch < len(history.epochs)
    # the buffer put back is the best epoch's value, not the last one
    assert model[1].calls.item() == calls.values[history.best_epoch - 1] == 4 * history.best_epoch
    assert model[1].calls.item() != calls.values[-1]


def test_fit_many_refuses_a_penalty_that_does_not_give_one_value_per_member():
    class Flat:
        def many(self, stacked):
            return sum(p.square().sum() for p in stacked.parameters())  # one number for all members

    with pytest.raises(ValueError, match=r"one value per member, shape \(2,\), got \(\)"):
        fit_many(net, DATA, seeds=[0, 1], optimizer=sgd, epochs=1, penalty=Flat(), progress=False)


def test_numpy_booleans_are_flags_of_the_loop():
    history = fit(net(), DATA, optimizer=sgd, epochs=1, batch_size=30, drop_last=np.True_,
                  tolerate_divergence=np.False_, progress=False)
    assert len(history.step_loss) == 1  # 40 examples, batches of 30, the last 10 dropped


def test_part_one_callbacks_on_one_member_compute_what_the_formulas_do_bit_for_bit():
    """Written once against the members' stacked views, the projections and penalties give one model
    exactly the numbers of their formulas on its own tensors (no rounding moved by the (1, ...) views)."""
    from trainwell.regularization import L1, L2, ElasticNet, SmoothL1, max_norm_

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(30, 50), nn.ReLU(), nn.Linear(50, 7))
    weights = [model[0].weight, model[2].weight]
    for penalty, phi in ((L2(0.3), lambda w: 0.5 * w.square()), (L1(0.3), torch.abs),
                         (ElasticNet(0.3, 0.4), lambda w: 0.4 * w.abs() + 0.5 * 0.6 * w.square()),
                         (SmoothL1(0.3), lambda w: (w.square() + 1e-8).sqrt())):
        want = 0.3 * torch.stack([phi(w).sum() for w in weights]).sum()
        assert torch.equal(penalty(model), want), penalty
    with torch.no_grad():
        for w in weights:
            w.mul_(4.0)
        want = [w * torch.clamp(0.5 / w.norm(dim=1, keepdim=True).clamp_min(1e-12), max=1.0) for w in weights]
    max_norm_(model, 0.5)
    assert all(torch.equal(w, expected) for w, expected in zip(weights, want, strict=True))


def test_threads_is_one_limit_for_blocks_and_functions_and_is_restored_after_an_error():
    from trainwell.config import threads

    before = torch.get_num_threads()

    @threads(1)
    def inside():
        return torch.get_num_threads()

    assert inside() == 1 and torch.get_num_threads() == before
    with pytest.raises(RuntimeError, match="boom"), threads(1):
        assert torch.get_num_threads() == 1
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before


def test_runs_score_a_held_out_split_member_by_member_as_settings_by_seeds():
    from trainwell.metrics import evaluate

    runs = fit_many(net, DATA, seeds=[0, 1, 2], optimizer=sgd, grid={"lr": [0.01, 0.5]}, epochs=2,
                    progress=False)
    scores = runs.evaluate(X[40:], Y[40:])
    assert set(scores) == {"loss", "acc"} and scores["acc"].shape == (2, 3)
    for m, model in enumerate(runs.models):
        assert scores["loss"].flat[m] == evaluate(model, X[40:], Y[40:])["loss"]
    assert scores["loss"][0, 0] != scores["loss"][1, 0]  # settings along the first axis, not seeds
