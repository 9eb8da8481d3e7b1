"""Sheets a course hands out: labels from `text:`, LaTeX keys that compile compactly, check
messages, the new quiz topics and `quiz --from`, work budgets, named-kernel notes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from cnnlab import ops
from cnnlab.cli.main import main
from cnnlab.errors import UsageError
from cnnlab.ops import budget as B
from cnnlab.problems import load_problem_text, solve_set
from cnnlab.problems.quiz import generate_quiz
from cnnlab.problems.redraw import quiz_from, redraw_value
from cnnlab.problems.render import render_set, set_to_json
from cnnlab.problems.sheet import quiz_yaml

PDFLATEX = shutil.which("pdflatex")
needs_pdflatex = pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed: LaTeX not compiled")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "problems"

RGB = """title: RGB
given:
  X: [[[1,2,0,1],[0,1,2,3],[2,1,0,1],[1,0,1,2]], [[0,1,1,0],[1,2,0,1],[0,1,3,1],[2,0,1,0]],
      [[2,0,1,1],[1,1,2,0],[0,2,1,1],[1,1,0,2]]]
  W: [[[[1,0],[0,-1]],[[1,1],[0,0]],[[0,1],[1,0]]], [[[1,1],[1,1]],[[1,1],[1,1]],[[1,1],[1,1]]]]
  net: "conv 3x3 16; relu; maxpool 2x2; conv 3x3 32; relu; maxpool 2x2; flatten; linear 10"
