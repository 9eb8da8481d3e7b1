"""The HTML writer: tensors as tables (one ``td`` per element, roles as classes, values
shaded), maths as MathML, prose escaped. Nothing is fetched at run time: the style sheet
is inline and every browser since 2023 draws MathML Core.

The output is a fragment inside ``<div class="cnnlab-doc">`` with its own ``<style>``, so
it reads the same in a notebook (``_repr_html_``), a saved file and the page.
"""

from __future__ import annotations

import html
import math
from fractions import Fraction
from typing import Any

from cnnlab.doc import expr as E
from cnnlab.doc.blocks import (Block, Bullets, Figure, Formula, Heading, Matrices, MatrixText, Paragraph,
                               StepList, Table, TensorGrid)
from cnnlab.doc.blocks import Code, display_cell
from cnnlab.doc.grid import as_matrix, shown
from cnnlab.doc.numbers import format_number

__all__ = ["HtmlWriter", "STYLE", "SHADES"]

# a grid's values are shaded from white (lowest) to blue (highest) in this many steps, each a
# class defined once in STYLE: a 20×20 grid then carries ``class="shade-3"`` per cell, not a
# colour of its own (the solve page of examples/problems/wrong_key.yaml: 342 KB → docs/python.md)
SHADES = 8
_SHADE_CSS = "".join(f".cnnlab-doc td.shade-{k}{{background:rgba(51,154,240,{0.08 + 0.5 * k / (SHADES - 1):.2f})}}\n"
                     for k in range(SHADES))

STYLE = """<style>
.cnnlab-doc{font-family:system-ui,sans-serif;line-height:1.4}
.cnnlab-doc .cnn-row{display:flex;flex-wrap:wrap;align-items:center;gap:.6em;margin:.4em 0}
.cnnlab-doc figure{margin:0;display:inline-flex;flex-direction:column;align-items:center}
.cnnlab-doc figcaption{font-size:.8em;color:#555}
.cnnlab-doc table.cnn-grid{border-collapse:collapse;font-variant-numeric:tabular-nums}
.cnnlab-doc table.cnn-grid td{border:1px solid #bbb;min-width:2.2em;padding:.15em .35em;text-align:right}
.cnnlab-doc td.padding{color:#555;border-style:dashed}
.cnnlab-doc td.window{outline:2px solid #d9480f;outline-offset:-2px;font-weight:600}
.cnnlab-doc td.selected{outline:3px solid #1c7ed6;outline-offset:-3px}
""" + _SHADE_CSS + """.cnnlab-doc td.dots{border:none;color:#666;background:none}
.cnnlab-doc .cnn-op{font-size:1.3em}
.cnnlab-doc .cnn-step{border-left:3px solid #ddd;padding-left:.6em;margin:.6em 0}
.cnnlab-doc math{font-size:1.05em}
.cnnlab-doc .cnn-formula{display:flex;flex-wrap:wrap;align-items:center;gap:.25em;margin:.5em 0}
.cnnlab-doc table.cnn-table{border-collapse:collapse;margin:.5em 0}
.cnnlab-doc table.cnn-table th,.cnnlab-doc table.cnn-table td{border-bottom:1px solid #ddd;padding:.2em .6em;text-align:left}
.cnnlab-doc table.cnn-table td.num{text-align:right;font-variant-numeric:tabular-nums}
.cnnlab-doc table.cnn-table caption{caption-side:bottom;text-align:left;padding-top:.3em;color:#444}
</style>"""


def _shade(v: Any, lo: float, hi: float) -> str:
    """The shading class of ``v`` in a grid whose values run from ``lo`` to ``hi``:
    ``shade-0`` (lowest) to ``shade-{SHADES - 1}`` (highest); "" for a non-number or a flat grid.

    >>> _shade(0, 0, 3), _shade(3, 0, 3), _shade("a", 0, 3), _shade(1, 1, 1)
    ('shade-0', 'shade-7', '', '')
    """
    try:
        x = float(v)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(x) or hi <= lo:
        return ""
    return f"shade-{round((x - lo) / (hi - lo) * (SHADES - 1))}"


