"""Content hashes of run files: ``NAME.sha256`` beside ``NAME``, checked before it is used.

Each file of a run folder that cnnlab reads back (checkpoints, config, model facts,
summary, metrics) is written with :func:`write_recorded`, which keeps a SHA-256 of its
content in ``NAME.sha256`` (``sha256sum`` format). The update is ordered so that a kill
at any instant leaves a pair that verifies (docs/runs.md):

1. the sidecar is rewritten to list the new hash *and* the old one;
2. the file is replaced (temporary file + rename);
3. the sidecar is rewritten to list the new hash alone.

:func:`read_verified` accepts a file whose hash is listed in its sidecar, refuses one
whose hash is not (the file was changed after cnnlab wrote it), and accepts a file of a
run that predates these hashes (no sidecar in the folder at all) with a note that it
cannot be verified.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from cnnlab.errors import UsageError
from cnnlab.userfiles import read_bytes, write_atomic

__all__ = ["write_recorded", "read_verified", "record_existing", "sidecar", "HASH_SUFFIX",
           "IntegrityError", "sha256_hex", "recovery_hint",
           "MAX_RUN_FILE_BYTES"]

HASH_SUFFIX = ".sha256"
_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")
MAX_SIDECAR_BYTES = 4096
MAX_RUN_FILE_BYTES = 2**34  # 16 GiB: far over any checkpoint cnnlab writes (ResNet-50: 100 MB)


class IntegrityError(UsageError):
    """A run file does not match the hash recorded when cnnlab wrote it."""


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``.

    >>> sha256_hex(b"")[:16]
    'e3b0c44298fc1c14'
    """
    return hashlib.sha256(data).hexdigest()


def sidecar(path: Path) -> Path:
    """Where the hash of ``path`` is kept (``best.pt`` -> ``best.pt.sha256``)."""
    path = Path(path)
    return path.with_name(path.name + HASH_SUFFIX)


def _replace(path: Path, data: bytes) -> None:
    write_atomic(path, data, "run file")


def _lines(hashes: list[str], name: str) -> bytes:
    return "".join(f"{h}  {name}\n" for h in hashes).encode("ascii")


def _recorded(path: Path, inside: str | Path | None = None) -> tuple[list[str], str | None] | None:
    """(hashes, problem) from the sidecar of ``path``; None when there is no sidecar."""
    side = sidecar(path)
    if not side.exists() and not side.is_symlink():
        return None
    try:
        text = read_bytes(side, "hash file", MAX_SIDECAR_BYTES, inside=inside).decode("ascii")
    except UsageError as exc:
        return [], str(exc)
    except UnicodeDecodeError:
        return [], f"{side} is not a hash file (not ASCII text)"
    hashes = []
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if not match:
            return [], f"{side} is not a hash file"
        if match[2] != path.name:
            return [], (f"{side} records the hash of {match[2]!r}, not of {path.name!r} "
                        f"(was a file copied over another?)")
        hashes.append(match[1])
    if not hashes:
        return [], f"{side} is empty"
    return hashes, None


def _current_hashes(path: Path) -> list[str]:
    """The recorded hash of the file now at ``path`` (empty when none is recorded).

    A sidecar lists two hashes only when a write was interrupted between its steps (a
    kill, a full disk): then the file is hashed to learn which of the two it holds, so
    that the next write never keeps the hash of content that is not there.
    """
    recorded = _recorded(path)
    if recorded is None or not recorded[0]:
        return []
    hashes = recorded[0]
    if len(hashes) == 1:
        return hashes
    try:
        current = sha256_hex(read_bytes(path, "run file", MAX_RUN_FILE_BYTES))
    except UsageError:
        return []
    return [current] if current in hashes else []


def write_recorded(path: str | Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` atomically and record its SHA-256 in ``path.sha256``."""
    path = Path(path)
    data = data.encode("utf-8") if isinstance(data, str) else data
    new = sha256_hex(data)
    keep = [h for h in _current_hashes(path) if h != new]
    if keep and path.exists():
        _replace(sidecar(path), _lines([new, *keep], path.name))  # 1. both are valid
    _replace(path, data)  # 2.
    _replace(sidecar(path), _lines([new], path.name))  # 3.


def record_existing(path: str | Path) -> bool:
    """Record the hash of a file written before hashes were kept; True when one was added."""
    path = Path(path)
    if not path.is_file() or sidecar(path).exists():
        return False
    data = read_bytes(path, "run file", MAX_RUN_FILE_BYTES)
    _replace(sidecar(path), _lines([sha256_hex(data)], path.name))
    return True


def _run_records_hashes(folder: Path) -> bool:
    return any(folder.glob("*" + HASH_SUFFIX))


def recovery_hint(path: Path) -> str:
    """How to go on when ``path`` (a file of a run folder) cannot be used."""
    run = path.parent
    if path.name == "last.pt":
        return (f"to go on, delete {path} and run the same `cnnlab train` command again (it "
                f"resumes from best.pt, which is checked on its own), or start over with "
                f"another --out")
    return f"start the run over with another --out (or delete {run})"


def read_verified(path: str | Path, notes: list[str] | None = None, *,
                  max_bytes: int | None = None, inside: str | Path | None = None) -> bytes:
    """The bytes of ``path`` once its hash matches its sidecar.

    IntegrityError (one line: the file, what is wrong, how to recover) on a mismatch or
    a missing sidecar in a folder that keeps them; a file of an older run (no sidecar in
    its folder) is returned with a note appended to ``notes``. The file and its sidecar
    are read with :func:`cnnlab.userfiles.read_bytes`: a pipe or device is refused at
    once, a file over ``max_bytes`` before it is read, one that leads outside
    ``inside`` (a symbolic link) before it is opened.
    """
    path = Path(path)
    limit = MAX_RUN_FILE_BYTES if max_bytes is None else max_bytes
    if not path.exists() and not path.is_symlink():
        raise UsageError(f"{path} is missing")
    for _ in range(3):  # a writer may be between steps 2 and 3 of write_recorded: read again
        recorded = _recorded(path, inside)
        data = read_bytes(path, "run file", limit, inside=inside)
        if recorded is None:
            if _run_records_hashes(path.parent):
                raise IntegrityError(f"{path} has no recorded hash ({sidecar(path).name} is "
                                     f"missing) although its run keeps them; "
                                     f"{recovery_hint(path)}")
            if notes is not None:
                notes.append(f"{path} was written before cnnlab recorded hashes: it cannot be "
                             f"verified")
            return data
        hashes, problem = recorded
        if problem:
            raise IntegrityError(f"{problem}; {recovery_hint(path)}")
        if sha256_hex(data) in hashes:
            return data
    raise IntegrityError(f"{path} does not match the SHA-256 recorded when cnnlab wrote it "
                         f"({sidecar(path).name}): it was changed or damaged since; "
                         f"{recovery_hint(path)}")
