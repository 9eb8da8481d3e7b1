"""What a comparison gives: a row per model and the whole result."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnnlab.compare.config import CompareConfig

__all__ = ["ModelResult", "CompareResult"]


@dataclass
class ModelResult:
    """One row of the comparison table."""

    name: str
    description: str
    params: int
    val_accuracy: float
    test_accuracy: float
    shifted_val_accuracy: float
    train_seconds: float
    train_examples: int
    train_accuracy: float = float("nan")
    hidden: list[int] | None = None
    run_dir: str | None = None                          # trainer's run folder (torch models)
    history: list[dict] = field(default_factory=list)   # per epoch (torch models)
    notes: str = ""
    convolutional: bool = False                         # holds a convolution (sees maps, not vectors)

    def as_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("name", "params", "train_accuracy", "val_accuracy",
                                             "test_accuracy", "shifted_val_accuracy", "train_seconds",
                                             "convolutional")}
        out.update(description=self.description, train_examples=self.train_examples)
        if self.hidden is not None:
            out["hidden"] = self.hidden
        if self.run_dir is not None:
            out["run_dir"] = self.run_dir
        return out


@dataclass
class CompareResult:
    """What ``run_compare`` returns: the rows, where things were written, timings."""

    config: CompareConfig
    models: list[ModelResult]
    run_dir: Path
    report: Path
    figures: dict[str, Path]
    dataset_info: dict[str, Any]
    total_seconds: float

    def as_json(self) -> dict[str, Any]:
        return {
            "data": self.config.data,
            "models": [m.as_json() for m in self.models],
            "report": str(self.report),
            "run_dir": str(self.run_dir),
            "total_seconds": round(self.total_seconds, 2),
        }
