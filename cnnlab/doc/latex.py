r"""The LaTeX writer: an answer-key fragment that fits the page.

Matrices are ``bmatrix`` (an ``array`` in brackets past amsmath's 10 columns), each worked
cell one ``align*``, prose between them as paragraphs (so it wraps). Lines are measured
(:func:`width_pt`, an estimate in points of Computer Modern at 10 pt) against the text
width of a plain ``article``: a long sum breaks across lines with aligned continuation
(``&\quad + ...``), a chain of equalities continues on the next line (``&= ...``), and a
wide row of matrices is scaled to the line with graphicx's ``\resizebox``. The fragment
compiles inside any document that loads amsmath and graphicx; :func:`standalone` wraps it
in a complete ``article``. This module holds cnnlab's one LaTeX escaper, :func:`escape`.
"""

from __future__ import annotations

from typing import Any

from cnnlab.doc import expr as E
from cnnlab.doc.blocks import (Block, Bullets, Figure, Formula, Heading, Matrices, MatrixText, Paragraph,
                               StepList, Table)
from cnnlab.doc.blocks import Code, display_cell
from cnnlab.doc.latex_columns import fit_table, text_pt, word_pt
from cnnlab.doc.latex_width import LINE_PT, TEXT_WIDTH_PT, align_chains, width_pt
from cnnlab.doc.text import TextWriter

__all__ = ["LatexWriter", "escape", "standalone", "width_pt", "align_chains", "TEXT_WIDTH_PT"]

_MAX_BMATRIX_COLS = 10  # amsmath's default MaxMatrixCols

_UNICODE = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "%": r"\%", "&": r"\&",
    "#": r"\#", "$": r"{\char36}", "^": r"\^{}", "~": r"\~{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
    "°": r"$^\circ$", "−": "-", "·": r"$\cdot$", "∞": r"$\infty$", "Σ": r"$\Sigma$",
    "⊙": r"$\odot$", "×": r"$\times$", "σ": r"$\sigma$", "≤": r"$\le$", "≥": r"$\ge$",
    "→": r"$\rightarrow$", "…": r"\dots{}", "⌊": r"$\lfloor$", "⌋": r"$\rfloor$",
    "⌈": r"$\lceil$", "⌉": r"$\rceil$", "√": r"$\surd$", "ε": r"$\varepsilon$",
    "–": "--", "≈": r"$\approx$", "⋮": r"$\vdots$", "⊗": r"$\otimes$", "∂": r"$\partial$",
    "δ": r"$\delta$", "ᵀ": r"$^T$", "≠": r"$\ne$",
    "—": "---", "γ": r"$\gamma$", "β": r"$\beta$", "∈": r"$\in$", "²": r"$^2$",
}


def escape(text: str) -> str:
    """Prose for LaTeX: special characters escaped, the few Unicode symbols we use as maths.

    >>> escape("100% of x_1 · 2")
    '100\\\\% of x\\\\_1 $\\\\cdot$ 2'
    """
    return "".join(_UNICODE.get(ch, ch) for ch in text)


# Fonts that are outlines everywhere, so pdflatex never generates bitmaps (mktexpk): Latin
# Modern in T1 where the lmodern package is installed, else Computer Modern in its default
# OT1 encoding (Type 1 outlines ship with texlive-base). Both print escape()'s output right.
_FONTS = r"\IfFileExists{lmodern.sty}{\usepackage[T1]{fontenc}\usepackage{lmodern}}{}"


def standalone(body: str, title: str | None = None) -> str:
    """A complete document around a fragment (article, amsmath, amssymb, graphicx)."""
    # \sloppy: prose with long code (\texttt has no stretchable space) wraps with wider
    # spaces instead of running into the margin
    head = [r"\documentclass{article}", r"\usepackage{amsmath}", r"\usepackage{amssymb}",
            r"\usepackage{graphicx}", _FONTS, r"\begin{document}", r"\sloppy"]
    if title:
        head.append(rf"\section*{{{escape(title)}}}")
    return "\n".join(head) + "\n" + body.rstrip("\n") + "\n\\end{document}\n"


# -- measuring --------------------------------------------------------------------
_GREEK = {"γ": r"\gamma", "β": r"\beta"}
# an operator of a formula (cnnlab.doc.expr.Op) in maths; any other is written as it is
_OPERATORS = {"·": r" \cdot ", "−": " - ", "×": r" \times ", "→": r" \to ", "∈": r" \in ", "+": " + ",
              "=": " = ", ",": r",\ ", "//": r"\mathbin{//}"}


_SECTIONING = ("section", "subsection", "subsubsection", "paragraph")  # heading levels 1, 2, 3, 4 and below


