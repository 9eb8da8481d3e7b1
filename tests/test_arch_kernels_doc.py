"""Architecture tables and kernel descriptions are doc blocks written by the doc writers.

Checked against the table dict itself (the numbers every face must show), against
hand-worked cells, and by compiling the LaTeX with pdflatex where it is installed.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import cnnlab
from cnnlab import doc
from cnnlab.arch import arch_table, render_arch, render_solution
from cnnlab.arch.inverse import fewest_layers, solve_layer
from cnnlab.arch.render import arch_blocks, solution_blocks
from cnnlab.doc.blocks import Bullets, Table
from cnnlab.kernels.render import describe_blocks

REPO = Path(__file__).resolve().parents[1]
SPEC = "conv 3x3 8; maxpool 2x2; fc 10"


def _table():
    return arch_table(SPEC, "1x8x8", steps=True)


def test_one_document_every_format_shows_the_table_numbers():
    t = _table()
    blocks = arch_blocks(t, steps=True)
    table = next(b for b in blocks if isinstance(b, Table))
    assert [r[0] for r in table.rows] == ["1", "2", "3"]
    params = table.header.index("params")
    assert [r[params] for r in table.rows] == [f"{r['params']:,}" for r in t["layers"]] == ["80", "0", "730"]
    for fmt in ("table", "text", "markdown", "latex", "html"):
        out = render_arch(t, fmt, steps=True)
        assert "730" in out and ("floor" in out or r"\lfloor" in out or "<mo>⌊</mo>" in out), fmt
        assert f"{t['total_params']:,}" in out, fmt
    data = json.loads(doc.write(blocks, "json"))["blocks"]
    assert [b["type"] for b in data].count("table") == 1 and data[-1]["type"] == "bullets"


def test_html_is_a_real_table_with_a_cell_per_value():
    t = arch_table(SPEC, "1x8x8")
    html = t._repr_html_()
    assert '<table class="cnn-table">' in html and "<pre" not in html
    cols = len(arch_blocks(t)[0].header)
    assert html.count("<td") == cols * len(t["layers"])
    assert '<td><code>conv 3x3 8</code></td>' in html and '<td class="num">720</td>' in html
    r = cnnlab.arch(SPEC, "1x8x8")
    assert r._repr_html_() == render_arch(t, "html") + "\n"
    k = cnnlab.kernel_describe("box:3")._repr_html_()
    grid = re.search(r'<table class="cnn-grid">(.*?)</table>', k).group(1)
    assert grid.count("<td") == 9 and grid.count(">1/9</td>") == 9  # exact, not 0.1111


def test_column_alignment_in_text_markdown_and_latex():
    t = arch_table("conv 3x3 8", "1x5x5")
    text = render_arch(t, "text").splitlines()
    assert text[2] == "1  conv 3x3 8   8×3×3   3     1       72       8      80     72   648"
    md = render_arch(t, "markdown")
    assert "| 1 | `conv 3x3 8` | 8×3×3 |" in md and "|---:|---|---:|" in md
    latex = render_arch(t, "latex")
    assert r"\begin{tabular}{@{}rlrrrrrrrr@{}}" in latex and r"\texttt{conv 3x3 8}" in latex


def test_steps_are_structured_maths_in_latex_and_html():
    """The formulas are expression trees: LaTeX gets a floor of a fraction and subscripts,
    HTML gets MathML elements (no formula text left in <mtext>), text reads as before."""
    from cnnlab.arch.steps import row, size_formula, times
    from cnnlab.doc.expr import Frac, Round, Sub

    formula = size_formula("H", row(2, "p"), "k", "s")
    rounded = formula.parts[0]
    assert isinstance(rounded, Round) and not rounded.up and isinstance(rounded.arg, Frac) and rounded.arg.inline
    assert doc.writer("text").expr(formula) == "floor((H + 2p − k)/s) + 1"
    assert doc.writer("latex").expr(formula) == r"\left\lfloor (H + 2p - k)/s \right\rfloor + 1"
    mathml = doc.writer("html").expr(formula)
    assert mathml.startswith("<mrow><mrow><mo>⌊</mo>") and "<mo>/</mo><mi>s</mi>" in mathml
    assert "<mo>−</mo><mi>k</mi>" in mathml and "<mtext>" not in mathml
    assert doc.writer("latex").expr(times("C_out", "C_in")) == r"C_{\text{out}} \cdot C_{\text{in}}"
    assert times("C_out", 3).parts[0] == Sub("C", "out")

    latex = render_arch(_table(), "latex", steps=True)
    assert r"\text{weights} &= C_{\text{out}} \cdot C_{\text{in}} \cdot k_{\text{h}} \cdot k_{\text{w}}" in latex
    assert r"H_{\text{out}} = W_{\text{out}} &= \left\lfloor (H + 2p - k)/s \right\rfloor + 1" in latex
    html = render_arch(_table(), "html", steps=True)
    assert "<msub><mi>C</mi><mtext>out</mtext></msub><mo>·</mo>" in html and "floor(" not in html
    assert "<mtext>\u00a0(pooling has no parameters)</mtext>" in html  # MathML drops plain end spaces
    convt = render_arch(arch_table("convt 3x3/2 p1 4", "1x5x5", steps=True), "latex", steps=True)
    assert r"+ \text{output\_padding} + 1" in convt  # one word, not "output" with "padding" below
    text = render_arch(_table(), "text", steps=True)
    assert "weights = C_out·C_in·k_h·k_w = 8·1·3·3 = 72" in text  # 8 filters of 1×3×3
    assert "weights = inputs·N = 72·10 = 720" in text  # 8×3×3 = 72 inputs after pooling 6×6 by 2
    assert "H_out = W_out = floor((H + 2p − k)/s) + 1 = floor((8 + 2·0 − 3)/1) + 1 = 6" in text


def test_step_json_strings_are_the_text_of_the_expressions():
    """--format json keeps its strings; a table read back from JSON still renders (as text)."""
    t = _table()
    step = t["layers"][0]["steps"][0]
    assert dict(step) == {"quantity": "H_out = W_out", "formula": "floor((H + 2p − k)/s) + 1",
                          "numbers": "floor((8 + 2·0 − 3)/1) + 1", "value": "6"}
    again = json.loads(render_arch(t, "json", steps=True))
    assert render_arch(again, "text", steps=True) == render_arch(t, "text", steps=True)
    assert r"\left\lfloor (H + 2p - k)/s \right\rfloor" in render_arch(again, "latex", steps=True)
    from cnnlab.arch.render import _formula
    read_back = _formula(dict(step))  # a torch table's steps cannot be recomputed: shown as words
    assert doc.writer("latex").expr(read_back.rhs[0]) == r"\text{floor((H + 2p - k)/s) + 1}"


def test_inverse_answers_as_blocks():
    result = solve_layer("padding", 32, 32, kernel=5)
    lines = render_solution(result, "text").splitlines()
    assert lines[0].startswith("padding p with output 32") and lines[-2:] == ["p = 2", "note: this is 'same' padding"]
    assert any(line.endswith("= 32") and line.startswith("n_out (p = 2)") for line in lines)
    depth = fewest_layers(7, 3)
    assert isinstance(solution_blocks(depth)[1].lines[0].rhs[0], cnnlab.doc.expr.Seq)
    assert r"\left\lceil" in render_solution(depth, "latex") or "ceil" in render_solution(depth, "latex")


def test_kernel_describe_blocks_keep_exact_values():
    r = cnnlab.kernel_describe("box:3")
    assert r"\[ K = \begin{bmatrix} \frac{1}{9}" in r.to_latex()
    assert "K =  [ 1/9  1/9  1/9 ]" in str(r) and "<- best" in str(r)
    blocks = describe_blocks(r.to_json(), r.to_json()["kernel"], "box:3")
    facts = next(b for b in blocks if isinstance(b, Bullets))
    assert any("separable" in str(f) for f in facts.items)
    assert "| probe | response | cosine |  |" in r.to_markdown()


_FORMAT_TEST = re.compile(r"^(text|markdown|latex|html|table)$")


@pytest.mark.parametrize("path", ["cnnlab/arch/render.py", "cnnlab/kernels/render.py"])
def test_renderers_never_ask_which_document_format(path):
    """Only JSON (the data itself, not a document) is told apart; no LaTeX escaper of their own."""
    tree = ast.parse((REPO / path).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for c in [node.left, *node.comparators]:
                if isinstance(c, ast.Constant) and isinstance(c.value, str):
                    assert not _FORMAT_TEST.match(c.value), f"{path}:{node.lineno} compares with {c.value!r}"
        if isinstance(node, ast.FunctionDef):
            assert "escape" not in node.name and node.name not in ("_tex", "_latex_escape"), node.name


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_compiles(tmp_path):
    from cnnlab.doc.latex import standalone

    body = "\n\n".join([render_arch(_table(), "latex", steps=True), render_solution(fewest_layers(7, 3, channels=64), "latex"),
                        cnnlab.kernel_describe("1 2; 3 5").to_latex(), cnnlab.kernel_describe("sobel_x").to_latex()])
    (tmp_path / "t.tex").write_text(standalone(body), encoding="utf-8")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]


# -- the worked numbers evaluate to the value they claim ---------------------------------
def _evaluate(e):
    """The value of an arithmetic expression tree (numbers, + − · //, parentheses, floor/ceil,
    inline fractions, max); None when it holds a symbol or words."""
    import math
    from fractions import Fraction

    from cnnlab.doc import expr as E

    if isinstance(e, E.Num):
        return Fraction(e.value)
    if isinstance(e, E.Paren):
        return _evaluate(e.arg)
    if isinstance(e, E.Frac):
        a, b = _evaluate(e.num), _evaluate(e.den)
        return None if a is None or b is None else a / b
    if isinstance(e, E.Round):
        a = _evaluate(e.arg)
        return None if a is None else Fraction((math.ceil if e.up else math.floor)(a))
    if isinstance(e, E.Call) and e.fn == "max":
        parts, current = [], []
        for p in e.arg.parts:
            if isinstance(p, E.Op) and p.text.strip() == ",":
                parts.append(E.Seq(tuple(current), "")), current.clear()
            else:
                current.append(p)
        values = [_evaluate(p) for p in [*parts, E.Seq(tuple(current), "")]]
        return None if None in values else max(values)
    if not isinstance(e, E.Seq):
        return None
    total, sign, term, op = Fraction(0), 1, None, None
    for p in e.parts:
        if isinstance(p, E.Op):
            sym = p.text.strip()
            if sym in "+−":
                total, sign, term = total + sign * term, (1 if sym == "+" else -1), None
            elif sym in ("·", "//"):
                op = sym
            else:
                return None  # ×, →, ∈: not arithmetic
            continue
        v = _evaluate(p)
        if v is None:
            return None
        term = v if term is None else (term * v if op == "·" else Fraction(term // v))
    return None if term is None else total + sign * term


@pytest.mark.parametrize("spec, shape", [
    ("conv 3x3 same 16; conv 3x5/2 same 8; conv 3x3 d2 p1x2 4; conv 3x3 g2 8; conv 3x3 dw", "4x17x19"),
    ("convt 4x4/3 8; convt 3x3/2 p1 op1 4; maxpool 2x2/2 ceil; avgpool 3x3/2 p1 ceil", "2x9x11"),
    ("res 3x3/2 8; res 3x3 8; inception 4,6/8,2/4,4; gap; flatten; fc 10 nobias", "3x15x15"),
    ("conv 5x5/2 p2 6; maxpool 3x3/2 p1 ceil; bn; relu; fc 7", "1x28x28"),
])
def test_worked_numbers_evaluate_to_their_value(spec, shape):
    """Every step whose numbers are pure arithmetic evaluates (independently of the text) to
    the value it states, and the formula's symbols stand where the numbers are."""
    t = arch_table(spec, shape, steps=True, fc_compare="same")
    checked = 0
    for row in t["layers"]:
        for d in row["steps"]:
            numbers = _evaluate(d.step.parts()[2])
            value = _evaluate(d.step.parts()[3])
            if numbers is not None and value is not None:
                # non-whole numbers are shown to 6 significant digits (0.333333 for 1/3)
                assert abs(numbers - value) <= 1e-5 * max(1, abs(value)), (row["spec"], dict(d))
                checked += 1
            assert _evaluate(d.step.parts()[1]) is None or d["formula"] == d["numbers"], dict(d)
    assert checked >= 3 * len(t["layers"]) // 2
