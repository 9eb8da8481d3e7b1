"""A copy of a model laid out for fast CPU inference and input gradients.

Conv models on the CPU run in channels-last (NHWC) order: on the 2-core machines it made
max-pooling 2.5-8.5x and the whole MNIST training loop 2.3x faster (docs/training.md,
"Speed"); for explain it ran the shift curves 1.9x and 128 maximisation steps 1.6x faster
(docs/cli.md, "Speed and work bounds"). The caller's model is left as it is.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

__all__ = ["fast_copy", "to_layout"]


def fast_copy(model: nn.Module, device: torch.device | str = "cpu") -> nn.Module:
    """``model`` in eval mode on ``device``, as a channels-last copy for a conv model on the CPU."""
    model = model.to(device).eval()
    if torch.device(device).type == "cpu" and any(isinstance(m, nn.Conv2d) for m in model.modules()):
        return copy.deepcopy(model).to(memory_format=torch.channels_last)
    return model


def to_layout(x: torch.Tensor, model: nn.Module, original: nn.Module) -> torch.Tensor:
    """x: (N, C, H, W) in channels-last order when ``model`` is a channels-last copy of ``original``."""
    return x.contiguous(memory_format=torch.channels_last) if model is not original else x
