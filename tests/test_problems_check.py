"""Checking claimed answers: the rounding rule, mismatches, and every diagnosis of the catalogue."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
import yaml

from cnnlab import ops
from cnnlab.errors import UsageError
from cnnlab.problems import load_problem_text, solve_set
from cnnlab.problems.compare import close, compare
from cnnlab.problems.diagnose import slip_names
from cnnlab.steps import round_half_away

X = [[3, 1, 0, 2, 1], [0, 2, 4, 1, 0], [1, 0, 2, 3, 2], [2, 4, 1, 0, 1], [0, 1, 3, 2, 4]]
K = [[1, 2], [0, -1]]
S = [[1, 0, -1], [2, 0, -2], [1, 0, -1]]
Z = [[0.3, -0.4], [1.2, 0.6]]
AX, AK, AS, AZ = (np.array(a, dtype=float) for a in (X, K, S, Z))


def check_one(ask: str, claimed, round: int | None = None, extra_parts: list | None = None):
    """Solve a file whose last part is `ask` with the claimed answer; return that part's result."""
    data = {"given": {"X": X, "K": K, "S": S, "Z": Z}, "parts": list(extra_parts or [])}
    if round is not None:
        data["round"] = round
    data["parts"].append({"id": "p", "ask": ask, "answer": _plain(claimed)})
    text = yaml.safe_dump(data)
    return solve_set(load_problem_text(text)).parts[-1]


def _plain(v):
    return np.asarray(v).tolist() if isinstance(v, np.ndarray) else v


def test_rounding_rule_of_contract():
    assert close(0.73, 0.7310585786, 2) and not close(0.74, 0.7310585786, 2)
    assert close(0.125, 0.1254999, 3) and not close(0.125, 0.1255001, 3)
    assert close(1.0000005, 1.0, None) and not close(1.00001, 1.0, None)
    assert close(1000000.5, 1000000.0, None)  # relative 1e-6 beats absolute
    assert compare("5/8", 0.625, None).correct and not compare("5/9", 0.625, None).correct


def test_mismatches_list_wrong_cells_only():
    right = ops.conv2d(AX, AK)
    claimed = right.copy()
    claimed[1, 2] += 1
    claimed[3, 0] -= 2
    part = check_one("conv2d(X, K)", claimed)
    assert part.correct is False
    assert [m["index"] for m in part.comparison.mismatches] == [[1, 2], [3, 0]]
    assert part.comparison.mismatches[0]["claimed"] == claimed[1, 2]
    assert part.comparison.mismatches[0]["expected"] == right[1, 2]


def test_shape_mismatch_reported_as_such():
    part = check_one("conv2d(X, K)", [[1, 2], [3, 4]])
    assert part.correct is False and "claimed shape 2x2, computed 4x4" in part.comparison.note


def test_a_single_number_answers_a_result_of_one_cell():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    k = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert compare(5, ops.conv2d(x, k), None).correct  # 1x1 result, claimed as "5"
    assert compare(5, ops.conv2d(x[None], k[None, None]), None).correct  # 1x1x1
    wrong = compare(6, ops.conv2d(x, k), None)
    assert not wrong.correct and wrong.mismatches == [{"index": [0, 0], "index_from_0": [0, 0], "index_from_1": [1, 1],
                                                       "claimed": 6, "expected": 5.0, "expected_unrounded": 5.0}]
    assert not compare(5, ops.conv2d(np.ones((3, 3)), k), None).correct  # 2x2: still a shape error


def test_right_answers_under_rounding():
    s = ops.sigmoid(AZ)
    assert check_one("sigmoid(Z)", round_half_away(s, 2), round=2).correct is True
    assert check_one("sigmoid(Z)", round_half_away(s, 2) + 0.01, round=2).correct is False


def _slip(ask, claimed, round=None, extra=None):
    return check_one(ask, claimed, round, extra).diagnosis


