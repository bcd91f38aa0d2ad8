"""tw.together.lint, the pitfalls checker of Part V: every warning fires on the mistake it names, its
fix clears it, a clean set-up gives none, and PyTorch's and the book's own layers and optimizers are
recognised alike."""
from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
import torch
from torch import nn

import trainwell as tw
from trainwell.batchnorm import BatchNorm1d as BookBN1d
from trainwell.dropout import Dropout as BookDropout
from trainwell.together import LINT_CODES, LintWarning, lint, weight_decay_groups
from trainwell.train import EarlyStopping


def codes(warnings) -> list[str]:
    return [w.code for w in warnings]


def only(warnings, code: str) -> LintWarning:
    hits = [w for w in warnings if w.code == code]
    assert len(hits) == 1, codes(warnings)
    return hits[0]


def bn_net(placement="last") -> nn.Sequential:
    torch.manual_seed(0)
    return tw.models.bn_dropout_mlp([8, 16, 16, 3], keep=0.5, placement=placement)


def examples(n: int, d: int = 8) -> SimpleNamespace:
    return SimpleNamespace(X_train=torch.zeros(n, d), y_train=torch.zeros(n, dtype=torch.long))


def clean_setup():
    model = bn_net("last").eval()
    optimizer = torch.optim.AdamW(weight_decay_groups(model, 0.01), lr=1e-3)
    return model, optimizer, dict(callbacks=[EarlyStopping(5)], batch_size=64, for_evaluation=True)


# ---- a clean set-up, the warning type, printing -----------------------------------------------------


def test_a_clean_setup_gives_no_warning_and_says_so(capsys):
    model, optimizer, kw = clean_setup()
    assert lint(model, optimizer, examples(640), **kw) == []
    assert capsys.readouterr().out == "[lint] no problems found\n"


def test_quiet_prints_nothing_and_each_warning_prints_as_one_wrapped_paragraph(capsys):
    model = nn.Sequential(nn.Dropout(0.9), nn.Linear(8, 4), nn.BatchNorm1d(4, momentum=0.99))
    assert lint(nn.Linear(2, 2), quiet=True) == [] and capsys.readouterr().out == ""
    found = lint(model, quiet=True)
    assert capsys.readouterr().out == "" and len(found) == 3
    again = lint(model)
    assert again == found
    lines = capsys.readouterr().out.splitlines()
    assert all(len(line) <= 96 for line in lines)  # wrapped for a page or a terminal
    starts = [i for i, line in enumerate(lines) if line.startswith("[lint] ")]
    ends = starts[1:] + [len(lines)]
    paragraphs = [" ".join(part.strip() for part in lines[a:b]) for a, b in zip(starts, ends, strict=True)]
    assert paragraphs == [str(w) for w in found]
    assert all(line.startswith("    ") for i, line in enumerate(lines) if i not in starts)


def test_a_warning_is_a_frozen_record_printed_with_its_code():
    w = LintWarning("bn-momentum", "BatchNorm1d '1' has momentum 0.9.", ("1",))
    assert str(w) == "[lint] bn-momentum: BatchNorm1d '1' has momentum 0.9."
    with pytest.raises(dataclasses.FrozenInstanceError):
        w.code = "other"  # type: ignore[misc]
    assert LintWarning("bn-momentum", "x").where == ()


def test_every_check_fires_in_one_call_each_with_a_known_code():
    model = bn_net("every").train()
    model[0] = nn.Sequential(nn.Dropout(0.8), nn.Linear(8, 16, bias=False))
    model[1].momentum = 0.99
    optimizer = torch.optim.NAdam(model.parameters(), weight_decay=1e-3, momentum_decay=0)
    callbacks = [EarlyStopping(3, restore_best=False)]
    found = lint(model, optimizer, examples(65), batch_size=8, callbacks=callbacks, for_evaluation=True,
                 quiet=True)
    assert set(codes(found)) == set(LINT_CODES)  # 65 = 8·8 + 1: a last batch of one too
    assert all(w.message and w.where for w in found)


