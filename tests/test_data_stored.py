"""Images held as stored and prepared per batch give the values of the old whole-set path.

The old path (before issue 22) turned every split into float32 in [0, 1] at load time
(``np.multiply(raw, 1/255)`` for IDX, ``raw / 255`` for CIFAR, PIL bilinear resize per
image), then normalised the whole split: ``(x - mean) / std``. These tests rebuild that
path by hand and compare it with :class:`DeviceImages` batches.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from cnnlab.data import load_dataset
from cnnlab.data.images import _resize_bands
from cnnlab.data.split import channel_stats
from cnnlab.data.stored import StoredImages, resize_matrix, stored_stats
from cnnlab.train.batches import DeviceImages, check_batch_memory
from cnnlab.errors import UsageError


def _old_floats(raw: np.ndarray, size=None) -> np.ndarray:
    """The pre-issue-22 load: uint8 / 255 as float32, then PIL bilinear per image."""
    x = raw.astype(np.float32) / 255
    if size is not None:
        x = np.stack([np.clip(_resize_bands(image, size), 0.0, 1.0) for image in x])
    return x


def _old_normalised(x: np.ndarray, mean, std) -> torch.Tensor:
    """The old Run.images on the CPU: one subtraction and one division of the whole split."""
    N, C, H, W = x.shape
    out = torch.from_numpy(x) - torch.from_numpy(mean).view(1, C, 1, 1)
    return out / torch.from_numpy(std).view(1, C, 1, 1)


@pytest.mark.parametrize("size", [None, (224, 224), (20, 27)])
def test_per_batch_normalisation_equals_the_whole_set(size):
    raw = np.random.default_rng(0).integers(0, 256, (40, 3, 32, 32), dtype=np.uint8)
    stored = StoredImages(raw, divisor=np.float32(255)).resized(size)
    old = _old_floats(raw, size)
    mean, std = channel_stats(old)
    new_mean, new_std = stored_stats(stored)
    np.testing.assert_allclose(new_mean, mean, rtol=1e-6)
    np.testing.assert_allclose(new_std, std, rtol=1e-5)
    whole = _old_normalised(old, mean, std)  # (40, C, h, w)
    images = DeviceImages(stored, mean, std, torch.device("cpu"))
    assert tuple(images.shape) == old.shape and len(images) == 40
    idx = torch.randperm(40, generator=torch.Generator().manual_seed(1))[:16]
    batch = images[idx]
    assert batch.dtype == torch.float32 and batch.shape == (16, *old.shape[1:])
    tol = 0 if size is None else 2e-5  # PIL and torch's antialiased bilinear agree to 3e-6 in [0, 1]
    torch.testing.assert_close(batch, whole[idx], atol=tol, rtol=0)
    torch.testing.assert_close(images[5:9], whole[5:9], atol=tol, rtol=0)


def test_without_resize_batches_are_bit_identical_channels_last():
    raw = np.random.default_rng(1).integers(0, 256, (10, 3, 9, 7), dtype=np.uint8)
    old = _old_floats(raw)
    mean, std = channel_stats(old)
    images = DeviceImages(StoredImages(raw, divisor=np.float32(255)), mean, std, torch.device("cpu"),
                          torch.channels_last)
    batch = images[torch.arange(10)]
    assert batch.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(batch, _old_normalised(old, mean, std))


def test_offset_divisor_and_clip_per_band():
    raw = np.random.default_rng(2).normal(100, 30, (6, 2, 5, 5)).astype(np.float32)
    low, high = np.float32([80, 90]), np.float32([120, 110])
    stored = StoredImages(raw, offset=low, divisor=high - low, clip=True)
    ref = np.clip((raw - low[:, None, None]) / (high - low)[:, None, None], 0, 1)
    np.testing.assert_array_equal(np.asarray(stored), ref)
    images = DeviceImages(stored, np.zeros(2, np.float32), np.ones(2, np.float32), torch.device("cpu"))
    assert torch.equal(images[torch.arange(6)], torch.from_numpy(ref))


def test_stored_images_read_like_a_float_array():
    raw = np.arange(2 * 1 * 2 * 3, dtype=np.uint8).reshape(2, 1, 2, 3)
    stored = StoredImages(raw, divisor=np.float32(255))
    floats = raw.astype(np.float32) / 255
    assert stored.shape == (2, 1, 2, 3) and stored.dtype == np.float32 and len(stored) == 2
    np.testing.assert_array_equal(stored[1], floats[1])
    np.testing.assert_array_equal(stored[:, 0], floats[:, 0])
    np.testing.assert_array_equal(stored[np.array([1, 0])], floats[[1, 0]])
    np.testing.assert_array_equal(np.asarray(stored), floats)
    assert stored.take(np.array([1])).raw.dtype == np.uint8


def test_resize_matrix_is_the_resize():
    x = np.random.default_rng(3).random((1, 7, 5), dtype=np.float32)
    A, B = resize_matrix(7, 12), resize_matrix(5, 3)
    np.testing.assert_allclose(A @ x[0] @ B.T, _resize_bands(x, (12, 3))[0], atol=1e-6)
    np.testing.assert_allclose(resize_matrix(2, 4), [[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]], atol=1e-7)


def _cifar(folder, n=30, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for name in ("data_batch_1", "test_batch"):
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"labels": [int(v) for v in rng.integers(0, 10, n)]}
        (folder / name).write_bytes(pickle.dumps(batch))


def test_cifar_stays_uint8_and_resize_does_not_allocate_floats(tmp_path):
    _cifar(tmp_path / "cifar-10-batches-py")
    ds = load_dataset("cifar10", data_dir=str(tmp_path), resize=(224, 224), stored=True)
    assert isinstance(ds.x_train, StoredImages) and ds.x_train.raw.dtype == np.uint8
    assert ds.x_train.raw.shape[1:] == (3, 32, 32) and ds.image_shape == (3, 224, 224)
    floats = load_dataset("cifar10", data_dir=str(tmp_path), resize=(224, 224))  # materialised
    np.testing.assert_allclose(ds.mean, floats.mean, rtol=1e-6)
    np.testing.assert_allclose(ds.std, floats.std, rtol=1e-5)
    np.testing.assert_allclose(floats.x_test, _old_floats(ds.x_test.raw, (224, 224)), atol=1e-6)


def test_digits_stored_equals_materialised():
    stored = load_dataset("digits", stored=True, seed=3)
    floats = load_dataset("digits", seed=3)
    assert stored.x_train.raw.dtype == np.uint8 and stored.x_train.raw.max() == 16
    np.testing.assert_array_equal(np.asarray(stored.x_val), floats.x_val)
    np.testing.assert_array_equal(stored.mean, floats.mean)
    np.testing.assert_array_equal(stored.std, floats.std)


def test_a_batch_over_the_memory_limit_is_refused_before_training():
    check_batch_memory(64, (3, 224, 224))
    with pytest.raises(UsageError, match="lower --batch-size or --resize"):
        check_batch_memory(4096, (3, 224, 224))


@pytest.mark.parametrize("resize", [None, (12, 12)])
def test_training_on_stored_images_equals_training_on_floats(tmp_path, resize):
    """The same run from stored uint8 (per batch) and from float32 arrays (whole set)."""
    from cnnlab.train import TrainConfig, fit

    base = dict(data="digits", model="cnn3", epochs=2, lr=0.05, optimizer="sgd", batch_size=64, limit=300,
                augment="shift,noise", resize=None if resize is None else "12x12")
    kw = dict(limit=300, resize=resize)
    stored = fit(TrainConfig(**base, out=str(tmp_path / "stored")), load_dataset("digits", stored=True, **kw))
    floats = fit(TrainConfig(**base, out=str(tmp_path / "floats")), load_dataset("digits", **kw))
    # without a resize the batches are bit-identical; with one, PIL's and torch's resize
    # differ by ~3e-6 (SGD here: Adam's step is the sign of tiny gradients, which a 3e-6
    # difference can flip)
    tol = 0 if resize is None else 1e-4
    for a, b in zip(stored.model.state_dict().values(), floats.model.state_dict().values()):
        torch.testing.assert_close(a, b, atol=tol, rtol=0)
    for key in ("test_accuracy", "val_accuracy", "train_accuracy"):
        assert stored.summary[key] == pytest.approx(floats.summary[key], abs=1 / 300)


def test_a_png_folder_is_held_as_uint8_and_reads_as_before(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(5)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(6):
            Image.fromarray(rng.integers(0, 256, (9, 7, 3), dtype=np.uint8)).save(tmp_path / name / f"{i}.png")
    stored = load_dataset(str(tmp_path), stored=True, resize=(14, 11), val_fraction=0.25, test_fraction=0.25)
    assert stored.x_train.raw.dtype == np.uint8 and stored.x_train.raw.shape[2:] == (9, 7)
    assert stored.image_shape == (3, 14, 11)
    for split in ("train", "val", "test"):
        raw = getattr(stored, f"x_{split}").raw
        np.testing.assert_allclose(np.asarray(getattr(stored, f"x_{split}")), _old_floats(raw, (14, 11)), atol=1e-6)
    floats = load_dataset(str(tmp_path), resize=(14, 11), val_fraction=0.25, test_fraction=0.25)
    np.testing.assert_allclose(floats.mean, stored.mean, rtol=1e-6)


def test_evaluate_scores_stored_images_a_batch_at_a_time(tmp_path):
    from cnnlab.train import TrainConfig, evaluate_model, fit
    from cnnlab.train.evaluate import evaluate_run

    config = TrainConfig(data="digits", model="cnn3", epochs=1, limit=200, resize="12x12", out=str(tmp_path / "r"))
    result = fit(config)
    stored = load_dataset("digits", stored=True, resize=(12, 12))
    floats = load_dataset("digits", resize=(12, 12))
    a = evaluate_model(result.model, stored.x_test, stored.y_test, stored.mean, stored.std, batch_size=64)
    b = evaluate_model(result.model, floats.x_test, floats.y_test, floats.mean, floats.std, batch_size=64)
    assert np.array_equal(a["predictions"], b["predictions"]) and a["loss"] == pytest.approx(b["loss"], abs=1e-5)
    scored = evaluate_run(tmp_path / "r", split="test", shift=(1, 0))
    assert scored["accuracy"] == pytest.approx(result.summary["test_accuracy"])
    assert 0 <= scored["shifted_accuracy"] <= 1


def test_data_info_describes_cifar_at_224_without_floats(tmp_path, capsys):
    from cnnlab.cli.main import main

    _cifar(tmp_path / "cifar-10-batches-py")
    assert main(["data", "info", "cifar10", "--dir", str(tmp_path), "--resize", "224x224", "--json"]) == 0
    info = __import__("json").loads(capsys.readouterr().out.strip().splitlines()[-1])
    floats = load_dataset("cifar10", data_dir=str(tmp_path), resize=(224, 224))
    assert info["image_shape"] == [3, 224, 224]
    np.testing.assert_allclose(info["mean"], floats.mean, atol=2e-6)
