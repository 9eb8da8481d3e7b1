"""fit(): train a model on a dataset held as stored, with resume, and write its run folder.

The splits are held as their files store them (uint8 stays uint8) and each batch is
converted, resized, normalised and augmented when drawn (:mod:`cnnlab.train.batches`;
docs/training.md, "Data held as stored"); a batch is an index into the split (a new random
permutation every epoch), never a DataLoader for in-memory data, so the loop costs no more
than a hand-written one (benchmarks/RESULTS.md, section train-loop).
Every epoch draws its randomness (order, dropout, augmentation) from a generator seeded
by (seed, epoch), so a run resumed from ``last.pt`` ends with the same weights as one
that was never interrupted.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import Future
import dataclasses
import math
import os
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.errors import UsageError
from cnnlab.models import count_params, count_trainable, get_model, load_pretrained
from cnnlab.seeds import EPOCH, derive_seed
from cnnlab.storage import RunFolder, default_run_dir
from cnnlab.train.augment import augment_batch, parse_augment
from cnnlab.train.device import pick_device, torch_state
from cnnlab.train.divergence import TrainingDiverged, stop_if_diverged
from cnnlab.train.config import TrainConfig
from cnnlab.train.config_data import load_config_dataset, load_config_labelled_split, load_config_split  # noqa: F401
from cnnlab.train.optim import PER_BATCH_SCHEDULES, describe_optimizer
from cnnlab.train.pictures import Pictures
from cnnlab.train.metrics import safe_std
from cnnlab.train.progress import batch_progress
from cnnlab.train.runs import check_run_dir
from cnnlab.train.run_state import Run, RunState
from cnnlab.train.speed import eval_batch_size, train_score_indices, use_channels_last
from cnnlab.train.threads import choose_threads

__all__ = ["fit", "RunResult", "RunState", "train_epoch", "pick_device", "epoch_seed",
           "load_config_dataset", "positive_index", "use_channels_last", "eval_batch_size",
           "train_score_indices"]


@dataclass
class RunResult:
    """What :func:`fit` returns: the run folder, the best model (eval mode, CPU) and its numbers."""

    run_dir: Path
    model: nn.Module
    summary: dict
    history: list[dict]


def epoch_seed(seed: int, epoch: int) -> int:
    """Seed of all randomness in ``epoch`` (1-based) of a run seeded ``seed`` (:mod:`cnnlab.seeds`)."""
    return derive_seed(seed, EPOCH, epoch)


def _loss_fn(name: str, label_smoothing: float = 0.0) -> Callable:
    if name == "nll":  # the sheet's log_softmax + NLLLoss: the same value as cross-entropy
        return lambda logits, y: F.nll_loss(F.log_softmax(logits, 1), y)
    if label_smoothing:
        return partial(F.cross_entropy, label_smoothing=label_smoothing)
    return F.cross_entropy


def train_epoch(model: nn.Module, optimizer, x: torch.Tensor,
                y: torch.Tensor, batch_size: int, gen: torch.Generator, *,
                loss_fn: Callable = F.cross_entropy, scheduler=None, augment=(),
                mean: torch.Tensor | None = None, std: torch.Tensor | None = None,
                amp_dtype: torch.dtype | None = None, scaler=None,
                advance: Callable[[int], None] | None = None,
                frozen_bn_eval: bool = False, dist=None) -> tuple[float, float]:
    """One pass over (x, y) in random batches; returns (mean loss, accuracy).

    x: (N, C, H, W) normalised, on the training device; y: (N,) long. ``scheduler`` is
    stepped after every batch (give it only for per-batch schedules).
    ``frozen_bn_eval``: batch-norm layers with frozen weights keep their running stats.
    ``dist``: a :class:`cnnlab.train.distributed.Dist`; this rank trains on its shard of
    each global batch through DistributedDataParallel and steps with the global batch's
    mean gradient.
    """
    N = x.shape[0]
    perm = torch.randperm(N, device=x.device, generator=gen)
    if N > 1 and N % batch_size == 1:
        perm = perm[:-1]  # a last batch of one example breaks batch norm
    if dist is not None and 0 < len(perm) % batch_size < dist.world:
        perm = perm[:len(perm) - len(perm) % batch_size]  # a rank would get no example
    model.train()
    if frozen_bn_eval:
        _frozen_bn_eval(model)
    net = model if dist is None else dist.wrap(model)  # DDP averages gradients in backward
    total_loss = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device, dtype=torch.long)
    batches = [perm[start:start + batch_size] for start in range(0, len(perm), batch_size)]
    # this rank's part of each global batch: (about B / world,)
    shards = batches if dist is None else [dist.shard(idx) for idx in batches]
    if hasattr(x, "plan"):  # images read from disk: the workers read ahead (cnnlab.train.batches)
        x.plan(shards)
    for whole, idx in zip(batches, shards):
        n_batch = len(whole)
        xb, yb = x[idx], y[idx]  # (B, C, H, W), (B,)
        if augment:
            xb = augment_batch(xb, augment, mean, std, gen)
        if amp_dtype is None:
            out = net(xb)  # (B, K)
            loss = loss_fn(out, yb)
        else:
            with torch.autocast(x.device.type, dtype=amp_dtype):
                out = net(xb)
                loss = loss_fn(out, yb)
        optimizer.zero_grad(set_to_none=True)
        # this shard's loss, scaled so that DDP's mean over ranks is the global batch's mean
        share = loss if dist is None else loss * dist.loss_share(len(idx), n_batch)
        if scaler is not None:
            scaler.scale(share).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            share.backward()
            optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total_loss += loss.detach() * len(idx)
        correct += (out.argmax(1) == yb).sum()
        if advance is not None:
            advance(len(idx))
    n = max(1, len(perm))
    if dist is not None:  # the sums of every rank's shard
        total_loss, correct = dist.sum(total_loss, correct)
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
        on_epoch: Callable[[dict], None] | None = None, dist=None) -> RunResult:
    """Train ``config.model`` on ``dataset`` (or ``config.data``) and write the run folder.

    ``dataset``: a Dataset, or a Future of one (:func:`cnnlab.train.config_data.load_in_background`).

    Resumes from ``last.pt`` when ``config.out`` holds an unfinished run of the same
    config. ``on_epoch(row)`` is called after each epoch's checkpoint is saved (raising
    in it stops the run, which stays resumable). ``dist``: this process's
    :class:`cnnlab.train.distributed.Dist` in data-parallel training (rank 0 alone writes
    and logs; the other ranks return an empty summary). Returns a :class:`RunResult`.
    """
    from cnnlab.train import distributed

    started = time.perf_counter()
    main = dist is None or dist.is_main
    say = (log if main else None) or (lambda _message: None)
    progress = progress and main
    config.validate()
    device = distributed.device_for(dist, pick_device(config.device))
    run_dir = Path(config.out) if config.out else default_run_dir(config.model, config.data)
    config = dataclasses.replace(_absolute_paths(config), out=str(run_dir))
    with _run_lock(run_dir):  # one writer per run folder (docs/runs.md)
        return _fit_locked(config, dataset, device, run_dir, started, progress, say, on_epoch, dist)


def _run_lock(run_dir: Path):
    """The run folder's lock; ranks other than 0 of a distributed run write nothing."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized() and dist.get_rank() != 0:
        return contextlib.nullcontext()
    return RunFolder(run_dir).lock()


