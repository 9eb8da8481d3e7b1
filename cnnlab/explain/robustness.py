"""Robustness to shifted inputs: accuracy and prediction consistency against the shift.

For each shift s in -max..max the whole split is moved s pixels horizontally (and, in a
second curve, vertically) with zero fill — the same images as
:func:`cnnlab.train.shift.shift_images` gives — and classified. *Consistency* is the share
of images whose predicted class is the same as for the unshifted image (whether right or
wrong), so it measures invariance apart from accuracy.

Speed (docs/cli.md, "Speed and work bounds"): the images are normalised once per chunk, every shift of
a chunk is built from the normalised tensor (the fill is a black pixel, ``-mean/std``) and
classified in one forward pass, the unshifted predictions serve both axes, and conv models
on the CPU run in channels-last order (2.5-8.5x faster max-pooling; see docs/training.md).

>>> import numpy as np, torch
>>> from torch import nn
>>> net = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
>>> x, y = np.random.default_rng(0).random((6, 1, 4, 4), dtype=np.float32), np.arange(6) % 2
>>> curve = shift_robustness(net, x, y, [0.0], [1.0], max_shift=1)
>>> curve["shifts"], curve["horizontal"]["consistency"][1]
([-1, 0, 1], 1.0)
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from cnnlab.errors import UsageError

__all__ = ["shift_curve", "shift_robustness", "shift_tensor", "shift_passes", "AXES", "CHUNK"]

AXES = ("horizontal", "vertical")
CHUNK = 512  # images per forward pass (every shift of CHUNK // shifts images): on the 2-core
# machine 512 ran the MNIST curves 1.2-1.6x faster than 2048 or 8192 (cache), 128 no faster


def shift_tensor(x, dx: int, dy: int, fill):
    """x: (N, C, H, W) tensor moved dx px right and dy px down, ``fill``: (1, C, 1, 1) let in."""
    N, C, H, W = x.shape
    out = fill.expand(N, C, H, W).clone()
    if abs(dx) >= W or abs(dy) >= H:
        return out
    out[:, :, max(0, dy):H - max(0, -dy), max(0, dx):W - max(0, -dx)] = \
        x[:, :, max(0, -dy):H - max(0, dy), max(0, -dx):W - max(0, dx)]
    return out


def shift_passes(n: int, max_shift: int) -> int:
    """Image forward passes of :func:`shift_robustness`: n images at 4·max_shift + 1 shifts."""
    return n * (4 * max_shift + 1)


def _offsets(shifts: Sequence[int]) -> list[tuple[int, int]]:
    """(dx, dy) of the unshifted image, then of every non-zero shift, horizontal then vertical."""
    moved = [s for s in shifts if s != 0]
    return [(0, 0)] + [(s, 0) for s in moved] + [(0, s) for s in moved]


def _predictions(model, x: np.ndarray, mean, std, offsets, device: str) -> np.ndarray:
    """(len(offsets), N) predicted classes of x: (N, C, H, W) in [0, 1] moved by each offset."""
    import torch

    from cnnlab.explain.fast import fast_copy, to_layout
    from cnnlab.train.metrics import safe_std

    N, C, H, W = x.shape
    m = torch.as_tensor(np.asarray(mean, np.float32).reshape(1, C, 1, 1), device=device)
    s = torch.as_tensor(safe_std(std).reshape(1, C, 1, 1), device=device)
    fill = (0 - m) / s  # (1, C, 1, 1): a black pixel, normalised as the images are
    net = fast_copy(model, device)
    per = max(1, CHUNK // len(offsets))  # images per forward pass
    out = np.empty((len(offsets), N), np.int64)
    with torch.inference_mode():
        for i in range(0, N, per):
            xt = (torch.as_tensor(np.asarray(x[i:i + per], np.float32), device=device) - m) / s
            batch = torch.cat([shift_tensor(xt, dx, dy, fill) for dx, dy in offsets])  # (S·b, C, H, W)
            pred = net(to_layout(batch, net, model)).argmax(1).view(len(offsets), -1)  # (S, b)
            out[:, i:i + per] = pred.cpu().numpy()
    return out


def _curve(pred: np.ndarray, y: np.ndarray, base: np.ndarray) -> dict:
    return {"accuracy": [float(np.mean(p == y)) for p in pred],
            "consistency": [float(np.mean(p == base)) for p in pred]}


def shift_curve(model, x: np.ndarray, y: np.ndarray, mean: Sequence[float], std: Sequence[float],
                shifts: Sequence[int], axis: str = "horizontal", *, device: str = "cpu",
                base_predictions: np.ndarray | None = None) -> dict:
    """Accuracy and consistency at each shift along one axis.

    x: (N, C, H, W) in [0, 1], not normalised; y: (N,); mean, std: (C,).
    ``axis`` "horizontal" moves right for s > 0, "vertical" moves down.
    Returns ``{"accuracy": [...], "consistency": [...]}`` (one value per shift).
    """
    N, C, H, W = x.shape
    if axis not in AXES:
        raise ValueError(f"axis must be one of {AXES}, got {axis!r}")
    offsets = [(0, 0)] + [(s, 0) if axis == "horizontal" else (0, s) for s in shifts]
    pred = _predictions(model, x, mean, std, offsets, device)  # (1 + len(shifts), N)
    base = pred[0] if base_predictions is None else np.asarray(base_predictions)
    return _curve(pred[1:], np.asarray(y), base)


def shift_robustness(model, x: np.ndarray, y: np.ndarray, mean: Sequence[float],
                     std: Sequence[float], max_shift: int = 4, *, device: str = "cpu") -> dict:
    """Curves for shifts -max_shift..max_shift pixels, horizontal and vertical.

    x: (N, C, H, W) in [0, 1]; y: (N,). Returns ``{"shifts": [...], "accuracy": plain
    accuracy, "n": N, "horizontal": {...}, "vertical": {...}}`` with each axis as
    :func:`shift_curve` gives it.
    """
    N, C, H, W = x.shape
    if N == 0:
        raise UsageError("no images to measure shift robustness on (the split is empty)")
    if not 0 <= max_shift < min(H, W):
        raise UsageError(f"--max-shift must be between 0 and {min(H, W) - 1} for "
                         f"{H}x{W} images, got {max_shift}")
    shifts = list(range(-max_shift, max_shift + 1))
    offsets = _offsets(shifts)
    y = np.asarray(y)
    pred = dict(zip(offsets, _predictions(model, x, mean, std, offsets, device)))  # (dx, dy) -> (N,)
    base = pred[(0, 0)]
    out = {"shifts": shifts, "accuracy": float(np.mean(base == y)), "n": int(N)}
    for axis in AXES:
        rows = [pred[(s, 0) if axis == "horizontal" else (0, s)] for s in shifts]
        out[axis] = _curve(np.stack(rows), y, base)
    return out
