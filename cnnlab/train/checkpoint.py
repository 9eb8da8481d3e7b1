"""What a checkpoint must hold to be used: checks of the content of ``best.pt`` and ``last.pt``.

``best.pt`` is the model's state dict alone (so ``get_model(..., weights="best.pt")`` and
any PyTorch user can read it); ``last.pt`` adds the optimizer, scheduler, grad scaler,
epoch counter, history and early-stopping state needed to resume a run.

Both are written and read through :class:`cnnlab.storage.RunFolder` (atomic, with a
SHA-256 beside them, checked when read): a changed file is refused there, and here one
whose content makes no sense (a list for a state dict, a float epoch counter,
tensors of the wrong shape, NaN weights), each with one line naming the file.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import torch

from cnnlab.errors import UsageError
from cnnlab.storage import recovery_hint

__all__ = ["check_state_dict", "check_resume_state", "optimizer_slots",
           "CHECKPOINT_VERSION", "RESUME_KEYS"]

CHECKPOINT_VERSION = 1
# what last.pt holds besides the model, optimizer, scheduler and scaler state dicts
RESUME_KEYS = ("epoch", "history", "best_val_loss", "best_epoch", "bad_epochs", "stopped",
               "train_seconds")


def _bad(path: Path, what: str) -> UsageError:
    return UsageError(f"checkpoint {path} {what}; {recovery_hint(path)}")


def check_state_dict(state: Any, model: torch.nn.Module, path: Path, name: str | None = None) -> None:
    """Refuse a state dict that is not one of ``model``'s (names, shapes, dtypes) or holds NaN/inf."""
    path = Path(path)
    if not isinstance(state, Mapping):
        raise _bad(path, f"holds a {type(state).__name__}, not a state dict (a mapping of "
                         f"tensor names to tensors)")
    target = model.state_dict()
    missing = [k for k in target if k not in state]
    extra = [k for k in state if k not in target]
    if missing or extra:
        parts = ([f"lacks {', '.join(map(str, missing[:3]))}"] if missing else []) + \
                ([f"has unknown {', '.join(map(str, extra[:3]))}"] if extra else [])
        raise _bad(path, f"does not match the {name or type(model).__name__} architecture of "
                         f"this run: it {' and '.join(parts)}")
    for name, want in target.items():
        got = state[name]
        if not isinstance(got, torch.Tensor):
            raise _bad(path, f"holds a {type(got).__name__} for {name}, not a tensor")
        if tuple(got.shape) != tuple(want.shape):
            raise _bad(path, f"gives {name} the shape {tuple(got.shape)}, the model needs "
                             f"{tuple(want.shape)}")
        if got.is_floating_point() != want.is_floating_point():
            raise _bad(path, f"gives {name} the dtype {got.dtype}, the model needs {want.dtype}")
        if got.is_floating_point() and not bool(torch.isfinite(got).all()):
            raise _bad(path, f"holds NaN or infinite values in {name} (the run diverged, or "
                             f"the file was altered): it gives no answer to report")


def optimizer_slots(optimizer: Mapping) -> list[tuple[Any, Any]]:
    """(position, buffers) of each parameter in a saved optimizer state.

    torch.optim keys the buffers by the parameter's position; cnnlab's own optimizers
    keep a list in parameter order. Either way position i is the i-th parameter.
    """
    state = optimizer["state"]
    return list(state.items()) if isinstance(state, Mapping) else list(enumerate(state))


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_resume_state(saved: Any, path: Path, epochs: int, patience: int | None = None) -> None:
    """Refuse a ``last.pt`` whose structure or counters make no sense for a run of ``epochs``.

    ``patience``: the run's early-stopping patience (0: none); when given, ``stopped``
    must be what the training loop sets: ``patience > 0 and bad_epochs >= patience``.
    """
    path = Path(path)
    if not isinstance(saved, Mapping):
        raise _bad(path, f"holds a {type(saved).__name__}, not a resumable checkpoint")
    if "optimizer" not in saved and "epoch" not in saved:
        raise _bad(path, "holds a model state dict, not a resumable checkpoint (was best.pt "
                         "copied over it?)")
    lacking = [k for k in ("model", "optimizer", *RESUME_KEYS) if k not in saved]
    if lacking:
        raise _bad(path, f"lacks {', '.join(lacking)}")
    version = saved.get("version", 1)
    if not _int(version) or not 1 <= version <= CHECKPOINT_VERSION:
        raise _bad(path, f"has checkpoint version {version!r}; this cnnlab reads version "
                         f"{CHECKPOINT_VERSION}")
    epoch, history = saved["epoch"], saved["history"]
    if not _int(epoch) or not 0 <= epoch <= epochs:
        raise _bad(path, f"has the epoch counter {epoch!r}; it must be an integer in 0..{epochs}")
    if not isinstance(history, list) or len(history) != epoch:
        raise _bad(path, f"has a history of {len(history) if isinstance(history, list) else '?'} "
                         f"epoch rows for the epoch counter {epoch}")
    for i, row in enumerate(history, 1):
        if not isinstance(row, Mapping) or row.get("epoch") != i:
            raise _bad(path, f"has history row {i} that is not the row of epoch {i}")
    best, bad = saved["best_epoch"], saved["bad_epochs"]
    if not _int(best) or not (0 <= best <= epoch) or (epoch > 0 and best == 0):
        raise _bad(path, f"has best_epoch {best!r}, not an epoch in 1..{epoch}")
    if not _int(bad) or not 0 <= bad <= epoch - best:
        raise _bad(path, f"has bad_epochs {bad!r}, not a count in 0..{epoch - best}")
    if not isinstance(saved["stopped"], bool):
        raise _bad(path, f"has stopped = {saved['stopped']!r}, not true/false")
    if patience is not None and saved["stopped"] != bool(patience and bad >= patience):
        raise _bad(path, f"has stopped = {saved['stopped']} with bad_epochs {bad}, which the "
                         f"early stopping of this run (--patience {patience}) never gives")
    seconds, loss = saved["train_seconds"], saved["best_val_loss"]
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) \
            or not math.isfinite(seconds) or seconds < 0:
        raise _bad(path, f"has train_seconds {seconds!r}, not a finite count of seconds")
    if not isinstance(loss, (int, float)) or isinstance(loss, bool) or math.isnan(loss) \
            or (epoch > 0 and not math.isfinite(loss)):
        raise _bad(path, f"has best_val_loss {loss!r}, not a finite loss")
    optimizer = saved["optimizer"]
    if not isinstance(optimizer, Mapping) or not isinstance(optimizer.get("param_groups"), list) \
            or not isinstance(optimizer.get("state"), (Mapping, list)):
        raise _bad(path, "holds no optimizer state dict (state and param_groups)")
    for _, slot in optimizer_slots(optimizer):
        for name, value in (slot.items() if isinstance(slot, Mapping) else ()):
            if isinstance(value, torch.Tensor) and value.is_floating_point() \
                    and not bool(torch.isfinite(value).all()):
                raise _bad(path, f"holds NaN or infinite optimizer state ({name})")
    for key in ("scheduler", "scaler"):
        if not isinstance(saved.get(key, {}), Mapping):
            raise _bad(path, f"holds a {type(saved[key]).__name__} for the {key} state")
