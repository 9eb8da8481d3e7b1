"""`load_split`: one split equal to `load_dataset(...).split(...)`, the official test split
read without the training files."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import cnnlab.data as data
from cnnlab.data import load_dataset, load_split
from cnnlab.data.idx import write_idx
from cnnlab.errors import UsageError

IDX_NAMES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def _idx_folder(folder, seed=3):
    rng = np.random.default_rng(seed)
    arrays = [rng.integers(0, 256, (40, 6, 5), dtype=np.uint8), np.arange(40, dtype=np.uint8) % 3,
              rng.integers(0, 256, (9, 6, 5), dtype=np.uint8), np.arange(9, dtype=np.uint8) % 3]
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in zip(IDX_NAMES, arrays):
        write_idx(folder / name, array)
    return arrays


def _no_whole_load(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the whole dataset was loaded")

    monkeypatch.setattr(data, "_load", refuse)


@pytest.mark.parametrize("resize", [None, (4, 7)])
def test_idx_folder_test_split_equals_the_whole_load_and_skips_training_files(tmp_path, monkeypatch, resize):
    arrays = _idx_folder(tmp_path)
    x_old, y_old = load_dataset(str(tmp_path), val_fraction=0.25, resize=resize).split("test")
    (tmp_path / IDX_NAMES[0]).write_bytes(b"not an idx file")  # the training images unreadable
    _no_whole_load(monkeypatch)
    x, y = load_split(str(tmp_path), "test", val_fraction=0.25, resize=resize)
    assert x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(x, x_old)
    np.testing.assert_array_equal(y, y_old)
    if resize is None:  # and against the file itself: value / 255
        np.testing.assert_allclose(x[:, 0] * 255, arrays[2], atol=1e-4)


@pytest.mark.parametrize("split", ["train", "val", "test"])
@pytest.mark.parametrize("resize", [None, (10, 12)])
def test_digits_every_split_equals_the_whole_load(split, resize):
    kwargs = dict(val_fraction=0.15, test_fraction=0.25, seed=4, limit=300, resize=resize)
    x_old, y_old = load_dataset("digits", **kwargs).split(split)
    x, y = load_split("digits", split, **kwargs)
    np.testing.assert_array_equal(x, x_old)
    np.testing.assert_array_equal(y, y_old)


def test_idx_folder_val_split_equals_the_whole_load(tmp_path):
    _idx_folder(tmp_path)
    x_old, y_old = load_dataset(str(tmp_path), val_fraction=0.25, seed=1).split("val")
    x, y = load_split(str(tmp_path), "val", val_fraction=0.25, seed=1)
    np.testing.assert_array_equal(x, x_old)
    np.testing.assert_array_equal(y, y_old)


def test_cifar10_test_batch_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "empty-cache"))
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (20, 3072), dtype=np.uint8),
                 b"labels": [int(v) for v in np.arange(20) % 10]}
        with open(folder / name, "wb") as handle:
            pickle.dump(batch, handle, protocol=2)
    x_old, y_old = load_dataset("cifar10", data_dir=str(tmp_path)).split("test")
    (folder / "data_batch_3").write_bytes(b"garbage")  # never read for the test split
    _no_whole_load(monkeypatch)
    x, y = load_split("cifar10", "test", data_dir=str(tmp_path))
    np.testing.assert_array_equal(x, x_old)
    np.testing.assert_array_equal(y, y_old)


def test_bad_split_and_fractions_are_usage_errors(tmp_path):
    _idx_folder(tmp_path)
    with pytest.raises(UsageError, match="unknown split 'dev'"):
        load_split(str(tmp_path), "dev")
    with pytest.raises(UsageError, match="val fraction"):
        load_split(str(tmp_path), "test", val_fraction=1.5)
    with pytest.raises(UsageError, match="limit must be at least 1"):
        load_split(str(tmp_path), "test", limit=0)
    with pytest.raises(UsageError, match="neither a dataset name"):
        load_split(str(tmp_path / "absent"), "test")


def test_named_test_split_hashes_only_the_test_files(tmp_path, monkeypatch):
    """MNIST-style named data: the test files are verified (a corrupt one is refused), the
    training files only need to be present."""
    import hashlib

    import cnnlab.data.builtin as builtin
    import cnnlab.data.fetch as fetch_mod
    from cnnlab.data.checksums import IDX_FILES, SHA256
    from cnnlab.data.fetch import find_idx_folder

    cache = tmp_path / "cache" / "mnist"
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "cache"))
    monkeypatch.setattr(fetch_mod, "system_dir", lambda name: tmp_path / "system" / name)
    arrays = _idx_folder(cache)
    for gz in IDX_NAMES:  # raw files as the cache holds them
        raw = cache / gz.removesuffix(".gz")
        if gz.endswith(".gz"):
            write_idx(raw, arrays[IDX_NAMES.index(gz)])
            (cache / gz).unlink()
    sums = {file: hashlib.sha256((cache / file).read_bytes()).hexdigest() for file in IDX_FILES}
    monkeypatch.setitem(SHA256, "mnist", sums)
    x_old, y_old = load_dataset("mnist", val_fraction=0.25).split("test")
    (cache / IDX_FILES[0]).write_bytes(b"changed training images")  # not hashed, not read
    with pytest.raises(UsageError, match="is corrupt"):
        find_idx_folder("mnist")  # training still verifies all four
    _no_whole_load(monkeypatch)
    x, y = load_split("mnist", "test", val_fraction=0.25)
    np.testing.assert_array_equal(x, x_old)
    np.testing.assert_array_equal(y, y_old)
    labels = bytearray((cache / IDX_FILES[3]).read_bytes())
    labels[-1] ^= 1  # one test label changed
    (cache / IDX_FILES[3]).write_bytes(bytes(labels))
    with pytest.raises(UsageError, match="t10k-labels.*is corrupt"):
        load_split("mnist", "test")
    (cache / IDX_FILES[1]).unlink()  # the folder training uses has all four files
    with pytest.raises(UsageError, match="mnist is not downloaded"):
        builtin.TEST_LOADERS["mnist"](None)


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_labelled_split_names_the_classes_of_the_whole_load(tmp_path, split):
    _idx_folder(tmp_path)
    whole = load_dataset(str(tmp_path), val_fraction=0.25, seed=2, stored=True)
    found = data.load_labelled_split(str(tmp_path), split, val_fraction=0.25, seed=2)
    assert found.classes == whole.classes == ["0", "1", "2"]
    x_old, y_old = whole.split(split)
    np.testing.assert_array_equal(np.asarray(found.x), np.asarray(x_old))
    np.testing.assert_array_equal(found.y, y_old)


def test_evaluate_reads_its_split_through_the_one_split_loader(tmp_path, monkeypatch):
    """`cnnlab evaluate` of an IDX-folder run: the test split alone (the training images
    may be unreadable), the same metrics as scoring the whole load's test split."""
    from cnnlab.train import TrainConfig, fit
    from cnnlab.train.evaluate import evaluate_run

    _idx_folder(tmp_path / "idx")
    run = fit(TrainConfig(data=str(tmp_path / "idx"), model="logreg", epochs=1, threads=1,
                          val_fraction=0.25, out=str(tmp_path / "run")))
    whole = load_dataset(str(tmp_path / "idx"), val_fraction=0.25, stored=True)
    expected = evaluate_run(run.run_dir, dataset=whole)
    (tmp_path / "idx" / IDX_NAMES[0]).write_bytes(b"not an idx file")
    _no_whole_load(monkeypatch)
    got = evaluate_run(run.run_dir)
    assert got == expected and got["n"] == 9
    assert got["accuracy"] == run.summary["test_accuracy"]
