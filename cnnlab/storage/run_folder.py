"""A run folder on disk: the one storage layer that train, evaluate, explain, compare, tune
and serve read and write runs through.

Layout (docs/runs.md): ``config.yaml`` (the settings), ``model.json`` (what rebuilds the
model and its input normalisation), ``metrics.csv`` (one row per epoch), ``best.pt`` and
``best.safetensors`` (the best epoch's state dict), ``last.pt`` (everything a resume
needs), ``summary.json``, pictures and reports; ``NAME.sha256`` beside every file that is
read back; ``.cnnlab.lock`` while a writer holds the folder.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import time
from pathlib import Path
from typing import Any

from cnnlab.errors import UsageError
from cnnlab.storage.hashes import (HASH_SUFFIX, MAX_RUN_FILE_BYTES, read_verified, record_existing,
                                   recovery_hint, write_recorded)
from cnnlab.storage.lock import LOCK_NAME, folder_lock
from cnnlab.userfiles import write_atomic

__all__ = ["RunFolder", "default_run_dir", "RUN_FILES", "RECORDED_FILES", "MAX_TEXT_BYTES"]

RUN_FILES = ("config.yaml", "model.json", "metrics.csv", "summary.json", "best.pt",
             "best.safetensors", "last.pt", "learning_curves.png", "confusion_matrix.png")
# the files read back (resume, evaluate, explain, serve, train --weights): each has NAME.sha256
RECORDED_FILES = ("config.yaml", "model.json", "metrics.csv", "summary.json", "best.pt",
                  "best.safetensors", "last.pt")
MAX_TEXT_BYTES = 4 * 2**20  # config.yaml, model.json, summary.json: far larger is not ours
MAX_TABLE_BYTES = 64 * 2**20  # metrics.csv


def default_run_dir(kind: str, data: str, when: float | None = None, root: str | Path = "runs",
                    *, stamp: bool = True) -> Path:
    """``runs/<kind>-<data>-<YYYYmmdd-HHMMSS>`` (UTC; a data path contributes its last part).

    ``kind``: the model name for ``train`` (an architecture spec or spec file becomes
    ``spec``/``spec-NAME``), ``compare`` for a comparison. A folder that exists already
    (two runs within a second) gets ``-2``, ``-3``, ... ``stamp=False``: ``runs/<kind>-<data>``,
    the same folder every time (a study that a rerun continues: ``tune``).

    >>> default_run_dir("small-cnn", "/tmp/tiles/", 0).name
    'small-cnn-tiles-19700101-000000'
    >>> default_run_dir("conv 3x3 8; fc 10", "mnist", 0).name
    'spec-mnist-19700101-000000'
    >>> default_run_dir("compare", "/", 0).name
    'compare-data-19700101-000000'
    """
    stem = Path(data.rstrip("/\\")).stem or "data"
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._") or "data"
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", kind):  # an architecture spec or a spec file
        kind = "spec" if re.search(r"[\s;]", kind.strip()) else \
            "spec-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(kind.strip()).stem)
    elif kind.endswith((".yaml", ".yml", ".txt", ".spec")):
        kind = "spec-" + Path(kind).stem
    if not stamp:
        return Path(root) / f"{kind}-{slug}"
    stamp_text = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if when is None else when))
    path = Path(root) / f"{kind}-{slug}-{stamp_text}"
    n = 2
    while path.exists():
        path = Path(root) / f"{kind}-{slug}-{stamp_text}-{n}"
        n += 1
    return path


class RunFolder:
    """The files of one run folder: locked, written atomically with hashes, read verified.

    Guarantees (what a reader can rely on, whatever happened to the writer):

    - **One writer.** :meth:`lock` takes ``fcntl.flock`` on ``.cnnlab.lock``; a second
      writer is refused at once naming the holder's process id. The kernel releases the
      lock when its process ends in any way, so a crash never leaves the folder blocked.
      Shared holders (the workers of one tuning study) coexist with each other only.
    - **Whole files.** Every write goes to ``.NAME.tmpPID`` in the folder, is flushed to
      the disk (``fsync``) and renamed over ``NAME``: after a crash, a ``kill -9`` or a
      power cut at any instant, ``NAME`` holds its old content or its new one, never a
      part. A failed write (disk full, I/O error) removes its temporary file, leaves
      ``NAME`` as it was and raises ``UsageError`` naming the path. (The folder itself is
      not flushed after a rename: after a power cut, the last rename may be lost — the
      old file is back — and a hash file and its file then still agree only on file
      systems that keep renames in order, as ext4 and XFS do; a ``kill -9`` needs none of
      this.)
    - **Verified reads.** Each file that is read back has its SHA-256 in ``NAME.sha256``,
      updated so that a kill between the two renames leaves a pair that verifies
      (:mod:`cnnlab.storage.hashes`). A file changed by anything but cnnlab is refused with
      a line naming it and how to recover; a run written before hashes were kept is read
      with a note saying it cannot be verified.
    - **Only regular files inside the folder.** Reads open without blocking and check the
      descriptor: a pipe, a device or a symbolic link leading out of the folder is
      refused before a byte is read, and sizes are checked before reading
      (:mod:`cnnlab.userfiles`).
    - **Not guaranteed:** that two files agree with each other after a crash between
      their writes (``last.pt`` is written before ``metrics.csv``, so a resume goes on
      from the last checkpoint and rewrites the table), nor anything on a file system
      without ``flock`` or without an atomic rename (some network file systems).

    >>> import tempfile
    >>> run = RunFolder(tempfile.mkdtemp())
    >>> run.write_json("summary.json", {"test_accuracy": 0.5}).name
    'summary.json'
    >>> run.read_json("summary.json")
    {'test_accuracy': 0.5}
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    # ------------------------------------------------------------------ locking

    def lock(self, what: str = "run folder", *, shared: bool = False,
             cleanup: bool = True) -> contextlib.AbstractContextManager[Path]:
        """Hold the folder's lock (the folder is created if missing); see the class docstring."""
        return folder_lock(self.path, what, shared=shared, cleanup=cleanup)

    # ------------------------------------------------------------------ writing

    def write(self, name: str, data: bytes | str, *, recorded: bool = True) -> Path:
        """Write ``NAME`` atomically (the folder is created if missing); ``recorded``: with its
        SHA-256 in ``NAME.sha256``."""
        path = self.path / name
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create the folder {self.path}: {exc.strerror}") from None
        if recorded:
            write_recorded(path, data)
        else:
            write_atomic(path, data, "run file")
        return path

    def write_json(self, name: str, value: Any) -> Path:
        """Pretty JSON, written atomically with its hash."""
        return self.write(name, json.dumps(value, indent=2) + "\n")

    def write_csv(self, name: str, rows: list[dict[str, Any]]) -> Path | None:
        """One row per dict, the columns of the first (nothing is written for no rows)."""
        if not rows:
            return None
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return self.write(name, buffer.getvalue())

    def save_checkpoint(self, name: str, state: Any) -> Path:
        """``torch.save`` of ``state`` (every tensor copied to the CPU), written with its hash.

        The file loads with a plain ``torch.load(path, weights_only=True)`` anywhere.
        """
        import torch

        buffer = io.BytesIO()
        torch.save(_on_cpu(state), buffer)
        return self.write(name, buffer.getvalue())

    def save_safetensors(self, name: str, state: dict) -> Path:
        """A state dict as ``.safetensors`` (contiguous CPU tensors), written with its hash."""
        from safetensors.torch import save

        return self.write(name, save({k: v.detach().cpu().contiguous() for k, v in state.items()}))

    # ------------------------------------------------------------------ reading

    def exists(self, name: str) -> bool:
        """Whether ``NAME`` is there (a broken link counts: reading it says what it is)."""
        path = self.path / name
        return path.exists() or path.is_symlink()

    def read(self, name: str, notes: list[str] | None = None, *,
             max_bytes: int = MAX_RUN_FILE_BYTES) -> bytes:
        """The bytes of ``NAME`` once its recorded hash matches (see the class docstring)."""
        return read_verified(self.path / name, notes, max_bytes=max_bytes, inside=self.path)

    def read_json(self, name: str, notes: list[str] | None = None) -> dict[str, Any]:
        """A JSON object of the run (``model.json``, ``summary.json``), hash checked."""
        path = self.path / name
        data = self.read(name, notes, max_bytes=MAX_TEXT_BYTES)
        try:
            value = json.loads(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError):
            value = None
        if not isinstance(value, dict):
            raise UsageError(f"{path} is not a JSON object written by cnnlab")
        return value

    def read_config(self, notes: list[str] | None = None) -> dict[str, Any]:
        """The values of ``config.yaml`` (hash checked); UsageError when it is not a run folder."""
        import yaml

        path = self.path / "config.yaml"
        if not self.exists("config.yaml"):
            raise UsageError(f"{self.path} does not hold a cnnlab run (no config.yaml)")
        data = self.read("config.yaml", notes, max_bytes=MAX_TEXT_BYTES)
        try:
            values = yaml.safe_load(data.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError, RecursionError):
            values = None
        if not isinstance(values, dict):
            raise UsageError(f"{path} is not a valid run config (a YAML mapping of settings)")
        return values

    def read_table(self, name: str, notes: list[str] | None = None) -> list[dict[str, str]]:
        """The rows of a CSV table of the run (``metrics.csv``), hash checked, as text."""
        text = self.read(name, notes, max_bytes=MAX_TABLE_BYTES).decode("utf-8", errors="replace")
        return list(csv.DictReader(io.StringIO(text)))

    def load_checkpoint(self, name: str, notes: list[str] | None = None) -> Any:
        """``torch.load(..., weights_only=True)`` on the CPU, once the recorded hash matches.

        UsageError for a missing, changed or unreadable file; a file of a run older than
        the hashes loads with a note appended to ``notes``.
        """
        import torch

        path = self.path / name
        if not self.exists(name):
            raise UsageError(f"checkpoint {path} does not exist")
        data = self.read(name, notes)
        try:
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception as exc:
            raise UsageError(f"cannot read checkpoint {path} ({type(exc).__name__}): it is not "
                             f"a file written by cnnlab train; {recovery_hint(path)}") from None

    def load_safetensors(self, name: str, notes: list[str] | None = None) -> dict:
        """The tensors of a ``.safetensors`` file of the run, once the recorded hash matches."""
        from safetensors import SafetensorError
        from safetensors.torch import load

        path = self.path / name
        data = self.read(name, notes)
        try:
            return load(data)
        except (SafetensorError, ValueError, OSError) as exc:
            raise UsageError(f"cannot read weights from {path}: not a valid .safetensors file "
                             f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
                             ) from None

    # ------------------------------------------------------------------ the folder as a whole

    def keeps_hashes(self) -> bool:
        """Whether the run records hashes (any ``*.sha256``): every read file must match one."""
        return self.path.is_dir() and any(self.path.glob("*" + HASH_SUFFIX))

    def verify(self) -> list[str]:
        """Check the hash of every file that is read back (no torch needed).

        Returns notes for files of an older run that cannot be verified; raises
        IntegrityError for the first file that does not match. (``load_run`` in
        :mod:`cnnlab.train.evaluate` also checks what is inside the files.)
        """
        if not self.path.is_dir():
            raise UsageError(f"run folder {self.path} does not exist (or is not a folder)")
        notes: list[str] = []
        for name in RECORDED_FILES:
            if self.exists(name):
                self.read(name, notes)
        return notes

    def record_legacy(self) -> list[str]:
        """Record hashes for the files of a run written before cnnlab kept them.

        Called when such a run is resumed (so that from then on every file is checked);
        returns a note per file that could not be verified. A run that keeps hashes is
        left alone.
        """
        if self.keeps_hashes():
            return []
        return [f"{self.path / name} was written before cnnlab recorded hashes: it cannot be "
                f"verified (its hash is recorded from now on)"
                for name in RECORDED_FILES if record_existing(self.path / name)]

    def is_empty(self) -> bool:
        """Whether the folder holds nothing but (perhaps) its lock file."""
        return not any(p.name != LOCK_NAME for p in self.path.iterdir())

    def holds_run(self) -> bool:
        """Whether the folder holds a run (its ``config.yaml``)."""
        return self.exists("config.yaml")


def _on_cpu(value: Any) -> Any:
    """``value`` with every tensor in its dicts, lists and tuples moved to the CPU."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        moved = type(value)((k, _on_cpu(v)) for k, v in value.items())
        if hasattr(value, "_metadata"):  # a state dict's layer versions
            moved._metadata = value._metadata
        return moved
    if isinstance(value, (list, tuple)):
        return type(value)(_on_cpu(v) for v in value)
    return value

