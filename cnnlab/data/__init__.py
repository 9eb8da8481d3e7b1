"""Datasets for training: named ones (MNIST, Fashion-MNIST, digits, CIFAR-10) and the
user's own image folders / CSV files, as in-memory numpy arrays. No torch here.

>>> ds = load_dataset("digits", seed=0)
>>> ds.image_shape, ds.num_classes, len(ds.y_train) + len(ds.y_val) + len(ds.y_test)
((1, 8, 8), 10, 1797)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from cnnlab.data.builtin import CLASSES, LOADERS, TEST_LOADERS, load_idx_pair
from cnnlab.data.checksums import IDX_FILES, SHA256, file_problem
from cnnlab.data.dataset import SPLITS, Dataset, iter_batches, make_dataset, summary
from cnnlab.data.fetch import FETCHABLE, fetch_dataset
from cnnlab.data.folder import list_csv, list_folder, load_files
from cnnlab.data.sources import find_file
from cnnlab.data.split import stratified_split, stratified_subsample
from cnnlab.data.stored import StoredImages, stored_stats
from cnnlab.data.streamed import band_range_of
from cnnlab.errors import UsageError
from cnnlab.userfiles import check_regular_file

__all__ = ["Dataset", "StoredImages", "DATASET_NAMES", "FETCHABLE", "load_dataset", "load_split",
           "load_labelled_split", "LabelledSplit",
           "fetch_dataset", "iter_batches", "summary", "stratified_split"]

DATASET_NAMES = tuple(LOADERS)  # ("mnist", "fashion-mnist", "digits", "cifar10")


def _limit(train: np.ndarray, y: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    if limit is None:
        return train
    return train[stratified_subsample(y[train], limit, seed)]


def _load_named(name: str, data_dir, val_fraction, test_fraction, seed, limit) -> Dataset:
    x_train, y_train, x_test, y_test, classes, source = LOADERS[name](data_dir)
    if len(y_test) == 0:  # no official test split (digits): split everything
        parts = stratified_split(y_train, (val_fraction, test_fraction), seed)
        parts[0] = _limit(parts[0], y_train, limit, seed)
        return make_dataset(name, x_train, y_train, parts, classes, source)
    train, val = stratified_split(y_train, (val_fraction,), seed)
    train = _limit(train, y_train, limit, seed)
    ds = make_dataset(name, x_train, y_train, [train, val, np.zeros(0, np.int64)], classes, source)
    ds.x_test, ds.y_test = x_test, y_test
    return ds


MAX_RESIZED_VALUES = 2**28  # 1 GiB of float32 for all splits together, when materialised


def _resize_splits(ds: Dataset, size: tuple[int, int]) -> Dataset:
    """Every split of a named / IDX dataset read at ``size`` (H, W) (bilinear), stats redone.

    Nothing is resized here: the splits stay stored and are resized when read (per batch
    in training), so any size fits in memory; the statistics come from the stored values.
    """
    C, H, W = ds.image_shape
    if (H, W) == tuple(size):
        return ds
    h, w = size
    for split in SPLITS:
        setattr(ds, f"x_{split}", getattr(ds, f"x_{split}").resized((h, w)))
    ds.mean, ds.std = stored_stats(ds.x_train)
    ds.notes.append(f"images resized from {H}x{W} to {h}x{w} (bilinear)")
    return ds


def _materialised(ds: Dataset) -> Dataset:
    """Every stored split as a float32 array, as code outside training expects.

    A resized set must fit MAX_RESIZED_VALUES, checked before anything is allocated.
    """
    splits = [getattr(ds, f"x_{split}") for split in SPLITS]
    stored = [x for x in splits if isinstance(x, StoredImages)]
    if any(x.size is not None for x in stored):
        total = sum(int(np.prod(x.shape)) for x in splits)
        C, h, w = ds.image_shape
        if total > MAX_RESIZED_VALUES:
            raise UsageError(f"--resize {h}x{w}: {ds.name} would take {total * 4 / 2**30:.1f} GiB as float32, "
                             f"over the limit of {MAX_RESIZED_VALUES * 4 / 2**30:.0f} GiB; "
                             f"use a smaller size or --limit (training reads it per batch, within any size)")
    for split, x in zip(SPLITS, splits):
        if isinstance(x, StoredImages):
            setattr(ds, f"x_{split}", x.materialise())
    return ds


def _drop_empty_classes(y: np.ndarray, classes: list[str]) -> tuple[np.ndarray, list[str]]:
    counts = np.bincount(y, minlength=len(classes))
    keep = np.flatnonzero(counts)
    remap = np.full(len(classes), -1, np.int64)
    remap[keep] = np.arange(len(keep))
    return remap[y], [classes[k] for k in keep]


def _idx_classes(paths: list[Path], y_train: np.ndarray | None = None) -> list[str]:
    """Class names of an IDX folder (paths: its four files): a known dataset's (its test
    labels' hash), else "0" to the largest training label."""
    known = [name for name, sums in SHA256.items() if file_problem(paths[3], sums[IDX_FILES[3]]) is None]
    if known:
        return CLASSES[known[0]]
    if y_train is None:
        from cnnlab.data.idx import read_idx

        y_train = read_idx(paths[1])  # the labels alone (60 kB for MNIST)
    return [str(c) for c in range(int(y_train.max()) + 1)]


