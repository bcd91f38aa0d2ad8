"""Bad calls to Part V's public names (``lint``, ``weight_decay_groups``, ``LintWarning``), one row
each: the call must raise the stated exception with a message that names the argument.

Each row is ``(id, call, exception, phrase)``; the phrase is matched literally against the message.
Below the table: a refused call prints nothing and changes nothing.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import nn

import trainwell as tw
from trainwell.together import LintWarning, lint, weight_decay_groups
from trainwell.train import EarlyStopping


def net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4, bias=False), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


M = net()
OTHER = net()
OPT = torch.optim.AdamW(M.parameters())
MIXED = torch.optim.SGD([{"params": M.parameters()}, {"params": OTHER[3].parameters()}], lr=0.1)
SCHEDULER = torch.optim.lr_scheduler.StepLR(torch.optim.SGD(M.parameters(), lr=0.1), 1)

CASES = [
    # lint: the model and optimizer
    ("lint-model-str", lambda: lint("net"), TypeError, "model must be a torch.nn.Module, got str"),
    ("lint-model-none", lambda: lint(None), TypeError, "model must be a torch.nn.Module"),
    ("lint-model-and-optimizer-swapped", lambda: lint(OPT, M), TypeError, "model must be a torch.nn.Module"),
    ("lint-optimizer-str", lambda: lint(M, "adam"), TypeError, "optimizer must be a torch.optim.Optimizer"),
    ("lint-optimizer-param-list", lambda: lint(M, list(M.parameters())), TypeError,
     "optimizer must be a torch.optim.Optimizer or None, got list"),
    ("lint-optimizer-of-another-model", lambda: lint(M, torch.optim.SGD(OTHER.parameters(), lr=0.1)),
     ValueError, "optimizer holds 5 parameter(s) that are not the model's"),
    ("lint-optimizer-partly-another-model", lambda: lint(M, MIXED), ValueError,
     "optimizer holds 2 parameter(s) that are not the model's"),
    # lint: the data and batch size
    ("lint-data-tensor", lambda: lint(M, data=torch.zeros(4, 3)), TypeError, "data must be a trainwell.data"),
    ("lint-data-dict", lambda: lint(M, data={"X_train": torch.zeros(4, 3)}), TypeError, "X_train attribute"),
    ("lint-data-X_train-number", lambda: lint(M, data=SimpleNamespace(X_train=5)), TypeError,
     "data.X_train must be a tensor or array"),
    ("lint-data-X_train-empty", lambda: lint(M, data=SimpleNamespace(X_train=torch.zeros(0, 3))), ValueError,
     "data.X_train holds no examples"),
    ("lint-batch_size-zero", lambda: lint(M, batch_size=0), ValueError, "Invalid batch_size: 0"),
    ("lint-batch_size-negative", lambda: lint(M, batch_size=-8), ValueError, "Invalid batch_size: -8"),
    ("lint-batch_size-float", lambda: lint(M, batch_size=32.0), TypeError, "batch_size must be an integer"),
    ("lint-batch_size-bool", lambda: lint(M, batch_size=True), TypeError, "batch_size must be an integer"),
    ("lint-batch_size-positional", lambda: lint(M, OPT, None, 64), TypeError, "positional argument"),
    # lint: callbacks and switches
    ("lint-callbacks-single", lambda: lint(M, callbacks=EarlyStopping(3)), TypeError,
     "callbacks must be a list of fit's callbacks, got EarlyStopping (wrap it: callbacks=[...])"),
    ("lint-callbacks-str", lambda: lint(M, callbacks="early"), TypeError, "callbacks must be a list"),
    ("lint-callbacks-element", lambda: lint(M, callbacks=[EarlyStopping(3), "restore"]), TypeError,
     "callbacks[1] must be a trainwell.train.Callback"),
    ("lint-callbacks-class-not-object", lambda: lint(M, callbacks=[EarlyStopping]), TypeError,
     "callbacks[0] must be"),
    ("lint-drop_last-str", lambda: lint(M, drop_last="no"), TypeError, "drop_last must be True or False"),
    ("lint-for_evaluation-int", lambda: lint(M, for_evaluation=1), TypeError,
     "for_evaluation must be True or False"),
    ("lint-quiet-str", lambda: lint(M, quiet="yes"), TypeError, "quiet must be True or False"),
    ("lint-unknown-keyword", lambda: lint(M, evaluation=True), TypeError, "evaluation"),
    # weight_decay_groups
    ("groups-model-params", lambda: weight_decay_groups(M.parameters(), 0.01), TypeError,
     "model must be a torch.nn.Module"),
    ("groups-weight_decay-negative", lambda: weight_decay_groups(M, -0.01), ValueError,
     "Invalid weight_decay: -0.01"),
    ("groups-weight_decay-nan", lambda: weight_decay_groups(M, float("nan")), ValueError,
     "Invalid weight_decay: nan (must be finite)"),
    ("groups-weight_decay-str", lambda: weight_decay_groups(M, "1e-2"), TypeError,
     "weight_decay must be a real number"),
    ("groups-weight_decay-missing", lambda: weight_decay_groups(M), TypeError, "weight_decay"),
    ("groups-model-without-parameters", lambda: weight_decay_groups(nn.ReLU(), 0.01), ValueError,
     "model has no parameters"),
    # LintWarning
    ("warning-unknown-code", lambda: LintWarning("bn-momentun", "x"), ValueError,
     "Invalid code: 'bn-momentun' (allowed: wd-on-bn-bias"),
    ("warning-empty-message", lambda: LintWarning("bn-momentum", "  "), ValueError,
     "message must be a non-empty string"),
    ("warning-message-not-str", lambda: LintWarning("bn-momentum", 3), TypeError,
     "message must be a string, got int"),
    ("warning-where-str", lambda: LintWarning("bn-momentum", "x", "1"), TypeError,
     "where must be a tuple of names"),
    ("warning-where-list", lambda: LintWarning("bn-momentum", "x", ["1"]), TypeError,
     "where must be a tuple"),
]


def test_the_table_is_large_and_its_ids_unique():
    ids = [case[0] for case in CASES]
    assert len(ids) >= 15 and len(set(ids)) == len(ids)


def test_the_table_covers_every_public_name():
    prefixes = {case[0].split("-")[0] for case in CASES}
    assert prefixes == {"lint", "groups", "warning"}
    assert set(tw.together.__all__) == {"lint", "LintWarning", "LINT_CODES", "weight_decay_groups"}


@pytest.mark.parametrize("call, error, phrase", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_refused_with_a_message_naming_it(call, error, phrase):
    with pytest.raises(error) as caught:
        call()
    assert phrase in str(caught.value)


def test_a_refused_call_prints_nothing_and_changes_nothing(capsys):
    model = net().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match="batch_size"):
        lint(model, torch.optim.Adam(model.parameters(), weight_decay=0.1), batch_size=0, for_evaluation=True)
    assert capsys.readouterr().out == ""
    assert model.training and all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def test_a_scheduler_among_the_callbacks_is_accepted_as_fit_accepts_it():
    assert lint(M, callbacks=[SCHEDULER, EarlyStopping(2)], quiet=True) == []
