"""Regression tests from a practitioner's review of the practical half (train, evaluate).

Each test is a bug that was found by using the commands as a user would; tiny image
folders keep them fast.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnnlab.cli.main import main


def _folder(root, counts, sizes=None, seed=0):
    """An image folder: one sub-folder per class with ``counts[name]`` random PNGs."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for name, n in counts.items():
        (root / name).mkdir(parents=True)
        for i in range(n):
            h, w = (sizes or {}).get(name, (12, 12)) if i % 2 else (12, 12)
            pixels = (rng.random((h, w)) * 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


def _strict_json(text: str):
    """json.loads that refuses NaN/Infinity (not JSON, and refused by most parsers)."""
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_run_trained_on_a_relative_folder_evaluates_from_elsewhere(tmp_path, monkeypatch, capsys):
    # config.yaml kept "--data imgs" as given, so evaluate (and explain) run from any
    # other folder said 'imgs' is neither a dataset name nor an existing folder.
    work = tmp_path / "work"
    _folder(work / "imgs", {"off": 10, "on": 14})
    monkeypatch.chdir(work)
    assert main(["train", "--data", "imgs", "--model", "logreg", "--epochs", "1",
                 "--out", "run", "--json", "--threads", "1"]) == 0
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", str(work / "run"), "--json"]) == 0, capsys.readouterr().err
    result = _strict_json(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["n"] > 0
    # the same command again, from the same folder, still resumes the same run
    monkeypatch.chdir(work)
    assert main(["train", "--data", "imgs", "--model", "logreg", "--epochs", "1",
                 "--out", "run", "--json", "--threads", "1"]) == 0, capsys.readouterr().err


def test_evaluate_json_stays_json_when_a_split_has_one_class(tmp_path, monkeypatch, capsys):
    # 4 + 30 images: the stratified validation split holds no 'a', so ROC-AUC is
    # undefined; `evaluate --json` printed a bare NaN, which is not JSON.
    _folder(tmp_path / "tiny", {"a": 4, "b": 30})
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--data", "tiny", "--model", "logreg", "--epochs", "1",
                 "--out", "run", "--json", "--threads", "1"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "run", "--split", "val", "--json"]) == 0
    result = _strict_json(capsys.readouterr().out.strip())
    assert set(result["confusion"][0]) == {0}, "the validation split was expected to lack class a"
    assert result["roc_auc"] is None
    assert main(["evaluate", "run", "--split", "val"]) == 0  # the text form too


def test_train_resizes_a_folder_of_mixed_sizes(tmp_path, monkeypatch, capsys):
    # The data error says "ask for it with --resize 10x10", but train had no --resize.
    _folder(tmp_path / "mixed", {"a": 8, "b": 8}, sizes={"a": (14, 10)})
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--data", "mixed", "--model", "mlp", "--epochs", "1", "--out", "bad",
                 "--threads", "1"]) == 2
    assert "--resize" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
    assert main(["train", "--data", "mixed", "--model", "mlp", "--epochs", "1", "--out", "run",
                 "--resize", "12x12", "--json", "--threads", "1"]) == 0
    summary = _strict_json(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["epochs"] == 1
    # evaluate reads the run's config, resize included
    assert main(["evaluate", "run", "--json"]) == 0, capsys.readouterr().err
    assert _strict_json(capsys.readouterr().out)["n"] == summary["n_test"]
    assert main(["train", "--data", "mixed", "--model", "mlp", "--epochs", "1", "--out", "r2",
                 "--resize", "12xq"]) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_train_skips_and_counts_corrupt_images_or_refuses_them_with_strict(tmp_path, capsys):
    # issue 5: corrupt images are skipped and counted, or refused under --strict,
    # and a refused run leaves no run folder behind.
    root = _folder(tmp_path / "imgs", {"off": 10, "on": 10})
    (root / "on" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    args = ["train", "--data", str(root), "--model", "logreg", "--epochs", "1", "--threads", "1"]
    assert main(args + ["--out", str(tmp_path / "strict"), "--strict"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: corrupt file ") and "broken.png" in err
    assert not (tmp_path / "strict").exists()
    assert main(args + ["--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "data: skipped 1 unreadable files" in out
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["skipped_files"] == 1


def test_positive_class_names_the_class_of_the_two_class_metrics(tmp_path, capsys):
    root = _folder(tmp_path / "imgs", {"off": 14, "on": 6})
    args = ["train", "--data", str(root), "--model", "logreg", "--epochs", "1", "--threads", "1", "--json"]
    assert main(args + ["--out", str(tmp_path / "bad"), "--positive-class", "running"]) == 2
    err = capsys.readouterr().err
    assert "'running' is not a class" in err and "'off' or 'on'" in err
    assert not (tmp_path / "bad").exists()
    assert main(args + ["--out", str(tmp_path / "on")]) == 0
    default = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert default["positive_class"] == "on"
    assert main(args + ["--out", str(tmp_path / "off"), "--positive-class", "off"]) == 0
    off = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert off["positive_class"] == "off" and off["test_accuracy"] == default["test_accuracy"]
    assert main(["evaluate", str(tmp_path / "off"), "--json"]) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again["positive_class"] == "off" and again["f1"] == pytest.approx(off["f1"])