def _fit_locked(config, dataset, device, run_dir, started, progress, say, on_epoch, dist):
    from cnnlab.train import distributed
    main = dist is None or dist.is_main
    folder = RunFolder(run_dir)
    resuming = check_run_dir(run_dir, config.resume_key())
    for note in folder.record_legacy() if resuming and main else ():
        say(f"note: {note}")
    if dataset is None:
        dataset = load_config_dataset(config, stored=True)
    elif isinstance(dataset, Future):  # read while torch was imported (cnnlab.train.config_data)
        dataset = dataset.result()
    if config.normalize == "imagenet":  # the statistics pretrained ImageNet weights expect
        from cnnlab.models.pretrained import imagenet_stats

        bands = dataset.x_train.shape[1]
        if bands != 3:  # contract: ImageNet's statistics are RGB's, a guess for any other band stack
            raise UsageError(f"--normalize imagenet needs RGB images (3 bands); {config.data} has "
                             f"{bands} band{'s' if bands != 1 else ''}: use --normalize data "
                             "(each band's mean and std over the training split)")
        mean, std = imagenet_stats()
        dataset = dataclasses.replace(dataset, mean=np.asarray(mean, np.float32), std=np.asarray(std, np.float32))
    N, C, H, W = dataset.x_train.shape
    K = len(dataset.classes)
    positive_index(config, dataset.classes)  # refused before the run folder exists
    for note in dataset.notes:  # e.g. corrupt files skipped, grayscale converted to RGB
        say(f"data: {note}")
    if len(dataset.x_val) == 0:
        raise UsageError(f"dataset {config.data} has no validation examples; raise --val-fraction")
    augment = parse_augment(config.augment)
    threads, why = (config.threads, "--threads") if config.threads else choose_threads()
    threads = threads if config.threads else distributed.threads_for(dist, threads)
    with torch_state(threads, device):
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
        model = distributed.convert_batchnorm(model, dist, device)
        if dist is not None:  # every rank has checked the run folder; now rank 0 may write
            dist.barrier()
        if main:
            run_dir.mkdir(parents=True, exist_ok=True)  # only now: everything is validated
            folder.write("config.yaml", config.to_yaml())
            if spec is not None:
                folder.write("spec.txt", spec)
        meta = {"model": config.model, "model_cfg": config.model_cfg, "spec": spec, "in_channels": C,
                "num_classes": K, "input_size": [H, W], "classes": list(map(str, dataset.classes)),
                "mean": [float(v) for v in dataset.mean], "std": [float(v) for v in safe_std(dataset.std)],
                "data": config.data, "params": count_params(model)}
        if main:
            folder.write_json("model.json", meta)
        run = Run(config, dataset, model, device, augment, run_dir, say, progress, on_epoch)
        run.dist = dist
        wait = os.environ.get("OMP_WAIT_POLICY", "default")
        say(f"{device}: {threads} thread(s) ({why}; OpenMP wait policy {wait}), "
            f"{'channels-last' if run.channels_last else 'NCHW'} memory format, {run.precision}")
        if not main:  # rank 0 measures every split, draws and writes the summary
            _train(run, resuming)
            return RunResult(run_dir, model.cpu().eval(), {}, run.state.history)
        # the picture worker imports matplotlib while the model trains (cnnlab.train.pictures)
        with Pictures() as pictures:
            earlier = _train(run, resuming)
            summary, history = _finish(run, pictures)
        # wall time of this call plus the training time of the calls it resumed
        summary["total_seconds"] = round(time.perf_counter() - started + earlier, 3)
        summary["skipped_files"] = int(dataset.skipped)
        summary["threads"] = threads
        summary["status"] = "finished"
        folder.write_json("summary.json", summary)
    return RunResult(run_dir, model.cpu().eval(), summary, history)


