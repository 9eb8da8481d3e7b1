"""The named datasets: MNIST, Fashion-MNIST, scikit-learn's 8×8 digits, CIFAR-10.

Each loader returns ``(x_train, y_train, x_test, y_test, classes, source)`` with
x a :class:`~cnnlab.data.stored.StoredImages` (uint8 as stored, read as (N, C, H, W) float32
in [0, 1]) and y: (N,) int64; :func:`cnnlab.data.load_dataset`
then carves the validation split out of train. Registries, not if-chains: ``LOADERS``.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Callable

import numpy as np

from cnnlab.data.checksums import IDX_FILES
from cnnlab.data.fetch import find_idx_folder
from cnnlab.data.idx import read_idx
from cnnlab.data.sources import cache_dir, cache_root, find_file, system_dir
from cnnlab.data.stored import StoredImages
from cnnlab.errors import UsageError

__all__ = ["LOADERS", "TEST_LOADERS", "CLASSES", "load_idx_pair", "load_digits", "load_cifar10"]

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str], str]

CLASSES = {
    "mnist": [str(d) for d in range(10)],
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer",
                "dog", "frog", "horse", "ship", "truck"],
}


BYTE = np.float32(255)  # uint8 images read as value / 255


def _images(raw: np.ndarray, path: Path) -> StoredImages:
    """(N, H, W) or (N, H, W, C) uint8 -> (N, C, H, W) uint8, read as value / 255."""
    if raw.ndim == 3:
        raw = raw[:, None]  # (N, 1, H, W)
    elif raw.ndim == 4:
        raw = raw.transpose(0, 3, 1, 2)  # (N, C, H, W)
    else:
        raise UsageError(f"{path} holds a {raw.ndim}-D array, not images")
    return StoredImages(np.ascontiguousarray(raw, dtype=np.uint8), divisor=BYTE)


def load_idx_pair(images: Path, labels: Path) -> tuple[StoredImages, np.ndarray]:
    """x: (N, 1, H, W) uint8 (read as float32 in [0, 1]) and y: (N,) int64 from an IDX pair."""
    x, y = read_idx(images), read_idx(labels)
    if y.ndim != 1 or len(y) != len(x):
        raise UsageError(f"{labels} holds {y.shape} labels for {len(x)} images in {images}")
    return _images(x, images), y.astype(np.int64)


def _load_idx_named(name: str) -> Callable[[str | None], Arrays]:
    def load(data_dir: str | None) -> Arrays:
        folder = find_idx_folder(name, data_dir)
        paths = [find_file(folder, file) for file in IDX_FILES]
        x_train, y_train = load_idx_pair(paths[0], paths[1])
        x_test, y_test = load_idx_pair(paths[2], paths[3])
        return x_train, y_train, x_test, y_test, CLASSES[name], str(folder)

    return load


def _load_idx_test(name: str) -> Callable[[str | None], tuple[StoredImages, np.ndarray]]:
    def load(data_dir: str | None) -> tuple[StoredImages, np.ndarray]:
        # the folder training finds (all four files present), only the test files hashed
        # (MNIST's training images: 47 MB, about 0.06 s of SHA-256)
        folder = find_idx_folder(name, data_dir, verify=IDX_FILES[2:])
        return load_idx_pair(find_file(folder, IDX_FILES[2]), find_file(folder, IDX_FILES[3]))

    return load


def load_digits(data_dir: str | None = None) -> Arrays:
    """scikit-learn's 1797 8×8 digits, values 0..16 (kept as uint8) read as value / 16.

    Returns everything as "train" with an empty test set: the caller splits it.
    """
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    raw = bunch.images.astype(np.uint8)[:, None]  # (1797, 1, 8, 8)
    x = StoredImages(raw, divisor=np.float32(16))
    y = bunch.target.astype(np.int64)
    empty = StoredImages(np.zeros((0, 1, 8, 8), np.uint8), divisor=np.float32(16))
    return x, y, empty, np.zeros(0, np.int64), [str(d) for d in range(10)], "scikit-learn load_digits()"


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists and numpy arrays only: a batch file can run no code."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch -> x: (N, 3, 32, 32) uint8, y: (N,) int64."""
    try:
        with open(path, "rb") as handle:
            batch = _ArrayUnpickler(handle, encoding="bytes").load()
        data = np.asarray(batch[b"data"] if b"data" in batch else batch["data"], dtype=np.uint8)
        labels = batch[b"labels"] if b"labels" in batch else batch["labels"]
        x = data.reshape(-1, 3, 32, 32)
        y = np.asarray(labels, dtype=np.int64)
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{path} is not a readable CIFAR-10 batch ({exc})") from None
    if len(y) != len(x):
        raise UsageError(f"{path} holds {len(x)} images but {len(y)} labels")
    return x, y


def _cifar_folder(data_dir: str | None) -> Path:
    roots = ([Path(data_dir).expanduser()] if data_dir else []) + [
        cache_dir("cifar10"), cache_root(), system_dir("cifar10")]
    candidates = [c for root in roots for c in (root, root / "cifar-10-batches-py")]
    for folder in candidates:
        if (folder / "data_batch_1").is_file() and (folder / "test_batch").is_file():
            return folder
    raise UsageError(
        "cifar10 files are not present (looked for cifar-10-batches-py in "
        f"{', '.join(str(r) for r in roots)}); cnnlab cannot download CIFAR-10: unpack "
        f"cifar-10-python.tar.gz into {cache_dir('cifar10')} or pass --data-dir FOLDER (cnnlab data info: --dir FOLDER)"
    )


def load_cifar10(data_dir: str | None = None) -> Arrays:
    """CIFAR-10 from its python batches (``data_batch_1..5``, ``test_batch``) when present."""
    folder = _cifar_folder(data_dir)
    train = [_read_batch(p) for p in sorted(folder.glob("data_batch_*"))]
    x_test, y_test = _read_batch(folder / "test_batch")
    x_train = StoredImages(np.concatenate([x for x, _ in train]), divisor=BYTE)
    y_train = np.concatenate([y for _, y in train])
    return x_train, y_train, StoredImages(x_test, divisor=BYTE), y_test, CLASSES["cifar10"], str(folder)


def load_cifar10_test(data_dir: str | None = None) -> tuple[StoredImages, np.ndarray]:
    """CIFAR-10's ``test_batch`` alone: x (10000, 3, 32, 32) stored uint8, y (10000,)."""
    x_test, y_test = _read_batch(_cifar_folder(data_dir) / "test_batch")
    return StoredImages(x_test, divisor=BYTE), y_test


LOADERS: dict[str, Callable[[str | None], Arrays]] = {
    "mnist": _load_idx_named("mnist"),
    "fashion-mnist": _load_idx_named("fashion-mnist"),
    "digits": load_digits,
    "cifar10": load_cifar10,
}

# The official test split alone (x stored, y) without reading the training files: what
# ``explain`` needs. Digits has no official test split (it is carved out
# of everything), so it is not here.
TEST_LOADERS: dict[str, Callable[[str | None], tuple[StoredImages, np.ndarray]]] = {
    "mnist": _load_idx_test("mnist"),
    "fashion-mnist": _load_idx_test("fashion-mnist"),
    "cifar10": load_cifar10_test,
}
