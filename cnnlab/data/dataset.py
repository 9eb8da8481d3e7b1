"""The in-memory dataset every trainer reads, and batching by indexing.

Splits are held in memory as stored (:class:`~cnnlab.data.stored.StoredImages`: uint8
images stay uint8) or as float32 arrays; either way a batch is ``x[idx]``, with no
per-item loader overhead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from cnnlab.data.split import channel_stats
from cnnlab.data.stored import StoredImages, stored_stats

__all__ = ["SPLITS", "Dataset", "make_dataset", "iter_batches", "summary"]

SPLITS = ("train", "val", "test")


@dataclass
class Dataset:
    """Train/validation/test arrays and what is known about them.

    x_*: (N, C, H, W) float32 in [0, 1], or :class:`StoredImages` that read as such
    (``load_dataset(..., stored=True)``); y_*: (N,) int64 labels indexing ``classes``.
    ``mean``/``std``: (C,) float32 statistics of ``x_train`` only.
    ``band_min``/``band_max``: (C,) raw values mapped to 0 and 1 (``.npy`` bands only;
    taken from the training split, other splits clipped to [0, 1]).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list[str]
    mean: np.ndarray
    std: np.ndarray
    source: str
    skipped: int = 0
    band_min: np.ndarray | None = None
    band_max: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)  # e.g. "grayscale images converted to RGB"

    @property
    def in_channels(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        C, H, W = self.x_train.shape[1:]
        return (int(C), int(H), int(W))

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of split ``name`` ("train", "val" or "test")."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}")
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")


def make_dataset(name: str, x: np.ndarray, y: np.ndarray, parts: list[np.ndarray],
                 classes: list[str], source: str, **extra) -> Dataset:
    """Index x: (N, C, H, W) and y: (N,) by ``parts`` = [train, val, test] and add stats.

    x: a float32 array or :class:`StoredImages` (the splits stay stored).
    """
    train, val, test = parts
    if isinstance(x, StoredImages):
        x_train, x_val, x_test = x.take(train), x.take(val), x.take(test)
        mean, std = stored_stats(x_train)
    else:
        x_train, x_val, x_test = x[train], x[val], x[test]
        mean, std = channel_stats(x_train)
    return Dataset(name, x_train, y[train], x_val, y[val], x_test, y[test],
                   list(classes), mean, std, source, **extra)


def iter_batches(n: int, batch_size: int, *, shuffle: bool = False, seed: int = 0,
                 drop_last: bool = False) -> Iterator[np.ndarray]:
    """Index arrays covering ``range(n)`` in batches; use as ``x[idx], y[idx]``.

    >>> [b.tolist() for b in iter_batches(5, 2)]
    [[0, 1], [2, 3], [4]]
    """
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield order[start:start + batch_size]


def summary(ds: Dataset) -> dict:
    """A JSON-ready description: source, shape, classes, counts per split and class, stats."""
    splits = {}
    for split in SPLITS:
        x, y = ds.split(split)
        counts = np.bincount(y, minlength=ds.num_classes)
        splits[split] = {"count": int(len(y)),
                         "per_class": {c: int(k) for c, k in zip(ds.classes, counts)}}
    info = {
        "name": ds.name,
        "source": ds.source,
        "image_shape": list(ds.image_shape),
        "channels": ds.in_channels,
        "classes": ds.classes,
        "num_classes": ds.num_classes,
        "splits": splits,
        "mean": [round(float(v), 6) for v in ds.mean],
        "std": [round(float(v), 6) for v in ds.std],
        "skipped": ds.skipped,
    }
    if ds.band_min is not None:
        info["band_min"] = [float(v) for v in ds.band_min]
        info["band_max"] = [float(v) for v in ds.band_max]
    if ds.notes:
        info["notes"] = list(ds.notes)
    return info
