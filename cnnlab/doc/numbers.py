"""How numbers are rounded and written in worked steps and JSON (docs/conventions.md).

Exact values are :class:`fractions.Fraction`; they print as ``5/8`` (LaTeX ``\\frac{5}{8}``)
and round exactly. Floats print trimmed (``0.30000000000000004`` → ``0.3``).
"""

from __future__ import annotations

import math
from fractions import Fraction
from numbers import Integral, Real
from typing import Any

import numpy as np

__all__ = ["round_half_away", "format_number", "to_json_number", "to_json_value",
           "exact_string", "is_exact"]

# Scaled values within this relative distance of a half are treated as the half:
# 2.675 is stored as 2.67499999999999982236431605997495353221893310546875, and a user who
# typed 2.675 expects 2.68 (docs/conventions.md: half away from zero, tolerance 1e-9).
_HALF_SLACK = 1e-12

_SIGNIFICANT = 10  # digits kept when a float is printed without --round


def is_exact(x: Any) -> bool:
    """True for a Fraction (or an object array holding them)."""
    if isinstance(x, np.ndarray):
        return x.dtype == object and any(isinstance(v, Fraction) for v in x.flat)
    return isinstance(x, Fraction)


def _round_scalar(x: Any, n: int) -> Any:
    if isinstance(x, Fraction):
        scaled = abs(x) * 10**n
        whole = math.floor(scaled + Fraction(1, 2))
        return Fraction(whole if x >= 0 else -whole, 10**n)
    if isinstance(x, Integral):
        return x
    x = float(x)
    if not math.isfinite(x):
        return x
    scaled = abs(x) * 10.0**n
    value = math.floor(scaled + 0.5 + scaled * _HALF_SLACK) / 10.0**n
    return math.copysign(value, x) + 0.0  # + 0.0 turns -0.0 into 0.0


def round_half_away(x: Any, n: int) -> Any:
    """Round to ``n`` decimals, halves away from zero (docs/conventions.md).

    Fractions stay exact; float arrays are rounded elementwise.

    >>> round_half_away(2.675, 2), round_half_away(-0.125, 2), round_half_away(Fraction(5, 8), 1)
    (2.68, -0.13, Fraction(3, 5))
    >>> round_half_away(np.array([0.5, 1.5, -2.5]), 0).tolist()
    [1.0, 2.0, -3.0]
    """
    if isinstance(x, np.ndarray):
        if x.dtype == object:
            out = np.empty(x.shape, dtype=object)
            for idx, v in np.ndenumerate(x):
                out[idx] = _round_scalar(v, n)
            return out
        x = x.astype(np.float64)
        scaled = np.abs(x) * 10.0**n
        with np.errstate(invalid="ignore"):
            value = np.floor(scaled + 0.5 + scaled * _HALF_SLACK) / 10.0**n
        value = np.where(np.isfinite(x), np.copysign(value, x), x)
        return value + 0.0
    return _round_scalar(x, n)


def exact_string(x: Any) -> str:
    """``"5/8"`` for a Fraction, ``"3"`` for an integral one; other numbers as format_number."""
    if isinstance(x, Fraction):
        return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"
    return format_number(x)


def _float_text(x: float, digits: int | None) -> str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if digits is not None:
        text = f"{x:.{digits}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    else:
        text = f"{x:.{_SIGNIFICANT}g}"
        if "e" not in text and "." in text:
            text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


def _latex(text: str) -> str:
    if text in ("inf", "-inf"):
        return text.replace("inf", r"\infty")
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


def format_number(x: Any, round: int | None = None, fmt: str = "text") -> str:
    """Write one number for people: ints as ints, Fractions as ``5/8``, floats trimmed.

    With ``round`` the value is rounded to that many decimals, half away from zero, and
    trailing zeros are dropped. ``fmt="latex"`` writes fractions as ``\\frac{5}{8}``.

    >>> format_number(3.0), format_number(0.1 + 0.2), format_number(Fraction(-5, 8))
    ('3', '0.3', '-5/8')
    >>> format_number(0.7310585786, round=2), format_number(Fraction(1, 3), fmt="latex")
    ('0.73', '\\\\frac{1}{3}')
    """
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, bool):
        return str(x).lower()
    if x is None:
        return "null" if fmt == "text" else "—"
    if round is not None:
        x = round_half_away(x, round)
        if isinstance(x, Fraction):
            x = x if x.denominator == 1 else float(x)
    if isinstance(x, Fraction):
        if x.denominator == 1:
            return str(x.numerator)
        if fmt == "latex":
            sign = "-" if x < 0 else ""
            return rf"{sign}\frac{{{abs(x.numerator)}}}{{{x.denominator}}}"
        return f"{x.numerator}/{x.denominator}"
    if isinstance(x, Integral):
        return str(int(x))
    if isinstance(x, Real):
        text = _float_text(float(x), round)
        return _latex(text) if fmt == "latex" else text
    return str(x)


def to_json_number(x: Any) -> Any:
    """A plain JSON number: Fraction → int or float, numpy scalar → Python; ±inf/nan → None."""
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, bool):
        return x
    if isinstance(x, Fraction):
        return x.numerator if x.denominator == 1 else float(x)
    if isinstance(x, Integral):
        return int(x)
    if isinstance(x, Real):
        x = float(x)
        return x + 0.0 if math.isfinite(x) else None
    return x


def to_json_value(x: Any, round: int | None = None) -> Any:
    """Nested lists of plain JSON numbers from an array, a scalar or a list; optionally rounded."""
    if round is not None and not isinstance(x, (str, dict)):
        x = round_half_away(np.asarray(x) if isinstance(x, list) else x, round)
    if isinstance(x, np.ndarray):
        if x.dtype != object:
            x = x.astype(np.float64)
            if np.isfinite(x).all():
                return (x + 0.0).tolist()
        return [to_json_value(v) for v in x] if x.ndim else to_json_number(x.item())
    if isinstance(x, (list, tuple)):
        return [to_json_value(v) for v in x]
    if isinstance(x, dict):
        return {k: to_json_value(v, round) for k, v in x.items()}
    return to_json_number(x)
