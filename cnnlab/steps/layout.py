"""From a :class:`Trace` to a rendered worked solution: the layout shared by every format.

One layout per kind of op (``LAYOUTS``) builds blocks with the format's primitives
(``fmt.num``, ``fmt.product``, ``fmt.frac`` ...); the format (``FORMATTERS``) then writes
the blocks. Positions are counted from 1 in rendered solutions, as on a problem sheet.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import Any, Callable

import numpy as np

from cnnlab.errors import UsageError
from cnnlab.steps.blocks import Block, Equation, Group, Heading, Matrices, MatrixText, Para
from cnnlab.steps.render_latex import LatexFormatter, escape
from cnnlab.steps.render_markdown import MarkdownFormatter
from cnnlab.steps.render_text import TextFormatter
from cnnlab.steps.trace import DEFAULT_MAX_CELLS, Cell, Trace

__all__ = ["FORMATTERS", "FORMATS", "render_trace", "render_value", "MAX_SIDE_SHOWN"]

FORMATTERS: dict[str, Callable[..., Any]] = {
    "text": TextFormatter, "markdown": MarkdownFormatter, "latex": LatexFormatter,
}
FORMATS = tuple(FORMATTERS)

MAX_SIDE_SHOWN = 24  # rows/columns of a matrix shown in a worked solution before "…"
MAX_CHANNELS_SHOWN = 8  # channels (or filters × channels) shown before a count
MAX_TERMS = 12  # products written out one by one; more are summed per channel

TITLES = {"conv2d": "Convolution", "conv_transpose2d": "Transposed convolution",
          "maxpool2d": "Max pooling", "avgpool2d": "Average pooling", "relu": "ReLU",
          "sigmoid": "Sigmoid", "tanh": "Tanh", "leaky_relu": "Leaky ReLU", "softmax": "Softmax"}


def formatter(fmt: str, round: int | None = None):
    """The formatter of ``fmt`` ("text", "markdown", "latex")."""
    try:
        return FORMATTERS[fmt](round)
    except KeyError:
        raise UsageError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}") from None


# -- matrices ---------------------------------------------------------------------
def matrix_text(fmt, a: Any, limit: int | None = MAX_SIDE_SHOWN) -> MatrixText:
    """A 0/1/2-D array as formatted entries, cut to ``limit`` rows and columns with dots."""
    a = np.asarray(a, dtype=object) if not isinstance(a, np.ndarray) else a
    if a.ndim < 2:
        a = a.reshape(1, -1)
    H, W = a.shape
    rows, cols = (H, W) if limit is None else (min(H, limit), min(W, limit))
    out = [[fmt.num(a[i, j]) for j in range(cols)] + ([fmt.hdots] if W > cols else [])
           for i in range(rows)]
    if H > rows:
        out.append([fmt.vdots] * cols + ([""] if W > cols else []))
    return out


def _cut_note(what: str, shape: tuple[int, ...], limit: int = MAX_SIDE_SHOWN) -> list[Para]:
    H, W = shape[-2:]
    if H <= limit and W <= limit:
        return []
    return [Para(f"{what}: showing {min(H, limit)} of {H} rows and {min(W, limit)} of {W} columns")]


def tensor_items(fmt, label: str, a: np.ndarray) -> tuple[list[tuple[str, MatrixText]], list[Para]]:
    """(label, matrix) per channel of a 2-D, 3-D or 4-D tensor, at most MAX_CHANNELS_SHOWN."""
    a = np.asarray(a)
    if a.ndim <= 2:
        return [(label, matrix_text(fmt, a))], _cut_note(label, a.shape) if a.ndim == 2 else []
    slices = list(np.ndindex(*a.shape[:-2]))
    if len(slices) == 1:
        return [(label, matrix_text(fmt, a.reshape(a.shape[-2:])))], _cut_note(label, a.shape)
    items = []
    for idx in slices[:MAX_CHANNELS_SHOWN]:
        if a.ndim == 3:
            name = f"{label}, channel {idx[0] + 1}"
        else:
            name = f"{label} {idx[0] + 1}, channel {idx[1] + 1}"
        items.append((name, matrix_text(fmt, a[idx])))
    notes = _cut_note(label, a.shape)
    if len(slices) > MAX_CHANNELS_SHOWN:
        notes.append(Para(f"{label}: showing {MAX_CHANNELS_SHOWN} of {len(slices)} channel slices"))
    return items, notes


def _given(fmt, pairs: list[tuple[str, np.ndarray]]) -> list[Block]:
    """The given matrices: small 2-D ones side by side, others one a line."""
    lines: list = []
    notes: list[Para] = []
    row: list[tuple[str, MatrixText]] = []
    for label, a in pairs:
        items, cut = tensor_items(fmt, label, a)
        notes += cut
        if len(items) == 1 and not cut:
            row += items
        else:
            lines += [Matrices([item]) for item in items]
    if row:
        lines.insert(0, Matrices(row, [","] * (len(row) - 1)))
    return [Group(lines), *notes]


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


def _plain_sum(values) -> Any:
    total: Any = 0
    for v in values:
        total = total + v
    return total


def _output_size(fmt, trace: Trace, kh: int, kw: int) -> Group:
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
    rounding = "ceil" if p.get("ceil_mode") else "floor"
    lines = []
    for name, n, a, b, k, d, s, out in (("H", H, top, bottom, kh, dh, sh, H_out),
                                          ("W", W, left, right, kw, dw, sw, W_out)):
        span = f"{d}{fmt.times}({k} - 1)" if d != 1 else f"({k} - 1)"
        inner = fmt.frac(f"{n} + {a} + {b} - {span} - 1", str(s))
        expr = (f"⌈{inner}⌉" if rounding == "ceil" else f"⌊{inner}⌋")
        if isinstance(fmt, LatexFormatter):
            expr = (rf"\left\lceil {inner} \right\rceil" if rounding == "ceil"
                    else rf"\left\lfloor {inner} \right\rfloor")
        lhs = rf"{name}_{{\text{{out}}}}" if isinstance(fmt, LatexFormatter) else f"{name}_out"
        lines.append(Equation(lhs, [f"{expr} + 1", str(out)]))
    if rounding == "ceil":
        lines.append(Para("(a window that would start in the bottom/right padding is dropped)"))
    return Group(lines)


# -- layouts per op -------------------------------------------------------------------
def _conv_layout(fmt, trace: Trace, max_cells: int | None) -> list[Block]:
    p = trace.params
    C_out, per_group, kh, kw = trace.kernel.shape
    C, Hp, Wp = trace.prepared.shape
    transposed = trace.op == "conv_transpose2d"
    blocks: list[Block] = [Heading(TITLES[trace.op] + ("" if transposed else (
        " (true convolution: kernel flipped)" if p["flip"] else " (cross-correlation)")))]
    blocks += [Para(n) for n in trace.notes]
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
    if isinstance(p.get("bias"), np.ndarray):
        settings += ", bias " + ", ".join(fmt.num(v) for v in p["bias"])
    if p.get("act"):
        settings += f", then {p['act']}"
    blocks.append(Para(settings + ". Rows and columns are counted from 1."))
    if not transposed:
        blocks.append(_output_size(fmt, trace, kh, kw))
    prepared_label = "spread and padded input" if transposed else (
        "padded input" if (Hp, Wp) != np.shape(trace.input)[-2:] else "input")
    kernel_label = "kernel rotated 180°" if (transposed or p.get("flip")) else "kernel"
    blocks += _given(fmt, [(prepared_label, trace.prepared if C > 1 else trace.prepared[0]),
                           (kernel_label, trace.kernel if trace.kernel.shape[:2] != (1, 1)
                            else trace.kernel[0, 0])])
    blocks.append(Heading("Cells"))
    for cell in trace.cells(max_cells):
        blocks.append(_conv_cell(fmt, trace, cell, prepared_label))
    blocks += _omitted(trace, max_cells)
    blocks += _result(fmt, trace)
    return blocks


def _conv_cell(fmt, trace: Trace, cell: Cell, where: str) -> Group:
    p = trace.params
    per_group, kh, kw = cell.window.shape
    groups = p.get("groups", 1)
    # input channels are numbered as in the input: group g's windows start at channel g·C_in/groups
    first = cell.index[0] // (trace.kernel.shape[0] // groups) * per_group if groups > 1 else 0
    lhs = fmt.index("O", _display_index(trace, cell.index))
    lines: list = [Para(f"{lhs if fmt.name != 'latex' else 'cell ' + _plain_index(cell, trace)}: "
                        + _where(cell, (kh, kw), p["dilation"], where)
                        + (f", channel {first + 1}" if per_group == 1 and groups > 1 else ""))]
    channel_sums = []
    for c in range(per_group):
        suffix = f", channel {first + c + 1}" if per_group > 1 else ""
        lines.append(Matrices([(f"window{suffix}", matrix_text(fmt, cell.window[c])),
                               ("weights", matrix_text(fmt, cell.weights[c])),
                               ("products", matrix_text(fmt, cell.products[c]))], ["⊙", "="]))
        channel_sums.append(_plain_sum(cell.products[c].flat))
        if per_group > 1:
            terms = [fmt.product(a, b) for a, b in zip(cell.window[c].flat, cell.weights[c].flat)]
            rhs = [fmt.plus(terms)] if len(terms) <= MAX_TERMS else []
            lines.append(Equation(f"{fmt.sym('sum')} channel {first + c + 1}" if fmt.name != "latex"
                                  else rf"\Sigma_{{{first + c + 1}}}", rhs + [fmt.num(channel_sums[-1])]))
    if per_group == 1 and kh * kw <= MAX_TERMS:
        terms = [fmt.product(a, b) for a, b in zip(cell.window[0].flat, cell.weights[0].flat)]
    else:
        terms = [fmt.num(s) for s in channel_sums]
    chain = [fmt.plus(terms + ([fmt.num(cell.bias)] if cell.bias is not None else []))]
    if cell.bias is not None and len(terms) > 1:
        chain.append(fmt.plus([fmt.num(cell.total), fmt.num(cell.bias)]))
    chain.append(fmt.num(cell.pre_activation if cell.pre_activation is not None else cell.total))
    if cell.activation:  # O = act(Σ + b) = ... = act(pre) = value
        chain = [fmt.call(cell.activation, e) for e in chain] + [fmt.num(cell.value)]
    rhs = _dedupe(chain)
    lines.append(Equation(lhs, rhs))
    return Group(lines)


def _plain_index(cell: Cell, trace: Trace) -> str:
    return "(" + ", ".join(str(i + 1) for i in _display_index(trace, cell.index)) + ")"


def _pool_layout(fmt, trace: Trace, max_cells: int | None) -> list[Block]:
    p = trace.params
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = p["size"], p["stride"], p["padding"], p["dilation"]
    blocks: list[Block] = [Heading(TITLES[trace.op])]
    x_shape = "×".join(map(str, np.shape(trace.input)))
    settings = (f"input {x_shape}, window {kh}×{kw}, stride {sh}×{sw}, padding {ph}×{pw}"
                + (f", dilation {dh}×{dw}" if (dh, dw) != (1, 1) else "")
                + (", ceil mode" if p["ceil_mode"] else "")
                + ("" if p.get("count_include_pad", True) else ", padding not counted"))
    blocks.append(Para(settings + ". Rows and columns are counted from 1."))
    blocks += [Para(n) for n in trace.notes]
    blocks.append(_output_size(fmt, trace, kh, kw))
    C = trace.prepared.shape[0]
    label = "padded input" if (ph or pw) else "input"
    blocks += _given(fmt, [(label, trace.prepared if C > 1 else trace.prepared[0])])
    blocks.append(Heading("Cells"))
    for cell in trace.cells(max_cells):
        lhs = fmt.index("O", _display_index(trace, cell.index))
        intro = lhs if fmt.name != "latex" else "cell " + _plain_index(cell, trace)
        where = _where(cell, cell.window.shape, (dh, dw), label)
        if C > 1:
            where += f", channel {cell.index[0] + 1}"
        values = [v for v, ok in zip(cell.window.flat, cell.valid.flat) if ok]
        lines: list = [Para(f"{intro}: {where}"),
                       Matrices([("window", matrix_text(fmt, cell.window))])]
        if cell.kind == "max":
            rhs = [fmt.call("max", ", ".join(fmt.num(v) for v in values)), fmt.num(cell.value)]
        else:
            rhs = [fmt.frac(fmt.plus([fmt.num(v) for v in values]), str(cell.divisor))]
            if len(values) > 1:
                rhs.append(fmt.frac(fmt.num(cell.total), str(cell.divisor)))
            rhs.append(fmt.num(cell.value))
            if isinstance(cell.value, Fraction) and cell.value.denominator != 1 and fmt.round is None:
                decimal, terminates = _decimal(fmt, cell.value)
                if terminates:
                    rhs.append(decimal)
                else:
                    rhs[-1] += (r" \approx " if fmt.name == "latex" else " ≈ ") + decimal
        lines.append(Equation(lhs, _dedupe(rhs)))
        blocks.append(Group(lines))
    blocks += _omitted(trace, max_cells)
    blocks += _result(fmt, trace)
    return blocks


def _decimal(fmt, v: Fraction) -> tuple[str, bool]:
    """A fraction's decimal value, and whether it is exact (5/8 = 0.625, but 1/3 ≈ 0.3333333333)."""
    f = float(v)
    return fmt.num(f), Fraction(repr(f)) == v


