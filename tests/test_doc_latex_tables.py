"""LaTeX tables fit the page (issue 20 item 2): a table wider than the line gets paragraph
columns (prose wraps, numbers keep their width under wrapped headers), one that cannot fit
even so is scaled; pdflatex then reports no overfull box past a few points. Captions are part
of the table in every writer."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from cnnlab import doc
from cnnlab.doc.blocks import Figure, Heading, Table, ValueCell
from cnnlab.doc.cells import value_table
from cnnlab.doc.latex import LatexWriter, TEXT_WIDTH_PT, standalone
from cnnlab.doc.latex_columns import COLUMN_GAP_PT, fit_columns, text_pt
from cnnlab.explain.document import report_blocks as explain_blocks

SLACK_PT = 4.0  # "a few points", as tests/test_doc_latex_fit.py allows
LONG = ("responds most to a vertical edge, dark on the left and bright on the right, like Sobel x; it sums "
        "to about zero, so flat regions give no output; separable as a column smoothing times a row "
        "derivative, and its best rank-1 approximation keeps nearly all of its norm, answering lines weakly "
        "and dots hardly")
SPEC = ('{"type": "categorical", "choices": ["sgd", "adam", "adamw", "rmsprop", "adagrad", "nadam", "radam", '
        '"lamb", "lion"]}')


def _explain_summary() -> dict:
    """An explanation's summary as cnnlab.explain.run builds it: filters and shift parts."""
    filters = [{"number": n, "pattern": "vertical edge (dark to bright)", "match": 0.91234, "strength": "strong",
                "summary": LONG} for n in (1, 2, 3)]
    acc = [0.8812, 0.9345, 0.9512, 0.9301, 0.8799]
    return {"model": "cnn3", "data": "digits", "input": [1, 8, 8], "test_accuracy": 0.95123, "run_dir": "runs/a",
            "parts": ["filters", "shift"],
            "filters": {"shape": [3, 1, 3, 3], "layer": "features.0", "picture": "f.png", "filters": filters},
            "shift": {"n": 500, "split": "test", "accuracy": 0.9512, "shifts": [-2, -1, 0, 1, 2], "picture": "s.png",
                      "horizontal": {"accuracy": acc, "consistency": acc}, "vertical": {"accuracy": acc,
                                                                                     "consistency": acc}}}


def _report_tables() -> list:
    """Tables as the explain, compare and tune reports build them, each too wide for one line."""
    explain = [b for b in explain_blocks(_explain_summary(), [str(i) for i in range(10)]) if not isinstance(b, Figure)]
    seconds = [ValueCell(12.5, "12.5"), ValueCell(30.1, "30.1")]  # as compare shows its training times
    compare = value_table(["model", "params", "train acc", "val acc", "test acc", "shifted val acc", "shift drop",
                           "train s"], [["mlp-budget", 12345, 0.99, 0.9712, 0.9634, 0.8012, 0.17, seconds[0]],
                                        ["small-cnn", 4321, 0.98, 0.97, 0.9701, 0.93, 0.04, seconds[1]]],
                          caption="shift drop = validation accuracy minus shifted validation accuracy; " + LONG)
    tune = value_table(["parameter", "spec"], [["lr", '{"type": "float", "low": 0.0001, "high": 0.1, "log": true}'],
                                               ["optimizer", SPEC]], code=(1,))
    return [*explain, Heading("Compare", level=2), compare, Heading("Tune", level=2), tune]


def test_the_long_cell_and_long_headers_need_wrapping():
    assert len(LONG) >= 300 and text_pt(LONG) > 3 * TEXT_WIDTH_PT  # on one line it would run far off the page
    tex = doc.write(_report_tables(), "latex")
    specs = re.findall(r"\\begin\{tabular\}\{@\{\}(.*?)@\{\}\}", tex)
    assert len(specs) == 5 and all(spec.startswith("p{") for spec in specs[1:]), specs  # run facts fit as they are
    for spec in specs[1:]:
        widths = [float(w) for w in re.findall(r"p\{([\d.]+)pt\}", spec)]
        assert sum(widths) + COLUMN_GAP_PT * (len(widths) - 1) <= TEXT_WIDTH_PT
    assert r"\raggedright responds most" in tex and r"\raggedleft 0.9123 \tabularnewline" not in tex
    assert r"\raggedleft 0.9123 & \raggedright strong" in tex  # the number right, the prose ragged


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_report_tables_compile_without_overfull_boxes(tmp_path):
    (tmp_path / "t.tex").write_text(standalone(doc.write(_report_tables(), "latex")), encoding="utf-8")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    log = (tmp_path / "t.log").read_text(errors="replace")
    widths = [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert not [w for w in widths if w > SLACK_PT], widths


def test_a_table_that_fits_keeps_its_plain_columns():
    tex = doc.write([value_table(["model", "acc"], [["mlp", 0.5]])], "latex")
    assert tex.startswith(r"\noindent\begin{tabular}{@{}lr@{}}") and r"mlp & 0.5000 \\" in tex


def test_too_wide_even_wrapped_is_scaled_whole():
    header = [f"h{j}" for j in range(40)]  # 40 columns of numbers: no wrapping makes room
    tex = doc.write([value_table(header, [list(range(1000, 1040))])], "latex")
    assert tex.startswith("\\noindent\\resizebox{\\linewidth}{!}{%\n\\begin{tabular}{@{}" + "r" * 40 + "@{}}")


def test_fit_columns_shares_the_room_narrow_prose_first():
    # numbers keep their width; the short prose column its natural width; the long one the rest
    widths = fit_columns([20.0, 50.0, 2000.0], [20.0, 30.0, 40.0], [True, False, False], 345.0)
    assert widths == [20.0, 50.0, 345.0 - 24 - 70]


def test_caption_is_part_of_the_table_in_every_writer():
    t = Table(["a", "b"], [["x", "1"]], align="lr", caption="b counts x & y")
    assert doc.write([t], "text") == "a  b\n-  -\nx  1\nb counts x & y\n"
    assert doc.write([t], "markdown") == "| a | b |\n|---|---:|\n| x | 1 |\n\nb counts x & y\n"
    html = doc.write([t], "html")
    assert '<table class="cnn-table"><caption>b counts x &amp; y</caption><thead>' in html
    assert "caption-side:bottom" in html  # shown under the table, where the sentence used to be
    latex = LatexWriter().render([t])
    assert latex.endswith("\\end{tabular}\n\\par\\nopagebreak\\smallskip\n\\noindent{\\small b counts x \\& y}\n")
    assert '"caption": "b counts x & y"' in doc.write([t], "json")
