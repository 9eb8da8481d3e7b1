"""Renderers: numbers (fractions, rounding half away from zero), text/Markdown/LaTeX layout,
large inputs shown in part, LaTeX that compiles (when a TeX engine is installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
from fractions import Fraction

import numpy as np
import pytest

from cnnlab import ops
from cnnlab.steps import (format_number, render_trace, render_value, round_half_away, trace_act,
                          trace_conv2d, trace_conv_transpose2d, trace_pool2d)
from cnnlab.steps.render_latex import standalone

X = np.array([[0, 1, 2], [3, 4, 5], [6, 7, 8]], dtype=float)
K = np.array([[1, 0], [0, -1]], dtype=float)


def test_format_number():
    assert format_number(3.0) == "3" and format_number(-0.0) == "0"
    assert format_number(0.1 + 0.2) == "0.3"
    assert format_number(Fraction(5, 8)) == "5/8" and format_number(Fraction(-5, 8), fmt="latex") == r"-\frac{5}{8}"
    assert format_number(Fraction(4, 2)) == "2"
    assert format_number(0.7310585786300049, round=3) == "0.731"
    assert format_number(2.5, round=0) == "3" and format_number(-2.5, round=0) == "-3"
    assert format_number(float("-inf")) == "-inf" and format_number(float("-inf"), fmt="latex") == r"-\infty"
    assert format_number(1.5e-12, fmt="latex") == r"1.5 \times 10^{-12}"


def test_round_half_away_from_zero():
    assert round_half_away(2.675, 2) == 2.68  # the decimal the user typed, not its binary neighbour
    assert round_half_away(0.125, 2) == 0.13 and round_half_away(-0.125, 2) == -0.13
    assert round_half_away(Fraction(5, 8), 2) == Fraction(63, 100)
    assert round_half_away(np.array([0.5, 1.5, 2.5, -0.5]), 0).tolist() == [1, 2, 3, -1]
    assert round_half_away(1.23449, 3) == 1.234  # not a half: ordinary rounding


def _trace():
    return trace_conv2d(X, K, padding=1, flip=True, bias=1, act="relu")


def test_text_shows_every_step():
    text = render_trace(_trace(), "text", max_cells=None)
    assert "true convolution" in text and "padded input" in text and "rotated 180" in text
    assert "window" in text and "products" in text
    # O[2,2]: window [[0,1],[3,4]] with the flipped kernel [[-1,0],[0,1]]: 0·(-1) + 1·0 + 3·0 + 4·1 = 4, +1
    assert "O[2,2] = relu(0·(-1) + 1·0 + 3·0 + 4·1 + 1) = relu(4 + 1) = relu(5) = 5" in text
    assert text.count("O[") >= 16 and "left out" not in text
    assert "H_out = ⌊(3 + 1 + 1 - (2 - 1) - 1) / 1⌋ + 1 = 4" in text


def test_cross_correlation_is_named():
    text = render_trace(trace_conv2d(X, K), "text")
    assert "cross-correlation" in text and "O[1,1] = 0·1 + 1·0 + 3·0 + 4·(-1) = -4" in text


def test_markdown_fences_math():
    md = render_trace(_trace(), "markdown", max_cells=2)
    assert md.startswith("## Convolution")
    assert md.count("```text") == md.count("```") / 2
    assert "14 more cell(s) left out" in md


def test_large_inputs_are_shown_in_part():
    x = np.arange(40 * 40, dtype=float).reshape(40, 40)
    text = render_trace(trace_conv2d(x, np.ones((3, 3))), "text")
    assert "1428 more cell(s) left out: 16 of 1444 shown" in text
    assert "showing 24 of 40 rows and 24 of 40 columns" in text and "…" in text


def _latex_balanced(tex: str) -> None:
    depth = 0
    for ch in re.sub(r"\\[{}]", "", tex):
        depth += (ch == "{") - (ch == "}")
        assert depth >= 0
    assert depth == 0
    envs = re.findall(r"\\(begin|end)\{(\w+\*?)\}", tex)
    stack = []
    for kind, name in envs:
        if kind == "begin":
            stack.append(name)
        else:
            assert stack.pop() == name
    assert not stack


def test_latex_is_an_answer_key_fragment():
    tex = render_trace(_trace(), "latex", max_cells=3)
    assert r"\begin{bmatrix}" in tex and r"\begin{align*}" in tex and r"\odot" in tex
    assert r"O_{1,1} &= \operatorname{ReLU}" in tex
    assert r"\documentclass" not in tex
    _latex_balanced(tex)
    wide = render_trace(trace_conv2d(np.ones((3, 14)), np.ones((1, 1))), "latex")
    assert r"\begin{array}{rrrrrrrrrrrrrr}" in wide  # > 10 columns: no bmatrix (MaxMatrixCols)
    _latex_balanced(wide)


def _all_traces():
    xe = ops.as_tensor([[0.5, 1, 1.5], [2, 2.5, -3], [1, 0, 1]], exact=True)
    return [
        _trace(),
        trace_conv2d(np.arange(18.).reshape(2, 3, 3), np.ones((2, 2, 2, 2)), bias=[1, -1], padding="same",
                     stride=2),
        trace_conv_transpose2d(np.array([[1., 2.], [3., 4.]]), np.array([[1., 0.], [0., 1.]]), stride=2),
        trace_pool2d(xe, "avg", 2, stride=1, padding=1, ceil_mode=True, count_include_pad=False),
        trace_pool2d(X, "max", 2, stride=1, padding=1),
        trace_act(xe, "leaky_relu"), trace_act(X - 4, "sigmoid"), trace_act(X, "softmax"),
        trace_act(np.array([1e3, 1.0]), "softmax"),
    ]


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex"])
def test_every_trace_renders(fmt):
    for t in _all_traces():
        out = render_trace(t, fmt, max_cells=4, round=3)
        assert "Result" in out
        if fmt == "latex":
            _latex_balanced(out)


def test_exact_mode_shows_fractions():
    t = trace_pool2d(ops.as_tensor([[0.5, 0.5], [1.5, 0]], exact=True), "avg", 2)
    text = render_trace(t, "text")
    assert "O[1,1] = (1/2 + 1/2 + 3/2 + 0) / 4 = (5/2) / 4 = 5/8 = 0.625" in text
    assert r"\frac{5}{8}" in render_trace(t, "latex")
    third = trace_pool2d(ops.as_tensor([[1, 0, 0]], exact=True), "avg", (1, 3))
    assert "1/3 ≈ 0.3333333333" in render_trace(third, "text")


def test_render_value_kinds():
    assert render_value(Fraction(5, 8)) == "5/8"
    assert render_value([1, 2.5]) == "[1, 2.5]"
    assert render_value(np.ones((2, 2, 2))).startswith("channel 1:")
    assert render_value({"separable": True, "rank": 1}) == "separable: true\nrank: 1"
    assert render_value([[1, 2], [3, 4]], "latex") == r"\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}"
    assert render_value(0.123456, "text", round=2) == "0.12"
    assert render_value("a_b", "latex") == r"\text{a\_b}"


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no pdflatex on this machine (CI installs one)")
def test_latex_compiles(tmp_path):
    body = "\n".join(render_trace(t, "latex", max_cells=3) for t in _all_traces())
    body += "\n\\[ " + render_value(np.ones((2, 2, 2)), "latex") + " \\]\n"
    (tmp_path / "key.tex").write_text(standalone(body, "Answer key"))
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "key.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:]
