"""The classic experiment of a CNN sheet: logistic regression vs MLPs vs a small CNN.

Every model is trained on the same training split and scored on the same validation
and test splits, then on the validation split shifted horizontally at random by up to
10% of the width (torchvision's ``RandomAffine(0, translate=(0.1, 0))``): a CNN's
convolutions and pooling absorb small shifts that fully connected models do not.

The models (``COMPARE_MODELS``, in the order they are reported):

- ``logreg``: scikit-learn logistic regression (its weights are pictures, one per class);
- ``mlp``: fc 256-128-64, SGD lr 0.01 momentum 0.5, NLL loss (as the sheet trains it);
- ``small-cnn``: conv 10@5x5 > pool > conv 20@5x5 > dropout > pool > fc 50 > fc 10, Adam lr 0.001;
- ``mlp-budget``: an MLP of the same 3-layer, halving shape sized to small-cnn's parameter
  count (27-14-7 = 21,772 params vs 21,840 on MNIST), trained like small-cnn so that
  against it only the architecture differs.

Any other registry model or an architecture spec may join through ``models`` (trained
like small-cnn), and a user's finished runs through ``runs`` (scored on the same splits;
:mod:`cnnlab.compare.user_runs`).
"""

from __future__ import annotations

import dataclasses
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np
import yaml

from cnnlab.compare.config import (COMPARE_MODELS, DEFAULT_EPOCHS, DEFAULT_LOGREG_C,  # noqa: F401
                                   DEFAULT_LOGREG_LIMIT, DEFAULT_LOGREG_MAX_ITER, RESUME_IGNORES,
                                   SHIFT_FRACTION, CompareConfig, CompareModel, config_dict)
from cnnlab.compare.mlp_budget import mlp_hidden_for_budget, mlp_params
from cnnlab.compare.document import write_report, write_tables
from cnnlab.compare.figures import write_figures
from cnnlab.compare.results import CompareResult, ModelResult
from cnnlab.compare.user_runs import is_convolutional, resolve_run_dir, score_run
from cnnlab.errors import UsageError, check_seed
from cnnlab.storage import RunFolder, default_run_dir
from cnnlab.train.config import MAX_BATCH_SIZE, MAX_EPOCHS
from cnnlab.train.threads import available_cores

__all__ = ["CompareConfig", "CompareModel", "COMPARE_MODELS", "ModelResult", "CompareResult", "run_compare"]

def _check_config(config: CompareConfig) -> None:
    from cnnlab.models import is_model

    unknown = [m for m in config.models if m not in COMPARE_MODELS and not is_model(m)]
    if unknown:
        raise UsageError(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(COMPARE_MODELS)}, "
                         f"any model of cnnlab train --list-models, or an architecture spec")
    if not config.models and not config.runs:
        raise UsageError("--models: give at least one model (or --runs)")
    check_seed(config.seed)
    check_seed(config.split_seed, "split_seed")
    if not 1 <= config.epochs <= MAX_EPOCHS:  # checked before the folder is made (the runs check it late)
        raise UsageError(f"--epochs must be in 1..{MAX_EPOCHS}, got {config.epochs}")
    if not 1 <= config.batch_size <= MAX_BATCH_SIZE:  # the flag's bounds, for cnnlab.compare(...) too
        raise UsageError(f"--batch-size must be in 1..{MAX_BATCH_SIZE}, got {config.batch_size}")
    if config.threads is not None and config.threads < 1:
        raise UsageError(f"--threads must be at least 1, got {config.threads}")
    if config.limit is not None and config.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {config.limit}")
    if not config.logreg_c > 0:
        raise UsageError(f"--logreg-c must be positive, got {config.logreg_c}")
    if not 0 <= config.shift_fraction < 1:
        raise UsageError(f"shift fraction must be in [0, 1), got {config.shift_fraction}")



