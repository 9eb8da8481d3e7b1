"""The blocks reports need (Code, value tables, a page around the HTML fragment) in every writer."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from cnnlab.doc import FORMATS, write
from cnnlab.doc.blocks import Code, Heading, ValueCell
from cnnlab.doc.cells import format_cell, value_table
from cnnlab.doc.htmlpage import standalone
from cnnlab.doc.latex import standalone as latex_standalone

SETTINGS = '{\n  "data": "digits",\n  "models": [\n    "a|b"\n  ]\n}'


def test_code_keeps_its_lines_and_spaces_in_every_format():
    text = write([Heading("S"), Code(SETTINGS, "json")], "text")
    assert text.endswith("\n\n" + SETTINGS + "\n")
    md = write([Code(SETTINGS, "json")], "markdown")
    assert md == "```json\n" + SETTINGS + "\n```\n"
    latex = write([Code(SETTINGS)], "latex")
    assert latex == "\\begin{verbatim}\n" + SETTINGS + "\n\\end{verbatim}\n"
    html = write([Code("<a> & b\n  c")], "html")
    assert "<pre><code>&lt;a&gt; &amp; b\n  c</code></pre>" in html
    data = json.loads(write([Code(SETTINGS, "json")], "json"))
    assert data == {"blocks": [{"type": "code", "text": SETTINGS, "language": "json"}]}
    assert set(FORMATS) == {"text", "markdown", "latex", "html", "json"}


def test_a_markdown_fence_is_longer_than_the_backticks_inside():
    md = write([Code("a ``` b")], "markdown")
    assert md.startswith("````\n") and md.endswith("\n````\n")


def test_value_table_formats_each_cell_and_aligns_numeric_columns():
    t = value_table(["m", "acc", "s"], [["a", 0.123456, "1.5"], ["b", None, "2.0"]])
    assert [[str(c) for c in row] for row in t.rows] == [["a", "0.1235", "1.5"], ["b", "-", "2.0"]]
    assert t.align == "lrr"
    assert [format_cell(v) for v in (False, 12, "x")] == ["no", "12", "x"]
    text = write([t], "text").splitlines()
    assert text == ["m     acc    s", "-  ------  ---", "a  0.1235  1.5", "b       -  2.0"]
    html = write([t], "html")
    assert html.count("<td") == 6 and '<td class="num">0.1235</td>' in html


def test_the_html_page_is_a_whole_document_around_the_fragment():
    fragment = write([Heading("T & U"), Code("x")], "html")
    page = standalone(fragment, "T & U", footer="made <here>")
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")
    assert "<title>T &amp; U</title>" in page and fragment.rstrip("\n") in page
    assert "<footer><p>made &lt;here&gt;</p></footer>" in page
    assert "<footer>" not in standalone(fragment, "T")


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_code_block_compiles(tmp_path):
    (tmp_path / "c.tex").write_text(latex_standalone(write([Heading("Settings"), Code(SETTINGS, "json")], "latex")))
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "c.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]


def test_json_of_a_value_table_gives_the_values_and_pages_the_text():
    t = value_table(["m", "acc", "ok", "s"], [["a", 0.123456, True, ValueCell(12.34, "12.3")],
                                               ["b", None, False, 3]])
    assert t.align == "lrlr"
    data = json.loads(write([t], "json"))["blocks"][0]
    assert data["rows"] == [["a", 0.123456, True, 12.34], ["b", None, False, 3]]  # numbers, not their text
    assert write([t], "text").splitlines()[2:] == ["a  0.1235  yes  12.3", "b       -  no      3"]
    html = write([t], "html")
    assert '<td class="num">0.1235</td>' in html and '<td class="num">12.3</td>' in html and "0.123456" not in html
    assert r"a & 0.1235 & yes & 12.3 \\" in write([t], "latex")
    nan = json.loads(write([value_table(["x"], [[float("nan")]])], "json"))["blocks"][0]["rows"]
    assert nan == [[None]]  # JSON has no NaN


def test_report_json_holds_numbers():
    from cnnlab.explain.document import report_blocks

    summary = {"model": "cnn3", "data": "digits", "input": [1, 8, 8], "test_accuracy": 0.951234, "run_dir": "r",
               "parts": []}
    facts = json.loads(write(report_blocks(summary, ["0", "1"]), "json"))["blocks"][3]
    assert facts["type"] == "table" and ["test accuracy", 0.951234] in facts["rows"]
    assert ["input (C, H, W)", "1 x 8 x 8"] in facts["rows"]
