"""The document model: a result is a list of blocks, each format is one writer.

Domain code (worked steps, problem keys) builds these blocks from numbers and never asks
which format it is in; :mod:`cnnlab.doc.writers` turns them into text, Markdown, LaTeX,
HTML or JSON. Maths inside blocks is an expression tree (:mod:`cnnlab.doc.expr`), so a
writer can typeset it and break a long sum across lines. A ``str`` where an expression is
expected is taken as already written in the target format (older callers build those).
See docs/architecture.md for where a new block kind or format goes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from cnnlab.doc.expr import Expr

__all__ = ["Heading", "Paragraph", "Para", "TensorGrid", "Matrices", "Formula", "Equation",
           "StepList", "Group", "Table", "ValueCell", "Cell", "display_cell", "Bullets", "Figure", "Block",
           "MatrixText", "ROLES"]

MatrixText = list[list[str]]  # a matrix whose entries are already formatted (older callers)
Inline = Union[str, Expr]  # prose is plain text with maths (numbers, O[1,2]) inside it

# what a cell of a tensor grid is: the HTML writer makes them CSS classes
ROLES = ("padding", "window", "selected", "output")


@dataclass
class Heading:
    """A section title ("Convolution", "Cells").

    level: 1 the document's title, 2 its sections, 3 their subsections, and so on; None
        (worked steps, keys: documents that sit inside a larger one) makes the first heading
        of a document its title and every later one a section, each writer placing them at
        its own depth (Markdown ``##``/``###``, HTML ``h3``/``h4``, LaTeX ``\\subsection*``)
        below the headings of the sheet around them.
    """

    text: str
    level: int | None = None

    def depth(self, first: bool, auto: tuple[int, int]) -> int:
        """The level to write: :attr:`level`, or when it is None ``auto[0]`` for the heading
        that opens a document (``first``) and ``auto[1]`` for a later one.

        >>> Heading("Cells").depth(False, (3, 4)), Heading("Run", 2).depth(True, (3, 4))
        (4, 2)
        """
        if self.level is not None:
            return self.level
        return auto[0] if first else auto[1]


@dataclass
class Paragraph:
    """A sentence of prose: plain text (writers escape it) with inline maths parts.

    text: a string, or a list of strings and expressions written one after another.
    """

    text: str | list[Inline]

    @property
    def parts(self) -> list[Inline]:
        return [self.text] if isinstance(self.text, str) else list(self.text)


Para = Paragraph


@dataclass
class TensorGrid:
    """A matrix of values with a role per cell; writers cut it to ``limit`` rows/columns.

    values: (H, W) numbers (floats, ints or Fractions).
    roles: (row, col) -> role names from :data:`ROLES` (zero-based positions).
    limit: rows/columns shown before dots; None shows every one.
    frame: the larger grid this one belongs to, its cells marked (the window on the padded
        input, the selected cell of the output): the HTML writer draws it beside the values
        (before the first item of a row, after the last), text and LaTeX leave it out.
    caption: what the frame shows.
    """

    values: Any
    roles: dict[tuple[int, int], set[str]] = field(default_factory=dict)
    limit: int | None = 24
    frame: "TensorGrid | None" = None
    caption: str = ""


@dataclass
class Matrices:
    """Matrices side by side, e.g. ``window ⊙ kernel = products``.

    items: (label, grid) pairs; label may be "" for none; a grid is a :class:`TensorGrid`
        or an already-formatted :data:`MatrixText`.
    ops: the operators between consecutive items ("⊙", "=", ",", "⊗"), one fewer than items.
    lhs: an optional left-hand side (an expression such as ``Name("O")``).
    """

    items: list[tuple[str, TensorGrid | MatrixText]]
    ops: list[str] = field(default_factory=list)
    lhs: Inline = ""


@dataclass
class Formula:
    """A chain of equalities ``lhs = rhs[0] = rhs[1] = ...``; each part an expression."""

    lhs: Inline
    rhs: list[Inline]


Equation = Formula


@dataclass
class StepList:
    """Math lines that belong together (one output cell, the given matrices)."""

    lines: list[Matrices | Formula | Paragraph]


Group = StepList


@dataclass
class ValueCell:
    """A measured value in a table cell, kept with the text shown for it: every page writer
    shows ``text`` ("0.9877", "-", "yes"), the JSON writer gives ``value`` (0.98765, null, true).

    value: a number, a bool or None (missing). text: the value as the table shows it.
    """

    value: Any
    text: str

    def __str__(self) -> str:
        return self.text


Cell = Union[str, Expr, ValueCell]  # what a table cell holds


def display_cell(cell: Cell) -> str | Expr:
    """What a page writer writes for ``cell``: a value cell's text, any other cell itself."""
    return cell.text if isinstance(cell, ValueCell) else cell


@dataclass
class Table:
    """A table: a header row and rows of cells (strings, expressions or value cells).

    align: one letter per column, ``l`` or ``r`` (numbers); "" leaves every column left.
    code: the columns whose cells are code (a layer spec), set in a monospace font.
    caption: a sentence about the table (what its columns mean), written with it: after it
        in text, Markdown and LaTeX, as its ``<caption>`` in HTML; "" for none.
    """

    header: list[str]
    rows: list[list[Cell]]
    align: str = ""
    code: tuple[int, ...] = ()
    caption: str = ""

    def aligns(self) -> str:
        """The alignment letter of every column."""
        return (self.align or "").ljust(len(self.header), "l")


@dataclass
class Bullets:
    """Short facts, one an item (totals under a table, what a kernel is)."""

    items: list[Inline]


@dataclass
class Figure:
    """An image file with a caption (writers link or include it)."""

    path: str
    caption: str = ""


Block = Union[Heading, Paragraph, StepList, Table, Bullets, Figure]


@dataclass
class Code:
    """Preformatted text kept as it is, line breaks and spaces included (a settings file, a
    command line to copy).

    language: what the text is ("json", "shell"), for the writers that label it; "" for none.
    """

    text: str
    language: str = ""


__all__ += ["Code"]
