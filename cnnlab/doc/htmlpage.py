"""A complete HTML page around the HTML writer's fragment, as :func:`cnnlab.doc.latex.standalone`
is a complete LaTeX document around the LaTeX writer's.

The page needs nothing from outside itself: the style sheet is inline, and pictures are
whatever the blocks' figures point at (``cnnlab.report.page`` embeds them as ``data:``
URIs, so a report can be mailed or opened offline). The fragment's first heading is the
page's title; the page's ``<title>`` repeats it. Reports give their headings levels
(:attr:`cnnlab.doc.blocks.Heading.level`: the title 1, sections 2), which the page styles.

>>> page = standalone("<p>x</p>", "A <b> run", footer="")
>>> "<title>A &lt;b&gt; run</title>" in page and page.startswith("<!DOCTYPE html>")
True
"""

from __future__ import annotations

import html

__all__ = ["PAGE_STYLE", "standalone"]

# the writer's fragment styles its own blocks; this frames them as a page: a readable
# width, the title (a level-1 heading, h1) and the sections (h2) ruled off, a picture
# (a figure of the document itself, not one of a row of matrices) on a line of its own
PAGE_STYLE = """<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1100px;
padding:0 1em;color:#222;line-height:1.45}
.cnnlab-doc h1{font-size:2em;margin:.2em 0 .3em;border-bottom:2px solid #ddd;padding-bottom:.3em}
.cnnlab-doc h2{font-size:1.45em;margin:1.6em 0 .4em;border-bottom:1px solid #eee}
body>.cnnlab-doc>figure{display:flex;margin:1em 0;align-items:flex-start}
.cnnlab-doc figure img{max-width:100%;height:auto;border:1px solid #eee}
.cnnlab-doc table.cnn-table th{background:#f4f4f4}
.cnnlab-doc pre{background:#f6f8fa;padding:.8em;overflow-x:auto}
footer{color:#666;margin-top:2em}
</style>"""


def standalone(fragment: str, title: str, footer: str = "") -> str:
    """An ``<!DOCTYPE html>`` document: ``<title>``, the page style, ``fragment`` and a footer
    line (escaped; "" for none)."""
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{html.escape(title)}</title>", PAGE_STYLE, "</head>", "<body>", fragment.rstrip("\n")]
    if footer:
        parts.append(f"<footer><p>{html.escape(footer)}</p></footer>")
    return "\n".join(parts + ["</body>", "</html>", ""])
