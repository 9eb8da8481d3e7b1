"""Per-thread capture of what a CLI handler prints, so the server can call the handlers.

The API runs the very handlers of ``cnnlab conv|pool|act|arch`` (same parsing, same
checks, same messages) in worker threads. Each worker diverts ``sys.stdout`` for its own
thread only: a proxy installed once forwards every other thread's writes to the real
stream, so concurrent requests never see each other's output.
"""

from __future__ import annotations

import io
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

__all__ = ["captured_stdout"]

_local = threading.local()
_install_lock = threading.Lock()


class _ThreadStdout(io.TextIOBase):
    """``sys.stdout`` stand-in: writes go to this thread's buffer when one is set."""

    def __init__(self, real):
        self.real = real

    def _target(self):
        return getattr(_local, "buffer", None) or self.real

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def writable(self) -> bool:
        return True

    def __getattr__(self, name):  # encoding, fileno, isatty... of the real stream
        return getattr(self.real, name)


def _install() -> None:
    with _install_lock:
        if not isinstance(sys.stdout, _ThreadStdout):
            sys.stdout = _ThreadStdout(sys.stdout)


@contextmanager
def captured_stdout() -> Iterator[io.StringIO]:
    """Collect what this thread prints inside the block.

    >>> with captured_stdout() as out:
    ...     print("hello")
    >>> out.getvalue()
    'hello\\n'
    """
    _install()
    buffer = io.StringIO()
    previous = getattr(_local, "buffer", None)
    _local.buffer = buffer
    try:
        yield buffer
    finally:
        _local.buffer = previous
