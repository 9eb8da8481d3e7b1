"""`cnnlab compare` end to end: on sklearn digits blown up to 28x28 (fast), and on real MNIST (slow)."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest

from cnnlab.cli.main import main
from cnnlab.compare import CompareConfig, run_compare

JSON_KEYS = {"name", "params", "val_accuracy", "test_accuracy", "shifted_val_accuracy", "train_seconds"}


@pytest.fixture(scope="module")
def digits28():
    """sklearn's 8x8 digits, each pixel 3x3, padded to 28x28 (MNIST's size), 600 examples."""
    from sklearn.datasets import load_digits

    from cnnlab.data import Dataset
    from cnnlab.data.split import channel_stats

    bunch = load_digits()
    x = np.kron(bunch.images / 16.0, np.ones((3, 3)))  # (1797, 24, 24)
    x = np.pad(x, ((0, 0), (2, 2), (2, 2))).astype(np.float32)[:, None]  # (1797, 1, 28, 28)
    y = bunch.target.astype(np.int64)
    tr, va, te = slice(0, 400), slice(400, 500), slice(500, 600)
    mean, std = channel_stats(x[tr])
    return Dataset("digits28", x[tr], y[tr], x[va], y[va], x[te], y[te], [str(i) for i in range(10)],
                   mean, std, "sklearn digits, upsampled")


@pytest.fixture(scope="module")
def compared(digits28, tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "run"
    config = CompareConfig(data="digits28", out=str(out), epochs=2, device="cpu", seed=3)
    return run_compare(config, digits28, log=lambda _m: None)


def test_every_model_has_a_row_with_sane_numbers(compared):
    names = [m.name for m in compared.models]
    assert names == ["logreg", "mlp", "small-cnn", "mlp-budget"]
    for m in compared.models:
        for acc in (m.val_accuracy, m.test_accuracy, m.shifted_val_accuracy):
            assert 0.0 <= acc <= 1.0
        assert m.train_seconds >= 0 and m.train_examples == 400
    by = {m.name: m for m in compared.models}
    assert by["logreg"].params == 784 * 10 + 10
    assert by["mlp"].params == 242762 and by["small-cnn"].params == 21840
    assert by["mlp-budget"].hidden == [27, 14, 7]
    assert abs(by["mlp-budget"].params - 21840) <= 0.1 * 21840
    assert by["logreg"].test_accuracy > 0.7  # 400 easy digits: far above chance (0.1)
    assert len(by["small-cnn"].history) == 2


def test_parameter_counts_match_the_saved_torch_models(compared):
    import torch

    for m in compared.models[1:]:
        state = torch.load(f"{m.run_dir}/best.pt", weights_only=True)  # a plain state dict
        assert sum(v.numel() for v in state.values()) == m.params, m.name


def test_logreg_shifted_accuracy_recomputed_independently(compared, digits28):
    """Refit sklearn directly and shift the validation images with torchvision-style offsets."""
    from sklearn.linear_model import LogisticRegression

    from cnnlab.train.shift import shift_batch

    ds = digits28
    rng = np.random.default_rng(3)  # the comparison's seed
    dx = np.round(rng.uniform(-2.8, 2.8, len(ds.y_val))).astype(int)
    x_shift = shift_batch(ds.x_val, dx, np.zeros_like(dx))

    def features(x):
        return ((x - ds.mean[0]) / ds.std[0]).reshape(len(x), -1)

    model = LogisticRegression(C=compared.config.logreg_c, max_iter=100).fit(features(ds.x_train), ds.y_train)
    row = compared.models[0]
    assert row.val_accuracy == pytest.approx(np.mean(model.predict(features(ds.x_val)) == ds.y_val), abs=0.02)
    assert row.shifted_val_accuracy == pytest.approx(np.mean(model.predict(features(x_shift)) == ds.y_val), abs=0.02)
    assert row.shifted_val_accuracy < row.val_accuracy  # a linear model is tied to pixel positions


def test_files_and_self_contained_report(compared):
    run = compared.run_dir
    for name in ("report.html", "results.json", "results.csv", "table.md", "config.yaml",
                 "figures/logreg_coefficients.png", "figures/learning_curves.png",
                 "figures/accuracy_vs_shift.png", "figures/shifted_examples.png"):
        assert (run / name).is_file(), name
    page = (run / "report.html").read_text(encoding="utf-8")
    srcs = re.findall(r'src="([^"]*)"', page)
    assert len(srcs) == 4 and all(s.startswith("data:image/png;base64,") for s in srcs)
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in srcs}
    assert embedded == {p.read_bytes() for p in compared.figures.values()}
    assert "href=" not in page and "<script" not in page
    for m in compared.models:
        assert f"<td>{m.name}</td>" in page
    saved = json.loads((run / "results.json").read_text())
    assert saved["models"] == compared.as_json()["models"]
    assert (run / "table.md").read_text().count("\n") == 2 + len(compared.models)


def test_json_shape(compared):
    out = json.loads(json.dumps(compared.as_json()))
    assert set(out) == {"data", "models", "report", "run_dir", "total_seconds"}
    assert out["data"] == "digits28" and out["report"].endswith("report.html")
    for row in out["models"]:
        assert JSON_KEYS <= set(row)


def test_cli_json_last_line_and_table(tmp_path, capsys):
    out = tmp_path / "run"
    status = main(["compare", "--data", "digits", "--models", "logreg,mlp", "--limit", "200", "--epochs", "1",
                   "--device", "cpu", "--out", str(out), "--json"])
    assert status == 0
    stdout = capsys.readouterr().out
    lines = stdout.strip().splitlines()
    result = json.loads(lines[-1])
    assert result["data"] == "digits" and [m["name"] for m in result["models"]] == ["logreg", "mlp"]
    assert result["run_dir"] == str(out) and (out / "report.html").is_file()
    assert lines[0].split()[:4] == ["model", "params", "train", "acc"]
    assert result["models"][0]["params"] == 650  # 64 pixels x 10 classes + 10 biases

    # the same folder with other settings is refused before anything trains
    status = main(["compare", "--data", "digits", "--models", "logreg,mlp", "--limit", "200", "--epochs", "2",
                   "--device", "cpu", "--out", str(out)])
    assert status == 2 and "already holds a different comparison (epochs: 1 -> 2)" in capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [
    (["--models", "logreg,resnet"], "unknown model"),
    (["--models", "small-cnn"], "compare the others with --models logreg,mlp"),
    (["--epochs", "0"], ">= 1"),
    (["--limit", "x"], "whole number"),
])
def test_cli_user_mistakes_are_one_error_line(argv, message, tmp_path, capsys):
    status = main(["compare", "--data", "digits", "--out", str(tmp_path / "r"), *argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and err[0].startswith("error:") and message in err[0]
    assert not (tmp_path / "r").exists()


def test_cli_refuses_an_unrelated_non_empty_folder(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    status = main(["compare", "--data", "digits", "--models", "logreg", "--out", str(tmp_path)])
    assert status == 2 and "holds no comparison" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


@pytest.mark.slow
def test_real_mnist_default_settings(tmp_path, capsys):
    """The README's main job on real MNIST, default settings (~3-4 minutes on 2 cores)."""
    status = main(["compare", "--data", "mnist", "--out", str(tmp_path / "run"), "--json"])
    assert status == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    by = {m["name"]: m for m in result["models"]}
    assert by["small-cnn"]["params"] == 21840 and by["mlp"]["params"] == 242762
    assert by["logreg"]["test_accuracy"] > 0.88
    assert by["mlp"]["test_accuracy"] > 0.85
    assert by["small-cnn"]["test_accuracy"] > 0.95
    drop = {n: m["val_accuracy"] - m["shifted_val_accuracy"] for n, m in by.items()}
    assert drop["small-cnn"] < min(drop["logreg"], drop["mlp"], drop["mlp-budget"])