def _train(run: Run, resuming: bool) -> float:
    """Train the remaining epochs; returns the training seconds of earlier calls."""
    config, state, say = run.config, run.state, run.say
    if resuming:
        from cnnlab.train.resume import restore_run  # hash, structure and shapes checked first

        run.state = RunState.from_saved(restore_run(run.run_dir, run.model, run.optimizer, run.scheduler,
                                                    run.scaler, config, run.steps, say))
        state = run.state
        say(f"resuming {run.run_dir} after epoch {state.epoch}")
        if state.stopped and state.epoch < config.epochs:
            say(f"the run stopped early at epoch {state.epoch} (no better validation loss for "
                f"{config.patience} epochs): nothing more to train")
    say(f"{config.model}: {count_params(run.model):,} parameters, {len(run.x_train):,} training "
        f"examples {tuple(run.x_train.shape[1:])}")
    say(f"optimizer {describe_optimizer(config)}, schedule {config.schedule}, global batch "
        f"{config.batch_size}")
    earlier = state.train_seconds
    loss_fn = _loss_fn(config.loss, config.label_smoothing)
    per_batch = run.scheduler if config.schedule in PER_BATCH_SCHEDULES else None
    while state.epoch < config.epochs and not state.stopped:
        epoch = state.epoch + 1
        seed = epoch_seed(config.seed, epoch)
        torch.manual_seed(seed if run.dist is None else run.dist.local_seed(seed))  # dropout
        gen = torch.Generator(device=run.device).manual_seed(seed)  # order, augmentation
        if run.freezing:
            _set_frozen(run.model, epoch <= config.unfreeze_after if config.unfreeze_after else True)
            if config.unfreeze_after and epoch == config.unfreeze_after + 1:
                say(f"epoch {epoch}: backbone unfrozen, its lr x{config.backbone_lr_factor:g}")
        lr = run.optimizer.param_groups[0]["lr"]
        tic = time.perf_counter()
        with batch_progress(run.progress, len(run.x_train), f"epoch {epoch}/{config.epochs}") as advance:
            train_loss, train_acc = train_epoch(
                run.model, run.optimizer, run.x_train, run.y_train, config.batch_size, gen,
                loss_fn=loss_fn, scheduler=per_batch, augment=run.augment, mean=run.mean_t,
                std=run.std_t, amp_dtype=run.amp_dtype, scaler=run.scaler, advance=advance,
                frozen_bn_eval=run.freezing, dist=run.dist)
        if run.scheduler is not None and per_batch is None:
            run.scheduler.step()
        val = run.score(run.x_val, run.y_val)
        if run.dist is not None:  # rank 0's numbers decide early stopping on every rank
            val["loss"], val["accuracy"] = run.dist.broadcast([val["loss"], val["accuracy"]])
        if run.dist is None or run.dist.is_main:  # before this epoch's checkpoints are written
            stop_if_diverged(run.run_dir, config, epoch, train_loss, val["loss"], state.epoch,
                             state.best_epoch)
        elif not (math.isfinite(train_loss) and math.isfinite(val["loss"])):
            raise TrainingDiverged(f"training diverged in epoch {epoch} (rank 0 says how)")
        seconds = time.perf_counter() - tic
        row = {"epoch": epoch, "train_loss": round(train_loss, 6), "train_accuracy": round(train_acc, 6),
               "val_loss": round(val["loss"], 6), "val_accuracy": round(val["accuracy"], 6),
               "lr": lr, "seconds": round(seconds, 3)}
        state.history.append(row)
        state.train_seconds += seconds
        state.epoch = epoch
        if state.best_epoch == 0 or val["loss"] < state.best_val_loss:
            state.best_val_loss, state.best_epoch, state.bad_epochs = val["loss"], epoch, 0
            if run.dist is None or run.dist.is_main:
                RunFolder(run.run_dir).save_checkpoint("best.pt", run.model.state_dict())
        else:
            state.bad_epochs += 1
            state.stopped = bool(config.patience and state.bad_epochs >= config.patience)
        if run.dist is None or run.dist.is_main:
            RunFolder(run.run_dir).save_checkpoint("last.pt", run.checkpoint())
            # after last.pt: metrics.csv without last.pt means last.pt was removed (go on from best.pt)
            RunFolder(run.run_dir).write_csv("metrics.csv", state.history)
        say(f"epoch {epoch}/{config.epochs}  train loss {train_loss:.4f} acc {train_acc:.2%}  "
            f"val loss {val['loss']:.4f} acc {val['accuracy']:.2%}  lr {lr:.3g}  {seconds:.1f}s"
            + ("  (early stop)" if state.stopped else ""))
        if run.on_epoch is not None:
            run.on_epoch(row)
    return earlier


