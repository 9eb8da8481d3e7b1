"""The plain-text writer: aligned matrices side by side, one formula a line, UTF-8 symbols."""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnlab.doc import expr as E
from cnnlab.doc.blocks import (Block, Bullets, Figure, Formula, Heading, Matrices, MatrixText, Paragraph,
                               StepList, Table, TensorGrid)
from cnnlab.doc.blocks import Code, display_cell
from cnnlab.doc.grid import as_matrix, shown
from cnnlab.doc.numbers import format_number

__all__ = ["TextWriter"]


class TextWriter:
    """Writes blocks, expressions and values as plain text (ASCII minus, ``·`` for times)."""

    name = "text"
    times = "·"
    hdots = "…"
    vdots = "⋮"
    approx = " ≈ "
    OPS = {"⊙": "⊙", "=": "=", ",": " ", "→": "→", "+": "+", "⊗": "⊗"}
    FUNCTIONS = {"sigmoid": "σ", "relu": "relu", "tanh": "tanh", "leaky_relu": "leaky_relu"}
    # the levels of headings without one (Heading.level None): the first one of the text, later ones
    AUTO_LEVELS = (1, 2)

    def __init__(self, round: int | None = None):
        self.round = round

    # -- numbers and expressions (also used directly by older callers) ---------------
    def num(self, v: Any, paren: bool = False) -> str:
        """One number; in parentheses when negative and ``paren`` (a factor, a later term)."""
        text = format_number(v, self.round, self.name)
        return self.paren(text) if paren and text.startswith("-") else text

    def paren(self, text: str) -> str:
        return f"({text})"

    def factor(self, v: Any) -> str:
        return self.num(v, paren=True) if not _is_expr(v) else self.expr(v)

    def product(self, a: Any, b: Any) -> str:
        return f"{self.factor(a)}{self.times}{self.factor(b)}"

    def plus(self, terms: list[str]) -> str:
        """Terms joined by +, a negative term after the first in parentheses."""
        return " + ".join(self.paren(t) if i and t.startswith("-") else t for i, t in enumerate(terms))

    def frac(self, a: str, b: str) -> str:
        a = f"({a})" if " " in a or "/" in a else a
        b = f"({b})" if " " in b or "/" in b else b
        return f"{a} / {b}"

    def call(self, fn: str, arg: str) -> str:
        return f"{self.FUNCTIONS.get(fn, fn)}({arg})"

    def exp(self, arg: str) -> str:
        return f"e^({arg})" if arg.startswith("-") or " " in arg else f"e^{arg}"

    def index(self, name: str, idx: tuple[int, ...]) -> str:
        """``O[1,2]``: positions counted from 1, as on a problem sheet."""
        return f"{name}[{','.join(str(i + 1) for i in idx)}]" if idx else name

    def sub(self, name: str, sub: str) -> str:
        return f"{name}_{sub}"

    def slash(self, a: str, b: str) -> str:
        """An inline fraction ``a/b`` (:attr:`cnnlab.doc.expr.Frac.inline`)."""
        return f"{a}/{b}"

    def floor(self, arg: str, spelled: bool = False) -> str:
        return f"floor({arg})" if spelled else f"⌊{arg}⌋"

    def ceil(self, arg: str, spelled: bool = False) -> str:
        return f"ceil({arg})" if spelled else f"⌈{arg}⌉"

    def var(self, name: str) -> str:
        return name

    def op(self, text: str) -> str:
        return text

    def vector(self, values: Any) -> str:
        return "[" + ", ".join(self.num(v) for v in values) + "]"

    def sym(self, name: str) -> str:
        """A named symbol: "sum" is Σ."""
        return {"sum": "Σ"}.get(name, name)

    def channel_sum(self, channel: int) -> str:
        return f"{self.sym('sum')} channel {channel}"

    def words(self, text: str) -> str:
        return text

    def expr(self, e: Any) -> str:
        """An expression of :mod:`cnnlab.doc.expr` (a ``str`` is written as it is)."""
        if isinstance(e, str):
            return e
        if not _is_expr(e):
            return self.num(e)
        return _EXPR[type(e)](self, e)

    def inline(self, parts: list) -> str:
        """Prose with maths inside it."""
        return "".join(p if isinstance(p, str) else self.expr(p) for p in parts)

    # -- grids ------------------------------------------------------------------------
    def grid_cells(self, grid: TensorGrid | MatrixText) -> MatrixText:
        """A grid's shown entries, formatted, with dots where rows/columns are cut."""
        if not isinstance(grid, TensorGrid):
            return grid
        a = as_matrix(grid.values)
        H, W = a.shape
        rows, cols = shown((H, W), grid.limit)
        out = [[self.num(a[i, j]) for j in range(cols)] + ([self.hdots] if W > cols else [])
               for i in range(rows)]
        if H > rows:
            out.append([self.vdots] * cols + ([""] if W > cols else []))
        return out

    def matrix_lines(self, cells: MatrixText) -> list[str]:
        widths = [max(len(row[j]) for row in cells) for j in range(len(cells[0]))] if cells else []
        return ["[ " + "  ".join(v.rjust(w) for v, w in zip(row, widths)) + " ]" for row in cells]

    # -- blocks -----------------------------------------------------------------------
    def matrices(self, block: Matrices) -> list[str]:
        has_labels = any(label for label, _ in block.items)
        columns: list[tuple[bool, list[str]]] = []  # (is an operator, lines)
        if block.lhs:
            columns.append((True, [f"{self.expr(block.lhs)} ="]))
        for n, (label, grid) in enumerate(block.items):
            lines = self.matrix_lines(self.grid_cells(grid))
            columns.append((False, [label, *lines] if has_labels else lines))
            if n < len(block.ops):
                columns.append((True, [self.OPS.get(block.ops[n], block.ops[n])]))
        height = max(len(lines) for _, lines in columns)
        top = 1 if has_labels else 0
        middle = top + (height - top - 1) // 2
        grid = []
        for is_op, lines in columns:
            if is_op:
                lines = [""] * middle + lines + [""] * (height - middle - 1)
            width = max(len(s) for s in lines)
            grid.append([s.ljust(width) for s in lines] + [" " * width] * (height - len(lines)))
        return ["  ".join(parts).rstrip() for parts in zip(*grid)]

    def formula_parts(self, block: Formula) -> list[str]:
        """The rendered right-hand sides, repeats next to each other written once."""
        out: list[str] = []
        for r in block.rhs:
            text = self.expr(r)
            if not out or out[-1] != text:
                out.append(text)
        return out

    def equation(self, block: Formula) -> str:
        rhs = self.formula_parts(block)
        return " = ".join([self.expr(block.lhs), *rhs]) if block.lhs else " = ".join(rhs)

    def line(self, item: Matrices | Formula | Paragraph) -> list[str]:
        if isinstance(item, Matrices):
            return self.matrices(item)
        if isinstance(item, Formula):
            return [self.equation(item)]
        return [self.inline(item.parts)]

    def table(self, block: Table) -> list[str]:
        rows = [block.header] + [[self.expr(display_cell(c)) for c in row] for row in block.rows]
        widths = [max(len(r[j]) for r in rows) for j in range(len(block.header))]
        aligns = block.aligns()
        lines = ["  ".join(c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(r, widths, aligns)).rstrip()
                 for r in rows]
        return [lines[0], "  ".join("-" * w for w in widths), *lines[1:]]

    def heading(self, block: Heading, first: bool) -> list[str]:
        """A title underlined with ``=``, a section (level 2 and below) with ``-``, a blank
        line before it unless it opens the text."""
        rule = "=" if block.depth(first, self.AUTO_LEVELS) <= 1 else "-"
        return ([] if first else [""]) + [block.text, rule * len(block.text)]

    def bullets(self, block: Bullets) -> list[str]:
        return [self.inline(item if isinstance(item, list) else [item]) for item in block.items]

    def render(self, blocks: list[Block]) -> str:
        out: list[str] = []
        for block in blocks:
            if isinstance(block, Heading):
                out += self.heading(block, first=not out)
            elif isinstance(block, Paragraph):
                out.append(self.inline(block.parts))
            elif isinstance(block, StepList):
                out.append("")
                for item in block.lines:
                    out += self.line(item)
            elif isinstance(block, Table):
                out += ["", *self.table(block), *([block.caption] if block.caption else [])]
            elif isinstance(block, Bullets):
                out += ["", *self.bullets(block)]
            elif isinstance(block, (Matrices, Formula)):  # one line of maths on its own (display)
                out += ["", *self.line(block)]
            elif isinstance(block, Figure):
                out.append(f"[figure: {block.path}] {block.caption}".rstrip())
            elif isinstance(block, Code):
                out += ["", *block.text.rstrip("\n").splitlines()]
        return "\n".join(out).strip("\n") + "\n"

    # -- single values (a problem part's answer) --------------------------------------
    def value(self, cells: MatrixText) -> str:
        return "\n".join(self.matrix_lines(cells))

    def text_value(self, text: str) -> str:
        return text

    def bool_value(self, flag: bool) -> str:
        return "true" if flag else "false"

    def dict_value(self, rows: list[tuple[str, str]]) -> str:
        return "\n".join(f"{k}: {v}" if "\n" not in v else f"{k}:\n{v}" for k, v in rows)

    def list_value(self, parts: list[str]) -> str:
        return "\n".join(parts)

    def channels_value(self, parts: list[str]) -> str:
        return "\n".join(f"channel {n + 1}:\n{p}" for n, p in enumerate(parts))

    def result_value(self, value: Any) -> str:
        """A command's lone result (no worked steps), as ``cnnlab conv`` prints it."""
        return self.write_value(value) + "\n"

    def write_value(self, value: Any) -> str:
        """One value: a number, vector, matrix, C×H×W tensor, dict, bool or string."""
        if isinstance(value, str):
            return self.text_value(value)
        if isinstance(value, (bool, np.bool_)):
            return self.bool_value(bool(value))
        if isinstance(value, dict):
            return self.dict_value([(str(k), self.write_value(v)) for k, v in value.items()])
        if isinstance(value, (list, tuple)) and any(isinstance(v, (dict, str)) for v in value):
            return self.list_value([self.write_value(v) for v in value])
        a = value if isinstance(value, np.ndarray) else np.asarray(value, dtype=object)
        if a.ndim == 0:
            return self.num(a.item())
        if a.ndim == 1:
            return self.vector(a)
        if a.ndim == 2:
            return self.value(self.grid_cells(TensorGrid(a, limit=None)))
        return self.channels_value([self.value(self.grid_cells(TensorGrid(a[idx], limit=None)))
                                    for idx in np.ndindex(*a.shape[:-2])])