class LatexWriter(TextWriter):
    """Writes numbers, expressions and blocks as LaTeX (maths in ``align*``)."""

    name = "latex"
    # headings without a level are worked steps inside a sheet's \section*: all \subsection*
    AUTO_LEVELS = (2, 2)
    times = r" \cdot "
    hdots = r"\cdots"
    vdots = r"\vdots"
    approx = r" \approx "
    OPS = {"⊙": r"\odot", "=": "=", ",": r",\quad", "→": r"\rightarrow", "+": "+", "⊗": r"\otimes"}
    FUNCTIONS = {"sigmoid": r"\sigma", "relu": r"\operatorname{ReLU}", "tanh": r"\tanh",
                 "leaky_relu": r"\operatorname{LeakyReLU}", "max": r"\max"}

    def __init__(self, round: int | None = None, line_pt: float = LINE_PT):
        super().__init__(round)
        self.line_pt = line_pt
        self.text_pt = line_pt + (TEXT_WIDTH_PT - LINE_PT)  # the whole line, which a table may fill

    # -- numbers and expressions ---------------------------------------------------
    def paren(self, text: str) -> str:
        return rf"\left({text}\right)"

    def frac(self, a: str, b: str) -> str:
        return rf"\frac{{{a}}}{{{b}}}"

    def fn_name(self, fn: str) -> str:
        return self.FUNCTIONS.get(fn) or r"\operatorname{" + escape(fn) + "}"

    def call(self, fn: str, arg: str) -> str:
        return rf"{self.fn_name(fn)}\left({arg}\right)"

    def exp(self, arg: str) -> str:
        return f"e^{{{arg}}}"

    def index(self, name: str, idx: tuple[int, ...]) -> str:
        return f"{name}_{{{','.join(str(i + 1) for i in idx)}}}" if idx else name

    def sub(self, name: str, sub: str) -> str:
        return rf"{self.var(name)}_{{\text{{{escape(sub)}}}}}"

    def floor(self, arg: str, spelled: bool = False) -> str:
        return rf"\left\lfloor {arg} \right\rfloor"

    def ceil(self, arg: str, spelled: bool = False) -> str:
        return rf"\left\lceil {arg} \right\rceil"

    def var(self, name: str) -> str:
        """A symbol: one letter in maths italic (a Greek one by name), a word upright."""
        if name in _GREEK:
            return _GREEK[name]
        return name if len(name) == 1 else rf"\text{{{escape(name)}}}"

    def op(self, text: str) -> str:
        sym = text.strip()
        return _OPERATORS.get(sym, sym)

    def vector(self, values: Any) -> str:
        return self.matrix([[self.num(v) for v in values]])

    def sym(self, name: str) -> str:
        return {"sum": r"\Sigma"}.get(name, rf"\text{{{escape(name)}}}")

    def channel_sum(self, channel: int) -> str:
        return rf"\Sigma_{{{channel}}}"

    def words(self, text: str) -> str:
        return rf"\text{{{escape(text)}}}"

    def inline(self, parts: list) -> str:
        """Prose with maths inside it: text escaped, maths in ``$...$``."""
        return "".join(escape(p) if isinstance(p, str) else f"${self.expr(p)}$" for p in parts)

    # -- breaking long maths -------------------------------------------------------------
    def broken(self, e: Any, room: float, first: float) -> list[str]:
        """``e`` as lines of at most ``room`` points (the first at most ``first``): a sum
        breaks between terms, a call of a sum keeps its brackets open across the break."""
        whole = self.expr(e)
        if width_pt(whole) <= first:
            return [whole]
        if isinstance(e, E.Sum) and len(e.terms) > 1:
            terms = [self.expr(t) for t in e.terms]
            terms = [self.paren(t) if i and t.startswith("-") else t for i, t in enumerate(terms)]
            return _pack(terms, " + ", room, first)
        if isinstance(e, E.Call) and isinstance(e.arg, E.Sum) and len(e.arg.terms) > 1:
            head = self.fn_name(e.fn) + r"\bigl("
            lines = self.broken(e.arg, room, first - width_pt(head))
            return [head + lines[0], *lines[1:-1], lines[-1] + r"\bigr)"] if len(lines) > 1 else \
                [head + lines[0] + r"\bigr)"]
        return [whole]

    # -- blocks ----------------------------------------------------------------------
    def matrix(self, cells: MatrixText) -> str:
        ncols = len(cells[0]) if cells else 0
        body = r" \\ ".join(" & ".join(row) for row in cells)
        if ncols > _MAX_BMATRIX_COLS:
            return rf"\left[\begin{{array}}{{{'r' * ncols}}} {body} \end{{array}}\right]"
        return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"

    def matrices(self, block: Matrices, room: float | None = None) -> str:
        parts = []
        for n, (label, grid) in enumerate(block.items):
            m = self.matrix(self.grid_cells(grid))
            parts.append(rf"\underset{{\text{{{escape(label)}}}}}{{{m}}}" if label else m)
            if n < len(block.ops):
                parts.append(self.OPS.get(block.ops[n], block.ops[n]))
        body = " ".join(parts)
        room = self.line_pt if room is None else room
        if width_pt(body) > room:  # scaled to the line; the estimate errs wide, so it fits
            body = rf"\resizebox{{{room:.0f}pt}}{{!}}{{$\displaystyle {body}$}}"
        return f"{self.expr(block.lhs)} &= {body}" if block.lhs else f"& {body}"

    def equation(self, block: Formula, room: float | None = None) -> str:
        """``lhs &= a = b``, continued on the next line (``&= c``) when the line is full; a part
        wider than a line breaks (sums) or is scaled to it."""
        room = self.line_pt if room is None else room
        lhs = self.expr(block.lhs)
        parts = []
        for r in block.rhs:
            text = self.expr(r)
            if not parts or parts[-1][1] != text:
                parts.append((r, text))
        lines: list[str] = []
        current = ""
        used = 0.0
        for r, text in parts:
            w = width_pt(text) + 12.5
            if current and used + w <= room:
                current += f" = {text}"
                used += w
                continue
            if current:
                lines.append(current)
            pieces = self.broken(r, room - 20, room)
            if len(pieces) == 1 and width_pt(pieces[0]) > room:
                pieces = [rf"\resizebox{{{room:.0f}pt}}{{!}}{{$\displaystyle {pieces[0]}$}}"]
            lines += ["= " + pieces[0]] + [r"\quad " + p for p in pieces[1:]]
            current = lines.pop()
            used = width_pt(current) + (20 if len(pieces) > 1 else 0)
        lines.append(current)
        first = f"{lhs} &{lines[0]}" if block.lhs else f"&{lines[0]}"
        return " \\\\\n".join([first] + [f"&{line}" for line in lines[1:]])

    def line(self, item: Matrices | Formula, room: float | None = None) -> str:
        if isinstance(item, Matrices):
            return self.matrices(item, room)
        return self.equation(item, room)

    def group(self, block: StepList) -> list[str]:
        """Prose lines as paragraphs; each run of maths lines one ``align*`` aligned at ``=``."""
        out: list[str] = []
        maths: list = []
        lhs_pt = max((width_pt(self.expr(i.lhs)) for i in block.lines
                      if not isinstance(i, Paragraph) and i.lhs), default=0.0)
        room = self.line_pt - lhs_pt

        def flush() -> None:
            if maths:
                out.extend([r"\begin{align*}", " \\\\\n".join(self.line(i, room) for i in maths),
                            r"\end{align*}", ""])
                maths.clear()

        for item in block.lines:
            if isinstance(item, Paragraph):
                flush()
                out += [r"\noindent " + self.inline(item.parts), ""]
            else:
                maths.append(item)
        flush()
        return out

    def render(self, blocks: list[Block]) -> str:
        out: list[str] = []
        first = True
        for block in blocks:
            if isinstance(block, Heading):
                out += [self.heading(block, first), ""]
                first = False
            elif isinstance(block, Paragraph):
                out += [self.inline(block.parts), ""]
            elif isinstance(block, StepList):
                out += self.group(block)
            elif isinstance(block, Table):
                out += [*self.table(block), ""]
            elif isinstance(block, Bullets):
                out += [r"\begin{itemize}", *(r"\item " + line for line in self.bullets(block)), r"\end{itemize}", ""]
            elif isinstance(block, (Matrices, Formula)):
                out += [self.display(block), ""]
            elif isinstance(block, Figure):
                out += [rf"\includegraphics[width=\linewidth]{{{block.path}}}", escape(block.caption), ""]
            elif isinstance(block, Code):
                out += [r"\begin{verbatim}", block.text.rstrip("\n"), r"\end{verbatim}", ""]
        return "\n".join(out).strip("\n") + "\n"

    def heading(self, block: Heading, first: bool) -> str:
        r"""``\section*`` for a title (level 1), ``\subsection*`` and ``\subsubsection*`` below
        it, a run-in ``\paragraph*`` deeper than an article's sections go."""
        command = _SECTIONING[min(max(block.depth(first, self.AUTO_LEVELS), 1), len(_SECTIONING)) - 1]
        return rf"\{command}*{{{escape(block.text)}}}"

    def display(self, block: Matrices | Formula) -> str:
        r"""One line of maths on its own: ``\[ K = ... \]`` (an ``align*`` when it breaks)."""
        text = self.line(block)
        if "\\\\\n" in text:  # broken across lines (a matrix row ends in \\ too, without a newline)
            return "\n".join([r"\begin{align*}", text, r"\end{align*}"])
        return r"\[ " + text.replace("&", "", 1).strip() + r" \]"

    def table(self, block: Table) -> list[str]:
        r"""A ``tabular`` with rules above and below and under the header; code in ``\texttt``;
        no padding outside the first and last columns (``@{}``), so it spans only its text;
        the caption on a line under it.

        A table wider than the line gets paragraph columns (:mod:`cnnlab.doc.latex_columns`):
        its prose wraps (ragged right), its numbers stay right-aligned under wrapped headers;
        one that cannot fit even so is scaled to the line (graphicx's ``\resizebox``)."""
        rows = [[display_cell(c) for c in r] for r in block.rows]
        aligns = block.aligns()

        def cell(j: int, c: Any) -> str:
            if not isinstance(c, str):
                return f"${self.expr(c)}$"
            return rf"\texttt{{{escape(c)}}}" if j in block.code else escape(c)

        body = [[cell(j, c) for j, c in enumerate(r)] for r in rows]
        head = [escape(h) for h in block.header]
        widths, scaled = self.column_widths(block.header, rows, block.code, aligns)
        if widths is None:
            spec, end, lines = aligns, r" \\", [head, *body]
        else:  # \tabularnewline ends a row whose last cell is ragged (\\ would break its line)
            spec, end = "".join(f"p{{{w:g}pt}}" for w in widths), r" \tabularnewline"
            flush = [r"\raggedleft " if a == "r" else r"\raggedright " for a in aligns]
            lines = [[flush[j] + c for j, c in enumerate(r)] for r in [head, *body]]
        table = [rf"\noindent\begin{{tabular}}{{@{{}}{spec}@{{}}}}", r"\hline",
                 " & ".join(lines[0]) + end + r" \hline", *(" & ".join(r) + end for r in lines[1:]), r"\hline",
                 r"\end{tabular}"]
        if scaled:
            table = [r"\noindent\resizebox{\linewidth}{!}{%", table[0].removeprefix(r"\noindent"), *table[1:], "}"]
        if block.caption:
            table += [r"\par\nopagebreak\smallskip", r"\noindent{\small " + escape(block.caption) + "}"]
        return table

    def column_widths(self, header: list[str], rows: list[list[Any]], code: tuple[int, ...],
                      aligns: str) -> tuple[list[float] | None, bool]:
        """Paragraph column widths (pt) for a table wider than :attr:`text_pt` (None: plain
        columns), and whether to scale it to the line (:func:`cnnlab.doc.latex_columns.fit_table`)."""
        def pt(j: int, c: Any, wrap: bool) -> float:
            if not isinstance(c, str):
                return width_pt(self.expr(c))
            return (word_pt if wrap else text_pt)(c, j in code)

        one_line, natural, least = [], [], []
        for j, h in enumerate(header):
            cells = [pt(j, c, False) for c in [r[j] for r in rows]]
            words = [pt(j, c, aligns[j] != "r") for c in [r[j] for r in rows]]  # a number does not wrap
            one_line.append(max([text_pt(h)] + cells))
            natural.append(max([word_pt(h)] + cells))  # a header wraps
            least.append(max([word_pt(h)] + words))
        return fit_table(one_line, natural, least, [a == "r" for a in aligns], self.text_pt)

    # -- single values ---------------------------------------------------------------------
    def value(self, cells: MatrixText) -> str:
        return self.matrix(cells)

    def result_value(self, value: Any) -> str:
        return "\\[\nO = " + self.write_value(value) + "\n\\]\n"

    def text_value(self, text: str) -> str:
        return rf"\text{{{escape(text)}}}"

    def bool_value(self, flag: bool) -> str:
        return rf"\text{{{'true' if flag else 'false'}}}"

    def dict_value(self, rows: list[tuple[str, str]]) -> str:
        body = r" \\ ".join(rf"\text{{{escape(k)}}} & {v}" for k, v in rows)
        return rf"\begin{{array}}{{ll}} {body} \end{{array}}"

    def list_value(self, parts: list[str]) -> str:
        return r",\ ".join(parts)

    def channels_value(self, parts: list[str]) -> str:
        return r"\left(" + r",\ ".join(parts) + r"\right)"


def _pack(terms: list[str], joiner: str, room: float, first: float) -> list[str]:
    """Terms joined by ``joiner``, a new line (starting with the joiner) where one is full."""
    lines: list[str] = []
    current, used, limit = "", 0.0, first
    for term in terms:
        w = width_pt(term) + 12.5
        if current and used + w > limit:
            lines.append(current)
            current, used, limit = joiner.strip() + " " + term, w, room
        else:
            current = term if not current else current + joiner + term
            used += w
    lines.append(current)
    return lines