def test_logreg_alongside_the_torch_models_gives_the_sequential_result(compared, digits28, tmp_path,
                                                                       monkeypatch):
    """On 2+ cores logistic regression runs on its own thread while the torch models train;
    forced back to one after the other, every number is the same and the order is kept."""
    import cnnlab.compare.compare as cmp

    assert cmp._logreg_alongside(compared.config, cmp._contenders(compared.config)) == \
        (cmp.available_cores() >= compared.config.threads + 1)
    monkeypatch.setattr(cmp, "_logreg_alongside", lambda config, contenders: False)
    config = CompareConfig(data="digits28", out=str(tmp_path / "seq"), epochs=2, device="cpu", seed=3,
                           threads=compared.config.threads)
    sequential = run_compare(config, digits28, log=lambda _m: None)
    assert [m.name for m in sequential.models] == [m.name for m in compared.models]
    for a, b in zip(compared.models, sequential.models):
        assert (a.val_accuracy, a.test_accuracy, a.shifted_val_accuracy, a.params) == \
            (b.val_accuracy, b.test_accuracy, b.shifted_val_accuracy, b.params), a.name


def test_logreg_runs_alongside_only_with_a_free_core_and_torch_models(monkeypatch):
    import cnnlab.compare.compare as cmp

    contenders = cmp._contenders(CompareConfig(data="digits"))
    only_logreg = cmp._contenders(CompareConfig(data="digits", models=["logreg"]))
    monkeypatch.setattr(cmp, "available_cores", lambda: 2)
    assert cmp._logreg_alongside(CompareConfig(data="digits", threads=1), contenders)
    assert not cmp._logreg_alongside(CompareConfig(data="digits", threads=2), contenders)
    assert not cmp._logreg_alongside(CompareConfig(data="digits", threads=1), only_logreg)
    monkeypatch.setattr(cmp, "available_cores", lambda: 1)
    assert not cmp._logreg_alongside(CompareConfig(data="digits", threads=1), contenders)
