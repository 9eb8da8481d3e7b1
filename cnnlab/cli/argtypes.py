"""argparse ``type=`` functions shared by the commands: a bad value becomes argparse's
one-line ``error: ... argument --x: ...`` (exit 2). Light: imported at every start."""

from __future__ import annotations

import argparse
import math

__all__ = ["positive_int", "positive_float", "finite_float"]


def positive_int(text: str) -> int:
    """A whole number >= 1.

    >>> positive_int("3")
    3
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def finite_float(text: str) -> float:
    """A number that is neither nan nor infinite (those would poison every result)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (a time-out in seconds, a rate).

    >>> positive_float("2.5")
    2.5
    """
    value = finite_float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value
