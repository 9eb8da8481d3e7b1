"""The data a config names, read on a thread while torch is imported
(cnnlab.train.config_data): the same run as reading it in fit, errors reported where the
run asks for the data, and no torch in the thread."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

from cnnlab.cli.main import main
from cnnlab.train import TrainConfig, fit
from cnnlab.train.config_data import load_config_dataset, load_in_background


def test_data_read_in_background_trains_the_same_run(tmp_path):
    base = dict(data="digits", model="cnn3", epochs=1, batch_size=64, limit=300, threads=1)
    config = TrainConfig(**base, out=str(tmp_path / "background"))
    ahead = load_in_background(config)
    background = fit(config, ahead)
    plain = fit(TrainConfig(**base, out=str(tmp_path / "plain")))
    assert ahead.done() and len(ahead.result().y_train) == len(load_config_dataset(config).y_train)
    for a, b in zip(background.model.state_dict().values(), plain.model.state_dict().values()):
        assert torch.equal(a, b)
    assert background.summary["test_accuracy"] == plain.summary["test_accuracy"]


def test_a_data_error_is_one_error_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "no-such-folder"), "--model", "mlp", "--epochs", "1",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no-such-folder" in err and err.count("\n") == 1
    assert not out.exists()


def test_a_bad_setting_is_reported_before_the_data_read_ahead(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "no-such-folder"), "--model", "no-such-model",
                 "--out", str(tmp_path / "run")]) == 2
    assert "no-such-model" in capsys.readouterr().err  # validate() first, as before


def test_reading_in_background_imports_no_torch():
    code = ("import sys; from cnnlab.train import TrainConfig; "
            "from cnnlab.train.config_data import load_in_background; "
            "ds = load_in_background(TrainConfig(data='digits', model='mlp')).result(); "
            "print(len(ds.y_train), 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(Path(__file__).parents[1]), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    count, torch_loaded = done.stdout.split()
    assert int(count) > 0 and torch_loaded == "False"
