"""Redrawn hand-outs keep the sheet's text, each given's range and kind, and an answer per part
(issue 24 item 1; docs/problems.md, "Your own sheet with new numbers")."""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import yaml

from cnnlab.cli.main import main
from cnnlab.problems import load_problem_text
from cnnlab.problems.redraw import quiz_from, redraw_value

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "problems"
SHEET_004 = """
title: Sheet 4 style
text: An 8-bit patch X (values 12 to 15) is filtered with K = [[1, 0], [0, -1]].
given:
  X: [[12, 15, 13], [14, 12, 15], [13, 13, 14]]
  K: [[1, 0], [0, -1]]
parts:
  - {id: a, text: "Here X[0, 1] = 15. Compute the cross-correlation.", ask: "conv2d(X, K)"}
  - {id: b, text: "Max-pool X with 2x2 windows, stride 1.", ask: "maxpool2d(X, 2, stride=1)"}
"""


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex"])
@pytest.mark.parametrize("seed", [3, 7])
def test_every_format_keeps_the_sheet_and_part_texts(fmt, seed, capsys):
    sheet = yaml.safe_load((EXAMPLES / "sheet1.yaml").read_text())
    assert main(["quiz", "--from", str(EXAMPLES / "sheet1.yaml"), "--seed", str(seed), "--format", fmt]) == 0
    out = " ".join(capsys.readouterr().out.split())
    probe = "bias b = -1" if fmt != "latex" else "bias b = -1".replace("-", "")
    assert "bias b = " in out and "zero padding 1" in out, probe
    for part in sheet["parts"]:
        words = " ".join(part["text"].split())[:30]
        if fmt == "latex":
            words = words.split(" (")[0].split('"')[0][:15]
        assert words in out, (fmt, words)


def test_values_named_in_a_text_are_rewritten(tmp_path):
    pset = load_problem_text(SHEET_004)
    for seed in range(5):
        quiz = quiz_from(pset, seed)
        prob = quiz["problems"][0]
        X, K = prob["given"]["X"], prob["given"]["K"]
        assert K == [[1, 0], [0, -1]] or f"K = {K}" in prob["text"]
        assert f"X[0, 1] = {X[0][1]}." in prob["parts"][0]["text"]


@pytest.mark.parametrize("seed", range(12))
def test_redraws_keep_the_range_of_each_given(seed):
    quiz = quiz_from(load_problem_text(SHEET_004), seed)
    X = np.array(quiz["problems"][0]["given"]["X"])
    assert X.min() >= 12 and X.max() <= 15 and len(set(X.flat)) > 1
    K = np.array(quiz["problems"][0]["given"]["K"])
    assert K.min() >= -1 and K.max() <= 1


def _flat(v):
    return [x for e in v for x in _flat(e)] if isinstance(v, list) else [v]


@pytest.mark.parametrize("original, check", [
    ([[12, 15], [13, 14]], lambda v: all(12 <= x <= 15 and isinstance(x, int) for x in _flat(v))),
    ([[0, 255], [17, 100]], lambda v: all(0 <= x <= 255 and isinstance(x, int) for x in _flat(v))),
    ([[-20, -15], [-18, -16]], lambda v: all(-20 <= x <= -15 for x in _flat(v))),
    ([[0.5, 1.5], [-1, 2]], lambda v: all(-1 <= x <= 2 and float(2 * x).is_integer() for x in _flat(v))),
    ([["1/9", "2/9"], ["1/3", 0]], lambda v: all(0 <= Fraction(x) <= Fraction(1, 3)
                                                   and (Fraction(x) * 9).denominator == 1 for x in _flat(v))),
    ([[0, 3], [2, 1]], lambda v: all(0 <= x <= 3 for x in _flat(v))),
])
def test_redraw_value_keeps_range_and_kind(original, check):
    rng = random.Random(5)
    for _ in range(20):
        drawn = redraw_value(original, rng)
        assert np.shape(drawn) == np.shape(original) and check(drawn), drawn


def test_no_part_ships_with_a_null_answer():
    sheet = """
given: {K: [[1, 2], [2, 4]]}
parts:
  - {id: a, ask: "separable(K)['column']"}
  - {id: b, ask: "rank(K)"}
"""
    for seed in range(15):
        quiz = quiz_from(load_problem_text(sheet), seed)
        for part in quiz["problems"][0]["parts"]:
            assert part["answer"] is not None, (seed, quiz["problems"][0]["given"])


def test_a_separable_kernel_stays_separable_and_the_separable_sheet_redraws():
    rng = random.Random(2)
    for original in ([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], [[1, 2, 1], [2, 4, 2], [1, 2, 1]]):
        for _ in range(10):
            drawn = np.array(redraw_value(original, rng), dtype=float)
            assert np.linalg.matrix_rank(drawn) == 1 and drawn.min() >= np.min(original)
            assert drawn.max() <= np.max(original)
    pset = load_problem_text((EXAMPLES / "separable.yaml").read_text())
    for seed in range(3):
        for part in quiz_from(pset, seed)["problems"][0]["parts"]:
            assert part["answer"] is not None


def test_a_text_that_still_writes_old_values_is_refused_for_its_expression():
    pset = load_problem_text((EXAMPLES / "separable.yaml").read_text())
    original = {p.id: p.text for p in pset.problems[0].parts}
    assert "[1 2 1]" in original["d"]
    for seed in range(3):
        prob = quiz_from(pset, seed)["problems"][0]
        texts = {p["id"]: p.get("text") for p in prob["parts"]}
        gauss = np.array(prob["given"]["gauss"])
        assert texts["d"] == "Compute separable(gauss)." or (gauss == [[1, 2, 1], [2, 4, 2], [1, 2, 1]]).all()
        assert texts["a"] == original["a"] and texts["e"] == original["e"]  # no values named: kept