def test_lint_changes_nothing():
    model = bn_net("every").train()
    model[4].eval()
    optimizer = torch.optim.Adam(model.parameters(), weight_decay=0.1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    modes = [m.training for m in model.modules()]
    groups = [dict(g) for g in optimizer.param_groups]
    lint(model, optimizer, examples(65), batch_size=8, for_evaluation=True, quiet=True)
    assert [m.training for m in model.modules()] == modes
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert [dict(g) for g in optimizer.param_groups] == groups and not optimizer.state


# ---- 1. weight decay on batch-norm parameters and biases --------------------------------------------


def test_weight_decay_on_bn_and_bias_is_named_parameter_by_parameter():
    model = bn_net("last")
    optimizer = torch.optim.AdamW(model.parameters(), weight_decay=0.01)
    w = only(lint(model, optimizer, quiet=True), "wd-on-bn-bias")
    assert w.where == ("1.weight", "1.bias", "4.weight", "4.bias", "7.bias")
    assert "1.weight, 1.bias" in w.message and "param group 0" in w.message
    assert "weight_decay=0" in w.message and "weight_decay_groups" in w.message


@pytest.mark.parametrize("make", [
    lambda params: torch.optim.SGD(params, lr=0.1, weight_decay=1e-4),
    lambda params: tw.optim.SGD(params, lr=0.1, weight_decay=1e-4),
    lambda params: tw.optim.AdamW(params, weight_decay=0.01),
], ids=["torch-SGD", "book-SGD", "book-AdamW"])
def test_weight_decay_on_the_books_bn_and_a_linear_bias_is_caught_for_any_optimizer(make):
    model = nn.Sequential(nn.Linear(3, 4), BookBN1d(4), nn.ReLU(), nn.Conv1d(1, 2, 3))
    w = only(lint(model, make(model.parameters()), quiet=True), "wd-on-bn-bias")
    assert w.where == ("0.bias", "1.weight", "1.bias", "3.bias")


def test_the_fix_weight_decay_groups_clears_the_warning():
    model = bn_net("last")
    groups = weight_decay_groups(model, 0.01)
    assert [g["weight_decay"] for g in groups] == [0.01, 0.0]
    assert [p.ndim for p in groups[0]["params"]] == [2, 2, 2]
    assert {id(p) for g in groups for p in g["params"]} == {id(p) for p in model.parameters()}
    for make in (torch.optim.AdamW, tw.optim.AdamW, lambda g: torch.optim.SGD(g, lr=0.1)):
        assert "wd-on-bn-bias" not in codes(lint(model, make(weight_decay_groups(model, 0.01)), quiet=True))


def test_weight_decay_groups_leaves_out_an_empty_group_and_knows_other_norms():
    assert len(weight_decay_groups(nn.Linear(3, 3, bias=False), 0.1)) == 1
    model = nn.Sequential(nn.Linear(3, 4, bias=False), nn.LayerNorm(4), nn.GroupNorm(2, 4))
    decayed, kept = weight_decay_groups(model, 0.1)
    assert len(decayed["params"]) == 1 and len(kept["params"]) == 4


def test_no_decay_at_all_and_decay_on_weights_only_are_fine():
    model = bn_net("last")
    assert lint(model, torch.optim.SGD(model.parameters(), lr=0.1), quiet=True) == []
    plain = nn.Sequential(nn.Linear(3, 4, bias=False), nn.ReLU(), nn.Linear(4, 2, bias=False))
    assert lint(plain, torch.optim.SGD(plain.parameters(), lr=0.1, weight_decay=0.1), quiet=True) == []


# ---- 2. Adam-family weight decay that is not decoupled ----------------------------------------------


def no_bias_net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(3, 4, bias=False), nn.ReLU(), nn.Linear(4, 2, bias=False))


@pytest.mark.parametrize("make", [torch.optim.Adam, torch.optim.NAdam, torch.optim.RAdam, torch.optim.Adamax,
                                  tw.optim.Adam, tw.optim.NAdam],
                         ids=["torch-Adam", "torch-NAdam", "torch-RAdam", "torch-Adamax", "book-Adam",
                              "book-NAdam"])
def test_coupled_weight_decay_in_adam_is_caught(make):
    model = no_bias_net()
    w = only(lint(model, make(model.parameters(), weight_decay=0.01), quiet=True), "adam-coupled-wd")
    assert "weight_decay=0.01" in w.message and "param group 0" in w.message
    assert "L2 in the loss" in w.message and "Loshchilov & Hutter 2019" in w.message and "AdamW" in w.message
    assert w.where == ("param_groups[0]",)


