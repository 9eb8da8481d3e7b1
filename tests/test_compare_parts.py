"""The pieces of `cnnlab compare`: MLP sizing, the scikit-learn baseline, example picking."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cnnlab.compare.baselines import fit_logreg, logreg_accuracy, logreg_coefficient_images, logreg_predict
from cnnlab.compare.mlp_budget import mlp_hidden_for_budget, mlp_params


def _torch_mlp(in_features, hidden, classes) -> nn.Module:
    widths = [in_features, *hidden, classes]
    layers = []
    for a, b in zip(widths, widths[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


@pytest.mark.parametrize("in_features,hidden,classes", [
    (784, [256, 128, 64], 10), (784, [27, 14, 7], 10), (64, [], 10), (3072, [100], 2), (1, [1, 1], 1),
])
def test_mlp_params_matches_torch(in_features, hidden, classes):
    model = _torch_mlp(in_features, hidden, classes)
    assert mlp_params(in_features, hidden, classes) == sum(p.numel() for p in model.parameters())


def test_mlp_params_matches_the_registry_mlp():
    from cnnlab.models import get_model

    model = get_model("mlp", 1, 10, (28, 28), hidden=[27, 14, 7])
    assert mlp_params(784, [27, 14, 7], 10) == sum(p.numel() for p in model.parameters()) == 21772


def test_small_cnn_budget_and_the_mlp_sized_to_it():
    from cnnlab.models import get_model

    budget = sum(p.numel() for p in get_model("small-cnn", 1, 10, (28, 28)).parameters())
    assert budget == 21840
    hidden = mlp_hidden_for_budget(budget, 784, 10)
    assert hidden == [27, 14, 7]
    params = sum(p.numel() for p in _torch_mlp(784, hidden, 10).parameters())
    assert abs(params - budget) <= 0.1 * budget


@pytest.mark.parametrize("budget,in_features,classes,depth", [
    (21840, 784, 10, 3), (21840, 784, 10, 1), (5000, 64, 10, 2), (100000, 3072, 10, 3), (2000, 64, 3, 3),
])
def test_budget_search_is_the_closest_of_its_family(budget, in_features, classes, depth):
    hidden = mlp_hidden_for_budget(budget, in_features, classes, depth=depth)
    assert len(hidden) == depth
    assert all(a >= b for a, b in zip(hidden, hidden[1:]))  # halving shape
    best = min(abs(mlp_params(in_features, [max(1, int(w * 0.5**i + 0.5)) for i in range(depth)], classes) - budget)
               for w in range(1, budget // in_features + 50))
    assert abs(mlp_params(in_features, hidden, classes) - budget) == best


def test_budget_too_small_is_refused():
    with pytest.raises(ValueError, match="fits in"):
        mlp_hidden_for_budget(500, 784, 10)


# --- logistic regression ------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8)
    return x, bunch.target.astype(np.int64)


def test_logreg_agrees_with_sklearn_on_hand_normalised_features(digits):
    from sklearn.linear_model import LogisticRegression

    x, y = digits
    mean, std = np.array([x[:1000].mean()]), np.array([x[:1000].std()])
    fitted = fit_logreg(x[:1000], y[:1000], mean, std, max_iter=200)
    flat = ((x - mean[0]) / std[0]).reshape(len(x), -1)
    reference = LogisticRegression(max_iter=200).fit(flat[:1000], y[:1000])
    agree = np.mean(reference.predict(flat[1000:]) == logreg_predict(fitted, x[1000:]))
    assert agree > 0.99
    assert fitted.params == 64 * 10 + 10 == reference.coef_.size + reference.intercept_.size
    assert logreg_accuracy(fitted, x[1000:], y[1000:]) > 0.9
    images = logreg_coefficient_images(fitted)
    assert images.shape == (10, 8, 8)
    np.testing.assert_allclose(images, fitted.model.coef_.reshape(10, 8, 8))


def test_logreg_two_classes_gives_opposite_pictures(digits):
    x, y = digits
    keep = y < 2
    fitted = fit_logreg(x[keep], y[keep], np.array([0.3]), np.array([0.4]))
    images = logreg_coefficient_images(fitted)
    assert images.shape == (2, 8, 8) and fitted.params == 65
    np.testing.assert_allclose(images[0], -images[1])
    np.testing.assert_allclose(images[1] - images[0], fitted.model.coef_.reshape(8, 8))


def test_logreg_reports_an_unconverged_solver(digits):
    x, y = digits
    fitted = fit_logreg(x[:300], y[:300], np.array([0.3]), np.array([0.4]), max_iter=2)
    assert not fitted.converged and fitted.n_iter == 2


def test_logreg_refuses_other_image_shapes(digits):
    x, y = digits
    fitted = fit_logreg(x[:100], y[:100], np.array([0.3]), np.array([0.4]), max_iter=5)
    with pytest.raises(ValueError, match="fitted on"):
        logreg_predict(fitted, np.zeros((2, 1, 9, 8), np.float32))


def test_logreg_multichannel_pictures_are_channel_means():
    rng = np.random.default_rng(0)
    x = rng.random((60, 3, 4, 4), dtype=np.float32)
    y = np.arange(60) % 3
    fitted = fit_logreg(x, y, np.full(3, 0.5), np.full(3, 0.3), max_iter=20)
    assert fitted.params == 3 * 48 + 3
    np.testing.assert_allclose(logreg_coefficient_images(fitted),
                               fitted.model.coef_.reshape(3, 3, 4, 4).mean(axis=1))


# --- report helpers -------------------------------------------------------------------------


def test_shift_is_recovered_from_the_shifted_image():
    from cnnlab.compare.figures import _shift_of
    from cnnlab.train.shift import shift_images

    rng = np.random.default_rng(1)
    img = rng.random((1, 10, 10))
    for dx in (-3, -1, 0, 2, 3):
        assert _shift_of(img, shift_images(img, dx, 0), 3) == dx
    assert _shift_of(img, rng.random((1, 10, 10)), 3) is None


def test_examples_start_with_one_per_class():
    from cnnlab.compare.figures import _example_indices

    y = np.array([3, 3, 1, 0, 1, 2, 0])
    assert list(_example_indices(y, 4)) == [3, 2, 5, 0]
    assert list(_example_indices(y, 6)) == [3, 2, 5, 0, 1, 4]


def test_default_run_dir_is_safe_for_any_data_name():
    from datetime import datetime, timezone

    from cnnlab.storage import default_run_dir

    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc).timestamp()
    assert str(default_run_dir("compare", "mnist", now)) == "runs/compare-mnist-20260102-030405"
    assert default_run_dir("compare", "/data/my tiles/labels.csv", now).name == "compare-labels-20260102-030405"
    assert default_run_dir("compare", "/", now).name == "compare-data-20260102-030405"
    assert default_run_dir("compare", "../x y/", now).name == "compare-x_y-20260102-030405"


def _rows(cnn_shifted: float):
    from types import SimpleNamespace as Row

    return [Row(name="logreg", params=7850, train_accuracy=0.93, val_accuracy=0.90, test_accuracy=0.91,
                shifted_val_accuracy=0.75, convolutional=False),
            Row(name="mlp", params=242762, train_accuracy=0.99, val_accuracy=0.94, test_accuracy=0.95,
                shifted_val_accuracy=0.80, convolutional=False),
            Row(name="small-cnn", params=21840, train_accuracy=0.99, val_accuracy=0.98, test_accuracy=0.985,
                shifted_val_accuracy=cnn_shifted, convolutional=True)]


def test_findings_read_off_the_table():
    from types import SimpleNamespace as Row

    from cnnlab.compare.document import findings

    rows = _rows(0.94)
    text = findings(Row(models=rows))
    assert text.startswith(
        "small-cnn has the best test accuracy (0.9850), with 11x fewer parameters than mlp. "
        "The widest gap between training and test accuracy is mlp's (4.0 points): it fits its training "
        "images better than it generalises. "
        "Validation accuracy lost to the shifts, in points: small-cnn 4.0, mlp 14.0, logreg 15.0. "
        "Here every convolutional model lost less to the shifts")
    assert findings(Row(models=rows[:1])) == ""


def test_robustness_sentence_follows_the_numbers_not_a_fixed_claim():
    from types import SimpleNamespace as Row

    from cnnlab.compare.document import robustness

    good = robustness(Row(models=_rows(0.94)))  # the CNN lost 4 points, the flat models 14 and 15
    bad = robustness(Row(models=_rows(0.70)))   # the CNN lost 28 points: more than both
    assert good.startswith("Here every convolutional model lost less")
    assert bad.startswith("Here the convolutions did not protect every model")
    assert "small-cnn lost 28.0 points, mlp (no convolution) 14.0" in bad
    assert "lost as much or more (28.0 vs 14.5 points)" in bad
    only_flat = robustness(Row(models=_rows(0.94)[:2]))
    assert "says nothing about convolutions" in only_flat


def test_runs_folders_are_resolved_or_refused(tmp_path):
    import json

    from cnnlab.compare.user_runs import resolve_run_dir
    from cnnlab.errors import UsageError

    run = tmp_path / "run"
    run.mkdir()
    (run / "model.json").write_text("{}")
    study = tmp_path / "study"
    study.mkdir()
    (study / "results.json").write_text(json.dumps({"best_run_dir": str(run)}))
    assert resolve_run_dir(run) == run and resolve_run_dir(study) == run
    with pytest.raises(UsageError, match="not a run folder of cnnlab train"):
        resolve_run_dir(tmp_path)
    (study / "results.json").write_text(json.dumps({"best_run_dir": None}))
    with pytest.raises(UsageError, match="without a finished best trial"):
        resolve_run_dir(study)


def test_compare_refuses_a_bad_run_before_training(tmp_path, capsys):
    from cnnlab.cli.main import main

    out = tmp_path / "cmp"
    assert main(["compare", "--data", "digits", "--models", "mlp", "--runs", str(tmp_path),
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a run folder of cnnlab train" in err[0] and not out.exists()


def test_a_training_run_is_not_called_a_comparison(tmp_path):
    from cnnlab.compare.compare import CompareConfig, _check_run_dir
    from cnnlab.errors import UsageError
    from cnnlab.storage import RunFolder

    run = RunFolder(tmp_path / "run")
    run.write("config.yaml", "model: logreg\ndata: digits\n")
    run.write_json("model.json", {"model": "logreg"})
    with pytest.raises(UsageError, match="holds a training run of cnnlab train, not a comparison"):
        _check_run_dir(run.path, CompareConfig(data="digits"))
