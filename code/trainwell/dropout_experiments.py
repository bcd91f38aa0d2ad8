"""Experiments of the dropout chapter (Part II) that notebooks share."""
from __future__ import annotations

import math

import numpy as np
import torch

from ._validate import check_int
from .config import register_sizes
from .dropout import MaskedMLP, ensemble_predict, mc_predict
from .train import fit

register_sizes(
    "dropout.inference",
    quick={"hidden": (8, 8), "epochs": 60, "seeds": 3, "mc_repeats": 3,
           "ks": (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)},
    full={"hidden": (10, 10), "epochs": 200, "seeds": 10, "mc_repeats": 20,
          "ks": (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)},
)


def _scores(probs: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Accuracy and mean log-likelihood of class probabilities ``probs`` for labels ``y``."""
    accuracy = (probs.argmax(-1) == y).double().mean().item()
    log_lik = torch.log(probs.gather(-1, y.unsqueeze(-1)).clamp_min(1e-300)).mean().item()
    return accuracy, log_lik


def inference_rules_run(data, *, seed: int, hidden=(8, 8), epochs: int = 60, ks=(1, 10, 100),
                        mc_repeats: int = 5, keep: float = 0.5) -> dict:
    """Train a small ReLU :class:`MaskedMLP` with dropout (hidden units kept with ``keep``) and score
    every inference rule of Part II, section 3 on the test split: the exact arithmetic and geometric
    means over all 2ⁿ masks, the weight scaling rule, and Monte Carlo with k masks (``mc_repeats``
    independent draws for each k). Returns accuracies and mean log-likelihoods."""
    check_int("mc_repeats", mc_repeats, minimum=1)
    torch.manual_seed(seed)
    net = MaskedMLP([data.n_features, *hidden, data.n_classes], keep_hidden=keep)
    fit(net, data, optimizer=lambda p: torch.optim.Adam(p, lr=1e-2), epochs=epochs, batch_size=64, seed=seed,
        progress=False)
    net = net.double().eval()  # ensembles are averaged in double precision
    X, y = data.X_test.double(), data.y_test
    out = {"arithmetic": _scores(ensemble_predict(net, X, mean="arithmetic"), y),
           "geometric": _scores(ensemble_predict(net, X, mean="geometric"), y),
           "weight scaling": _scores(torch.softmax(net.mean_network(X), -1), y)}
    generator = torch.Generator().manual_seed(10_000 + seed)
    mc = np.array([[_scores(mc_predict(net, X, k, generator=generator), y) for _ in range(mc_repeats)]
                   for k in ks])  # (len(ks), repeats, 2)
    out["mc_accuracy"], out["mc_log_lik"] = mc[..., 0], mc[..., 1]
    out["ks"] = np.array(ks)
    out["n_masks"] = 2 ** net.hidden_units
    out["log2_masks"] = int(math.log2(out["n_masks"]))
    return out