SLIP_CASES = {
    "flip": [
        ("conv2d(X, K, flip=true)", ops.conv2d(AX, AK), "kernel not flipped"),
        ("conv2d(X, K)", ops.conv2d(AX, AK, flip=True), "kernel flipped"),
    ],
    "padding_forgotten": [
        ("conv2d(X, S, padding=1)", ops.conv2d(AX, AS), "padding forgotten"),
        ("conv2d(X, S, padding='same')", ops.conv2d(AX, AS), "padding forgotten"),
        ("maxpool2d(X, 3, stride=2, padding=1)", ops.max_pool2d(AX, 3, 2), "padding forgotten"),
        ("conv_output_size(32, 5, padding=2)", 28, "padding forgotten"),
    ],
    "padding_mode": [
        ("conv2d(X, S, padding=1, padding_mode='reflect')", ops.conv2d(AX, AS, padding=1), "zeros where reflect"),
        ("conv2d(X, S, padding=2, padding_mode='reflect')",
         ops.conv2d(AX, AS, padding=2, padding_mode="symmetric"), "symmetric where reflect"),
        ("conv2d(X, S, padding=2, padding_mode='symmetric')",
         ops.conv2d(AX, AS, padding=2, padding_mode="reflect"), "reflect where symmetric"),
        ("conv2d(X, S, padding=1, padding_mode='reflect')",  # one row: symmetric = replicate
         ops.conv2d(AX, AS, padding=1, padding_mode="symmetric"), "or symmetric"),
        ("pad(X, 1, mode='circular')", ops.pad(AX, 1, "replicate"), "replicate"),
    ],
    "sum_for_average": [
        ("avgpool2d(X, 2)", ops.avg_pool2d(AX, 2) * 4, "sum instead of average"),
        ("avgpool2d(X, 3, stride=1)", ops.avg_pool2d(AX, 3, 1) * 9, "sum instead of average"),
        ("global_avgpool(X)", float(AX.sum()), "sum instead of average"),
    ],
    "sum_for_average_kernel": [  # an average pool asked as a convolution: the same slip, the same words
        ("conv2d(X, [[0.25, 0.25], [0.25, 0.25]], stride=2)", ops.avg_pool2d(AX, 2) * 4, "sum instead of average"),
        ("conv2d(X, [[1/9, 1/9, 1/9], [1/9, 1/9, 1/9], [1/9, 1/9, 1/9]])", ops.avg_pool2d(AX, 3, 1) * 9,
         "sum instead of average"),
    ],
    "stride_ignored": [
        ("conv2d(X, K, stride=2)", ops.conv2d(AX, AK), "stride ignored"),
        ("maxpool2d(X, 2)", ops.max_pool2d(AX, 2, 1), "stride ignored"),
        ("conv_output_size(9, 3, stride=2)", 7, "stride ignored"),
    ],
    "ceil_floor": [
        ("maxpool2d(X, 2, ceil_mode=true)", ops.max_pool2d(AX, 2), "floor instead of ceil"),
        ("maxpool2d(X, 2)", ops.max_pool2d(AX, 2, ceil_mode=True), "ceil instead of floor"),
        ("pool_output_size(7, 2, ceil_mode=true)", 3, "floor instead of ceil"),
        ("conv_output_size(8, 3, stride=2)", 4, "ceil instead of floor"),
    ],
    "off_by_one": [
        ("conv_output_size(7, 3, stride=2)", 2, "the '+1' of the size formula forgotten"),
        ("conv_output_size(28, 5)", 25, "one more"),
        ("solve_padding(32, 32, 5)", 3, "one more"),
    ],
    "dilation_ignored": [
        ("conv2d(X, K, dilation=2)", ops.conv2d(AX, AK), "dilation ignored"),
        ("conv_output_size(32, 3, dilation=2)", 30, "dilation ignored"),
    ],
    "bias_forgotten": [("conv2d(X, K, bias=3)", ops.conv2d(AX, AK), "bias forgotten")],
    "max_avg_swapped": [
        ("maxpool2d(X, 2)", ops.avg_pool2d(AX, 2), "average pooling computed where max"),
        ("avgpool2d(X, 2)", ops.max_pool2d(AX, 2), "max pooling computed where average"),
    ],
    "activation_skipped": [("relu(conv2d(X, K))", ops.conv2d(AX, AK), "relu not applied")],
    "leaky_as_relu": [("leaky_relu(conv2d(X, K), slope=0.1)", ops.relu(ops.conv2d(AX, AK)), "plain ReLU")],
    "counted_from_zero": [("row(X, 2)", AX[2], "row counted from 0"),
                          ("column(X, 1)", AX[:, 1], "column counted from 0")],
}


