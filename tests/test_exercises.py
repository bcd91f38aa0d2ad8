"""The answer key (tw.exercises): every exercise of the book has an entry, its checking cell holds no
answer, a right answer passes, a wrong one fails, and ``None`` reads as not attempted."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.optimize
import torch
from torch import nn

import trainwell as tw
from trainwell import batchnorm as bn
from trainwell import dropout as dp

ROOT = Path(__file__).resolve().parent.parent
CALL = re.compile(r'tw\.exercises\.check\(\s*"([a-z0-9-]+)"')
LABEL = re.compile(r":label: ([a-z0-9-]+)")


def _notebook_exercises():
    """(notebook, exercise label, source of the code cells between it and the next markdown cell)."""
    found = []
    for path in sorted((ROOT / "book").rglob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        for i, cell in enumerate(cells):
            if cell["cell_type"] != "markdown" or "{exercise}" not in "".join(cell["source"]):
                continue
            labels = LABEL.findall("".join(cell["source"]))
            code = []
            for nxt in cells[i + 1:]:
                if nxt["cell_type"] != "code":
                    break
                code.append("".join(nxt["source"]))
            found.append((path.relative_to(ROOT), labels[-1], "\n".join(code)))
    return found


EXERCISES = _notebook_exercises()


def _inputs():
    """Inputs like the notebooks', and the right answer computed as each solution says."""
    g = torch.Generator().manual_seed(0)
    x2 = torch.randn(16, 4, dtype=torch.float64, generator=g)
    gamma2, beta2 = torch.rand(4, dtype=torch.float64, generator=g) + 0.5, torch.randn(4, dtype=torch.float64)
    x4 = torch.randn(4, 6, 5, 5, dtype=torch.float64, generator=g)
    u = torch.rand(50, dtype=torch.float64, generator=g) * 10
    n = 6
    masks = dp.enumerate_masks(n, dtype=torch.float64)
    W, bias, v = (torch.randn(n, 3, dtype=torch.float64, generator=g), torch.randn(3, dtype=torch.float64),
                  torch.randn(n, dtype=torch.float64))
    z = torch.randn(32, 10, dtype=torch.float64, generator=g)
    y = torch.randint(0, 10, (32,), generator=g)
    net = tw.models.bn_dropout_mlp([64, 32, 32, 10], keep=0.5, placement="every")
    few = tw.data.load("digits").subset_train(60)  # the reruns of Part I, on a tiny scale
    from trainwell.regularization import augmentation as aug
    from trainwell.regularization import experiments as rx

    def enable_mc_dropout(model):
        model.eval()
        for m in model.modules():
            if isinstance(m, dp.TORCH_DROPOUT_TYPES):
                m.train()
        return model

    region = torch.tensor([[1.0, 3.0], [0.0, 4.0]], dtype=torch.float64).view(1, 1, 2, 2)
    return {
        "bn-ex-m1": (dict(x=torch.tensor([[2.5, -1.0, 7.0]], dtype=torch.float64)),
                     lambda: torch.zeros(1, 3, dtype=torch.float64)),
        "bn-ex-shift": (dict(x=x2, gamma=gamma2, beta=beta2),
                        lambda: bn.batch_norm_forward(x2 + 10.0, gamma2, beta2, dims=(0,))[0]),
        "bn-ex-groupnorm-limits": (dict(x=x4), lambda: bn.group_norm(x4, 1)),
        "bn-ex-effective-lr": (dict(a=4), lambda: 1 / 16),
        "bn-ex-ema-memory": (dict(momentum=0.1, fraction=0.01), lambda: 44),
        "bn-ex-fold-keras": (dict(keras_momentum=0.9), lambda: 0.1),
        "bn-ex-outside-scale": (dict(u=u), lambda: (3.0 * u) / (3.0 * u).std()),
        "do-ex-bootstrap": (dict(n=300, k=10), lambda: (1 - 1 / 300) ** 3000),
        "do-ex-corr": (dict(k=10, v=1.0), lambda: 4 / 9),
        "do-ex-keep": (dict(masks=masks, v=v, W=W, bias=bias, keep=0.8), lambda: 0.8),
        "do-ex-ridge": (dict(n=100, keep=0.8), lambda: 25.0),
        "do-ex-shift": (dict(mean=1.0, var=1.0, torch_p=0.2), lambda: [1.5, (1 / 1.5) ** 0.5]),
        "do-ex-mc-mode": (dict(net=net), lambda: enable_mc_dropout(net)),
        "do-ex-maxnorm": (dict(w=[3.0, 4.0], c=2.0), lambda: [1.2, 1.6]),
        "do-ex-decay": (dict(lr=0.1, weight_decay=0.01, steps=100), lambda: 0.999 ** 100),
        "do-ex-gauss-sigma": (dict(keep=0.8), lambda: 0.5),
        "do-ex-stochpool": (dict(region=region), lambda: 3.25),
        "using-ex-uniform": (dict(n_classes=10), lambda: math.log(10)),
        "using-ex-gradsum": (dict(logits=z), lambda: ((torch.softmax(z, 1) - nn.functional.one_hot(y, 10))
                                                       / 32).sum(1)),
        "opt-ex-effective-step": (dict(lr=0.01, gamma=0.99), lambda: 1.0),
        "opt-ex-condition": (dict(kappa=1e4), lambda: math.log(99 / 101) / math.log(9999 / 10001)),
        "opt-ex-rates": (dict(steps=100, error=0.01, target=1e-4), lambda: [10_000, 1_000]),
        "opt-ex-adagrad-step": (dict(lr=0.1, t=100), lambda: 0.01),
        "opt-ex-rmsprop-first": (dict(rho=0.99), lambda: 10.0),
        "opt-ex-adam-factor": (dict(beta2=0.999, t=100), lambda: 1 - 0.999**100),
        "opt-ex-adam-sign": (dict(beta1=0.9, beta2=0.999), lambda: 1.0),
        "opt-ex-budget": (dict(budget=35, rates=4, tune_seeds=3, test_seeds=5), lambda: 2),
        "opt-ex-adamw-decay": (dict(lr=1e-3, weight_decay=1e-2, steps=10_000), lambda: (1 - 1e-5) ** 10_000),
        "reg-ex-chance": (dict(n=300, fraction=0.5, classes=10), lambda: 135),
        "reg-ex-shrink": (dict(lam=0.5, alpha=2.0), lambda: 0.2),
        "reg-ex-map": (dict(sigma=3.0, tau=0.5), lambda: 36),
        "reg-ex-threshold": (dict(w_star=-0.9, H=4.0, alpha=2.0), lambda: -0.4),
        "reg-ex-early-alpha": (dict(eta=0.01, tau=500), lambda: 0.2),
        "reg-ex-alpha-star": (dict(sigma=2.0, theta=0.5), lambda: 16.0),
        "reg-ex-df": (dict(eigenvalues=[4.0, 1.0, 0.25], alpha=1.0), lambda: 1.5),
        "reg-ex-noise-alpha": (dict(n=500, sigma=0.2), lambda: 20),
        "reg-ex-radius": (dict(norm=5.0, radius=2.0), lambda: 1.5),
        "reg-ex-shifts": (dict(max_shift=2), lambda: 25),
        "reg-ex-net-prox": (dict(z=1.2, step=0.5, l1_ratio=0.5), lambda: 0.95 / 1.25),
        # the reruns: the right answer is the solution's call of the experiment function
        "reg-ex-quarter-random": (
            dict(data=few, fraction=0.25, seeds=2, epochs=3, hidden=(8,), eval_every=1),
            lambda: rx.memorization_runs(few, fractions=[0.25], seeds=range(2), epochs=3, hidden=(8,),
                                         eval_every=1)[0.25].final("val_acc").mean()),
        "reg-ex-wider-shifts": (
            dict(data=few, n=40, max_shift=4, image_shape=(8, 8), seeds=2, steps=3, hidden=(8,)),
            lambda: 100 * np.diff([rx.final_by_size(arm).mean() for arm in rx.augmentation_runs(
                few, sizes=[40], seeds=range(2), steps=3, hidden=(8,),
                transform_builder=lambda: aug.RandomShift(4, (8, 8))).values()])[0]),
        "reg-ex-loose-max-norm": (
            dict(data=few, lr=1.0, c=4.0, seeds=2, epochs=2),
            lambda: rx.constraint_tuning_runs(few, lr=1.0, alphas=[1e-4], max_norms=[4.0], seeds=range(2),
                                              epochs=2, output_layer=False,
                                              )["max-norm, hidden layers"][4.0].by_setting("val_acc").mean()),
        # roots, powers and a root-finder computed here independently of the key
        "reg-ex-momentum-decay": (dict(lr=0.1, weight_decay=1e-3, momentum=0.9),
                                  lambda: max(np.roots([1.0, -(1 - 1e-4 + 0.9), 0.9]).real)),
        "reg-ex-early-exact": (dict(lam=2.0, eta=0.1, tau=10), lambda: 2 * 0.8**10 / (1 - 0.8**10)),
        "reg-ex-noise-ratio": (dict(sigma=0.1, fan_in=64), lambda: 0.1 / (1 / math.sqrt(3 * 64))),
        "reg-ex-kkt-diagonal": (dict(h=[1.0, 4.0], w_star=[3.0, 1.0], radius=1.0),
                                lambda: scipy.optimize.brentq(
                                    lambda a: (3 / (1 + a)) ** 2 + (4 / (4 + a)) ** 2 - 1, 0, 10)),
        "together-ex-batch-of-one": (dict(low=1000, high=1100, batch_size=64), lambda: [1025, 1089]),
        "together-ex-resamples": (dict(n=5), lambda: 126),
    }


