"""Reload a finished (or interrupted) run and measure it on any split, shifted or not."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import nn

from cnnlab.errors import UsageError
from cnnlab.train.checkpoint import load_state
from cnnlab.train.config import TrainConfig
from cnnlab.train.metrics import evaluate_model
from cnnlab.train.runs import read_run_config
from cnnlab.train.shift import shift_images

__all__ = ["LoadedRun", "load_run", "evaluate_run", "SPLITS"]

SPLITS = ("test", "val", "train")


@dataclass
class LoadedRun:
    """A run folder read back: its config, model facts (``model.json``) and best model."""

    run_dir: Path
    config: TrainConfig
    meta: dict  # model, model_cfg, in_channels, num_classes, input_size, classes, mean, std
    model: nn.Module  # best checkpoint, eval mode, CPU


def load_run(run_dir: str | Path) -> LoadedRun:
    """Rebuild the model of ``run_dir`` and load ``best.pt`` into it.

    UsageError when the folder holds no run, no checkpoint yet, or a checkpoint that
    does not fit the architecture the run names.
    """
    from cnnlab.models import get_model

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UsageError(f"run folder {run_dir} does not exist (or is not a folder)")
    config = TrainConfig.from_dict(read_run_config(run_dir), where=str(run_dir / "config.yaml"),
                                   validate=False)
    try:
        meta = json.loads((run_dir / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UsageError(f"{run_dir} does not hold a cnnlab run (model.json missing or unreadable)") from None
    best = run_dir / "best.pt"
    if not best.is_file():
        raise UsageError(f"{run_dir} holds no checkpoint yet (no best.pt): the run stopped "
                         f"before its first epoch ended")
    # a spec run rebuilds from the spec it trained (saved whole, so a moved spec file is not needed)
    model = get_model(meta.get("spec") or meta["model"], meta["in_channels"], meta["num_classes"],
                      tuple(meta["input_size"]), **meta.get("model_cfg", {}))
    state = load_state(best)
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"checkpoint {best} does not match the {meta['model']} architecture of "
                         f"this run ({first})") from None
    return LoadedRun(run_dir, config, meta, model.eval())


def evaluate_run(run_dir: str | Path, data: str | None = None, split: str = "test",
                 shift: tuple[int, int] = (0, 0), device: str = "cpu", dataset=None) -> dict:
    """Metrics of the run's best model on ``split`` of its data (or of ``data``).

    With a non-zero ``shift`` (dx, dy) it adds the accuracy on the inputs shifted by
    that many pixels (zero fill) and the share of predictions that did not change.
    """
    from cnnlab.train.loop import load_config_dataset, pick_device, positive_index

    if split not in SPLITS:
        raise UsageError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
    run = load_run(run_dir)
    if dataset is None:
        dataset = load_config_dataset(run.config, data)
    x = getattr(dataset, f"x_{split}")
    y = getattr(dataset, f"y_{split}")
    want = (run.meta["in_channels"], *run.meta["input_size"])
    if tuple(x.shape[1:]) != tuple(want):
        raise UsageError(f"data {data or run.config.data} has images of shape "
                         f"{'x'.join(map(str, x.shape[1:]))}, the model takes {'x'.join(map(str, want))}")
    if len(dataset.classes) != run.meta["num_classes"]:
        raise UsageError(f"data {data or run.config.data} has {len(dataset.classes)} classes, "
                         f"the model was trained on {run.meta['num_classes']}")
    if len(x) == 0:
        raise UsageError(f"the {split} split of {data or run.config.data} is empty")
    dev = str(pick_device(device))
    mean, std = np.asarray(run.meta["mean"]), np.asarray(run.meta["std"])
    pos = positive_index(run.config, run.meta["classes"]) if run.meta["num_classes"] == 2 else 1
    base = evaluate_model(run.model, x, y, mean, std, device=dev, num_classes=run.meta["num_classes"],
                          positive=pos)
    result = {"run_dir": str(run.run_dir), "model": run.meta["model"],
              "data": data or run.config.data, "split": split, "n": int(len(y)),
              "accuracy": base["accuracy"], "loss": base["loss"]}
    for key in ("precision", "recall", "f1", "roc_auc"):
        if key in base:  # ROC-AUC is undefined (None) when the split lacks a class
            result[key] = None if math.isnan(base[key]) else base[key]
    if "f1" in base:
        result["positive_class"] = str(run.meta["classes"][pos])
    result["confusion"] = base["confusion"].tolist()
    dx, dy = shift
    if (dx, dy) != (0, 0):
        moved = evaluate_model(run.model, shift_images(x, dx, dy), y, mean, std, device=dev,
                               num_classes=run.meta["num_classes"])
        result.update({"shift": [dx, dy], "shifted_accuracy": moved["accuracy"],
                       "shifted_loss": moved["loss"],
                       "consistency": float(np.mean(moved["predictions"] == base["predictions"]))})
    return result
