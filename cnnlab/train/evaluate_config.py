"""EvaluateConfig: what ``cnnlab evaluate`` measures; each field is also its flag.

Light (no torch): the CLI builds the flags from it before torch is imported, and
``cnnlab.evaluate(run_dir, ...)`` takes the same fields as keywords (docs/python.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnlab.errors import UsageError
from cnnlab.settings import setting, shared
from cnnlab.train.config import SPLITS, TrainConfig

__all__ = ["EvaluateConfig"]


@dataclass
class EvaluateConfig:
    """How a run's best model is measured (the flags of ``cnnlab evaluate``).

    >>> EvaluateConfig(shift="3,-1").shift_xy()
    (3, -1)
    >>> EvaluateConfig().shift_xy()
    (0, 0)
    """

    data: str | None = setting(None, "another dataset with the same image shape and number of classes "
                                     "(labels are matched by position; a note says when the class names differ)")
    split: str = setting("test", "the split measured", choices=SPLITS)
    # text, as the flag reads it: "-4,5" (argparse needs allow_negative_values for it)
    shift: str | None = setting(None, "pixels right (DX) and down (DY): adds the accuracy on inputs moved "
                                      "so (negative: left / up)", metavar="DX,DY")
    device: str = shared(TrainConfig, "device", "cpu", help="where the model runs")

    def shift_xy(self) -> tuple[int, int]:
        """``shift`` as (dx, dy) pixels; (0, 0) when not set. UsageError for other text."""
        if self.shift is None:
            return (0, 0)
        try:
            dx, dy = (int(p) for p in str(self.shift).split(","))
        except ValueError:
            raise UsageError(f"--shift takes two integers DX,DY (e.g. 2,0), got {self.shift!r}") from None
        return dx, dy
