"""Training refuses to diverge silently: absurd settings up front, a NaN loss stops the run."""

from __future__ import annotations

import json

import pytest
import torch

from cnnlab.cli.main import main
from cnnlab.errors import UsageError
from cnnlab.train import TrainConfig, fit
from cnnlab.storage import RunFolder
from cnnlab.train.config import MAX_LR, MAX_WEIGHT_DECAY
from cnnlab.train.divergence import TrainingDiverged


@pytest.mark.parametrize("flags, message", [
    (["--lr", "inf"], "--lr must be a finite number, got inf"),
    (["--lr", "nan"], "--lr must be"),
    (["--lr", "1e308"], f"--lr must be in (0, {MAX_LR:g}], got 1e+308"),
    (["--weight-decay", "inf"], "--weight-decay must be a finite number"),
    (["--weight-decay", "1e308"], f"--weight-decay must be in [0, {MAX_WEIGHT_DECAY:g}]"),
    (["--momentum", "1"], "--momentum must be in [0, 1)"),
    (["--momentum", "-0.5"], "--momentum must be in [0, 1)"),
    (["--momentum", "nan"], "--momentum must be a finite number"),
    (["--gamma", "inf"], "--gamma must be a finite number"),
    # the flags' own bounds (docs/limits.md) refuse these before the config is built
    (["--epochs", "1000000000"], "cnnlab train: argument --epochs: expected a whole number from 1 to 10000"),
    (["--batch-size", "99999999999"], "cnnlab train: argument --batch-size: expected a whole number from 1 to 65536"),
])
def test_absurd_settings_are_refused_up_front(tmp_path, capsys, flags, message):
    out = tmp_path / "run"
    status = main(["train", "--data", "digits", "--model", "logreg", "--out", str(out), *flags])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith(f"error: {message}") and err.count("\n") == 1, err
    assert not out.exists()


def test_bounds_come_from_the_config_too():
    with pytest.raises(UsageError, match="finite"):
        TrainConfig(data="digits", model="mlp", lr=float("inf")).validate()
    with pytest.raises(UsageError, match="--epochs must be in 1..10000"):  # a --config file, say
        TrainConfig(data="digits", model="mlp", epochs=10**9).validate()
    with pytest.raises(UsageError, match="--batch-size must be in 1..65536"):
        TrainConfig(data="digits", model="mlp", batch_size=10**11).validate()
    TrainConfig(data="digits", model="mlp", lr=MAX_LR, weight_decay=MAX_WEIGHT_DECAY).validate()


def test_nan_loss_stops_the_run_and_keeps_the_last_good_epoch(digits, tmp_path):
    run = tmp_path / "run"
    good = {}

    def poison(row):  # after epoch 1 is saved, the weights turn to NaN (as a blow-up would)
        if row["epoch"] == 1:
            model = poison.model
            good.update({k: v.clone() for k, v in model.state_dict().items()})
            with torch.no_grad():
                next(model.parameters()).fill_(float("nan"))

    import cnnlab.train.loop as loop
    real = loop.get_model

    def spy(*args, **kwargs):
        poison.model = real(*args, **kwargs)
        return poison.model

    loop.get_model = spy
    try:
        with pytest.raises(TrainingDiverged, match=r"diverged in epoch 2: the training loss "
                                                   r"became nan.*last\.pt keeps epoch 1"):
            fit(TrainConfig(data="digits", model="logreg", epochs=4, out=str(run)), digits,
                on_epoch=poison)
    finally:
        loop.get_model = real
    last = RunFolder(run).load_checkpoint("last.pt")  # hash-checked: the last good epoch
    assert last["epoch"] == 1
    for k, v in good.items():
        assert torch.equal(last["model"][k], v.cpu())  # checkpoints hold CPU tensors
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "diverged" and summary["diverged_epoch"] == 2
    assert summary["epochs"] == 1 and summary["train_loss"] is None
    assert (run / "metrics.csv").read_text().count("\n") == 2  # header + epoch 1


def test_a_real_blow_up_exits_non_zero_and_says_so(tmp_path, capsys):
    run = tmp_path / "run"
    status = main(["train", "--data", "digits", "--model", "mlp", "--epochs", "2",
                   "--optimizer", "sgd", "--lr", "10", "--momentum", "0.9", "--out", str(run)])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("error: training diverged in epoch 1")
    assert json.loads((run / "summary.json").read_text())["status"] == "diverged"
    assert not (run / "last.pt").exists()


def test_a_finished_run_says_finished(digits, tmp_path):
    result = fit(TrainConfig(data="digits", model="logreg", epochs=1, out=str(tmp_path / "r")), digits)
    assert result.summary["status"] == "finished"
