"""Reload a finished (or interrupted) run and measure it on any split, shifted or not."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from torch import nn

from cnnlab.errors import UsageError
from cnnlab.errors import check_shape
from cnnlab.storage import RunFolder
from cnnlab.train.checkpoint import check_state_dict
from cnnlab.train.config import SPLITS, TrainConfig
from cnnlab.train.metrics import MIN_STD, evaluate_model
from cnnlab.train.shift import shift_images

__all__ = ["LoadedRun", "load_run", "evaluate_run", "check_model_meta", "SPLITS", "MAX_PARAMS",
           "MAX_CLASSES"]

MAX_PARAMS = 2**30  # a model.json asking for more (4 GiB of float32) is not a run of ours
MAX_CLASSES = 100_000


@dataclass
class LoadedRun:
    """A run folder read back: its config, model facts (``model.json``) and best model."""

    run_dir: Path
    config: TrainConfig
    meta: dict  # model, model_cfg, in_channels, num_classes, input_size, classes, mean, std
    model: nn.Module  # best checkpoint, eval mode, CPU
    notes: list[str] = field(default_factory=list)  # files that could not be verified (older runs)


def load_run(run_dir: str | Path) -> LoadedRun:
    """Rebuild the model of ``run_dir`` and load ``best.pt`` into it, everything checked.

    Each file's recorded SHA-256 is verified (a run older than the hashes loads, with a
    note in ``notes``), ``model.json`` is checked for types and sizes before anything is
    allocated, and ``best.pt`` must fit the architecture and hold finite weights.
    UsageError (one line naming the file and what is wrong) otherwise. This is what
    ``evaluate``, ``explain`` and the ``serve`` page call.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UsageError(f"run folder {run_dir} does not exist (or is not a folder)")
    folder = RunFolder(run_dir)
    notes: list[str] = []
    config_path = run_dir / "config.yaml"
    config = TrainConfig.from_dict(folder.read_config(notes), where=str(config_path),
                                   validate=False)
    meta_path = run_dir / "model.json"
    if not folder.exists("model.json"):
        raise UsageError(f"{run_dir} does not hold a cnnlab run (model.json missing)")
    meta = folder.read_json("model.json", notes)
    check_model_meta(meta, meta_path)
    if meta["model"] != config.model:
        raise UsageError(f"{meta_path} names the model {meta['model']!r} but {config_path} "
                         f"names {config.model!r}; start the run over with another --out")
    best = run_dir / "best.pt"
    if not folder.exists("best.pt"):
        raise UsageError(f"{run_dir} holds no checkpoint yet (no best.pt): the run stopped "
                         f"before its first epoch ended")
    state = folder.load_checkpoint("best.pt", notes)
    model = _build_model(meta, meta_path)
    check_state_dict(state, model, best, meta["model"])
    model.load_state_dict(state)
    return LoadedRun(run_dir, config, meta, model.eval(), notes)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_model_meta(meta: dict, path: Path) -> None:
    """Refuse a ``model.json`` whose keys, types or sizes no run of cnnlab writes."""
    def need(ok: bool, what: str) -> None:
        if not ok:
            raise UsageError(f"{path} {what}; start the run over with another --out")

    need(isinstance(meta, dict), "is not a JSON object")
    lacking = [k for k in ("model", "in_channels", "num_classes", "input_size", "classes",
                           "mean", "std") if k not in meta]
    need(not lacking, f"lacks {', '.join(lacking)}")
    need(isinstance(meta["model"], str) and bool(meta["model"]), "has no model name")
    need(isinstance(meta.get("model_cfg", {}), dict), "has model_cfg that is not a mapping")
    need(meta.get("spec") is None or isinstance(meta["spec"], str), "has a spec that is not text")
    C, K, size = meta["in_channels"], meta["num_classes"], meta["input_size"]
    need(_is_int(C) and C >= 1, f"has in_channels {C!r}, not a positive integer")
    need(_is_int(K) and 1 <= K <= MAX_CLASSES, f"has num_classes {K!r}, not an integer in 1..{MAX_CLASSES}")
    need(isinstance(size, list) and len(size) == 2 and all(_is_int(v) and v >= 1 for v in size),
         f"has input_size {size!r}, not [H, W] of positive integers")
    try:
        check_shape((C, *size), what="the input")
    except UsageError as exc:
        need(False, f"asks for {exc}")
    classes = meta["classes"]
    need(isinstance(classes, list) and len(classes) == K and all(isinstance(c, str) for c in classes),
         f"has classes that are not {K} names")
    for key in ("mean", "std"):
        v = meta[key]
        need(isinstance(v, list) and len(v) == C and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in v),
            f"has {key} {str(v)[:40]!r}, not {C} finite numbers (one per channel)")
    low = [i for i, x in enumerate(meta["std"]) if not x >= MIN_STD]
    need(not low, f"has std {meta['std'][low[0] if low else 0]!r} for channel {low[0] if low else 0}, "
                  f"under {MIN_STD:g}: cnnlab train records 1 for a constant channel, so the "
                  f"file was altered")


