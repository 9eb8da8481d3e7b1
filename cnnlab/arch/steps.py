"""The worked steps of the architecture table as maths (:mod:`cnnlab.doc.expr` trees).

A :class:`Step` is one line ``quantity = formula = numbers = value``; each part is an
expression, so the LaTeX writer typesets ``floor((H + 2p − k)/s) + 1`` as a floor of a
fraction and the HTML writer as MathML, while plain text (and the JSON strings of
``--format json --steps``) read as they always have. A formula used with symbols and with
numbers is one function called twice (``size_formula("H", ...)`` and ``size_formula(32,
...)``), so the two lines cannot drift apart. The small builders below (:func:`row`,
:func:`times`, :func:`plus`, ...) keep the analysers in :mod:`cnnlab.arch.layers` short.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnnlab.arch.receptive_field import AxisRF
from cnnlab.doc.expr import Call, Frac, Num, Op, Paren, Round, Seq, Sub, Var, Words
from cnnlab.doc.text import TextWriter
from cnnlab.ops.sizes import effective_kernel

__all__ = ["Step", "StepDict", "sym", "row", "times", "plus", "by", "paren", "over", "note", "words",
           "shape", "number", "size_formula", "size_step", "padding_steps", "rf_steps", "MINUS", "PLUS",
           "TIMES", "EQUALS", "COMMA"]

MINUS, PLUS, TIMES, BY, EQUALS, COMMA = Op(" − "), Op(" + "), Op("·"), Op(" × "), Op(" = "), Op(", ")
_TEXT = TextWriter()


def sym(name: str) -> Any:
    """A quantity's symbol: ``C_out`` is C with "out" below it, ``H`` a letter.

    >>> sym("C_out"), sym("H")
    (Sub(name='C', sub='out'), Var(name='H'))
    """
    base, _, below = name.partition("_")
    return Sub(base, below) if below else Var(name)


def _part(p: Any) -> Any:
    """An int is a number, a str a symbol (:func:`sym`), anything else an expression."""
    if isinstance(p, bool):
        raise TypeError("a step part is a number, a symbol or an expression")
    if isinstance(p, int):
        return Num(p)
    return sym(p) if isinstance(p, str) else p


def row(*parts: Any) -> Seq:
    """Parts one after another (``row(2, "p")`` is ``2p``)."""
    return Seq(tuple(_part(p) for p in parts), "")


def _joined(op: Op, items: tuple) -> Seq:
    out: list = []
    for n, item in enumerate(items):
        out += [op, item] if n else [item]
    return row(*out)


def times(*factors: Any) -> Seq:
    """``a·b·c``."""
    return _joined(TIMES, factors)


def plus(*terms: Any) -> Seq:
    """``a + b + c``."""
    return _joined(PLUS, terms)


def by(*dims: Any) -> Seq:
    """``C × H × W`` (a shape as a formula)."""
    return _joined(BY, dims)


def paren(*parts: Any) -> Paren:
    """``(parts)``."""
    return Paren(row(*parts))


def over(a: Any, b: Any) -> Frac:
    """``a/b`` on the line."""
    return Frac(_part(a), _part(b), inline=True)


def note(text: str) -> Words:
    """A remark after a formula: `` (pooling has no parameters)``."""
    return Words(f" ({text})")


def words(text: str) -> Words:
    """Prose where a formula would be ("same as the input")."""
    return Words(text)


def shape(dims) -> Seq:
    """A shape as a value, ``96×55×55``."""
    return _joined(Op("×"), tuple(dims))


def number(value) -> Num:
    """A Fraction or int of the receptive-field arithmetic: whole numbers plain, others as
    decimals of 6 significant digits (``0.5``, ``0.333333``)."""
    if getattr(value, "denominator", 1) == 1:
        return Num(int(value))
    return Num(float(f"{float(value):g}"))


def _as_expr(part: Any) -> Any:
    """A str given for a whole step part is prose (a torch table's "inputs concatenated")."""
    if isinstance(part, str):
        return Words(part)
    return Num(part) if isinstance(part, int) else part


class StepDict(dict):
    """A step as the JSON object of ``--format json`` (strings), keeping its :class:`Step` in
    ``.step`` so that a writer can typeset the formulas of a table built in this process."""

    step: "Step"


@dataclass(frozen=True)
class Step:
    """One line of a worked answer: ``quantity = formula = numbers = value``.

    Each part is an expression of :mod:`cnnlab.doc.expr` (an int is a number, a str prose).
    """

    quantity: Any
    formula: Any
    numbers: Any
    value: Any

    def parts(self) -> tuple:
        """The four parts as expressions."""
        return tuple(_as_expr(p) for p in (self.quantity, self.formula, self.numbers, self.value))

    def to_dict(self) -> StepDict:
        """The JSON object: each part as plain text."""
        keys = ("quantity", "formula", "numbers", "value")
        out = StepDict({k: _TEXT.expr(p) for k, p in zip(keys, self.parts())})
        out.step = self
        return out


def _rounded(arg: Any, ceil: bool) -> Any:
    return Round(arg, up=ceil, spelled=True)


def size_formula(n: Any, pad: Any, k: Any, s: Any, d: Any = None, ceil: bool = False) -> Seq:
    """``floor((n + pad − k)/s) + 1``; with a dilation ``d``, ``... − d·(k − 1) − 1 ...``."""
    span = (k,) if d is None else (d, TIMES, paren(k, MINUS, 1), MINUS, 1)
    return row(_rounded(over(paren(n, PLUS, pad, MINUS, *span), s), ceil), PLUS, 1)


def size_step(label: str, n: int, k: int, s: int, pads: tuple[int, int], d: int, out: int,
              ceil: bool = False) -> Step:
    """``H_out = floor((H + 2p − k)/s) + 1 = ... = out`` for one axis of a window layer."""
    if pads[0] == pads[1]:
        pad_f, pad_n = row(2, "p"), times(2, pads[0])
    else:
        pad_f, pad_n = plus("p_before", "p_after"), plus(pads[0], pads[1])
    dilated = d != 1
    return Step(sym(f"{label}_out"),
                size_formula(label, pad_f, "k", "s", "d" if dilated else None, ceil),
                size_formula(n, pad_n, k, s, d if dilated else None, ceil), out)


def same_total_formula(n: Any, k: Any, s: Any, d: Any) -> Call:
    """``max((ceil(n/s) − 1)·s + d·(k − 1) + 1 − n, 0)``: the total padding of ``same``."""
    return Call("max", row(paren(_rounded(over(n, s), True), MINUS, 1), TIMES, s, PLUS, d, TIMES,
                           paren(k, MINUS, 1), PLUS, 1, MINUS, n, COMMA, 0))


def axes(size, kernel, stride, dilation, pairs) -> list[int]:
    """Axis 0 alone when both axes are the same question, else both."""
    same = all(v[0] == v[1] for v in (size, kernel, stride, dilation, pairs))
    return [0] if same else [0, 1]


def padding_steps(padding, names, size, kernel, stride, dilation, pairs) -> list[Step]:
    """How ``same`` and ``full`` padding come out, per axis that differs."""
    steps = []
    for axis in axes(size, kernel, stride, dilation, pairs):
        n, k, s, d = size[axis], kernel[axis], stride[axis], dilation[axis]
        label = names[axis]
        if padding == "same":
            total = sum(pairs[axis])
            steps.append(Step(row("p_total", note(label)), same_total_formula(label, "k", "s", "d"),
                              same_total_formula(n, k, s, d),
                              row(total, Op(" → "), words(f"{pairs[axis][0]} before, {pairs[axis][1]} after"))))
        elif padding == "full":
            steps.append(Step(row("p", note(label)), times("d", paren("k", MINUS, 1)),
                              times(d, paren(k, MINUS, 1)), pairs[axis][0]))
    return steps


def _k_eff(d: Any, k: Any) -> Seq:
    return row(d, TIMES, paren(k, MINUS, 1), PLUS, 1)


def rf_formula(r: Any, k: Any, j: Any) -> Seq:
    """``r_prev + (k − 1)·j_prev``: the receptive field after a window of ``k``."""
    return row(r, PLUS, paren(k, MINUS, 1), TIMES, j)


def _start(start: Any, k: Any, p: Any, j: Any) -> Seq:
    return row(start, PLUS, paren(over(paren(k, MINUS, 1), 2), MINUS, p), TIMES, j)


def rf_steps(prev: tuple[AxisRF, AxisRF], new: tuple[AxisRF, AxisRF], kernel, stride, pads,
             dilation, what: str = "window") -> list[Step]:
    """Receptive field ``r``, jump ``j`` and ``start`` after a window (or transposed) layer."""
    steps = []
    axes_ = [0] if prev[0] == prev[1] and new[0] == new[1] and kernel[0] == kernel[1] else [0, 1]
    for axis in axes_:
        a, b = prev[axis], new[axis]
        tag = "" if len(axes_) == 1 else ("height" if axis == 0 else "width")

        def named(name: str):
            return row(name, note(tag)) if tag else sym(name)

        k, s, p, d = kernel[axis], stride[axis], pads[axis][0], dilation[axis]
        keff = effective_kernel(k, d)
        if what == "transposed":
            sees = row(words("unit 0 sees inputs "), "i", EQUALS, over(paren("p", MINUS, times("t", "d")), "s"),
                       note("whole numbers"))
            span = row("i", Op(" ∈ "), Op("["), number((b.lo - a.lo) / a.jump), COMMA,
                       number((b.hi - a.hi) / a.jump), Op("]"))
            steps.append(Step(named("r"), sees, span, number(b.size)))
            steps.append(Step(named("j"), over("j_prev", "s"), over(number(a.jump), s), number(b.jump)))
            continue
        k_name = "k"
        if d > 1:
            steps.append(Step(named("k_eff"), _k_eff("d", "k"), _k_eff(d, k), keff))
            k_name = "k_eff"
        steps.append(Step(named("r"), rf_formula("r_prev", k_name, "j_prev"),
                          rf_formula(number(a.size), keff, number(a.jump)), number(b.size)))
        steps.append(Step(named("j"), times("j_prev", "s"), times(number(a.jump), s), number(b.jump)))
        steps.append(Step(named("start"), _start("start_prev", k_name, "p", "j_prev"),
                          _start(number(a.start), keff, p, number(a.jump)), number(b.start)))
    return steps
