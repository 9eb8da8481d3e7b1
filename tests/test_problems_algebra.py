"""Sheet algebra (sum/mean/max/min with axis, exp, log, transpose, [] indexing, [M, D] maps),
non-finite results, stable softmax and repeated keywords — checked against NumPy and torch."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

from cnnlab.cli.main import main
from cnnlab.errors import UsageError
from cnnlab.problems import load_problem_text, solve_set
from cnnlab.problems.expr import EvalContext, evaluate, parse_ask

RNG = np.random.default_rng(15)
X = RNG.integers(-5, 6, size=(3, 4, 5)).astype(float)
M = X[0]


def ask(text: str, env: dict, exact: bool = False):
    return evaluate(parse_ask(text, "part t"), env, EvalContext(exact=exact, where="part t")).value


@pytest.mark.parametrize("text, reference", [
    ("sum(X)", lambda: X.sum()),
    ("sum(X, axis=0)", lambda: X.sum(axis=0)),
    ("sum(X, axis=-1)", lambda: X.sum(axis=-1)),
    ("mean(X, axis=1)", lambda: X.mean(axis=1)),
    ("mean(M)", lambda: M.mean()),
    ("max(X)", lambda: X.max()),
    ("max(X, axis=2)", lambda: X.max(axis=2)),
    ("min(M, axis=0)", lambda: M.min(axis=0)),
    ("exp(M / 4)", lambda: np.exp(M / 4)),
    ("log(abs(M) + 1)", lambda: np.log(np.abs(M) + 1)),
    ("transpose(M)", lambda: M.T),
    ("transpose(X)", lambda: np.swapaxes(X, 1, 2)),
    ("X[1]", lambda: X[1]),
    ("X[0, 2]", lambda: X[0, 2]),
    ("X[-1, -1, -1]", lambda: X[-1, -1, -1]),
    ("X[:, 1:3, ::2]", lambda: X[:, 1:3, ::2]),
    ("M[::-1]", lambda: M[::-1]),
    ("[M, M * 2][1]", lambda: M * 2),
    ("global_avgpool([M, -M])", lambda: np.array([M.mean(), -M.mean()])),
])
def test_algebra_matches_numpy(text, reference):
    got = ask(text, {"X": X, "M": M})
    np.testing.assert_allclose(np.asarray(got, dtype=float), reference(), rtol=1e-12)


def test_list_of_named_maps_is_channels_first_and_matches_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    A, B = RNG.integers(0, 5, size=(2, 4, 4)).astype(float)
    got = ask("maxpool2d([A, B], 2)", {"A": A, "B": B})
    want = F.max_pool2d(torch.tensor(np.stack([A, B]))[None], 2)[0].numpy()
    np.testing.assert_array_equal(got, want)


def test_exact_algebra_stays_exact():
    E = np.array([[Fraction(1), Fraction(2)], [Fraction(3), Fraction(5)]], dtype=object)
    assert ask("mean(E)", {"E": E}, exact=True) == Fraction(11, 4)
    assert ask("mean(E, axis=0)", {"E": E}, exact=True).tolist() == [Fraction(2), Fraction(7, 2)]
    assert ask("transpose(E)[0, 1] / 3", {"E": E}, exact=True) == Fraction(1)


@pytest.mark.parametrize("text, message", [
    ("M[4]", "index 4 is out of range on axis 0, which has 4 entries (counted from 0"),
    ("M[0, 0, 0]", "3 indices for a 4x5 tensor"),
    ("M[::0]", "slice step cannot be 0"),
    ("M[0.5]", "an index must be a whole number"),
    ("M[2:2]", "selects nothing"),
    ("sum(M, axis=2)", "axis 2 does not exist"),
    ("log(M - 10)", "positive numbers only"),
    ("exp(M * 1000)", "exp overflows"),
    ("transpose(M, 1)", "at most 1 arguments"),
    ("relu([M, [1, 2]])", "ragged"),
])
def test_algebra_errors_name_the_part_and_show_no_array_repr(text, message):
    with pytest.raises(UsageError) as exc:
        ask(text, {"M": M})
    msg = str(exc.value)
    assert msg.startswith("part t") and message in msg
    assert "array(" not in msg and "\n" not in msg


def test_named_maps_error_has_no_numpy_repr():
    with pytest.raises(UsageError) as exc:
        ask('relu([M, "a"])', {"M": M})
    assert "array(" not in str(exc.value) and "\n" not in str(exc.value)


# ---------------------------------------------------------------- issue 16: nothing non-finite


@pytest.mark.parametrize("expr", ["1e308*10", "1e308*10 - 1e308*10", "-1e308 - 1e308", "2.0 ** 5000",
                                  "sum([1e308, 1e308])", "[1e308] * 10"])
def test_overflow_is_an_error_naming_the_part(tmp_path, capsys, expr):
    f = tmp_path / "p.yaml"
    f.write_text(f'parts:\n- {{id: q, ask: "{expr}", answer: 5}}\n')
    assert main(["check", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: part q") and err.count("\n") == 1


@pytest.mark.parametrize("text", [
    "exact: true\nparts:\n- {id: q, ask: '1e308*10', answer: 5}\n",
    "exact: true\ngiven: {X: [[1e308, 1e308]]}\nparts:\n- {id: q, ask: sum(X), answer: 5}\n",
    "parts:\n- {id: q, ask: '10**400 - 10**400', answer: 0}\n",
])
def test_exact_numbers_beyond_float_range_are_errors_not_answers(text):
    with pytest.raises(UsageError, match="part q"):
        solve_set(load_problem_text(text))


def test_stable_softmax_and_jacobian_match_torch(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    f = tmp_path / "p.yaml"
    f.write_text("given: {v: [1.0e+308, -1.0e+308]}\nparts:\n- {id: a, ask: softmax(v)}\n"
                 "- {id: b, ask: softmax_jacobian(v)}\n")
    assert main(["solve", str(f), "--format", "json"]) == 0
    out = capsys.readouterr()
    parts = json.loads(out.out)["parts"]
    v = torch.tensor([1.0e308, -1.0e308], dtype=torch.float64)
    p = torch.softmax(v, 0)
    J = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, 0), v)
    assert parts[0]["value"] == p.tolist() == [1.0, 0.0]
    assert np.array_equal(np.array(parts[1]["value"]), J.numpy())
    assert out.err == ""


def test_act_softmax_extreme_prints_no_warning(capfd):
    assert main(["act", "--input", "1e308 -1e308", "--fn", "softmax"]) == 0
    out = capfd.readouterr()
    assert "Warning" not in out.err and out.err == ""
    assert "1" in out.out


def test_repeated_keyword_is_an_error():
    with pytest.raises(UsageError, match="'stride' is given twice"):
        parse_ask("conv2d(X, X, stride=1, stride=2)", "part a")


def test_sum_of_given_matches_float_sum():
    s = load_problem_text("given: {X: [[1, 2], [3, 4.5]]}\nparts:\n- {id: a, ask: sum(X), answer: 10.5}\n")
    assert solve_set(s).parts[0].correct is True
