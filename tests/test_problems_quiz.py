"""Generated quizzes: reproducible by seed, hand-sized numbers, and they round-trip through check."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

from cnnlab.cli.main import main
from cnnlab.errors import UsageError
from cnnlab.problems import load_problem_text, solve_set
from cnnlab.problems.quiz import TOPICS, generate_quiz, quiz_key
from cnnlab.problems.sheet import quiz_yaml, render_quiz

ALL = list(TOPICS)


def _numbers(v):
    if isinstance(v, list):
        for e in v:
            yield from _numbers(e)
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        yield v


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generated_yaml_solves_to_its_own_key(seed):
    quiz = generate_quiz(ALL, count=len(ALL), seed=seed)
    result = solve_set(load_problem_text(quiz_yaml(quiz), "quiz.yaml"))
    checked = [p for p in result.parts if p.comparison is not None]
    assert len(checked) == len(result.parts) >= 2 * len(ALL)
    assert all(p.correct for p in checked), [(p.id, p.comparison) for p in checked if not p.correct]


def test_same_seed_same_quiz_other_seed_other_quiz():
    a = quiz_yaml(generate_quiz(["conv", "pool"], 4, seed=11))
    b = quiz_yaml(generate_quiz(["conv", "pool"], 4, seed=11))
    c = quiz_yaml(generate_quiz(["conv", "pool"], 4, seed=12))
    assert a == b and a != c


def test_numbers_stay_hand_sized():
    quiz = generate_quiz(["conv", "padding", "pool", "act", "softmax", "separable", "transposed"], 14, seed=5)
    for prob in quiz["problems"]:
        for value in prob["given"].values():
            nums = list(_numbers(value))
            assert nums and all(abs(v) <= 9 for v in nums)
            shape = np.shape(value)
            assert len(shape) >= 1 and max(shape) <= 6
        for part in prob["parts"]:
            nums = list(_numbers(part["answer"])) if not isinstance(part["answer"], dict) else []
            assert all(abs(v) < 1000 for v in nums)  # a course calculator suffices
            assert all(round(v, 4) == v for v in nums)  # at most 4 decimals in the key


def test_a_wrong_key_entry_is_caught(tmp_path, capsys):
    quiz = generate_quiz(["conv"], 1, seed=3)
    bad = copy.deepcopy(quiz)
    bad["problems"][0]["parts"][0]["answer"][0][0] += 1
    path = tmp_path / "bad.yaml"
    path.write_text(quiz_yaml(bad))
    assert main(["check", str(path)]) == 1
    assert "1.a: wrong" in capsys.readouterr().out


def test_cli_quiz_formats(tmp_path, capsys):
    for ext in ("md", "tex", "yaml"):
        out = tmp_path / f"quiz.{ext}"
        assert main(["quiz", "--topics", "conv,pool,act,shapes,separable", "--count", "5", "--seed", "4",
                     "--out", str(out)]) == 0
        assert out.exists() and out.stat().st_size > 500
    capsys.readouterr()
    assert main(["check", str(tmp_path / "quiz.yaml")]) == 0
    md = (tmp_path / "quiz.md").read_text()
    assert "# Answer key" in md and "**(a)**" in md and "Problem 5" in md
    tex = (tmp_path / "quiz.tex").read_text()
    assert tex.startswith(r"\documentclass") and r"\section*{Answer key}" in tex
    assert main(["quiz", "--topics", "pool", "--count", "1", "--no-key"]) == 0
    assert "Answer key" not in capsys.readouterr().out
    assert main(["quiz", "--topics", "pool", "--count", "1", "--steps"]) == 0
    assert "Worked solutions" in capsys.readouterr().out


def test_bad_quiz_arguments():
    with pytest.raises(UsageError, match="unknown quiz topic"):
        generate_quiz(["conv", "nope"], 1, 0)
    with pytest.raises(UsageError, match="--count"):
        generate_quiz(["conv"], 0, 0)
    assert main(["quiz", "--topics", "x"]) == 2


def test_quiz_sheet_renders_every_topic():
    quiz = generate_quiz(ALL, len(ALL), seed=9)
    result = quiz_key(quiz)
    for fmt in ("markdown", "latex", "text"):
        text = render_quiz(quiz, result, fmt)
        assert all(f"Problem {i + 1}" in text for i in range(len(ALL)))
    assert yaml.safe_load(render_quiz(quiz, result, "yaml"))["problems"][0]["parts"][0]["answer"]
