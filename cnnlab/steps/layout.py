"""From a :class:`Trace` to the blocks of a worked solution, the same for every format.

One layout per kind of op (``LAYOUTS``) builds blocks of :mod:`cnnlab.doc` from the
trace's numbers (grids, expressions, prose); a writer of :mod:`cnnlab.doc` then writes
them as text, Markdown, LaTeX or HTML. Nothing here knows which format it is in.
Positions are counted from 1 in rendered solutions, as on a problem sheet.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import Any, Callable

import numpy as np

from cnnlab.doc import DOCUMENT_FORMATS
from cnnlab import doc
from cnnlab.doc.blocks import Block, Formula, Heading, Matrices, Paragraph, StepList, TensorGrid
from cnnlab.doc.expr import (Approx, Args, Call, ChannelSum, Exp, Frac, Index, Num, Paren, Product, Round,
                             Seq, Sub, Sum, Sym, Vector)
from cnnlab.errors import UsageError
from cnnlab.steps.scalar import FORMULAS
from cnnlab.steps.trace import DEFAULT_MAX_CELLS, Cell, Trace

__all__ = ["FORMATS", "trace_blocks", "render_trace", "render_value", "formatter", "matrix_text",
           "MAX_SIDE_SHOWN"]

FORMATS = DOCUMENT_FORMATS

MAX_SIDE_SHOWN = 24  # rows/columns of a matrix shown in a worked solution before "…"
MAX_CHANNELS_SHOWN = 8  # channels (or filters × channels) shown before a count
MAX_TERMS = 12  # products written out one by one; more are summed per channel

TITLES = {"conv2d": "Convolution", "conv_transpose2d": "Transposed convolution",
          "maxpool2d": "Max pooling", "avgpool2d": "Average pooling", "relu": "ReLU",
          "sigmoid": "Sigmoid", "tanh": "Tanh", "leaky_relu": "Leaky ReLU", "softmax": "Softmax"}


def formatter(fmt: str, round: int | None = None):
    """The writer of ``fmt`` ("text", "markdown", "latex", "html"); a UsageError for others."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    return doc.writer(fmt, round)


def matrix_text(fmt, a: Any, limit: int | None = MAX_SIDE_SHOWN):
    """A 0/1/2-D array as ``fmt``'s formatted entries, cut to ``limit`` rows and columns."""
    return fmt.grid_cells(TensorGrid(a, limit=limit))


# -- matrices ---------------------------------------------------------------------
def _cut_note(what: str, shape: tuple[int, ...], limit: int = MAX_SIDE_SHOWN) -> list[Paragraph]:
    H, W = shape[-2:]
    if H <= limit and W <= limit:
        return []
    return [Paragraph(f"{what}: showing {min(H, limit)} of {H} rows and {min(W, limit)} of {W} columns")]


def tensor_items(label: str, a: np.ndarray, roles: dict | None = None
                 ) -> tuple[list[tuple[str, TensorGrid]], list[Paragraph]]:
    """(label, grid) per channel of a 2-D, 3-D or 4-D tensor, at most MAX_CHANNELS_SHOWN.

    ``roles``: (row, col) -> roles, the same for every channel (padding)."""
    a = np.asarray(a) if not isinstance(a, np.ndarray) else a
    roles = roles or {}
    if a.ndim <= 2:
        return [(label, TensorGrid(a, roles, MAX_SIDE_SHOWN))], _cut_note(label, a.shape) if a.ndim == 2 else []
    slices = list(np.ndindex(*a.shape[:-2]))
    if len(slices) == 1:
        return [(label, TensorGrid(a.reshape(a.shape[-2:]), roles, MAX_SIDE_SHOWN))], _cut_note(label, a.shape)
    items = []
    for idx in slices[:MAX_CHANNELS_SHOWN]:
        name = f"{label}, channel {idx[0] + 1}" if a.ndim == 3 else f"{label} {idx[0] + 1}, channel {idx[1] + 1}"
        items.append((name, TensorGrid(a[idx], roles, MAX_SIDE_SHOWN)))
    notes = _cut_note(label, a.shape)
    if len(slices) > MAX_CHANNELS_SHOWN:
        notes.append(Paragraph(f"{label}: showing {MAX_CHANNELS_SHOWN} of {len(slices)} channel slices"))
    return items, notes