def _is_expr(e: Any) -> bool:
    return type(e) in _EXPR


_EXPR = {
    E.Num: lambda w, e: w.num(e.value, e.paren),
    E.Product: lambda w, e: w.product(e.a, e.b),
    E.Sum: lambda w, e: w.plus([w.expr(t) for t in e.terms]),
    E.Frac: lambda w, e: (w.slash if e.inline else w.frac)(w.expr(e.num), w.expr(e.den)),
    E.Call: lambda w, e: w.call(e.fn, w.expr(e.arg)),
    E.Exp: lambda w, e: w.exp(w.expr(e.arg)),
    E.Index: lambda w, e: w.index(e.name, e.idx),
    E.Sub: lambda w, e: w.sub(e.name, e.sub),
    E.Round: lambda w, e: (w.ceil if e.up else w.floor)(w.expr(e.arg), e.spelled),
    E.Sym: lambda w, e: w.sym(e.name),
    E.Seq: lambda w, e: e.sep.join(w.expr(p) for p in e.parts),
    E.Paren: lambda w, e: f"({w.expr(e.arg)})",
    E.Vector: lambda w, e: w.vector(e.values),
    E.Args: lambda w, e: ", ".join(w.num(v) for v in e.values),
    E.Approx: lambda w, e: w.expr(e.a) + w.approx + w.expr(e.b),
    E.Words: lambda w, e: w.words(e.text),
    E.ChannelSum: lambda w, e: w.channel_sum(e.channel),
    E.Var: lambda w, e: w.var(e.name),
    E.Op: lambda w, e: w.op(e.text),
}
