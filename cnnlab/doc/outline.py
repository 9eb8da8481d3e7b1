"""Documents made of sections: problem sheets, worked keys and quizzes; one writer per format.

The blocks of :mod:`cnnlab.doc.blocks` are one worked computation; a problem sheet puts
many of them under headings, with questions, labelled values (``X = [...]``) and verdicts.
The blocks here say *what* a piece of the sheet is; :func:`write_outline` writes them in a
format (text, Markdown, a complete LaTeX document, HTML) and no caller branches on it:

>>> doc = [Section(["Problem 1"], 1), Lead(["Answer"], [Labelled("y", 3)])]
>>> print(write_outline(doc, "markdown"), end="")
# Problem 1
<BLANKLINE>
**Answer**
<BLANKLINE>
y = 3
>>> print(write_outline(doc, "text"), end="")
Problem 1
=========
<BLANKLINE>
Answer
y = 3

docs/architecture.md says where a new format goes: a writer here and in
:mod:`cnnlab.doc` (the inner blocks).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Union

import numpy as np

from cnnlab.doc import UnknownFormat, writer as inner_writer
from cnnlab.doc.latex import escape, standalone

__all__ = ["Code", "Section", "Prose", "Lead", "Labelled", "Callout", "Steps", "Foreign", "Demoted",
           "OUTLINE_WRITERS", "outline_writer", "write_outline", "latex_prose", "ascii_latex", "fit_width"]


# -- blocks -------------------------------------------------------------------------
@dataclass
class Code:
    """Text quoted as typed (a problem file's ``ask:``), inline in prose."""

    text: str


Words = list[Union[str, Code]]  # prose: plain strings (writers escape them) and code


@dataclass
class Section:
    """A heading: level 1 a problem (or the document's title), 2 a part, 3 below.

    new_page: starts on a new page (LaTeX) / after a rule (Markdown) — an answer key.
    """

    title: Words
    level: int = 1
    new_page: bool = False


@dataclass
class Prose:
    """A paragraph of words."""

    words: Words


@dataclass
class Lead:
    """A run-in heading ("Answer", "Given", "(a)") and what it leads: on the next line, or
    on the same line with ``inline``; ``body`` None for a heading alone."""

    title: Words
    body: list | None = None
    inline: bool = False


@dataclass
class Labelled:
    """``label = value`` with the value laid out (numbers, matrices, C×H×W tensors, dicts);
    label "" for the value alone; a :class:`Code` label is a call that gives the value.

    round: decimals shown (None: exact/trimmed).
    """

    label: str | Code
    value: Any
    round: int | None = None


@dataclass
class Callout:
    """A verdict and its details ("Claimed answer: wrong", "2 cells differ ...")."""

    title: str
    items: list[str] = field(default_factory=list)


@dataclass
class Steps:
    """A worked computation as inner blocks of :mod:`cnnlab.doc.blocks`.

    build(compact): the blocks (or outline blocks, e.g. a :class:`Labelled` value) given
    whether the format wants compact steps (LaTeX: a key to hand out). round: decimals shown.
    """

    build: Callable[[bool], list]
    round: int | None = None


@dataclass
class Foreign:
    """A piece another layer writes from its own blocks: ``render(fmt)`` with fmt "text",
    "markdown", "latex" or "html" (an architecture table, a kernel description)."""

    render: Callable[[str], str]


@dataclass
class Demoted:
    """A piece whose own headings sit one level below the surrounding section's."""

    block: Any


OutlineBlock = Union[Section, Prose, Lead, Labelled, Callout, Steps, Foreign, Demoted]


# -- LaTeX helpers -----------------------------------------------------------------------
# symbols our own prose uses that the LaTeX escape does not know
_LATEX_EXTRA = {"⊗": r"$\otimes$", "∂": r"$\partial$", "δ": r"$\delta$", "ᵀ": r"$^{T}$", "✓": "",
                "✗": "", "—": "---", "–": "--", "≠": r"$\neq$", "⋮": r"$\vdots$", "°": r"$^\circ$"}


def latex_prose(text: str) -> str:
    """Prose for LaTeX, including the check marks and dashes of verdicts."""
    return "".join(_LATEX_EXTRA[ch] if ch in _LATEX_EXTRA and ch != "°" else escape(ch) for ch in text)


def ascii_latex(document: str) -> str:
    """Replace any remaining non-ASCII symbol, so pdflatex without Unicode set-up compiles it."""
    return re.sub(r"[^\x00-\x7f]", lambda m: _LATEX_EXTRA.get(m.group(0), "?"), document)


# a tabular the LaTeX writer has not scaled already (it scales one it measures too wide)
_TABULAR = re.compile(r"(?<!\{%\n)\\begin\{tabular\}.*?\\end\{tabular\}", re.S)


def fit_width(latex: str) -> str:
    """Every ``tabular`` shrunk to the text width when it is wider (graphicx's resizebox), as
    TeX measures it; one the writer already scaled (``\\resizebox{..}{!}{%``) is left alone."""
    return _TABULAR.sub(lambda m: r"\noindent\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%"
                        + "\n" + m.group(0) + "}", latex)


def _none_free(v: Any) -> Any:
    if v is None:
        return "none"
    if isinstance(v, dict):
        return {k: _none_free(e) for k, e in v.items()}
    if isinstance(v, (list, tuple)):
        return [_none_free(e) for e in v]
    return v


# -- writers -----------------------------------------------------------------------------
class TextOutline:
    """Plain text: titles underlined, parts between bars, values as aligned matrices."""

    name = "text"
    compact_steps = False  # "auto" steps: the first cells worked out, on screen
    lead_gap = "\n"

    def words(self, words: Words) -> str:
        return "".join(w.text if isinstance(w, Code) else w for w in words)

    def code(self, text: str) -> str:
        return text

    def section(self, b: Section) -> str:
        title = self.words(b.title)
        if b.level <= 1:
            return f"{title}\n{'=' * min(len(title), 78)}"
        if b.level == 2:
            bar = "═" * min(max(len(line) for line in title.splitlines()), 78)
            return f"{bar}\n{title}\n{bar}"
        return f"{title}\n{'-' * len(title)}"

    def lead_title(self, words: Words) -> str:
        return self.words(words)

    def lead(self, b: Lead) -> str:
        head = self.lead_title(b.title)
        if b.body is None:
            return head
        body = self.pieces(b.body)
        return head + (" " if b.inline else self.lead_gap) + body

    def labelled(self, b: Labelled) -> str:
        label = b.label.text if isinstance(b.label, Code) else b.label
        body = inner_writer(self.name, b.round).write_value(_none_free(b.value))
        if "\n" in body or body.startswith("```"):
            return f"{label} =\n{body}" if label else body
        return f"{label} = {body}" if label else body

    def callout(self, b: Callout) -> str:
        return "\n".join([b.title] + [f"  {item}" for item in b.items])

    def steps(self, b: Steps) -> str:
        inner = inner_writer(self.name, b.round)
        blocks = b.build(self.compact_steps)
        if not blocks:
            return ""
        if isinstance(blocks[0], OutlineBlock.__args__):
            return "\n\n".join(p for p in (self.piece(x) for x in blocks) if p)
        return self.inner(inner, blocks)

    def inner(self, writer: Any, blocks: list) -> str:
        return writer.render(blocks).rstrip("\n")

    def foreign(self, b: Foreign) -> str:
        return b.render(self.name).rstrip("\n")

    def demote(self, text: str) -> str:
        return text

    def piece(self, b: Any) -> str:
        if isinstance(b, Demoted):
            return self.demote(self.piece(b.block))
        return getattr(self, _KIND[type(b)])(b)

    def prose(self, b: Prose) -> str:
        return self.words(b.words)

    def pieces(self, blocks: list) -> str:
        return "\n\n".join(p for p in (self.piece(b) for b in blocks) if p)

    def document(self, blocks: list) -> str:
        return self.pieces(blocks).rstrip("\n") + "\n"

    def fragment(self, blocks: list) -> str:
        """Blocks to put inside a document (a notebook cell): no preamble."""
        return self.pieces(blocks)


class MarkdownOutline(TextOutline):
    """Markdown: ``#`` headings, bold run-in heads, matrices in fenced blocks."""

    name = "markdown"
    lead_gap = "\n\n"

    def words(self, words: Words) -> str:
        return "".join(self.code(w.text) if isinstance(w, Code) else w for w in words)

    def code(self, text: str) -> str:
        return "`" + text.replace("`", "'") + "`"

    def section(self, b: Section) -> str:
        return ("---\n\n" if b.new_page else "") + "#" * max(b.level, 1) + " " + self.words(b.title)

    def lead_title(self, words: Words) -> str:
        return f"**{self.words(words)}**"

    def callout(self, b: Callout) -> str:
        return "\n".join([f"**{b.title}**"] + [f"- {item}" for item in b.items])

    def demote(self, text: str) -> str:
        out, fenced = [], False
        for line in text.splitlines():
            if line.startswith("```"):
                fenced = not fenced
            out.append("#" + line if (not fenced and line.startswith("#")) else line)
        return "\n".join(out)


class LatexOutline(TextOutline):
    """A complete LaTeX document (amsmath, graphicx), ASCII only; wide tables fit the page."""

    name = "latex"
    compact_steps = True  # "auto" steps: one worked cell per distinct computation (a key to hand out)

    def words(self, words: Words) -> str:
        return "".join(self.code(w.text) if isinstance(w, Code) else latex_prose(w) for w in words)

    def code(self, text: str) -> str:
        return r"\texttt{" + escape(text) + "}"

    def section(self, b: Section) -> str:
        kind = {1: "section", 2: "subsection"}.get(b.level, "subsubsection")
        return (r"\newpage" + "\n" if b.new_page else "") + rf"\{kind}*{{{self.words(b.title)}}}"

    def lead_title(self, words: Words) -> str:
        return rf"\paragraph{{{self.words(words)}}}"

    def labelled(self, b: Labelled) -> str:
        if isinstance(b.label, Code):
            return r"\noindent" + self.code(b.label.text) + " gives\n" + self.labelled(Labelled("", b.value, b.round))
        label, value = b.label, b.value
        if isinstance(value, np.ndarray) and value.ndim >= 3:
            return self._channels(label, value, b.round)
        if isinstance(value, str):  # prose that may wrap, not one line of math
            return r"\noindent " + (rf"$\text{{{escape(label)}}}$ = " if label else "") + rf"\texttt{{{escape(value)}}}"
        body = inner_writer("latex", b.round).write_value(_none_free(value))
        lhs = rf"\text{{{escape(label)}}} = " if label else ""  # text mode: ^ ~ of an id compile
        return rf"\[ {lhs}{body} \]"

    @staticmethod
    def _channels(label: str, value: np.ndarray, round: int | None) -> str:
        """A C×H×W (or 4-D) tensor as labelled matrices, a few a line, so that it fits the page."""
        w = inner_writer("latex", round)
        per_line = max(1, min(3, 24 // (value.shape[-1] + 1)))
        items = []
        for idx in np.ndindex(*value.shape[:-2]):
            where = (f"channel {idx[0] + 1}" if len(idx) == 1 else f"filter {idx[0] + 1}, channel {idx[1] + 1}")
            name = escape(f"{label}, {where}" if label else where)
            items.append(rf"\underset{{\text{{{name}}}}}{{{w.write_value(value[idx])}}}")
        lines = [r",\quad ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return r"\begin{gather*}" + "\n" + " \\\\\n".join(lines) + "\n" + r"\end{gather*}"

    def callout(self, b: Callout) -> str:
        return r"\noindent " + r"\\ ".join(latex_prose(line) for line in [b.title, *b.items])

    def foreign(self, b: Foreign) -> str:
        return fit_width(super().foreign(b))

    def demote(self, text: str) -> str:
        return text.replace(r"\subsection*{", r"\subsubsection*{")

    def document(self, blocks: list) -> str:
        return ascii_latex(standalone(self.pieces(blocks)))


class HtmlOutline(TextOutline):
    """HTML for a notebook or a page: tensors as tables (a ``td`` per cell, roles as classes)."""

    name = "html"

    def words(self, words: Words) -> str:
        return "".join(self.code(w.text) if isinstance(w, Code) else html.escape(w) for w in words)

    def code(self, text: str) -> str:
        return f"<code>{html.escape(text)}</code>"

    def section(self, b: Section) -> str:
        level = min(b.level + 1, 6)
        return ("<hr>" if b.new_page else "") + f"<h{level}>{self.words(b.title)}</h{level}>"

    def prose(self, b: Prose) -> str:
        return f"<p>{self.words(b.words)}</p>"

    def lead(self, b: Lead) -> str:
        head = f"<strong>{self.words(b.title)}</strong>"
        if b.body is None:
            return f"<p>{head}</p>"
        body = self.pieces(b.body)
        if b.inline:
            return f"<p>{head} {body.removeprefix('<p>')}" if body.startswith("<p>") else f"<p>{head}</p>{body}"
        return f"<p>{head}</p>\n{body}"

    def labelled(self, b: Labelled) -> str:
        label = self.code(b.label.text) if isinstance(b.label, Code) else html.escape(b.label)
        value = inner_writer("html", b.round).write_value(_none_free(b.value))
        head = f'<span class="cnn-op">{label} =</span>' if label else ""
        return f'<div class="cnn-row">{head}{value}</div>'

    def callout(self, b: Callout) -> str:
        items = "".join(f"<li>{html.escape(item)}</li>" for item in b.items)
        return f"<p><strong>{html.escape(b.title)}</strong></p>" + (f"<ul>{items}</ul>" if items else "")

    def inner(self, writer: Any, blocks: list) -> str:
        return self.nested(writer.render(blocks))

    def nested(self, html_doc: str) -> str:
        """An HTML writer's document as a piece of this one (its style sheet is this one's)."""
        from cnnlab.doc.html import STYLE

        text = html_doc.replace(STYLE, "", 1).strip("\n")
        outer = '<div class="cnnlab-doc">'  # one document: the worked steps sit in it, not in another
        return '<div class="cnn-worked">' + text.removeprefix(outer) if text.startswith(outer) else text

    def foreign(self, b: Foreign) -> str:
        return self.nested(b.render("html"))

    def demote(self, text: str) -> str:
        return re.sub(r"<(/?)h([1-5])>", lambda m: f"<{m.group(1)}h{int(m.group(2)) + 1}>", text)

    def document(self, blocks: list) -> str:
        from cnnlab.doc.html import STYLE

        return STYLE + '<div class="cnnlab-doc">\n' + self.pieces(blocks) + "\n</div>\n"

    def fragment(self, blocks: list) -> str:  # HTML carries its style: a notebook cell is a document
        return self.document(blocks)


_KIND = {Section: "section", Prose: "prose", Lead: "lead", Labelled: "labelled", Callout: "callout",
         Steps: "steps", Foreign: "foreign"}

OUTLINE_WRITERS: dict[str, type[TextOutline]] = {
    "text": TextOutline, "markdown": MarkdownOutline, "latex": LatexOutline, "html": HtmlOutline,
}


def outline_writer(fmt: str) -> TextOutline:
    """The outline writer of ``fmt``; :class:`cnnlab.doc.UnknownFormat` for others."""
    if fmt not in OUTLINE_WRITERS:
        raise UnknownFormat(f"unknown format {fmt!r}: choose one of {', '.join(OUTLINE_WRITERS)}")
    return OUTLINE_WRITERS[fmt]()


def write_outline(blocks: list, fmt: str = "text") -> str:
    """``blocks`` as a complete document in ``fmt`` (LaTeX: with preamble, ASCII only)."""
    return outline_writer(fmt).document(blocks)