RIGHT = _inputs()
# Too slow for a unit test (it trains the Figure 1 network); its key is the experiment's own function.
SLOW = {"bn-ex-fig1-lr"}


def test_every_exercise_in_the_book_is_in_the_key_and_checked_by_its_label():
    assert len(EXERCISES) >= 20
    for path, label, code in EXERCISES:
        assert label in tw.exercises.labels(), f"{path}: exercise {label} has no entry in the key"
        calls = CALL.findall(code)
        assert calls == [label], f"{path}: exercise {label}'s checking cell calls {calls}"
    assert sorted(label for _, label, _ in EXERCISES) == tw.exercises.labels()


def test_checking_cells_do_not_compute_or_show_the_answer():
    for path, label, code in EXERCISES:
        assert "check_answer" not in code and "tw.check(" not in code, f"{path}: {label}"
        if label in SLOW:
            continue
        inputs, right = RIGHT[label]
        value = tw.exercises.expected(label, **inputs)
        shown = f"{value:g}" if isinstance(value, (int, float)) else ""
        if len(shown.strip("-0.")) >= 2:  # an answer such as 1 is too short to look for
            assert shown not in code, f"{path}: {label}'s cell shows the answer {shown}"


@pytest.mark.parametrize("label", sorted(set(RIGHT) - SLOW))
def test_a_right_answer_passes_and_a_wrong_one_fails(label, capsys):
    inputs, right = RIGHT[label]
    assert tw.exercises.check(label, right(), **inputs), capsys.readouterr().out
    out = capsys.readouterr().out
    assert out.startswith("[check] ") and ": PASS (" in out and label not in out
    if label == "do-ex-mc-mode":
        inputs["net"].train()  # the unmodified network: every layer in training mode
        wrong = inputs["net"]
    else:
        answer = right()
        wrong = ([a + 0.5 for a in answer] if isinstance(answer, list) else answer + 0.5)
    assert not tw.exercises.check(label, wrong, **inputs)
    assert ": FAIL (" in capsys.readouterr().out