@pytest.mark.parametrize("make", [
    lambda p: torch.optim.AdamW(p, weight_decay=0.01),
    lambda p: tw.optim.AdamW(p, weight_decay=0.01),
    lambda p: torch.optim.Adam(p, weight_decay=0.01, decoupled_weight_decay=True),
    lambda p: tw.optim.Adam(p, weight_decay=0.01, decoupled_weight_decay=True),
    lambda p: torch.optim.NAdam(p, weight_decay=0.01, decoupled_weight_decay=True),
    lambda p: tw.optim.NAdam(p, weight_decay=0.01, decoupled_weight_decay=True),
    lambda p: torch.optim.Adam(p),
    lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.01),
], ids=["torch-AdamW", "book-AdamW", "torch-Adam-decoupled", "book-Adam-decoupled", "torch-NAdamW",
        "book-NAdamW", "no-decay", "SGD"])
def test_decoupled_decay_and_other_optimizers_clear_it(make):
    model = no_bias_net()
    assert lint(model, make(model.parameters()), quiet=True) == []


def test_only_the_groups_with_coupled_decay_are_named():
    model = no_bias_net()
    optimizer = torch.optim.Adam([{"params": model[0].parameters(), "weight_decay": 0.0},
                                  {"params": model[2].parameters(), "weight_decay": 0.1}])
    w = only(lint(model, optimizer, quiet=True), "adam-coupled-wd")
    assert w.where == ("param_groups[1]",) and "param group 1" in w.message


# ---- 3. NAdam with momentum_decay=0 -----------------------------------------------------------------


@pytest.mark.parametrize("make", [torch.optim.NAdam, tw.optim.NAdam], ids=["torch", "book"])
def test_nadam_without_momentum_decay_is_caught_and_the_default_clears_it(make):
    model = no_bias_net()
    w = only(lint(model, make(model.parameters(), betas=(0.8, 0.999), momentum_decay=0), quiet=True),
             "nadam-momentum-decay-zero")
    assert "β₁/2 = 0.4, not β₁ = 0.8" in w.message and "momentum_decay=4e-3" in w.message
    assert lint(model, make(model.parameters()), quiet=True) == []


# ---- 4. batch-norm momentum conventions -------------------------------------------------------------


@pytest.mark.parametrize("bn", [nn.BatchNorm1d, BookBN1d], ids=["torch", "book"])
@pytest.mark.parametrize("momentum, phrase", [(0.9, "momentum=0.1"), (0.99, "momentum=0.01"), (0.6, "Keras"),
                                              (1.0, "momentum=0"), (0.0, "never updates")])
def test_bn_momentum_outside_zero_to_half_is_caught(bn, momentum, phrase):
    model = nn.Sequential(nn.Linear(3, 4, bias=False), bn(4, momentum=momentum))
    w = only(lint(model, quiet=True), "bn-momentum")
    assert w.where == ("1",) and f"BatchNorm1d '1' has momentum {momentum:g}" in w.message
    assert phrase in w.message


@pytest.mark.parametrize("bn", [nn.BatchNorm1d, BookBN1d], ids=["torch", "book"])
@pytest.mark.parametrize("momentum", [0.1, 0.01, 0.5, None])
def test_pytorch_style_momenta_and_the_cumulative_average_are_fine(bn, momentum):
    assert lint(nn.Sequential(nn.Linear(3, 4, bias=False), bn(4, momentum=momentum)), quiet=True) == []


def test_a_bn_layer_without_running_statistics_has_no_momentum_to_check():
    assert lint(nn.BatchNorm1d(4, momentum=0.9, track_running_stats=False), quiet=True) == []


# ---- 5. dropout's p on the inputs -------------------------------------------------------------------


def test_torch_dropout_with_a_keep_probability_on_the_inputs_is_caught():
    model = tw.models.mlp([8, 16, 3], input_dropout=0.8)
    w = only(lint(model, quiet=True), "input-dropout-p")
    assert w.where == ("0",) and "Dropout '0'" in w.message
    assert "drop probability" in w.message and "did you mean p = 1 − 0.8 = 0.2?" in w.message


def test_the_books_dropout_with_a_drop_probability_on_the_inputs_is_caught():
    model = nn.Sequential(BookDropout(keep=0.2), nn.Linear(8, 3))
    w = only(lint(model, quiet=True), "input-dropout-p")
    assert "keep probability" in w.message and "keep = 1 − 0.2 = 0.8" in w.message


def test_input_dropout_inside_a_nested_block_and_channel_dropout_are_caught():
    model = nn.Sequential(nn.Sequential(nn.Identity(), nn.Dropout2d(0.75)), nn.Conv2d(1, 2, 3))
    assert only(lint(model, quiet=True), "input-dropout-p").where == ("0.1",)


