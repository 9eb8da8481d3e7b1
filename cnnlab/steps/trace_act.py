"""Worked solutions of activations: one cell per element, or per vector for softmax."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cnnlab import ops
from cnnlab.errors import UsageError
from cnnlab.steps.scalar import SCALAR_ACTIVATIONS, apply_scalar, as_input, exact_slope
from cnnlab.steps.trace import Cell, Trace

__all__ = ["trace_act", "ACT_FUNCTIONS", "softmax_axis"]

ACT_FUNCTIONS = (*SCALAR_ACTIVATIONS, "softmax")

_EXP_LIMIT = 700.0  # math.exp overflows a float past ~709.78


def softmax_axis(ndim: int) -> int:
    """The axis softmax normalises (docs/conventions.md): a vector's, a matrix's rows, a tensor's channels."""
    if ndim not in (1, 2, 3):
        raise UsageError(f"softmax takes a vector, a matrix or a C x H x W tensor, got {ndim}-D")
    return 1 if ndim == 2 else 0


def _softmax_cell(x: np.ndarray, axis: int, index: tuple[int, ...]) -> Cell:
    where = index[:axis] + (slice(None),) + index[axis:]
    vector = [float(v) for v in x[where]]
    shift = max(vector) if max(vector) > _EXP_LIMIT or min(vector) < -_EXP_LIMIT else 0.0
    exps = [math.exp(v - shift) for v in vector]
    total = 0.0
    for e in exps:
        total += e
    p = np.array([e / total for e in exps])
    extra = {"x": np.array(vector), "exp": np.array(exps), "sum": total, "p": p}
    if shift:
        extra["shift"] = shift
    return Cell(kind="softmax", index=index, value=p, total=total, extra=extra)


def trace_act(x: Any, fn: str, slope: Any = 0.01) -> Trace:
    """Worked solution of an activation: relu, sigmoid, tanh, leaky_relu or softmax.

    Args:
        x: a number, a vector, (H, W) or (C, H, W); float or exact.
        fn: the function's name.
        slope: the negative slope of leaky_relu.

    Returns:
        A :class:`Trace`; element-wise functions have one cell per element, softmax one per
        normalised vector (``params["axis"]`` says which axis).

    >>> trace_act(np.array([-1., 2.]), "relu").output.tolist()
    [0.0, 2.0]
    >>> trace_act(np.array([0., 0.]), "softmax").cell(()).extra["p"].tolist()
    [0.5, 0.5]
    """
    name = str(fn).lower().replace("-", "_")
    if name not in ACT_FUNCTIONS:
        raise UsageError(f"unknown function {fn!r}: choose one of {', '.join(ACT_FUNCTIONS)}")
    x = as_input(x, "input")
    exact = ops.is_exact(x)
    notes = []
    if name in ops.IRRATIONAL and exact:
        notes.append(f"{name} is irrational: computed in floating point")
    if name == "softmax":
        if x.ndim == 0:
            x = x.reshape(1)
        axis = softmax_axis(x.ndim)
        output = ops.softmax(x)
        shape = x.shape[:axis] + x.shape[axis + 1:]

        def cell(index: tuple[int, ...]) -> Cell:
            return _softmax_cell(x, axis, index)

        params: dict = {"fn": name, "axis": axis}
        notes.append({1: "softmax of the vector", 2: "softmax of each row",
                      3: "softmax over the channels at each position"}[x.ndim])
        return Trace(op=name, params=params, output=output, input=x, cell_fn=cell, cell_shape=shape,
                     notes=notes, exact=False)

    slope = exact_slope(slope, exact)
    fn_vec = ops.get_activation(name)
    output = fn_vec(x, slope) if name == "leaky_relu" else fn_vec(x)

    def cell(index: tuple[int, ...]) -> Cell:
        v = x[index]
        return Cell(kind="act", index=index, value=apply_scalar(name, v, slope), total=v,
                    activation=name)

    params = {"fn": name}
    if name == "leaky_relu":
        params["slope"] = slope
    return Trace(op=name, params=params, output=np.asarray(output), input=x, cell_fn=cell,
                 cell_shape=x.shape, notes=notes, exact=exact and name not in ops.IRRATIONAL)
