"""evaluate_run / `cnnlab evaluate` and the CLI of `cnnlab train` (errors via subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from cnnlab.cli.main import main
from cnnlab.errors import UsageError
from cnnlab.storage.hashes import record_existing
from cnnlab.models import get_model
from cnnlab.train import TrainConfig, evaluate_model, evaluate_run, fit, load_run, shift_images


@pytest.fixture(scope="module")
def run(digits, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "cnn3"
    return fit(TrainConfig(data="digits", model="cnn3", epochs=2, lr=3e-3, out=str(out)), digits)


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cnnlab.cli.main", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def test_evaluate_reproduces_the_summary(run):
    result = evaluate_run(run.run_dir)
    assert result["accuracy"] == pytest.approx(run.summary["test_accuracy"])
    assert result["n"] == run.summary["n_test"] and "shift" not in result
    val = evaluate_run(run.run_dir, split="val")
    assert val["accuracy"] == pytest.approx(run.summary["val_accuracy"])


def test_evaluate_with_shift_matches_shifting_by_hand(run, digits):
    result = evaluate_run(run.run_dir, shift=(1, -1))
    loaded = load_run(run.run_dir)
    moved = shift_images(digits.x_test, 1, -1)
    by_hand = evaluate_model(loaded.model, moved, digits.y_test, digits.mean, digits.std)
    base = evaluate_model(loaded.model, digits.x_test, digits.y_test, digits.mean, digits.std)
    assert result["shifted_accuracy"] == pytest.approx(by_hand["accuracy"])
    assert result["consistency"] == pytest.approx(np.mean(by_hand["predictions"] == base["predictions"]))
    assert result["shift"] == [1, -1]


def test_checkpoint_of_another_architecture_is_refused(run, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run.run_dir, copy)
    torch.save(get_model("mlp", 1, 10, (8, 8)).state_dict(), copy / "best.pt")
    (copy / "best.pt.sha256").unlink()  # record the new file's hash: the shapes are the point
    record_existing(copy / "best.pt")
    with pytest.raises(UsageError, match="does not match the cnn3 architecture"):
        load_run(copy)
    assert main(["evaluate", str(copy)]) == 2


def test_folders_that_hold_no_run(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        load_run(tmp_path / "nothing")
    with pytest.raises(UsageError, match="no config.yaml"):
        load_run(tmp_path)


def test_evaluate_cli_text_and_json(run, capsys):
    assert main(["evaluate", str(run.run_dir), "--shift", "2,0"]) == 0
    text = capsys.readouterr().out
    assert "accuracy" in text and "dx=2, dy=0" in text
    assert main(["evaluate", str(run.run_dir), "--split", "val", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["split"] == "val" and result["accuracy"] == pytest.approx(run.summary["val_accuracy"])
    assert main(["evaluate", str(run.run_dir), "--shift", "2"]) == 2
    assert "error: --shift takes two integers" in capsys.readouterr().err


def test_train_cli_json_and_default_run_folder(tmp_path):
    done = _cli("train", "--data", "digits", "--model", "logreg", "--epochs", "1", "--limit", "200",
                "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    for key in ("test_accuracy", "val_accuracy", "train_accuracy", "epochs", "params",
                "train_seconds", "total_seconds", "run_dir"):
        assert key in summary
    assert summary["run_dir"].startswith("runs/logreg-digits-")
    assert (tmp_path / summary["run_dir"] / "summary.json").is_file()
    assert done.stdout.count("\n") == 1, "--json prints nothing but the JSON line"


def test_train_cli_config_file_and_overrides(tmp_path, capsys):
    (tmp_path / "run.yaml").write_text("data: digits\nmodel: mlp\nepochs: 3\nlimit: 150\n"
                                       "model_cfg: {hidden: [8]}\n")
    out = tmp_path / "r"
    assert main(["train", "--config", str(tmp_path / "run.yaml"), "--epochs", "1",
                 "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["epochs"] == 1 and summary["params"] == 64 * 8 + 8 + 8 * 10 + 10


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "error: cnnlab train: argument --epochs: expected a whole number >= 1"),
    (["--model", "vgg99"], "error: unknown model 'vgg99'; choose one of: small-cnn, lenet5"),
    (["--data", "no/such/folder"], "error: 'no/such/folder' is neither a dataset name"),
    (["--out", "file.txt"], "error: --out file.txt is a file"),
])
def test_train_cli_errors(tmp_path, args, message):
    (tmp_path / "file.txt").write_text("x")
    base = {"--data": "digits", "--model": "logreg", "--epochs": "1"}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    done = _cli("train", *[x for kv in base.items() for x in kv], cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith(message)
    assert not (tmp_path / "runs").exists()


def test_missing_named_data_gives_the_fetch_command(tmp_path, capsys, monkeypatch):
    from cnnlab.data.sources import system_dir

    if system_dir("mnist").exists():
        pytest.skip("MNIST is installed system-wide on this machine")
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path))
    monkeypatch.setenv("CNNLAB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--data", "mnist", "--model", "logreg", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "cnnlab data fetch mnist" in err
    assert not (tmp_path / "runs").exists()


def test_list_models(capsys):
    assert main(["train", "--list-models"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in ("small-cnn", "cnn3-dropout", "resnet18", "logreg"))
    assert main(["train", "--list-models", "--json"]) == 0
    assert "resnet18" in [m["name"] for m in json.loads(capsys.readouterr().out)["models"]]


def test_evaluate_refuses_data_of_another_shape_or_class_count(run, digits):
    import dataclasses

    bigger = dataclasses.replace(digits, x_test=np.zeros((5, 1, 16, 16), np.float32))
    with pytest.raises(UsageError, match="images of shape 1x16x16, the model takes 1x8x8"):
        evaluate_run(run.run_dir, dataset=bigger)
    fewer = dataclasses.replace(digits, classes=digits.classes[:5])
    with pytest.raises(UsageError, match="5 classes"):
        evaluate_run(run.run_dir, dataset=fewer)
