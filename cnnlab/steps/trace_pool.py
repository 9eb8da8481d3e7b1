"""Worked solutions of max and average pooling, window by window.

The padded input is built here explicitly (−∞ around max pooling, 0 around average
pooling) and each window is read with loops, so the worked values check the vectorised
:mod:`cnnlab.ops.pool` independently. Windows are clipped to the padded input, as PyTorch
clips a ceil-mode window that runs past it.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from cnnlab import ops
from cnnlab.errors import UsageError, check_shape
from cnnlab.ops.pool import pool_geometry
from cnnlab.steps.scalar import as_input
from cnnlab.steps.trace import Cell, Trace

__all__ = ["trace_pool2d", "POOL_OPS"]

POOL_OPS = ("max", "avg")


def _pool_cell(prepared: np.ndarray, real: np.ndarray, op: str, geo: dict,
               count_include_pad: bool, exact: bool, index: tuple[int, int, int]) -> Cell:
    """One pooled value ``(c, i, j)`` of ``prepared`` (C, Hp, Wp); ``real`` (Hp, Wp) marks input cells."""
    c, i, j = index
    (kh, kw), (sh, sw), (dh, dw) = geo["k"], geo["s"], geo["d"]
    _, Hp, Wp = prepared.shape
    r0, c0 = i * sh, j * sw
    rows = [r0 + a * dh for a in range(kh) if r0 + a * dh < Hp]  # clipped to the padded input
    cols = [c0 + b * dw for b in range(kw) if c0 + b * dw < Wp]
    window = np.empty((len(rows), len(cols)), dtype=prepared.dtype)
    valid = np.empty((len(rows), len(cols)), dtype=bool)
    for a, r in enumerate(rows):
        for b, col in enumerate(cols):
            window[a, b] = prepared[c, r, col]
            valid[a, b] = real[r, col]
    if op == "max":
        best: Any = None
        for v, ok in zip(window.flat, valid.flat):
            if ok and (best is None or v > best):
                best = v
        if best is None:  # a dilated window that reads only padding: −∞, as PyTorch gives
            best = float("-inf")
        return Cell(kind="max", index=index, value=best, origin=(r0, c0), window=window,
                    valid=valid, total=best)
    total: Any = Fraction(0) if exact else 0.0
    for v in window.flat:
        total = total + v
    divisor = window.size if count_include_pad else int(valid.sum())
    if not count_include_pad:
        valid_shown = valid
    else:
        valid_shown = np.ones_like(valid)
    return Cell(kind="avg", index=index, value=total / divisor, origin=(r0, c0), window=window,
                valid=valid_shown, total=total, divisor=divisor)


def trace_pool2d(x: Any, op: str, size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> Trace:
    """Worked solution of :func:`cnnlab.ops.max_pool2d` (``op="max"``) or ``avg_pool2d`` (``"avg"``).

    Args:
        x: (H, W) or (C, H, W); float or exact.
        size, stride, padding, dilation: int or pair; stride defaults to the size.
        dilation: max pooling only.

    Returns:
        A :class:`Trace` with cells indexed ``(c, i, j)``; ``prepared`` is the padded input
        (−∞ padding for max, zeros for avg).

    >>> t = trace_pool2d(np.array([[1., 2.], [3., 5.]]), "avg", 2)
    >>> t.output.tolist(), float(t.cell((0, 0, 0)).total), t.cell((0, 0, 0)).divisor
    ([[2.75]], 11.0, 4)
    """
    op = str(op).lower().removesuffix("pool").removesuffix("_")
    if op not in POOL_OPS:
        raise UsageError(f"unknown pooling op {op!r}: choose max or avg")
    x = as_input(x, "input")
    exact = ops.is_exact(x)
    if op == "max":
        output = ops.max_pool2d(x, size, stride, padding, dilation, ceil_mode)
    else:
        if dilation not in (1, (1, 1), [1, 1]):
            raise UsageError("average pooling has no dilation (as in PyTorch); use max pooling or dilation 1")
        output = ops.avg_pool2d(x, size, stride, padding, ceil_mode, count_include_pad)

    x3 = x if x.ndim == 3 else x[None]  # (C, H, W)
    C, H, W = x3.shape
    geo = pool_geometry(H, W, size, stride, padding, dilation, ceil_mode)
    ph, pw = geo["p"]
    Hp, Wp = H + 2 * ph, W + 2 * pw
    check_shape((C, Hp, Wp), "padded input")
    fill: Any = float("-inf") if op == "max" else (Fraction(0) if exact else 0.0)
    prepared = np.full((C, Hp, Wp), fill, dtype=object if exact else np.float64)
    prepared[:, ph:ph + H, pw:pw + W] = x3
    real = np.zeros((Hp, Wp), dtype=bool)
    real[ph:ph + H, pw:pw + W] = True
    H_out, W_out = geo["out"]

    def cell(index: tuple[int, ...]) -> Cell:
        return _pool_cell(prepared, real, op, geo, count_include_pad, exact, index)

    notes = []
    if op == "max" and (ph or pw):
        notes.append("max pooling pads with −∞: padding never wins")
    if op == "avg" and (ph or pw):
        notes.append("average pooling pads with zeros and divides by "
                     + ("every window cell inside the padded input (count_include_pad)" if count_include_pad
                        else "the window cells inside the real input only (count_include_pad=false)"))
    if ceil_mode:
        notes.append("ceil mode: a last partial window is kept unless it starts in the padding; "
                     "its cells past the padded input are left out")
    params = {"size": geo["k"], "stride": geo["s"], "padding": geo["p"], "dilation": geo["d"],
              "ceil_mode": bool(ceil_mode)}
    if op == "avg":
        params["count_include_pad"] = bool(count_include_pad)
    return Trace(op=f"{op}pool2d", params=params, output=output, input=x, cell_fn=cell,
                 cell_shape=(C, H_out, W_out), prepared=prepared, notes=notes, exact=exact)
