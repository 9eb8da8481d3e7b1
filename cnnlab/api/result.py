"""What every command of the Python API returns: one result, every face.

``r.to_json()`` is the object ``cnnlab CMD --format json`` prints, ``str(r)`` the text it
prints (without the final newline), ``r.to_markdown()`` / ``r.to_latex()`` the other
formats, and ``r._repr_html_()`` the notebook view. The CLI prints ``r.render(fmt)``; the
web app answers ``r.to_json()``. See docs/python.md.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Callable

__all__ = ["Result", "RenderedResult"]


class Result:
    """A command's result: its JSON object and its rendering in each format.

    Subclasses give :meth:`render` for "text", "markdown", "latex" and "html"; JSON is
    always ``to_json()``.
    """

    def __init__(self, data: dict):
        self._data = data

    def to_json(self) -> dict:
        """The object ``--format json`` prints (a copy: changing it changes nothing here)."""
        return copy.deepcopy(self._data)

    def render(self, fmt: str) -> str:  # pragma: no cover - every subclass gives it
        raise NotImplementedError

    def output(self, fmt: str) -> str:
        """Exactly what the CLI prints with ``--format fmt`` (JSON on one line)."""
        if fmt == "json":
            return json.dumps(self._data) + "\n"
        return self.render(fmt)

    def __str__(self) -> str:
        return self.render("text").removesuffix("\n")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of cnnlab {self.command}: str() for the text, .to_json() for the data>"

    command = "?"

    def to_markdown(self) -> str:
        return self.render("markdown")

    def to_latex(self, standalone: bool = False) -> str:
        """A LaTeX fragment (amsmath, graphicx), or a complete document."""
        text = self.render("latex")
        if standalone:
            from cnnlab.doc.latex import standalone as wrap

            text = wrap(text)
        return text

    # Notebook display: Jupyter shows the richest it can (HTML), keeps the others
    def _repr_html_(self) -> str:
        return self.render("html")

    def _repr_markdown_(self) -> str:
        return self.render("markdown")

    def _repr_latex_(self) -> str:
        return self.render("latex")

    def __getitem__(self, key: str) -> Any:
        """``r["output"]``: a field of the JSON object."""
        return self._data[key]


class RenderedResult(Result):
    """A result whose formats come from an existing renderer (problem sets, architectures).

    ``render_fn(fmt)`` gives text, Markdown, LaTeX or HTML, each written by the doc
    writers from the renderer's blocks.
    """

    def __init__(self, command: str, data: dict, render_fn: Callable[[str], str], exit_status: int = 0):
        super().__init__(data)
        self.command = command
        self._render_fn = render_fn
        self.exit_status = exit_status  # what the CLI exits with (check: 1 when a claim is wrong)

    def render(self, fmt: str) -> str:
        return self._render_fn(fmt)
