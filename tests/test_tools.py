"""The maintainers' tools that are not run by the tests themselves still do what they say."""
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import robustness  # noqa: E402


def _notebook(path: Path, expected_seeds: int, expected_epochs: int = 30) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import trainwell as tw"),
                nbformat.v4.new_code_cell('s = tw.sizes("using.digits_mlp")\n'
                                          f'tw.check_true("seeds overridden", s.seeds == {expected_seeds}, '
                                          'f"{s.seeds} seeds")\n'
                                          f'tw.check_true("budget scaled", s.epochs == {expected_epochs}, '
                                          'f"{s.epochs} epochs")\n'
                                          'print("batch", s.batch_size)')]
    nbformat.write(nb, path)
    return path


def test_robustness_reruns_every_experiment_with_the_asked_number_of_seeds(tmp_path, capsys):
    nb = _notebook(tmp_path / "probe.ipynb", 7)
    assert robustness.main([str(nb), "--seeds", "7", "--output-dir", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "[check] seeds overridden: PASS (7 seeds)" in out
    assert "2 PASS, 0 FAIL with 7 seeds" in out
    assert (tmp_path / "out" / "probe.ipynb").exists()
    # The stored notebook is left as it was: two cells, no outputs.
    assert [c.get("outputs", []) for c in nbformat.read(nb, as_version=4).cells] == [[], []]


def test_robustness_exits_1_when_a_claim_fails(tmp_path, capsys):
    nb = _notebook(tmp_path / "probe.ipynb", 3)
    assert robustness.main([str(nb), "--seeds", "5", "--output-dir", str(tmp_path / "out")]) == 1
    assert "1 PASS, 1 FAIL with 5 seeds" in capsys.readouterr().out


def test_as_stored_names_every_stored_verdict_the_run_does_not_reproduce(tmp_path, capsys):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('import trainwell as tw\ntw.check_true("one is one", 1 == 1)\n'
                                     'tw.check_true("two is three", 2 == 3)')
    stored = ["[check] one is one: PASS", "[check] two is three: PASS", "[check] gone: PASS"]
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="\n".join(stored) + "\n")]
    nb.cells = [cell]
    path = tmp_path / "stored.ipynb"
    nbformat.write(nb, path)
    assert robustness.main([str(path), "--as-stored", "--output-dir", str(tmp_path / "out")]) == 1
    out = capsys.readouterr().out
    assert "1 PASS, 1 FAIL with the stored seeds" in out
    assert "2 stored verdicts not reproduced" in out
    assert "stored.ipynb: PASS -> FAIL: two is three" in out and "stored.ipynb: missing: gone" in out
    assert "one is one" not in out.split("not reproduced")[1]


def test_budget_multiplies_the_experiment_s_budget_keys_only_and_record_stores_verdicts(tmp_path, capsys,
                                                                                        monkeypatch):
    import json

    table = tmp_path / "verdicts.json"
    monkeypatch.setattr(robustness, "VERDICTS", table)
    nb = _notebook(tmp_path / "probe.ipynb", 5, expected_epochs=120)  # epochs is using.digits_mlp's budget
    out_dir = str(tmp_path / "out")
    assert robustness.main([str(nb), "--budget", "4", "--record", "--output-dir", out_dir]) == 0
    out = capsys.readouterr().out
    assert "[check] budget scaled: PASS (120 epochs)" in out and "seeds overridden: PASS (5 seeds)" in out
    executed = nbformat.read(tmp_path / "out" / "probe.ipynb", as_version=4)
    assert "batch 64" in executed.cells[-1].outputs[-1]["text"]  # a key that is no budget stays
    stored = json.loads(table.read_text())  # the probe stores no outputs: its claims are the run's
    assert stored["verdicts"]["probe.ipynb"] == {}
    original = nbformat.read(nb, as_version=4)  # store the run's [check] lines (not its extra cell)
    original.cells[-1].outputs = [o for o in executed.cells[-1].outputs if "[check]" in o.get("text", "")]
    nbformat.write(original, nb)  # now stored: two claims that printed PASS with 5 seeds
    argv = [str(nb), "--seeds", "3", "--budget", "4", "--record", "--output-dir", out_dir]
    assert robustness.main(argv) == 1
    stored = json.loads(table.read_text())["verdicts"]["probe.ipynb"]
    assert stored == {"seeds overridden": {"seeds3-budget4": "FAIL"},
                      "budget scaled": {"seeds3-budget4": "PASS"}}
    assert set(json.loads(table.read_text())["variants"]) == {"budget4", "seeds3-budget4"}
    robustness.record("x", {"probe.ipynb": (robustness.check_lines(original), [])}, {"probe.ipynb": 1.0})
    assert json.loads(table.read_text())["verdicts"]["probe.ipynb"]["budget scaled"]["x"] == "MISSING"


def test_a_run_must_say_what_it_changes(capsys):
    import pytest

    for argv in (["x.ipynb"], ["x.ipynb", "--as-stored", "--seeds", "3"], ["x.ipynb", "--budget", "0"]):
        with pytest.raises(SystemExit):
            robustness.main(argv)


def test_shown_code_counts_docstring_check_and_code_lines():
    import shown_code

    text = '''def f(x, lr):
    """Return x
    minus lr."""
    lr = check_float("lr", lr, minimum=0.0)
    if x.ndim != 1:
        raise ValueError(
            "x must be a vector")
    # the update
    y = x - lr

    return y'''
    assert shown_code.classify(text) == {"docstring": 2, "check": 4, "code": 4}
    book = shown_code.displayed(sorted((shown_code.ROOT / "book").glob("**/*.ipynb")))
    assert len(book) > 50 and all(t.strip() for t in book)
