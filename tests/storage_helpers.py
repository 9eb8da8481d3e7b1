"""Shared by the storage tests: writes that fail on cue, and private copies of a finished run."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from cnnlab.storage import RunFolder


class FailingOs:
    """``os`` whose function ``name`` raises OSError(``code``) from its ``after``-th call on.

    Put in place of ``cnnlab.userfiles.os`` (monkeypatch), it fails the atomic writer at
    one step — ``open`` the temporary file, ``write``, ``fsync``, ``replace`` — as a full
    disk or a failing device would.
    """

    def __init__(self, name: str, after: int = 0, code: int = errno.ENOSPC):
        self.name, self.after, self.code, self.calls = name, after, code, 0

    def __getattr__(self, attr):
        real = getattr(os, attr)
        if attr != self.name:
            return real

        def failing(*args, **kwargs):
            self.calls += 1
            if self.calls > self.after:
                raise OSError(self.code, os.strerror(self.code))
            return real(*args, **kwargs)
        return failing


def copy_run(pristine: Path, where: Path) -> Path:
    """A copy of the run folder ``pristine`` at ``where`` (replaced if there), its
    ``config.yaml`` naming its own path (hash kept), to be damaged by one test."""
    if where.exists():
        shutil.rmtree(where)
    shutil.copytree(pristine, where)
    text = (where / "config.yaml").read_text().replace(str(pristine), str(where))
    RunFolder(where).write("config.yaml", text)
    return where
