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

from importlib import import_module
from typing import Any

__all__ = ["WRITERS", "FORMATS", "DOCUMENT_FORMATS", "RESULT_FORMATS", "writer", "write"]

# format -> "module:class" of its writer (an entry point, as packaging names them); a
# writer's module is imported when first used, so `cnnlab conv` (text) does not load the HTML
# or LaTeX writers (docs/architecture.md: a new format is one module and one line here)
WRITERS: dict[str, str] = {
    "text": "cnnlab.doc.text:TextWriter",
    "markdown": "cnnlab.doc.markdown:MarkdownWriter",
    "latex": "cnnlab.doc.latex:LatexWriter",
    "html": "cnnlab.doc.html:HtmlWriter",
    "json": "cnnlab.doc.tojson:JsonWriter",
}
FORMATS = tuple(WRITERS)
# the formats a document is read in (JSON is its block tree): what the steps, kernel and arch
# renderers offer, named here so that none re-types them or imports a writer to list them
DOCUMENT_FORMATS = tuple(f for f in WRITERS if f != "json")
# what a worked result is printed as on the command line (`--format`): the page formats,
# or its JSON object; HTML is for notebooks and the web page
RESULT_FORMATS = ("text", "markdown", "latex", "json")


class UnknownFormat(ValueError):
    """A format no writer writes."""


def writer(fmt: str, round: int | None = None) -> Any:
    """The writer of ``fmt`` with numbers shown to ``round`` decimals (None: exact/trimmed)."""
    if fmt not in WRITERS:
        raise UnknownFormat(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    module, _, name = WRITERS[fmt].partition(":")
    return getattr(import_module(module), name)(round)


def write(blocks: list, fmt: str = "text", round: int | None = None) -> str:
    """``blocks`` written in ``fmt``."""
    return writer(fmt, round).render(blocks)
