"""Turning user values (nested lists, arrays, numbers) into validated NumPy tensors.

Float tensors are float64. Exact tensors are object arrays of :class:`fractions.Fraction`
(``0.1`` becomes ``1/10``, as written, not the binary float), so the rational ops
(padding, convolution, pooling, ReLU) give exact answers such as ``5/8``.
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction
from typing import Any, Iterable

import numpy as np

from cnnlab.errors import UsageError, check_shape

__all__ = ["as_tensor", "is_exact", "to_exact", "to_float", "to_fraction", "scaled_integers",
           "from_scaled_integers"]


def to_fraction(v: Any) -> Fraction:
    """A number as the Fraction it reads as in decimal: ``0.1 -> 1/10``.

    >>> to_fraction(0.625)
    Fraction(5, 8)
    """
    if isinstance(v, Fraction):
        return v
    if isinstance(v, (int, np.integer)):
        return Fraction(int(v))
    f = float(v)
    if not math.isfinite(f):
        raise UsageError(f"{v!r} has no exact value")
    return Fraction(repr(f))


def is_exact(a: Any) -> bool:
    """True for an object array (of Fractions) or a Fraction."""
    return isinstance(a, Fraction) or (isinstance(a, np.ndarray) and a.dtype == object)


def to_exact(a: Any) -> np.ndarray:
    """A float/int array (or nested list) as an object array of Fractions."""
    arr = np.asarray(a, dtype=object)
    out = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        out[idx] = to_fraction(v)
    return out


def scaled_integers(a: np.ndarray, bound: int = 2**62) -> tuple[np.ndarray, int] | None:
    """An exact array as ``(numerators, D)`` with ``a == numerators / D`` and int64 numerators.

    D is the least common multiple of the denominators. None when D or a numerator
    reaches ``bound`` (int64 arithmetic on them could then overflow): the caller falls
    back to Fraction arithmetic. Integer arithmetic on the numerators is exact and runs
    at NumPy speed, where an object array of Fractions costs microseconds per operation.

    >>> n, d = scaled_integers(to_exact([[0.5, 1], [0.25, 3]]))
    >>> n.tolist(), d
    ([[2, 4], [1, 12]], 4)
    """
    flat = [v if isinstance(v, (int, Fraction)) else Fraction(v) for v in a.ravel().tolist()]
    den = math.lcm(*{v.denominator for v in flat}) if flat else 1
    if den >= bound:
        return None
    nums = [v.numerator * (den // v.denominator) for v in flat]
    if nums and max(map(abs, nums)) >= bound:
        return None
    return np.array(nums, dtype=np.int64).reshape(a.shape), den


def from_scaled_integers(nums: np.ndarray, den: int) -> np.ndarray:
    """Inverse of :func:`scaled_integers`: an object array of Fractions ``nums / den``.

    >>> from_scaled_integers(np.array([2, 3]), 4).tolist()
    [Fraction(1, 2), Fraction(3, 4)]
    """
    out = np.empty(nums.shape, dtype=object)
    out.ravel()[:] = [Fraction(n, den) for n in nums.ravel().tolist()]
    return out


def to_float(a: Any) -> np.ndarray:
    """Any tensor (exact or not) as float64."""
    return np.asarray(a, dtype=object).astype(np.float64) if is_exact(a) else np.asarray(a, dtype=np.float64)


_MAX_DIMS = 8  # deepest nesting a tensor literal may have (tensors here are at most 4-D)


def _is_number(v: Any) -> bool:
    return isinstance(v, (numbers.Real, Fraction)) and not isinstance(v, (bool, np.bool_))


def _shape_of(value: Any, what: str) -> tuple[int, ...]:
    """Shape of a nested list, read along first elements; raggedness is checked later."""
    shape = []
    v = value
    while isinstance(v, (list, tuple)):
        if len(shape) >= _MAX_DIMS:
            raise UsageError(f"{what} is nested more than {_MAX_DIMS} levels deep")
        if len(v) == 0:
            raise UsageError(f"{what} is empty")
        shape.append(len(v))
        v = v[0]
    return tuple(shape)


def _at(path: tuple[int, ...]) -> str:
    """A position for a message, counted from 1 as everywhere in cnnlab's words: ``[2, 1] (from 1)``."""
    return "[" + ", ".join(str(i + 1) for i in path) + "] (counted from 1)"


