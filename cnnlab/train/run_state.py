"""The state of one training run: what it has done (saved in ``last.pt``) and what it works on.

:class:`RunState` is the part of a run that ``last.pt`` keeps so a run resumes exactly;
:class:`Run` holds the tensors on the device, the model, the optimizer and the schedule
that :func:`cnnlab.train.loop.fit` trains with.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cnnlab.data.stored import StoredImages
from cnnlab.models import param_groups
from cnnlab.train.batches import DeviceImages, StreamedImages, check_batch_memory
from cnnlab.train.checkpoint import CHECKPOINT_VERSION
from cnnlab.train.config import TrainConfig
from cnnlab.train.metrics import predict_logits, safe_std, summarise_logits, to_normalised_tensor
from cnnlab.train.optim import make_optimizer, make_scheduler
from cnnlab.train.speed import amp_dtype, eval_batch_size, use_channels_last

__all__ = ["RunState", "Run"]


@dataclass
class RunState:
    """What a run has done so far; saved in ``last.pt`` so that a run resumes exactly."""

    epoch: int = 0  # epochs finished
    history: list[dict] = field(default_factory=list)  # one row per epoch (metrics.csv)
    best_val_loss: float = float("inf")
    best_epoch: int = 0  # epoch whose weights are in best.pt
    bad_epochs: int = 0  # epochs since the validation loss last improved
    stopped: bool = False  # stopped early (patience)
    train_seconds: float = 0.0  # training time of all calls so far

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_saved(cls, saved: dict) -> "RunState":
        return cls(**{f.name: saved[f.name] for f in dataclasses.fields(cls)})


class Run:
    """Everything one run works on: tensors on the device, model, optimizer, schedule."""

    def __init__(self, config: TrainConfig, dataset, model: nn.Module, device: torch.device,
                 augment, run_dir: Path, say, progress: bool, on_epoch):
        self.config, self.dataset, self.model, self.device = config, dataset, model, device
        self.augment, self.run_dir, self.say, self.progress, self.on_epoch = \
            augment, run_dir, say, progress, on_epoch
        self.K = len(dataset.classes)
        self.mean_np, self.std_np = np.asarray(dataset.mean, np.float32), safe_std(dataset.std)
        self.channels_last = use_channels_last(config, model, device)
        self.memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        if isinstance(dataset.x_train, StoredImages):  # prepared per batch: one batch's floats at a time
            check_batch_memory(config.batch_size, dataset.x_train.shape)
        self.x_train = self.images(dataset.x_train)  # (N, C, H, W), normalised, on the device
        self.x_val = self.images(dataset.x_val)
        self.y_train = torch.as_tensor(dataset.y_train, dtype=torch.long, device=device)
        self.y_val = torch.as_tensor(dataset.y_val, dtype=torch.long, device=device)
        self.mean_t = torch.as_tensor(self.mean_np, device=device)
        self.std_t = torch.as_tensor(self.std_np, device=device)
        model.to(device=device, memory_format=self.memory_format)
        self.eval_batch = eval_batch_size(*self.x_train.shape[1:])
        self.freezing = config.freeze or config.unfreeze_after > 0
        factor = config.backbone_lr_factor if config.unfreeze_after > 0 else 1.0
        self.optimizer = make_optimizer(param_groups(model, config.lr, factor), config)
        n = len(self.x_train)
        n_used = n - (n > 1 and n % config.batch_size == 1)
        self.steps = max(1, math.ceil(n_used / config.batch_size))  # batches per epoch, as train_epoch
        self.scheduler = make_scheduler(self.optimizer, config, self.steps)
        self.amp_dtype, self.precision = amp_dtype(config.amp, device)
        self.use_amp = self.amp_dtype is not None and device.type == "cuda"  # scoring in amp
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
        self.state = RunState()
        self.dist = None  # a Dist in data-parallel training (cnnlab.train.distributed)

    def images(self, x: np.ndarray | StoredImages) -> torch.Tensor | DeviceImages:
        """Images (N, C, H, W) in [0, 1] -> normalised tensor on the device, in the run's layout.

        Stored images (:class:`StoredImages`) stay stored on the device and are prepared
        per batch (:class:`DeviceImages`); a float array is normalised whole, writing one
        new tensor (no float copies in between), as ``to_normalised_tensor``.
        """
        if isinstance(x, StoredImages) and not isinstance(x.raw, np.ndarray):  # files on disk
            return StreamedImages(x, self.mean_np, self.std_np, self.device, self.memory_format)
        if isinstance(x, StoredImages):
            return DeviceImages(x, self.mean_np, self.std_np, self.device, self.memory_format)
        N, C, H, W = x.shape
        if self.device.type != "cpu":
            t = to_normalised_tensor(x, self.mean_np, self.std_np, self.device)
            return t.contiguous(memory_format=self.memory_format)
        src = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))  # shares x's memory
        out = torch.empty((N, C, H, W), memory_format=self.memory_format)
        torch.sub(src, torch.from_numpy(self.mean_np).view(1, C, 1, 1), out=out)
        return out.div_(torch.from_numpy(self.std_np).view(1, C, 1, 1))

    def score(self, x: torch.Tensor, y: torch.Tensor, positive: int = 1) -> dict:
        """Metrics of the model on normalised images x: (N, C, H, W) and labels y: (N,).

        x: a tensor or :class:`DeviceImages` (prepared a scoring batch at a time).
        """
        logits = predict_logits(self.model, x, self.eval_batch, amp=self.use_amp)
        return summarise_logits(logits, y, self.K, positive)

    def sample(self, x: torch.Tensor | DeviceImages, index: torch.Tensor) -> torch.Tensor | DeviceImages:
        """The images ``index`` of x; stored images stay stored (prepared when scored)."""
        return x.subset(index) if isinstance(x, DeviceImages) else x[index]

    def checkpoint(self) -> dict:
        return {"version": CHECKPOINT_VERSION, **self.state.as_dict(), "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict() if self.scheduler is not None else {},
                "scaler": self.scaler.state_dict() if self.scaler is not None else {}}
