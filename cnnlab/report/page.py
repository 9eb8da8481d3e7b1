"""A report page: a :mod:`cnnlab.doc` document written as one self-contained HTML file.

Comparisons, studies and explanations build their reports as blocks (headings,
paragraphs, tables, figures that point at the PNG files of the run folder); this module
writes them with the document model's HTML writer and embeds every picture as a base64
PNG ``data:`` URI, so that the page can be mailed or opened offline. Every string given
is escaped by the writer; nothing is read as markup.

>>> from cnnlab.doc.blocks import Heading, Paragraph
>>> page = render_page([Heading("A <b> run"), Paragraph("acc & loss")], footer="")
>>> "<title>A &lt;b&gt; run</title>" in page and "acc &amp; loss" in page
True
"""

from __future__ import annotations

import base64
import dataclasses
from datetime import datetime, timezone
from pathlib import Path

from cnnlab.doc import write
from cnnlab.doc.blocks import Block, Figure, Heading
from cnnlab.doc.htmlpage import standalone
from cnnlab.userfiles import write_atomic

__all__ = ["PNG_MAGIC", "embed_figures", "render_page", "write_page"]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _data_uri(path: str) -> str:
    png = Path(path).read_bytes()
    if not png.startswith(PNG_MAGIC):
        raise ValueError(f"{path} is not a PNG file; a report embeds PNG pictures only")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def embed_figures(blocks: list[Block]) -> list[Block]:
    """The blocks with every figure's picture read and pointed at as a ``data:`` URI."""
    return [dataclasses.replace(b, path=_data_uri(b.path))
            if isinstance(b, Figure) and not b.path.startswith("data:") else b for b in blocks]


def _stamp() -> str:
    from cnnlab import __version__

    return f"Written by cnnlab {__version__} on {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}."


def render_page(blocks: list[Block], footer: str | None = None) -> str:
    """The whole HTML document: the title is the first heading's text.

    ``footer`` defaults to "Written by cnnlab <version> on <UTC time>"; pass "" for none
    (e.g. to get byte-identical pages in tests).
    """
    title = next((b.text for b in blocks if isinstance(b, Heading)), "cnnlab")
    body = write(embed_figures(blocks), "html")
    return standalone(body, title, _stamp() if footer is None else footer)


def write_page(path: str | Path, blocks: list[Block], footer: str | None = None) -> Path:
    """Render the page and write it (UTF-8, atomically) to ``path``; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, render_page(blocks, footer), "page")
    return path