def _finish(run: Run, pictures: Pictures) -> tuple[dict, list[dict]]:
    """Restore the best epoch, measure every split, draw the pictures; returns (summary, history).

    ``pictures`` draws beside the scoring (:mod:`cnnlab.train.pictures`): the learning
    curves from the start, the confusion matrix as soon as the test split is scored; both
    are written before this returns.
    """
    pictures.draw("learning_curves", run.state.history, run.run_dir / "learning_curves.png",
                  run.state.best_epoch)
    summary, test = _score_best(run)
    pictures.draw("confusion", test["confusion"], run.dataset.classes, run.run_dir / "confusion_matrix.png")
    train, val = _score_train_val(run)
    pictures.join()
    state = run.state
    summary.update({"val_accuracy": val["accuracy"], "train_accuracy": train["accuracy"],
                    "val_loss": val["loss"], "train_loss": train["loss"], "n_train_scored": train["n"]})
    summary = {k: _finite(v) for k, v in _ordered(summary).items()}
    scored = "" if train["n"] == len(run.x_train) else f" (on {train['n']:,} of its images)"
    run.say(f"best epoch {state.best_epoch}: test accuracy {summary['test_accuracy']:.2%}, "
            f"val {val['accuracy']:.2%}, train {train['accuracy']:.2%}{scored}  -> {run.run_dir}")
    return summary, state.history


