"""Activation functions, softmax and its Jacobian (docs/conventions.md).

ReLU and leaky ReLU are rational and stay exact on Fractions; sigmoid, tanh and softmax
are irrational and return floats (:data:`IRRATIONAL` names them, so a worked solution can
say it fell back to floats).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable

import numpy as np

from cnnlab.errors import UsageError
from cnnlab.ops.tensor import is_exact, to_float, to_fraction

__all__ = ["relu", "sigmoid", "tanh", "leaky_relu", "softmax", "softmax_jacobian",
           "ACTIVATIONS", "IRRATIONAL", "get_activation"]


def relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0) element-wise; exact stays exact.

    >>> relu(np.array([-1., 2.])).tolist()
    [0.0, 2.0]
    """
    x = np.asarray(x)
    zero = Fraction(0) if is_exact(x) else 0.0
    return np.where(x > 0, x, zero)


def leaky_relu(x: np.ndarray, slope: Any = 0.01) -> np.ndarray:
    """x for x > 0, slope·x otherwise (PyTorch's default slope 0.01).

    >>> leaky_relu(np.array([-2., 3.]), 0.1).tolist()
    [-0.2, 3.0]
    """
    x = np.asarray(x)
    if is_exact(x):
        s = to_fraction(slope)
        out = np.empty(x.shape, dtype=object)
        for idx, v in np.ndenumerate(x):
            out[idx] = v if v > 0 else s * v
        return out
    return np.where(x > 0, x, float(slope) * x)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^−x), computed without overflow for large |x|.

    >>> float(sigmoid(np.array(0.)))
    0.5
    """
    x = to_float(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def tanh(x: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent.

    >>> float(tanh(np.array(0.)))
    0.0
    """
    return np.tanh(to_float(x))


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax of a vector; of each row of a matrix; over channels of a (C, H, W) tensor.

    >>> [round(v, 4) for v in softmax(np.array([1., 2., 3.])).tolist()]
    [0.09, 0.2447, 0.6652]
    """
    x = to_float(x)
    axis = {0: None, 1: 0, 2: 1, 3: 0}.get(x.ndim)
    if x.ndim > 3:
        raise UsageError(f"softmax takes a vector, a matrix or a C x H x W tensor, got shape {list(x.shape)}")
    if axis is None:
        return np.array(1.0)
    # x - max may overflow to -inf when the scores span more than the float range
    # (1e308 and -1e308); exp(-inf) = 0 is then the right limit, as torch gives.
    with np.errstate(over="ignore", under="ignore"):
        z = np.exp(x - x.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)


def softmax_jacobian(x: np.ndarray) -> np.ndarray:
    """J[i][j] = ∂p_i/∂x_j = p_i (δ_ij − p_j) for p = softmax(x); x a vector (n,) -> (n, n).

    >>> J = softmax_jacobian(np.array([0., 0.]))
    >>> J.tolist()
    [[0.25, -0.25], [-0.25, 0.25]]
    """
    x = to_float(x)
    if x.ndim != 1:
        raise UsageError(f"softmax_jacobian takes a vector, got shape {list(x.shape)}")
    p = softmax(x)
    with np.errstate(under="ignore"):  # products of tiny probabilities round to 0
        return np.diag(p) - np.outer(p, p)


ACTIVATIONS: dict[str, Callable[..., np.ndarray]] = {
    "relu": relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "softmax": softmax,
    "leaky_relu": leaky_relu,
}
IRRATIONAL = frozenset({"sigmoid", "tanh", "softmax"})


def get_activation(name: str) -> Callable[..., np.ndarray]:
    """The activation called ``name``; unknown names list the known ones."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise UsageError(f"unknown activation {name!r}: choose one of {', '.join(ACTIVATIONS)}") from None
