"""Checkpoints as plain state dicts (loadable with ``torch.load(..., weights_only=True)``).

``best.pt`` is the model's state dict alone (so ``get_model(..., weights="best.pt")`` and
any PyTorch user can read it); ``last.pt`` adds the optimizer, scheduler, grad scaler,
epoch counter, history and early-stopping state needed to resume a run.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from cnnlab.errors import UsageError
from cnnlab.train.runs import write_atomic

__all__ = ["save_state", "load_state", "CHECKPOINT_VERSION"]

CHECKPOINT_VERSION = 1


def save_state(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` to a temporary name, then rename (a kill never leaves half a file)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_atomic(Path(path), buffer.getvalue())


def load_state(path: Path) -> dict[str, Any]:
    """``torch.load(path, weights_only=True)`` on CPU; UsageError for a missing/unreadable file."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UsageError(f"cannot read checkpoint {path} ({type(exc).__name__}); "
                         f"is it a file written by cnnlab train?") from None
