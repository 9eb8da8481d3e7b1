"""fit(): train a model on in-memory tensors, with resume, and write its run folder.

The training split is normalised once and kept as one tensor on the device; a batch is
an index into it (a new random permutation every epoch), never a DataLoader, so the loop
costs no more than a hand-written one (benchmarks/RESULTS.md, section train-loop).
Every epoch draws its randomness (order, dropout, augmentation) from a generator seeded
by (seed, epoch), so a run resumed from ``last.pt`` ends with the same weights as one
that was never interrupted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.errors import UsageError
from cnnlab.models import count_params, count_trainable, get_model, load_pretrained, param_groups
from cnnlab.models.pretrained import write_safetensors
from cnnlab.train import plots
from cnnlab.train.augment import augment_batch, parse_augment
from cnnlab.train.checkpoint import CHECKPOINT_VERSION, load_state, save_state
from cnnlab.train.config import TrainConfig
from cnnlab.train.metrics import predict_logits, safe_std, summarise_logits, to_normalised_tensor
from cnnlab.train.optim import PER_BATCH_SCHEDULES, make_optimizer, make_scheduler
from cnnlab.train.progress import batch_progress
from cnnlab.train.runs import check_run_dir, default_run_dir, write_atomic, write_json, write_metrics_csv

__all__ = ["fit", "RunResult", "train_epoch", "pick_device", "epoch_seed", "load_config_dataset",
           "positive_index"]


@dataclass
class RunResult:
    """What :func:`fit` returns: the run folder, the best model (eval mode, CPU) and its numbers."""

    run_dir: Path
    model: nn.Module
    summary: dict
    history: list[dict]


def pick_device(name: str) -> torch.device:
    """cpu, cuda, or auto (cuda when available). UsageError for cuda without a GPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda asked for, but torch sees no CUDA GPU; use --device cpu")
    return torch.device(name)


def epoch_seed(seed: int, epoch: int) -> int:
    """Seed of all randomness in ``epoch`` (1-based) of a run seeded ``seed``."""
    return (seed * 1_000_003 + epoch) % (2**63)


def _loss_fn(name: str) -> Callable:
    if name == "nll":  # the sheet's log_softmax + NLLLoss: the same value as cross-entropy
        return lambda logits, y: F.nll_loss(F.log_softmax(logits, 1), y)
    return F.cross_entropy


def train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor,
                y: torch.Tensor, batch_size: int, gen: torch.Generator, *,
                loss_fn: Callable = F.cross_entropy, scheduler=None, augment=(),
                mean: torch.Tensor | None = None, std: torch.Tensor | None = None,
                amp_dtype: torch.dtype | None = None, scaler=None,
                advance: Callable[[int], None] | None = None,
                frozen_bn_eval: bool = False) -> tuple[float, float]:
    """One pass over (x, y) in random batches; returns (mean loss, accuracy).

    x: (N, C, H, W) normalised, on the training device; y: (N,) long. ``scheduler`` is
    stepped after every batch (give it only for per-batch schedules).
    ``frozen_bn_eval``: batch-norm layers with frozen weights keep their running stats.
    """
    N = x.shape[0]
    perm = torch.randperm(N, device=x.device, generator=gen)
    if N > 1 and N % batch_size == 1:
        perm = perm[:-1]  # a last batch of one example breaks batch norm
    model.train()
    if frozen_bn_eval:
        _frozen_bn_eval(model)
    total_loss = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device, dtype=torch.long)
    for start in range(0, len(perm), batch_size):
        idx = perm[start:start + batch_size]
        xb, yb = x[idx], y[idx]  # (B, C, H, W), (B,)
        if augment:
            xb = augment_batch(xb, augment, mean, std, gen)
        if amp_dtype is None:
            out = model(xb)  # (B, K)
            loss = loss_fn(out, yb)
        else:
            with torch.autocast(x.device.type, dtype=amp_dtype):
                out = model(xb)
                loss = loss_fn(out, yb)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total_loss += loss.detach() * len(idx)
        correct += (out.argmax(1) == yb).sum()
        if advance is not None:
            advance(len(idx))
    n = max(1, len(perm))
    return float(total_loss) / n, int(correct) / n