def _check_run_dir(run_dir: Path, config: CompareConfig) -> None:
    """Refuse a file, a non-empty folder that holds no comparison, or another comparison.

    A folder holding this same comparison (config.yaml equal up to RESUME_IGNORES) is
    fine: finished torch runs are then reused, interrupted ones resumed.
    """
    if run_dir.exists() and not run_dir.is_dir():
        raise UsageError(f"--out {run_dir} is a file, not a folder")
    if not run_dir.is_dir() or not any(run_dir.iterdir()):
        return
    folder = RunFolder(run_dir)
    if not folder.holds_run():
        raise UsageError(f"--out {run_dir} is a non-empty folder that holds no comparison; "
                         f"choose a new or empty folder")
    if folder.exists("model.json"):
        raise UsageError(f"--out {run_dir} holds a training run of cnnlab train, not a "
                         f"comparison; choose a new or empty folder")
    old = folder.read_config()
    new = config_dict(config)
    differ = sorted(k for k in set(old) | set(new) if k not in RESUME_IGNORES and old.get(k) != new.get(k))
    if differ:
        shown = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in differ[:4])
        raise UsageError(f"{run_dir} already holds a different comparison ({shown}); "
                         f"use another --out, or the same settings to reuse it")


def default_threads() -> int:
    """CPU threads for training: all cores but one (at least 1).

    Leaving a core free matters more than using it: on the shared 2-core machine with one
    other job running, an epoch of the 256-128-64 MLP on 20,000 MNIST images took 10.8 s
    with 2 threads and 1.1 s with 1 (small-cnn: 2.2 s vs 3.3 s); under heavier load
    (load average ~7) a 2-thread small-cnn epoch on 54,000 images took 137 s
    (benchmarks/RESULTS.md, section compare).
    """
    return max(1, available_cores() - 1)


def _subsample(n: int, limit: int | None, seed: int) -> np.ndarray:
    """Indices of at most ``limit`` of n examples, drawn without replacement (all when no limit)."""
    if limit is None or limit >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).permutation(n)[:limit])


def _run_logreg(config: CompareConfig, ds, x_shift: np.ndarray, log,
                threads: int | None = None) -> tuple[ModelResult, np.ndarray]:
    from cnnlab.compare.baselines import fit_logreg, logreg_accuracy, logreg_coefficient_images

    idx = _subsample(len(ds.y_train), config.logreg_limit, config.seed)
    log(f"logreg: lbfgs on {len(idx)} examples, C {config.logreg_c}, max_iter {config.logreg_max_iter}")
    fitted = fit_logreg(ds.x_train[idx], ds.y_train[idx], ds.mean, ds.std,
                        max_iter=config.logreg_max_iter, C=config.logreg_c, seed=config.seed,
                        threads=threads or config.threads or 1)
    notes = f"{fitted.n_iter} lbfgs iterations" + ("" if fitted.converged else " (stopped by max_iter)")
    row = ModelResult(
        name="logreg", description=COMPARE_MODELS["logreg"].description, params=fitted.params,
        val_accuracy=logreg_accuracy(fitted, ds.x_val, ds.y_val),
        test_accuracy=logreg_accuracy(fitted, ds.x_test, ds.y_test),
        shifted_val_accuracy=logreg_accuracy(fitted, x_shift, ds.y_val),
        train_accuracy=logreg_accuracy(fitted, ds.x_train[idx], ds.y_train[idx]),
        train_seconds=round(fitted.train_seconds, 2), train_examples=len(idx), notes=notes,
    )
    return row, logreg_coefficient_images(fitted)


def _budget_hidden(ds) -> tuple[list[int], int]:
    """Hidden widths of mlp-budget and small-cnn's parameter count on this data.

    Also the early check that small-cnn fits the images (before anything trains).
    """
    from cnnlab.models import count_params, get_model

    C, H, W = ds.image_shape
    try:
        budget = count_params(get_model("small-cnn", C, ds.num_classes, (H, W)))
    except UsageError as exc:
        raise UsageError(f"{exc}; small-cnn and mlp-budget need larger images, "
                         f"compare the others with --models logreg,mlp") from None
    return mlp_hidden_for_budget(budget, C * H * W, ds.num_classes), budget


