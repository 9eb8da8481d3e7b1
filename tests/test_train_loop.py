"""fit(): sanity accuracy, the run folder, resume, early stopping, fine-tuning, refusals."""

from __future__ import annotations

import csv
import dataclasses
import json

import numpy as np
import pytest
import torch
import yaml

from cnnlab.errors import UsageError
from cnnlab.train import TrainConfig, evaluate_model, fit


@pytest.fixture(scope="module")
def logreg_run(digits, tmp_path_factory):
    config = TrainConfig(data="digits", model="logreg", epochs=6, lr=0.02, batch_size=32,
                         out=str(tmp_path_factory.mktemp("runs") / "logreg"))
    return fit(config, digits)


def test_logreg_reaches_sanity_accuracy(logreg_run):
    s = logreg_run.summary
    assert s["test_accuracy"] > 0.85 and s["val_accuracy"] > 0.85 and s["train_accuracy"] > 0.85
    assert s["params"] == 64 * 10 + 10 and s["epochs"] == 6
    assert s["train_seconds"] > 0 and s["total_seconds"] >= s["train_seconds"]


def test_small_cnn_learns_upsampled_digits(digits, tmp_path):
    up = {f"x_{k}": np.kron(getattr(digits, f"x_{k}"), np.ones((1, 1, 2, 2), np.float32))
          for k in ("train", "val", "test")}  # 8x8 -> 16x16
    data16 = dataclasses.replace(digits, **up)
    config = TrainConfig(data="digits16", model="small-cnn", epochs=4, lr=3e-3, out=str(tmp_path / "r"))
    result = fit(config, data16)
    assert result.summary["test_accuracy"] > 0.6
    assert result.model(torch.zeros(1, 1, 16, 16)).shape == (1, 10)


