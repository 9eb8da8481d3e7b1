"""The run folder: where it goes, whether it may be (re)used, and atomic writes.

A run folder holds ``config.yaml`` (the TrainConfig), ``model.json`` (what is needed to
rebuild the model and its input normalisation), ``metrics.csv`` (one row per epoch),
``best.pt`` (state dict of the best epoch), ``last.pt`` (everything needed to resume),
``summary.json``, ``learning_curves.png`` and ``confusion_matrix.png``. Every file is
written under a temporary name and renamed, so a killed run never leaves half a file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from cnnlab.errors import UsageError

__all__ = ["default_run_dir", "check_run_dir", "read_run_config", "write_atomic",
           "write_json", "write_metrics_csv", "RUN_FILES"]

RUN_FILES = ("config.yaml", "model.json", "metrics.csv", "summary.json", "best.pt", "last.pt",
             "learning_curves.png", "confusion_matrix.png")


def default_run_dir(model: str, data: str, when: float | None = None) -> Path:
    """``runs/<model>-<data>-<YYYYmmdd-HHMMSS>`` (a data path contributes its last part).

    >>> default_run_dir("small-cnn", "/tmp/tiles/", 0).name
    'small-cnn-tiles-19700101-000000'
    >>> default_run_dir("conv 3x3 8; fc 10", "mnist", 0).name
    'spec-mnist-19700101-000000'
    """
    stem = Path(data.rstrip("/\\")).stem or "data"
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", model):  # an architecture spec or a spec file
        model = "spec" if re.search(r"[\s;]", model.strip()) else \
            "spec-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(model.strip()).stem)
    elif model.endswith((".yaml", ".yml", ".txt", ".spec")):
        model = "spec-" + Path(model).stem
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if when is None else when))
    path = Path("runs") / f"{model}-{slug}-{stamp}"
    n = 2
    while path.exists():  # two runs started within a second
        path = Path("runs") / f"{model}-{slug}-{stamp}-{n}"
        n += 1
    return path


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """The values of ``run_dir/config.yaml``; UsageError when it is not a run folder."""
    import yaml

    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise UsageError(f"{run_dir} does not hold a cnnlab run (no config.yaml)")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        values = None
    if not isinstance(values, dict):
        raise UsageError(f"{path} is not a valid run config")
    return values


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
    if not (run_dir / "config.yaml").exists():
        if any(run_dir.iterdir()):
            raise UsageError(f"--out {run_dir} is a non-empty folder that does not hold a cnnlab "
                             f"run; choose a new or empty folder")
        return False
    old = read_run_config(run_dir)
    from cnnlab.train.config import RESUME_IGNORES

    old = {k: v for k, v in old.items() if k not in RESUME_IGNORES}
    differ = sorted(k for k in set(old) | set(resume_key) if old.get(k) != resume_key.get(k))
    if differ == ["epochs"] and _extendable(old, resume_key):
        return (run_dir / "last.pt").exists()
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
    return (run_dir / "last.pt").exists()


def _extendable(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """More epochs for a run whose learning rates would not change with the epoch count."""
    if not isinstance(old.get("epochs"), int) or new["epochs"] <= old["epochs"]:
        return False
    schedule = old.get("schedule")
    return schedule == "none" or (schedule == "step" and old.get("step_size") is not None)


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    os.replace(tmp, path)


def write_json(path: Path, value: Any) -> None:
    """Pretty JSON, written atomically."""
    write_atomic(path, json.dumps(value, indent=2) + "\n")


def write_metrics_csv(path: Path, history: list[dict[str, Any]]) -> None:
    """One row per epoch, the columns of the history rows (written atomically)."""
    if not history:
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(history[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    write_atomic(path, buffer.getvalue())
