"""Run folders the server may show: found under ``--runs`` only, loaded in one place.

A client names a run by its path relative to the runs folder. :func:`resolve_run`
refuses anything that resolves outside that folder (``..``, absolute paths elsewhere,
symbolic links that point out of it). :func:`load_run_cached` is the one place a run's
model is read (so a safer loader, such as one that checks the checkpoint's hash, slots in
here) and keeps recently used runs in memory; each run carries a lock, because the
explanations hook into the model and two requests must not do that at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.errors import UsageError

__all__ = ["RunRefused", "resolve_run", "list_runs", "load_run_cached", "ServedRun", "MAX_CACHED_RUNS"]

MAX_CACHED_RUNS = 4  # models kept in memory at once
RUN_MARKER = "model.json"  # what `cnnlab train` writes into every run folder


class RunRefused(UsageError):
    """A run path outside the runs folder (HTTP 403)."""


def resolve_run(root: str | Path, name: str) -> Path:
    """The run folder ``name`` (relative to ``root``) as a resolved path inside ``root``.

    >>> import tempfile, os
    >>> root = tempfile.mkdtemp()
    >>> os.mkdir(os.path.join(root, "a"))
    >>> open(os.path.join(root, "a", "model.json"), "w").close()
    >>> resolve_run(root, "a") == Path(root).resolve() / "a"
    True
    >>> resolve_run(root, "../etc")
    Traceback (most recent call last):
    ...
    cnnlab.serve.runs.RunRefused: run '../etc' is outside the runs folder
    """
    if not isinstance(name, str) or not name.strip():
        raise UsageError("give a run: ?run=NAME, a folder under the runs folder")
    if "\x00" in name or len(name) > 4096:
        raise UsageError("run: not a valid folder name")
    base = Path(root).resolve()
    candidate = (base / name).resolve()  # follows symbolic links: an escaping link ends up outside
    if candidate != base and base not in candidate.parents:
        raise RunRefused(f"run {name!r} is outside the runs folder")
    if not (candidate / RUN_MARKER).is_file():
        raise UsageError(f"run {name!r}: no such run under the runs folder")
    return candidate


def list_runs(root: str | Path, limit: int = 200) -> list[str]:
    """Names (relative paths) of the run folders under ``root``, newest first, at most ``limit``."""
    base = Path(root).resolve()
    if not base.is_dir():
        return []
    found = []
    for marker in base.rglob(RUN_MARKER):
        folder = marker.parent.resolve()
        if folder == base or base in folder.parents:
            found.append((marker.stat().st_mtime, folder.relative_to(base).as_posix() or "."))
        if len(found) >= 10 * limit:
            break
    return [name for _, name in sorted(found, reverse=True)[:limit]]


@dataclass
class ServedRun:
    """A loaded run: the model and what the page needs to feed it like the training did."""

    path: Path
    model: object                 # torch.nn.Module in eval mode on the CPU
    meta: dict                    # model.json: classes, input_size, in_channels, mean, std
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) the model takes."""
        return (int(self.meta["in_channels"]), *(int(v) for v in self.meta["input_size"]))


_cache: OrderedDict[tuple[str, float], ServedRun] = OrderedDict()
_cache_lock = threading.Lock()


def _load(path: Path) -> ServedRun:
    """Read the run's model; the single place a checkpoint is loaded for the server."""
    import torch  # missing: the route names the extra that installs it

    from cnnlab.train.evaluate import load_run

    # The server answers many one-picture requests, each in its own worker thread; torch's
    # intra-op threads only compete with them. On a busy 2-core machine a digits prediction
    # took 0.94 s with 2 torch threads and 0.044 s with 1 (docs/serve.md, "Speed").
    torch.set_num_threads(1)
    run = load_run(path)
    return ServedRun(path, run.model.eval(), run.meta)


def load_run_cached(path: Path) -> ServedRun:
    """The loaded run at ``path`` (resolved by :func:`resolve_run`), from memory when unchanged."""
    best = path / "best.pt"
    key = (str(path), best.stat().st_mtime if best.exists() else 0.0)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    served = _load(path)
    with _cache_lock:
        _cache[key] = served
        while len(_cache) > MAX_CACHED_RUNS:
            _cache.popitem(last=False)
    return served
