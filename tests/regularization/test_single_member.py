"""fit_many with one member runs the member's own module (no stacking): every Part I penalty and
callback, which reach the parameters through (1, ...) views of it, still makes the run fit makes."""
from __future__ import annotations

import pytest
import torch

import trainwell as tw
from trainwell.regularization import L1, L2, GaussianInputNoise, L2Ball, MaxNorm, ProximalL1, WeightNoise
from trainwell.together.experiments import _weight_decay_callback

from ._runs import assert_members_equal_separate_fits, small_digits

EXTRAS = {
    "L2 penalty": lambda: {"penalty": L2(0.01)},
    "L1 penalty": lambda: {"penalty": L1(1e-3)},
    "ProximalL1": lambda: {"callbacks": [ProximalL1(0.005)]},
    "MaxNorm": lambda: {"callbacks": [MaxNorm(0.5)]},
    "L2Ball": lambda: {"callbacks": [L2Ball(2.0)]},
    "WeightNoise and input noise": lambda: {"callbacks": [WeightNoise(0.05)],
                                            "transform": GaussianInputNoise(0.1)},
    "decoupled weight decay": lambda: {"callbacks": [_weight_decay_callback(0.01)]},
}


@pytest.mark.parametrize("extras", list(EXTRAS.values()), ids=list(EXTRAS))
def test_one_member_with_each_part_one_regularizer_is_its_fit_run(extras):
    def build():
        return tw.models.mlp([64, 16, 10], hidden_dropout=0.2).double()

    runs = assert_members_equal_separate_fits(
        build, small_digits(), make_optimizer=lambda p, **s: torch.optim.SGD(p, lr=0.3, momentum=0.9, **s),
        extras=extras, seeds=(3,), epochs=2, batch_size=50)
    assert runs.seeds == [3] and len(runs.models) == 1
