"""One writer per folder: an OS file lock held while a run, study or explanation writes there.

``folder_lock(path)`` takes ``fcntl.flock`` on ``path/.cnnlab.lock`` and holds it until
the block ends (the last holder then removes the file). The kernel drops the lock when
the process ends in any way (a crash, a SIGKILL), so a stale lock file never blocks the
next run; a second process that asks for a held lock is refused at once with the
holder's process id (docs/runs.md).

``shared=True`` takes a shared lock: any number of shared holders (the workers of one
``cnnlab tune`` study) coexist, and an exclusive holder (``train``, ``explain``) excludes
them all.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path
from typing import Iterator

from cnnlab.errors import UsageError

__all__ = ["folder_lock", "LOCK_NAME", "lock_holders"]

LOCK_NAME = ".cnnlab.lock"


def lock_holders(folder: Path) -> list[int]:
    """Process ids written in ``folder``'s lock file that are still alive (best effort)."""
    try:
        text = (Path(folder) / LOCK_NAME).read_text(encoding="ascii", errors="replace")
    except OSError:
        return []
    pids = []
    for word in text.split():
        if word.isdigit() and int(word) not in pids and _alive(int(word)):
            pids.append(int(word))
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _make_folders(folder: Path) -> Path | None:
    """``mkdir -p folder``; returns the topmost folder this call created (None if it existed)."""
    missing = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    folder.mkdir(parents=True, exist_ok=True)
    return missing[-1] if missing else None


def _remove_empty(top: Path | None, folder: Path) -> None:
    """Remove ``folder`` and its parents up to ``top`` while they are empty."""
    if top is None:
        return
    probe = folder
    while True:
        try:
            probe.rmdir()
        except OSError:
            return
        if probe == top:
            return
        probe = probe.parent


@contextlib.contextmanager
def folder_lock(folder: str | Path, what: str = "run folder", *, shared: bool = False,
                cleanup: bool = True) -> Iterator[Path]:
    """Hold the lock of ``folder`` (created if missing) for the duration of the block.

    UsageError ``FOLDER is in use by process PID`` when another process holds it.
    With ``cleanup``, a folder this call created is removed again when the block raises
    and leaves nothing in it but the lock file (a refused run leaves no folder behind).
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no advisory locks; run unguarded
        Path(folder).mkdir(parents=True, exist_ok=True)
        yield Path(folder)
        return
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--out {folder} is a file, not a folder")
    try:
        created = _make_folders(folder)
    except OSError as exc:
        raise UsageError(f"cannot create {what} {folder}: {exc.strerror}") from None
    path = folder / LOCK_NAME
    fd = _acquire(path, folder, what, shared, fcntl)
    ok = False
    try:
        if shared:
            os.write(fd, f"{os.getpid()}\n".encode())  # O_APPEND: each holder adds its line
        else:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        yield folder
        ok = True
    finally:
        if _last_holder(fd, shared, fcntl):  # removed while held: a newcomer sees a new file
            with contextlib.suppress(OSError):
                path.unlink()
        if not ok and cleanup and created is not None:
            _remove_empty(created, folder)
        os.close(fd)  # releases the lock


def _last_holder(fd: int, shared: bool, fcntl) -> bool:
    """Whether no other process holds the lock (a shared holder tries to turn exclusive)."""
    if not shared:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _acquire(path: Path, folder: Path, what: str, shared: bool, fcntl) -> int:
    """An open descriptor of ``path`` holding the lock (retrying when the file was replaced)."""
    mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
    for _ in range(10):
        try:  # never through a link, never blocking on a pipe planted under the lock's name
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NONBLOCK
                         | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as exc:
            why = "it is a symbolic link" if exc.errno == errno.ELOOP else exc.strerror
            raise UsageError(f"cannot lock {what} {folder}: {path.name} {why}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise UsageError(f"cannot lock {what} {folder}: {path.name} is not a regular file "
                             f"(remove it)")
        try:
            fcntl.flock(fd, mode)
        except BlockingIOError:
            os.close(fd)
            holders = lock_holders(folder)
            who = (f"process {', '.join(map(str, holders))}" if holders
                   else "another process")
            raise UsageError(f"{folder} is in use by {who}; wait for it to finish, or use "
                             f"another --out") from None
        except OSError as exc:  # a file system without locks
            os.close(fd)
            raise UsageError(f"cannot lock {what} {folder}: {exc.strerror}") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # a refused run removed the file between our open and lock: again
    raise UsageError(f"cannot lock {what} {folder}: its lock file keeps changing")