@pytest.mark.parametrize("model", [
    tw.models.mlp([8, 16, 3], input_dropout=0.2),
    nn.Sequential(BookDropout(keep=0.8), nn.Linear(8, 3)),
    nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.8), nn.Linear(16, 3)),
], ids=["torch-p-0.2", "book-keep-0.8", "heavy-dropout-on-a-hidden-layer"])
def test_light_input_dropout_and_hidden_dropout_are_fine(model):
    assert lint(model, quiet=True) == []


# ---- 6. evaluation in training mode -----------------------------------------------------------------


def test_evaluating_a_model_in_training_mode_is_caught():
    model = bn_net("last").train()
    w = only(lint(model, for_evaluation=True, quiet=True), "train-mode-eval")
    assert w.where == ("1", "4", "6") and "BatchNorm1d '1'" in w.message and "Dropout '6'" in w.message
    assert "model.eval()" in w.message and "tw.eval_mode(model)" in w.message


def test_eval_mode_clears_it_and_one_layer_left_in_training_is_named():
    model = bn_net("last").eval()
    assert lint(model, for_evaluation=True, quiet=True) == []
    with tw.eval_mode(model.train()):
        assert lint(model, for_evaluation=True, quiet=True) == []
    model.eval()
    model[6].train()
    assert only(lint(model, for_evaluation=True, quiet=True), "train-mode-eval").where == ("6",)


def test_training_mode_is_fine_when_not_evaluating_or_when_no_layer_depends_on_it():
    assert lint(bn_net("last").train(), quiet=True) == []
    assert lint(tw.models.mlp([8, 16, 3]).train(), for_evaluation=True, quiet=True) == []
    book = nn.Sequential(nn.Linear(3, 4, bias=False), BookBN1d(4), BookDropout(0.5)).train()
    assert only(lint(book, for_evaluation=True, quiet=True), "train-mode-eval").where == ("1", "2")


# ---- 7. batches too small for batch norm ------------------------------------------------------------


@pytest.mark.parametrize("bn", [nn.BatchNorm1d, BookBN1d], ids=["torch", "book"])
def test_small_batches_with_batch_norm_are_caught_and_16_clears_it(bn):
    model = nn.Sequential(nn.Linear(3, 4, bias=False), bn(4), nn.ReLU(), nn.Linear(4, 2))
    w = only(lint(model, batch_size=8, quiet=True), "small-batch-bn")
    assert w.where == ("1",) and "batch_size=8" in w.message and "16" in w.message
    assert 'Part III, "Batch mates, batch sizes"' in w.message
    assert lint(model, batch_size=16, quiet=True) == []


def test_a_training_set_smaller_than_16_is_caught_with_or_without_a_batch_size():
    model = bn_net("last")
    for kw in ({}, {"batch_size": 64}):
        w = only(lint(model, data=examples(10), quiet=True, **kw), "small-batch-bn")
        assert "10 training examples" in w.message
    assert lint(model, data=examples(100), quiet=True) == []


def test_small_batches_without_batch_norm_are_fine():
    assert lint(tw.models.mlp([8, 16, 3], hidden_dropout=0.5), batch_size=2, quiet=True) == []


def test_a_last_batch_of_one_is_caught_and_drop_last_clears_it():
    model = bn_net("last")
    w = only(lint(model, data=examples(129), batch_size=64, quiet=True), "bn-batch-of-one")
    assert "129 training examples" in w.message and "drop_last=True" in w.message
    assert lint(model, data=examples(129), batch_size=64, drop_last=True, quiet=True) == []
    assert lint(model, data=examples(130), batch_size=64, quiet=True) == []


def test_a_trainwell_dataset_is_read_for_its_size():
    ds = tw.data.make_classification(200, d=8)
    n = ds.X_train.shape[0]
    assert "bn-batch-of-one" in codes(lint(bn_net("last"), data=ds, batch_size=n - 1, quiet=True))
    assert lint(bn_net("last"), data=ds, batch_size=n, quiet=True) == []


# ---- 8. dropout before batch norm -------------------------------------------------------------------


def test_dropout_feeding_batch_norm_through_a_linear_layer_is_caught():
    w = only(lint(bn_net("every"), quiet=True), "dropout-before-bn")
    assert w.where == ("3", "5")
    assert "Dropout '3' feeds BatchNorm1d '5' through Linear '4'" in w.message
    assert "Li, Chen, Hu & Yang 2019" in w.message and 'Part II, "Dropout in practice"' in w.message


