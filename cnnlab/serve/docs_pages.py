"""``GET /docs/NAME.md``: the repository's own docs as a page, for the links beside every view.

Only names of the form ``word.md`` in the docs folder are served (no paths, no other files);
headings get ``id`` anchors (``## Stride`` → ``#stride``) so the pages' glossary can link to
one paragraph; the page wears the pages' shell (:mod:`cnnlab.serve.shell`). The docs folder
is the one inside the package, ``cnnlab/docs`` — the repository's ``docs/*.md`` installed
there by setup.py, the same files, never a second copy — and, in a source checkout where the
package has none, the checkout's ``docs/`` folder (:func:`cnnlab.api.examples.shipped_folder`;
docs/serve.md, "Explanations").
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from cnnlab.api.examples import shipped_folder
from cnnlab.serve.shell import shell_html

__all__ = ["docs_page", "docs_root", "DOCS_DIR"]

_PACKAGE = Path(__file__).resolve().parents[1]  # cnnlab/
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}\.md$")
_HEADING = re.compile(r"<h([1-6])>(.*?)</h\1>")


def docs_root(package: Path = _PACKAGE) -> Path | None:
    """The folder the docs pages come from: ``cnnlab/docs`` when installed from a wheel or an
    sdist, else the ``docs/`` folder of the source checkout the package is imported from."""
    return shipped_folder("docs", package)


DOCS_DIR = docs_root()


def _slug(heading_html: str) -> str:
    """``Receptive <code>field</code>`` → ``receptive-field``."""
    text = html.unescape(re.sub(r"<[^>]+>", "", heading_html)).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def docs_page(name: str, docs_dir: Path | None = None) -> str | None:
    """The page of ``NAME`` in the docs folder (``docs_dir``, default :data:`DOCS_DIR`) as
    HTML, or None when there is no such doc."""
    from cnnlab.doc.markdown_html import markdown_to_html

    docs_dir = DOCS_DIR if docs_dir is None else docs_dir
    if docs_dir is None or not _NAME.match(name or ""):
        return None
    path = docs_dir / name
    if not path.is_file():
        return None
    body = _HEADING.sub(lambda m: f'<h{m[1]} id="{_slug(m[2])}">{m[2]}</h{m[1]}>',
                        markdown_to_html(path.read_text(encoding="utf-8")))
    return shell_html(name, f'<div class="worked">{body}</div>\n')
