"""The training commands as functions: cnnlab.train / evaluate give the CLI's JSON and
closing lines, import torch only when called, and name an unknown setting."""

from __future__ import annotations

import json

import pytest

import cnnlab
from cnnlab.cli.main import main as cli_main

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "cnn3"
    return cnnlab.train(data="digits", model="cnn3", epochs=1, limit=200, out=str(out), seed=1), out


def test_train_returns_the_run_summary(run):
    r, out = run
    s = r.to_json()
    assert s["model"] == "cnn3" and s["epochs"] == 1 and s["run_dir"] == str(out)
    assert 0 <= s["test_accuracy"] <= 1 and s["params"] == sum(p.numel() for p in r.value.model.parameters())
    assert str(r).splitlines()[-1] == f"run folder: {out}"


def test_evaluate_is_the_cli_in_json_and_text(run, capsys):
    _, out = run
    e = cnnlab.evaluate(out, shift=(1, 0))
    capsys.readouterr()
    assert cli_main(["evaluate", str(out), "--shift", "1,0", "--format", "json"]) == 0
    assert e.to_json() == json.loads(capsys.readouterr().out)
    assert cli_main(["evaluate", str(out), "--shift", "1,0"]) == 0
    assert str(e) + "\n" == capsys.readouterr().out


def test_explain_is_the_cli_in_json_and_text(run, capsys, tmp_path):
    _, out = run
    r = cnnlab.explain(out, what="filters", out=str(tmp_path / "a"))
    capsys.readouterr()
    assert cli_main(["explain", str(out), "--what", "filters", "--out", str(tmp_path / "a"), "--json"]) == 0
    cli_json = json.loads(capsys.readouterr().out)
    api_json = r.to_json()
    assert set(api_json.pop("seconds")) == set(cli_json.pop("seconds"))  # wall times: the same parts
    assert api_json == cli_json
    assert cli_main(["explain", str(out), "--what", "filters", "--out", str(tmp_path / "a")]) == 0
    assert capsys.readouterr().out.endswith(str(r) + "\n")


def test_unknown_settings_and_choices_are_usage_errors(run):
    _, out = run
    with pytest.raises(cnnlab.UsageError, match="unknown setting 'colour'"):
        cnnlab.explain(out, colour="red")
    with pytest.raises(cnnlab.UsageError, match="invalid choice: 'dev'"):
        cnnlab.evaluate(out, split="dev")