def _score_best(run: Run) -> tuple[dict, dict]:
    """Restore best.pt (and write it as safetensors), score the test split: (summary, test)."""
    config, dataset, state, model = run.config, run.dataset, run.state, run.model
    folder = RunFolder(run.run_dir)
    model.load_state_dict(folder.load_checkpoint("best.pt"))
    folder.save_safetensors("best.safetensors", model.state_dict())
    pos = positive_index(config, dataset.classes)
    x_test = run.images(dataset.x_test)
    y_test = torch.as_tensor(dataset.y_test, dtype=torch.long, device=run.device)
    test = run.score(x_test, y_test, pos)
    history = state.history
    summary = {
        "model": config.model, "data": config.data,
        "test_accuracy": test["accuracy"], "test_loss": test["loss"], "epochs": state.epoch,
        "best_epoch": state.best_epoch, "stopped_early": state.stopped, "params": count_params(model),
        "trainable_params": count_trainable(model), "train_seconds": round(state.train_seconds, 3),
        "seconds_per_epoch": round(state.train_seconds / max(1, len(history)), 3),
        "num_classes": run.K, "n_train": len(run.x_train), "n_val": len(run.x_val), "n_test": len(x_test),
        "device": str(run.device), "run_dir": str(run.run_dir)}
    if config.recipe:
        summary["recipe"] = config.recipe
    if run.K == 2:
        summary.update({k: test[k] for k in ("precision", "recall", "f1", "roc_auc")})
        summary["positive_class"] = str(dataset.classes[pos])
    return summary, test


def _score_train_val(run: Run) -> tuple[dict, dict]:
    """Metrics of the (restored) best model on the training sample and the validation split."""
    pos = positive_index(run.config, run.dataset.classes)
    idx = train_score_indices(len(run.x_train), run.config.score_train_limit, run.config.split_seed)
    if len(idx) < len(run.x_train):
        idx = idx.to(run.device)
        train = run.score(run.sample(run.x_train, idx), run.y_train[idx], pos)
    else:
        train = run.score(run.x_train, run.y_train, pos)
    return train, run.score(run.x_val, run.y_val, pos)


# summary.json's keys in the order they have always been written
_SUMMARY_ORDER = ("model", "data", "test_accuracy", "val_accuracy", "train_accuracy", "test_loss",
                  "val_loss", "train_loss", "epochs", "best_epoch", "stopped_early", "params",
                  "trainable_params", "train_seconds", "seconds_per_epoch", "num_classes", "n_train",
                  "n_val", "n_test", "n_train_scored", "device", "run_dir")


def _ordered(summary: dict) -> dict:
    return {**{k: summary[k] for k in _SUMMARY_ORDER}, **summary}
