"""Fetch an IDX dataset into the cache, checking every file's SHA-256 sum.

Files are taken one by one from the first source (see :mod:`cnnlab.data.sources`) that
holds a copy with the right sum; a corrupt or truncated copy is reported and the next
source is tried. Good files are written, uncompressed, into the cache atomically; a
corrupt file found in the cache is deleted so it can never be trained on.
"""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path
from typing import Callable, Sequence

from cnnlab.data.checksums import IDX_FILES, SHA256, file_problem
from cnnlab.data.sources import (
    Source, SourceUnavailable, cache_dir, default_sources, find_file, system_dir,
)
from cnnlab.errors import UsageError
from cnnlab.userfiles import write_atomic

__all__ = ["FETCHABLE", "fetch_dataset", "find_idx_folder"]

FETCHABLE = tuple(SHA256)  # ("mnist", "fashion-mnist")


def _check_name(name: str) -> None:
    if name not in SHA256:
        hint = {
            "digits": "digits ships with scikit-learn: nothing to fetch",
            "cifar10": "cifar10 is not fetched by cnnlab: put cifar-10-batches-py in "
                       f"{cache_dir('cifar10')} (or pass cnnlab train --data-dir FOLDER)",
        }.get(name, f"choose one of {', '.join(FETCHABLE)}")
        raise UsageError(f"cannot fetch {name!r}: {hint}")


MAX_IDX_BYTES = 64 * 2**20  # an IDX file uncompressed (MNIST's largest: 47 MB); more is not one


def _install(src: Path, dest: Path) -> None:
    """Copy ``src`` (raw or .gz) to ``dest`` uncompressed, atomically
    (:func:`cnnlab.userfiles.write_atomic`); at most MAX_IDX_BYTES are read."""
    opener = gzip.open if src.suffix == ".gz" else open
    with opener(src, "rb") as source:
        data = source.read(MAX_IDX_BYTES + 1)
    if len(data) > MAX_IDX_BYTES:
        raise UsageError(f"{src} holds more than {MAX_IDX_BYTES // 2**20} MiB: not an IDX file of "
                         "a dataset cnnlab fetches")
    dest.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(dest, data, "dataset file")


def fetch_dataset(name: str, dir: str | Path | None = None, *,
                  log: Callable[[str], None] = print,
                  sources: Sequence[Source] | None = None) -> Path:
    """Find or download dataset ``name``, verify SHA-256, return the cache folder.

    ``dir`` is a folder to look in first. ``sources`` replaces the default order
    (tests use it). Raises UsageError when no source has a good copy of every file.
    """
    _check_name(name)
    expected = SHA256[name]
    cache = cache_dir(name)
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the cache folder {cache} ({exc.strerror}); "
                         "set CNNLAB_DATA to a writable folder") from None
    need = list(IDX_FILES)
    tried: list[str] = []
    with tempfile.TemporaryDirectory(prefix="cnnlab-fetch-") as scratch:
        for source in (default_sources(name, dir) if sources is None else sources):
            if not need:
                break
            try:
                folder = source.open(Path(scratch), tuple(need))
            except SourceUnavailable as exc:
                tried.append(f"{source.label}: {exc}")
                log(f"  skipped {source.label}: {exc}")
                continue
            for file in list(need):
                path = find_file(folder, file)
                if path is None:
                    continue
                problem = file_problem(path, expected[file])
                if problem:
                    log(f"  {problem}; trying the next source")
                    if path.parent.resolve() == cache.resolve():
                        path.unlink(missing_ok=True)
                    continue
                if path != cache / file:
                    _install(path, cache / file)
                log(f"  {file}: sha256 ok ({source.label})")
                need.remove(file)
            tried.append(f"{source.label}: " + ("missing " + ", ".join(need) if need else "ok"))
    if need:
        raise UsageError(
            f"could not get a verified copy of {name} ({', '.join(need)}) from any source; "
            f"tried: {'; '.join(tried)}. Put the files in a folder and run: "
            f"cnnlab data fetch {name} --dir FOLDER"
        )
    return cache


def find_idx_folder(name: str, data_dir: str | Path | None = None,
                    verify: tuple[str, ...] = IDX_FILES) -> Path:
    """The folder to load ``name`` from, with all four files present and ``verify`` (the
    files the caller reads; default all four) checked against their SHA-256.

    Looks in ``data_dir``, ``data_dir/<name>``, the cache, the system folder (never the
    network). Missing -> UsageError giving the fetch command; corrupt -> UsageError.
    """
    candidates = []
    if data_dir is not None:
        candidates += [Path(data_dir).expanduser(), Path(data_dir).expanduser() / name]
    candidates += [cache_dir(name), system_dir(name)]
    fetch = f"cnnlab data fetch {name}" + (f" --dir {data_dir}" if data_dir else "")
    for folder in candidates:
        files = [find_file(folder, file) for file in IDX_FILES]
        if any(path is None for path in files):
            continue
        for file, path in zip(IDX_FILES, files):
            if file not in verify:
                continue
            problem = file_problem(path, SHA256[name][file])
            if problem:
                raise UsageError(f"{problem}; fetch it again with: {fetch}")
        return folder
    where = ", ".join(str(c) for c in candidates)
    raise UsageError(f"{name} is not downloaded (looked in {where}); run: {fetch}")
