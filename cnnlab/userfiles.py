"""Every file cnnlab reads or writes on a user's behalf: safe reads and atomic writes.

Reading: only regular files, only up to a size, only UTF-8 text where text is wanted. A device (``/dev/zero`` reads forever), a named pipe (blocks until someone writes), a
folder or a socket is refused with a message that says what the path is, before it is
opened. Text is decoded as UTF-8 (a byte-order mark is dropped); anything else is
refused naming the file and the byte. docs/limits.md lists the size limits.

Writing (:func:`write_atomic`, the one atomic writer of cnnlab): through a temporary
file beside the target and a rename, so that no half-written file is ever seen, a
symbolic link at the target is replaced rather than written through, and a failed
write (a full disk) leaves neither a partial file nor the temporary one behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from cnnlab.errors import UsageError

__all__ = ["MAX_TEXT_BYTES", "path_kind", "check_regular_file", "read_text_file", "read_bytes",
           "write_atomic", "check_inside", "temporary_name", "mode_kind"]

MAX_TEXT_BYTES = 1_000_000  # configs, problem files, specs, CSV lists: refused above, unread


def path_kind(path: str | Path) -> str:
    """What ``path`` is, in words: "a regular file", "a folder", "a device file", ...

    >>> path_kind("/")
    'a folder'
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    return mode_kind(mode)


def mode_kind(mode: int) -> str:
    """What a file of ``st_mode`` ``mode`` is, in words (see :func:`path_kind`)."""
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_regular_file(path: str | Path, what: str = "file") -> Path:
    """``path`` as a Path when it is a regular file; else UsageError saying what it is."""
    if not str(path).strip():  # Path("") is ".", a folder the user never named
        raise UsageError(f"{what}: the file name is empty")
    kind = path_kind(path)
    if kind == "missing":
        raise UsageError(f"cannot read {what} {path}: it does not exist")
    if kind != "a regular file":
        raise UsageError(f"{what} {path} is {kind}, not a regular file")
    return Path(path)


def read_text_file(path: str | Path, what: str = "file", max_bytes: int = MAX_TEXT_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes`` bytes (BOM dropped)."""
    raw = read_bytes(path, what, max_bytes)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what} {path} is not UTF-8 text (byte {exc.start}: {exc.reason})") from None


# ------------------------------------------------------------------ safe reads and writes

def check_inside(path: str | Path, folder: str | Path, what: str = "file") -> Path:
    """``path`` resolved, when it lies inside ``folder`` resolved; else UsageError.

    Symbolic links are followed before the comparison, so a link (or a linked folder on
    the way) that leads out of ``folder`` is refused.

    >>> import tempfile, os
    >>> root = tempfile.mkdtemp()
    >>> check_inside(os.path.join(root, "a", "b"), root) == Path(root).resolve() / "a" / "b"
    True
    """
    base = Path(folder).resolve()
    resolved = Path(path).resolve()
    if resolved != base and base not in resolved.parents:
        raise UsageError(f"{what} {path} leads outside {folder} (through a symbolic link); "
                         f"cnnlab reads and writes only inside it")
    return resolved


def read_bytes(path: str | Path, what: str = "file", max_bytes: int = MAX_TEXT_BYTES, *,
               inside: str | Path | None = None) -> bytes:
    """The bytes of ``path``: a regular file of at most ``max_bytes`` bytes, opened safely.

    The file is opened without blocking (a named pipe never hangs the caller) and checked
    on the open descriptor (``fstat``): a device, pipe, socket or folder is refused before
    one byte is read, and so is a file over ``max_bytes`` (``/dev/zero`` cannot exhaust
    memory). ``inside``: the file must resolve to a place inside that folder (a symbolic
    link out of it is refused). UsageError naming ``what`` and the path otherwise.
    """
    path = Path(path)
    if inside is not None:
        check_inside(path, inside, what)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise UsageError(f"cannot read {what} {path}: it does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UsageError(f"{what} {path} is {mode_kind(info.st_mode)}, not a regular file")
        if info.st_size > max_bytes:
            raise UsageError(f"{what} {path} is {info.st_size:,} bytes, over the limit of "
                             f"{max_bytes:,} bytes")
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    if total > max_bytes:  # grew while being read
        raise UsageError(f"{what} {path} is over the limit of {max_bytes:,} bytes")
    return b"".join(chunks)


def temporary_name(path: Path) -> Path:
    """The temporary file :func:`write_atomic` writes before renaming (``.NAME.tmpPID``)."""
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


def write_atomic(path: str | Path, data: bytes | str, what: str = "file", *,
                 inside: str | Path | None = None, sync: bool = True) -> Path:
    """Write ``data`` to ``path`` all at once: a temporary file in the same folder, then a rename.

    Guarantees: a reader sees the old content or the new one, never a part (a kill at
    any instant, a full disk or an I/O error leaves the old file, or none, as it was);
    the temporary file is removed when the write fails; a symbolic link at ``path`` is
    replaced by the new file, never written through; ``inside``: the folder the file
    must end up in (a linked folder on the way that leads elsewhere is refused before
    anything is written). ``sync``: flush the data to the disk before the rename (so
    that a power cut leaves the old or the new file, not an empty one).

    UsageError ``cannot write PATH: REASON`` (naming the destination) on failure.
    """
    if not str(path).strip():  # Path("") is ".": the message would name a folder never typed
        raise UsageError(f"cannot write {what}: the file name is empty")
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if inside is not None:
        check_inside(path.parent, inside, what)
    if path.is_dir() and not path.is_symlink():
        raise UsageError(f"cannot write {what} {path}: it is a folder")
    tmp = temporary_name(path)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)  # left by an earlier process of the same id (a kill): ours
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            reason = exc.strerror or type(exc).__name__
            if exc.errno == errno.ENOSPC:
                reason += " (the disk is full; the file was left as it was)"
            raise UsageError(f"cannot write {what} {path}: {reason}") from None
        raise
    return path
