"""Checking a command's parameters as the CLI checks its flags, with the CLI's messages.

The Python API takes Python values (ints, lists, arrays) or the CLI's text forms ("2,1",
"same"); each check here gives the one-line message argparse gives for the same mistake
(``cnnlab conv: argument --padding-mode: invalid choice: ...``), so the CLI, the API and
``cnnlab serve`` say the same thing.
"""

from __future__ import annotations

import json
import math
from typing import Any, Iterable

from cnnlab.errors import UsageError

__all__ = ["choice", "integer", "bounded", "number", "flag", "text_form", "tensor_text"]


def _argument(command: str, name: str, message: str) -> UsageError:
    return UsageError(f"cnnlab {command}: argument --{name.replace('_', '-')}: {message} (see --help)")


def choice(command: str, name: str, value: Any, choices: Iterable[str], optional: bool = False) -> Any:
    """``value`` when it is one of ``choices`` (or None when ``optional``)."""
    choices = tuple(choices)
    if value is None and optional:
        return None
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise _argument(command, name, f"invalid choice: {value!r} (choose from {listed})")
    return value


def integer(command: str, name: str, value: Any) -> int:
    """A whole number given as an int or its text."""
    if isinstance(value, bool):
        raise UsageError(f"{name}: expected a number or text, got {json.dumps(value)}")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    try:
        if len(text) > 40:  # Python's own digit limit stays far away
            raise ValueError(text)
        return int(text)
    except ValueError:
        raise _argument(command, name, f"invalid int value: {str(value)[:40]!r}") from None


def bounded(command: str, name: str, value: Any, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``, with the messages of the CLI's bounded flags."""
    value = integer(command, name, value)
    if value < low:
        raise _argument(command, name, f"expected a whole number >= {low} (at most {high}), got {value}")
    if value > high:
        raise _argument(command, name, f"expected a whole number from {low} to {high}, got {value}")
    return value


def number(command: str, name: str, value: Any) -> float:
    """A finite number given as a number or its text."""
    if isinstance(value, bool):
        raise UsageError(f"{name}: expected a number or text, got {json.dumps(value)}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise _argument(command, name, f"expected a number, got {str(value)!r}") from None
    if not math.isfinite(out):
        raise _argument(command, name, f"expected a finite number, got {str(value)!r}")
    return out


def flag(name: str, value: Any) -> bool:
    """A switch (``flip``, ``steps``): True or False, nothing else."""
    if not isinstance(value, bool):
        raise UsageError(f"{name}: expected true or false, got {json.dumps(value, default=str)}")
    return value


def text_form(name: str, value: Any) -> str:
    """A size/stride/padding as the CLI's text: 2 -> "2", (2, 1) -> "2,1", "same" stays."""
    if isinstance(value, (list, tuple)):
        return ",".join(_scalar(name, v) for v in value)
    return _scalar(name, value)


def _scalar(name: str, value: Any) -> str:
    if isinstance(value, bool):
        raise UsageError(f"{name}: expected a number or text, got {json.dumps(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise UsageError(f"{name}: {value!r} is not a finite number")
    if isinstance(value, (int, float, str)):
        return str(value)
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # a NumPy or torch scalar
        return _scalar(name, value.item())
    raise UsageError(f"{name}: expected a number, text or a list, got {type(value).__name__}")


def tensor_text(name: str, value: Any) -> str:
    """A tensor as the CLI's text: a str as it is; nested lists, NumPy arrays and torch
    tensors as a bracket literal (so every form is read and checked by one reader)."""
    if isinstance(value, str):
        return value
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    if hasattr(value, "tolist") and not isinstance(value, (list, tuple)):
        value = value.tolist()
    if isinstance(value, bool):
        raise UsageError(f"{name}: expected a number, text or a list, got {json.dumps(value)}")
    if isinstance(value, (int, float)) or _fractional(value):
        return _literal(name, value)
    if isinstance(value, (list, tuple)):
        return _literal(name, value)
    raise UsageError(f"{name}: expected a number, text or a list, got {type(value).__name__}")


def _fractional(value: Any) -> bool:
    from fractions import Fraction

    return isinstance(value, Fraction)


def _literal(name: str, value: Any) -> str:
    """Nested lists as ``[[1, 2], [3, 4]]``; Fractions written ``1/2`` (the literal reader keeps them)."""
    from fractions import Fraction

    def write(v: Any) -> str:
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(write(x) for x in v) + "]"
        if isinstance(v, bool) or v is None or isinstance(v, (str, dict)):
            raise UsageError(f"{name}: values must be numbers, got {json.dumps(v, default=str)}")
        if isinstance(v, Fraction):
            return f"{v.numerator}/{v.denominator}"
        if hasattr(v, "item"):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            raise UsageError(f"{name}: values must be finite numbers")
        if not isinstance(v, (int, float)):
            raise UsageError(f"{name}: values must be numbers, got {type(v).__name__}")
        return repr(v) if isinstance(v, float) else str(v)

    try:
        return write(value)
    except RecursionError:
        raise UsageError(f"{name}: the input is nested too deeply") from None
