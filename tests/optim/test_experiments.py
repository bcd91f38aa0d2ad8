"""Part IV's experiment functions: the shapes and settings they promise, on a few cheap epochs."""
from __future__ import annotations

import pytest
import torch

import trainwell as tw
from trainwell import optim as opt
from trainwell.optim import experiments as ox


@pytest.fixture(scope="module")
def small():
    return tw.data.load("digits").subset_train(200)


def test_lr_sweep_gives_every_rate_and_seed(small):
    runs = ox.lr_sweep(small, make_optimizer=lambda p: opt.SGD(p, lr=0.1), learning_rates=[0.01, 0.1],
                       seeds=[0, 1, 2], epochs=2, hidden=(16,))
    assert runs.by_setting("val_acc").shape == (2, 3)
    assert [s["lr"] for s in runs.settings] == [0.01] * 3 + [0.1] * 3
    with pytest.raises(ValueError, match="Invalid learning_rates\\[1\\]"):
        ox.lr_sweep(small, make_optimizer=lambda p: opt.SGD(p, lr=0.1), learning_rates=[0.1, -1.0],
                    seeds=[0], epochs=1)
    with pytest.raises(ValueError, match="learning_rates is empty"):
        ox.lr_sweep(small, make_optimizer=lambda p: opt.SGD(p), learning_rates=[], seeds=[0], epochs=1)


def test_momentum_schedule_arms_use_their_momentum(small):
    arms = ox.momentum_schedule_runs(small, lr=0.05, seeds=[0, 1], epochs=3, switch_epoch=1, hidden=(16,))
    assert list(arms) == list(ox.MOMENTUM_ARMS)
    for runs in arms.values():
        assert runs.curves("train_loss").shape == (1, 2, 3)
    # the first epoch of the schedule (momentum 0.5) is not the constant-momentum run's first epoch
    first = {k: r.curves("train_loss")[0, :, 0] for k, r in arms.items()}
    assert not torch.allclose(torch.tensor(first["momentum 0.9"]), torch.tensor(first["0.5, then 0.9"]))
    with pytest.raises(ValueError, match="Invalid switch_epoch: 0"):
        ox.momentum_schedule_runs(small, lr=0.05, seeds=[0], epochs=1, switch_epoch=0)