def _run_torch(spec: CompareModel, hidden: list[int] | None, config: CompareConfig, ds,
               x_shift: np.ndarray, run_dir: Path, log) -> ModelResult:
    from cnnlab.train import TrainConfig, evaluate_model, fit

    train_config = TrainConfig(
        data=config.data, model=spec.registry_name, epochs=config.epochs, batch_size=config.batch_size,
        optimizer=spec.optimizer, lr=spec.lr, momentum=spec.momentum, loss=spec.loss,
        seed=config.seed, split_seed=config.split_seed, device=config.device,
        out=str(run_dir / "runs" / spec.name), data_dir=config.data_dir, threads=config.threads,
        limit=config.limit, model_cfg={"hidden": list(hidden)} if hidden is not None else {},
    )
    log(f"{spec.name}: {spec.description}, {config.epochs} epoch(s)")
    result = fit(train_config, ds, log=log)
    summary = result.summary
    shifted = evaluate_model(result.model, x_shift, ds.y_val, ds.mean, ds.std,
                             device="cpu", num_classes=ds.num_classes)
    return ModelResult(
        name=spec.name, description=spec.description, params=int(summary["params"]),
        val_accuracy=float(summary["val_accuracy"]), test_accuracy=float(summary["test_accuracy"]),
        shifted_val_accuracy=float(shifted["accuracy"]), train_accuracy=float(summary["train_accuracy"]),
        train_seconds=round(float(summary["train_seconds"]), 2), train_examples=len(ds.y_train),
        hidden=list(hidden) if hidden is not None else None, run_dir=str(result.run_dir),
        history=list(result.history), convolutional=is_convolutional(result.model),
    )


def _contenders(config: CompareConfig) -> list[CompareModel]:
    """The models to train, in report order: the built-in four, then registry models and specs."""
    from cnnlab.models import list_models, model_description

    chosen = [COMPARE_MODELS[m] for m in COMPARE_MODELS if m in config.models]
    specs = 0
    for name in config.models:
        if name in COMPARE_MODELS:
            continue
        if name in list_models():
            chosen.append(CompareModel(name, f"{model_description(name)}; Adam lr 0.001", "torch", name))
        else:
            specs += 1
            text = "; ".join(p.strip() for p in name.replace("\n", ";").split(";") if p.strip())
            chosen.append(CompareModel(f"spec-{specs}", f"spec: {text}; Adam lr 0.001", "torch", name))
    return chosen


def _check_fits(config: CompareConfig, ds) -> None:
    """Refuse, before anything trains, a model that does not fit the images or a bad --runs."""
    from cnnlab.models import get_model

    C, H, W = ds.image_shape
    for spec in _contenders(config):
        if spec.kind == "torch" and spec.name not in COMPARE_MODELS:
            get_model(spec.registry_name, C, ds.num_classes, (H, W))
    for path in config.runs:
        resolve_run_dir(path)


