r"""LaTeX rendering, laid out as an answer key: ``bmatrix`` matrices, one ``align*`` per cell.

The fragment compiles inside any document that loads ``amsmath``; ``standalone()`` wraps
it in a complete ``article``. Matrices wider than 10 columns (amsmath's ``MaxMatrixCols``)
use an ``array`` in brackets instead of ``bmatrix``.
"""

from __future__ import annotations

from typing import Any

from cnnlab.steps.blocks import Block, Equation, Group, Heading, Matrices, MatrixText, Para
from cnnlab.steps.numbers import format_number

__all__ = ["LatexFormatter", "escape", "standalone"]

_MAX_BMATRIX_COLS = 10  # amsmath's default MaxMatrixCols

_UNICODE = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "%": r"\%", "&": r"\&",
    "#": r"\#", "$": r"{\char36}", "^": r"\^{}", "~": r"\~{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
    "°": r"$^\circ$", "−": "-", "·": r"$\cdot$", "∞": r"$\infty$", "Σ": r"$\Sigma$",
    "⊙": r"$\odot$", "×": r"$\times$", "σ": r"$\sigma$", "≤": r"$\le$", "≥": r"$\ge$",
    "→": r"$\rightarrow$", "…": r"\dots{}", "⌊": r"$\lfloor$", "⌋": r"$\rfloor$",
    "⌈": r"$\lceil$", "⌉": r"$\rceil$", "√": r"$\surd$", "ε": r"$\varepsilon$",
    "–": "--", "≈": r"$\approx$", "⋮": r"$\vdots$",
}


def escape(text: str) -> str:
    """Prose for LaTeX: special characters escaped, the few Unicode symbols we use as math.

    >>> escape("100% of x_1 · 2")
    '100\\\\% of x\\\\_1 $\\\\cdot$ 2'
    """
    return "".join(_UNICODE.get(ch, ch) for ch in text)


# Fonts that are outlines everywhere, so pdflatex never generates bitmaps (mktexpk): Latin
# Modern in T1 where the lmodern package is installed, else Computer Modern in its default
# OT1 encoding (Type 1 outlines ship with texlive-base). Both print escape()'s output right.
_FONTS = r"\IfFileExists{lmodern.sty}{\usepackage[T1]{fontenc}\usepackage{lmodern}}{}"


def standalone(body: str, title: str | None = None) -> str:
    """A complete document around a fragment (article, amsmath, amssymb)."""
    head = [r"\documentclass{article}", r"\usepackage{amsmath}", r"\usepackage{amssymb}",
            r"\usepackage{graphicx}", _FONTS, r"\begin{document}"]
    if title:
        head.append(rf"\section*{{{escape(title)}}}")
    return "\n".join(head) + "\n" + body.rstrip("\n") + "\n\\end{document}\n"


class LatexFormatter:
    """Writes numbers, expressions and blocks as LaTeX (math mode inside ``align*``)."""

    name = "latex"
    times = r" \cdot "
    hdots = r"\cdots"
    vdots = r"\vdots"
    OPS = {"⊙": r"\odot", "=": "=", ",": r",\quad", "→": r"\rightarrow", "+": "+"}
    FUNCTIONS = {"sigmoid": r"\sigma", "relu": r"\operatorname{ReLU}", "tanh": r"\tanh",
                 "leaky_relu": r"\operatorname{LeakyReLU}", "max": r"\max"}

    def __init__(self, round: int | None = None):
        self.round = round

    # -- numbers and expressions -------------------------------------------------
    def num(self, v: Any, paren: bool = False) -> str:
        text = format_number(v, self.round, "latex")
        return rf"\left({text}\right)" if paren and text.startswith("-") else text

    def product(self, a: Any, b: Any) -> str:
        return f"{self.num(a, paren=True)}{self.times}{self.num(b, paren=True)}"

    def plus(self, terms: list[str]) -> str:
        out = []
        for i, t in enumerate(terms):
            out.append(rf"\left({t}\right)" if i and t.startswith("-") else t)
        return " + ".join(out)

    def frac(self, a: str, b: str) -> str:
        return rf"\frac{{{a}}}{{{b}}}"

    def call(self, fn: str, arg: str) -> str:
        name = self.FUNCTIONS.get(fn) or r"\operatorname{" + escape(fn) + "}"
        return rf"{name}\left({arg}\right)"

    def exp(self, arg: str) -> str:
        return f"e^{{{arg}}}"

    def index(self, name: str, idx: tuple[int, ...]) -> str:
        return f"{name}_{{{','.join(str(i + 1) for i in idx)}}}" if idx else name

    def vector(self, values: Any) -> str:
        return self.matrix([[self.num(v) for v in values]])

    def sym(self, name: str) -> str:
        return {"sum": r"\Sigma"}.get(name, rf"\text{{{escape(name)}}}")

    def words(self, text: str) -> str:
        return rf"\text{{{escape(text)}}}"

    # -- blocks -----------------------------------------------------------------
    def matrix(self, cells: MatrixText) -> str:
        ncols = len(cells[0]) if cells else 0
        body = r" \\ ".join(" & ".join(row) for row in cells)
        if ncols > _MAX_BMATRIX_COLS:
            return rf"\left[\begin{{array}}{{{'r' * ncols}}} {body} \end{{array}}\right]"
        return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"

    def matrices(self, block: Matrices) -> str:
        parts = []
        for n, (label, cells) in enumerate(block.items):
            m = self.matrix(cells)
            parts.append(rf"\underset{{\text{{{escape(label)}}}}}{{{m}}}" if label else m)
            if n < len(block.ops):
                parts.append(self.OPS.get(block.ops[n], block.ops[n]))
        body = " ".join(parts)
        return f"{block.lhs} &= {body}" if block.lhs else f"& {body}"

    def equation(self, block: Equation) -> str:
        rhs = " = ".join(block.rhs)
        return f"{block.lhs} &= {rhs}" if block.lhs else f"&= {rhs}"

    def line(self, item: Matrices | Equation | Para) -> str:
        if isinstance(item, Matrices):
            return self.matrices(item)
        if isinstance(item, Equation):
            return self.equation(item)
        return rf"& \text{{{escape(item.text)}}}"

    def render(self, blocks: list[Block]) -> str:
        out: list[str] = []
        for block in blocks:
            if isinstance(block, Heading):
                out += [rf"\subsection*{{{escape(block.text)}}}", ""]
            elif isinstance(block, Para):
                out += [escape(block.text), ""]
            elif isinstance(block, Group):
                lines = [self.line(item) for item in block.lines]
                out += [r"\begin{align*}", " \\\\\n".join(lines), r"\end{align*}", ""]
        return "\n".join(out).strip("\n") + "\n"

    def value(self, cells: MatrixText) -> str:
        return self.matrix(cells)