def _load_idx_folder(path: Path, val_fraction, seed, limit) -> Dataset:
    """A folder holding the four IDX files (raw or .gz) of an MNIST-style dataset."""
    paths = [find_file(path, file) for file in IDX_FILES]
    x_train, y_train = load_idx_pair(paths[0], paths[1])
    x_test, y_test = load_idx_pair(paths[2], paths[3])
    classes = _idx_classes(paths, y_train)
    train, val = stratified_split(y_train, (val_fraction,), seed)
    train = _limit(train, y_train, limit, seed)
    ds = make_dataset(str(path), x_train, y_train, [train, val, np.zeros(0, np.int64)], classes, str(path))
    ds.x_test, ds.y_test = x_test, y_test
    return ds


def _load_path(path: Path, val_fraction, test_fraction, seed, strict, limit, resize) -> Dataset:
    if path.is_dir() and all(find_file(path, file) for file in IDX_FILES):
        ds = _load_idx_folder(path, val_fraction, seed, limit)
        return ds if resize is None else _resize_splits(ds, resize)
    files = list_folder(path) if path.is_dir() else list_csv(path)
    loaded = load_files(files, strict=strict, resize=resize)
    y, classes = _drop_empty_classes(loaded.y, files.classes)
    if len(classes) < 2:
        only = classes[0] if classes else "none"
        what = "sub-folders" if path.is_dir() else "labels"
        raise UsageError(f"{path} has only one class ({only}); a classifier needs at least two {what}")
    x = loaded.x  # StoredImages
    parts = stratified_split(y, (val_fraction, test_fraction), seed)
    parts[0] = _limit(parts[0], y, limit, seed)
    extra: dict = {"skipped": loaded.skipped, "notes": loaded.notes}
    if loaded.kind == "array":  # scale each band to [0, 1] with the training split's range
        low, high = band_range_of(x.take(parts[0]).raw)  # a streamed folder: one pass over its files
        span = np.where(high > low, high - low, 1.0).astype(np.float32)
        x = dataclasses.replace(x, offset=low, divisor=span, clip=True)
        extra.update(band_min=low, band_max=high)
    return make_dataset(str(path), x, y, parts, classes, files.source, **extra)


def load_dataset(name_or_path: str, *, data_dir: str | None = None, val_fraction: float = 0.1,
                 test_fraction: float = 0.2, seed: int = 0, strict: bool = False,
                 limit: int | None = None, resize: tuple[int, int] | None = None,
                 stored: bool = False) -> Dataset:
    """Load a named dataset or an image folder / CSV, split and with train-only statistics.

    Named datasets keep their official test split; validation is a stratified
    ``val_fraction`` of the official train split (``test_fraction`` applies only to
    digits, which has no official split). A folder or CSV is split stratified into
    train/val/test; a folder holding the four IDX files is read like MNIST. ``limit`` caps the training split (stratified subsample). ``strict``
    refuses corrupt files instead of skipping them; ``resize`` (H, W) resizes the images
    (of a folder / CSV of mixed sizes, and of every split of a named dataset).
    Deterministic for a given seed. Missing data, unreadable files, one class or mixed
    shapes raise UsageError. ``stored``: leave the image splits as
    :class:`~cnnlab.data.stored.StoredImages` (values as stored, read per batch: what
    training uses); otherwise they are float32 arrays in [0, 1].
    """
    ds = _load(name_or_path, data_dir, val_fraction, test_fraction, seed, strict, limit, resize)
    return ds if stored else _materialised(ds)