def _dedupe(rhs: list[str]) -> list[str]:
    out: list[str] = []
    for r in rhs:
        if not out or out[-1] != r:
            out.append(r)
    return out


def _act_layout(fmt, trace: Trace, max_cells: int | None) -> list[Block]:
    from cnnlab.steps.scalar import FORMULAS

    name = trace.params["fn"]
    blocks: list[Block] = [Heading(TITLES[trace.op])]
    formula = FORMULAS[name]
    if name == "leaky_relu":
        formula += f", slope {fmt.num(trace.params['slope'])}"
    blocks.append(Para(f"{name}(x) = {formula}, element by element. Positions are counted from 1."))
    blocks += [Para(n) for n in trace.notes]
    blocks += _given(fmt, [("input", trace.input)]) if np.ndim(trace.input) else []
    blocks.append(Heading("Cells"))
    lines: list = []
    for cell in trace.cells(max_cells):
        x = cell.total
        rhs = [fmt.call(name, fmt.num(x))]
        if name == "sigmoid":
            rhs.append(fmt.frac("1", f"1 + {fmt.exp(fmt.num(-x))}"))
        elif name == "leaky_relu" and not x > 0:
            rhs.append(fmt.product(trace.params["slope"], x))
        rhs.append(fmt.num(cell.value))
        lines.append(Equation(fmt.index("O", cell.index) if cell.index else "y", _dedupe(rhs)))
    blocks.append(Group(lines))
    blocks += _omitted(trace, max_cells)
    blocks += _result(fmt, trace)
    return blocks


