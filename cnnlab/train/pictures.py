"""A run's pictures, drawn by a worker process started with the training and joined at the end.

matplotlib is pure Python under the GIL. Imported on a thread during training and drawn on
a thread beside the final scoring, it held the GIL for ~1 s that the training loop and the
scoring kernels then waited for (the train-sample scoring ran 2x slower beside the
drawing). Here a separate interpreter (``python -m cnnlab.train.picture_worker``) is
started when training starts: it imports matplotlib on the other core while the model
trains, then draws each picture as soon as its numbers exist (the learning curves when
training ends, the confusion matrix once the test split is scored), in parallel with the
rest of the scoring. :meth:`Pictures.join` waits for it: every PNG is written (atomically)
before the run's summary, and no process outlives the run; a failed drawing is raised in
the run. A fresh interpreter rather than a fork: forking the trainer copied its page tables
(35-120 ms a fork) and made its next writes copy-on-write faults (8x slower).
Where no interpreter can be started, or matplotlib is loaded in this process already (a
notebook, a test session), a thread draws.

The worker runs no torch; jobs and its error report travel as pickles over its own pipes.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from cnnlab.train.picture_worker import DRAWERS

__all__ = ["Pictures"]


class Pictures:
    """Pictures drawn while the caller goes on; :meth:`join` waits and raises a failure.

    ``draw(name, *args)`` draws ``DRAWERS[name](*args)`` (cnnlab.train.picture_worker).
    ``process``: draw in the worker process (default: unless this process has imported
    matplotlib's Agg backend already, where a thread costs no import) or on threads.

    >>> import tempfile, pathlib, numpy as np
    >>> png = pathlib.Path(tempfile.mkdtemp()) / "confusion.png"
    >>> with Pictures() as pictures:
    ...     pictures.draw("confusion", np.eye(2, dtype=int), ["no", "yes"], png)
    >>> png.read_bytes()[:4]
    b'\\x89PNG'
    """

    def __init__(self, process: bool | None = None):
        if process is None:  # a process that has matplotlib already (a notebook) draws on a thread
            process = "matplotlib.backends.backend_agg" not in sys.modules
        self._process = _start_worker() if process else None
        self._threads: list[threading.Thread] = []
        self._failed: list[BaseException] = []

    def __enter__(self) -> "Pictures":
        return self

    def __exit__(self, kind, exc, traceback) -> None:
        if kind is None:
            self.join()
            return
        try:  # the run is failing already: wait for the worker, keep the run's exception
            self.join()
        except BaseException:  # noqa: BLE001
            pass

    def draw(self, name: str, *args: Any) -> None:
        """Start drawing picture ``name`` from ``args`` and return at once."""
        if name not in DRAWERS:  # a bug in the caller: raised here, not in the worker
            raise KeyError(f"no picture named {name!r}; known: {', '.join(DRAWERS)}")
        if self._process is not None:
            try:
                pickle.dump((name, args), self._process.stdin)
                self._process.stdin.flush()
                return
            except (BrokenPipeError, OSError):  # the worker is gone: join() says why
                return
        thread = threading.Thread(target=self._draw_here, args=(name, args), name="cnnlab-picture")
        thread.start()
        self._threads.append(thread)

    def join(self) -> None:
        """Wait for every picture; re-raise the first failure (its exception, or a RuntimeError)."""
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        if self._process is not None:
            process, self._process = self._process, None
            try:
                # "no more jobs" said in the pipe, not only by closing it: DataLoader workers
                # forked since the worker started hold copies of its stdin, so no EOF comes
                pickle.dump(None, process.stdin)
                process.stdin.flush()
            except (BrokenPipeError, OSError):  # the worker is gone: its status says why
                pass
            try:
                report, errors = process.communicate()
            except (BrokenPipeError, OSError):
                process.wait()
                report, errors = b"", b""
            if process.returncode != 0:
                self._failed.append(_exception(report, errors, process.returncode))
        if self._failed:
            raise self._failed.pop(0)

    def _draw_here(self, name: str, args: tuple) -> None:
        try:
            DRAWERS[name](*args)
        except BaseException as exc:  # re-raised by join() on the caller's thread
            self._failed.append(exc)


def _start_worker() -> subprocess.Popen | None:
    """``python -m cnnlab.train.picture_worker`` importing this very cnnlab; None where no
    interpreter can be started (then a thread draws)."""
    root = str(Path(__file__).resolve().parents[2])  # the folder holding this cnnlab package
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    try:
        return subprocess.Popen([sys.executable, "-m", "cnnlab.train.picture_worker"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, close_fds=True)
    except OSError:
        return None


def _exception(report: bytes, errors: bytes, code: int) -> BaseException:
    """The exception the worker reported (or a RuntimeError with its last words)."""
    if report:
        try:
            text, exc = pickle.loads(report)  # written by our own worker process
            return exc if isinstance(exc, BaseException) else RuntimeError(text)
        except Exception:  # noqa: BLE001 - a report that does not unpickle: its words below
            pass
    tail = errors.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
    return RuntimeError(f"the process drawing the run's pictures ended with status {code}: {tail[0]}")
