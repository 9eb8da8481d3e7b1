"""One channel-axis rule for every function (issue 24 item 3; docs/problems.md, "Channel axes")."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from cnnlab.problems import load_problem_text, solve_set
from cnnlab.problems.expr import EvalContext, evaluate, parse_ask

RNG = np.random.default_rng(24_3)
INPUTS = {"HxW": (5, 5), "1xHxW": (1, 5, 5), "2xHxW": (2, 5, 5)}
KERNELS = {"khxkw": (2, 2), "Cinxkhxkw": None, "1xCinxkhxkw": 1, "2xCinxkhxkw": 2}


def ask(text: str, **env):
    return evaluate(parse_ask(text, "part t"), env, EvalContext(where="part t")).value


def _kernel(kind: str, c_in: int) -> np.ndarray:
    if kind == "khxkw":
        return RNG.integers(-2, 3, size=(2, 2)).astype(float)
    if kind == "Cinxkhxkw":
        return RNG.integers(-2, 3, size=(c_in, 2, 2)).astype(float)
    return RNG.integers(-2, 3, size=(KERNELS[kind], c_in, 2, 2)).astype(float)


def _rule(x: np.ndarray, k: np.ndarray, torch_out: torch.Tensor) -> np.ndarray:
    """The documented rule applied to torch's (1, C_out, H, W) result."""
    out = torch_out[0].numpy()
    return out if (x.ndim == 3 or k.ndim == 4) else out[0]


@pytest.mark.parametrize("xs, ks", list(itertools.product(INPUTS, KERNELS)))
def test_conv2d_and_transpose_follow_the_channel_rule(xs, ks):
    x = RNG.integers(-3, 4, size=INPUTS[xs]).astype(float)
    c_in = 1 if x.ndim == 2 else x.shape[0]
    k = _kernel(ks, c_in)
    xb = torch.tensor(x).reshape(1, c_in, 5, 5)
    w = torch.tensor(k)
    w = w.reshape(1, 1, 2, 2).expand(1, c_in, 2, 2) if k.ndim == 2 else (w[None] if k.ndim == 3 else w)
    got = ask("conv2d(x, k)", x=x, k=k)
    ref = _rule(x, k, F.conv2d(xb, w))
    assert got.shape == ref.shape, (xs, ks)
    np.testing.assert_allclose(got, ref)
    if k.ndim == 4 and k.shape[1] == c_in:  # transposed: k is C_in×C_out×kh×kw
        kt = np.ascontiguousarray(np.swapaxes(k, 0, 1))
        got_t = ask("conv_transpose2d(x, k, stride=2)", x=x, k=kt)
        ref_t = _rule(x, kt, F.conv_transpose2d(xb, torch.tensor(kt), stride=2))
        assert got_t.shape == ref_t.shape
        np.testing.assert_allclose(got_t, ref_t)


@pytest.mark.parametrize("call", ["maxpool2d(x, 2)", "avgpool2d(x, 2, stride=1)", "pad(x, 1)", "relu(x)",
                                  "conv2d(x, [[1, 0], [0, 1]])", "conv2d(x, [[1, 0], [0, 1]], padding='same')"])
def test_a_one_channel_input_keeps_its_channel_axis_everywhere(call):
    x = RNG.integers(-3, 4, size=(1, 4, 4)).astype(float)
    assert ask(call, x=x).ndim == 3
    assert ask(call, x=x[0]).ndim == 2


def test_docs_example_1x3x3_with_1x2x2_is_1x2x2():
    text = yaml.safe_dump({"given": {"X": [[[1, 2, 0], [3, 1, 2], [0, 4, 1]]], "K": [[[1, 0], [0, -1]]]},
                           "parts": [{"id": "a", "ask": "conv2d(X, K)", "answer": [[[0, 0], [-1, 0]]]},
                                     {"id": "b", "ask": "conv2d(X, K)", "answer": [[0, 0], [-1, 0]]}]})
    a, b = solve_set(load_problem_text(text)).parts
    assert a.correct and a.value.shape == (1, 2, 2)
    assert not b.correct and "differ only by an axis of size 1" in b.comparison.note


def test_a_shape_that_differs_otherwise_is_not_called_a_channel_axis():
    text = yaml.safe_dump({"given": {"X": [[1, 2, 0], [3, 1, 2], [0, 4, 1]]},
                           "parts": [{"id": "a", "ask": "relu(X)", "answer": [[1, 2], [3, 1]]}]})
    (a,) = solve_set(load_problem_text(text)).parts
    assert "claimed shape 2x2, computed 3x3" in a.comparison.note and "size 1" not in a.comparison.note