def _given(pairs: list[tuple[str, np.ndarray, dict]]) -> list[Block]:
    """The given matrices: small 2-D ones side by side, others one a line."""
    lines: list = []
    notes: list[Paragraph] = []
    row: list = []
    for label, a, roles in pairs:
        items, cut = tensor_items(label, a, roles)
        notes += cut
        if len(items) == 1 and not cut:
            row += items
        else:
            lines += [Matrices([item]) for item in items]
    if row:
        lines.insert(0, Matrices(row, [","] * (len(row) - 1)))
    return [StepList(lines), *notes]


def _padding_roles(trace: Trace) -> dict:
    """(row, col) of the prepared input -> {"padding"} where no input value is."""
    _, Hp, Wp = trace.prepared.shape
    H, W = np.shape(trace.input)[-2:]
    if (Hp, Wp) == (H, W) or "padding_resolved" not in trace.params:
        return {}
    top, _, left, _ = trace.params["padding_resolved"] if trace.op == "conv2d" else (
        trace.params["padding"][0], 0, trace.params["padding"][1], 0)
    return {(i, j): {"padding"} for i in range(Hp) for j in range(Wp)
            if not (top <= i < top + H and left <= j < left + W)}


def _display_index(trace: Trace, index: tuple[int, ...]) -> tuple[int, ...]:
    return index[1:] if len(index) == 3 and np.ndim(trace.output) == 2 else index


def _positions(start: int, count: int, step: int) -> str:
    if count == 1:
        return str(start + 1)
    if step == 1:
        return f"{start + 1}–{start + count}"
    return ", ".join(str(start + 1 + n * step) for n in range(count))


def _where(cell: Cell, shape: tuple[int, int], step: tuple[int, int], what: str) -> str:
    r0, c0 = cell.origin
    kh, kw = shape
    rows = ("row " if kh == 1 else "rows ") + _positions(r0, kh, step[0])
    cols = ("column " if kw == 1 else "columns ") + _positions(c0, kw, step[1])
    return f"{rows}, {cols} of the {what}"


def _window_frame(trace: Trace, cell: Cell, channel: int, shape: tuple[int, int],
                  dilation: tuple[int, int], padding: dict) -> TensorGrid:
    """The prepared input of ``channel`` with the cell's window marked (for the HTML writer)."""
    r0, c0 = cell.origin
    roles = {k: set(v) for k, v in padding.items()}
    for a in range(shape[0]):
        for b in range(shape[1]):
            roles.setdefault((r0 + a * dilation[0], c0 + b * dilation[1]), set()).add("window")
    return TensorGrid(trace.prepared[channel], roles, MAX_SIDE_SHOWN)


def _selected(trace: Trace, cell: Cell) -> TensorGrid:
    """The output channel of ``cell`` with the cell marked (for the HTML writer)."""
    out = np.asarray(trace.output)
    plane = out if out.ndim == 2 else out[cell.index[0]]  # (H_out, W_out)
    return TensorGrid(plane, {tuple(cell.index[-2:]): {"selected"}}, MAX_SIDE_SHOWN)


def _plain_sum(values) -> Any:
    total: Any = 0
    for v in values:
        total = total + v
    return total


