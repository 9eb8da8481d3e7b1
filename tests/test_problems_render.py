"""Rendering solved sets (text, Markdown, LaTeX, JSON) and the example problem files."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cnnlab.cli.main import main
from cnnlab.problems import load_problem_file, solve_set
from cnnlab.problems.render import render_set, set_to_json

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples" / "problems").glob("*.yaml"))
SHEET1 = next(p for p in EXAMPLES if p.name == "sheet1.yaml")


def latex_problems(doc: str) -> list[str]:
    """Structural faults a TeX engine would stop at: unbalanced braces/environments, non-ASCII."""
    faults = []
    body = re.sub(r"\\[{}$%&#_]", "", doc)  # escaped characters
    if body.count("{") != body.count("}"):
        faults.append(f"braces {body.count('{')} vs {body.count('}')}")
    stack = []
    for kind, env in re.findall(r"\\(begin|end)\{([^}]*)\}", doc):
        if kind == "begin":
            stack.append(env)
        elif not stack or stack.pop() != env:
            faults.append(f"\\end{{{env}}} does not close the last \\begin")
    if stack:
        faults.append(f"unclosed environments {stack}")
    if doc.count(r"\[") != doc.count(r"\]"):
        faults.append("display math \\[ \\] unbalanced")
    if re.search(r"[^\x00-\x7f]", doc):
        faults.append("non-ASCII characters")
    if body.count("$") % 2:
        faults.append("odd number of $")
    return faults


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_solves_in_every_format(path):
    result = solve_set(load_problem_file(str(path)))
    for fmt in ("text", "markdown"):
        text = render_set(result, fmt)
        assert all(f"({p.id})" in text for p in result.parts)
    doc = render_set(result, "latex")
    assert doc.startswith(r"\documentclass{article}") and doc.rstrip().endswith(r"\end{document}")
    assert latex_problems(doc) == []
    data = json.loads(json.dumps(set_to_json(result)))
    assert [p["id"] for p in data["parts"]] == [p.id for p in result.parts]


def test_examples_cover_the_catalogue():
    asks = " ".join(p.read_text() for p in EXAMPLES)
    for fn in ("conv2d", "conv_transpose2d", "pad(", "maxpool2d", "avgpool2d", "global_avgpool", "global_maxpool",
               "relu", "sigmoid", "tanh", "leaky_relu", "softmax(", "softmax_jacobian", "sqrt", "row(",
               "rank(", "separable(", "conv_output_size", "pool_output_size", "solve_padding", "solve_kernel",
               "arch(", "kernel(", "describe_kernel", "flip=true", "dilation=", "groups=", "stride=",
               "reflect", "symmetric", "replicate", "circular", "ceil_mode=true", "exact: true"):
        assert fn in asks, fn


def test_sheet1_is_the_demo_all_right_and_states_the_operation():
    result = solve_set(load_problem_file(str(SHEET1)))
    checked = [p for p in result.parts if p.correct is not None]
    assert len(checked) >= 3 and all(p.correct for p in checked)
    text = render_set(result, "text")
    assert "cross-correlation" in text and "true convolution" in text
    assert "Max pooling" in text and "ReLU" in text and "padded input" in text


def test_wrong_key_example_names_its_slips(capsys):
    path = next(p for p in EXAMPLES if p.name == "wrong_key.yaml")
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    for phrase in ("kernel not flipped", "padding forgotten", "or symmetric", "sum instead of average",
                   "stride ignored", "'+1'", "floor instead of ceil", "bias forgotten",
                   "rounded to 2 decimals instead of 3", "rounded too early", "k: right",
                   "no common slip explains it"):
        assert phrase in out, phrase


def test_solve_json_contract(capsys):
    assert main(["solve", str(SHEET1), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    part = data["parts"][1]
    assert set(part) >= {"id", "value", "correct", "diagnosis"}
    assert part["id"] == "b" and part["correct"] is True and part["value"][0] == [1, 4, 0, -2]
    assert all(isinstance(v, (int, float)) for row in part["value"] for v in row)
    assert data["parts"][2]["correct"] is None


def test_multi_problem_ids_and_exact_strings(capsys):
    conv = next(p for p in EXAMPLES if p.name == "convolution.yaml")
    assert main(["solve", str(conv), "--format", "json"]) == 0
    ids = [p["id"] for p in json.loads(capsys.readouterr().out)["parts"]]
    assert ids[:2] == ["1.a", "1.b"] and "4.c" in ids
    exact = next(p for p in EXAMPLES if p.name == "exact.yaml")
    assert main(["solve", str(exact), "--format", "json"]) == 0
    parts = json.loads(capsys.readouterr().out)["parts"]
    assert parts[0]["exact"] == [["7/4", "5/4"], ["7/4", "2"]] and parts[0]["value"][0] == [1.75, 1.25]
    assert parts[2]["exact"] == "14/9"


def test_out_writes_file_with_format_from_extension(tmp_path):
    out = tmp_path / "sheet1.tex"
    assert main(["solve", str(SHEET1), "--out", str(out)]) == 0
    assert out.read_text().startswith(r"\documentclass")
    md = tmp_path / "sheet1.md"
    assert main(["solve", str(SHEET1), "--out", str(md), "--max-cells", "0"]) == 0
    assert md.read_text().startswith("# Sheet 1") and "left out" not in md.read_text()


def _compile(tmp_path: Path, doc: str) -> None:
    assert latex_problems(doc) == []
    tex = tmp_path / "doc.tex"
    tex.write_text(doc)
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 1000


NO_TEX = shutil.which("pdflatex") is None


@pytest.mark.skipif(NO_TEX, reason="no TeX engine (pdflatex) on this machine")
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_latex_compiles(tmp_path, path):
    _compile(tmp_path, render_set(solve_set(load_problem_file(str(path))), "latex"))


@pytest.mark.skipif(NO_TEX, reason="no TeX engine (pdflatex) on this machine")
def test_quiz_latex_compiles_with_key_and_steps(tmp_path):
    from cnnlab.problems.quiz import TOPICS, generate_quiz, quiz_key
    from cnnlab.problems.sheet import render_quiz

    quiz = generate_quiz(list(TOPICS), len(TOPICS), seed=3)
    result = quiz_key(quiz)
    _compile(tmp_path, render_quiz(quiz, result, "latex"))
    _compile(tmp_path, render_quiz(quiz, result, "latex", steps=True))
