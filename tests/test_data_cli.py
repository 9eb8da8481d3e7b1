"""`cnnlab data fetch|info` through the real console entry point (subprocess) and main()."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from cnnlab.cli.main import main


def _cli(*args, env=None):
    full_env = {**os.environ, "CNNLAB_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "cnnlab.cli.main", *args], capture_output=True,
                          text=True, env=full_env, timeout=120)


def _folder(root, sizes=None):
    for k, name in enumerate(["cloudy", "clear"]):
        (root / name).mkdir(parents=True)
        for i in range(5):
            size = (sizes or {}).get((k, i), (6, 6))
            Image.fromarray(np.full(size, 40 * k + i, np.uint8)).save(root / name / f"{i}.png")
    return root


def _is_error(done, *fragments):
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_info_digits_json_subprocess():
    done = _cli("data", "info", "digits", "--json", "--seed", "1")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout.strip().splitlines()[-1])
    assert info["image_shape"] == [1, 8, 8] and info["channels"] == 1 and info["num_classes"] == 10
    assert sum(s["count"] for s in info["splits"].values()) == 1797
    assert sum(info["splits"]["test"]["per_class"].values()) == info["splits"]["test"]["count"]
    assert 0 < info["mean"][0] < 1 and 0 < info["std"][0] < 1


def test_info_folder_text(tmp_path, capsys):
    root = _folder(tmp_path / "tiles")
    assert main(["data", "info", str(root), "--val-fraction", "0.2", "--test-fraction", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "images    1x6x6 (1 channel), 2 classes" in out
    assert "mean" in out and "training split only" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[7:] if line.strip()}
    assert rows["clear"] == ["3", "1", "1", "5"] and rows["all"] == ["6", "2", "2", "10"]


def test_missing_named_dataset_gives_fetch_command(tmp_path):
    _is_error(_cli("data", "info", "mnist", env={"CNNLAB_DATA": str(tmp_path)}),
              "not downloaded", "run: cnnlab data fetch mnist")


def test_fetch_corrupt_folder_offline_fails_cleanly(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]:
        (bad / name).write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x02ab")
    done = _cli("data", "fetch", "mnist", "--dir", str(bad), env={"CNNLAB_DATA": str(tmp_path / "c")})
    assert "is corrupt: sha256" in done.stdout
    _is_error(done, "could not get a verified copy of mnist", "--dir FOLDER")


def test_mixed_sizes_subprocess(tmp_path):
    root = _folder(tmp_path / "d", sizes={(1, 3): (9, 7)})
    _is_error(_cli("data", "info", str(root)), "differ in size", "3.png is 1x9x7", "--resize 6x6")
    done = _cli("data", "info", str(root), "--resize", "6x6", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["image_shape"] == [1, 6, 6]


@pytest.mark.parametrize("argv, fragments", [
    (["data", "fetch", "cifar10"], ["cannot fetch 'cifar10'", "cifar-10-batches-py"]),
    (["data", "info", "nowhere/"], ["neither a dataset name"]),
    (["data", "info", "digits", "--resize", "big"], ["expected HxW"]),
    (["data", "info", "digits", "--limit", "0"], ["--limit", ">= 1"]),
    (["data"], ["required: ACTION"]),
])
def test_usage_errors_in_process(argv, fragments, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    for fragment in fragments:
        assert fragment in err


def test_bad_inputs_in_process(tmp_path, capsys):
    one = tmp_path / "one" / "only"
    one.mkdir(parents=True)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(one / "a.png")
    (tmp_path / "rows.csv").write_text("a.png,x\nmissing.png,y\n")
    (tmp_path / "a.png").write_bytes(b"broken")
    cases = [
        ([str(tmp_path / "one")], "only one class (only)"),
        ([str(tmp_path / "rows.csv")], "1 of 2 paths in"),
    ]
    for args, fragment in cases:
        assert main(["data", "info", *args]) == 2
        assert fragment in capsys.readouterr().err