parts:
- {id: "a^~_#", ask: "Y = conv2d(X, W, padding=1)", text: "Convolve X with the two filters W, zero padding 1."}
- {id: b, ask: "maxpool2d(relu(Y), 2)", answer: [[1, 2], [3, 4]]}
- {id: c, ask: "arch(net, [3, 32, 32])", text: "Give the output shape and parameters of each layer."}
"""


def _compile(tex: str, tmp_path: Path) -> str:
    """pdflatex the document in a fresh font cache; the log (fails the test on an error)."""
    (tmp_path / "doc.tex").write_text(tex)
    env = dict(os.environ, TEXMFVAR=str(tmp_path / "texmf-var"))
    r = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp_path,
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:]
    assert "mktexpk" not in r.stdout, "pdflatex generated bitmap fonts"
    return (tmp_path / "doc.log").read_text(errors="replace")


def _pages(log: str) -> int:
    return int(log.split("Output written on doc.pdf (")[1].split(" page")[0])


# ---------------------------------------------------------------- labels


def test_text_is_the_label_in_every_format():
    result = solve_set(load_problem_text(RGB))
    text = "Convolve X with the two filters W, zero padding 1."
    assert f"(a^~_#) {text}" in render_set(result, "text")
    assert f"## (a^~_#) {text}" in render_set(result, "markdown")
    latex = render_set(result, "latex")
    assert r"\subsection*{(a\^{}\~{}\_\#) Convolve X" in latex and r"\texttt{arch(net" not in latex.split(
        "Give the output shape")[0].rsplit("subsection", 1)[-1]
    part = set_to_json(result)["parts"][0]
    assert part["text"] == text and part["label"] == f"(a^~_#) {text}"
    from cnnlab.problems.quiz import attach_key, quiz_key
    from cnnlab.problems.sheet import render_quiz
    quiz = attach_key({"title": "t", "problems": [yaml.safe_load(RGB)]})
    key = render_quiz(quiz, quiz_key(quiz), "latex").split("Answer key")[1]
    assert r"\paragraph{(1.c) Give the output shape and parameters of each layer.}" in key
    assert r"\texttt{arch(net" not in key


@needs_pdflatex
def test_latex_special_part_ids_and_compact_key_compile(tmp_path):
    result = solve_set(load_problem_text(RGB))
    (tmp_path / "c").mkdir()
    (tmp_path / "f").mkdir()
    compact = _compile(render_set(result, "latex"), tmp_path / "c")
    full = _compile(render_set(result, "latex", steps="full"), tmp_path / "f")
    assert _pages(compact) < _pages(full)
    assert r"\resizebox" in render_set(result, "latex")  # the arch table shrinks to the page width


@needs_pdflatex
def test_quiz_key_with_new_topics_compiles(tmp_path, capsys):
    out = tmp_path / "q.tex"
    assert main(["quiz", "--topics", "rgb,dilation,gradient,detect,chain", "--count", "5", "--seed", "2",
                 "--steps", "--out", str(out)]) == 0
    _compile(out.read_text(), tmp_path)


def test_compact_steps_work_one_cell_per_output_channel():
    result = solve_set(load_problem_text(RGB))
    text = render_set(result, "text", steps="compact")
    conv = text.split("Convolution")[1].split("Result")[0]
    assert "O[1,1,1]" in conv and "O[2,1,1]" in conv and "O[1,1,2]" not in conv
    assert "computed the same way" in conv
    full = render_set(result, "text", steps="full")
    assert "O[2,4,4]" in full.split("Convolution")[1]


# ---------------------------------------------------------------- check messages


def test_unknown_answer_key_is_named_with_did_you_mean(capsys, tmp_path):
    f = tmp_path / "k.yaml"
    f.write_text('given: {net: "conv 3x3 8; relu"}\nparts:\n'
                 "- {id: a, ask: 'arch(net, [1, 8, 8])', answer: {layers: [{output: [8, 6, 6]}, "
                 "{output: [8, 6, 6]}]}}\n")
    assert main(["check", str(f)]) == 1
    out = capsys.readouterr().out
    assert "unknown key output; did you mean output_shape?" in out and "no common slip" not in out


def test_expected_shown_rounded_and_exact(capsys, tmp_path):
    f = tmp_path / "r.yaml"
    f.write_text("round: 2\nparts:\n- {id: a, ask: '5/8', answer: 0.6}\n")
    assert main(["check", str(f)]) == 1
    assert "expected 0.63 (unrounded 0.625)" in capsys.readouterr().out
    f.write_text("exact: true\ngiven: {X: [[1, 2]]}\nparts:\n- {id: a, ask: 'X / 3', answer: [[0.5, 0.67]]}\n")
    assert main(["check", str(f)]) == 1
    out = capsys.readouterr().out
    assert "first [1,1] (counted from 1)" in out and "expected 1/3" in out
    assert main(["check", str(f), "--format", "json"]) == 1
    m = json.loads(capsys.readouterr().out)["parts"][0]["mismatches"][0]
    assert m["index_from_1"] == [1, 1] and m["index_from_0"] == [0, 0] and m["expected_exact"] == "1/3"


def test_average_asked_as_convolution_gets_the_same_diagnosis_as_avgpool():
    X = np.arange(16.0).reshape(4, 4) % 5
    sums = (ops.avg_pool2d(X, 2) * 4).tolist()
    words = []
    for ask in ("avgpool2d(X, 2)", "conv2d(X, [[0.25, 0.25], [0.25, 0.25]], stride=2)"):
        s = load_problem_text(yaml.safe_dump({"given": {"X": X.tolist()}, "parts": [{"ask": ask, "answer": sums}]}))
        words.append(solve_set(s).parts[0].diagnosis)
    assert all(w and w.startswith("sum instead of average") for w in words), words


# ---------------------------------------------------------------- quizzes


@pytest.mark.parametrize("topic", ["rgb", "dilation", "gradient", "detect", "chain"])
def test_new_topics_match_torch_and_probe_names(topic):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    quiz = generate_quiz([topic], count=3, seed=5)
    for prob in quiz["problems"]:
        g = {k: np.array(v, dtype=float) for k, v in prob["given"].items()}
        a = prob["parts"][0]["answer"]
        if topic == "rgb":
            want = F.conv2d(torch.tensor(g["X"])[None], torch.tensor(g["W"])[None])[0]
            assert np.allclose(a, want.numpy())
        elif topic == "dilation":
            want = F.conv2d(torch.tensor(g["X"])[None, None], torch.tensor(g["K"])[None, None], dilation=2)[0, 0]
            assert np.allclose(a, want.numpy())
        elif topic == "detect":
            assert a in {"horizontal_edge", "vertical_edge", "horizontal_line", "vertical_line", "diagonal_line",
                         "antidiagonal_line", "dot", "ring", "corner", "flat"}
        elif topic == "chain":
            b = float(prob["parts"][0]["ask"].split("bias=")[1].rstrip(")"))
            want = F.conv2d(torch.tensor(g["X"])[None, None], torch.tensor(g["K"])[None, None])[0, 0] + b
            assert np.allclose(a, want.numpy())
        elif topic == "gradient":
            mag = np.array(prob["parts"][2]["answer"])
            gx, gy = np.array(prob["parts"][0]["answer"]), np.array(prob["parts"][1]["answer"])
            assert np.allclose(mag, np.sqrt(gx ** 2 + gy ** 2), atol=0.005)


def test_no_two_items_of_a_quiz_alike():
    quiz = generate_quiz(["shapes", "detect"], count=24, seed=0)
    prints = [repr((p.get("given"), [q["ask"] for q in p["parts"]])) for p in quiz["problems"]]
    assert len(set(prints)) == len(prints)


def test_quiz_from_redraws_given_and_recomputes_key(tmp_path, capsys):
    sheet = EXAMPLES / "sheet1.yaml"
    out = tmp_path / "v.yaml"
    assert main(["quiz", "--from", str(sheet), "--seed", "4", "--out", str(out)]) == 0
    assert main(["check", str(out)]) == 0
    original = yaml.safe_load(sheet.read_text())
    new = yaml.safe_load(out.read_text())["problems"][0]
    for name, v in original["given"].items():
        assert np.shape(new["given"][name]) == np.shape(v)
        assert all(float(x).is_integer() and abs(x) <= 9 for x in np.ravel(new["given"][name]))
    assert new["given"] != original["given"]
    assert [p["ask"] for p in new["parts"]] == [p["ask"] for p in original["parts"]]
    again = tmp_path / "w.yaml"
    assert main(["quiz", "--from", str(sheet), "--seed", "4", "--out", str(again)]) == 0
    assert again.read_text() == out.read_text()


def test_redraw_keeps_constants_and_range():
    import random
    rng = random.Random(0)
    assert redraw_value([[1, 1], [1, 1]], rng) == [[1, 1], [1, 1]]
    assert redraw_value(["1/9", "1/9"], rng) == ["1/9", "1/9"]
    drawn = redraw_value([[0, 3], [2, 1]], rng)
    assert all(0 <= v <= 3 for row in drawn for v in row)
    assert redraw_value("conv 3x3 8", rng) == "conv 3x3 8" and redraw_value(28, rng) == 28


# ---------------------------------------------------------------- budgets


@pytest.mark.parametrize("argv, phrase", [
    (["conv", "--input", "{x}", "--kernel", "1 2 1; 0 1 0; 1 1 1", "--exact"], "over the budget of 2,000,000"),
    (["conv", "--input", "1 2; 3 4", "--kernel", "1 0; 0 1", "--padding", "2000"], "written as text"),
    (["pool", "--input", "{x}", "--op", "avg", "--size", "3", "--stride", "1", "--exact"], "leave out --exact"),
    (["conv", "--input", "{x}", "--kernel", "1 2; 3 4", "--steps", "--max-cells", "100000000"], "--max-cells N"),
])
def test_ops_budgets_refuse_before_starting(argv, phrase, tmp_path, capsys):
    x = tmp_path / "x.npy"
    np.save(x, np.ones((1500, 1500)))
    assert main([a.replace("{x}", str(x)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and phrase in err and err.count("\n") == 1


@pytest.mark.parametrize("text, phrase", [
    ("exact: true\ngiven: {X: [[1, 2], [3, 4]]}\nparts: ['conv2d(X, [[1, 2], [3, 4]], padding=1500)']\n",
     "exact arithmetic needs more than 2,000,000"),
    ("parts: ['rank(pad([[1, 2], [3, 4]], 500))']\n", "exact elimination of kernels"),
    ("given: {X: [[1, 2], [3, 4]]}\nparts:\n- &p 'relu(X)'\n" + "- *p\n" * (B.FILE_WORK_BUDGET // B.CALL_COST),
     "over the problem-file budget"),
])
def test_problem_file_budgets(text, phrase):
    with pytest.raises(UsageError, match=phrase):
        solve_set(load_problem_text(text))


def test_steps_for_every_cell_have_a_budget():
    s = solve_set(load_problem_text("given: {X: [[1, 2], [3, 4]]}\nparts: ['conv2d(X, [[1]], padding=600)']\n"))
    with pytest.raises(UsageError, match="--max-cells N"):
        render_set(s, "text", max_cells=None)
    assert "more cell" in render_set(s, "text")  # the default 16 cells render


def test_named_kernel_says_its_weights(capsys):
    assert main(["conv", "--input", "1 2 3; 4 5 6; 7 8 9", "--kernel", "box:3"]) == 0
    assert "every weight 1/9" in capsys.readouterr().out
    assert main(["conv", "--input", "1 2 3; 4 5 6; 7 8 9", "--kernel", "box:3", "--format", "json"]) == 0
    assert "every weight 1/9" in json.loads(capsys.readouterr().out)["note"]


def test_channel_separator_documented_in_help(capsys):
    with pytest.raises(SystemExit):
        main(["conv", "--help"])
    assert "'|'" in capsys.readouterr().out
