"""The building blocks of a rendered worked solution, shared by every output format.

:mod:`cnnlab.steps.layout` turns a trace into a list of these blocks once; each format
(:mod:`render_text`, :mod:`render_markdown`, :mod:`render_latex`) only says how a block
looks. Strings inside blocks are already written in the target format (the layout builds
them with the format's own primitives: numbers, products, fractions).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Heading", "Para", "Matrices", "Equation", "Group", "Block", "MatrixText"]

MatrixText = list[list[str]]  # a matrix whose entries are already formatted


@dataclass
class Heading:
    """A section title ("Convolution", "Cells")."""

    text: str


@dataclass
class Para:
    """A sentence of prose (format-neutral text; renderers escape it)."""

    text: str


@dataclass
class Matrices:
    """Matrices side by side, e.g. ``window ⊙ kernel = products``.

    items: (label, matrix) pairs; label may be "" for none.
    ops: the operators between consecutive items ("⊙", "=", ","), one fewer than items.
    lhs: an optional left-hand side ("O[1,1]"), already formatted.
    """

    items: list[tuple[str, MatrixText]]
    ops: list[str] = field(default_factory=list)
    lhs: str = ""


@dataclass
class Equation:
    """A chain of equalities ``lhs = rhs[0] = rhs[1] = ...`` (all parts already formatted)."""

    lhs: str
    rhs: list[str]


@dataclass
class Group:
    """Math lines that belong together (one output cell, the given matrices)."""

    lines: list[Matrices | Equation | Para]


Block = Heading | Para | Group
