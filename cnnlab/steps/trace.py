"""The record of a worked solution: :class:`Trace` (one op) made of :class:`Cell` s.

A trace keeps the vectorised result of :mod:`cnnlab.ops` in ``output`` and computes each
output cell again, explicitly, when asked (``trace.cell(index)``): the window, the
element-wise products, their sum, the bias and the activation. The two computations are
independent, so tests compare them (STYLE item 6); renderers only ever ask for the
cells they show, so a worked solution of a large input stays cheap.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from cnnlab.steps.numbers import exact_string, is_exact, to_json_number, to_json_value

__all__ = ["Cell", "Trace", "DEFAULT_MAX_CELLS"]

DEFAULT_MAX_CELLS = 16  # cells shown by default in a worked solution


@dataclass
class Cell:
    """One output value, computed step by step.

    kind: "conv" (window ⊙ weights summed, + bias, activation), "max", "avg",
    "act" (one element through a function) or "softmax" (one vector).
    index: position in the output, zero-based, with the channel first for 3-D outputs.
    origin: (row, col) of the window's top-left corner in ``trace.prepared``, zero-based.
    window: (C, kh, kw) for conv, (kh, kw) for pooling; the values the cell reads.
    weights, products: (C, kh, kw) for conv.
    total: sum of products (conv), the maximum (max), the sum (avg), the input (act).
    divisor: number of values averaged (avg).
    valid: (kh, kw) bool, False where a pooling window reads padding that does not count.
    pre_activation: total + bias (conv).
    value: the cell's final value.
    extra: per-kind data (softmax: "x", "exp", "sum", "p").
    """

    kind: str
    index: tuple[int, ...]
    value: Any
    origin: tuple[int, int] | None = None
    window: np.ndarray | None = None
    weights: np.ndarray | None = None
    products: np.ndarray | None = None
    total: Any = None
    divisor: int | None = None
    valid: np.ndarray | None = None
    bias: Any = None
    pre_activation: Any = None
    activation: str | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready: plain numbers and nested lists; Fractions also as ``"exact"`` strings."""
        out: dict[str, Any] = {"index": list(self.index)}
        if self.origin is not None:
            out["origin"] = list(self.origin)
        for name in ("window", "weights", "products"):
            value = getattr(self, name)
            if value is not None:
                out[name] = to_json_value(value)
        if self.valid is not None and not self.valid.all():
            out["counted"] = self.valid.tolist()
        scalars = {"total": self.total, "divisor": self.divisor, "bias": self.bias,
                   "pre_activation": self.pre_activation, "value": self.value}
        if self.kind == "conv":
            scalars["sum"] = scalars.pop("total")
        for name, value in scalars.items():
            if value is not None:  # a softmax cell's value is its whole vector of probabilities
                out[name] = to_json_value(value) if isinstance(value, np.ndarray) else to_json_number(value)
        if self.activation:
            out["activation"] = self.activation
        for name, value in self.extra.items():
            out[name] = to_json_value(value)
        exact = {k: exact_string(v) for k, v in scalars.items() if is_exact(v)}
        if exact:
            out["exact"] = exact
        return out


