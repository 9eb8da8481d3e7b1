"""Sheet algebra: reductions, exp/log, transpose and ``x[i, j]`` indexing of tensors.

These are the small steps a sheet takes between the CNN operations: "the sum of the
feature map", "the largest logit", "e^z", "K transposed", "the first row of Y". Axes
and ``[]`` indices count from 0, as in Python and NumPy (``x[0]`` is the first row);
``row(x, 1)``, ``column(x, 1)`` and ``channel(x, 1)`` are the 1-based forms a sheet's
words use. Exact (Fraction) tensors stay exact through sum, mean, max, min, transpose
and indexing; exp and log give floats.

>>> import numpy as np
>>> x = np.array([[1., 2.], [3., 4.]])
>>> total(x), total(x, axis=0).tolist(), mean(x, axis=1).tolist()
(10.0, [4.0, 6.0], [1.5, 3.5])
>>> index(x, (1, slice(None, None, None))).tolist()
[3.0, 4.0]
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from cnnlab.errors import UsageError
from cnnlab.ops import is_exact, to_float

__all__ = ["total", "mean", "maximum", "minimum", "exp", "log", "transpose", "index", "MAX_INDEX_AXES"]

MAX_INDEX_AXES = 4  # x[i, j, k, l] at most: tensors of the language are at most 4-D


def _scalar(out: Any) -> Any:
    if isinstance(out, np.generic) or (isinstance(out, np.ndarray) and out.ndim == 0):
        return out.item()
    return out


def _axis(x: np.ndarray, axis: int | None) -> int | None:
    if axis is None:
        return None
    if not -x.ndim <= axis < max(x.ndim, 1):
        shape = "x".join(map(str, x.shape)) or "a single number"
        raise UsageError(f"axis {axis} does not exist for a {shape} tensor "
                         f"(axes count from 0: 0 to {max(x.ndim - 1, 0)})")
    return axis


def total(x: np.ndarray, axis: int | None = None) -> Any:
    """Sum of all elements, or along ``axis`` (counted from 0): (H, W), axis=0 -> (W,)."""
    return _scalar(np.sum(x, axis=_axis(x, axis)))


def mean(x: np.ndarray, axis: int | None = None) -> Any:
    """Mean of all elements, or along ``axis``; exact tensors give exact fractions."""
    axis = _axis(x, axis)
    n = x.size if axis is None else x.shape[axis]
    s = np.sum(x, axis=axis)
    if is_exact(x):
        return _scalar(s / Fraction(n)) if isinstance(s, np.ndarray) else Fraction(s) / n
    return _scalar(s / n)


def maximum(x: np.ndarray, axis: int | None = None) -> Any:
    """Largest element, or the largest along ``axis``."""
    return _scalar(np.max(x, axis=_axis(x, axis)))


def minimum(x: np.ndarray, axis: int | None = None) -> Any:
    """Smallest element, or the smallest along ``axis``."""
    return _scalar(np.min(x, axis=_axis(x, axis)))


def exp(x: np.ndarray) -> Any:
    """e^x element-wise (floats); a result over the float range is an error."""
    f = to_float(x)
    if np.any(f > math.log(np.finfo(np.float64).max)):
        raise UsageError("exp overflows: e^x is over about 1.8e308 for x > 709.78")
    with np.errstate(under="ignore"):
        return _scalar(np.exp(f))


def log(x: np.ndarray) -> Any:
    """Natural logarithm element-wise (floats); defined for positive values only."""
    f = to_float(x)
    if np.any(f <= 0):
        raise UsageError("log is defined for positive numbers only")
    return _scalar(np.log(f))


def transpose(x: np.ndarray) -> Any:
    """Rows and columns swapped: (H, W) -> (W, H); the last two axes of a 3-D/4-D tensor."""
    if x.ndim < 2:
        return _scalar(x.copy())
    return np.swapaxes(x, -1, -2).copy()


def index(x: Any, key: tuple) -> Any:
    """``x[key]`` with Python's rules (from 0, negative from the end, slices); a dict by name.

    ``key`` holds ints, ``slice`` objects and strings, one per axis. Out-of-range indices
    are errors that name the axis and its size.
    """
    if isinstance(x, dict):
        if len(key) != 1 or not isinstance(key[0], str):
            raise UsageError(f"an object is indexed by one of its names: {', '.join(map(str, x))}")
        if key[0] not in x:
            raise UsageError(f"no entry {key[0]!r}; it has {', '.join(map(str, x))}")
        return x[key[0]]
    if isinstance(x, (list, tuple)) and x and all(isinstance(v, str) for v in x):
        x = np.array(x, dtype=object)
    if not isinstance(x, np.ndarray) or x.ndim == 0:
        raise UsageError("only tensors (and lists) can be indexed with [ ]")
    if any(isinstance(k, str) for k in key):
        raise UsageError("a tensor is indexed by integers counted from 0, not by names")
    if len(key) > x.ndim:
        shape = "x".join(map(str, x.shape))
        axes = f"{x.ndim} ax{'es' if x.ndim > 1 else 'is'}"
        raise UsageError(f"{len(key)} indices for a {shape} tensor, which has {axes}")
    for axis, k in enumerate(key):
        n = x.shape[axis]
        if isinstance(k, slice):
            if k.step == 0:
                raise UsageError("a slice step cannot be 0")
            if len(range(*k.indices(n))) == 0:
                raise UsageError(f"the slice on axis {axis} selects nothing (axis size {n}, counted from 0)")
        elif not -n <= k < n:
            raise UsageError(f"index {k} is out of range on axis {axis}, which has {n} entries "
                             f"(counted from 0: 0 to {n - 1}, or -1 to -{n} from the end)")
    out = x[key]
    return _scalar(out.copy() if isinstance(out, np.ndarray) else out)
