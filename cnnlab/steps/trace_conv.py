"""Worked solutions of convolution and transposed convolution, cell by cell.

Each output cell is computed again with explicit loops: the window of the padded input
it reads, the element-wise products with the filter, their sum, the bias, the activation.
This is independent of the vectorised einsum in :mod:`cnnlab.ops.conv`; the tests check
that the two agree on every cell.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from cnnlab import ops
from cnnlab.errors import check_shape
from cnnlab.ops.conv import bias_vector
from cnnlab.ops.padding import pair
from cnnlab.ops.sizes import effective_kernel
from cnnlab.steps.scalar import (apply_scalar, as_input, check_activation, exact_slope,
                                 has_fraction)
from cnnlab.steps.trace import Cell, Trace

__all__ = ["trace_conv2d", "trace_conv_transpose2d"]


def _sum(values: np.ndarray, exact: bool) -> Any:
    """Left-to-right sum of every element, as written on paper."""
    total: Any = Fraction(0) if exact else 0.0
    for v in values.flat:
        total = total + v
    return total


def _conv_cell(prepared: np.ndarray, filters: np.ndarray, bias: np.ndarray, has_bias: bool,
               groups: int, stride: tuple[int, int], dilation: tuple[int, int],
               act: str | None, slope: Any, exact: bool, index: tuple[int, int, int]) -> Cell:
    """One output cell ``(o, i, j)`` of a correlation of ``prepared`` (C, Hp, Wp) with
    ``filters`` (C_out, C_in/groups, kh, kw)."""
    o, i, j = index
    C_out, per_group, kh, kw = filters.shape
    group = o // (C_out // groups)
    r0, c0 = i * stride[0], j * stride[1]
    rows = [r0 + a * dilation[0] for a in range(kh)]
    cols = [c0 + b * dilation[1] for b in range(kw)]
    channels = range(group * per_group, (group + 1) * per_group)
    window = np.empty((per_group, kh, kw), dtype=prepared.dtype)
    products = np.empty((per_group, kh, kw), dtype=object if exact else np.float64)
    for c_local, c in enumerate(channels):
        for a, r in enumerate(rows):
            for b, col in enumerate(cols):
                window[c_local, a, b] = prepared[c, r, col]
                products[c_local, a, b] = window[c_local, a, b] * filters[o, c_local, a, b]
    total = _sum(products, exact)
    pre = total + bias[o]
    value = apply_scalar(act, pre, slope) if act else pre
    return Cell(kind="conv", index=index, value=value, origin=(r0, c0), window=window,
                weights=filters[o], products=products, total=total,
                bias=bias[o] if has_bias else None, pre_activation=pre if (act or has_bias) else None,
                activation=act)


def trace_conv2d(x: Any, k: Any, bias: Any = 0, stride: Any = 1, padding: Any = 0,
                 padding_mode: str = "zeros", dilation: Any = 1, groups: int = 1,
                 flip: bool = False, act: str | None = None, slope: Any = 0.01) -> Trace:
    """Worked solution of :func:`cnnlab.ops.conv2d`, optionally followed by an activation.

    Args:
        x: (H, W) or (C_in, H, W); float or exact (object array of Fractions).
        k: (kh, kw), (C_in/groups, kh, kw) or (C_out, C_in/groups, kh, kw).
        act: None, "relu", "sigmoid", "tanh" or "leaky_relu" (with ``slope``), applied after the bias.
        Other arguments as :func:`cnnlab.ops.conv2d`.

    Returns:
        A :class:`Trace` whose ``output`` is ``ops.conv2d(...)`` (then the activation) and
        whose cells are indexed ``(o, i, j)``.

    >>> t = trace_conv2d(np.arange(9.).reshape(3, 3), np.array([[1., 0.], [0., -1.]]))
    >>> t.output.tolist(), t.cell((0, 0, 0)).products.tolist()
    ([[-4.0, -4.0], [-4.0, -4.0]], [[[0.0, 0.0], [0.0, -4.0]]])
    """
    x, k = as_input(x, "input"), as_input(k, "kernel")
    exact = ops.is_exact(x) or ops.is_exact(k) or has_fraction(bias)
    if exact:
        x, k = ops.as_tensor(x, "input", exact=True), ops.as_tensor(k, "kernel", exact=True)
    act = check_activation(act)
    output = ops.conv2d(x, k, bias, stride, padding, padding_mode, dilation, groups, flip)
    if act:
        output = _vector_act(act, output, slope)

    x3 = x if x.ndim == 3 else x[None]  # (C, H, W)
    C, H, W = x3.shape
    filters = ops.as_filters(k, C, groups)  # (C_out, C_in/groups, kh, kw)
    if flip:
        filters = ops.flip(filters)
    C_out, per_group, kh, kw = filters.shape
    s, d = pair(stride, "stride"), pair(dilation, "dilation")
    pads = ops.resolve_padding(padding, (H, W), (kh, kw), s, d)
    prepared = ops.pad(x3, pads, padding_mode)  # (C, H + top + bottom, W + left + right)
    b = bias_vector(bias, C_out, exact)
    has_bias = any(v != 0 for v in b)
    slope = exact_slope(slope, exact)
    H_out, W_out = np.shape(output)[-2:]

    def cell(index: tuple[int, ...]) -> Cell:
        return _conv_cell(prepared, filters, b, has_bias, groups, s, d, act, slope, exact, index)

    notes = [("true convolution: the kernel is rotated by 180° before sliding" if flip else
              "cross-correlation (as torch.nn.functional.conv2d): the kernel is not flipped")]
    if act in ops.IRRATIONAL and exact:
        notes.append(f"{act} is irrational: its values are floating-point, the sums before it exact")
    params = {"stride": s, "padding": padding, "padding_resolved": pads,
              "padding_mode": ops.padding.check_mode(padding_mode), "dilation": d, "groups": groups,
              "flip": bool(flip), "bias": b if has_bias else 0, "act": act}
    if act == "leaky_relu":
        params["slope"] = slope
    return Trace(op="conv2d", params=params, output=output, input=x, cell_fn=cell,
                 cell_shape=(C_out, H_out, W_out), prepared=prepared, kernel=filters,
                 notes=notes, exact=exact)


def _spread_index(n: int, stride: int, before: int, length: int) -> np.ndarray:
    """For each position of the spread-and-padded axis, the input index there, or −1."""
    pos = np.arange(length) - before
    inside = (pos >= 0) & (pos % stride == 0) & (pos // stride < n)
    return np.where(inside, pos // stride, -1)


def trace_conv_transpose2d(x: Any, k: Any, bias: Any = 0, stride: Any = 1, padding: Any = 0,
                           output_padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Trace:
    """Worked solution of :func:`cnnlab.ops.conv_transpose2d`, as the textbook does it.

    A transposed convolution equals a plain correlation of the input spread out by the
    stride (``s−1`` zeros between neighbours), padded by ``d·(k−1)−p`` on each side (a
    negative amount crops) plus ``output_padding`` at the bottom/right, with the kernel
    rotated by 180° and its in/out channel axes swapped. ``prepared`` is that spread input.

    Args:
        x: (H, W) or (C_in, H, W).
        k: (C_in, C_out/groups, kh, kw) as PyTorch, or (C_in, kh, kw) / (kh, kw) for one output channel.

    >>> t = trace_conv_transpose2d(np.array([[1., 2.]]), np.array([[1., 1.]]), stride=2)
    >>> t.output.tolist(), t.prepared.tolist()
    ([[1.0, 1.0, 2.0, 2.0]], [[[0.0, 1.0, 0.0, 2.0, 0.0]]])
    """
    x, k = as_input(x, "input"), as_input(k, "kernel")
    exact = ops.is_exact(x) or ops.is_exact(k) or has_fraction(bias)
    if exact:
        x, k = ops.as_tensor(x, "input", exact=True), ops.as_tensor(k, "kernel", exact=True)
    output = ops.conv_transpose2d(x, k, bias, stride, padding, output_padding, dilation, groups)

    x3 = x if x.ndim == 3 else x[None]  # (C_in, H, W)
    C, H, W = x3.shape
    if k.ndim == 2:
        weights = np.broadcast_to(k, (C, 1, *k.shape))
    elif k.ndim == 3:
        weights = k[:, None]
    else:
        weights = k  # (C_in, C_out/groups, kh, kw)
    _, out_per_group, kh, kw = weights.shape
    per_group = C // groups
    C_out = out_per_group * groups
    # equivalent correlation filters: (C_out, C_in/groups, kh, kw), rotated by 180°
    filters = np.empty((C_out, per_group, kh, kw), dtype=weights.dtype)
    for o in range(C_out):
        g, o_local = divmod(o, out_per_group)
        filters[o] = ops.flip(weights[g * per_group:(g + 1) * per_group, o_local])
    (sh, sw), (dh, dw) = pair(stride, "stride"), pair(dilation, "dilation")
    (ph, pw), (oph, opw) = pair(padding, "padding", 0), pair(output_padding, "output_padding", 0)
    H_out, W_out = np.shape(output)[-2:]
    before_h, before_w = effective_kernel(kh, dh) - 1 - ph, effective_kernel(kw, dw) - 1 - pw
    Hp, Wp = H_out + effective_kernel(kh, dh) - 1, W_out + effective_kernel(kw, dw) - 1
    check_shape((C, Hp, Wp), "spread input")
    rows = _spread_index(H, sh, before_h, Hp)
    cols = _spread_index(W, sw, before_w, Wp)
    zero = Fraction(0) if exact else 0.0
    prepared = np.full((C, Hp, Wp), zero, dtype=object if exact else np.float64)
    for r in np.flatnonzero(rows >= 0):
        for c in np.flatnonzero(cols >= 0):
            prepared[:, r, c] = x3[:, rows[r], cols[c]]
    b = bias_vector(bias, C_out, exact)
    has_bias = any(v != 0 for v in b)

    def cell(index: tuple[int, ...]) -> Cell:
        return _conv_cell(prepared, filters, b, has_bias, groups, (1, 1), (dh, dw), None, None,
                          exact, index)

    notes = [f"transposed convolution as a correlation: the input is spread by the stride "
             f"({sh - 1} zero row(s) and {sw - 1} zero column(s) between neighbours), padded by "
             f"d·(k−1)−p = {before_h} row(s) / {before_w} column(s) on each side"
             + (f" plus output_padding {oph}/{opw} at the bottom/right" if oph or opw else "")
             + ", and correlated with the kernel rotated by 180°"]
    if min(before_h, before_w) < 0:
        notes.append("a negative padding crops the spread input")
    params = {"stride": (sh, sw), "padding": (ph, pw), "output_padding": (oph, opw),
              "dilation": (dh, dw), "groups": groups, "bias": b if has_bias else 0}
    return Trace(op="conv_transpose2d", params=params, output=output, input=x, cell_fn=cell,
                 cell_shape=(C_out, H_out, W_out), prepared=prepared, kernel=filters,
                 notes=notes, exact=exact)


def _vector_act(act: str, output: np.ndarray, slope: Any) -> np.ndarray:
    fn = ops.get_activation(act)
    return fn(output, slope) if act == "leaky_relu" else fn(output)

