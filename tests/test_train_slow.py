"""Real-data and real-kill training checks (slow: run with `make test-all`)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
import torch

from cnnlab.errors import UsageError


@pytest.mark.slow
def test_small_cnn_on_mnist_subset(tmp_path):
    from cnnlab.data import load_dataset
    from cnnlab.train import TrainConfig, evaluate_run, fit

    try:
        ds = load_dataset("mnist", limit=5000)
    except UsageError as exc:
        pytest.skip(f"MNIST not fetched: {exc}")
    config = TrainConfig(data="mnist", model="small-cnn", epochs=2, optimizer="sgd", lr=0.05,
                         schedule="onecycle", limit=5000, out=str(tmp_path / "r"))
    result = fit(config, ds)
    assert result.summary["test_accuracy"] > 0.9 and result.summary["params"] == 21840
    shifted = evaluate_run(result.run_dir, shift=(4, 0), dataset=ds)
    assert shifted["shifted_accuracy"] < shifted["accuracy"]


@pytest.mark.slow
def test_a_killed_cli_run_resumes_to_the_uninterrupted_result(tmp_path):
    args = ["train", "--data", "digits", "--model", "cnn3", "--epochs", "4", "--augment", "shift:1",
            "--schedule", "cosine", "--threads", "1", "--json"]
    cmd = [sys.executable, "-m", "cnnlab.cli.main", *args]
    whole = subprocess.run([*cmd, "--out", str(tmp_path / "whole")], capture_output=True, text=True)
    assert whole.returncode == 0, whole.stderr
    broken = tmp_path / "broken"
    proc = subprocess.Popen([*cmd, "--out", str(broken)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not (broken / "last.pt").exists() and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # mid-run, most likely mid-epoch 2
    proc.wait()
    assert torch.load(broken / "last.pt", weights_only=True)["epoch"] < 4, "killed before the end"
    assert not (broken / "summary.json").exists()
    resumed = subprocess.run([*cmd, "--out", str(broken)], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    a = torch.load(tmp_path / "whole" / "last.pt", weights_only=True)
    b = torch.load(broken / "last.pt", weights_only=True)
    assert a["epoch"] == b["epoch"] == 4
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert json.loads(whole.stdout.splitlines()[-1])["test_accuracy"] == \
        json.loads(resumed.stdout.splitlines()[-1])["test_accuracy"]
