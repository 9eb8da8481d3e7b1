"""Values of the ask language and their element-wise arithmetic (``+ - * / **``).

A value is a number (int, float or Fraction), a bool, a string, ``None``, a list or tuple
as written (turned into a tensor when arithmetic or a tensor argument needs one), a NumPy
tensor (float64, or an object array of Fractions in exact mode) or a small dict (such as
the result of ``separable``). Arithmetic broadcasts as NumPy does, but a shape mismatch
or a result over the size limits of docs/conventions.md is a :class:`UsageError`.
"""

from __future__ import annotations

import math
import operator
from fractions import Fraction
from typing import Any

import numpy as np

from cnnlab.errors import UsageError, check_shape
from cnnlab.ops import as_tensor, is_exact, to_fraction

__all__ = ["literal", "tensor", "binary", "negate", "positive", "is_number", "is_tensor_like",
           "normalize", "describe", "in_range"]

_MAX_NDIM = 4  # the largest tensors of the language are 4-D kernels
_MAX_INT_BITS = 4096  # an exact power whose result would be longer than this is refused
_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow}


def is_number(v: Any) -> bool:
    """int, float or Fraction (not bool)."""
    return isinstance(v, (int, float, Fraction, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def is_tensor_like(v: Any) -> bool:
    return isinstance(v, (list, tuple, np.ndarray))


def describe(v: Any) -> str:
    """A short name of a value's kind for error messages: 'a 3x3 tensor', 'the string "x"'."""
    if isinstance(v, bool):
        return f"the boolean {str(v).lower()}"
    if is_number(v):
        return f"the number {v}"
    if isinstance(v, str):
        return f"the string {v!r}"
    if v is None:
        return "none"
    if isinstance(v, dict):
        return "an object {" + ", ".join(v) + "}"
    if isinstance(v, np.ndarray):
        return f"a {'x'.join(map(str, v.shape))} tensor"
    if isinstance(v, (list, tuple)):
        return f"a list of {len(v)}"
    return type(v).__name__


def literal(v: Any, ctx) -> Any:
    """A constant from the expression: floats become Fractions in exact mode."""
    if isinstance(v, float) and not math.isfinite(v):  # 1e400 in an ask, .inf in given
        raise UsageError(f"{ctx.where}: {v!r} is not a finite number (numbers must stay below about 1.8e308)")
    if isinstance(v, float) and ctx.exact:
        return to_fraction(v)
    return v


def normalize(x: Any) -> Any:
    """Tidy an arithmetic result: NumPy scalars to Python, mixed object arrays to float."""
    if isinstance(x, np.ndarray):
        if x.ndim == 0:
            return normalize(x.item())
        if x.dtype == object and not all(isinstance(v, (Fraction, int)) for v in x.flat):
            return x.astype(np.float64)
        if x.dtype == object:
            return np.vectorize(Fraction, otypes=[object])(x)
        return x.astype(np.float64) if x.dtype != np.float64 else x
    if isinstance(x, np.floating):
        return float(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, Fraction) and x.denominator == 1:
        return x  # keep exact type; displayed as an integer
    return x


def tensor(v: Any, ctx, what: str = "value") -> np.ndarray:
    """A value as a tensor (float64, or Fractions in exact mode); numbers become 0-D."""
    if isinstance(v, np.ndarray):
        return as_tensor(v, what) if v.ndim else v
    if is_number(v):
        if ctx.exact and not isinstance(v, float):
            return np.array(Fraction(v), dtype=object)
        if isinstance(v, Fraction):
            return np.array(v, dtype=object)
        if isinstance(v, float) and not math.isfinite(v):
            raise UsageError(f"{what} is not finite")
        return np.array(float(v))
    if isinstance(v, (list, tuple)):
        v = _nested_lists(v)  # [M, D] of named H×W maps reads as a 2×H×W tensor
        depth, item = 0, v
        while isinstance(item, (list, tuple)) and item:
            depth, item = depth + 1, item[0]
        if depth > _MAX_NDIM:
            raise UsageError(f"{what} has {depth} nested levels; tensors have at most {_MAX_NDIM} (C_out×C_in×H×W)")
        return as_tensor(list(v), what, exact=ctx.exact)
    raise UsageError(f"{what} must be a number or a list of numbers, got {describe(v)}")


def _nested_lists(v: Any) -> Any:
    """Tensors inside a list (names of earlier values) as nested lists of their numbers."""
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (list, tuple)):
        return [_nested_lists(e) for e in v]
    return v


def _check_operand(v: Any, op: str, ctx) -> None:
    if isinstance(v, (bool, np.bool_)) or not (is_number(v) or is_tensor_like(v)):
        raise UsageError(f"{ctx.where}: cannot use {describe(v)} with '{op}' (only numbers and tensors)")


def _scalar_op(op: str, a: Any, b: Any, ctx) -> Any:
    if ctx.exact and isinstance(a, int) and isinstance(b, int) and op == "/":
        return Fraction(a, b)
    if op == "**":
        return _power(a, b, ctx)
    return _OPS[op](a, b)


def _power(a: Any, b: Any, ctx) -> Any:
    small_int = isinstance(b, int) or (isinstance(b, Fraction) and b.denominator == 1)
    if small_int and isinstance(a, (int, Fraction)):
        e = int(b)
        bits = max(abs(Fraction(a).numerator).bit_length(), Fraction(a).denominator.bit_length())
        if bits * abs(e) > _MAX_INT_BITS:
            raise UsageError(f"{ctx.where}: {a} ** {e} is too large to compute exactly")
        return Fraction(a) ** e if (e < 0 or isinstance(a, Fraction)) else a ** e
    fa, fb = float(a), float(b)
    if fa == 0 and fb < 0:  # math.pow raises ValueError for (-)0.0 ** -1
        raise ZeroDivisionError
    if fa < 0 and not float(fb).is_integer():
        raise UsageError(f"{ctx.where}: a negative number to a fractional power has no real value")
    return math.pow(fa, fb)


def binary(op: str, a: Any, b: Any, ctx) -> Any:
    """``a op b`` element-wise with broadcasting.

    >>> class C: exact = False; where = "part a"
    >>> binary("+", [[1, 2]], 1, C()).tolist()
    [[2.0, 3.0]]
    >>> binary("/", 1, 4, C())
    0.25
    """
    _check_operand(a, op, ctx)
    _check_operand(b, op, ctx)
    try:
        with np.errstate(divide="raise", over="raise", invalid="raise"):
            if is_number(a) and is_number(b):
                return _finite(normalize(_scalar_op(op, a, b, ctx)), op, ctx)
            ta, tb = tensor(a, ctx, "left operand"), tensor(b, ctx, "right operand")
            try:
                shape = np.broadcast_shapes(ta.shape, tb.shape)
            except ValueError:
                sa, sb = ("x".join(map(str, t.shape)) for t in (ta, tb))
                raise UsageError(f"{ctx.where}: shapes {sa} and {sb} do not match for '{op}'") from None
            if shape:
                check_shape(shape, "result")
            if op == "**":
                return _finite(normalize(_array_power(ta, tb, ctx)), op, ctx)
            if op == "/" and is_exact(ta) and is_exact(tb):
                out = np.vectorize(lambda p, q: Fraction(p) / Fraction(q), otypes=[object])(ta, tb)
                return _finite(normalize(out), op, ctx)
            return _finite(normalize(_OPS[op](ta, tb)), op, ctx)
    except ZeroDivisionError:
        raise UsageError(f"{ctx.where}: division by zero") from None
    except FloatingPointError as exc:
        what = "division by zero" if "divide" in str(exc) else f"arithmetic error ({exc})"
        raise UsageError(f"{ctx.where}: {what}") from None
    except OverflowError:
        raise UsageError(f"{ctx.where}: a number is too large (overflow)") from None


_FLOAT_MAX = Fraction(np.finfo(np.float64).max)


def _finite(v: Any, op: str, ctx) -> Any:
    """An infinite float (Python floats overflow without raising), or an exact number beyond
    the float range (which no answer could be shown or compared as), is an error, never an answer."""
    if not in_range(v):
        raise UsageError(f"{ctx.where}: the result of '{op}' is not a finite number "
                         "(numbers must stay below about 1.8e308)")
    return v


def in_range(v: Any) -> bool:
    """Finite and at most about 1.8e308 in size: a number, or every element of a tensor."""
    if isinstance(v, float):
        return math.isfinite(v)
    if isinstance(v, (int, Fraction)) and not isinstance(v, bool):
        return abs(v) <= _FLOAT_MAX
    if isinstance(v, np.ndarray) and v.dtype == object:
        return all(in_range(e) for e in v.flat)
    if isinstance(v, np.ndarray) and v.dtype.kind == "f":
        return bool(np.isfinite(v).all())
    return True


def _array_power(ta: np.ndarray, tb: np.ndarray, ctx) -> np.ndarray:
    if is_exact(ta) or is_exact(tb):
        a, b = np.broadcast_arrays(ta.astype(object), tb.astype(object))
        out = np.empty(a.shape, dtype=object)
        for idx in np.ndindex(*a.shape):
            out[idx] = _power(a[idx], b[idx], ctx)
        return out
    if np.any((ta < 0) & (np.mod(tb, 1) != 0)):
        raise UsageError(f"{ctx.where}: a negative number to a fractional power has no real value")
    return np.power(ta, tb)


def negate(v: Any, ctx) -> Any:
    """Unary minus."""
    _check_operand(v, "-", ctx)
    if is_number(v):
        return -v
    return normalize(-tensor(v, ctx))


def positive(v: Any, ctx) -> Any:
    """Unary plus (checks the operand, returns it as a number or tensor)."""
    _check_operand(v, "+", ctx)
    return v if is_number(v) else tensor(v, ctx)
