"""A user's own runs in a comparison: ``cnnlab compare --runs DIR...``.

A run folder of ``cnnlab train`` (a registry model or an architecture spec) or a study
folder of ``cnnlab tune`` (its best trial's run) joins the table: its best checkpoint is
scored on the comparison's validation, shifted-validation and test images, and its
``metrics.csv`` joins the overlaid learning curves. The run must have been trained on
images of the same shape and classes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cnnlab.compare.results import ModelResult
from cnnlab.errors import UsageError
from cnnlab.storage import MAX_TEXT_BYTES, RunFolder
from cnnlab.userfiles import read_bytes

__all__ = ["resolve_run_dir", "score_run", "is_convolutional"]


def resolve_run_dir(path: str | Path) -> Path:
    """The run folder ``path`` names: itself, or the best trial of a tune study folder."""
    if not str(path).strip():  # Path("") is "."
        raise UsageError("--runs: the folder name is empty")
    path = Path(path)
    if (path / "model.json").is_file():
        return path
    results = path / "results.json"
    if results.is_file():
        try:
            best = json.loads(read_bytes(results, "study results", MAX_TEXT_BYTES)).get("best_run_dir")
        except (UsageError, ValueError, AttributeError):
            best = None
        # best_run_dir is the path tune was given (relative to where it ran); the trial
        # folder itself always lies in the study folder
        for candidate in ([Path(best), path / Path(best).name] if isinstance(best, str) and best else []):
            if (candidate / "model.json").is_file():
                return candidate
        raise UsageError(f"--runs {path}: a study folder without a finished best trial")
    # tune's --out holds study folders, each with its trial-NNNN run folders
    studies = sorted({str(p.parent.parent) for p in path.glob("*/trial-*/model.json")})[:5] if path.is_dir() else []
    hint = f"; give a study folder under it: {', '.join(studies)}" if studies else ""
    raise UsageError(f"--runs {path}: not a run folder of cnnlab train (no model.json) "
                     f"nor a study folder of cnnlab tune (no results.json){hint}")


def _history(run_dir: Path) -> list[dict]:
    folder = RunFolder(run_dir)
    if not folder.exists("metrics.csv"):
        return []
    return [{k: float(v) if k != "epoch" else int(float(v)) for k, v in row.items() if v != ""}
            for row in folder.read_table("metrics.csv")]


def is_convolutional(model) -> bool:
    """Whether a torch module holds a convolution (which makes it see images as maps)."""
    from torch import nn

    return any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in model.modules())


def _label(run_dir: Path, taken: set[str]) -> str:
    base = run_dir.name or str(run_dir)
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def score_run(path: str | Path, ds, x_shift: np.ndarray, taken: set[str]):
    """A :class:`~cnnlab.compare.results.ModelResult` for the run at ``path`` on ``ds``.

    x_shift: (N_val, C, H, W), the comparison's shifted validation images.
    """
    from cnnlab.train.evaluate import load_run
    from cnnlab.train.metrics import evaluate_model

    run = load_run(resolve_run_dir(path))
    meta = run.meta
    want = (meta["in_channels"], *meta["input_size"])
    if tuple(ds.image_shape) != tuple(want) or len(ds.classes) != meta["num_classes"]:
        raise UsageError(f"--runs {path}: trained on {'x'.join(map(str, want))} images with "
                         f"{meta['num_classes']} classes; this comparison has "
                         f"{'x'.join(map(str, ds.image_shape))} and {len(ds.classes)}")
    mean, std = np.asarray(meta["mean"]), np.asarray(meta["std"])

    def accuracy(x: np.ndarray, y: np.ndarray) -> float:
        return float(evaluate_model(run.model, x, y, mean, std, device="cpu",
                                    num_classes=meta["num_classes"])["accuracy"])

    folder = RunFolder(run.run_dir)
    summary = folder.read_json("summary.json") if folder.exists("summary.json") else {}
    what = meta.get("spec") and "spec: " + "; ".join(meta["spec"].split("\n")).strip("; ")
    return ModelResult(
        name=_label(run.run_dir, taken),
        description=f"your run {run.run_dir} ({what or meta['model']})",
        params=int(sum(p.numel() for p in run.model.parameters())),
        val_accuracy=accuracy(ds.x_val, ds.y_val), test_accuracy=accuracy(ds.x_test, ds.y_test),
        shifted_val_accuracy=accuracy(x_shift, ds.y_val),
        train_accuracy=accuracy(ds.x_train, ds.y_train),
        train_seconds=round(float(summary.get("train_seconds", float("nan"))), 2),
        train_examples=int(summary.get("n_train", 0)), run_dir=str(run.run_dir),
        history=_history(run.run_dir), convolutional=is_convolutional(run.model),
        notes="scored here on this comparison's splits; trained by cnnlab train"
              + ("" if run.config.data == ds.name else f" on {run.config.data}"))
