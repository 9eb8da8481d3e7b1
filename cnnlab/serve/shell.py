"""The one page shell of ``cnnlab serve``: every page's head, navigation and footer, written once.

``static/_shell.html`` holds what every page shares — the charset and viewport, the icon,
the style sheet, ``cnnlab.js`` and the navigation bar, whose links are made from
:data:`PAGES` (the one list of pages: the routes and the bar both come from it). Each page
of :data:`PAGES` keeps only its own part, the inside of ``<main>``, in ``static/NAME.html``
(a fragment, not a page); :func:`page_html` puts the two together, once per page and
process. The docs pages (:mod:`cnnlab.serve.docs_pages`) use the same shell through
:func:`shell_html`. docs/serve.md, "The pages", says what each page does.
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass
from importlib import resources
from string import Template

__all__ = ["PageSpec", "PAGES", "page_html", "shell_html", "nav_html"]


@dataclass(frozen=True)
class PageSpec:
    """One page: served at ``/NAME``; its body is ``static/NAME.html``, its script ``static/NAME.js``."""

    name: str
    label: str  # its link in the navigation bar
    title: str  # after "cnnlab · " in the browser's tab
    helpers: tuple[str, ...] = ()  # scripts of static/ it needs besides cnnlab.js, loaded before its own


PAGES: dict[str, PageSpec] = {page.name: page for page in (
    PageSpec("conv", "Convolution", "convolution playground", helpers=("conv_inputs.js",)),
    PageSpec("solve", "Solve a sheet", "solve a problem sheet"),
    PageSpec("arch", "Architecture", "architecture table"),
    PageSpec("explore", "Explore a run", "explore a trained run", helpers=("drawpad.js",)),
    PageSpec("network", "Network", "see the network think", helpers=("drawpad.js",)),
)}


def _static_text(name: str) -> str:
    return resources.files("cnnlab.serve").joinpath("static", name).read_text("utf-8")


def nav_html(current: str = "") -> str:
    """The navigation bar: the brand, then a link to each page of :data:`PAGES`; the one
    named ``current`` is marked ``here``.

    >>> nav_html("arch").count('class="here"'), nav_html().count('class="here"')
    (1, 0)
    """
    here = {current: ' class="here"'}
    links = "".join(f'<a href="/{p.name}"{here.get(p.name, "")}>{html.escape(p.label)}</a>' for p in PAGES.values())
    return f'<header class="top"><span class="brand">cnnlab</span>{links}</header>'


def shell_html(title: str, body: str, nav: str = "", scripts: tuple[str, ...] = ()) -> str:
    """A whole page: the shell around ``body`` (HTML put inside ``<main>`` as it is).

    ``title`` is plain text (escaped here); ``nav`` the page the navigation bar marks as
    the current one ("" for none); ``scripts`` the files of ``static/`` loaded deferred, in
    that order, after ``cnnlab.js``.

    >>> page = shell_html("a & b", "<p>hi</p>\\n")
    >>> "<title>cnnlab · a &amp; b</title>" in page and "<main>\\n<p>hi</p>\\n</main>" in page
    True
    """
    tags = "".join(f'<script src="/static/{html.escape(s)}" defer></script>\n' for s in scripts)
    return Template(_static_text("_shell.html")).substitute(
        title=html.escape(title, quote=False), scripts=tags, body=body, nav=nav_html(nav))


@functools.lru_cache(maxsize=None)
def page_html(name: str) -> str:
    """The page ``/NAME`` of :data:`PAGES` as the browser gets it (built once per process).

    >>> page_html("conv").count('<script src="/static/conv.js" defer></script>')
    1
    """
    page = PAGES[name]
    return shell_html(page.title, _static_text(f"{name}.html"), nav=name,
                      scripts=(*page.helpers, f"{name}.js"))
