"""Reading a file the user names: only regular files, only up to a size, only UTF-8 text.

A device (``/dev/zero`` reads forever), a named pipe (blocks until someone writes), a
folder or a socket is refused with a message that says what the path is, before it is
opened. Text is decoded as UTF-8 (a byte-order mark is dropped); anything else is
refused naming the file and the byte. docs/limits.md lists the size limits.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cnnlab.errors import UsageError

__all__ = ["MAX_TEXT_BYTES", "path_kind", "check_regular_file", "read_text_file"]

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
    kind = path_kind(path)
    if kind == "missing":
        raise UsageError(f"cannot read {what} {path}: it does not exist")
    if kind != "a regular file":
        raise UsageError(f"{what} {path} is {kind}, not a regular file")
    return Path(path)


def read_text_file(path: str | Path, what: str = "file", max_bytes: int = MAX_TEXT_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes`` bytes (BOM dropped)."""
    path = check_regular_file(path, what)
    size = path.stat().st_size
    if size > max_bytes:
        raise UsageError(f"{what} {path} is {size:,} bytes, over the limit of {max_bytes:,} bytes")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from None
    if len(raw) > max_bytes:  # grew while being read
        raise UsageError(f"{what} {path} is over the limit of {max_bytes:,} bytes")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what} {path} is not UTF-8 text (byte {exc.start}: {exc.reason})") from None
