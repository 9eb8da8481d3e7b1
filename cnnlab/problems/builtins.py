"""Small implementations of ask functions that are not a plain call of another module.

Element-wise functions accept a number too (a sheet asks for ``sigmoid(0.5)``); indices of
``row``/``column``/``channel`` count from 1, as a sheet says "the second row".
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from cnnlab import ops
from cnnlab.errors import UsageError

__all__ = ["conv2d", "conv_transpose2d", "keeps_channel_axis", "pad", "relu", "sigmoid", "tanh", "leaky_relu",
           "sqrt", "absolute", "row", "column",
           "channel", "separable", "kernel", "describe_kernel", "arch"]


def _elementwise(fn, x: np.ndarray, *args: Any) -> Any:
    out = fn(x, *args)
    return out.item() if isinstance(out, np.ndarray) and out.ndim == 0 else out


def keeps_channel_axis(x: np.ndarray, k: np.ndarray) -> bool:
    """The one channel-axis rule of docs/problems.md ("Channel axes"): a result has a channel
    axis when its input has one (C×H×W, even C = 1) or its kernel is a bank (4-D)."""
    return x.ndim == 3 or k.ndim == 4


def _with_channel_axis(out: np.ndarray, x: np.ndarray, k: np.ndarray) -> np.ndarray:
    if keeps_channel_axis(x, k) and out.ndim == 2:
        return out[None]  # (1, H_out, W_out)
    return out


def conv2d(x: np.ndarray, k: np.ndarray, **kw: Any) -> np.ndarray:
    """ops.conv2d under the channel-axis rule: x (H, W) or (C, H, W) -> (H_out, W_out) or
    (C_out, H_out, W_out)."""
    return _with_channel_axis(ops.conv2d(x, k, **kw), x, k)


def conv_transpose2d(x: np.ndarray, k: np.ndarray, **kw: Any) -> np.ndarray:
    """ops.conv_transpose2d under the channel-axis rule (shapes as :func:`conv2d`)."""
    return _with_channel_axis(ops.conv_transpose2d(x, k, **kw), x, k)


def pad(x: np.ndarray, padding: Any, mode: str = "zeros") -> np.ndarray:
    """Pad the last two axes of x: (H, W) or (C, H, W); padding int, pair or four sides."""
    if isinstance(padding, str):
        raise UsageError(f'pad needs a number of rows/columns, not "{padding}" (that needs a kernel size)')
    return ops.pad(x, padding, mode)


def relu(x: np.ndarray) -> Any:
    return _elementwise(ops.relu, x)


def sigmoid(x: np.ndarray) -> Any:
    return _elementwise(ops.sigmoid, x)


def tanh(x: np.ndarray) -> Any:
    return _elementwise(ops.tanh, x)


def leaky_relu(x: np.ndarray, slope: Any = 0.01) -> Any:
    return _elementwise(ops.leaky_relu, x, slope)


def _exact_sqrt(v: Fraction) -> Fraction | float:
    if v < 0:
        raise UsageError(f"sqrt of a negative number ({v})")
    n, d = math.isqrt(v.numerator), math.isqrt(v.denominator)
    if n * n == v.numerator and d * d == v.denominator:
        return Fraction(n, d)
    return math.sqrt(v)


def sqrt(x: np.ndarray) -> Any:
    """Square root; exact perfect squares stay exact (sqrt(9/4) = 3/2)."""
    if ops.is_exact(x):
        out = np.empty(x.shape, dtype=object)
        for idx, v in np.ndenumerate(x):
            out[idx] = _exact_sqrt(Fraction(v))
        if not all(isinstance(v, Fraction) for v in out.flat):
            out = out.astype(np.float64)
    else:
        if np.any(x < 0):
            raise UsageError("sqrt of a negative number")
        out = np.sqrt(x)
    return out.item() if out.ndim == 0 else out


def absolute(x: np.ndarray) -> Any:
    """|x| element-wise; x: any shape, 0-D for a number (an exact 0-D x gives a Fraction)."""
    out = np.abs(x)
    if not isinstance(out, np.ndarray):  # NumPy unwraps a 0-D object array
        return out
    return out.item() if out.ndim == 0 else out


def _index(i: int, n: int, what: str) -> int:
    if not 1 <= i <= n:
        raise UsageError(f"{what} {i} does not exist: there are {n}, counted from 1")
    return i - 1


def row(x: np.ndarray, i: int) -> np.ndarray:
    """Row i (from 1) of a matrix x: (H, W) -> (W,)."""
    H, W = x.shape
    return x[_index(i, H, "row")].copy()


def column(x: np.ndarray, j: int) -> np.ndarray:
    """Column j (from 1) of a matrix x: (H, W) -> (H,)."""
    H, W = x.shape
    return x[:, _index(j, W, "column")].copy()


def channel(x: np.ndarray, c: int) -> np.ndarray:
    """Channel c (from 1) of x: (C, H, W) -> (H, W)."""
    C, H, W = x.shape
    return x[_index(c, C, "channel")].copy()


def separable(k: np.ndarray) -> dict:
    """``{"separable": bool, "column": [...], "row": [...]}`` with column ⊗ row = k (docs/problems.md)."""
    from cnnlab.kernels.separable import separable as _separable

    d = _separable(k)
    out = {"separable": bool(d["separable"]), "column": d["column"], "row": d["row"]}
    for key in ("column", "row"):  # exact factors with fractions: keep them exact
        if d.get(f"{key}_exact") and out[key] is not None:
            out[key] = [Fraction(v) for v in d[f"{key}_exact"]]
    return out


def kernel(name: str, exact: bool = False) -> np.ndarray:
    """A named kernel (``sobel_x``, ``box:3``, ``gaussian:5:1.0``) as a (kh, kw) tensor.

    In exact mode the rational kernels are Fractions (``box:3`` is 1/9 everywhere); a
    Gaussian is irrational and stays float, as sigmoid and exp do (docs/problems.md).
    """
    from cnnlab.kernels.named import get_kernel

    gaussian = str(name).strip().split(":")[0].lower() == "gaussian"
    return get_kernel(name, exact=exact and not gaussian)


def describe_kernel(k: np.ndarray) -> dict:
    """The kernel description of ``cnnlab kernel describe`` (docs/kernels.md)."""
    from cnnlab.kernels.describe import describe_kernel as _describe

    return _describe(k)


def arch(spec: Any, input: Any) -> dict:  # noqa: A002 - the documented argument name
    """The architecture table of docs/arch.md for ``spec`` (string or list) and an input C×H×W."""
    import os

    try:
        from cnnlab.arch import arch_table
    except ImportError:
        raise UsageError("arch(...) needs the architecture module cnnlab.arch, which is not installed") from None
    if isinstance(spec, str) and ("\n" not in spec and ";" not in spec) and os.path.exists(spec):
        raise UsageError("arch in a problem file takes the layers themselves, not a file name")
    if not isinstance(spec, (str, list)) or (isinstance(spec, list) and not all(isinstance(s, str) for s in spec)):
        raise UsageError('arch: spec must be a string such as "conv 3x3 16; maxpool 2x2" or a list of layers')
    ok = isinstance(input, str) or (isinstance(input, (list, tuple)) and
                                    all(isinstance(v, int) and not isinstance(v, bool) for v in input))
    if not ok:
        from cnnlab.problems.values import describe
        raise UsageError(f'arch: input must be C x H x W such as "3x32x32" or [3, 32, 32], got {describe(input)}')
    if isinstance(spec, list):
        spec = "; ".join(spec)
    return arch_table(spec, list(input) if isinstance(input, tuple) else input)
