"""Problem sheets as blocks (docs/python.md, cnnlab/doc/outline.py): solve, check and quiz
results are built once as blocks of :mod:`cnnlab.doc.outline` and written by one writer per
format; the notebook's HTML comes from the HTML writer (a ``td`` per tensor cell), not from
Markdown converted to HTML, and the problem renderers never branch on the format."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch

import cnnlab
from cnnlab.doc.outline import (Callout, Code, Demoted, Foreign, Labelled, Lead, Section, Steps,
                                outline_writer, write_outline)
from cnnlab.doc.blocks import Heading, Paragraph
from cnnlab.problems.render import render_set, set_blocks

ROOT = Path(__file__).resolve().parents[1]


class _Grids(HTMLParser):
    """The tables of class cnn-grid: rows of cell texts, and each cell's classes."""

    def __init__(self) -> None:
        super().__init__()
        self.grids: list[list[list[str]]] = []
        self.classes: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("class") == "cnn-grid":
            self.grids.append([])
            self.classes.append([])
        elif tag == "tr" and self.grids:
            self.grids[-1].append([])
            self.classes[-1].append([])
        elif tag == "td" and self.grids:
            self._cell = []
            self.classes[-1][-1].append(a.get("class") or "")

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.grids[-1][-1].append("".join(self._cell))
            self._cell = None


def _grids(html: str) -> _Grids:
    p = _Grids()
    p.feed(html)
    return p


def _numbers(grid: list[list[str]]) -> np.ndarray:
    return np.array([[float(c.replace("−", "-")) for c in row] for row in grid])


X = [[1.0, -2.0, 0.5], [3.0, 4.0, -1.0], [0.0, 2.0, -3.0]]
K = [[1.0, 0.0], [-1.0, 2.0]]
SHEET = {"title": "Tiny", "given": {"X": X, "K": K},
         "parts": [{"id": "a", "ask": "Y = conv2d(X, K)", "answer": [[0.0, 0.0], [0.0, 0.0]]},
                   {"id": "b", "ask": "Z = relu(X)"}]}


def test_solve_html_draws_every_tensor_as_a_grid_with_a_td_per_cell():
    html = cnnlab.solve(SHEET)._repr_html_()
    assert "<pre" not in html and "```" not in html  # not Markdown drawn as code blocks
    parsed = _grids(html)
    conv = torch.nn.functional.conv2d(torch.tensor(X)[None, None], torch.tensor(K)[None, None])[0, 0].numpy()
    relu = np.maximum(np.array(X), 0)
    values = [_numbers(g) for g in parsed.grids]
    # the given X, the answers Y and Z: each a grid whose cells are the values (torch as reference)
    assert any(v.shape == (3, 3) and np.allclose(v, X) for v in values)
    assert any(v.shape == conv.shape and np.allclose(v, conv) for v in values)
    assert any(v.shape == relu.shape and np.allclose(v, relu) for v in values)
    # the worked steps' result grid marks its cells as output (a role as a class)
    out_grids = [c for c in parsed.classes if c and all("output" in cls for row in c for cls in row)]
    assert out_grids and html.count('class="cnnlab-doc"') == 1  # one document, steps inside it


def test_check_html_shows_the_verdict_from_the_writer():
    r = cnnlab.check(SHEET)
    html = r._repr_html_()
    assert r.exit_status == 1
    assert "<strong>Claimed answer: wrong ✗</strong>" in html and "<li>" in html
    conv = torch.nn.functional.conv2d(torch.tensor(X)[None, None], torch.tensor(K)[None, None])[0, 0].numpy()
    wrong = int((np.abs(conv) > 0).sum())
    assert f"{wrong} cell{'s differ' if wrong != 1 else ' differs'}" in html
    # the text of check is still the one-line-a-part verdict
    assert str(r).startswith("a: wrong")


