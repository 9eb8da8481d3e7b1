"""Plain-text rendering of worked solutions: aligned matrices side by side, one equation a line."""

from __future__ import annotations

from typing import Any

from cnnlab.steps.blocks import Block, Equation, Group, Heading, Matrices, MatrixText, Para
from cnnlab.steps.numbers import format_number

__all__ = ["TextFormatter"]


class TextFormatter:
    """Writes numbers, expressions and blocks as plain text (UTF-8 symbols, ASCII minus)."""

    name = "text"
    times = "·"
    hdots = "…"
    vdots = "⋮"
    OPS = {"⊙": "⊙", "=": "=", ",": " ", "→": "→", "+": "+"}
    FUNCTIONS = {"sigmoid": "σ", "relu": "relu", "tanh": "tanh", "leaky_relu": "leaky_relu"}

    def __init__(self, round: int | None = None):
        self.round = round

    # -- numbers and expressions -------------------------------------------------
    def num(self, v: Any, paren: bool = False) -> str:
        """One number; in parentheses when negative and ``paren`` (a factor, a later term)."""
        text = format_number(v, self.round, self.name)
        return f"({text})" if paren and text.startswith("-") else text

    def product(self, a: Any, b: Any) -> str:
        return f"{self.num(a, paren=True)}{self.times}{self.num(b, paren=True)}"

    def plus(self, terms: list[str]) -> str:
        """Terms joined by +, a negative term after the first in parentheses."""
        out = []
        for i, t in enumerate(terms):
            out.append(f"({t})" if i and t.startswith("-") else t)
        return " + ".join(out)

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

    def vector(self, values: Any) -> str:
        return "[" + ", ".join(self.num(v) for v in values) + "]"

    def sym(self, name: str) -> str:
        """A named symbol: "sum", "max", "bias"."""
        return {"sum": "Σ"}.get(name, name)

    def words(self, text: str) -> str:
        return text

    # -- blocks -----------------------------------------------------------------
    def matrix_lines(self, cells: MatrixText) -> list[str]:
        widths = [max(len(row[j]) for row in cells) for j in range(len(cells[0]))] if cells else []
        return ["[ " + "  ".join(v.rjust(w) for v, w in zip(row, widths)) + " ]" for row in cells]

    def matrices(self, block: Matrices) -> list[str]:
        has_labels = any(label for label, _ in block.items)
        columns: list[tuple[bool, list[str]]] = []  # (is an operator, lines)
        if block.lhs:
            columns.append((True, [f"{block.lhs} ="]))
        for n, (label, cells) in enumerate(block.items):
            lines = self.matrix_lines(cells)
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

    def equation(self, block: Equation) -> str:
        return " = ".join([block.lhs, *block.rhs]) if block.lhs else " = ".join(block.rhs)

    def line(self, item: Matrices | Equation | Para) -> list[str]:
        if isinstance(item, Matrices):
            return self.matrices(item)
        if isinstance(item, Equation):
            return [self.equation(item)]
        return [item.text]

    def render(self, blocks: list[Block]) -> str:
        out: list[str] = []
        for block in blocks:
            if isinstance(block, Heading):
                out += ["", block.text, "-" * len(block.text)] if out else [block.text, "=" * len(block.text)]
            elif isinstance(block, Para):
                out.append(block.text)
            elif isinstance(block, Group):
                out.append("")
                for item in block.lines:
                    out += self.line(item)
        return "\n".join(out).strip("\n") + "\n"

    def value(self, cells: MatrixText) -> str:
        return "\n".join(self.matrix_lines(cells))
