"""What a training run asks of its folder: may it be (re)used, and is there a state to go on from.

The folder itself — its lock, atomic hashed writes, verified reads — is
:class:`cnnlab.storage.RunFolder` (docs/runs.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnlab.errors import UsageError
from cnnlab.storage import RunFolder
from cnnlab.train.config import RESUME_IGNORES

__all__ = ["check_run_dir", "resumable"]


def check_run_dir(run_dir: Path, resume_key: dict[str, Any]) -> bool:
    """Whether ``run_dir`` may hold this run; True when it holds one to resume.

    Refuses a path that is a file, a non-empty folder that is not a run, and a run
    folder whose config differs (the message names the differing settings). A larger
    ``epochs`` alone extends a run when its learning-rate schedule does not depend on the
    number of epochs (``none``, or ``step`` with an explicit ``step_size``).
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise UsageError(f"--out {run_dir} is a file, not a folder")
    if not run_dir.exists():
        return False
    folder = RunFolder(run_dir)
    if not folder.holds_run():
        if not folder.is_empty():
            raise UsageError(f"--out {run_dir} is a non-empty folder that does not hold a cnnlab "
                             f"run; choose a new or empty folder")
        return False
    old = folder.read_config()
    old = {k: v for k, v in old.items() if k not in RESUME_IGNORES}
    differ = sorted(k for k in set(old) | set(resume_key) if old.get(k) != resume_key.get(k))
    if differ == ["epochs"] and _extendable(old, resume_key):
        return resumable(run_dir)
    if differ:
        shown = ", ".join(f"{k}: {old.get(k)!r} -> {resume_key.get(k)!r}" for k in differ[:4])
        hint = ""
        more = isinstance(old.get("epochs"), int) and resume_key["epochs"] > old["epochs"]
        if differ == ["epochs"] and more:
            hint = (f" (more epochs extend a run only when the schedule does not depend on the "
                    f"epoch count: --schedule none, or step with --step-size; this run uses "
                    f"{old.get('schedule')})")
        raise UsageError(f"{run_dir} already holds a different run ({shown}){hint}; "
                         f"use another --out, or the same settings to resume it")
    return resumable(run_dir)


def resumable(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a state to go on from: last.pt, or best.pt with metrics.csv
    (a run whose damaged last.pt was deleted goes on from its best epoch)."""
    run_dir = Path(run_dir)
    return (run_dir / "last.pt").exists() or \
        ((run_dir / "best.pt").exists() and (run_dir / "metrics.csv").exists())


def _extendable(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """More epochs for a run whose learning rates would not change with the epoch count."""
    if not isinstance(old.get("epochs"), int) or new["epochs"] <= old["epochs"]:
        return False
    schedule = old.get("schedule")
    return schedule == "none" or (schedule == "step" and old.get("step_size") is not None)
