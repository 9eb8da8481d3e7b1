"""The document model and its writers: one tree of blocks, one writer per format.

``write(blocks, "latex")`` writes a result's blocks (:mod:`cnnlab.doc.blocks`) as text,
Markdown, LaTeX, HTML or JSON. This is the lowest layer of cnnlab: it imports nothing else
of the package, so every other layer may build blocks (docs/architecture.md).

>>> from cnnlab.doc.blocks import Heading, StepList, Formula
>>> from cnnlab.doc.expr import Index, Sum, Product, Num
>>> print(write([Heading("Cell"), StepList([Formula(Index("O", (0, 0)), [Sum((Product(2, -1), Num(3))), Num(1)])])]), end="")
Cell
====
<BLANKLINE>
O[1,1] = 2·(-1) + 3 = 1
"""

from __future__ import annotations

from typing import Any

from cnnlab.doc.html import HtmlWriter
from cnnlab.doc.latex import LatexWriter, escape, standalone
from cnnlab.doc.markdown import MarkdownWriter
from cnnlab.doc.text import TextWriter
from cnnlab.doc.tojson import JsonWriter

__all__ = ["WRITERS", "FORMATS", "writer", "write", "escape", "standalone"]

WRITERS: dict[str, type] = {"text": TextWriter, "markdown": MarkdownWriter, "latex": LatexWriter,
                            "html": HtmlWriter, "json": JsonWriter}
FORMATS = tuple(WRITERS)


class UnknownFormat(ValueError):
    """A format no writer writes."""


def writer(fmt: str, round: int | None = None) -> Any:
    """The writer of ``fmt`` with numbers shown to ``round`` decimals (None: exact/trimmed)."""
    try:
        return WRITERS[fmt](round)
    except KeyError:
        raise UnknownFormat(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}") from None


def write(blocks: list, fmt: str = "text", round: int | None = None) -> str:
    """``blocks`` written in ``fmt``."""
    return writer(fmt, round).render(blocks)
