"""``GET /docs/NAME.md``: the repository's own docs as a page, for the links beside every view.

Only names of the form ``word.md`` in the ``docs/`` folder next to the package are served
(no paths, no other files); headings get ``id`` anchors (``## Stride`` → ``#stride``) so
the pages' glossary can link to one paragraph. An installed package without the docs
folder answers 404 with a line saying where the docs are.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

__all__ = ["docs_page", "DOCS_DIR"]

DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}\.md$")
_HEADING = re.compile(r"<h([1-6])>(.*?)</h\1>")


def _slug(heading_html: str) -> str:
    """``Receptive <code>field</code>`` → ``receptive-field``."""
    text = html.unescape(re.sub(r"<[^>]+>", "", heading_html)).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def docs_page(name: str, docs_dir: Path = DOCS_DIR) -> str | None:
    """The page of ``docs/NAME`` as HTML, or None when there is no such doc."""
    from cnnlab.serve.markdown import markdown_to_html

    if not _NAME.match(name or ""):
        return None
    path = docs_dir / name
    if not path.is_file():
        return None
    body = _HEADING.sub(lambda m: f'<h{m[1]} id="{_slug(m[2])}">{m[2]}</h{m[1]}>',
                        markdown_to_html(path.read_text(encoding="utf-8")))
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>cnnlab · {html.escape(name)}</title>"
            '<link rel="stylesheet" href="/static/cnnlab.css"><script src="/static/cnnlab.js"></script></head>'
            f'<body><main class="worked">{body}</main><script>nav("");</script></body></html>')