@pytest.mark.parametrize("label", tw.exercises.labels())
def test_none_means_not_attempted(label, capsys):
    inputs = RIGHT[label][0] if label in RIGHT else dict(data=None, steps=1)
    assert tw.exercises.check(label, None, **inputs) is None
    assert "not attempted yet" in capsys.readouterr().out


def test_an_answer_of_the_wrong_shape_or_type_is_a_fail_that_says_what_was_expected(capsys):
    assert not tw.exercises.check("do-ex-maxnorm", [1.2, 1.6, 0.0], w=[3.0, 4.0], c=2.0)
    assert "shape (3,), the key's has shape (2,)" in capsys.readouterr().out
    assert not tw.exercises.check("do-ex-ridge", "twenty-five", n=100, keep=0.8)
    assert "a number, list or tensor is expected" in capsys.readouterr().out


def test_unknown_labels_and_wrong_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="Unknown exercise 'do-ex-nope'.*do-ex-ridge"):
        tw.exercises.check("do-ex-nope", 1.0)
    with pytest.raises(TypeError, match="takes n=..., keep=...; missing: keep"):
        tw.exercises.check("do-ex-ridge", 25.0, n=100)
    with pytest.raises(TypeError, match="unexpected: q"):
        tw.exercises.check("do-ex-ridge", 25.0, n=100, keep=0.8, q=0.8)


def test_register_rejects_bad_entries():
    with pytest.raises(ValueError, match="already in the key"):
        tw.exercises.register("do-ex-ridge", "again", lambda n: n)
    with pytest.raises(ValueError, match="label must look like"):
        tw.exercises.register("Ridge exercise", "claim", lambda n: n)
    with pytest.raises(TypeError, match="expected must be a function"):
        tw.exercises.register("zz-ex-a", "claim", 3.0)
    with pytest.raises(TypeError, match="no \\*args"):
        tw.exercises.register("zz-ex-b", "claim", lambda *a: 0)
    with pytest.raises(ValueError, match="prepare must take the answer first"):
        tw.exercises.register("zz-ex-c", "claim", lambda n: n, prepare=lambda a, m: a)
    with pytest.raises(ValueError, match="Invalid rtol"):
        tw.exercises.register("zz-ex-d", "claim", lambda n: n, rtol=-1.0)
    assert not {"zz-ex-a", "zz-ex-b", "zz-ex-c", "zz-ex-d"} & set(tw.exercises.labels())
