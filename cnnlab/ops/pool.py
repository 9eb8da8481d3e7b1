"""Max, average and global pooling, as ``torch.nn.functional.max_pool2d`` / ``avg_pool2d``.

Max pooling pads with −∞ (padding never wins); average pooling pads with zeros and divides
by the window's cells inside the padded input (``count_include_pad=True``) or inside the
real input only (``False``). With ``ceil_mode`` a last partial window is kept unless it would
start in the bottom/right padding; its cells beyond the padded input count for neither.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnnlab.errors import UsageError, check_shape
from cnnlab.ops.conv import _as_chw
from cnnlab.ops.padding import pair
from cnnlab.ops.sizes import effective_kernel, pool_output_size
from cnnlab.ops.tensor import is_exact

__all__ = ["max_pool2d", "avg_pool2d", "global_avg_pool", "global_max_pool", "pool_geometry"]


def pool_geometry(H: int, W: int, size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                  ceil_mode: bool = False) -> dict:
    """Resolved window geometry: kernel, stride, padding, dilation pairs and output size."""
    kh, kw = pair(size, "pool size")
    sh, sw = (kh, kw) if stride is None else pair(stride, "stride")
    ph, pw = pair(padding, "padding", minimum=0)
    dh, dw = pair(dilation, "dilation")
    H_out = pool_output_size(H, kh, sh, ph, ceil_mode, dh)
    W_out = pool_output_size(W, kw, sw, pw, ceil_mode, dw)
    return {"k": (kh, kw), "s": (sh, sw), "p": (ph, pw), "d": (dh, dw), "out": (H_out, W_out)}


def _windows(x3: np.ndarray, geo: dict, fill: Any) -> np.ndarray:
    """Pooling windows ``(C, H_out, W_out, kh, kw)`` of ``x3`` padded with ``fill``.

    Padding on the bottom/right is extended with ``fill`` as far as a ceil-mode window reaches.
    """
    C, H, W = x3.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = geo["k"], geo["s"], geo["p"], geo["d"]
    H_out, W_out = geo["out"]
    span_h, span_w = effective_kernel(kh, dh), effective_kernel(kw, dw)
    need_h = (H_out - 1) * sh + span_h  # rows the windows reach, padding included
    need_w = (W_out - 1) * sw + span_w
    bottom = max(need_h - H - ph, 0)
    right = max(need_w - W - pw, 0)
    check_shape((C, H + ph + bottom, W + pw + right), "padded input")
    xp = np.full((C, H + ph + bottom, W + pw + right), fill, dtype=x3.dtype)
    xp[:, ph:ph + H, pw:pw + W] = x3
    win = sliding_window_view(xp, (span_h, span_w), axis=(1, 2))
    return win[:, ::sh, ::sw, ::dh, ::dw][:, :H_out, :W_out]


def max_pool2d(x: np.ndarray, size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> np.ndarray:
    """Max pooling.

    Args:
        x: (H, W) or (C, H, W).
        size, stride, padding, dilation: int or pair; stride defaults to the window size.
        ceil_mode: round the output size up (PyTorch's rule).

    Returns:
        (H_out, W_out) or (C, H_out, W_out), as the input.

    >>> max_pool2d(np.arange(16.).reshape(4, 4), 2).tolist()
    [[5.0, 7.0], [13.0, 15.0]]
    """
    x3 = _as_chw(x)
    C, H, W = x3.shape
    geo = pool_geometry(H, W, size, stride, padding, dilation, ceil_mode)
    if x3.dtype == object:  # exact: padding cells are None and skipped
        win = _windows(x3, geo, None)
        out = np.empty(win.shape[:3], dtype=object)
        for idx in np.ndindex(*win.shape[:3]):
            out[idx] = max(v for v in win[idx].flat if v is not None)
    else:
        out = _windows(x3, geo, -np.inf).max(axis=(3, 4))
    return out if x.ndim == 3 else out[0]


def avg_pool2d(x: np.ndarray, size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> np.ndarray:
    """Average pooling.

    Args:
        x: (H, W) or (C, H, W).
        size, stride, padding: int or pair; stride defaults to the window size.
        ceil_mode: round the output size up (PyTorch's rule).
        count_include_pad: divide by the window cells inside the padded input (True) or
            only those inside the real input (False).

    Returns:
        (H_out, W_out) or (C, H_out, W_out). Exact inputs give exact Fractions.

    >>> avg_pool2d(np.arange(16.).reshape(4, 4), 2).tolist()
    [[2.5, 4.5], [10.5, 12.5]]
    """
    x3 = _as_chw(x)
    C, H, W = x3.shape
    geo = pool_geometry(H, W, size, stride, padding, 1, ceil_mode)
    (ph, pw) = geo["p"]
    exact = is_exact(x3)
    zero = Fraction(0) if exact else 0.0
    sums = _windows(x3, geo, zero).sum(axis=(3, 4))  # (C, H_out, W_out)
    # divisor per window: cells inside the padded input, or inside the real input only
    inside = np.zeros((1, H + 2 * ph, W + 2 * pw), dtype=np.int64)
    if count_include_pad:
        inside[:] = 1
    else:
        inside[:, ph:ph + H, pw:pw + W] = 1
    mask_geo = dict(geo, p=(0, 0))
    counts = _windows(inside, mask_geo, 0).sum(axis=(3, 4))[0]  # (H_out, W_out)
    if np.any(counts == 0):
        raise UsageError("a pooling window holds no input cell; reduce the padding")
    if exact:
        out = np.empty(sums.shape, dtype=object)
        for idx in np.ndindex(*sums.shape):
            out[idx] = Fraction(sums[idx]) / int(counts[idx[1:]])
    else:
        out = sums / counts
    return out if x.ndim == 3 else out[0]


def global_avg_pool(x: np.ndarray):
    """Mean of each channel: (C, H, W) -> (C,); a 2-D input gives a single number.

    >>> global_avg_pool(np.array([[1., 2.], [3., 4.]]))
    2.5
    """
    x3 = _as_chw(x)
    C, H, W = x3.shape
    if is_exact(x3):
        out = np.array([Fraction(sum(x3[c].flat, Fraction(0))) / (H * W) for c in range(C)], dtype=object)
    else:
        out = x3.reshape(C, -1).mean(axis=1)
    return out if x.ndim == 3 else _scalar(out[0])


def global_max_pool(x: np.ndarray):
    """Maximum of each channel: (C, H, W) -> (C,); a 2-D input gives a single number.

    >>> global_max_pool(np.array([[1., 2.], [3., 4.]]))
    4.0
    """
    x3 = _as_chw(x)
    C = x3.shape[0]
    out = np.array([max(x3[c].flat) for c in range(C)], dtype=x3.dtype)
    return out if x.ndim == 3 else _scalar(out[0])


def _scalar(v):
    return v if isinstance(v, Fraction) else float(v)
