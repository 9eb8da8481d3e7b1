"""Robustness to shifted inputs: accuracy and prediction consistency against the shift.

For each shift s in -max..max the whole split is moved s pixels horizontally (and, in a
second curve, vertically) with zero fill (:func:`cnnlab.train.shift.shift_images`) and
evaluated with :func:`cnnlab.train.metrics.evaluate_model`. *Consistency* is the share of
images whose predicted class is the same as for the unshifted image (whether right or
wrong), so it measures invariance apart from accuracy.

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

__all__ = ["shift_curve", "shift_robustness", "AXES"]

AXES = ("horizontal", "vertical")


def shift_curve(model, x: np.ndarray, y: np.ndarray, mean: Sequence[float], std: Sequence[float],
                shifts: Sequence[int], axis: str = "horizontal", *, device: str = "cpu",
                base_predictions: np.ndarray | None = None) -> dict:
    """Accuracy and consistency at each shift along one axis.

    x: (N, C, H, W) in [0, 1], not normalised; y: (N,); mean, std: (C,).
    ``axis`` "horizontal" moves right for s > 0, "vertical" moves down.
    Returns ``{"accuracy": [...], "consistency": [...]}`` (one value per shift).
    """
    from cnnlab.train.metrics import evaluate_model
    from cnnlab.train.shift import shift_images

    N, C, H, W = x.shape
    if axis not in AXES:
        raise ValueError(f"axis must be one of {AXES}, got {axis!r}")
    mean, std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
    if base_predictions is None:
        base_predictions = evaluate_model(model, x, y, mean, std, device=device)["predictions"]
    accuracy, consistency = [], []
    for s in shifts:
        dx, dy = (s, 0) if axis == "horizontal" else (0, s)
        result = evaluate_model(model, shift_images(x, dx, dy), y, mean, std, device=device)
        accuracy.append(result["accuracy"])
        consistency.append(float(np.mean(result["predictions"] == base_predictions)))
    return {"accuracy": accuracy, "consistency": consistency}


def shift_robustness(model, x: np.ndarray, y: np.ndarray, mean: Sequence[float],
                     std: Sequence[float], max_shift: int = 4, *, device: str = "cpu") -> dict:
    """Curves for shifts -max_shift..max_shift pixels, horizontal and vertical.

    x: (N, C, H, W) in [0, 1]; y: (N,). Returns ``{"shifts": [...], "accuracy": plain
    accuracy, "n": N, "horizontal": {...}, "vertical": {...}}`` with each axis as
    :func:`shift_curve` gives it.
    """
    from cnnlab.train.metrics import evaluate_model

    N, C, H, W = x.shape
    if N == 0:
        raise UsageError("no images to measure shift robustness on (the split is empty)")
    if not 0 <= max_shift < min(H, W):
        raise UsageError(f"--max-shift must be between 0 and {min(H, W) - 1} for "
                         f"{H}x{W} images, got {max_shift}")
    shifts = list(range(-max_shift, max_shift + 1))
    mean, std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
    base = evaluate_model(model, x, y, mean, std, device=device)
    out = {"shifts": shifts, "accuracy": base["accuracy"], "n": int(N)}
    for axis in AXES:
        out[axis] = shift_curve(model, x, y, mean, std, shifts, axis, device=device,
                                base_predictions=base["predictions"])
    return out
