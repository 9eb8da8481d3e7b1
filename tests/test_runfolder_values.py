"""Values read back from a run are checked, not only their hashes (issue 23 item 3).

The hostile files here carry *valid* hashes (the sidecar is rewritten after the change,
as an editor that knows the format would), so only the checks of the values stand
between them and a wrong answer. Each case ends in one ``error:`` line, exit 2, naming
the file and the field or tensor.
"""

from __future__ import annotations

import io
import json

import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

from cnnlab.cli.main import main
from cnnlab.storage import RunFolder
from cnnlab.storage.hashes import write_recorded
from storage_helpers import copy_run

TRAIN = ["--data", "digits", "--model", "logreg", "--lr", "0.02", "--batch-size", "64",
         "--optimizer", "adam"]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    from cnnlab.data import load_dataset
    from cnnlab.train import TrainConfig, fit

    out = tmp_path_factory.mktemp("values") / "run"
    fit(TrainConfig(data="digits", model="logreg", epochs=2, lr=0.02, batch_size=64,
                    optimizer="adam", out=str(out)), load_dataset("digits"))
    return out


@pytest.fixture
def run(pristine, tmp_path):
    return copy_run(pristine, tmp_path / "run")


def refused(capsys, argv, *contains: str) -> str:
    capsys.readouterr()
    status = main([str(a) for a in argv])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("note:")]
    assert status == 2, (argv, status, err[-600:])
    assert len(lines) == 1 and lines[0].startswith("error: "), err[-800:]
    for word in contains:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def _flip_last_bytes(path):
    data = bytearray(path.read_bytes())
    data[-40:-36] = bytes(b ^ 0xFF for b in data[-40:-36])
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", ["best.pt", "best.safetensors"])
def test_train_weights_from_a_damaged_run_file_is_refused(run, tmp_path, capsys, name):
    """What ``evaluate`` refuses, ``train --weights RUN/best.pt`` refuses too."""
    _flip_last_bytes(run / name)
    refused(capsys, ["train", *TRAIN, "--epochs", "1", "--weights", run / name,
                     "--out", tmp_path / "new"], name, "does not match the SHA-256")
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("name", ["best.pt", "best.safetensors"])
def test_intact_run_weights_read_as_the_checkpoint(run, name):
    from cnnlab.models.pretrained import read_state_dict

    want = RunFolder(run).load_checkpoint("best.pt")
    got = read_state_dict(run / name)
    assert set(got) == set(want) and all(torch.equal(got[k], want[k]) for k in want)


def test_best_safetensors_has_a_sidecar_and_matches_best_pt(run):
    folder = RunFolder(run)
    assert (run / "best.safetensors.sha256").is_file()
    pt, st = folder.load_checkpoint("best.pt"), folder.load_safetensors("best.safetensors")
    assert set(pt) == set(st) and all(torch.equal(pt[k], st[k]) for k in pt)


@pytest.mark.parametrize("std", [[0.0], [1e-38], [-0.5], [5e-7]])
def test_model_json_with_a_std_under_the_floor_is_refused(run, capsys, std):
    meta = json.loads((run / "model.json").read_text())
    meta["std"] = std
    write_recorded(run / "model.json", json.dumps(meta))
    line = refused(capsys, ["evaluate", run, "--json"], "model.json", "std")
    assert "Infinity" not in line


def test_a_constant_channel_is_recorded_as_std_1(tmp_path):
    """cnnlab train writes the std it divided by: 1 for a constant channel (so the floor above
    never refuses a run of ours)."""
    import numpy as np

    from cnnlab.data import load_dataset
    from cnnlab.train import TrainConfig, fit

    ds = load_dataset("digits")
    x = ds.x_train.copy()
    x[:] = 0.25  # one channel, constant
    ds.x_train, ds.std = x, np.zeros(1, np.float32)
    fit(TrainConfig(data="digits", model="logreg", epochs=1, batch_size=64, out=str(tmp_path / "r")), ds)
    assert json.loads((tmp_path / "r" / "model.json").read_text())["std"] == [1.0]


@pytest.mark.parametrize("stopped,bad_epochs,patience", [(True, 0, 0), (True, 1, 0), (False, 1, 1),
                                                         (True, 0, 3)])
def test_last_pt_with_inconsistent_early_stopping_is_refused(run, capsys, stopped, bad_epochs, patience):
    if patience:  # the same run, trained with this patience (so the config matches)
        cfg = (run / "config.yaml").read_text().replace("patience: 0", f"patience: {patience}")
        write_recorded(run / "config.yaml", cfg)
    saved = torch.load(run / "last.pt", weights_only=True)
    saved["stopped"], saved["bad_epochs"] = stopped, bad_epochs
    saved["best_epoch"] = saved["epoch"] - bad_epochs
    buffer = io.BytesIO()
    torch.save(saved, buffer)
    write_recorded(run / "last.pt", buffer.getvalue())
    refused(capsys, ["train", *TRAIN, "--epochs", "3", "--patience", patience, "--out", run],
            "last.pt", "stopped")


# ------------------------------------------------------------------ drawn cases

DRAWN = settings(max_examples=15, derandomize=True, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@DRAWN
@given(std=st.one_of(st.floats(min_value=-1e6, max_value=9.99e-7, allow_nan=False),
                     st.sampled_from([0.0, -0.0, 5e-324, 1e-38, float("nan")])))
def test_drawn_std_under_the_floor_is_refused(pristine, tmp_path_factory, capsys, std):
    run = copy_run(pristine, tmp_path_factory.mktemp("std") / "run")
    meta = json.loads((run / "model.json").read_text())
    meta["std"] = [std]
    write_recorded(run / "model.json", json.dumps(meta))
    refused(capsys, ["evaluate", run, "--json"], "model.json", "std")


@DRAWN
@given(bad=st.one_of(st.sampled_from([float("nan"), float("inf"), float("-inf")]),
                     st.floats(min_value=1.0001e6, max_value=3e38), st.floats(min_value=-3e38, max_value=-1.0001e6)),
       which=st.integers(0, 10**6), where=st.integers(0, 10**6), suffix=st.sampled_from([".pt", ".safetensors"]))
def test_drawn_bad_weights_are_refused_naming_the_tensor(pristine, tmp_path_factory, capsys, bad, which, where, suffix):
    state = RunFolder(pristine).load_checkpoint("best.pt")
    names = sorted(k for k, v in state.items() if v.is_floating_point())
    name = names[which % len(names)]
    state[name].view(-1)[where % state[name].numel()] = bad
    folder = tmp_path_factory.mktemp("w")
    weights = folder / f"w{suffix}"
    if suffix == ".pt":
        torch.save(state, weights)
    else:
        from safetensors.torch import save_file

        save_file(state, str(weights))
    refused(capsys, ["train", *TRAIN, "--epochs", "1", "--weights", weights, "--out", folder / "new"],
            str(weights), name)
