"""The Markdown that cnnlab writes, as HTML (headings, paragraphs, code, tables, lists).

Its one user is the web page's docs viewer (``cnnlab/serve/docs_pages.py``), which shows
the repository's ``docs/*.md``: this converter handles the small subset those pages use,
escaping every piece of text. Results (worked solutions, quizzes, tables) never pass
through it: they are written as HTML by :mod:`cnnlab.doc.html` and
:class:`cnnlab.doc.outline.HtmlOutline` from their blocks.

>>> markdown_to_html("## (a) `x`\\n\\nSome **bold** text.\\n\\n```text\\n[ 1 2 ]\\n```")
'<h2>(a) <code>x</code></h2>\\n<p>Some <strong>bold</strong> text.</p>\\n<pre><code>[ 1 2 ]</code></pre>'
"""

from __future__ import annotations

import html
import re

__all__ = ["markdown_to_html", "inline"]

_BULLET = re.compile(r"^([-*]|\d+\.)\s+")
_INLINE = re.compile(r"`([^`]+)`|\*\*(.+?)\*\*|\*(\S(?:.*?\S)?)\*")


def inline(text: str) -> str:
    """Code spans, bold and italics; everything else escaped."""
    out, pos = [], 0
    for m in _INLINE.finditer(text):
        out.append(html.escape(text[pos:m.start()]))
        if m.group(1) is not None:
            out.append(f"<code>{html.escape(m.group(1))}</code>")
        elif m.group(2) is not None:
            out.append(f"<strong>{inline(m.group(2))}</strong>")
        else:
            out.append(f"<em>{inline(m.group(3))}</em>")
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _table(rows: list[str]) -> str:
    cells = [[c.strip() for c in r.strip().strip("|").split("|")] for r in rows]
    rule = len(rows) > 1 and set(rows[1].strip()) <= set("|:- ")
    head, body = cells[0], cells[2:] if rule else cells[1:]
    th = "".join(f"<th>{inline(c)}</th>" for c in head)
    trs = "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in r) + "</tr>" for r in body)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def markdown_to_html(text: str) -> str:
    """HTML for cnnlab's Markdown output (not a general Markdown implementation)."""
    lines = text.splitlines()
    blocks: list[str] = []
    para: list[str] = []
    i = 0

    def flush() -> None:
        if para:
            blocks.append(f"<p>{inline(' '.join(para))}</p>")
            para.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            blocks.append(f"<pre><code>{html.escape(chr(10).join(lines[i + 1:j]))}</code></pre>")
            i = j + 1
            continue
        heading = re.match(r"^(#{1,6})\s+(.*)$", stripped)
        if heading:
            flush()
            level = len(heading.group(1))
            blocks.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
        elif stripped.startswith("|"):
            flush()
            j = i
            while j < len(lines) and lines[j].strip().startswith("|"):
                j += 1
            blocks.append(_table(lines[i:j]))
            i = j
            continue
        elif _BULLET.match(stripped):
            flush()
            ordered = stripped[0].isdigit()
            items = []
            while i < len(lines) and _BULLET.match(lines[i].strip()):
                items.append("<li>" + inline(_BULLET.sub("", lines[i].strip())) + "</li>")
                i += 1
            tag = "ol" if ordered else "ul"
            blocks.append(f"<{tag}>{''.join(items)}</{tag}>")
            continue
        elif stripped in ("---", "***"):
            flush()
            blocks.append("<hr>")
        elif not stripped:
            flush()
        else:
            para.append(stripped)
        i += 1
    flush()
    return "\n".join(blocks)
