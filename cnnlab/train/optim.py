"""Optimizers and learning-rate schedules named in a TrainConfig."""

from __future__ import annotations

import torch

from cnnlab.train.config import TrainConfig

__all__ = ["make_optimizer", "make_scheduler", "PER_BATCH_SCHEDULES"]

# Schedules stepped after every batch; "step" is stepped after every epoch.
PER_BATCH_SCHEDULES = ("cosine", "onecycle")


def make_optimizer(groups: list[dict], config: TrainConfig) -> torch.optim.Optimizer:
    """SGD (with ``momentum``), Adam or AdamW over ``groups`` (each with its own lr)."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum,
                               weight_decay=config.weight_decay)
    cls = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
    return cls(groups, lr=config.lr, weight_decay=config.weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int):
    """The schedule's torch scheduler, or None for ``schedule="none"``.

    step: lr x gamma every ``step_size`` epochs (default a third of the run);
    cosine: cosine decay to 0 over all batches; onecycle: warm-up to ``lr`` for 30% of
    the batches, then annealing (momentum cycles inversely), as ``OneCycleLR``.
    """
    total = config.epochs * steps_per_epoch
    if config.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(
            optimizer, step_size=config.step_size or max(1, config.epochs // 3), gamma=config.gamma)
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=[g["lr"] for g in optimizer.param_groups], total_steps=total)
    return None
