"""The ask language: whitelist, names, arithmetic, argument binding (cnnlab.problems.expr)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from cnnlab.errors import UsageError
from cnnlab.problems import load_problem_text, solve_set
from cnnlab.problems.expr import EvalContext, evaluate, parse_ask
from cnnlab.problems.functions import FUNCTIONS


def ask(text: str, env: dict | None = None, exact: bool = False):
    parsed = parse_ask(text, "part t")
    return evaluate(parsed, env or {}, EvalContext(exact=exact, where="part t")).value


@pytest.mark.parametrize("text, why, token", [
    ("X.T", "attribute access", "'X.T'"),
    ("X.__class__", "attribute access", "'X.__class__'"),
    ("X[0] = 1", "", "X[0]"),
    ("[x for x in X]", "comprehensions", "'[x for x in X]'"),
    ("(lambda: 1)()", "lambdas", "'lambda: 1'"),
    ("__import__('os')", "dunder names", "'__import__'"),
    ("relu(__builtins__)", "dunder names", "'__builtins__'"),
    ("1 if X else 2", "conditional", "'1 if X else 2'"),
    ("X < 2", "comparisons", "'X < 2'"),
    ("X and 1", "and/or", "'X and 1'"),
    ("{1: 2}", "mappings", "'{1: 2}'"),
    ("X // 2", "only + - * / **", "'X // 2'"),
    ("X % 2", "only + - * / **", "'X % 2'"),
    ("X @ X", "only + - * / **", "'X @ X'"),
    ("~X", "only unary minus and plus", "'~X'"),
    ("relu(*X)", "* and ** arguments", "'*X'"),
    ("relu(**X)", "* and ** arguments", "'X'"),
    ("(y := 3)", "assignment expressions", "'y := 3'"),
    ("f'{X}'", "f-strings", "f'{X}'"),
    ("X.conv2d(K)", "attribute access", "'X.conv2d'"),
    ("[relu][0](X)", "only functions called by name", "'[relu][0]'"),
])
def test_refused_constructs_name_the_part_and_token(text, why, token):
    with pytest.raises(UsageError) as exc:
        parse_ask(text, "part q7")
    msg = str(exc.value)
    assert msg.startswith("part q7: ") and why in msg and token in msg


@pytest.mark.parametrize("text", ["import os", "X = Y = 1", "X, Y = 1, 2", "del X", "1; 2", "for i in X: pass",
                                  "X +", "conv2d(X, K", ""])
def test_statements_and_syntax_errors_refused(text):
    with pytest.raises(UsageError, match="part t"):
        parse_ask(text, "part t")


def test_deep_nesting_is_an_error_not_a_crash():
    with pytest.raises(UsageError, match="part t"):
        parse_ask("(" * 5000 + "1" + ")" * 5000, "part t")
    with pytest.raises(UsageError, match="part t"):
        parse_ask("-" * 100_000 + "1", "part t")


def test_assignment_target_and_reserved_names():
    assert parse_ask("O = relu(X)", "p").target == "O"
    for name in ("relu", "true", "sigmoid"):
        with pytest.raises(UsageError, match="reserved"):
            parse_ask(f"{name} = 1", "p")
    with pytest.raises(UsageError, match="dunder"):
        parse_ask("__x__ = 1", "p")


def test_literals_and_constants():
    assert ask("true") is True and ask("false") is False and ask("none") is None
    assert ask("'zeros'") == "zeros"
    assert ask("[1, 2]") == [1, 2] and ask("(1, 2)") == (1, 2)
    assert ask("-3") == -3 and ask("+3") == 3


def test_arithmetic_broadcasts_elementwise():
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(ask("X * X + 1", {"X": X}), X * X + 1)
    np.testing.assert_array_equal(ask("2 ** X", {"X": X}), 2 ** X)
    np.testing.assert_array_equal(ask("X / 2 - [10, 20]", {"X": X}), X / 2 - np.array([10, 20]))
    np.testing.assert_array_equal(ask("-X", {"X": X}), -X)
    assert ask("1 / 4") == 0.25 and ask("7 - 2 * 3") == 1 and ask("2 ** -1") == Fraction(1, 2)


def test_shape_mismatch_bool_and_string_operands_refused():
    X = np.ones((2, 2))
    with pytest.raises(UsageError, match="shapes 2x2 and 3 do not match for '\\+'"):
        ask("X + [1, 2, 3]", {"X": X})
    with pytest.raises(UsageError, match="boolean"):
        ask("X + true", {"X": X})
    with pytest.raises(UsageError, match="string"):
        ask("X * 'a'", {"X": X})


def test_arithmetic_errors_are_usage_errors():
    for text in ("1 / 0", "[1, 2] / 0", "10 ** 10 ** 10", "(-8) ** 0.5", "[1e308] * [1e308]", "sqrt(-1)"):
        with pytest.raises(UsageError, match="part t"):
            ask(text)


def test_broadcast_result_over_the_limit_refused_before_allocation():
    row = np.ones((1, 5000))
    with pytest.raises(UsageError, match="4096"):
        ask("A + B", {"A": row, "B": row.T})


def test_exact_mode_keeps_fractions():
    assert ask("1 / 3", exact=True) == Fraction(1, 3)
    assert ask("0.1 + 0.2", exact=True) == Fraction(3, 10)
    out = ask("avgpool2d([[1, 2], [3, 5]], 2)", exact=True)
    assert out.tolist() == [[Fraction(11, 4)]]
    assert ask("sqrt(9 / 4)", exact=True) == Fraction(3, 2)


@pytest.mark.parametrize("text, message", [
    ("conv2d(X, X, strid=2)", "no argument 'strid' \\(did you mean stride\\?\\)"),
    ("conv2d(X, X, stride='a')", "stride must be an integer or a pair"),
    ("conv2d(X, X, flip=1)", "flip must be true or false"),
    ("conv2d(X, X, x=X)", "given twice"),
    ("conv2d(X)", "needs the argument 'k'"),
    ("relu(X, X)", "at most 1 arguments"),
    ("conv2d(X, X, padding=1, padding_mode='mirrored')", "padding_mode must be one of"),
    ("conv2d([1, 2, 3], [[1]])", "x must be 2-D or 3-D"),
    ("solve_padding(10 ** 9, 10 ** 9, 3)", "over the limit"),
])
def test_binding_errors_name_the_function_and_argument(text, message):
    with pytest.raises(UsageError, match=message):
        ask(text, {"X": np.ones((3, 3))})


def test_unknown_names_and_functions_found_before_anything_runs():
    text = ("given: {X: [[1, 2], [3, 4]]}\nparts:\n"
            "  - {id: a, ask: 'O = relu(X)'}\n  - {id: b, ask: 'conv3d(O, X)'}\n")
    with pytest.raises(UsageError, match="part b: unknown function \\(did you mean conv2d\\?\\): 'conv3d'"):
        solve_set(load_problem_text(text))
    text = "given: {X: [[1]]}\nparts:\n  - {id: a, ask: 'relu(O)'}\n  - {id: b, ask: 'O = relu(X)'}\n"
    with pytest.raises(UsageError, match="part a: unknown name \\(defined so far: X\\): 'O'"):
        solve_set(load_problem_text(text))
    text = "given: {X: [[1]]}\nparts:\n  - {id: a, ask: 'X = relu(X)'}\n"
    with pytest.raises(UsageError, match="already defined"):
        solve_set(load_problem_text(text))


def test_names_flow_from_given_and_earlier_parts():
    text = ("given: {X: [[1, -2], [-3, 4]], s: 2}\nparts:\n"
            "  - {id: a, ask: 'A = relu(X) * s'}\n  - {id: b, ask: 'A + X'}\n")
    parts = solve_set(load_problem_text(text)).parts
    assert parts[0].value.tolist() == [[2, 0], [0, 8]]
    assert parts[1].value.tolist() == [[3, -2], [-3, 12]]


def test_every_function_has_a_signature_and_summary():
    assert "arch" in FUNCTIONS
    for f in FUNCTIONS.values():
        assert f.signature().startswith(f.name + "(") and f.summary
