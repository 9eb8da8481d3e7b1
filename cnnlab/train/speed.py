"""Choices that make training fast without changing what it computes.

Memory format, scoring batch size, the sample of training images re-scored at the end,
and imports overlapped with training; the thread count is in :mod:`cnnlab.train.threads`.
The measurements behind each choice are in docs/training.md, "Speed".
"""

from __future__ import annotations

import importlib
import threading

import torch
from torch import nn

from cnnlab.train.config import TrainConfig

__all__ = ["use_channels_last", "eval_batch_size", "train_score_indices", "import_in_background"]


def use_channels_last(config: TrainConfig, model: nn.Module, device: torch.device) -> bool:
    """Whether the run keeps images and conv weights in NHWC (channels-last) order.

    ``config.channels_last`` decides when set; by default it is on for models with a 2-D
    convolution on the CPU, where it ran the MNIST loop 2.3x faster (max-pooling and conv
    backward in NCHW are the slow parts; docs/training.md, "Speed").
    """
    if config.channels_last is not None:
        return config.channels_last
    return device.type == "cpu" and any(isinstance(m, nn.Conv2d) for m in model.modules())


def eval_batch_size(C: int, H: int, W: int) -> int:
    """Images per forward pass when scoring: ~0.5M input values a batch (32 to 1,024).

    Larger is not faster on the CPU: fast-cnn scored 2,050-2,200 MNIST images/s at batch
    512 and 1,000-1,350 at 2,675-4,096, whose activations no longer fit the caches.
    """
    return max(32, min(1024, 2**19 // max(1, C * H * W)))


def import_in_background(*modules: str) -> threading.Thread:
    """Import ``modules`` on another thread while the run trains.

    matplotlib's import (0.7 s idle, several seconds under load) is needed only for the two
    pictures at the end; torch's kernels release the GIL, so the import overlaps training
    instead of adding to the run's wall time.
    """
    def work() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except ImportError:  # reported when the pictures are drawn
                return

    thread = threading.Thread(target=work, name="cnnlab-import", daemon=True)
    thread.start()
    return thread


def train_score_indices(n: int, limit: int | None, seed: int) -> torch.Tensor:
    """Indices of the training images re-scored at the end: all, or a fixed sample of ``limit``.

    The sample depends on ``seed`` (the split seed) only, so every run of a split scores
    the same images. 10,000 images give the accuracy to within about ±0.3% (95%).
    """
    if limit is None or limit >= n:
        return torch.arange(n)
    gen = torch.Generator().manual_seed(seed)
    return torch.randperm(n, generator=gen)[:limit].sort().values