def _output_size(trace: Trace, kh: int, kw: int) -> StepList:
    """H_out and W_out by the formula of docs/conventions.md, numbers filled in."""
    p = trace.params
    H, W = np.shape(trace.input)[-2:]
    if "padding_resolved" in p:
        top, bottom, left, right = p["padding_resolved"]
    else:
        ph, pw = p["padding"]
        top = bottom = ph
        left = right = pw
    (sh, sw), (dh, dw) = p["stride"], p["dilation"]
    H_out, W_out = np.shape(trace.output)[-2:]
    ceil = bool(p.get("ceil_mode"))
    lines: list = []
    for name, n, a, b, k, d, s, out in (("H", H, top, bottom, kh, dh, sh, H_out),
                                          ("W", W, left, right, kw, dw, sw, W_out)):
        span = Paren(Seq((str(k), "-", "1")))
        if d != 1:
            span = Product(Seq((str(d),)), span)
        inner = Frac(Seq((str(n), "+", str(a), "+", str(b), "-", span, "-", "1")), str(s))
        lines.append(Formula(Sub(name, "out"), [Seq((Round(inner, up=ceil), "+", "1")), str(out)]))
    if ceil:
        lines.append(Paragraph("(a window that would start in the bottom/right padding is dropped)"))
    return StepList(lines)


def _cell_ref(trace: Trace, cell: Cell) -> Index:
    return Index("O", _display_index(trace, cell.index))


# -- layouts per op -------------------------------------------------------------------
def _conv_layout(trace: Trace, max_cells: int | None, round: int | None) -> list[Block]:
    p = trace.params
    C_out, per_group, kh, kw = trace.kernel.shape
    C, Hp, Wp = trace.prepared.shape
    transposed = trace.op == "conv_transpose2d"
    blocks: list[Block] = [Heading(TITLES[trace.op] + ("" if transposed else (
        " (true convolution: kernel flipped)" if p["flip"] else " (cross-correlation)")))]
    blocks += [Paragraph(n) for n in trace.notes]
    x_shape = "×".join(map(str, np.shape(trace.input)))
    (sh, sw), (dh, dw) = p["stride"], p["dilation"]
    if transposed:
        settings = (f"input {x_shape}, kernel {kh}×{kw}, stride {sh}×{sw}, padding "
                    f"{p['padding'][0]}×{p['padding'][1]}, output padding "
                    f"{p['output_padding'][0]}×{p['output_padding'][1]}, dilation {dh}×{dw}, groups {p['groups']}")
    else:
        t, b, l, r = p["padding_resolved"]
        given = p["padding"] if isinstance(p["padding"], str) else None
        settings = (f"input {x_shape}, kernel {kh}×{kw}, stride {sh}×{sw}, padding "
                    + (f"'{given}' = " if given else "")
                    + f"top {t}, bottom {b}, left {l}, right {r} ({p['padding_mode']}), "
                    f"dilation {dh}×{dw}, groups {p['groups']}")
    parts: list = [settings]
    if isinstance(p.get("bias"), np.ndarray):
        parts.append(", bias ")
        for n, v in enumerate(p["bias"]):
            parts += ([", "] if n else []) + [Num(v)]
    tail = (f", then {p['act']}" if p.get("act") else "") + ". Rows and columns are counted from 1."
    blocks.append(Paragraph(parts + [tail]))
    if not transposed:
        blocks.append(_output_size(trace, kh, kw))
    prepared_label = "spread and padded input" if transposed else (
        "padded input" if (Hp, Wp) != np.shape(trace.input)[-2:] else "input")
    kernel_label = "kernel rotated 180°" if (transposed or p.get("flip")) else "kernel"
    padding = _padding_roles(trace) if not transposed else {}
    blocks += _given([(prepared_label, trace.prepared if C > 1 else trace.prepared[0], padding),
                      (kernel_label, trace.kernel if trace.kernel.shape[:2] != (1, 1) else trace.kernel[0, 0], {})])
    blocks.append(Heading("Cells"))
    for cell in trace.cells(max_cells):
        blocks.append(_conv_cell(trace, cell, prepared_label, padding))
    blocks += _omitted(trace, max_cells)
    blocks += _result(trace)
    return blocks


