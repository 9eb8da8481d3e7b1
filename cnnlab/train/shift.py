"""Shifting images by whole pixels with zero fill (robustness to translated inputs).

``dx > 0`` moves the content right, ``dy > 0`` moves it down; pixels shifted in from
outside are 0 (black in [0, 1] images).
"""

from __future__ import annotations

import numpy as np

__all__ = ["shift_images", "random_translate", "shift_batch"]


def shift_batch(x: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Shift each image by its own (dx[i], dy[i]) pixels, zero fill.

    x: (N, C, H, W); dx, dy: (N,) ints. Returns (N, C, H, W).
    """
    N, C, H, W = x.shape
    m = int(max(np.abs(dx).max(initial=0), np.abs(dy).max(initial=0)))
    xp = np.pad(x, ((0, 0), (0, 0), (m, m), (m, m)))  # (N, C, H+2m, W+2m)
    rows = np.arange(H)[None, :] - np.asarray(dy)[:, None] + m  # (N, H)
    cols = np.arange(W)[None, :] - np.asarray(dx)[:, None] + m  # (N, W)
    out = xp[np.arange(N)[:, None, None], :, rows[:, :, None], cols[:, None, :]]  # (N, H, W, C)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def shift_images(x: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """All images shifted by (dx, dy) whole pixels, zero fill.

    x: (N, C, H, W) or (C, H, W) or (H, W). Returns the same shape.

    >>> shift_images(np.arange(4.).reshape(2, 2), 1, 0)
    array([[0., 0.],
           [0., 2.]])
    """
    x = np.asarray(x)
    if x.ndim < 4:
        return shift_images(x.reshape((1,) * (4 - x.ndim) + x.shape), dx, dy).reshape(x.shape)
    N, C, H, W = x.shape
    out = np.zeros_like(x)
    if abs(dx) >= W or abs(dy) >= H:
        return out
    src_r = slice(max(0, -dy), H - max(0, dy))
    dst_r = slice(max(0, dy), H - max(0, -dy))
    src_c = slice(max(0, -dx), W - max(0, dx))
    dst_c = slice(max(0, dx), W - max(0, -dx))
    out[:, :, dst_r, dst_c] = x[:, :, src_r, src_c]
    return out


def random_translate(x: np.ndarray, max_dx_frac: float = 0.1, max_dy_frac: float = 0.0,
                     seed: int = 0) -> np.ndarray:
    """Each image shifted by its own random whole-pixel offset, zero fill.

    As torchvision's ``RandomAffine(0, translate=(max_dx_frac, max_dy_frac))``: the offset
    is uniform in ±frac·side, rounded. x: (N, C, H, W). Returns (N, C, H, W).
    """
    N, C, H, W = x.shape
    rng = np.random.default_rng(seed)
    dx = np.round(rng.uniform(-max_dx_frac * W, max_dx_frac * W, N)).astype(int)
    dy = np.round(rng.uniform(-max_dy_frac * H, max_dy_frac * H, N)).astype(int)
    return shift_batch(np.asarray(x), dx, dy)
