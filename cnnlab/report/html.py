"""A self-contained HTML page from a title and sections of text, tables and pictures.

Everything the page needs is inside it: the CSS is inline and every picture is embedded
as a base64 PNG ``data:`` URI, so the file can be mailed or opened offline. All text
(titles, captions, cells, paragraphs) is HTML-escaped; nothing given is ever read as markup.

>>> page = render_page("A <b> run", [Section("Results", [Text("acc & loss"),
...     Table(["model", "acc"], [["mlp", 0.91]])])])
>>> "<title>A &lt;b&gt; run</title>" in page and "acc &amp; loss" in page
True
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence, Union

from cnnlab.report.table import format_cell, is_number
from cnnlab.userfiles import write_atomic

__all__ = ["Text", "Code", "Table", "Figure", "Section", "render_page", "write_page"]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #ddd; padding-bottom: .3em; }
h2 { margin-top: 2em; border-bottom: 1px solid #eee; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: .3em .7em; }
th { background: #f4f4f4; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
caption { caption-side: bottom; color: #555; font-size: .9em; padding-top: .4em; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: .9em; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; }
.subtitle, footer { color: #666; }
"""


@dataclass(frozen=True)
class Text:
    """Paragraphs of plain text; a blank line starts a new paragraph."""

    text: str


@dataclass(frozen=True)
class Code:
    """Preformatted text (a command line, a log excerpt)."""

    text: str


@dataclass(frozen=True)
class Table:
    """A table: column names and rows of cells (str, int, float, None; see ``format_cell``)."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    caption: str = ""


@dataclass(frozen=True)
class Figure:
    """A PNG picture, embedded in the page as base64."""

    png: bytes
    caption: str = ""
    alt: str = ""

    def __post_init__(self) -> None:
        if not self.png.startswith(PNG_MAGIC):
            raise ValueError("Figure.png must hold the bytes of a PNG file")

    @classmethod
    def from_path(cls, path: str | Path, caption: str = "", alt: str = "") -> "Figure":
        """Read a PNG file written earlier (e.g. by ``cnnlab.report.figures``)."""
        return cls(Path(path).read_bytes(), caption=caption, alt=alt or caption)


Item = Union[Text, Code, Table, Figure]


@dataclass(frozen=True)
class Section:
    """A heading and what goes under it, in order."""

    title: str
    items: Sequence[Item] = field(default_factory=list)


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _render_item(item: Item) -> str:
    if isinstance(item, Text):
        paragraphs = [p.strip() for p in item.text.split("\n\n") if p.strip()]
        return "\n".join(f"<p>{_esc(p)}</p>" for p in paragraphs)
    if isinstance(item, Code):
        return f"<pre><code>{_esc(item.text)}</code></pre>"
    if isinstance(item, Table):
        head = "".join(f"<th>{_esc(c)}</th>" for c in item.columns)
        body = []
        for row in item.rows:
            if len(row) != len(item.columns):
                raise ValueError(f"row has {len(row)} cells, expected {len(item.columns)}: {row!r}")
            cells = "".join(
                f'<td class="num">{_esc(format_cell(v))}</td>' if is_number(v) else f"<td>{_esc(format_cell(v))}</td>"
                for v in row
            )
            body.append(f"<tr>{cells}</tr>")
        caption = f"<caption>{_esc(item.caption)}</caption>" if item.caption else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    if isinstance(item, Figure):
        data = base64.b64encode(item.png).decode("ascii")
        caption = f"<figcaption>{_esc(item.caption)}</figcaption>" if item.caption else ""
        return f'<figure><img src="data:image/png;base64,{data}" alt="{_esc(item.alt or item.caption)}">{caption}</figure>'
    raise TypeError(f"cannot render {type(item).__name__} in a report section")


def render_page(
    title: str,
    sections: Sequence[Section],
    *,
    subtitle: str = "",
    footer: str | None = None,
) -> str:
    """The whole HTML document as a string.

    ``footer`` defaults to "Written by cnnlab <version> on <UTC time>"; pass "" for none
    (e.g. to get byte-identical pages in tests).
    """
    if footer is None:
        from cnnlab import __version__

        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        footer = f"Written by cnnlab {__version__} on {stamp}."
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{_esc(title)}</h1>",
    ]
    if subtitle:
        parts.append(f'<p class="subtitle">{_esc(subtitle)}</p>')
    for section in sections:
        parts.append("<section>")
        parts.append(f"<h2>{_esc(section.title)}</h2>")
        parts.extend(_render_item(item) for item in section.items)
        parts.append("</section>")
    if footer:
        parts.append(f"<footer><p>{_esc(footer)}</p></footer>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def write_page(path: str | Path, title: str, sections: Sequence[Section], **kwargs: Any) -> Path:
    """Render the page and write it (UTF-8) to ``path``; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, render_page(title, sections, **kwargs), "page")
    return path