class HtmlWriter:
    """Writes blocks as HTML and expressions as MathML."""

    name = "html"
    FUNCTIONS = {"sigmoid": "σ", "relu": "ReLU", "tanh": "tanh", "leaky_relu": "LeakyReLU", "max": "max"}
    OPS = {"⊙": "⊙", "=": "=", ",": "", "→": "→", "+": "+", "⊗": "⊗"}
    # a document without levels sits under a sheet's h1 and part h2/h3: its title h3, sections h4
    AUTO_LEVELS = (3, 4)

    def __init__(self, round: int | None = None):
        self.round = round

    # -- maths ----------------------------------------------------------------------
    def num(self, v: Any, paren: bool = False) -> str:
        if isinstance(v, Fraction) and v.denominator != 1 and self.round is None:
            sign = "<mo>−</mo>" if v < 0 else ""
            text = f"{sign}<mfrac><mn>{abs(v.numerator)}</mn><mn>{v.denominator}</mn></mfrac>"
            neg = v < 0
        else:
            plain = format_number(v, self.round, "text")
            neg = plain.startswith("-")
            text = f"<mn>{html.escape(plain.replace('-', '−', 1))}</mn>"  # U+2212: a minus, not a hyphen
        return f"<mrow><mo>(</mo>{text}<mo>)</mo></mrow>" if paren and neg else f"<mrow>{text}</mrow>"

    def expr(self, e: Any) -> str:
        """MathML (without the ``<math>`` element) of an expression; a ``str`` is shown as text."""
        if isinstance(e, str):
            return f"<mtext>{html.escape(e)}</mtext>" if e else ""
        if type(e) not in _MATHML:
            return self.num(e)
        return _MATHML[type(e)](self, e)

    def math(self, e: Any) -> str:
        return f'<math display="inline">{self.expr(e)}</math>'

    def inline(self, parts: list) -> str:
        return "".join(html.escape(p) if isinstance(p, str) else self.math(p) for p in parts)

    # -- grids ----------------------------------------------------------------------
    def grid(self, grid: TensorGrid | MatrixText) -> str:
        """A ``<table class="cnn-grid">``: a ``td`` per shown element, classes from the roles."""
        if not isinstance(grid, TensorGrid):
            rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in grid)
            return f'<table class="cnn-grid">{rows}</table>'
        a = as_matrix(grid.values)
        H, W = a.shape
        rows, cols = shown((H, W), grid.limit)
        numbers = [float(v) for v in a[:rows, :cols].flat if _finite(v)]
        lo, hi = (min(numbers), max(numbers)) if numbers else (0.0, 0.0)
        body = []
        for i in range(rows):
            tds = []
            for j in range(cols):
                classes = " ".join([*sorted(grid.roles.get((i, j), ())), _shade(a[i, j], lo, hi)]).strip()
                cls = f' class="{classes}"' if classes else ""
                text = html.escape(format_number(a[i, j], self.round, "text"))
                tds.append(f"<td{cls}>{text}</td>")
            if W > cols:
                tds.append('<td class="dots">…</td>')
            body.append("<tr>" + "".join(tds) + "</tr>")
        if H > rows:
            body.append("<tr>" + '<td class="dots">⋮</td>' * cols + "</tr>")
        return f'<table class="cnn-grid">{"".join(body)}</table>'

    def matrices(self, block: Matrices) -> str:
        parts = []
        if block.lhs:
            parts.append(f'<span class="cnn-op">{self.math(block.lhs)} =</span>')
        last = len(block.items) - 1
        for n, (label, grid) in enumerate(block.items):
            frame = grid.frame if isinstance(grid, TensorGrid) else None
            framed = (f"<figure>{self.grid(frame)}<figcaption>{html.escape(grid.caption)}</figcaption></figure>"
                      if frame is not None else "")
            if framed and n != last:
                parts.append(framed)
            caption = f"<figcaption>{html.escape(label)}</figcaption>" if label else ""
            parts.append(f"<figure>{self.grid(grid)}{caption}</figure>")
            if framed and n == last and n:
                parts.append(framed)
            if n < len(block.ops) and self.OPS.get(block.ops[n], block.ops[n]):
                parts.append(f'<span class="cnn-op">{html.escape(self.OPS.get(block.ops[n], block.ops[n]))}'
                             "</span>")
        return f'<div class="cnn-row">{"".join(parts)}</div>'

    def equation(self, block: Formula) -> str:
        parts, seen = [], None
        for r in block.rhs:
            m = self.expr(r)
            if m != seen:
                parts.append(m)
            seen = m
        # one <math> per side of each "=", so a long chain wraps between equalities
        items = ([f'<math displaystyle="true">{self.expr(block.lhs)}</math>'] if block.lhs else []) + \
            [f'<span class="cnn-eq"><math displaystyle="true"><mo>=</mo>{p}</math></span>' if n or block.lhs else f'<math displaystyle="true">{p}</math>'
             for n, p in enumerate(parts)]
        return f'<div class="cnn-formula">{"".join(items)}</div>'

    def line(self, item: Matrices | Formula | Paragraph) -> str:
        if isinstance(item, Matrices):
            return self.matrices(item)
        if isinstance(item, Formula):
            return self.equation(item)
        return f"<p>{self.inline(item.parts)}</p>"

    def render(self, blocks: list[Block]) -> str:
        out: list[str] = [STYLE, '<div class="cnnlab-doc">']
        first = True
        for block in blocks:
            if isinstance(block, Heading):
                level = min(max(block.depth(first, self.AUTO_LEVELS), 1), 6)
                out.append(f"<h{level}>{html.escape(block.text)}</h{level}>")
                first = False
            elif isinstance(block, Paragraph):
                out.append(f"<p>{self.inline(block.parts)}</p>")
            elif isinstance(block, StepList):
                out.append('<div class="cnn-step">' + "".join(self.line(i) for i in block.lines) + "</div>")
            elif isinstance(block, Table):
                out.append(self.table(block))
            elif isinstance(block, (Matrices, Formula)):
                out.append(self.line(block))
            elif isinstance(block, Bullets):
                out.append("<ul>" + "".join(f"<li>{self.inline(i if isinstance(i, list) else [i])}</li>"
                                            for i in block.items) + "</ul>")
            elif isinstance(block, Figure):
                out.append(f'<figure><img src="{html.escape(block.path)}" alt="{html.escape(block.caption)}">'
                           f"<figcaption>{html.escape(block.caption)}</figcaption></figure>")
            elif isinstance(block, Code):
                out.append(f"<pre><code>{html.escape(block.text.rstrip(chr(10)))}</code></pre>")
        out.append("</div>")
        return "\n".join(out) + "\n"

    def table(self, block: Table) -> str:
        """A ``<table class="cnn-table">``: a ``td`` per cell, right-aligned columns ``num``,
        code columns in ``<code>``."""
        aligns = block.aligns()
        head = "".join(f'<th{_num_class(a)}>{html.escape(h)}</th>' for h, a in zip(block.header, aligns))

        def cell(j: int, c: Any) -> str:
            c = display_cell(c)
            inner = f"<code>{html.escape(c)}</code>" if j in block.code and isinstance(c, str) else self.inline([c])
            return f"<td{_num_class(aligns[j])}>{inner}</td>"

        rows = "".join("<tr>" + "".join(cell(j, c) for j, c in enumerate(r)) + "</tr>" for r in block.rows)
        caption = f"<caption>{html.escape(block.caption)}</caption>" if block.caption else ""
        return f'<table class="cnn-table">{caption}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'

    def write_value(self, value: Any) -> str:
        """One value as HTML: a grid per matrix (per channel), MathML for a number."""
        import numpy as np

        if isinstance(value, str):
            return html.escape(value)
        if isinstance(value, dict):
            return "<dl>" + "".join(f"<dt>{html.escape(str(k))}</dt><dd>{self.write_value(v)}</dd>"
                                    for k, v in value.items()) + "</dl>"
        a = value if isinstance(value, np.ndarray) else np.asarray(value, dtype=object)
        if a.ndim == 0:
            return self.math(E.Num(a.item()))
        if a.ndim <= 2:
            return self.grid(TensorGrid(a, limit=None))
        return '<div class="cnn-row">' + "".join(
            f"<figure>{self.grid(TensorGrid(a[idx], limit=None))}<figcaption>channel "
            f"{', '.join(str(i + 1) for i in idx)}</figcaption></figure>"
            for idx in np.ndindex(*a.shape[:-2])) + "</div>"


