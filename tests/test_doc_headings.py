"""Heading levels (issue 20 item 2): a report's title is level 1 and its sections level 2 in
every writer (Markdown ``#``/``##``, HTML ``h1``/``h2``, LaTeX ``\\section*``/``\\subsection*``,
text underlined ``=``/``-``); a heading without a level keeps the place worked steps and keys
give it today (they sit inside a problem sheet's sections)."""

from __future__ import annotations

import json

import pytest

from cnnlab import doc
from cnnlab.doc.blocks import Heading, Paragraph

REPORT = [Heading("Run 1", level=1), Paragraph("a"), Heading("Results", level=2), Paragraph("b"),
          Heading("Detail", level=3), Heading("Deeper", level=4)]


def test_levels_in_markdown_html_and_latex():
    md = doc.write(REPORT, "markdown")
    assert [line for line in md.splitlines() if line.startswith("#")] == [
        "# Run 1", "## Results", "### Detail", "#### Deeper"]
    html = doc.write(REPORT, "html")
    assert all(tag in html for tag in ("<h1>Run 1</h1>", "<h2>Results</h2>", "<h3>Detail</h3>", "<h4>Deeper</h4>"))
    latex = doc.write(REPORT, "latex")
    assert [line for line in latex.splitlines() if line.startswith("\\")] == [
        r"\section*{Run 1}", r"\subsection*{Results}", r"\subsubsection*{Detail}", r"\paragraph*{Deeper}"]


def test_text_underlines_the_title_with_equals_and_sections_with_dashes():
    assert doc.write(REPORT[:4], "text") == "Run 1\n=====\na\n\nResults\n-------\nb\n"
    # a title later in the text is still a title, after a blank line
    assert doc.write([Paragraph("x"), Heading("T", level=1)], "text") == "x\n\nT\n=\n"


@pytest.mark.parametrize("fmt, expected", [
    ("markdown", ["## Convolution", "### Cells"]),
    ("html", ["<h3>Convolution</h3>", "<h4>Cells</h4>"]),
    ("latex", [r"\subsection*{Convolution}", r"\subsection*{Cells}"]),
    ("text", ["Convolution", "===========", "", "Cells", "-----"]),
])
def test_a_heading_without_level_keeps_its_place_inside_a_sheet(fmt, expected):
    out = doc.write([Heading("Convolution"), Heading("Cells")], fmt)
    assert all(e in out for e in expected) and Heading("x").level is None


def test_extreme_levels_stay_valid_markup():
    assert doc.write([Heading("h", level=9)], "html").count("<h6>h</h6>") == 1
    assert doc.write([Heading("h", level=9)], "markdown").startswith("###### h\n")
    assert doc.write([Heading("h", level=0)], "latex").startswith(r"\section*{h}")


def test_json_carries_the_level():
    data = json.loads(doc.write([Heading("T", level=1), Heading("s")], "json"))
    assert data["blocks"] == [{"type": "heading", "text": "T", "level": 1},
                              {"type": "heading", "text": "s", "level": None}]


def test_report_documents_give_title_level_1_and_sections_level_2():
    from cnnlab.explain.document import report_blocks

    summary = {"model": "cnn3", "data": "digits", "input": [1, 8, 8], "test_accuracy": 0.5, "run_dir": "r",
               "parts": ["coef"], "coef": {"shape": [10, 1, 8, 8], "picture": "coef.png"}}
    headings = [b for b in report_blocks(summary, [str(i) for i in range(10)]) if isinstance(b, Heading)]
    assert [(h.text, h.level) for h in headings] == [
        ("What cnn3 learned", 1), ("Run", 2), ("Logistic-regression coefficients", 2)]
