"""The user's own data: an image folder (one sub-folder per class) or a CSV of path,label.

Files may be PNG/JPEG/BMP/TIFF images or band stacks (``.npy``, multi-band TIFF; see
:mod:`cnnlab.data.images` for the channel rules), but not both in one dataset. Every
file is probed (header only) before anything is allocated; sizes and channels must agree
unless a ``resize`` is asked for. Corrupt files are skipped and counted, or refused when
``strict``.

The values are held as stored (:class:`~cnnlab.data.stored.StoredImages`): 8-bit images
as uint8, band stacks in their own dtype (uint16 tiles stay uint16), resized when read.
Only a folder whose files differ in size (``--resize`` needed) or that mixes 8-bit with
16-bit / float images is converted to float32 while loading, as before.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnnlab.data.images import ARRAY_SUFFIXES, IMAGE_SUFFIXES, WIDE_MODES, CorruptFile, probe, read, read_raw
from cnnlab.data.stored import StoredImages
from cnnlab.data.streamed import FileArray
from cnnlab.errors import UsageError
from cnnlab.userfiles import read_text_file

__all__ = ["Files", "Loaded", "list_folder", "list_csv", "load_files", "MAX_DATASET_BYTES"]

SUFFIXES = IMAGE_SUFFIXES | ARRAY_SUFFIXES
MAX_DATASET_BYTES = 16 * 2**30  # bytes held in memory (as stored); bigger sets are refused
MAX_CSV_BYTES = 64 * 2**20  # a CSV list of path,label rows


@dataclass
class Files:
    """Listed files: ``paths[i]`` has label ``labels[i]`` indexing ``classes``."""

    paths: list[Path]
    labels: list[int]
    classes: list[str]
    source: str


@dataclass
class Loaded:
    """x: (N, C, H, W) stored images (images read in [0, 1], arrays raw), y: (N,) int64."""

    x: StoredImages
    y: np.ndarray
    kind: str  # "image" or "array"
    skipped: int = 0
    notes: list[str] = field(default_factory=list)


def _visible(path: Path, root: Path) -> bool:
    return not any(part.startswith(".") for part in path.relative_to(root).parts)


def list_folder(root: Path) -> Files:
    """Files of an image folder: each sub-folder (searched recursively) is one class."""
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder")
    classes, paths, labels = [], [], []
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        found = sorted(p for p in sub.rglob("*")
                       if p.suffix.lower() in SUFFIXES and p.is_file() and _visible(p, root))
        if found:
            paths += found
            labels += [len(classes)] * len(found)
            classes.append(sub.name)
    if not paths:
        loose = [p for p in root.iterdir() if p.suffix.lower() in SUFFIXES]
        where = (f"the {len(loose)} files sit directly in {root}" if loose
                 else f"no .png/.jpg/.npy files in {root}")
        raise UsageError(f"no images found: {where}; expected one sub-folder per class "
                         f"(e.g. {root}/cat/1.png, {root}/dog/2.png)")
    return Files(paths, labels, classes, str(root))


def _sort_key(label: str):
    try:
        return (0, int(label), label)
    except ValueError:
        return (1, 0, label)


def list_csv(path: Path) -> Files:
    """Files named in a CSV of ``path,label`` rows (optional header; paths relative to the CSV)."""
    text = read_text_file(path, "CSV file", MAX_CSV_BYTES)  # regular, UTF-8 (a BOM is dropped)
    rows = []
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 2:
            raise UsageError(f"{path}:{number}: expected 2 columns path,label, got {len(row)}")
        file, label = row[0].strip(), row[1].strip()
        if not rows and file.lower() in ("path", "file", "filename", "image") and label.lower() in ("label", "class"):
            continue  # header
        if not file or not label:
            raise UsageError(f"{path}:{number}: empty path or label")
        rows.append((number, file, label))
    if not rows:
        raise UsageError(f"{path} has no path,label rows")
    base = path.parent
    missing = [(n, f) for n, f, _ in rows if not (base / f).is_file()]
    if missing:
        n, f = missing[0]
        raise UsageError(f"{len(missing)} of {len(rows)} paths in {path} do not exist, "
                         f"e.g. line {n}: {f} (paths are relative to the CSV's folder)")
    classes = sorted({label for _, _, label in rows}, key=_sort_key)
    index = {c: i for i, c in enumerate(classes)}
    return Files([base / f for _, f, _ in rows], [index[l] for _, _, l in rows], classes, str(path))


def _shape_text(shape) -> str:
    return "x".join(str(s) for s in shape)


def load_files(files: Files, *, strict: bool = False,
               resize: tuple[int, int] | None = None) -> Loaded:
    """Probe, check and decode ``files`` into one (N, C, H, W) array, held as stored."""
    bad: list[tuple[Path, str]] = []

    def corrupt(path: Path, reason: str) -> None:
        if strict:
            raise UsageError(f"corrupt file {path}: {reason} (without --strict it is skipped)")
        bad.append((path, reason))

    probes, labels = [], []
    for path, label in zip(files.paths, files.labels):
        try:
            probes.append(probe(path))
            labels.append(label)
        except CorruptFile as exc:
            corrupt(path, str(exc))
    if not probes:
        raise UsageError(f"none of the {len(files.paths)} files in {files.source} is readable, "
                         f"e.g. {bad[0][0]}: {bad[0][1]}")
    kinds = {p.kind: p for p in probes}
    if len(kinds) > 1:
        raise UsageError(f"{files.source} mixes images ({kinds['image'].path}) and .npy arrays "
                         f"({kinds['array'].path}); use one kind")
    kind = probes[0].kind
    notes = []
    if kind == "image":
        channels = 3 if any(p.shape[0] == 3 for p in probes) else 1
        if channels == 3 and any(p.shape[0] == 1 for p in probes):
            notes.append("grayscale images were converted to RGB to match the colour ones")
    else:
        common = Counter(p.shape[0] for p in probes).most_common(1)[0][0]
        first = next(p for p in probes if p.shape[0] == common)
        odd = next((p for p in probes if p.shape[0] != common), None)
        if odd is not None:
            raise UsageError(f"arrays differ in band count: {first.path} is {_shape_text(first.shape)} "
                             f"but {odd.path} is {_shape_text(odd.shape)}")
        channels = common
    sizes = Counter(p.shape[1:] for p in probes)
    if resize is None and len(sizes) > 1:
        common_hw = sizes.most_common(1)[0][0]
        first = next(p for p in probes if p.shape[1:] == common_hw)
        odd = next(p for p in probes if p.shape[1:] != common_hw)
        raise UsageError(
            f"images differ in size: {first.path} is {_shape_text((channels, *first.shape[1:]))} "
            f"but {odd.path} is {_shape_text((channels, *odd.shape[1:]))}; resize them first "
            f"or ask for it with --resize {common_hw[0]}x{common_hw[1]}")
    if resize is not None:
        notes.append(f"resized to {resize[0]}x{resize[1]} (bilinear)")
    # one size: held as stored and resized when read; mixed sizes: resized now, as float32
    native = len(sizes) == 1 and (kind == "array" or not any(p.mode in WIDE_MODES for p in probes))
    native = native and not (kind == "array" and resize is not None)
    if native:
        dtype = _stored_dtype(probes)
        H, W = next(iter(sizes))
    else:  # band stacks keep the old order (resize, then the band range) so results stay the same
        dtype = np.dtype(np.float32)
        H, W = resize if resize is not None else next(iter(sizes))
    N = len(probes)
    held = N * channels * H * W * dtype.itemsize
    if held > MAX_DATASET_BYTES and native:  # read from disk per batch instead of held
        files = FileArray(tuple(probes), channels, (H, W), dtype)
        notes.append(f"{N} files of {channels}x{H}x{W} take {held / 2**30:.1f} GiB as stored, over the "
                     f"{MAX_DATASET_BYTES / 2**30:.0f} GiB held in memory: read from disk per batch")
        stored = StoredImages(files, divisor=np.float32(255 if dtype == np.uint8 and kind == "image" else 1))
        return Loaded(stored.resized(resize), np.asarray(labels, np.int64), kind, len(bad), notes)
    if held > MAX_DATASET_BYTES:
        what = "as stored" if dtype != np.float32 else "as float32"
        fits = int((MAX_DATASET_BYTES / (dtype.itemsize * N * channels)) ** 0.5)
        raise UsageError(f"{N} images of {channels}x{H}x{W} need {held / 2**30:.1f} GiB {what}, over the "
                         f"{MAX_DATASET_BYTES / 2**30:.0f} GiB cnnlab holds in memory; use fewer files"
                         + (f" or a --resize up to {fits}x{fits}" if dtype == np.float32 else ""))
    x = np.empty((N, channels, H, W), dtype)
    y = np.empty(N, np.int64)
    kept = 0
    for found, label in zip(probes, labels):
        try:
            x[kept] = read_raw(found, channels, dtype) if native else read(found, channels, resize)
        except CorruptFile as exc:
            corrupt(found.path, str(exc))
            continue
        y[kept] = label
        kept += 1
    if bad:
        notes.append(f"skipped {len(bad)} unreadable files, e.g. {bad[0][0]}: {bad[0][1]}")
    stored = StoredImages(x[:kept], divisor=np.float32(255 if dtype == np.uint8 and kind == "image" else 1))
    return Loaded(stored.resized(resize) if native else stored, y[:kept], kind, len(bad), notes)


def _stored_dtype(probes) -> np.dtype:
    """The dtype that holds every file's values: uint8 for 8-bit images, else the widest
    band dtype (float64 held as float32, as before)."""
    if probes[0].kind == "image":
        return np.dtype(np.uint8)
    dtype = np.result_type(*(np.dtype(p.mode) for p in probes))
    if dtype == np.bool_:
        return np.dtype(np.uint8)
    return np.dtype(np.float32) if dtype.itemsize > 4 or dtype.kind == "f" else dtype