def _finite(v: Any) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _num_class(align: str) -> str:
    return ' class="num"' if align == "r" else ""


def _kept_spaces(text: str) -> str:
    """Spaces at the ends of an ``<mtext>`` as no-break spaces: MathML drops plain ones, which
    glues ``0 (nobias)`` into ``0(nobias)``."""
    core = text.strip(" ")
    if not core:
        return text.replace(" ", "\u00a0")
    start = text.index(core)
    return "\u00a0" * start + core + "\u00a0" * (len(text) - start - len(core))


def _mi(text: str) -> str:
    return f"<mi>{html.escape(text)}</mi>"


def _fn(w: HtmlWriter, e: E.Call) -> str:
    name = w.FUNCTIONS.get(e.fn, e.fn)
    return f'<mrow><mi mathvariant="normal">{html.escape(name)}</mi><mo>(</mo>{w.expr(e.arg)}<mo>)</mo></mrow>'


def _sum(w: HtmlWriter, e: E.Sum) -> str:
    out = []
    for i, t in enumerate(e.terms):
        m = w.expr(t)
        if i and (m.startswith(("<mrow><mo>−</mo>", "<mrow><mn>−")) or (isinstance(t, E.Num) and float(t.value) < 0)):
            m = f"<mrow><mo>(</mo>{m}<mo>)</mo></mrow>"
        out.append(m)
    return "<mrow>" + "<mo>+</mo>".join(out) + "</mrow>"