def _build_model(meta: dict, path: Path) -> nn.Module:
    """The run's architecture, sized on the meta device first (nothing big is allocated)."""
    import torch

    from cnnlab.models import count_params, get_model

    # a spec run rebuilds from the spec it trained (saved whole, so a moved spec file is not needed)
    args = (meta.get("spec") or meta["model"], meta["in_channels"], meta["num_classes"],
            tuple(meta["input_size"]))
    options = meta.get("model_cfg", {})
    try:
        with torch.device("meta"):
            n = count_params(get_model(*args, **options))
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None
    except (TypeError, ValueError, RuntimeError) as exc:
        raise UsageError(f"{path} describes no model cnnlab can build ({type(exc).__name__}: "
                         f"{(str(exc).splitlines() or [''])[0][:120]})") from None
    if n > MAX_PARAMS:
        raise UsageError(f"{path} describes a model of {n:,} parameters, over the limit of "
                         f"{MAX_PARAMS:,}; start the run over with another --out")
    return get_model(*args, **options)


def evaluate_run(run_dir: str | Path, data: str | None = None, split: str = "test",
                 shift: tuple[int, int] = (0, 0), device: str = "cpu", dataset=None) -> dict:
    """Metrics of the run's best model on ``split`` of its data (or of ``data``).

    With a non-zero ``shift`` (dx, dy) it adds the accuracy on the inputs shifted by
    that many pixels (zero fill) and the share of predictions that did not change.
    """
    from cnnlab.train.device import pick_device
    from cnnlab.train.loop import load_config_labelled_split, positive_index

    if split not in SPLITS:
        raise UsageError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
    run = load_run(run_dir)
    H, W = run.meta["input_size"]
    dx, dy = shift
    if abs(dx) >= W or abs(dy) >= H:  # a blank image: as `explain --max-shift`, at most side - 1
        raise UsageError(f"--shift {dx},{dy} moves the {H}x{W} images out of view; DX must be between "
                         f"-{W - 1} and {W - 1}, DY between -{H - 1} and {H - 1}")
    if dataset is None:  # only the split asked for (MNIST's test split without its training files)
        found = load_config_labelled_split(run.config, split, data)
        x, y, classes = found.x, found.y, found.classes
    else:
        x, y, classes = getattr(dataset, f"x_{split}"), getattr(dataset, f"y_{split}"), dataset.classes
    want = (run.meta["in_channels"], *run.meta["input_size"])
    if tuple(x.shape[1:]) != tuple(want):
        raise UsageError(f"data {data or run.config.data} has images of shape "
                         f"{'x'.join(map(str, x.shape[1:]))}, the model takes {'x'.join(map(str, want))}")
    if len(classes) != run.meta["num_classes"]:
        raise UsageError(f"data {data or run.config.data} has {len(classes)} classes, "
                         f"the model was trained on {run.meta['num_classes']}")
    if len(x) == 0:
        raise UsageError(f"the {split} split of {data or run.config.data} is empty")
    notes = list(run.notes or [])  # files of an older run that could not be verified
    theirs, ours = [str(c) for c in classes], [str(c) for c in run.meta["classes"]]
    if theirs != ours:  # e.g. an MNIST run on Fashion-MNIST: allowed, but say what label k means
        notes.append(f"the classes of {data or run.config.data} ({', '.join(theirs)}) are not the run's "
                     f"({', '.join(ours)}): labels are matched by position")
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
    if notes:
        result["notes"] = notes
    if (dx, dy) != (0, 0):
        moved = evaluate_model(run.model, shift_images(np.asarray(x), dx, dy), y, mean, std, device=dev,
                               num_classes=run.meta["num_classes"])
        result.update({"shift": [dx, dy], "shifted_accuracy": moved["accuracy"],
                       "shifted_loss": moved["loss"],
                       "consistency": float(np.mean(moved["predictions"] == base["predictions"]))})
    return result