def _softmax_layout(fmt, trace: Trace, max_cells: int | None) -> list[Block]:
    blocks: list[Block] = [Heading("Softmax"),
                           Para("p_i = e^(x_i) / Σ_j e^(x_j). Positions are counted from 1.")]
    blocks += [Para(n) for n in trace.notes]
    blocks += _given(fmt, [("input", trace.input)])
    blocks.append(Heading("Cells"))
    ndim = np.ndim(trace.input)
    for cell in trace.cells(max_cells):
        e = cell.extra
        where = {1: "", 2: f"row {cell.index[0] + 1}" if cell.index else "",
                 3: "position " + _plain_index(cell, trace)}[ndim]
        shift = e.get("shift")
        x_name = "x - max(x)" if shift else "x"
        lines: list = [Para(where)] if where else []
        if shift:
            lines.append(Para(f"shifted by max(x) = {fmt.num(shift)} so that e^x does not overflow"))
        lines += [Equation("x", [fmt.vector(e["x"])]),
                  Equation(fmt.exp(x_name), [fmt.vector(e["exp"])]),
                  Equation(fmt.sym("sum"), [fmt.plus([fmt.num(v) for v in e["exp"]]), fmt.num(e["sum"])]),
                  Equation("p", [fmt.vector(e["p"])])]
        blocks.append(Group(lines))
    blocks += _omitted(trace, max_cells)
    blocks += _result(fmt, trace)
    return blocks