def _conv_cell(trace: Trace, cell: Cell, where: str, padding: dict) -> StepList:
    p = trace.params
    per_group, kh, kw = cell.window.shape
    groups = p.get("groups", 1)
    # input channels are numbered as in the input: group g's windows start at channel g·C_in/groups
    first = cell.index[0] // (trace.kernel.shape[0] // groups) * per_group if groups > 1 else 0
    lhs = _cell_ref(trace, cell)
    lines: list = [Paragraph([lhs, ": " + _where(cell, (kh, kw), p["dilation"], where)
                              + (f", channel {first + 1}" if per_group == 1 and groups > 1 else "")])]
    channel_sums = []
    for c in range(per_group):
        suffix = f", channel {first + c + 1}" if per_group > 1 else ""
        frame = _window_frame(trace, cell, first + c, (kh, kw), p["dilation"], padding)
        output = _selected(trace, cell) if c == per_group - 1 else None
        lines.append(Matrices([(f"window{suffix}", TensorGrid(cell.window[c], limit=MAX_SIDE_SHOWN, frame=frame,
                                                              caption="where the window is")),
                               ("weights", TensorGrid(cell.weights[c], limit=MAX_SIDE_SHOWN)),
                               ("products", TensorGrid(cell.products[c], limit=MAX_SIDE_SHOWN, frame=output,
                                                       caption="the output cell"))], ["⊙", "="]))
        channel_sums.append(_plain_sum(cell.products[c].flat))
        if per_group > 1:
            terms = tuple(Product(a, b) for a, b in zip(cell.window[c].flat, cell.weights[c].flat))
            rhs = [Sum(terms)] if len(terms) <= MAX_TERMS else []
            lines.append(Formula(ChannelSum(first + c + 1), rhs + [Num(channel_sums[-1])]))
    if per_group == 1 and kh * kw <= MAX_TERMS:
        terms = [Product(a, b) for a, b in zip(cell.window[0].flat, cell.weights[0].flat)]
    else:
        terms = [Num(s) for s in channel_sums]
    chain: list = [Sum(tuple(terms + ([Num(cell.bias)] if cell.bias is not None else [])))]
    if cell.bias is not None and len(terms) > 1:
        chain.append(Sum((Num(cell.total), Num(cell.bias))))
    chain.append(Num(cell.pre_activation if cell.pre_activation is not None else cell.total))
    if cell.activation:  # O = act(Σ + b) = ... = act(pre) = value
        chain = [Call(cell.activation, e) for e in chain] + [Num(cell.value)]
    lines.append(Formula(lhs, chain))
    return StepList(lines)


