"""Keys fit the page: varied LaTeX keys compile with pdflatex and no line runs more than a
few points into the margin (issue 24 item 5). Long sums break with aligned continuation,
chains of equalities continue on the next line, wide matrices are scaled to the line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnlab.doc.blocks import Formula, Matrices, StepList, TensorGrid
from cnnlab.doc.expr import Call, Index, Num, Product, Sum
from cnnlab.doc.latex import LatexWriter, align_chains, standalone, width_pt

ROOT = Path(__file__).resolve().parents[1]
SLACK_PT = 4.0  # "a few points": TeX's own rounding of a scaled box is far below this
ALL_TOPICS = ("conv,padding,pool,act,softmax,shapes,separable,rf,params,transposed,rgb,dilation,"
              "gradient,detect,chain")
RGB = ("1 2 3 4; 5 6 7 8; 9 10 11 12; 13 14 15 16 | 1 0 1 0; 0 1 0 1; 1 1 0 0; 0 0 1 1 | "
       "2 2 2 2; 3 3 3 3; 1 1 1 1; 0 0 0 0")
THIRDS = " | ".join("; ".join(" ".join(str((i * 7 + j * 3 + c) % 10 / 3) for j in range(6)) for i in range(6))
                    for c in range(3))
WIDE = "; ".join(" ".join(str(i * 30 + j) for j in range(30)) for i in range(4))

KEYS = {
    **{f"solve_{p.stem}": ["solve", str(p), "--format", "latex"]
       for p in sorted((ROOT / "examples" / "problems").glob("*.yaml"))},
    "quiz_compact": ["quiz", "--topics", ALL_TOPICS, "--count", "15", "--seed", "0", "--steps", "--format", "latex"],
    "quiz_full": ["quiz", "--topics", ALL_TOPICS, "--count", "15", "--seed", "5", "--steps", "full", "--format", "latex"],
    "quiz_from_sheet1": ["quiz", "--from", str(ROOT / "examples" / "problems" / "sheet1.yaml"), "--seed", "3",
                         "--steps", "--format", "latex"],
    "conv_rgb": ["conv", "--input", RGB, "--kernel", "1 0 -1; 2 0 -2; 1 0 -1", "--padding", "1", "--bias", "0.5",
                 "--act", "relu", "--steps", "--max-cells", "3", "--format", "latex", "--standalone"],
    "conv_thirds": ["conv", "--input", THIRDS, "--kernel", "0.3333333 -1.25 2; 1 1 1; -0.5 0.25 -3.75",
                    "--bias", "-1.5", "--act", "sigmoid", "--steps", "--max-cells", "2", "--format", "latex",
                    "--standalone"],
    "conv_exact_wide": ["conv", "--input", WIDE, "--kernel", "1 2 3 4 5; 1 2 3 4 5", "--exact", "--steps",
                        "--max-cells", "2", "--format", "latex", "--standalone"],
    "conv_box_exact": ["conv", "--input", "1.5 2.25 3.125; 4 5 6; 7 8 9", "--kernel", "box:3", "--exact",
                       "--padding", "1", "--steps", "--max-cells", "3", "--format", "latex", "--standalone"],
    "softmax_long": ["act", "--input", " ".join(str(i / 7) for i in range(20)), "--fn", "softmax", "--steps",
                     "--format", "latex", "--standalone"],
}


def overfull(log: str) -> list[float]:
    """Widths (pt) of every overfull \\hbox that pdflatex reports in ``log``."""
    return [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]


def test_overfull_parser_reads_a_real_log_line():
    assert overfull("Overfull \\hbox (782.41pt too wide) in paragraph at lines 3--4\n") == [782.41]


def test_long_sum_breaks_with_aligned_continuation():
    terms = tuple(Product(Num(v / 3), Num(-v)) for v in range(1, 26))  # 25 products: several lines
    out = LatexWriter().render([StepList([Formula(Index("O", (0, 0)), [Call("relu", Sum(terms)), Num(1)])])])
    lines = out.split("\\\\\n")
    assert len(lines) >= 4 and all(line.startswith(r"&\quad +") for line in lines[1:-1])
    assert r"\bigl(" in lines[0] and r"\bigr)" in out and r"\left(" not in lines[0].split(r"\bigl(")[0]
    assert all(width_pt(line) < 345 for line in lines)


def test_wide_matrices_are_scaled_and_chains_continue():
    wide = Matrices([("x", TensorGrid(np.arange(60.).reshape(2, 30) / 7, limit=None))])
    assert r"\resizebox{" in LatexWriter().render([StepList([wide])])
    body = align_chains([("x", ["a" * 30, "b" * 30, "c" * 30])])
    assert body.count("\\\\") >= 1 and "&= " + "b" * 30 in body


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no pdflatex on this machine (CI installs one)")
@pytest.mark.parametrize("name", sorted(KEYS))
def test_key_fits_the_page(tmp_path, name):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "cnnlab", *KEYS[name]], capture_output=True, text=True,
                         env=env, timeout=300)
    assert run.returncode in (0, 1), run.stderr  # check exits 1 on a wrong claimed answer (wrong_key)
    tex = run.stdout if run.stdout.lstrip().startswith(r"\documentclass") else standalone(run.stdout)
    (tmp_path / "key.tex").write_text(tex)
    pdf = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "key.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert pdf.returncode == 0, pdf.stdout[-2000:]
    log = (tmp_path / "key.log").read_text(errors="replace")
    widths = overfull(log)
    assert not [w for w in widths if w > SLACK_PT], (name, widths)