def _logreg_alongside(config: CompareConfig, contenders: list[CompareModel]) -> bool:
    """Whether logistic regression runs on its own core while the torch models train.

    It does when there are torch models to overlap and a core beyond their ``threads``:
    with the default (all cores but one) on 2 cores, the comparison's wall time is the
    torch models' plus the report, not plus logistic regression's ~10 s. It uses one
    BLAS thread either way, so its result is the same.
    """
    kinds = {spec.kind for spec in contenders}
    return {"sklearn", "torch"} <= kinds and available_cores() >= (config.threads or 1) + 1


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_compare(config: CompareConfig, dataset=None, *, log: Callable[[str], None] | None = None) -> CompareResult:
    """Train and score every model of ``config.models``, write tables, figures and report.html.

    dataset: a loaded ``cnnlab.data.Dataset`` (else loaded from ``config.data`` with
    ``config.limit``). Progress lines go to ``log`` (stderr by default).
    """
    log = log or _stderr
    start = time.perf_counter()
    _check_config(config)
    if config.threads is None:
        config = dataclasses.replace(config, threads=default_threads())
    run_dir = Path(config.out) if config.out else default_run_dir("compare", config.data)
    _check_run_dir(run_dir, config)
    if dataset is None:
        from cnnlab.data import load_dataset

        dataset = load_dataset(config.data, data_dir=config.data_dir, seed=config.split_seed,
                               limit=config.limit)
    ds = dataset
    budget_hidden, budget = None, None
    if {"small-cnn", "mlp-budget"} & set(config.models):
        budget_hidden, budget = _budget_hidden(ds)
    _check_fits(config, ds)
    run_dir.mkdir(parents=True, exist_ok=True)
    # written first, so that an interrupted comparison can be resumed with the same --out
    RunFolder(run_dir).write("config.yaml", yaml.safe_dump(config_dict(config), sort_keys=False))

    from cnnlab.train.shift import random_translate

    x_shift = random_translate(ds.x_val, max_dx_frac=config.shift_fraction, max_dy_frac=0.0, seed=config.seed)
    contenders = _contenders(config)
    done: dict[str, ModelResult] = {}
    coef_images = None

    def report(row: ModelResult) -> None:
        log(f"{row.name}: {row.params:,} params, val {row.val_accuracy:.4f}, test {row.test_accuracy:.4f}, "
            f"shifted val {row.shifted_val_accuracy:.4f} ({row.train_seconds:.1f} s)")
        done[row.name] = row

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cnnlab-logreg") as pool:
        # logistic regression (one BLAS thread) on the core the torch models leave free
        alongside = _logreg_alongside(config, contenders)
        logreg = pool.submit(_run_logreg, config, ds, x_shift, log, 1) if alongside else None
        for spec in contenders:
            name = spec.name
            if spec.kind == "sklearn":
                if logreg is None:
                    row, coef_images = _run_logreg(config, ds, x_shift, log)
                    report(row)
                continue
            hidden = budget_hidden if name == "mlp-budget" else (list(spec.hidden) or None)
            row = _run_torch(spec, hidden, config, ds, x_shift, run_dir, log)
            C, H, W = ds.image_shape
            if hidden is not None and row.params != mlp_params(C * H * W, hidden, ds.num_classes):
                raise RuntimeError(f"{name}: the trainer's MLP has {row.params} params, "
                                   f"expected {mlp_params(C * H * W, hidden, ds.num_classes)}")
            report(row)
        if logreg is not None:
            row, coef_images = logreg.result()
            report(row)
    rows = [done[spec.name] for spec in contenders]  # report order, whatever finished first
    for path in config.runs:
        row = score_run(path, ds, x_shift, {r.name for r in rows})
        log(f"{row.name} (your run): {row.params:,} params, val {row.val_accuracy:.4f}, "
            f"test {row.test_accuracy:.4f}, shifted val {row.shifted_val_accuracy:.4f}")
        rows.append(row)

    dataset_info = {
        "name": ds.name, "source": getattr(ds, "source", ""), "image_shape": list(ds.image_shape),
        "classes": [str(c) for c in ds.classes], "train": len(ds.y_train), "val": len(ds.y_val),
        "test": len(ds.y_test), "cnn_budget": budget,
    }
    result = CompareResult(config=config, models=rows, run_dir=run_dir, report=run_dir / "report.html",
                           figures={}, dataset_info=dataset_info, total_seconds=0.0)
    result.figures = write_figures(result, ds, x_shift, coef_images)
    result.total_seconds = time.perf_counter() - start  # the report itself takes well under a second
    write_report(result)
    write_tables(result)
    return result