def _pool_layout(trace: Trace, max_cells: int | None, round: int | None) -> list[Block]:
    p = trace.params
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = p["size"], p["stride"], p["padding"], p["dilation"]
    blocks: list[Block] = [Heading(TITLES[trace.op])]
    x_shape = "×".join(map(str, np.shape(trace.input)))
    settings = (f"input {x_shape}, window {kh}×{kw}, stride {sh}×{sw}, padding {ph}×{pw}"
                + (f", dilation {dh}×{dw}" if (dh, dw) != (1, 1) else "")
                + (", ceil mode" if p["ceil_mode"] else "")
                + ("" if p.get("count_include_pad", True) else ", padding not counted"))
    blocks.append(Paragraph(settings + ". Rows and columns are counted from 1."))
    blocks += [Paragraph(n) for n in trace.notes]
    blocks.append(_output_size(trace, kh, kw))
    C, Hp, Wp = trace.prepared.shape
    label = "padded input" if (ph or pw) else "input"
    padding = {(i, j): {"padding"} for i in range(Hp) for j in range(Wp)
               if not (ph <= i < Hp - ph and pw <= j < Wp - pw)} if (ph or pw) else {}
    blocks += _given([(label, trace.prepared if C > 1 else trace.prepared[0], padding)])
    blocks.append(Heading("Cells"))
    for cell in trace.cells(max_cells):
        lhs = _cell_ref(trace, cell)
        where = _where(cell, cell.window.shape, (dh, dw), label)
        if C > 1:
            where += f", channel {cell.index[0] + 1}"
        values = [v for v, ok in zip(cell.window.flat, cell.valid.flat) if ok]
        frame = _window_frame(trace, cell, cell.index[0] if C > 1 else 0, cell.window.shape, (dh, dw), padding)
        lines: list = [Paragraph([lhs, ": " + where]),
                       Matrices([("window", TensorGrid(cell.window, limit=MAX_SIDE_SHOWN, frame=frame,
                                                       caption="where the window is"))])]
        if cell.kind == "max":
            rhs: list = [Call("max", Args(tuple(values))), Num(cell.value)]
        else:
            rhs = [Frac(Sum(tuple(Num(v) for v in values)), str(cell.divisor))]
            if len(values) > 1:
                rhs.append(Frac(Num(cell.total), str(cell.divisor)))
            rhs.append(Num(cell.value))
            if isinstance(cell.value, Fraction) and cell.value.denominator != 1 and round is None:
                decimal = float(cell.value)
                if Fraction(repr(decimal)) == cell.value:  # 5/8 = 0.625, but 1/3 ≈ 0.3333333333
                    rhs.append(Num(decimal))
                else:
                    rhs[-1] = Approx(rhs[-1], Num(decimal))
        lines.append(Formula(lhs, rhs))
        blocks.append(StepList(lines))
    blocks += _omitted(trace, max_cells)
    blocks += _result(trace)
    return blocks


def _act_layout(trace: Trace, max_cells: int | None, round: int | None) -> list[Block]:
    name = trace.params["fn"]
    blocks: list[Block] = [Heading(TITLES[trace.op])]
    formula: list = [f"{name}(x) = {FORMULAS[name]}"]
    if name == "leaky_relu":
        formula += [", slope ", Num(trace.params["slope"])]
    blocks.append(Paragraph(formula + [", element by element. Positions are counted from 1."]))
    blocks += [Paragraph(n) for n in trace.notes]
    blocks += _given([("input", trace.input, {})]) if np.ndim(trace.input) else []
    blocks.append(Heading("Cells"))
    lines: list = []
    for cell in trace.cells(max_cells):
        x = cell.total
        rhs: list = [Call(name, Num(x))]
        if name == "sigmoid":
            rhs.append(Frac("1", Seq(("1", "+", Exp(Num(-x))))))
        elif name == "leaky_relu" and not x > 0:
            rhs.append(Product(trace.params["slope"], x))
        rhs.append(Num(cell.value))
        lines.append(Formula(Index("O", cell.index) if cell.index else "y", rhs))
    blocks.append(StepList(lines))
    blocks += _omitted(trace, max_cells)
    blocks += _result(trace)
    return blocks


def _softmax_layout(trace: Trace, max_cells: int | None, round: int | None) -> list[Block]:
    blocks: list[Block] = [Heading("Softmax"),
                           Paragraph("p_i = e^(x_i) / Σ_j e^(x_j). Positions are counted from 1.")]
    blocks += [Paragraph(n) for n in trace.notes]
    blocks += _given([("input", trace.input, {})])
    blocks.append(Heading("Cells"))
    ndim = np.ndim(trace.input)
    for cell in trace.cells(max_cells):
        e = cell.extra
        where = {1: "", 2: f"row {cell.index[0] + 1}" if cell.index else "",
                 3: "position (" + ", ".join(str(i + 1) for i in _display_index(trace, cell.index)) + ")"}[ndim]
        shift = e.get("shift")
        x_name = "x - max(x)" if shift else "x"
        lines: list = [Paragraph(where)] if where else []
        if shift:
            lines.append(Paragraph(["shifted by max(x) = ", Num(shift), " so that e^x does not overflow"]))
        lines += [Formula("x", [Vector(tuple(e["x"]))]),
                  Formula(Exp(x_name), [Vector(tuple(e["exp"]))]),
                  Formula(Sym("sum"), [Sum(tuple(Num(v) for v in e["exp"])), Num(e["sum"])]),
                  Formula("p", [Vector(tuple(e["p"]))])]
        blocks.append(StepList(lines))
    blocks += _omitted(trace, max_cells)
    blocks += _result(trace)
    return blocks