def test_quiz_and_part_html_come_from_the_writers():
    q = cnnlab.quiz("conv", count=1, seed=4)
    html = q._repr_html_()
    key = q.to_json()["key"]["parts"][0]
    assert "<h2>Answer key</h2>" in html and "<pre" not in html
    answer = np.array(key["value"], dtype=float)
    assert any(_numbers(g).shape == answer.shape and np.allclose(_numbers(g), answer)
               for g in _grids(html).grids if g and g[0])
    part = cnnlab.solve(SHEET).result.parts[1]
    assert "<pre" not in part._repr_html_() and "cnn-grid" in part._repr_html_()
    assert part._repr_markdown_().startswith("## (b) `Z = relu(X)`")


def test_one_set_of_blocks_gives_every_format():
    result = cnnlab.solve(SHEET).result
    blocks = set_blocks(result)
    for fmt in ("text", "markdown", "latex", "html"):
        assert write_outline(blocks, fmt) == render_set(result, fmt)
    latex = render_set(result, "latex")
    assert latex.startswith(r"\documentclass") and latex.isascii()
    # LaTeX: compact steps ("auto"), one worked cell per output channel; text: the first 16 cells
    assert latex.count("O_{1,1}") + latex.count("O[1,1]") >= 1 and "O[1,2]" in render_set(result, "text")


def test_outline_writers_place_headings_and_leads_per_format():
    blocks = [Section(["Answer key"], 1, new_page=True), Section(["(a) ", Code("y = x")], 2),
              Lead(["Answer"], [Labelled("y", np.array([[1, 2], [3, 4]]))]),
              Callout("Claimed answer: wrong ✗", ["claimed 3, expected 4"]),
              Demoted(Steps(lambda compact: [Heading("Cells"), Paragraph(f"compact={compact}")]))]
    md = write_outline(blocks, "markdown")
    assert md.startswith("---\n\n# Answer key\n\n## (a) `y = x`\n\n**Answer**\n\ny =\n```text\n")
    assert "**Claimed answer: wrong ✗**\n- claimed 3, expected 4" in md
    assert "### Cells\n\ncompact=False" in md  # the steps' heading one level below the part's
    tex = write_outline(blocks, "latex")
    assert "\\newpage\n\\section*{Answer key}" in tex and r"\subsection*{(a) \texttt{y = x}}" in tex
    assert "compact=True" in tex and r"\paragraph{Answer}" in tex
    text = write_outline(blocks, "text")
    assert "Answer\ny =\n[ 1  2 ]\n[ 3  4 ]" in text and "  claimed 3, expected 4" in text
    assert "<h2>Answer key</h2>" in write_outline(blocks, "html")


def test_foreign_pieces_fit_the_latex_page_and_write_their_own_html():
    from cnnlab.doc.html import STYLE

    html = STYLE + '<div class="cnnlab-doc">\n<table class="cnn-table"><tr><td>1</td></tr></table>\n</div>\n'
    piece = Foreign(lambda fmt: {"latex": "\\begin{tabular}{r}1\\end{tabular}", "markdown": "| a |\n|---|\n| 1 |",
                                 "html": html}.get(fmt, "a\n1"))
    assert r"\resizebox" in outline_writer("latex").piece(piece)
    nested = outline_writer("html").piece(piece)  # the HTML writer's own, its style sheet the page's
    assert '<table class="cnn-table">' in nested and "<style>" not in nested
    assert outline_writer("text").piece(piece) == "a\n1"
    with pytest.raises(ValueError, match="unknown format"):
        outline_writer("rtf")


def test_problem_renderers_never_branch_on_how_to_write():
    """Only which artefact (yaml: the problem file; an unknown format: an error) is chosen."""
    pattern = re.compile(r"fmt ==|fmt !=|\.get\(fmt|fmt\.name|== \"latex\"|== \"markdown\"")
    for name in ("render.py", "sheet.py", "explain.py"):
        source = (ROOT / "cnnlab" / "problems" / name).read_text()
        hits = [line.strip() for line in source.splitlines() if pattern.search(line)]
        assert hits == ([] if name != "sheet.py" else ['if fmt == "yaml":']), (name, hits)