def _omitted(trace: Trace, max_cells: int | None) -> list[Block]:
    shown = trace.shown(max_cells)
    left = trace.n_cells - shown
    if left <= 0:
        return []
    if trace.pick is not None:
        return [Para(f"The other {left} cell(s) are computed the same way, each from its own window; "
                     "every value is in the result below (--steps full works out every cell).")]
    return [Para(f"… {left} more cell(s) left out: {shown} of {trace.n_cells} shown "
                 "(--max-cells N shows more).")]


def _result(fmt, trace: Trace) -> list[Block]:
    out = np.asarray(trace.output)
    blocks: list[Block] = [Heading("Result")]
    if out.ndim == 0:
        return blocks + [Group([Equation("O", [fmt.num(out.item())])])]
    items, notes = tensor_items(fmt, "O", out)
    if len(items) == 1:
        return blocks + [Group([Matrices([("", items[0][1])], lhs="O")]), *notes]
    return blocks + [Group([Matrices([(label, m)]) for label, m in items]), *notes]


LAYOUTS: dict[str, Callable[..., list[Block]]] = {
    "conv2d": _conv_layout, "conv_transpose2d": _conv_layout,
    "maxpool2d": _pool_layout, "avgpool2d": _pool_layout,
    "relu": _act_layout, "sigmoid": _act_layout, "tanh": _act_layout, "leaky_relu": _act_layout,
    "softmax": _softmax_layout,
}