def test_dropout_after_the_last_batch_norm_clears_it():
    assert "dropout-before-bn" not in codes(lint(bn_net("last"), quiet=True))


@pytest.mark.parametrize("model, where", [
    (nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.3), nn.BatchNorm1d(4)), ("1", "2")),
    (nn.Sequential(nn.Linear(3, 4), BookDropout(0.7), nn.Linear(4, 4), BookBN1d(4)), ("1", "3")),
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Dropout2d(0.2), nn.Conv2d(2, 2, 3), nn.BatchNorm2d(2)),
     ("2", "4")),
    (nn.Sequential(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Dropout(0.5)),
                   nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.ReLU())), ("0.3", "1.1")),
], ids=["direct", "book-layers", "conv", "across-nested-blocks"])
def test_the_variance_shift_is_found_in_any_layout(model, where):
    assert only(lint(model, quiet=True), "dropout-before-bn").where == where


def test_inactive_dropout_or_a_nonlinearity_in_between_does_not_count():
    assert lint(nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.0), nn.Linear(4, 4), nn.BatchNorm1d(4)),
                quiet=True) == []
    relu_between = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 4), nn.ReLU(),
                                 nn.BatchNorm1d(4))
    assert lint(relu_between, quiet=True) == []


# ---- 9. early stopping without restoring the best parameters ----------------------------------------


def test_early_stopping_without_restore_is_caught_and_restore_clears_it():
    model = tw.models.mlp([3, 2])
    callbacks = [tw.train.Record(lambda s: 0), EarlyStopping(4, restore_best=False)]
    w = only(lint(model, callbacks=callbacks, quiet=True), "early-stop-no-restore")
    assert w.where == ("callbacks[1]",) and "restore_best=False" in w.message and "patience=4" in w.message
    assert lint(model, callbacks=(EarlyStopping(4),), quiet=True) == []


class _Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 8)
        self.attn = nn.MultiheadAttention(8, 2, add_bias_kv=True)
        self.rnn = nn.LSTM(8, 4, bidirectional=True)
        self.norm = nn.LayerNorm(8)
        self.act = nn.PReLU()


WEIGHT_CASES = {
    "conv1d, prelu, linear": (nn.Sequential(nn.Conv1d(1, 4, 3), nn.PReLU(), nn.Flatten(), nn.Linear(8, 2)),
                              ["0.weight", "3.weight"]),
    "linear, batch norm": (nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)),
                           ["0.weight", "3.weight"]),
    "the book's batch norm, conv2d": (nn.Sequential(nn.Conv2d(1, 2, 3), BookBN1d(2)), ["0.weight"]),
    "embedding, attention, lstm, layer norm": (_Head(), [
        "embed.weight", "attn.in_proj_weight", "attn.out_proj.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0",
        "rnn.weight_ih_l0_reverse", "rnn.weight_hh_l0_reverse"]),
}


@pytest.mark.parametrize("case", list(WEIGHT_CASES))
def test_one_rule_for_which_parameters_are_weights(case):
    """Before: on conv1d + PReLU + linear the penalties took 3.weight only and weight_decay_groups
    decayed 0.weight, 1.weight (PReLU's slope) and 3.weight; weight_decay_groups also decayed
    attention's in_proj_bias and the LSTM's biases. Now all three read tw.models.weight_names."""
    from trainwell.regularization import penalized_names

    model, weights = WEIGHT_CASES[case]
    assert tw.models.weight_names(model) == weights
    assert penalized_names(model) == weights
    named = {id(p): n for n, p in model.named_parameters()}
    groups = weight_decay_groups(model, 0.1)
    assert [named[id(p)] for p in groups[0]["params"]] == weights and groups[0]["weight_decay"] == 0.1
    rest = [n for n in named.values() if n not in weights]
    assert [named[id(p)] for p in groups[1]["params"]] == rest and groups[1]["weight_decay"] == 0.0
    found = lint(model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=0.1), quiet=True)
    flagged = [w for w in found if w.code == "wd-on-bn-bias"]
    assert len(flagged) == 1 and set(flagged[0].where) == set(rest)
    assert not [w for w in lint(model, optimizer=torch.optim.SGD(groups, lr=0.1), quiet=True)
                if w.code == "wd-on-bn-bias"]