def _omitted(trace: Trace, max_cells: int | None) -> list[Block]:
    shown = trace.shown(max_cells)
    left = trace.n_cells - shown
    if left <= 0:
        return []
    if trace.pick is not None:
        return [Paragraph(f"The other {left} cell(s) are computed the same way, each from its own window; "
                          "every value is in the result below (--steps full works out every cell).")]
    return [Paragraph(f"… {left} more cell(s) left out: {shown} of {trace.n_cells} shown "
                      "(--max-cells N shows more).")]


def _result(trace: Trace) -> list[Block]:
    out = np.asarray(trace.output)
    blocks: list[Block] = [Heading("Result")]
    if out.ndim == 0:
        return blocks + [StepList([Formula("O", [Num(out.item())])])]
    items, notes = tensor_items("O", out, {})
    for _, grid in items:
        grid.roles = {(i, j): {"output"} for i in range(out.shape[-2]) for j in range(out.shape[-1])} \
            if out.ndim >= 2 else {}
    if len(items) == 1:
        return blocks + [StepList([Matrices([("", items[0][1])], lhs="O")]), *notes]
    return blocks + [StepList([Matrices([(label, m)]) for label, m in items]), *notes]


LAYOUTS: dict[str, Callable[..., list[Block]]] = {
    "conv2d": _conv_layout, "conv_transpose2d": _conv_layout,
    "maxpool2d": _pool_layout, "avgpool2d": _pool_layout,
    "relu": _act_layout, "sigmoid": _act_layout, "tanh": _act_layout, "leaky_relu": _act_layout,
    "softmax": _softmax_layout,
}


def trace_blocks(trace: Trace, max_cells: int | None = DEFAULT_MAX_CELLS, round: int | None = None,
                 compact: bool = False) -> list[Block]:
    """The blocks of a worked solution (see :func:`render_trace` for the arguments)."""
    if compact:
        trace = dataclasses.replace(trace, pick=trace.distinct_cells())
    return LAYOUTS[trace.op](trace, max_cells, round)


def render_trace(trace: Trace, fmt: str = "text", max_cells: int | None = DEFAULT_MAX_CELLS,
                 round: int | None = None, compact: bool = False) -> str:
    """A worked solution as plain text, Markdown, a LaTeX fragment (amsmath) or HTML.

    Args:
        trace: from one of the ``trace_*`` functions.
        fmt: "text", "markdown", "latex" or "html".
        max_cells: output cells worked out (the rest are counted); None for all.
        round: decimals shown (half away from zero); None shows exact/trimmed values.
        compact: work out one cell per distinct computation (the first of each output
            channel) and let the result matrix tabulate the rest; ``max_cells`` is ignored.
    """
    return formatter(fmt, round).render(trace_blocks(trace, max_cells, round, compact))


def render_value(value: Any, fmt: str = "text", round: int | None = None) -> str:
    """One value for a solution: a number, vector, matrix, C×H×W tensor, dict, bool or string.

    LaTeX gives math-mode content (wrap it in ``\\[ \\]``); text and Markdown give plain text
    (Markdown puts matrices in a fenced block).

    >>> render_value([[1, 0.5], [2, -1]])
    '[ 1  0.5 ]\\n[ 2   -1 ]'
    >>> render_value(Fraction(5, 8), "latex")
    '\\\\frac{5}{8}'
    """
    return formatter(fmt, round).write_value(value)
