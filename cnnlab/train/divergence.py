"""A loss that becomes NaN or infinite stops the run; the run folder says so.

The check runs once per epoch on the mean training loss (a NaN or inf in any batch makes
the mean non-finite) and on the validation loss, before that epoch's checkpoints are
written, so ``last.pt`` and ``best.pt`` keep the last good epoch (docs/runs.md).
"""

from __future__ import annotations

import math
from pathlib import Path

from cnnlab.errors import UsageError
from cnnlab.storage import RunFolder

__all__ = ["TrainingDiverged", "stop_if_diverged"]


class TrainingDiverged(UsageError):
    """The loss became NaN or infinite; the run folder keeps the last good epoch."""


def stop_if_diverged(run_dir: Path, config, epoch: int, train_loss: float, val_loss: float,
                     last_good: int, best_epoch: int) -> None:
    """Raise :class:`TrainingDiverged` (after writing ``summary.json``) for a non-finite loss.

    ``last_good``: the last epoch whose checkpoint is on disk (0: none yet).
    """
    if math.isfinite(train_loss) and math.isfinite(val_loss):
        return
    which = "training" if not math.isfinite(train_loss) else "validation"
    value = train_loss if which == "training" else val_loss
    kept = (f"last.pt keeps epoch {last_good} and best.pt epoch {best_epoch}" if last_good
            else "no checkpoint was written")
    message = (f"training diverged in epoch {epoch}: the {which} loss became {value} "
               f"(--lr {config.lr:g}, --optimizer {config.optimizer}, --weight-decay "
               f"{config.weight_decay:g}); {kept}; lower --lr and train again with another --out")
    RunFolder(run_dir).write_json("summary.json", {
        "status": "diverged", "message": message, "model": config.model, "data": config.data,
        "diverged_epoch": epoch, "epochs": last_good, "best_epoch": best_epoch or None,
        "train_loss": None if not math.isfinite(train_loss) else train_loss,
        "val_loss": None if not math.isfinite(val_loss) else val_loss,
        "run_dir": str(run_dir)})
    raise TrainingDiverged(message)