def test_run_folder_holds_what_the_contract_promises(logreg_run, digits):
    run = logreg_run.run_dir
    for name in ("config.yaml", "model.json", "metrics.csv", "summary.json", "best.pt", "last.pt",
                 "learning_curves.png", "confusion_matrix.png"):
        assert (run / name).is_file(), name
    assert not list(run.glob(".*tmp*")), "no temporary files left behind"
    config = TrainConfig.from_dict(yaml.safe_load((run / "config.yaml").read_text()))
    assert config.model == "logreg" and config.out == str(run)
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert [int(r["epoch"]) for r in rows] == list(range(1, 7))
    assert {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds"} <= set(rows[0])
    summary = json.loads((run / "summary.json").read_text())
    for key in ("test_accuracy", "val_accuracy", "train_accuracy", "epochs", "params",
                "train_seconds", "total_seconds", "run_dir"):
        assert key in summary
    best = torch.load(run / "best.pt", weights_only=True)
    last = torch.load(run / "last.pt", weights_only=True)
    assert set(best) == set(logreg_run.model.state_dict())
    assert {"model", "optimizer", "scheduler", "epoch", "history"} <= set(last) and last["epoch"] == 6
    for png in ("learning_curves.png", "confusion_matrix.png"):
        assert (run / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the returned model is the best checkpoint, and its numbers are the summary's
    assert all(torch.equal(best[k], v) for k, v in logreg_run.model.state_dict().items())
    assert summary["best_epoch"] == int(np.argmin([float(r["val_loss"]) for r in rows])) + 1
    val = evaluate_model(logreg_run.model, digits.x_val, digits.y_val, digits.mean, digits.std)
    assert val["accuracy"] == pytest.approx(summary["val_accuracy"])


class _Killed(Exception):
    pass


def _kill_after(epoch):
    def on_epoch(row):
        if row["epoch"] == epoch:
            raise _Killed
    return on_epoch


def test_resume_ends_where_an_uninterrupted_run_ends(digits, tmp_path):
    small = dataclasses.replace(digits, x_train=digits.x_train[:300], y_train=digits.y_train[:300])
    base = dict(data="digits", model="mlp", epochs=3, optimizer="sgd", lr=0.05,
                schedule="onecycle", augment=["shift:1", "noise:0.02"], seed=7,
                model_cfg={"hidden": [32], "dropout": 0.2}, batch_size=32)
    whole = fit(TrainConfig(**base, out=str(tmp_path / "whole")), small)
    broken = TrainConfig(**base, out=str(tmp_path / "broken"))
    with pytest.raises(_Killed):
        fit(broken, small, on_epoch=_kill_after(1))
    assert torch.load(tmp_path / "broken" / "last.pt", weights_only=True)["epoch"] == 1
    assert not (tmp_path / "broken" / "summary.json").exists()
    lines = []
    resumed = fit(broken, small, log=lines.append)
    assert any("resuming" in line and "after epoch 1" in line for line in lines)
    a = torch.load(tmp_path / "whole" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "broken" / "last.pt", weights_only=True)
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    strip = lambda h: [{k: v for k, v in row.items() if k != "seconds"} for row in h]  # noqa: E731
    assert strip(whole.history) == strip(resumed.history)
    assert resumed.summary["test_accuracy"] == whole.summary["test_accuracy"]


def test_early_stopping_restores_the_best_epoch(digits, tmp_path):
    small = dataclasses.replace(digits, x_train=digits.x_train[:300], y_train=digits.y_train[:300])
    # SGD at lr 0.5 overshoots: the validation loss rises from epoch 2 on
    config = TrainConfig(data="digits", model="mlp", epochs=15, patience=2, optimizer="sgd",
                         lr=0.5, out=str(tmp_path / "r"))
    result = fit(config, small)
    s = result.summary
    assert s["stopped_early"] and s["epochs"] == s["best_epoch"] + 2 < 15
    assert s["val_loss"] == pytest.approx(min(r["val_loss"] for r in result.history), abs=1e-5)
    # the same command again finds the run finished: nothing more is trained
    again = fit(config, small)
    assert again.history == result.history and again.summary["test_accuracy"] == s["test_accuracy"]


def test_two_classes_report_precision_recall_f1_auc(digits, tmp_path):
    keep = {k: np.isin(getattr(digits, f"y_{k}"), [3, 8]) for k in ("train", "val", "test")}
    parts = {}
    for k, mask in keep.items():
        parts[f"x_{k}"] = getattr(digits, f"x_{k}")[mask]
        parts[f"y_{k}"] = (getattr(digits, f"y_{k}")[mask] == 8).astype(np.int64)
    binary = dataclasses.replace(digits, classes=["three", "eight"], **parts)
    s = fit(TrainConfig(data="3v8", model="logreg", epochs=3, out=str(tmp_path / "r")), binary).summary
    assert s["num_classes"] == 2
    for key in ("precision", "recall", "f1", "roc_auc"):
        assert 0.5 < s[key] <= 1.0


def test_freeze_then_unfreeze(digits, tmp_path):
    small = dataclasses.replace(digits, x_train=digits.x_train[:200], y_train=digits.y_train[:200])
    start = fit(TrainConfig(data="digits", model="mlp", epochs=1, model_cfg={"hidden": [16]},
                            out=str(tmp_path / "pre")), small)
    weights = str(tmp_path / "pre" / "best.pt")
    common = dict(data="digits", model="mlp", model_cfg={"hidden": [16]}, weights=weights)
    frozen = fit(TrainConfig(**common, epochs=2, freeze=True, out=str(tmp_path / "frozen")), small)
    assert torch.equal(frozen.model[1].weight, start.model[1].weight)  # backbone untouched
    assert frozen.summary["trainable_params"] == 16 * 10 + 10
    thawed = fit(TrainConfig(**common, epochs=2, unfreeze_after=1, out=str(tmp_path / "thawed")), small)
    assert not torch.equal(thawed.model[1].weight, start.model[1].weight)
    assert thawed.summary["trainable_params"] == thawed.summary["params"]


def test_nll_loss_is_cross_entropy(digits, tmp_path):
    small = dataclasses.replace(digits, x_train=digits.x_train[:200], y_train=digits.y_train[:200])
    runs = [fit(TrainConfig(data="digits", model="logreg", epochs=1, loss=loss,
                            out=str(tmp_path / loss)), small) for loss in ("cross_entropy", "nll")]
    assert runs[0].history[0]["train_loss"] == pytest.approx(runs[1].history[0]["train_loss"], rel=1e-5)


def test_fit_leaves_global_torch_state_alone(digits, tmp_path):
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    small = dataclasses.replace(digits, x_train=digits.x_train[:100], y_train=digits.y_train[:100])
    fit(TrainConfig(data="digits", model="logreg", epochs=1, threads=1, out=str(tmp_path / "r")), small)
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.rand(3), expected)


def test_refusals_leave_no_run_folder(digits, tmp_path):
    with pytest.raises(UsageError, match="too small"):
        fit(TrainConfig(data="digits", model="small-cnn", out=str(tmp_path / "a")), digits)
    assert not (tmp_path / "a").exists()
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        fit(TrainConfig(data="digits", model="logreg", out=str(a_file)), digits)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="does not hold a cnnlab run"):
        fit(TrainConfig(data="digits", model="logreg", out=str(other)), digits)