def positive_index(config: TrainConfig, classes) -> int:
    """Index of ``config.positive_class`` among two classes (default 1: the second name)."""
    names = [str(c) for c in classes]
    if config.positive_class is None:
        return 1
    if len(names) != 2:
        raise UsageError(f"--positive-class applies to two-class data; {config.data} has {len(names)} classes")
    if config.positive_class not in names:
        raise UsageError(f"--positive-class {config.positive_class!r} is not a class of {config.data}: "
                         f"choose {names[0]!r} or {names[1]!r}")
    return names.index(config.positive_class)


def load_config_dataset(config: TrainConfig, data: str | None = None):
    """The dataset a config names (same split for the same config)."""
    from cnnlab.data import load_dataset

    return load_dataset(data or config.data, data_dir=config.data_dir,
                        val_fraction=config.val_fraction, seed=config.split_seed,
                        limit=config.limit, resize=config.resize_hw(), strict=config.strict)


@contextlib.contextmanager
def _torch_state(threads: int, device: torch.device) -> Iterator[None]:
    """Thread count and RNG changes stay inside the run."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    devices = [device.index or 0] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        torch.set_num_threads(previous)


def _set_frozen(model: nn.Module, frozen: bool) -> None:
    from cnnlab.models import freeze_backbone, unfreeze

    freeze_backbone(model) if frozen else unfreeze(model)


def _frozen_bn_eval(model: nn.Module) -> None:
    # Frozen batch-norm layers keep their (pretrained) running statistics.
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.weight is not None \
                and not m.weight.requires_grad:
            m.eval()


def _absolute_paths(config: TrainConfig) -> TrainConfig:
    """``data`` (a folder or CSV) and ``data_dir`` made absolute, so that the run folder's
    config finds its data from any working directory (evaluate, explain)."""
    from cnnlab.data import DATASET_NAMES

    def absolute(path: str | None) -> str | None:
        if path is None or not Path(path).expanduser().exists():
            return path
        return str(Path(path).expanduser().resolve())

    data = config.data if config.data in DATASET_NAMES else absolute(config.data)
    return dataclasses.replace(config, data=data, data_dir=absolute(config.data_dir))


def _finite(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


def fit(config: TrainConfig, dataset=None, *, progress: bool = False,
        log: Callable[[str], None] | None = None,
        on_epoch: Callable[[dict], None] | None = None) -> RunResult:
    """Train ``config.model`` on ``dataset`` (or ``config.data``) and write the run folder.

    Resumes from ``last.pt`` when ``config.out`` holds an unfinished run of the same
    config. ``on_epoch(row)`` is called after each epoch's checkpoint is saved (raising
    in it stops the run, which stays resumable). Returns a :class:`RunResult`.
    """
    started = time.perf_counter()
    say = log or (lambda _message: None)
    config.validate()
    device = pick_device(config.device)
    run_dir = Path(config.out) if config.out else default_run_dir(config.model, config.data)
    config = dataclasses.replace(_absolute_paths(config), out=str(run_dir))
    resuming = check_run_dir(run_dir, config.resume_key())
    if dataset is None:
        dataset = load_config_dataset(config)
    if config.normalize == "imagenet":  # the statistics pretrained ImageNet weights expect
        from cnnlab.models.pretrained import imagenet_stats

        mean, std = imagenet_stats(dataset.x_train.shape[1])
        dataset = dataclasses.replace(dataset, mean=np.asarray(mean, np.float32), std=np.asarray(std, np.float32))
    N, C, H, W = dataset.x_train.shape
    K = len(dataset.classes)
    positive_index(config, dataset.classes)  # refused before the run folder exists
    for note in dataset.notes:  # e.g. corrupt files skipped, grayscale converted to RGB
        say(f"data: {note}")
    if len(dataset.x_val) == 0:
        raise UsageError(f"dataset {config.data} has no validation examples; raise --val-fraction")
    augment = parse_augment(config.augment)
    with _torch_state(config.default_threads(), device):
        torch.manual_seed(config.seed)
        model = get_model(config.model, C, K, (H, W), log=say, **config.model_cfg)
        if config.weights:
            report = load_pretrained(model, config.weights)
            say(f"weights {config.weights}: {report['loaded']} tensors loaded, head "
                f"{report['head']} left new" + "".join(
                    f", {what} {', '.join(report[what])}" for what in ("adapted", "skipped", "missing")
                    if report[what]))
            if report["fresh"] and (config.freeze or config.unfreeze_after):
                say(f"not in the weights, so trained from the start and never frozen: "
                    f"{', '.join(report['fresh'])}")
        spec = getattr(model, "spec", None)  # a model built from an architecture spec
        run_dir.mkdir(parents=True, exist_ok=True)  # only now: everything is validated
        write_atomic(run_dir / "config.yaml", config.to_yaml())
        if spec is not None:
            write_atomic(run_dir / "spec.txt", spec)
        meta = {"model": config.model, "model_cfg": config.model_cfg, "spec": spec, "in_channels": C,
                "num_classes": K, "input_size": [H, W], "classes": list(map(str, dataset.classes)),
                "mean": [float(v) for v in dataset.mean], "std": [float(v) for v in dataset.std],
                "data": config.data, "params": count_params(model)}
        write_json(run_dir / "model.json", meta)
        summary, history, earlier = _train(config, dataset, model, device, augment, run_dir,
                                           resuming, progress, say, on_epoch)
        # wall time of this call plus the training time of the calls it resumed
        summary["total_seconds"] = round(time.perf_counter() - started + earlier, 3)
        summary["skipped_files"] = int(dataset.skipped)
        write_json(run_dir / "summary.json", summary)
    return RunResult(run_dir, model.cpu().eval(), summary, history)


def _train(config, dataset, model, device, augment, run_dir, resuming, progress, say, on_epoch):
    mean_np, std_np = np.asarray(dataset.mean, np.float32), safe_std(dataset.std)
    x_train = to_normalised_tensor(dataset.x_train, mean_np, std_np, device)  # (N, C, H, W)
    x_val = to_normalised_tensor(dataset.x_val, mean_np, std_np, device)
    y_train = torch.as_tensor(dataset.y_train, dtype=torch.long, device=device)
    y_val = torch.as_tensor(dataset.y_val, dtype=torch.long, device=device)
    mean_t, std_t = torch.as_tensor(mean_np, device=device), torch.as_tensor(std_np, device=device)
    model.to(device)
    freezing = config.freeze or config.unfreeze_after > 0
    factor = config.backbone_lr_factor if config.unfreeze_after > 0 else 1.0
    optimizer = make_optimizer(param_groups(model, config.lr, factor), config)
    n_used = len(x_train) - (len(x_train) > 1 and len(x_train) % config.batch_size == 1)
    steps = max(1, math.ceil(n_used / config.batch_size))  # batches per epoch, as train_epoch
    scheduler = make_scheduler(optimizer, config, steps)
    use_amp = config.amp and device.type == "cuda"
    amp_dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if use_amp else None
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None
    state = {"epoch": 0, "history": [], "best_val_loss": float("inf"), "best_epoch": 0,
             "bad_epochs": 0, "stopped": False, "train_seconds": 0.0}
    if resuming:
        saved = load_state(run_dir / "last.pt")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(saved["scheduler"])
        if scaler is not None and saved.get("scaler"):
            scaler.load_state_dict(saved["scaler"])
        state.update({k: saved[k] for k in state})
        say(f"resuming {run_dir} after epoch {state['epoch']}")
        if state["stopped"] and state["epoch"] < config.epochs:
            say(f"the run stopped early at epoch {state['epoch']} (no better validation loss for "
                f"{config.patience} epochs): nothing more to train")
    say(f"{config.model}: {count_params(model):,} parameters, {len(x_train):,} training examples "
        f"{tuple(x_train.shape[1:])}, {device}")
    earlier = state["train_seconds"]
    loss_fn = _loss_fn(config.loss)
    per_batch = scheduler if config.schedule in PER_BATCH_SCHEDULES else None
    while state["epoch"] < config.epochs and not state["stopped"]:
        epoch = state["epoch"] + 1
        seed = epoch_seed(config.seed, epoch)
        torch.manual_seed(seed)  # dropout
        gen = torch.Generator(device=device).manual_seed(seed)  # order, augmentation
        if freezing:
            _set_frozen(model, epoch <= config.unfreeze_after if config.unfreeze_after else True)
            if config.unfreeze_after and epoch == config.unfreeze_after + 1:
                say(f"epoch {epoch}: backbone unfrozen, its lr x{config.backbone_lr_factor:g}")
        lr = optimizer.param_groups[0]["lr"]
        tic = time.perf_counter()
        with batch_progress(progress, len(x_train), f"epoch {epoch}/{config.epochs}") as advance:
            train_loss, train_acc = train_epoch(
                model, optimizer, x_train, y_train, config.batch_size, gen, loss_fn=loss_fn,
                scheduler=per_batch, augment=augment, mean=mean_t, std=std_t,
                amp_dtype=amp_dtype, scaler=scaler, advance=advance, frozen_bn_eval=freezing)
        if scheduler is not None and per_batch is None:
            scheduler.step()
        val = summarise_logits(predict_logits(model, x_val, amp=use_amp), y_val, len(dataset.classes))
        seconds = time.perf_counter() - tic
        row = {"epoch": epoch, "train_loss": round(train_loss, 6), "train_accuracy": round(train_acc, 6),
               "val_loss": round(val["loss"], 6), "val_accuracy": round(val["accuracy"], 6),
               "lr": lr, "seconds": round(seconds, 3)}
        state["history"].append(row)
        state["train_seconds"] += seconds
        state["epoch"] = epoch
        if state["best_epoch"] == 0 or val["loss"] < state["best_val_loss"]:
            state.update(best_val_loss=val["loss"], best_epoch=epoch, bad_epochs=0)
            save_state(run_dir / "best.pt", model.state_dict())
        else:
            state["bad_epochs"] += 1
            state["stopped"] = bool(config.patience and state["bad_epochs"] >= config.patience)
        write_metrics_csv(run_dir / "metrics.csv", state["history"])
        save_state(run_dir / "last.pt", {
            "version": CHECKPOINT_VERSION, **state, "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else {},
            "scaler": scaler.state_dict() if scaler is not None else {}})
        say(f"epoch {epoch}/{config.epochs}  train loss {train_loss:.4f} acc {train_acc:.2%}  "
            f"val loss {val['loss']:.4f} acc {val['accuracy']:.2%}  lr {lr:.3g}  {seconds:.1f}s"
            + ("  (early stop)" if state["stopped"] else ""))
        if on_epoch is not None:
            on_epoch(row)
    summary, history = _finish(config, dataset, model, device, run_dir, state, x_train, y_train,
                               x_val, y_val, mean_np, std_np, use_amp, say)
    return summary, history, earlier


def _finish(config, dataset, model, device, run_dir, state, x_train, y_train, x_val, y_val,
            mean_np, std_np, use_amp, say):
    """Restore the best epoch, measure every split, draw the pictures; returns (summary, history)."""
    model.load_state_dict(load_state(run_dir / "best.pt"))
    write_safetensors(run_dir / "best.safetensors", model.state_dict())
    K = len(dataset.classes)
    pos = positive_index(config, dataset.classes)
    train = summarise_logits(predict_logits(model, x_train, amp=use_amp), y_train, K, pos)
    val = summarise_logits(predict_logits(model, x_val, amp=use_amp), y_val, K, pos)
    x_test = to_normalised_tensor(dataset.x_test, mean_np, std_np, device)
    y_test = torch.as_tensor(dataset.y_test, dtype=torch.long, device=device)
    test = summarise_logits(predict_logits(model, x_test, amp=use_amp), y_test, K, pos)
    history = state["history"]
    summary = {
        "model": config.model, "data": config.data,
        "test_accuracy": test["accuracy"], "val_accuracy": val["accuracy"],
        "train_accuracy": train["accuracy"], "test_loss": test["loss"], "val_loss": val["loss"],
        "train_loss": train["loss"], "epochs": state["epoch"], "best_epoch": state["best_epoch"],
        "stopped_early": state["stopped"], "params": count_params(model),
        "trainable_params": count_trainable(model), "train_seconds": round(state["train_seconds"], 3),
        "seconds_per_epoch": round(state["train_seconds"] / max(1, len(history)), 3),
        "num_classes": K, "n_train": len(x_train), "n_val": len(x_val), "n_test": len(x_test),
        "device": str(device), "run_dir": str(run_dir)}
    if K == 2:
        summary.update({k: test[k] for k in ("precision", "recall", "f1", "roc_auc")})
        summary["positive_class"] = str(dataset.classes[pos])
    summary = {k: _finite(v) for k, v in summary.items()}
    plots.plot_learning_curves(history, run_dir / "learning_curves.png", state["best_epoch"])
    plots.plot_confusion(test["confusion"], dataset.classes, run_dir / "confusion_matrix.png")
    say(f"best epoch {state['best_epoch']}: test accuracy {test['accuracy']:.2%}, "
        f"val {val['accuracy']:.2%}, train {train['accuracy']:.2%}  -> {run_dir}")
    return summary, history
