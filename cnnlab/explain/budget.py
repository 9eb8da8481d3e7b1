"""Work bounds of explain's parts, checked before a part starts.

A part's work is counted in multiply-adds: image passes × the model's multiply-adds per
image (a backward pass counted as two forward passes), plus a fixed cost per call of the
model (``CALL_COST``, in the same units), which dominates for small models and batches.
Each part must stay within ``MAX_WORK``; over it, the part is refused with one line that
names the limit and what to lower (docs/limits.md).

Calibration (2-core EPYC, 1 thread, shared machine): one maximisation step of the demo's
small-cnn (26 images, forward and backward) took 4-9 ms, of which 2-3 ms is the images'
arithmetic and the rest a fixed cost of about 2e7 multiply-adds' time; the shift curves
ran at 3-10 G multiply-adds/s. ``MAX_WORK`` is about a minute at those rates; ``explain
--what maximize --steps 10000`` of the demo run (233 s before the bound) is refused.

>>> from torch import nn
>>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 4 * 4, 10))
>>> model_macs(net, (1, 6, 6))  # conv 2·4·4 outputs × 9, flatten 32, linear 10 × 32
640
"""

from __future__ import annotations

import math

import torch
from torch import nn

from cnnlab.errors import UsageError

__all__ = ["MAX_WORK", "CALL_COST", "model_macs", "part_work", "check_work", "max_images"]

MAX_WORK = 2e11   # multiply-adds per part (about a minute on the 2-core machine)
CALL_COST = 2e7   # multiply-adds' worth of fixed cost per call of the model (Python, dispatch)


def model_macs(model: nn.Module, shape: tuple[int, int, int]) -> int:
    """Multiply-adds of one forward pass of one image: shape (C, H, W).

    Convolutions and linear layers count out_elements × in_channels/groups × kernel
    area (× in_features); every other leaf layer counts one per output element.
    """
    C, H, W = shape
    total = [0]

    def count(module, inputs, output):
        if not isinstance(output, torch.Tensor):
            return
        if isinstance(module, nn.modules.conv._ConvNd):
            per = module.in_channels // module.groups * math.prod(module.kernel_size)
            total[0] += output.numel() * per
        elif isinstance(module, nn.Linear):
            total[0] += output.numel() * module.in_features
        else:
            total[0] += output.numel()

    leaves = [m for m in model.modules() if not any(True for _ in m.children())]
    handles = [m.register_forward_hook(count) for m in leaves]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, C, H, W, device=next(model.parameters(), torch.zeros(0)).device))
    finally:
        for h in handles:
            h.remove()
    return int(total[0])


def part_work(passes: int, macs: int, calls: int) -> float:
    """Multiply-adds of ``passes`` image passes of a model of ``macs`` and ``calls`` model calls."""
    return float(passes) * macs + float(calls) * CALL_COST


def check_work(part: str, passes: int, macs: int, calls: int, lower: str) -> None:
    """UsageError when the part's work is over MAX_WORK; ``lower`` says what to reduce."""
    work = part_work(passes, macs, calls)
    if work > MAX_WORK:
        raise UsageError(f"explain {part}: {passes:,} image passes of a model of {macs:,} "
                         f"multiply-adds (+ {calls:,} calls) is {work:.2g} multiply-adds, over the "
                         f"limit of {MAX_WORK:.0e} per part (docs/limits.md); {lower}")


def max_images(per_image_passes: int, macs: int, per_call: int) -> int:
    """The most images a part of ``per_image_passes`` passes each (``per_call`` images per
    call) can take within MAX_WORK."""
    per_image = per_image_passes * macs + CALL_COST / max(1, per_call)
    return int(MAX_WORK // per_image)
