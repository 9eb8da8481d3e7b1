"""Scalar helpers of the tracers: one activation on one number, input coercion.

The tracers compute each cell with these scalar functions (``math``, not NumPy), so a
worked value is an independent check of the vectorised :mod:`cnnlab.ops` result.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from cnnlab import ops
from cnnlab.errors import UsageError

__all__ = ["SCALAR_ACTIVATIONS", "apply_scalar", "as_input", "check_activation", "exact_slope",
           "has_fraction", "FORMULAS"]


def _relu(v: Any, slope: Any = None) -> Any:
    return v if v > 0 else (Fraction(0) if isinstance(v, Fraction) else 0.0)


def _leaky_relu(v: Any, slope: Any = 0.01) -> Any:
    return v if v > 0 else slope * v


def _sigmoid(v: Any, slope: Any = None) -> float:
    v = float(v)
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


def _tanh(v: Any, slope: Any = None) -> float:
    return math.tanh(float(v))


# name -> f(value, slope): the element-wise activations, one number at a time
SCALAR_ACTIVATIONS = {"relu": _relu, "leaky_relu": _leaky_relu, "sigmoid": _sigmoid, "tanh": _tanh}

# how each is written in a worked solution
FORMULAS = {"relu": "max(x, 0)", "leaky_relu": "x if x > 0 else slope·x",
            "sigmoid": "1 / (1 + e^(−x))", "tanh": "(e^x − e^(−x)) / (e^x + e^(−x))",
            "softmax": "e^(x_i) / Σ_j e^(x_j)"}


def apply_scalar(name: str, v: Any, slope: Any = 0.01) -> Any:
    """``name`` applied to one number (exact in → exact out for relu and leaky_relu).

    >>> apply_scalar("relu", Fraction(-1, 2)), apply_scalar("sigmoid", 0)
    (Fraction(0, 1), 0.5)
    """
    return SCALAR_ACTIVATIONS[name](v, slope)


def check_activation(name: str | None) -> str | None:
    """The canonical activation name (None for none); unknown names are a UsageError."""
    if name is None or str(name).lower() in ("", "none", "identity", "linear"):
        return None
    key = str(name).lower().replace("-", "_")
    if key not in SCALAR_ACTIVATIONS:
        raise UsageError(f"unknown activation {name!r}: choose one of {', '.join(SCALAR_ACTIVATIONS)}")
    return key


def exact_slope(slope: Any, exact: bool) -> Any:
    """The leaky-ReLU slope as a Fraction in exact mode (0.01 → 1/100), else a float."""
    if slope is None:
        return None
    return ops.to_fraction(slope) if exact else float(slope)


def as_input(value: Any, what: str) -> np.ndarray:
    """An array as given (validated by the op), or a nested list validated by ``as_tensor``.

    A list holding Fractions becomes an exact tensor.
    """
    if isinstance(value, np.ndarray):
        return value
    return ops.as_tensor(value, what, exact=has_fraction(value))


def has_fraction(value: Any) -> bool:
    """Whether a number, nested list or array holds a Fraction anywhere."""
    if isinstance(value, Fraction):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype == object and any(isinstance(v, Fraction) for v in value.flat)
    if isinstance(value, (list, tuple)):
        return any(has_fraction(v) for v in value)
    return False
