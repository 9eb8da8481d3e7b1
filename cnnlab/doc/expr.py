"""Expressions inside formulas: numbers, products, sums, fractions, calls, indices.

A worked step such as ``O[1,1] = 0·1 + 1·(-1) = -1`` is ``Formula(Index("O", (0, 0)),
[Sum([Product(0, 1), Product(1, -1)]), Num(-1)])``: the writers decide how a product,
a fraction or a floor looks (``·`` or ``\\cdot``, ``a / b`` or ``\\frac``), and where a long
sum may break. Plain ``str`` parts are words or symbols written as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

__all__ = ["Expr", "Num", "Product", "Sum", "Frac", "Call", "Exp", "Index", "Sub", "Round",
           "Sym", "Seq", "Paren", "Vector", "Args", "Approx", "Words", "ChannelSum", "Var", "Op"]


@dataclass(frozen=True)
class Num:
    """One number (float, int or Fraction); in parentheses when negative and ``paren``."""

    value: Any
    paren: bool = False


@dataclass(frozen=True)
class Product:
    """``a · b`` of two numbers (negative factors in parentheses)."""

    a: Any
    b: Any


@dataclass(frozen=True)
class Sum:
    """``t1 + t2 + ...``: a later term that starts with a minus goes in parentheses."""

    terms: tuple


@dataclass(frozen=True)
class Frac:
    """``numerator / denominator``; ``inline``: a slash on the line, ``a/b``, in every format
    (the architecture table's formulas) instead of a stacked fraction."""

    num: Any
    den: Any
    inline: bool = False


@dataclass(frozen=True)
class Call:
    """``fn(arg)``; ``fn`` is a function name (relu, sigmoid, max)."""

    fn: str
    arg: Any


@dataclass(frozen=True)
class Exp:
    """``e`` to the power ``arg``."""

    arg: Any


@dataclass(frozen=True)
class Index:
    """``name`` at a zero-based position, shown counted from 1 (``O[1,2]``)."""

    name: str
    idx: tuple


@dataclass(frozen=True)
class Sub:
    """A name with a word below it: ``H_out``."""

    name: str
    sub: str


@dataclass(frozen=True)
class Round:
    """``⌊x⌋``, or ``⌈x⌉`` with ``up``; ``spelled``: plain text writes ``floor(x)`` /
    ``ceil(x)`` (the architecture table's ASCII-friendly form), the typesetting writers
    still draw brackets."""

    arg: Any
    up: bool = False
    spelled: bool = False


@dataclass(frozen=True)
class Sym:
    """A named symbol: "sum" is Σ."""

    name: str


@dataclass(frozen=True)
class Seq:
    """Parts written one after another, ``sep`` between them: ``4 + 1 - (3 - 1) - 1`` (a
    space); ``sep=""`` when the spacing is in :class:`Op` parts, ``Seq((Var("d"), Op("·"),
    Paren(...)), "")`` is ``d·(k − 1)``."""

    parts: tuple
    sep: str = " "


@dataclass(frozen=True)
class Paren:
    """``(x)``."""

    arg: Any


@dataclass(frozen=True)
class Vector:
    """A row of numbers ``[1, 2, 3]``."""

    values: tuple


@dataclass(frozen=True)
class Args:
    """Numbers separated by commas: the arguments of ``max(1, 2, 3)``."""

    values: tuple


@dataclass(frozen=True)
class Approx:
    """``exact ≈ decimal``."""

    a: Any
    b: Any


@dataclass(frozen=True)
class Words:
    """Prose inside a formula."""

    text: str


@dataclass(frozen=True)
class ChannelSum:
    """The sum of one input channel's products (``Σ channel 2``), channel counted from 1."""

    channel: int


@dataclass(frozen=True)
class Var:
    """A quantity's symbol: ``H``, ``k``, ``γ``; a word (``weights``) is set upright."""

    name: str


@dataclass(frozen=True)
class Op:
    """An operator between the parts of a :class:`Seq`, with the spaces plain text puts
    around it: ``Op(" − ")``, ``Op("·")``, ``Op("/")``."""

    text: str


Expr = Union[Num, Product, Sum, Frac, Call, Exp, Index, Sub, Round, Sym, Seq, Paren, Vector, Args, Approx,
             Words, ChannelSum, Var, Op]