def _official_test(name_or_path: str, data_dir) -> tuple[StoredImages, np.ndarray, list[str]] | None:
    """The official test split (x stored, y, class names) read alone, or None where the
    test split is carved out of all the data (digits, image folders, CSV files)."""
    if name_or_path in TEST_LOADERS:
        return (*TEST_LOADERS[name_or_path](data_dir), CLASSES[name_or_path])
    if name_or_path in LOADERS:
        return None
    path = Path(name_or_path).expanduser()
    if path.is_dir() and all(find_file(path, file) for file in IDX_FILES):
        x, y = load_idx_pair(find_file(path, IDX_FILES[2]), find_file(path, IDX_FILES[3]))
        return x, y, _idx_classes([find_file(path, file) for file in IDX_FILES])
    return None


@dataclasses.dataclass
class LabelledSplit:
    """One split as stored: x (N, C, H, W) :class:`StoredImages` (or float32), y (N,) int64,
    and the class names of the whole dataset (y indexes them)."""

    x: StoredImages | np.ndarray
    y: np.ndarray
    classes: list[str]


def load_labelled_split(name_or_path: str, split: str, *, data_dir: str | None = None,
                        val_fraction: float = 0.1, test_fraction: float = 0.2, seed: int = 0,
                        strict: bool = False, limit: int | None = None,
                        resize: tuple[int, int] | None = None) -> LabelledSplit:
    """One split with its dataset's class names, the images left as stored (read per batch).

    The same images and labels as ``load_dataset(...same arguments...).split(split)``. The
    official test split of MNIST, Fashion-MNIST, CIFAR-10 or a folder of IDX files is read
    without the training images (MNIST: 0.1 s instead of 0.8 s); any other split, or a
    dataset whose test split is carved out of all its data, is loaded whole. Training
    statistics are not computed: a trained model's come from its ``model.json``.
    """
    if split not in SPLITS:
        raise UsageError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    test = _official_test(name_or_path, data_dir) if split == "test" else None
    if test is not None:
        _load_checks(val_fraction, test_fraction, limit)
        x, y, classes = test
    else:
        ds = _load(name_or_path, data_dir, val_fraction, test_fraction, seed, strict, limit, resize)
        (x, y), classes = ds.split(split), ds.classes
        resize = None  # done by _load
    if resize is not None and tuple(x.shape[2:]) != tuple(resize):
        x = x.resized(tuple(resize))
    return LabelledSplit(x, y, list(classes))


def load_split(name_or_path: str, split: str, *, data_dir: str | None = None,
               val_fraction: float = 0.1, test_fraction: float = 0.2, seed: int = 0,
               strict: bool = False, limit: int | None = None,
               resize: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of one split, equal to ``load_dataset(...same arguments...).split(split)``.

    x: (N, C, H, W) float32 in [0, 1], y: (N,) int64: :func:`load_labelled_split` with the
    images converted to float32 (a resized split must fit MAX_RESIZED_VALUES, checked
    before anything is allocated).
    """
    found = load_labelled_split(name_or_path, split, data_dir=data_dir, val_fraction=val_fraction,
                                test_fraction=test_fraction, seed=seed, strict=strict, limit=limit,
                                resize=resize)
    x = found.x
    if isinstance(x, StoredImages):
        if x.size is not None and int(np.prod(x.shape)) > MAX_RESIZED_VALUES:
            C, h, w = x.shape[1:]
            raise UsageError(f"--resize {h}x{w}: the {split} split would take "
                             f"{np.prod(x.shape) * 4 / 2**30:.1f} GiB as float32, over the limit of "
                             f"{MAX_RESIZED_VALUES * 4 / 2**30:.0f} GiB; use a smaller size")
        x = x.materialise()
    return x, found.y


def _load_checks(val_fraction, test_fraction, limit) -> None:
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise UsageError(f"val fraction {val_fraction} and test fraction {test_fraction} "
                         "must be >= 0 and sum to less than 1")
    if limit is not None and limit < 1:
        raise UsageError(f"limit must be at least 1, got {limit}")


def _load(name_or_path, data_dir, val_fraction, test_fraction, seed, strict, limit, resize) -> Dataset:
    _load_checks(val_fraction, test_fraction, limit)
    if name_or_path in LOADERS:
        ds = _load_named(name_or_path, data_dir, val_fraction, test_fraction, seed, limit)
        return ds if resize is None else _resize_splits(ds, resize)
    path = Path(name_or_path).expanduser()
    if not path.exists():
        raise UsageError(f"{name_or_path!r} is neither a dataset name ({', '.join(DATASET_NAMES)}) "
                         "nor an existing folder or CSV file")
    if not path.is_dir():
        check_regular_file(path, "dataset path")  # a device or a pipe is neither folder nor CSV
    return _load_path(path, val_fraction, test_fraction, seed, strict, limit, resize)