@pytest.mark.parametrize("slip", list(SLIP_CASES))
def test_each_call_slip_planted_is_named(slip):
    for ask, claimed, phrase in SLIP_CASES[slip]:
        diagnosis = _slip(ask, claimed)
        assert diagnosis is not None and phrase in diagnosis, (ask, diagnosis)


def test_rounding_slips_are_named():
    s = ops.sigmoid(AZ)
    assert "rounded to 1 decimal instead of 3" in _slip("sigmoid(Z)", round_half_away(s, 1), round=3)
    trunc = np.trunc(s * 1000) / 1000
    assert np.any(np.abs(trunc - s) > 0.0005)
    assert "truncated instead of rounded" in _slip("sigmoid(Z)", trunc, round=3)
    # the mean of sigmoids rounded to 1 decimal, where 3 were asked
    early = float(np.mean(round_half_away(s, 1)))
    assert abs(early - np.mean(s)) > 0.0005
    assert "rounded too early" in _slip("global_avgpool(sigmoid(Z))", early, round=3)
    assert "rounded too early" in _slip("global_avgpool(P)", early, round=3,
                                        extra=[{"id": "a", "ask": "P = sigmoid(Z)"}])


def test_error_carried_forward_is_named():
    wrong_z = ops.conv2d(AX, AK, flip=True)  # part a slipped ...
    extra = [{"id": "a", "ask": "C = conv2d(X, K)", "answer": wrong_z.tolist()}]
    claimed = ops.max_pool2d(ops.relu(wrong_z), 2)  # ... and part b was done right from it
    d = _slip("maxpool2d(relu(C), 2)", claimed, extra=extra)
    assert d is not None and "carried forward" in d


def test_catalogue_fully_covered_by_the_plants():
    covered = set(SLIP_CASES) | {"rounded_early", "final_rounding", "carried_forward",
                                 "sum_for_average_any_form"}  # tests/test_problems_diagnose_values.py
    assert covered == set(slip_names())


def test_slip_in_some_cells_only_is_still_named():
    flipped = ops.conv2d(AX, AK, flip=True)
    claimed2 = ops.conv2d(AX, AK)
    claimed2[0, :] = flipped[0, :]  # first row right, the rest cross-correlation
    d = _slip("conv2d(X, K, flip=true)", claimed2)
    assert d is not None and "kernel not flipped" in d


def test_no_diagnosis_for_random_wrong_answers():
    rng = np.random.default_rng(7)
    asks = ["conv2d(X, K, flip=true)", "conv2d(X, S, padding=1, padding_mode='reflect')", "avgpool2d(X, 2)",
            "maxpool2d(X, 3, stride=2, ceil_mode=true)", "conv2d(X, K, stride=2, bias=1)"]
    named = 0
    for ask in asks:
        part = check_one(ask, [[0]])
        right = np.asarray(part.value, dtype=float)
        for _ in range(6):
            claimed = right + rng.uniform(0.3, 4.0, size=right.shape) * rng.choice([-1, 1], size=right.shape)
            p = check_one(ask, np.round(claimed, 2), round=2)
            assert p.correct is False
            named += p.diagnosis is not None
            claimed = rng.integers(-9, 10, size=right.shape)
            p = check_one(ask, claimed)
            named += p.diagnosis is not None
    for claimed in (2, 7, 11, 53):
        named += check_one("conv_output_size(227, 11, stride=4)", claimed).diagnosis is not None
    assert named == 0