def render_trace(trace: Trace, fmt: str = "text", max_cells: int | None = DEFAULT_MAX_CELLS,
                 round: int | None = None, compact: bool = False) -> str:
    """A worked solution as plain text, Markdown or a LaTeX fragment (amsmath).

    Args:
        trace: from one of the ``trace_*`` functions.
        fmt: "text", "markdown" or "latex".
        max_cells: output cells worked out (the rest are counted); None for all.
        round: decimals shown (half away from zero); None shows exact/trimmed values.
        compact: work out one cell per distinct computation (the first of each output
            channel) and let the result matrix tabulate the rest; ``max_cells`` is ignored.
    """
    f = formatter(fmt, round)
    if compact:
        trace = dataclasses.replace(trace, pick=trace.distinct_cells())
    return f.render(LAYOUTS[trace.op](f, trace, max_cells))


def render_value(value: Any, fmt: str = "text", round: int | None = None) -> str:
    """One value for a solution: a number, vector, matrix, C×H×W tensor, dict, bool or string.

    LaTeX gives math-mode content (wrap it in ``\\[ \\]``); text and Markdown give plain text
    (Markdown puts matrices in a fenced block).

    >>> render_value([[1, 0.5], [2, -1]])
    '[ 1  0.5 ]\\n[ 2   -1 ]'
    >>> render_value(Fraction(5, 8), "latex")
    '\\\\frac{5}{8}'
    """
    f = formatter(fmt, round)
    latex = fmt == "latex"
    if isinstance(value, str):
        return rf"\text{{{escape(value)}}}" if latex else value
    if isinstance(value, (bool, np.bool_)):
        text = "true" if value else "false"
        return rf"\text{{{text}}}" if latex else text
    if isinstance(value, dict):
        rows = [(str(k), render_value(v, fmt, round)) for k, v in value.items()]
        if latex:
            body = r" \\ ".join(rf"\text{{{escape(k)}}} & {v}" for k, v in rows)
            return rf"\begin{{array}}{{ll}} {body} \end{{array}}"
        return "\n".join(f"{k}: {v}" if "\n" not in v else f"{k}:\n{v}" for k, v in rows)
    if isinstance(value, (list, tuple)) and any(isinstance(v, (dict, str)) for v in value):
        return (r",\ " if latex else "\n").join(render_value(v, fmt, round) for v in value)
    a = value if isinstance(value, np.ndarray) else np.asarray(value, dtype=object)
    if a.ndim == 0:
        return f.num(a.item())
    if a.ndim == 1:
        return f.vector(a)
    if a.ndim == 2:
        return f.value(matrix_text(f, a, limit=None))
    parts = [f.value(matrix_text(f, a[idx], limit=None)) for idx in np.ndindex(*a.shape[:-2])]
    if latex:
        return r"\left(" + r",\ ".join(parts) + r"\right)"
    return "\n".join(f"channel {n + 1}:\n{p}" for n, p in enumerate(parts))
