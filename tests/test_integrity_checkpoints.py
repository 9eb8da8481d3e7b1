"""Run files carry their SHA-256: altered checkpoints, configs and summaries are refused.

The issue's reproductions: 4 flipped bytes in last.pt's weights, flipped optimizer
bytes, a tampered epoch counter, best.pt copied over last.pt; then older runs (no
hashes) load with a note, a kill inside a write never leaves a pair that fails, and a
deleted last.pt resumes from best.pt.
"""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest
import torch

from cnnlab.cli.main import main
from cnnlab.errors import UsageError
from cnnlab.train import TrainConfig, fit, load_run
from cnnlab.storage.hashes import (IntegrityError, read_verified, sha256_hex, sidecar,
                                    write_recorded)
from cnnlab.storage import RECORDED_FILES, RunFolder

EPOCHS = 2


def _config(out, epochs=EPOCHS):
    return TrainConfig(data="digits", model="logreg", epochs=epochs, lr=0.02, batch_size=64,
                       optimizer="adam", out=str(out))


@pytest.fixture(scope="module")
def pristine(digits, tmp_path_factory):
    """A finished 2-epoch run, copied by each test before it is damaged."""
    return fit(_config(tmp_path_factory.mktemp("integrity") / "run"), digits).run_dir


@pytest.fixture
def run(pristine, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(pristine, copy)
    cfg = (copy / "config.yaml").read_text().replace(str(pristine), str(copy))
    write_recorded(copy / "config.yaml", cfg)  # the copy's own path, hash kept
    return copy


def _flip(path, offset, n=4):
    data = bytearray(path.read_bytes())
    data[offset:offset + n] = bytes(b ^ 0xFF for b in data[offset:offset + n])
    path.write_bytes(bytes(data))


def _tensor_offset(path, key_path):
    """Byte offset of a tensor's storage inside a torch.save zip (found by its values)."""
    state = torch.load(path, weights_only=True)
    t = state
    for k in key_path:
        if k is None:  # the first entry (torch.optim keeps a dict of states, cnnlab's own a list)
            t = t[0] if isinstance(t, list) else t[next(iter(t))]
        else:
            t = t[k]
    needle = t.contiguous().view(-1)[:4].numpy().tobytes()
    offset = path.read_bytes().find(needle)
    assert offset > 0
    return offset


def _resume(run, digits, epochs=EPOCHS + 1):
    return fit(_config(run, epochs), digits)


def test_every_run_file_has_its_hash(run):
    assert RunFolder(run).verify() == []
    for name in RECORDED_FILES:
        path = run / name
        line = sidecar(path).read_text()
        assert line == f"{sha256_hex(path.read_bytes())}  {name}\n"  # sha256sum format


def test_flipped_weight_bytes_in_last_pt_are_refused(run, digits):
    _flip(run / "last.pt", _tensor_offset(run / "last.pt", ["model", None]))
    with pytest.raises(IntegrityError, match=r"last\.pt does not match the SHA-256.*resumes from best\.pt"):
        _resume(run, digits)


def test_flipped_optimizer_bytes_are_refused(run, digits):
    saved = torch.load(run / "last.pt", weights_only=True)
    states = saved["optimizer"]["state"]  # a list by position (cnnlab's optimizers) or a dict
    slot = 0 if isinstance(states, list) else next(iter(states))
    _flip(run / "last.pt", _tensor_offset(run / "last.pt", ["optimizer", "state", slot, "exp_avg"]))
    with pytest.raises(IntegrityError, match=r"last\.pt does not match"):
        _resume(run, digits)


def test_tampered_epoch_counter_is_refused(run, digits):
    saved = torch.load(run / "last.pt", weights_only=True)
    saved["epoch"] = 1
    torch.save(saved, run / "last.pt")
    with pytest.raises(IntegrityError, match="changed or damaged"):
        _resume(run, digits)


def test_best_copied_over_last_is_refused_from_the_cli(run, capsys):
    shutil.copy(run / "best.pt", run / "last.pt")
    status = main(["train", "--data", "digits", "--model", "logreg", "--epochs", "3", "--lr",
                   "0.02", "--out", str(run)])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and err.startswith("error: ")
    assert f"{run}/last.pt does not match" in err


def test_copied_sidecar_names_the_other_file(run, digits):
    shutil.copy(run / "best.pt", run / "last.pt")
    (run / "last.pt.sha256").write_text((run / "best.pt.sha256").read_text())
    with pytest.raises(IntegrityError, match="records the hash of 'best.pt', not of 'last.pt'"):
        _resume(run, digits)


@pytest.mark.parametrize("name", ["best.pt", "config.yaml", "model.json"])
def test_evaluate_and_explain_refuse_an_altered_file(run, name, capsys):
    _flip(run / name, 20, 1)
    with pytest.raises(IntegrityError, match=name):
        RunFolder(run).verify()
    for argv in (["evaluate", str(run)], ["explain", str(run), "--what", "coef"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {run / name} ") and err.count("\n") == 1, err


def test_altered_summary_is_refused_by_explain(run, capsys):
    summary = json.loads((run / "summary.json").read_text())
    summary["test_accuracy"] = 1.0
    (run / "summary.json").write_text(json.dumps(summary))
    assert main(["explain", str(run), "--what", "coef"]) == 2
    assert f"{run / 'summary.json'} does not match" in capsys.readouterr().err


def test_missing_sidecar_in_a_run_that_keeps_them_is_refused(run):
    (run / "best.pt.sha256").unlink()
    with pytest.raises(IntegrityError, match=r"best\.pt has no recorded hash"):
        load_run(run)


def _make_legacy(run):
    for side in run.glob("*.sha256"):
        side.unlink()


def test_a_run_older_than_the_hashes_loads_with_a_note(run, capsys):
    _make_legacy(run)
    assert len(RunFolder(run).verify()) == len(RECORDED_FILES)
    assert load_run(run).notes and "cannot be verified" in load_run(run).notes[0]
    assert main(["evaluate", str(run), "--json"]) == 0
    out, err = capsys.readouterr()
    assert "note: " in err and "cannot be verified" in err
    assert json.loads(out)["accuracy"] > 0.5


def test_resuming_an_older_run_records_its_hashes(run, digits):
    _make_legacy(run)
    notes = []
    result = fit(_config(run, EPOCHS + 1), digits, log=notes.append)
    assert any("cannot be verified" in n for n in notes)
    assert result.summary["epochs"] == EPOCHS + 1
    for name in RECORDED_FILES:
        read_verified(run / name)  # every file checked from now on


def test_older_run_with_a_float_epoch_counter_is_refused(run, digits):
    _make_legacy(run)  # no hash to catch it: the structure check does
    saved = torch.load(run / "last.pt", weights_only=True)
    saved["epoch"] = 1.5
    torch.save(saved, run / "last.pt")
    with pytest.raises(UsageError, match=r"last\.pt has the epoch counter 1\.5"):
        _resume(run, digits)


def test_older_run_with_best_copied_over_last_says_so(run, digits):
    _make_legacy(run)
    shutil.copy(run / "best.pt", run / "last.pt")
    with pytest.raises(UsageError, match="holds a model state dict, not a resumable checkpoint"):
        _resume(run, digits)


def test_a_kill_inside_a_write_leaves_a_pair_that_verifies(tmp_path, monkeypatch):
    """Steps of write_recorded: sidecar lists old+new, file replaced, sidecar lists new."""
    import cnnlab.storage.hashes as integrity

    path = tmp_path / "last.pt"
    write_recorded(path, b"old")
    seen = []
    real = integrity._replace

    def spy(target, data):
        real(target, data)
        seen.append((path.read_bytes(), read_verified(path)))  # verifies after every step

    monkeypatch.setattr(integrity, "_replace", spy)
    write_recorded(path, b"new")
    assert [s[0] for s in seen] == [b"old", b"new", b"new"]
    assert sidecar(path).read_text().count("\n") == 1
    path.write_bytes(b"old")  # the old content is no longer listed once the write is done
    with pytest.raises(IntegrityError):
        read_verified(path)


def test_deleted_last_pt_resumes_from_best(run, digits):
    rows = list(csv.DictReader(io.StringIO((run / "metrics.csv").read_text())))
    best = 1 + min(range(len(rows)), key=lambda i: float(rows[i]["val_loss"]))
    (run / "last.pt").unlink()
    (run / "last.pt.sha256").unlink()
    notes = []
    result = fit(_config(run, EPOCHS + 1), digits, log=notes.append)
    assert any(f"going on from best.pt after epoch {best}" in n for n in notes)
    assert [r["epoch"] for r in result.history] == list(range(1, EPOCHS + 2))
    assert result.history[:best] == [
        {k: (int(v) if k == "epoch" else float(v)) for k, v in r.items()} for r in rows[:best]]
    read_verified(run / "last.pt")