@dataclass
class Trace:
    """A worked solution of one op.

    op: "conv2d", "conv_transpose2d", "maxpool2d", "avgpool2d", "relu", "sigmoid", ...
    params: the arguments as given and as resolved (padding as (top, bottom, left, right)).
    output: the vectorised result, exactly what the :mod:`cnnlab.ops` function returns.
    input: the input as given, (H, W) or (C, H, W).
    prepared: what the windows slide over, (C, H_p, W_p): the padded input (for a
        transposed convolution: the input spread by the stride and padded).
    kernel: the weights used, (C_out, C_in/groups, kh, kw), already flipped when flip=True.
    notes: sentences a reader needs (convolution vs cross-correlation, float fallbacks).
    exact: whether the values are Fractions.
    """

    op: str
    params: dict
    output: np.ndarray
    input: np.ndarray
    cell_fn: Callable[[tuple[int, ...]], Cell] = field(repr=False)
    cell_shape: tuple[int, ...] = ()
    prepared: np.ndarray | None = None
    kernel: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    exact: bool = False
    pick: tuple[tuple[int, ...], ...] | None = None  # cells to work out instead of the first N

    def distinct_cells(self) -> tuple[tuple[int, ...], ...]:
        """One cell per distinct computation: the first cell of each output channel (each has
        its own filter); an element-wise op or a pooling of one channel computes alike everywhere."""
        shape = self.cell_shape
        if len(shape) >= 3 and self.op in ("conv2d", "conv_transpose2d"):
            return tuple((c,) + (0,) * (len(shape) - 1) for c in range(shape[0]))
        return ((0,) * len(shape),)

    def shown(self, limit: int | None) -> int:
        """How many cells :meth:`cells` yields for ``limit``."""
        if self.pick is not None:
            return len(self.pick)
        return self.n_cells if limit is None else min(limit, self.n_cells)

    @property
    def n_cells(self) -> int:
        """How many cells the worked solution has in all."""
        return int(np.prod(self.cell_shape))

    def cell(self, index: tuple[int, ...]) -> Cell:
        """Compute one cell, step by step (``index`` zero-based, in ``cell_shape``)."""
        return self.cell_fn(tuple(int(i) for i in index))

    def cells(self, limit: int | None = None) -> Iterator[Cell]:
        """The cells in row-major order, at most ``limit`` of them (or the picked ones)."""
        if self.pick is not None:
            yield from (self.cell(index) for index in self.pick)
            return
        indices = itertools.product(*(range(n) for n in self.cell_shape))
        for index in itertools.islice(indices, limit):
            yield self.cell(index)

    def traced_output(self) -> np.ndarray:
        """The output rebuilt from every cell's step-by-step value (shape of ``output``)."""
        if self.op == "softmax":  # one cell per vector, normalised along params["axis"]
            out = np.empty(np.shape(self.output), dtype=np.float64)
            axis = self.params["axis"]
            for cell in self.cells():
                where = cell.index[:axis] + (slice(None),) + cell.index[axis:]
                out[where] = cell.value
            return out
        values = np.empty(self.cell_shape, dtype=object)
        for cell in self.cells():
            values[cell.index] = cell.value
        values = values.reshape(np.shape(self.output))
        return values if is_exact(values) else values.astype(np.float64)

    def to_dict(self, max_cells: int | None = None) -> dict:
        """JSON-ready record: inputs, resolved params, prepared input, kernel, the cells.

        ``max_cells`` limits the cells listed; ``cells_omitted`` says how many were left out.
        """
        params = {k: _json_param(v) for k, v in self.params.items() if not k.startswith("_")}
        out: dict[str, Any] = {"op": self.op, "params": params, "input": to_json_value(self.input)}
        if self.prepared is not None:  # (H_p, W_p) for a 2-D input, else (C, H_p, W_p)
            flat = self.prepared[0] if np.ndim(self.input) == 2 else self.prepared
            out["prepared_input"] = to_json_value(flat)
        if self.kernel is not None:  # (kh, kw) for one filter of one channel, else 4-D
            k = self.kernel[0, 0] if self.kernel.shape[:2] == (1, 1) else self.kernel
            out["kernel"] = to_json_value(k)
        out["output"] = to_json_value(self.output)
        out["shape"] = list(np.shape(self.output))
        cells = [c.to_dict() for c in self.cells(max_cells)]
        out["cells"] = cells
        out["cells_total"] = self.n_cells
        out["cells_omitted"] = self.n_cells - len(cells)
        out["exact"] = self.exact
        out["notes"] = list(self.notes)
        return out


def _json_param(value: Any) -> Any:
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, np.ndarray) or isinstance(value, (list, tuple)):
        return to_json_value(np.asarray(value, dtype=object) if isinstance(value, (list, tuple))
                             else value)
    return to_json_number(value)