def _seq(w: HtmlWriter, e: E.Seq) -> str:
    out = []
    for p in e.parts:
        if isinstance(p, str):
            out.append(f"<mo>{html.escape(p.replace('-', '−'))}</mo>" if p in "+-=·×/" else
                       (f"<mn>{p}</mn>" if p.lstrip("-").isdigit() else f"<mi>{html.escape(p)}</mi>"))
        else:
            out.append(w.expr(p))
    return "<mrow>" + "".join(out) + "</mrow>"


_MATHML = {
    E.Num: lambda w, e: w.num(e.value, e.paren),
    E.Product: lambda w, e: (f"<mrow>{w.num(e.a, True) if not type(e.a) in _MATHML else w.expr(e.a)}"
                             f"<mo>·</mo>{w.num(e.b, True) if not type(e.b) in _MATHML else w.expr(e.b)}</mrow>"),
    E.Sum: _sum,
    E.Frac: lambda w, e: (f"<mrow>{w.expr(e.num)}<mo>/</mo>{w.expr(e.den)}</mrow>" if e.inline
                          else f"<mfrac>{w.expr(e.num)}{w.expr(e.den)}</mfrac>"),
    E.Call: _fn,
    E.Exp: lambda w, e: f"<msup><mi>e</mi>{w.expr(e.arg)}</msup>",
    E.Index: lambda w, e: (f"<msub>{_mi(e.name)}<mrow><mn>{','.join(str(i + 1) for i in e.idx)}</mn></mrow></msub>"
                           if e.idx else _mi(e.name)),
    E.Sub: lambda w, e: f"<msub>{_mi(e.name)}<mtext>{html.escape(e.sub)}</mtext></msub>",
    E.Round: lambda w, e: (f"<mrow><mo>⌈</mo>{w.expr(e.arg)}<mo>⌉</mo></mrow>" if e.up
                           else f"<mrow><mo>⌊</mo>{w.expr(e.arg)}<mo>⌋</mo></mrow>"),
    E.Sym: lambda w, e: f"<mo>{'Σ' if e.name == 'sum' else html.escape(e.name)}</mo>",
    E.Seq: _seq,
    E.Paren: lambda w, e: f"<mrow><mo>(</mo>{w.expr(e.arg)}<mo>)</mo></mrow>",
    E.Vector: lambda w, e: ("<mrow><mo>[</mo>" + "<mo>,</mo>".join(w.num(v) for v in e.values)
                            + "<mo>]</mo></mrow>"),
    E.Args: lambda w, e: "<mrow>" + "<mo>,</mo>".join(w.num(v) for v in e.values) + "</mrow>",
    E.Approx: lambda w, e: f"<mrow>{w.expr(e.a)}<mo>≈</mo>{w.expr(e.b)}</mrow>",
    E.Words: lambda w, e: f"<mtext>{_kept_spaces(html.escape(e.text))}</mtext>",
    E.ChannelSum: lambda w, e: f"<msub><mo>Σ</mo><mn>{e.channel}</mn></msub>",
    E.Var: lambda w, e: _mi(e.name),
    E.Op: lambda w, e: f"<mo>{html.escape(e.text.strip())}</mo>",
}
