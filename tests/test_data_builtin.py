"""Named datasets without real downloads: CIFAR-10 batches made here, digits, missing data."""

import os
import pickle

import numpy as np
import pytest

from cnnlab.data import DATASET_NAMES, load_dataset
from cnnlab.errors import UsageError


def _cifar(folder, per_batch=20, seed=0):
    """Five training batches and a test batch in the python format (protocol 2, bytes keys)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    made = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        labels = [int(v) for v in np.arange(per_batch) % 10]
        with open(folder / name, "wb") as handle:
            pickle.dump({b"batch_label": b"x", b"data": data, b"labels": labels}, handle, protocol=2)
        made[name] = (data, labels)
    return made


def test_cifar10_batches_load_when_present(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "empty-cache"))
    made = _cifar(tmp_path / "cifar-10-batches-py")
    ds = load_dataset("cifar10", data_dir=str(tmp_path), val_fraction=0.1)
    assert ds.image_shape == (3, 32, 32) and ds.num_classes == 10 and ds.classes[0] == "airplane"
    assert len(ds.y_train) == 90 and len(ds.y_val) == 10 and len(ds.y_test) == 20
    data, labels = made["test_batch"]
    expected = data.reshape(20, 3, 32, 32) / 255.0  # rows are R plane, G plane, B plane
    np.testing.assert_allclose(ds.x_test, expected, rtol=1e-6)
    assert ds.y_test.tolist() == labels
    assert np.bincount(ds.y_val).tolist() == [1] * 10  # stratified


def test_cifar10_refuses_code_in_pickles(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "empty-cache"))
    folder = tmp_path / "c"
    _cifar(folder)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    with open(folder / "data_batch_1", "wb") as handle:
        pickle.dump({b"data": Evil(), b"labels": []}, handle, protocol=2)
    with pytest.raises(UsageError, match="not a readable CIFAR-10 batch.*refusing to load"):
        load_dataset("cifar10", data_dir=str(folder))
    assert not marker.exists()


def test_cifar10_absent_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path))
    with pytest.raises(UsageError, match="cifar10 files are not present.*cannot download CIFAR-10"):
        load_dataset("cifar10")


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_named_idx_missing_says_fetch(tmp_path, monkeypatch, name):
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path))
    monkeypatch.setattr("cnnlab.data.fetch.system_dir", lambda n: tmp_path / "system" / n)
    with pytest.raises(UsageError, match=f"run: cnnlab data fetch {name}$"):
        load_dataset(name)


def test_names_and_fraction_checks():
    assert DATASET_NAMES == ("mnist", "fashion-mnist", "digits", "cifar10")
    with pytest.raises(UsageError, match="sum to less than 1"):
        load_dataset("digits", val_fraction=0.5, test_fraction=0.5)
    with pytest.raises(UsageError, match="limit must be at least 1"):
        load_dataset("digits", limit=0)
