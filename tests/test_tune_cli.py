"""``cnnlab tune`` as a user runs it: --json, continuing a study, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CLI = [sys.executable, "-m", "cnnlab.cli.main", "tune"]
BASE = ["--data", "digits", "--model", "logreg", "--epochs", "1", "--limit", "300",
        "--threads", "1", "--device", "cpu"]


def _run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=240, cwd=cwd)


def test_json_and_a_rerun_continues_the_study(tmp_path):
    out = tmp_path / "study"
    first = _run(*BASE, "--trials", "2", "--out", str(out), "--json")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout.strip().splitlines()[-1])
    assert {"study", "storage", "best_value", "best_params", "best_run_dir", "trials",
            "total_seconds"} <= set(data)
    assert data["study"] == "logreg-digits"
    assert data["storage"] == f"sqlite:///{(out / 'study.db').resolve()}"
    assert [t["number"] for t in data["trials"]] == [0, 1]
    assert all(t["state"] == "COMPLETE" and t["epochs"] == 1 for t in data["trials"])
    assert data["best_value"] == max(t["value"] for t in data["trials"])
    assert (out / "study.db").is_file() and (tmp_path / data["best_run_dir"]).joinpath("best.pt").is_file()
    assert "Trial 0 finished" not in first.stderr  # optuna's own log lines are silenced
    assert "trial 1: complete" in first.stderr

    second = _run(*BASE, "--trials", "1", "--out", str(out))
    assert second.returncode == 0, second.stderr
    assert "3 trials (3 complete); 1 run now" in second.stdout
    assert "report: " in second.stdout and (out / "logreg-digits" / "report.html").is_file()
    # a trial folder is an ordinary run: what cnnlab evaluate runs reads it
    from cnnlab.train import evaluate_run

    evaluated = evaluate_run(data["best_run_dir"], split="val")
    assert evaluated["model"] == "logreg"
    assert evaluated["accuracy"] == pytest.approx(data["best_value"], abs=1e-6)


@pytest.mark.parametrize("args, words", [
    (["--trials", "0"], ["--trials", ">= 1"]),
    (["--storage", "nosuchdb://me:hunter2@host/x"], ["--storage", "cannot open the database"]),
    (["--space", "SPACE"], ["parameter lr", "low must be below high"]),
])
def test_errors_are_one_line_and_exit_2(tmp_path, args, words):
    space = tmp_path / "space.yaml"
    space.write_text("lr: {type: float, low: 0.1, high: 0.01}\n")
    args = [str(space) if a == "SPACE" else a for a in args]
    done = _run(*BASE, *args, "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for word in words:
        assert word in lines[0]
    assert "hunter2" not in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out" / "study.db").exists()


def test_help_and_cheap_import():
    done = _run("--help")
    assert done.returncode == 0 and "--storage URL" in done.stdout and "space.yaml" in done.stdout
    code = ("import sys, cnnlab.cli.tune_cmd, cnnlab.tune; "
            "print(sorted(m for m in ('torch', 'optuna', 'matplotlib') if m in sys.modules))")
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert imported.stdout.strip() == "[]", imported.stderr


@pytest.mark.parametrize("flag, value, words", [
    ("--model", "nope", ["unknown model 'nope'", "small-cnn"]),
    ("--data", "no-such-data", ["no-such-data", "dataset name"]),
])
def test_unknown_model_or_data_in_process(tmp_path, capsys, flag, value, words):
    """The same one-line errors through main() (torch is already loaded here: faster)."""
    from cnnlab.cli.main import main

    args = list(BASE)
    args[args.index(flag) + 1] = value
    assert main(["tune", *args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    for word in words:
        assert word in err[0]
    assert not (tmp_path / "out").exists()
