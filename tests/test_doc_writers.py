"""The document model and its writers: the same blocks in every format, HTML grids with a
``td`` per element and roles as classes, MathML maths, JSON of the tree, and the layering
(``cnnlab.doc`` imports nothing else of cnnlab; the steps never ask for the format)."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from ast_helpers import module_imports

from cnnlab import doc
from cnnlab.doc.blocks import Formula, Heading, Matrices, Paragraph, StepList, Table, TensorGrid
from cnnlab.doc.expr import Call, Frac, Index, Num, Product, Round, Seq, Sub, Sum
from cnnlab.steps import render_trace, trace_conv2d, trace_pool2d
from cnnlab.steps.layout import trace_blocks

ROOT = Path(__file__).resolve().parents[1]


def _blocks():
    grid = TensorGrid(np.array([[0, 1], [2, 3]]), {(0, 0): {"window"}, (1, 1): {"padding"}})
    return [Heading("Cell"), Paragraph(["see ", Index("O", (0, 1)), " below"]),
            StepList([Matrices([("x", grid), ("k", TensorGrid(np.eye(2)))], ["⊙"]),
                      Formula(Index("O", (0, 1)), [Sum((Product(2, -1), Num(Fraction(1, 2)))),
                                                   Num(Fraction(-3, 2))])]),
            Table(["layer", "params"], [["conv1", Num(280)]])]


def test_text_and_markdown_writers_by_hand():
    text = doc.write(_blocks(), "text")
    assert "see O[1,2] below" in text and "O[1,2] = 2·(-1) + 1/2 = -3/2" in text
    assert "[ 0  1 ]" in text and "conv1  280" in text
    md = doc.write(_blocks(), "markdown")
    assert md.startswith("## Cell") and "```text" in md and "| conv1 | 280 |" in md


def test_latex_writer_typesets_fractions_and_escapes_prose():
    tex = doc.write(_blocks() + [Paragraph("100% of x_1")], "latex")
    assert r"2 \cdot \left(-1\right) + \frac{1}{2} = -\frac{3}{2}" in tex
    assert r"100\% of x\_1" in tex and r"$O_{1,2}$" in tex


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self.maths = [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag == "td" and self.tables:
            self.tables[-1][-1].append(dict(attrs))
        elif tag == "math":
            self.maths += 1


def test_html_grids_have_a_td_per_element_with_roles_and_shades():
    out = doc.write(_blocks(), "html")
    p = _Cells()
    p.feed(out)
    first = p.tables[0]
    assert [len(r) for r in first] == [2, 2]
    classes = [c["class"].split() for r in first for c in r]
    assert "window" in classes[0] and "padding" in classes[3] and "padding" not in classes[0]
    assert not any("style" in c for r in first for c in r)  # shades are classes, defined once in the style
    # each shade class's background, as the style sheet that travels with the fragment defines it
    alpha = {k: float(a) for k, a in re.findall(r"td\.(shade-\d+)\{background:rgba\([^)]*,([\d.]+)\)\}", out)}
    shades = [alpha[next(c for c in cls if c.startswith("shade-"))] for cls in classes]
    assert shades == sorted(shades) and shades[0] < shades[-1]  # 0 lightest, 3 darkest
    assert out.count(".cnnlab-doc td.shade-0{") == 1
    assert p.maths >= 2 and "<mfrac><mn>1</mn><mn>2</mn></mfrac>" in out
    assert "http" not in out.replace("http://www.w3.org", "")  # nothing fetched


def test_html_of_a_worked_convolution_marks_padding_and_the_window():
    t = trace_conv2d(np.arange(16.).reshape(4, 4), np.ones((3, 3)), padding=1)
    out = render_trace(t, "html", max_cells=2)
    p = _Cells()
    p.feed(out)
    padded = p.tables[0]  # the given padded input, 6×6
    assert len(padded) == 6 and all(len(r) == 6 for r in padded)
    assert all("padding" in c.get("class", "") for c in padded[0])
    assert "padding" not in padded[1][1].get("class", "")
    frames = [tb for tb in p.tables if len(tb) == 6 and any("window" in c.get("class", "") for r in tb for c in r)]
    marked = [(i, j) for i, r in enumerate(frames[1]) for j, c in enumerate(r) if "window" in c.get("class", "")]
    assert marked == [(i, j) for i in range(3) for j in range(1, 4)]  # O[1,2]'s window: rows 1-3, cols 2-4
    outputs = [tb for tb in p.tables if any("selected" in c.get("class", "") for r in tb for c in r)]
    selected = [(i, j) for i, r in enumerate(outputs[1]) for j, c in enumerate(r) if "selected" in c.get("class", "")]
    assert len(outputs) == 2 and selected == [(0, 1)]  # the output cell O[1,2] in the 4×4 output


def test_json_writer_keeps_the_tree():
    data = json.loads(doc.write(_blocks(), "json"))
    kinds = [b["type"] for b in data["blocks"]]
    assert kinds == ["heading", "paragraph", "step_list", "table"]
    formula = data["blocks"][2]["lines"][1]
    assert formula["rhs"][1]["value"] == {"value": -1.5, "exact": "-3/2"}
    grid = data["blocks"][2]["lines"][0]["items"][0][1]
    assert grid["values"] == [[0, 1], [2, 3]] and {"row": 0, "col": 0, "roles": ["window"]} in grid["roles"]


def test_output_size_formula_in_every_writer():
    f = Formula(Sub("H", "out"), [Seq((Round(Frac(Seq(("4", "+", "2", "-", "1")), "1")), "+", "1")), "6"])
    assert doc.write([StepList([f])], "text").strip() == "H_out = ⌊(4 + 2 - 1) / 1⌋ + 1 = 6"
    assert r"H_{\text{out}} &= \left\lfloor \frac{4 + 2 - 1}{1} \right\rfloor + 1 = 6" in doc.write([StepList([f])], "latex")
    assert "<mo>⌊</mo><mfrac>" in doc.write([StepList([f])], "html")


def test_every_format_writes_the_same_blocks():
    blocks = trace_blocks(trace_pool2d(np.arange(16.).reshape(4, 4), "max", 2), max_cells=1)
    for fmt in doc.FORMATS:
        assert doc.write(blocks, fmt)
    with pytest.raises(ValueError, match="unknown format"):
        doc.writer("rtf")


def test_doc_is_the_lowest_layer_and_steps_never_ask_the_format():
    for path in (ROOT / "cnnlab" / "doc").glob("*.py"):
        outside = {m for m in module_imports(path) if m.startswith("cnnlab") and not m.startswith("cnnlab.doc")}
        assert not outside, (path, outside)
    layout = (ROOT / "cnnlab" / "steps" / "layout.py").read_text()
    assert not re.search(r"\bfmt\.name\b|== \"latex\"|isinstance\(fmt", layout)
    trace = module_imports(ROOT / "cnnlab" / "steps" / "trace.py")
    assert not any(m.startswith(("cnnlab.serve", "cnnlab.steps.layout")) for m in trace)


def test_a_solved_sheet_carries_its_shades_once_not_per_cell():
    import cnnlab

    page = cnnlab.solve(str(ROOT / "examples" / "problems" / "wrong_key.yaml"))._repr_html_()
    assert page.count("<style>") == 1 and page.count(".cnnlab-doc td.shade-7{") == 1  # self-contained, once
    assert not re.search(r'\sstyle="', page) and page.count('shade-') > 1000  # every grid cell shaded by a class
