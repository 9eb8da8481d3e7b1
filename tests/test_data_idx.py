"""IDX reading/writing (raw and gzip) and SHA-256 checking, against hashlib and numpy."""

import gzip
import hashlib
import struct

import numpy as np
import pytest

from cnnlab.data.builtin import load_idx_pair
from cnnlab.data.checksums import file_problem, sha256_file
from cnnlab.data.idx import read_idx, write_idx
from cnnlab.errors import UsageError


def _hand_made_idx(array: np.ndarray) -> bytes:
    """An IDX file for a uint8 array written byte by byte (independent of write_idx)."""
    head = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", s) for s in array.shape)
    return head + array.astype(np.uint8).tobytes()


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_hand_made_idx_raw_and_gz(tmp_path, suffix):
    images = np.random.default_rng(0).integers(0, 256, (7, 5, 4), dtype=np.uint8)
    data = _hand_made_idx(images)
    path = tmp_path / f"images-idx3-ubyte{suffix}"
    path.write_bytes(gzip.compress(data) if suffix else data)
    got = read_idx(path)
    assert got.shape == (7, 5, 4) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, images)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_write_read_roundtrip(tmp_path, dtype, suffix):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    path = tmp_path / f"a{suffix}"
    write_idx(path, array)
    got = read_idx(path)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, array)


def test_truncated_and_bad_magic_are_usage_errors(tmp_path):
    data = _hand_made_idx(np.zeros((10, 28, 28), np.uint8))
    (tmp_path / "short").write_bytes(data[:-100])
    with pytest.raises(UsageError, match="truncated or corrupt: header says 10x28x28"):
        read_idx(tmp_path / "short")
    (tmp_path / "magic").write_bytes(b"\x01\x02" + data[2:])
    with pytest.raises(UsageError, match="not an IDX file"):
        read_idx(tmp_path / "magic")
    (tmp_path / "short.gz").write_bytes(gzip.compress(data)[:-20])
    with pytest.raises(UsageError, match="unreadable or truncated"):
        read_idx(tmp_path / "short.gz")
    with pytest.raises(UsageError, match="does not exist"):
        read_idx(tmp_path / "nothing")


def test_load_idx_pair_scales_to_unit_interval(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (6, 3, 2), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    labels = np.array([3, 1, 4, 1, 5, 9], np.uint8)
    (tmp_path / "x").write_bytes(_hand_made_idx(images))
    (tmp_path / "y.gz").write_bytes(gzip.compress(_hand_made_idx(labels)))
    stored, y = load_idx_pair(tmp_path / "x", tmp_path / "y.gz")
    assert stored.raw.dtype == np.uint8 and np.array_equal(stored.raw[:, 0], images)  # kept as stored
    x = np.asarray(stored)
    assert x.shape == (6, 1, 3, 2) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, 0], images / 255.0, rtol=1e-6)
    assert x.min() == 0.0 and x.max() == 1.0
    assert y.dtype == np.int64 and y.tolist() == [3, 1, 4, 1, 5, 9]
    (tmp_path / "y5").write_bytes(_hand_made_idx(labels[:5]))
    with pytest.raises(UsageError, match="labels for 6 images"):
        load_idx_pair(tmp_path / "x", tmp_path / "y5")


def test_sha256_of_gz_is_that_of_the_content(tmp_path):
    content = bytes(range(256)) * 5000
    (tmp_path / "f").write_bytes(content)
    (tmp_path / "f.gz").write_bytes(gzip.compress(content))
    expected = hashlib.sha256(content).hexdigest()
    assert sha256_file(tmp_path / "f") == expected
    assert sha256_file(tmp_path / "f.gz") == expected
    assert file_problem(tmp_path / "f.gz", expected) is None
    assert "is missing" in file_problem(tmp_path / "g", expected)
    (tmp_path / "f").write_bytes(content[:-1] + b"\x00")
    assert "is corrupt: sha256" in file_problem(tmp_path / "f", expected)
    (tmp_path / "f.gz").write_bytes(gzip.compress(content)[:100])
    assert "unreadable or truncated" in file_problem(tmp_path / "f.gz", expected)


def test_folder_of_idx_files_loads_like_mnist(tmp_path):
    from cnnlab.data import load_dataset

    rng = np.random.default_rng(2)
    names = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    arrays = [rng.integers(0, 256, (40, 5, 5), dtype=np.uint8), np.arange(40, dtype=np.uint8) % 3,
              rng.integers(0, 256, (9, 5, 5), dtype=np.uint8), np.arange(9, dtype=np.uint8) % 3]
    for name, array in zip(names, arrays):
        write_idx(tmp_path / name, array)
    ds = load_dataset(str(tmp_path), val_fraction=0.25)
    assert ds.classes == ["0", "1", "2"] and ds.image_shape == (1, 5, 5)
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (30, 10, 9)
    np.testing.assert_allclose(ds.x_test[:, 0] * 255, arrays[2], atol=1e-4)