def test_a_different_config_may_not_reuse_a_run_folder(logreg_run, digits):
    config = TrainConfig(data="digits", model="logreg", epochs=6, lr=0.5, batch_size=32,
                         out=str(logreg_run.run_dir))
    with pytest.raises(UsageError, match=r"different run \(lr: 0.02 -> 0.5\)"):
        fit(config, digits)


def test_more_epochs_extend_a_finished_run_as_if_trained_at_once(digits, tmp_path):
    small = dataclasses.replace(digits, x_train=digits.x_train[:300], y_train=digits.y_train[:300])
    base = dict(data="digits", model="mlp", optimizer="sgd", lr=0.05, schedule="step", step_size=1,
                gamma=0.7, augment=["shift:1"], seed=3, model_cfg={"hidden": [32]}, batch_size=32)
    whole = fit(TrainConfig(**base, epochs=4, out=str(tmp_path / "whole")), small)
    fit(TrainConfig(**base, epochs=2, out=str(tmp_path / "grown")), small)
    lines = []
    grown = fit(TrainConfig(**base, epochs=4, out=str(tmp_path / "grown")), small, log=lines.append)
    assert any("resuming" in line and "after epoch 2" in line for line in lines)
    strip = lambda h: [{k: v for k, v in row.items() if k != "seconds"} for row in h]  # noqa: E731
    assert strip(grown.history) == strip(whole.history) and len(grown.history) == 4
    assert grown.summary["test_accuracy"] == whole.summary["test_accuracy"]
    # fewer epochs, or a schedule shaped by the epoch count (cosine), is another run
    with pytest.raises(UsageError, match=r"different run \(epochs: 4 -> 3\)"):
        fit(TrainConfig(**base, epochs=3, out=str(tmp_path / "grown")), small)
    cosine = {**base, "schedule": "cosine", "step_size": None}
    fit(TrainConfig(**cosine, epochs=1, out=str(tmp_path / "cos")), small)
    with pytest.raises(UsageError, match=r"epochs: 1 -> 2\) \(more epochs extend a run only .*cosine"):
        fit(TrainConfig(**cosine, epochs=2, out=str(tmp_path / "cos")), small)


def test_label_smoothing_loss_matches_the_formula():
    from cnnlab.train.loop import _loss_fn

    gen = torch.Generator().manual_seed(0)
    logits, y = torch.randn(7, 5, generator=gen), torch.randint(0, 5, (7,), generator=gen)
    e = 0.2
    logp = torch.log_softmax(logits, 1)
    target = torch.full((7, 5), e / 5).scatter_(1, y[:, None], 1 - e + e / 5)  # hand-made soft labels
    expected = -(target * logp).sum(1).mean()
    assert torch.allclose(_loss_fn("cross_entropy", e)(logits, y), expected, atol=1e-6)
    assert torch.allclose(_loss_fn("cross_entropy", 0.0)(logits, y), -logp[torch.arange(7), y].mean())


def test_label_smoothing_reaches_training_and_not_the_reported_losses(digits, tmp_path):
    small = dataclasses.replace(digits, x_train=digits.x_train[:256], y_train=digits.y_train[:256])
    plain, smooth = (fit(TrainConfig(data="digits", model="logreg", epochs=4, batch_size=16, lr=0.05,
                                     label_smoothing=e, out=str(tmp_path / str(e))), small)
                     for e in (0.0, 0.3))
    # the smoothed loss cannot fall below the entropy of the soft targets; the plain one can
    p = np.array([0.7 + 0.03] + [0.03] * 9)
    floor = float(-(p * np.log(p)).sum())  # ~1.23
    assert smooth.history[-1]["train_loss"] > floor > plain.history[-1]["train_loss"]
    # the reported validation loss is plain cross-entropy: a well-trained model's is far below it
    assert smooth.history[-1]["val_loss"] < floor
    config = yaml.safe_load((smooth.run_dir / "config.yaml").read_text())
    assert config["label_smoothing"] == 0.3


@pytest.mark.parametrize("value, loss, message", [
    (1.0, "cross_entropy", "must be in"), (-0.1, "cross_entropy", "must be in"),
    (float("nan"), "cross_entropy", "finite"), (0.1, "nll", "not nll")])
def test_label_smoothing_refusals(value, loss, message):
    with pytest.raises(UsageError, match=message):
        TrainConfig(data="digits", model="logreg", label_smoothing=value, loss=loss).validate()
