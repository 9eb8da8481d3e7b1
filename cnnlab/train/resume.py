"""Where an interrupted run goes on from: ``last.pt``, or ``best.pt`` when last.pt was removed.

Everything is checked before it is used (hash, structure, counters, shapes, finite
values), so a damaged or altered file ends in one ``error:`` line naming it instead of
a traceback or a run that trains on from nonsense (docs/runs.md, "Recovering a run").
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable

import torch

from cnnlab.errors import UsageError
from cnnlab.storage import RunFolder
from cnnlab.train.checkpoint import (RESUME_KEYS, _bad, check_resume_state, check_state_dict,
                                     optimizer_slots)
from cnnlab.train.runs import resumable

__all__ = ["restore_run", "resumable", "read_history"]


def restore_run(run_dir: Path, model, optimizer, scheduler, scaler, config, steps: int,
                say: Callable[[str], None]) -> dict:
    """Load the saved state into ``model``/``optimizer``/``scheduler``/``scaler``.

    Returns the run state (``RESUME_KEYS``). ``steps``: batches per epoch (to bring a
    per-batch schedule up to date when going on from best.pt).
    """
    run_dir = Path(run_dir)
    folder = RunFolder(run_dir)
    notes: list[str] = []
    last = run_dir / "last.pt"
    if folder.exists("last.pt"):
        saved = folder.load_checkpoint("last.pt", notes)
        check_resume_state(saved, last, config.epochs, config.patience)
        check_state_dict(saved["model"], model, last)
        _check_optimizer_shapes(saved["optimizer"], optimizer, last)
        model.load_state_dict(saved["model"])
        try:
            optimizer.load_state_dict(saved["optimizer"])
            if scheduler is not None:
                scheduler.load_state_dict(saved["scheduler"])
            if scaler is not None and saved.get("scaler"):
                scaler.load_state_dict(saved["scaler"])
        except (ValueError, KeyError, TypeError, RuntimeError, IndexError, AttributeError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise _bad(last, f"holds optimizer or scheduler state that does not fit this run "
                             f"({first})") from None
        state = {k: saved[k] for k in RESUME_KEYS}
    else:
        state = _from_best(run_dir, model, scheduler, config, steps, notes)
    for note in notes:
        say(f"note: {note}")
    return state


def _check_optimizer_shapes(saved: dict, optimizer, path: Path) -> None:
    """Each saved buffer has its parameter's shape (position i is the i-th parameter)."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for position, slot in optimizer_slots(saved):
        if not _is_index(position) or not 0 <= position < len(params):
            raise _bad(path, f"holds optimizer state for parameter {position!r}; the model has "
                             f"{len(params)}")
        p = params[position]
        for name, value in (slot.items() if isinstance(slot, dict) else ()):
            if isinstance(value, torch.Tensor) and value.ndim > 0 and value.shape != p.shape:
                raise _bad(path, f"holds optimizer state {name} of shape {tuple(value.shape)} "
                                 f"for a parameter of shape {tuple(p.shape)}")


def _is_index(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_history(path: Path, notes: list[str]) -> list[dict]:
    """The rows of a run's ``metrics.csv`` (hash checked), numbers as numbers."""
    path = Path(path)
    table = RunFolder(path.parent).read_table(path.name, notes)
    rows = []
    try:
        for i, row in enumerate(table, 1):
            clean = {k: (int(v) if k == "epoch" else float(v)) for k, v in row.items()}
            if clean["epoch"] != i:
                raise ValueError(f"row {i} is epoch {clean['epoch']}")
            rows.append(clean)
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{path} is not a metrics table of this run ({exc})") from None
    return rows


def _from_best(run_dir: Path, model, scheduler, config, steps: int, notes: list[str]) -> dict:
    """Go on after the best epoch: its weights, its history, a fresh optimizer state."""
    from cnnlab.train.optim import PER_BATCH_SCHEDULES

    best = run_dir / "best.pt"
    state_dict = RunFolder(run_dir).load_checkpoint("best.pt", notes)
    check_state_dict(state_dict, model, best)
    rows = read_history(run_dir / "metrics.csv", notes)
    if not rows:
        raise UsageError(f"{run_dir / 'metrics.csv'} holds no epoch; start over with another --out")
    epoch = min(range(len(rows)), key=lambda i: rows[i]["val_loss"]) + 1  # first lowest
    epoch = min(epoch, config.epochs)
    model.load_state_dict(state_dict)
    if scheduler is not None:  # the learning rate the uninterrupted run had after `epoch`
        per_batch = config.schedule in PER_BATCH_SCHEDULES
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "scheduler.step() before optimizer.step()"
            for _ in range(epoch * steps if per_batch else epoch):
                scheduler.step()
    history = rows[:epoch]
    notes.append(f"{run_dir / 'last.pt'} is missing: going on from best.pt after epoch {epoch} "
                 f"with a fresh optimizer state (the epochs after it will differ from those "
                 f"of an uninterrupted run)")
    return {"epoch": epoch, "history": history, "best_val_loss": history[-1]["val_loss"],
            "best_epoch": epoch, "bad_epochs": 0, "stopped": False,
            "train_seconds": float(sum(r.get("seconds", 0.0) for r in history))}
