"""Pieces of training without a training run: metrics, shifts, augmentation, config, schedules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnlab.errors import UsageError
from cnnlab.train import TrainConfig, binary_metrics, confusion_matrix, random_translate, roc_auc, shift_images
from cnnlab.train.augment import augment_batch, parse_augment
from cnnlab.train.optim import make_optimizer, make_scheduler
from cnnlab.train.shift import shift_batch


# --- metrics against scikit-learn ---------------------------------------------------

@pytest.mark.parametrize("seed", range(3))
def test_binary_metrics_match_sklearn(seed):
    from sklearn import metrics

    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 200)
    score = np.round(rng.random(200) * 0.6 + y * 0.3, 1)  # many ties
    pred = (score > 0.5).astype(int)
    ours = binary_metrics(y, pred, score)
    assert ours["precision"] == pytest.approx(metrics.precision_score(y, pred, zero_division=0))
    assert ours["recall"] == pytest.approx(metrics.recall_score(y, pred))
    assert ours["f1"] == pytest.approx(metrics.f1_score(y, pred))
    assert ours["roc_auc"] == pytest.approx(metrics.roc_auc_score(y, score))


@pytest.mark.parametrize("positive", [0, 1])
def test_summarise_logits_positive_class_matches_sklearn_pos_label(positive):
    from sklearn import metrics

    from cnnlab.train.metrics import summarise_logits

    rng = np.random.default_rng(positive)
    y = (rng.random(300) < 0.2).astype(int)  # unbalanced, as on/off tiles often are
    logits = torch.tensor(rng.normal(size=(300, 2)) + np.eye(2)[y] * 1.5, dtype=torch.float32)
    ours = summarise_logits(logits, torch.as_tensor(y), 2, positive)
    pred = logits.argmax(1).numpy()
    score = logits.softmax(1)[:, positive].numpy()
    assert ours["precision"] == pytest.approx(metrics.precision_score(y, pred, pos_label=positive))
    assert ours["recall"] == pytest.approx(metrics.recall_score(y, pred, pos_label=positive))
    assert ours["f1"] == pytest.approx(metrics.f1_score(y, pred, pos_label=positive))
    assert ours["roc_auc"] == pytest.approx(metrics.roc_auc_score(y == positive, score))


def test_roc_auc_edge_cases():
    assert roc_auc(np.array([0, 1]), np.array([0.2, 0.9])) == 1.0
    assert roc_auc(np.array([0, 1]), np.array([0.5, 0.5])) == 0.5
    assert np.isnan(roc_auc(np.array([1, 1]), np.array([0.1, 0.2])))
    assert binary_metrics(np.array([0, 0]), np.array([0, 0]), np.array([0.1, 0.2]))["precision"] == 0.0


def test_confusion_matrix_matches_sklearn():
    from sklearn.metrics import confusion_matrix as sk_confusion

    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 4, 100), rng.integers(0, 4, 100)
    assert np.array_equal(confusion_matrix(y, p, 4), sk_confusion(y, p, labels=range(4)))


# --- shifting ------------------------------------------------------------------------

@pytest.mark.parametrize("dx, dy", [(0, 0), (2, 0), (-1, 3), (0, -2), (5, 5), (-9, 0)])
def test_shift_images_against_torch_pad_and_crop(dx, dy):
    x = np.random.default_rng(1).random((3, 2, 6, 7)).astype(np.float32)
    # reference: zero-pad by 9 on every side, then crop the window moved by (-dx, -dy)
    padded = torch.nn.functional.pad(torch.from_numpy(x), (9, 9, 9, 9))
    ref = padded[:, :, 9 - dy:9 - dy + 6, 9 - dx:9 - dx + 7].numpy()
    assert np.array_equal(shift_images(x, dx, dy), ref)
    assert np.array_equal(shift_batch(x, np.full(3, dx), np.full(3, dy)), ref)


def test_shift_by_hand_and_for_2d():
    x = np.array([[1, 2], [3, 4]])
    assert shift_images(x, 0, 1).tolist() == [[0, 0], [1, 2]]
    assert shift_images(x, -1, 0).tolist() == [[2, 0], [4, 0]]


def test_random_translate_is_a_whole_pixel_shift_within_range():
    x = np.random.default_rng(2).random((20, 1, 10, 10)).astype(np.float32)
    out = random_translate(x, 0.2, 0.0, seed=3)
    for img, moved in zip(x, out):
        matches = [dx for dx in range(-2, 3) if np.array_equal(shift_images(img, dx, 0), moved)]
        assert matches, "each image is x shifted by |dx| <= 0.2*10 px"
    assert np.array_equal(out, random_translate(x, 0.2, 0.0, seed=3))


# --- augmentation ---------------------------------------------------------------------

def _normalised_batch():
    x = torch.rand(16, 3, 8, 8)
    mean, std = torch.tensor([0.5, 0.4, 0.3]), torch.tensor([0.2, 0.25, 0.3])
    return x, (x - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1), mean, std


def test_shift_augment_equals_some_zero_filled_shift_in_pixel_space():
    x, xn, mean, std = _normalised_batch()
    out = augment_batch(xn, parse_augment("shift:2"), mean, std, torch.Generator().manual_seed(0))
    pixels = (out * std.view(1, 3, 1, 1) + mean.view(1, 3, 1, 1)).numpy()
    for img, moved in zip(x.numpy(), pixels):
        assert any(np.allclose(shift_images(img, dx, dy), moved, atol=1e-6)
                   for dx in range(-2, 3) for dy in range(-2, 3))


def test_flip_noise_rotate_augments():
    x, xn, mean, std = _normalised_batch()
    gen = torch.Generator().manual_seed(1)
    flipped = augment_batch(xn, parse_augment(["hflip"]), mean, std, gen)
    assert all(torch.equal(a, b) or torch.equal(a, b.flip(-1)) for a, b in zip(flipped, xn))
    noisy = augment_batch(torch.zeros(64, 3, 32, 32), parse_augment("noise:0.1"), mean, std, gen)
    assert noisy.std((0, 2, 3)).numpy() == pytest.approx((0.1 / std).numpy(), rel=0.05)
    assert torch.allclose(augment_batch(xn, parse_augment("rotate:0"), mean, std, gen), xn, atol=1e-5)
    # a 90-degree turn of a black image stays black (fill is black, not the mean)
    black = (torch.zeros(4, 3, 8, 8) - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)
    assert torch.allclose(augment_batch(black, parse_augment("rotate:90"), mean, std, gen), black, atol=1e-5)


def test_parse_augment_errors():
    assert parse_augment("crop,vflip") == [("crop", 4.0), ("vflip", None)]
    for bad in ["blur", "hflip:2", "shift:x", "noise:-1"]:
        with pytest.raises(UsageError):
            parse_augment(bad)


# --- config ---------------------------------------------------------------------------

def test_config_yaml_round_trip_and_overrides(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("data: digits\nmodel: mlp\nepochs: 3\naugment: shift:1,hflip\nlr: 1\n"
                    "model_cfg: {hidden: [32]}\n")
    config = TrainConfig.from_yaml(path, {"epochs": 7})
    assert (config.epochs, config.lr, config.augment) == (7, 1.0, ["shift:1", "hflip"])
    again = tmp_path / "again.yaml"
    again.write_text(config.to_yaml())
    assert TrainConfig.from_yaml(again) == config


@pytest.mark.parametrize("values, message", [
    ({"epochs": 0}, "--epochs must be >= 1"),
    ({"model": "nope"}, "unknown model 'nope'; choose one of: small-cnn"),
    ({"optimizer": "rmsprop"}, "--optimizer"),
    ({"lr": -1}, "--lr"),
    ({"epochs": "five"}, "epochs must be int"),
    ({"colour": "red"}, "unknown setting"),
    ({"augment": ["twist"]}, "unknown augmentation"),
    ({"weights": "/no/such/file.pt"}, "does not exist"),
])
def test_config_refuses_bad_settings(values, message):
    with pytest.raises(UsageError, match=message):
        TrainConfig.from_dict({"data": "digits", "model": "mlp", **values})


def test_config_yaml_errors(tmp_path):
    with pytest.raises(UsageError, match="cannot read"):
        TrainConfig.from_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(UsageError, match="not valid YAML"):
        TrainConfig.from_yaml(bad)
    bad.write_text("- just a list\n")
    with pytest.raises(UsageError, match="mapping"):
        TrainConfig.from_yaml(bad)


# --- schedules ------------------------------------------------------------------------

def _lrs(schedule, epochs=4, steps=5, **kw):
    config = TrainConfig(data="digits", model="logreg", schedule=schedule, epochs=epochs, lr=0.1, **kw)
    opt = make_optimizer([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1}], config)
    sched = make_scheduler(opt, config, steps)
    lrs = []
    for _ in range(epochs * (steps if schedule in ("cosine", "onecycle") else 1)):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def test_schedules():
    assert _lrs("step", epochs=6) == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001, 0.001])
    cosine = _lrs("cosine")
    assert cosine[0] == 0.1 and all(a > b for a, b in zip(cosine, cosine[1:]))
    onecycle = _lrs("onecycle")
    peak = int(np.argmax(onecycle))
    assert onecycle[peak] == pytest.approx(0.1) and 0 < peak < len(onecycle) - 1
    assert onecycle[0] < 0.01 and onecycle[-1] < 1e-4


def test_pick_device():
    from cnnlab.train.loop import pick_device

    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(UsageError, match="no CUDA GPU"):
            pick_device("cuda")
