"""Exact mode is exact everywhere (issue 24 item 2): named kernels, abs, floats only where irrational."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from cnnlab.problems import load_problem_text, solve_set
from cnnlab.problems.expr import EvalContext, evaluate, parse_ask

X = [[1, 2, 0], [3, 1, 2], [0, 4, 1]]


def exact_ask(text: str, **env):
    return evaluate(parse_ask(text, "part t"), env, EvalContext(where="part t", exact=True)).value


def _fractions(v) -> bool:
    return all(isinstance(e, (Fraction, int)) for e in np.asarray(v, dtype=object).flat)


@pytest.mark.parametrize("k", [2, 3, 6, 7])
def test_box_kernel_is_one_over_k_squared(k):
    box = exact_ask(f"kernel('box:{k}')")
    assert box.shape == (k, k) and all(v == Fraction(1, k * k) for v in box.flat)


def test_shipped_exact_example_part_d_is_7_9():
    data = yaml.safe_load(open("examples/problems/exact.yaml"))
    part = next(p for p in solve_set(load_problem_text(yaml.safe_dump(data))).parts if p.id == "d")
    assert _fractions(part.value) and part.value[0, 0] == Fraction(7, 9)
    # the reference: torch's float convolution with a 1/9 box, times 9, is an integer window sum
    ref = F.conv2d(torch.tensor(X, dtype=torch.float64)[None, None], torch.ones(1, 1, 3, 3, dtype=torch.float64),
                   padding=1)[0, 0].numpy()
    assert [[v * 9 for v in row] for row in part.value.tolist()] == ref.round().astype(int).tolist()


def test_gaussian_kernel_in_exact_mode_is_float_and_makes_floats():
    g = exact_ask("kernel('gaussian:3:1.0')")
    assert g.dtype == np.float64
    out = exact_ask("conv2d(X, kernel('gaussian:3:1.0'), padding=1)", X=np.array(X, dtype=object))
    assert out.dtype == np.float64  # no 17-digit pseudo-fractions
    ref = F.conv2d(torch.tensor(X, dtype=torch.float64)[None, None], torch.tensor(g)[None, None], padding=1)
    np.testing.assert_allclose(out, ref[0, 0].numpy(), rtol=1e-12)


def test_sigmoid_result_mixed_with_fractions_stays_float():
    out = exact_ask("conv2d(sigmoid(X), [[1, 1], [1, 1]])", X=X)
    assert out.dtype == np.float64


@pytest.mark.parametrize("ask, expected", [
    ("abs(-9)", 9), ("abs(2)", 2), ("abs(X[0, 1])", 2), ("abs(max(X))", 4), ("abs(-1/3)", Fraction(1, 3)),
    ("abs(min(X) - 5)", 6), ("abs(X)", [[1, 2, 0], [3, 1, 2], [0, 4, 1]]),
])
def test_abs_in_exact_mode(ask, expected):
    got = exact_ask(ask, X=[[-1, 2, 0], [3, -1, 2], [0, 4, -1]])
    if isinstance(expected, list):
        assert _fractions(got) and got.tolist() == expected
    else:
        assert got == expected and isinstance(got, (int, Fraction))


def test_solve_of_an_exact_file_with_every_scalar_function_does_not_crash(tmp_path):
    text = """
exact: true
given: {X: [[1, -2], [3, 4]]}
parts:
  - {id: a, ask: "abs(-9)", answer: 9}
  - {id: b, ask: "sqrt(abs(-9))", answer: 3}
  - {id: c, ask: "relu(-2) + abs(X[0, 1])", answer: 2}
  - {id: d, ask: "sum(abs(X)) / 9", answer: "10/9"}
  - {id: e, ask: "kernel('box:6')[0, 0]", answer: "1/36"}
"""
    parts = solve_set(load_problem_text(text)).parts
    assert all(p.correct for p in parts), [(p.id, p.value) for p in parts]


@pytest.mark.parametrize("text", ["1{}/3", "1/{}", "-{}.5/7", "3.{} / 2"])
def test_fraction_strings_in_given_obey_the_400_digit_limit(text):
    from cnnlab.errors import UsageError

    for digits, refused in ((300, False), (401, True), (5000, True)):
        value = text.format("7" * digits)
        doc = yaml.safe_dump({"exact": True, "given": {"h": value, "K": [[value, 1]]}, "parts": [{"ask": "h"}]})
        if refused:
            with pytest.raises(UsageError, match="over the limit of 400 digits"):
                solve_set(load_problem_text(doc))
        else:
            assert isinstance(solve_set(load_problem_text(doc)).parts[0].value, Fraction)
