"""Drawing a run's pictures beside its final scoring, and waiting for them before the end.

matplotlib is pure Python under the GIL: drawn on a thread, the learning curves and the
confusion matrix took 0.5 s of the GIL while the model scored the test and train images,
and every torch kernel of the scoring then waited for the GIL to come back (the
train-sample scoring ran 2x slower beside the drawing). Where the platform forks (Linux),
each picture is drawn in a forked child process instead: it shares nothing with the
scoring but the second core, writes its PNG atomically and exits with ``os._exit``;
:meth:`Pictures.join` waits for every child, so no process outlives the run and a failed
drawing is raised in the run (docs/training.md, "Speed"). Elsewhere a thread draws.

The child runs only the drawing function (matplotlib, NumPy, the PNG write): no torch
call, so forking a process that has used torch (or CUDA) is safe here.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
import warnings
from typing import Any, Callable

__all__ = ["Pictures", "can_fork"]


def can_fork() -> bool:
    """Whether pictures are drawn in forked children (Linux; macOS's frameworks forbid
    work after fork, and Windows has no fork)."""
    return hasattr(os, "fork") and sys.platform.startswith("linux")


class Pictures:
    """Pictures drawn while the caller goes on; :meth:`join` waits and raises a failure.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with Pictures() as pictures:
    ...     pictures.draw(lambda path: path.write_text("drawn"), folder / "a.txt")
    >>> (folder / "a.txt").read_text()
    'drawn'
    """

    def __init__(self, fork: bool | None = None):
        self.fork = can_fork() if fork is None else fork
        self._children: list[tuple[int, int]] = []  # (pid, read end of its error pipe)
        self._threads: list[threading.Thread] = []
        self._failed: list[BaseException] = []

    def __enter__(self) -> "Pictures":
        return self

    def __exit__(self, kind, exc, traceback) -> None:
        if kind is None:
            self.join()
            return
        try:  # the run is failing already: wait for the children, keep its exception
            self.join()
        except BaseException:  # noqa: BLE001
            pass

    def draw(self, function: Callable[..., Any], *args: Any) -> None:
        """Start ``function(*args)`` in a child process (or a thread) and return at once."""
        if self.fork:
            self._fork(function, args)
        else:
            thread = threading.Thread(target=self._run_caught, args=(function, args), name="cnnlab-picture")
            thread.start()
            self._threads.append(thread)

    def join(self) -> None:
        """Wait for every picture; re-raise the first failure (its exception, or a RuntimeError)."""
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        for pid, read_end in self._children:
            with os.fdopen(read_end, "rb") as pipe:
                report = pipe.read()  # empty: drawn
            _, status = os.waitpid(pid, 0)
            if report or os.waitstatus_to_exitcode(status) != 0:
                self._failed.append(_exception(report, status))
        self._children.clear()
        if self._failed:
            raise self._failed[0]

    def _run_caught(self, function: Callable[..., Any], args: tuple) -> None:
        try:
            function(*args)
        except BaseException as exc:  # re-raised by join() on the caller's thread
            self._failed.append(exc)

    def _fork(self, function: Callable[..., Any], args: tuple) -> None:
        read_end, write_end = os.pipe()
        for stream in (sys.stdout, sys.stderr):  # nothing buffered is written twice
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        with warnings.catch_warnings():
            # Python 3.12+ warns when a multi-threaded process forks; the child calls no
            # library that holds a lock across the fork (no torch, only matplotlib/NumPy)
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: draw, report, and leave without running the parent's teardown
            code = 0
            try:
                os.close(read_end)
                function(*args)
            except BaseException as exc:  # noqa: BLE001 - every failure goes to the parent
                code = 1
                try:
                    os.write(write_end, _pickled(exc))
                except BaseException:  # noqa: BLE001
                    pass
            finally:
                os._exit(code)
        os.close(write_end)
        self._children.append((pid, read_end))


def _pickled(exc: BaseException) -> bytes:
    """The child's report: (text, the exception itself where it pickles)."""
    text = f"drawing a picture failed: {type(exc).__name__}: {exc}"
    try:
        return pickle.dumps((text, exc))
    except Exception:  # noqa: BLE001 - an exception that does not pickle: its text
        return pickle.dumps((text, None))


def _exception(report: bytes, status: int) -> BaseException:
    """The exception a child reported (or a RuntimeError saying how it ended)."""
    text = f"the process drawing a picture ended with status {os.waitstatus_to_exitcode(status)}"
    if report:
        try:
            text, exc = pickle.loads(report)
            if isinstance(exc, BaseException):
                return exc
        except Exception:  # noqa: BLE001 - an exception that does not unpickle: its text
            pass
    return RuntimeError(text)