def test_separable_answers_compared_up_to_scale():
    assert check_one("separable(S)", {"separable": True, "column": [2, 4, 2], "row": [0.5, 0, -0.5]}).correct
    assert check_one("separable(S)", True).correct
    assert not check_one("separable(S)", {"separable": True, "column": [1, 2, 1], "row": [-1, 0, 1]}).correct
    assert not check_one("separable(S)", False).correct


def test_check_cli_exit_status_and_json(tmp_path, capsys):
    from cnnlab.cli.main import main

    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump({"given": {"X": X}, "parts": [{"id": "a", "ask": "global_maxpool(X)", "answer": 4}]}))
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"given": {"X": X, "K": K},
                                   "parts": [{"id": "a", "ask": "conv2d(X, K, flip=true)",
                                              "answer": ops.conv2d(AX, AK).tolist()},
                                             {"id": "b", "ask": "global_maxpool(X)"}]}))
    assert main(["check", str(good)]) == 0
    assert "a: right" in capsys.readouterr().out
    assert main(["check", str(bad)]) == 1
    assert "a: wrong" in capsys.readouterr().out
    assert main(["check", str(bad), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [p["id"] for p in data["parts"]] == ["a"]
    assert data["parts"][0]["correct"] is False and "kernel not flipped" in data["parts"][0]["diagnosis"]
    assert main(["solve", str(bad), "--format", "json"]) == 0  # solve reports, it does not fail
    data = json.loads(capsys.readouterr().out)
    assert data["parts"][1] == {"id": "b", "ask": "global_maxpool(X)", "name": None, "value": 4.0,
                                "text": None, "label": "(b) global_maxpool(X)",
                                "correct": None, "diagnosis": None}
    mism = data["parts"][0]["mismatches"]
    assert {"index", "index_from_0", "index_from_1", "claimed", "expected", "expected_unrounded"} == set(mism[0])
    assert len(mism[0]["index"]) == 2 and [i + 1 for i in mism[0]["index_from_0"]] == mism[0]["index_from_1"]


def test_two_slips_at_once_are_named_together():
    claimed = ops.conv2d(AX, AK, stride=2)  # neither flipped nor padded
    d = _slip("conv2d(X, K, stride=2, padding=1, flip=true)", claimed)
    assert d is not None and "kernel not flipped" in d and "padding forgotten" in d
    claimed = ops.avg_pool2d(AX, 2, 1) * 4  # a sum, and with stride 1
    d = _slip("avgpool2d(X, 2)", claimed)
    assert d is not None and "sum instead of average" in d and "stride ignored" in d


def test_given_fractions_written_as_on_a_sheet():
    # YAML reads [1/9, 1/9] as strings; a sheet writes a box blur that way
    text = """
exact: true
given:
  K: [[1/9, 1/9, 1/9], [1/9, 1/9, 1/9], [1/9, 1/9, 1/9]]
  X: [[1, 2, 3], [4, 5, 6], [7, 8, 10]]
  h: 1/2
  spec: conv 3x3 8
parts:
  - {id: a, ask: "conv2d(X, K)", answer: "46/9"}
  - {id: b, ask: h * 3, answer: 1.5}
  - {id: c, ask: "arch(spec, [1, 5, 5])"}
"""
    parts = solve_set(load_problem_text(text)).parts
    assert parts[0].correct and parts[0].value[0, 0] == Fraction(46, 9)
    assert parts[1].correct and parts[1].value == Fraction(3, 2)
    assert parts[2].value is not None  # a plain string stays a string
    floats = solve_set(load_problem_text(text.replace("exact: true", ""))).parts
    assert floats[0].value[0, 0] == pytest.approx(46 / 9)
    with pytest.raises(UsageError, match="divides by zero"):
        solve_set(load_problem_text("given:\n  K: [[1/0]]\nparts:\n  - {id: a, ask: K}\n"))