def _check_regular(value: Any, shape: tuple[int, ...], what: str, path: tuple[int, ...] = ()) -> None:
    depth = len(path)
    if depth == len(shape):
        if isinstance(value, (list, tuple)):
            raise UsageError(f"{what} is ragged: element {_at(path)} is a list where a number was expected")
        if not _is_number(value):
            shown = f"a {'x'.join(map(str, value.shape))} array" if isinstance(value, np.ndarray) else repr(value)[:40]
            raise UsageError(f"{what} has a non-numeric element {shown} at {_at(path)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise UsageError(f"{what} has a non-finite element {value!r} at {_at(path)}")
        return
    if not isinstance(value, (list, tuple)):
        raise UsageError(f"{what} is ragged: element {_at(path)} is a number where a list of "
                         f"{shape[depth]} was expected")
    if len(value) != shape[depth]:
        raise UsageError(f"{what} is ragged: row {_at(path)} has {len(value)} entries, expected {shape[depth]}")
    for i, item in enumerate(value):
        _check_regular(item, shape, what, path + (i,))


def as_tensor(value: Any, what: str = "input", *, exact: bool = False,
              ndim: Iterable[int] | None = None) -> np.ndarray:
    """Validate a number, nested list or array and return it as a tensor.

    Args:
        value: a number, a (nested) list/tuple of numbers, or an array.
        what: the name used in error messages ("input", "kernel"...).
        exact: return an object array of Fractions instead of float64. An object array
            given as ``value`` stays exact.
        ndim: allowed numbers of dimensions (e.g. ``(2, 3)``).

    Raises:
        UsageError: ragged, empty, non-numeric or non-finite values, a disallowed number
            of dimensions, or a shape over the limits of docs/conventions.md (checked first).

    >>> as_tensor([[1, 2], [3, 4]]).shape
    (2, 2)
    >>> as_tensor([0.5, 0.25], exact=True).tolist()
    [Fraction(1, 2), Fraction(1, 4)]
    """
    if isinstance(value, np.ndarray):
        shape = value.shape
        if value.size == 0:
            raise UsageError(f"{what} is empty")
        if value.dtype != object and not (np.issubdtype(value.dtype, np.integer)
                                          or np.issubdtype(value.dtype, np.floating)):
            raise UsageError(f"{what} must be numeric, got an array of {value.dtype}")
    elif _is_number(value):
        shape = ()
    elif isinstance(value, (list, tuple)):
        shape = _shape_of(value, what)
    else:
        raise UsageError(f"{what} must be a number or a list of numbers, got {type(value).__name__} {value!r}")
    if ndim is not None:
        allowed = tuple(ndim)
        if len(shape) not in allowed:
            dims = " or ".join(f"{d}-D" for d in allowed)
            raise UsageError(f"{what} must be {dims}, got shape {list(shape)}")
    if shape:
        check_shape(shape, what)
    if isinstance(value, np.ndarray):
        arr = value
        if arr.dtype == object:
            for v in arr.flat:
                if not _is_number(v):
                    raise UsageError(f"{what} has a non-numeric element {v!r}")
        elif not np.all(np.isfinite(arr)):
            raise UsageError(f"{what} has non-finite elements")
    else:
        _check_regular(value, shape, what)
        if exact or any(isinstance(v, Fraction) for v in _leaves(value)):
            arr = to_exact(value) if exact else np.asarray(to_float(np.array(value, dtype=object)))
        else:
            arr = np.asarray(value, dtype=np.float64)
    if exact:
        return arr if arr.dtype == object else to_exact(arr)
    return arr if arr.dtype == object else np.asarray(arr, dtype=np.float64)


def _leaves(value: Any):
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaves(item)
    else:
        yield value
