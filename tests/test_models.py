import pytest
import torch
from torch import nn

import trainwell as tw


def test_mlp_layout():
    net = tw.models.mlp([4, 8, 8, 3], activation="sigmoid", hidden_dropout=0.5, input_dropout=0.2,
                        norm=nn.BatchNorm1d)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Dropout", "Linear", "BatchNorm1d", "Sigmoid", "Dropout",
                     "Linear", "BatchNorm1d", "Sigmoid", "Dropout", "Linear"]
    assert net(torch.randn(5, 4)).shape == (5, 3)
    assert tw.models.count_parameters(tw.models.mlp([2, 3])) == 9


@pytest.mark.parametrize("kwargs, error, match", [
    ({"sizes": [4]}, ValueError, "at least an input and an output"),
    ({"sizes": [4, 0, 2]}, ValueError, r"Invalid sizes\[1\]: 0"),
    ({"sizes": [4, 2], "activation": "gelu"}, ValueError, "allowed: 'relu'"),
    ({"sizes": [4, 2], "hidden_dropout": 1.0}, ValueError, r"must be in \[0.0, 1.0\)"),
    ({"sizes": [4, 2.5]}, TypeError, "must be an integer"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        tw.models.mlp(**kwargs)
