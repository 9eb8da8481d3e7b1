"""compare, explain and tune results write their report documents: the Markdown, LaTeX and
notebook views are the same document as report.html / explain.html, pictures included;
str() stays the command's closing text."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import cnnlab
from cnnlab.cli.main import main as cli_main

pytest.importorskip("torch")


def _pictures(page: str) -> list[str]:
    return re.findall(r'<img src="(data:image/png;base64,[^"]*)"', page)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "cnn3"
    cnnlab.train(data="digits", model="cnn3", epochs=1, limit=200, out=str(out), seed=1)
    return out


def test_explain_report_is_explain_html_in_every_format(run, tmp_path):
    r = cnnlab.explain(run, what="filters,shift", out=str(tmp_path / "e"), limit=40, max_shift=1)
    page = Path(r["html"]).read_text(encoding="utf-8")
    notebook = r._repr_html_()
    assert notebook.rstrip("\n") in page  # the page is the notebook view with a frame around it
    assert len(_pictures(notebook)) == 2 == len(_pictures(page))
    filters = r["filters"]["filters"]
    md = r.to_markdown()
    assert md.startswith("# What cnn3 learned\n") and "\n## First-layer filters\n" in md  # title 1, sections 2
    assert f"![first-layer filters of {r['filters']['layer']}]({r['filters']['picture']})" in md
    assert md.count("\n| ") == (1 + 6) + (1 + len(filters)) + (1 + 3)  # header and rows: run facts, filters, shifts -1..1
    latex = r.to_latex()
    assert latex.startswith(r"\section*{What cnn3 learned}") and r"\subsection*{Robustness to shifted inputs}" in latex
    assert rf"\includegraphics[width=\linewidth]{{{r['shift']['picture']}}}" in latex
    assert str(r).splitlines()[-1] == f"page: {r['html']}"
    blocks = json.loads(r.render("json"))["blocks"]  # the document itself, for a page of your own
    assert blocks[0] == {"type": "heading", "text": "What cnn3 learned", "level": 1}
    assert {"type": "figure", "path": r["shift"]["picture"],
            "caption": "accuracy and unchanged predictions against the shift"} in blocks
    if shutil.which("pdflatex"):  # the key compiles, pictures included
        (tmp_path / "e.tex").write_text(r.to_latex(standalone=True), encoding="utf-8")
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "e.tex"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout[-2000:]


def test_explain_cli_prints_the_api_text(run, tmp_path, capsys):
    r = cnnlab.explain(run, what="filters", out=str(tmp_path / "a"))
    capsys.readouterr()
    assert cli_main(["explain", str(run), "--what", "filters", "--out", str(tmp_path / "a")]) == 0
    assert capsys.readouterr().out.endswith(str(r) + "\n")


def test_compare_report_and_text(tmp_path, capsys):
    out = tmp_path / "cmp"
    r = cnnlab.compare(data="digits", models=["logreg"], limit=200, out=str(out))
    text = str(r).splitlines()
    assert text[0].split() == ["model", "params", "train", "acc", "val", "acc", "test", "acc", "shifted", "val",
                               "acc", "shift", "drop", "train", "s"]
    assert text[2].split()[:2] == ["logreg", "650"] and text[-2] == f"report: {out / 'report.html'}"
    assert re.fullmatch(rf"run folder: {re.escape(str(out))} \(\d+\.\d s\)", text[-1])
    page = (out / "report.html").read_text(encoding="utf-8")
    assert r._repr_html_().rstrip("\n") in page
    assert len(_pictures(page)) == len(r.value.figures) == 3  # coefficients, bars, examples
    md = r.to_markdown()
    assert "| logreg | 650 |" in md and "\n## Robustness to horizontal shifts\n" in md
    assert "```json\n{\n" in md  # the settings, as the page's <pre>
    assert json.loads(md.split("```json\n")[1].split("```")[0])["models"] == ["logreg"]


def test_tune_report_and_text(tmp_path):
    out = tmp_path / "tune"
    r = cnnlab.tune(data="digits", model="logreg", trials=2, epochs=1, limit=200, threads=1, out=str(out))
    study = Path(r.value.study_dir)
    page = (study / "report.html").read_text(encoding="utf-8")
    assert r._repr_html_().rstrip("\n") in page
    assert len(_pictures(page)) == len(r.value.figures) >= 3
    text = str(r).splitlines()
    assert text[0].split()[:5] == ["trial", "state", "val_accuracy", "epochs", "seconds"]
    assert "study 'logreg-digits': 2 trials (2 complete); 2 run now" in text
    assert text[-2] == f"report: {study / 'report.html'}"
    md = r.to_markdown()
    assert md.startswith("# Tuning logreg on digits\n")
    assert len(re.findall(r"^\| [01] \| complete \|", md, re.M)) == 2  # a row per trial
    assert "```shell\ncnnlab evaluate " in md
