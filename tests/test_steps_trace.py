"""The cell-by-cell traces equal the vectorised ops on random configurations; exact = float."""

from __future__ import annotations

import functools
import json
from fractions import Fraction

import numpy as np
import pytest

from cnnlab import ops
from cnnlab.errors import UsageError
from cnnlab.steps import TRACERS, trace_act, trace_conv2d, trace_conv_transpose2d, trace_pool2d

MODES = ("zeros", "reflect", "symmetric", "replicate", "circular")


def _close(a, b):
    np.testing.assert_allclose(ops.to_float(a), ops.to_float(b), rtol=1e-12, atol=1e-12)


def _accepted(tracer, cases):
    """``(args, kwargs, trace)`` for each case ``(args, kwargs)`` that ``tracer(*args, **kwargs)``
    accepts; a UsageError is a refusal and the case is skipped (any other error fails)."""
    for args, kwargs in cases:
        try:
            t = tracer(*args, **kwargs)
        except UsageError:
            continue
        yield args, kwargs, t


def _conv_case(rng):
    groups = int(rng.choice([1, 2]))
    c_in = groups * int(rng.integers(1, 3))
    c_out = groups * int(rng.integers(1, 3))
    kh, kw = (int(v) for v in rng.integers(1, 4, size=2))
    x = rng.standard_normal((c_in, *(int(v) for v in rng.integers(3, 7, size=2))))
    k = rng.standard_normal((c_out, c_in // groups, kh, kw))
    args = dict(bias=rng.standard_normal(c_out), stride=int(rng.integers(1, 3)),
                padding=[0, 1, (1, 2), "same", "full"][int(rng.integers(5))],
                padding_mode=MODES[int(rng.integers(5))], dilation=int(rng.integers(1, 3)),
                groups=groups, flip=bool(rng.random() < 0.5),
                act=[None, "relu", "sigmoid", "tanh", "leaky_relu"][int(rng.integers(5))])
    return (x, k), args


def test_traced_conv2d_equals_vectorised():
    rng = np.random.default_rng(31)
    checked = 0
    for (x, k), args, t in _accepted(trace_conv2d, (_conv_case(rng) for _ in range(400))):
        want = ops.conv2d(x, k, **{a: v for a, v in args.items() if a != "act"})
        if args["act"]:
            want = ops.get_activation(args["act"])(want)
        _close(t.output, want)
        _close(t.traced_output(), want)
        cell = t.cell((0, 0, 0))
        np.testing.assert_allclose(cell.products.astype(float), cell.window * cell.weights)
        checked += 1
    assert checked > 250


def _transpose_case(rng):
    groups = int(rng.choice([1, 2]))
    c_in = groups * int(rng.integers(1, 3))
    k = rng.standard_normal((c_in, int(rng.integers(1, 3)), *(int(v) for v in rng.integers(1, 4, size=2))))
    x = rng.standard_normal((c_in, *(int(v) for v in rng.integers(1, 5, size=2))))
    args = dict(stride=int(rng.integers(1, 4)), padding=int(rng.integers(0, 3)),
                output_padding=int(rng.integers(0, 2)), dilation=int(rng.integers(1, 3)), groups=groups)
    return (x, k), args


def test_traced_conv_transpose2d_equals_vectorised():
    rng = np.random.default_rng(37)
    checked = 0
    tracer = functools.partial(trace_conv_transpose2d, bias=0.5)
    for (x, k), args, t in _accepted(tracer, (_transpose_case(rng) for _ in range(250))):
        want = ops.conv_transpose2d(x, k, 0.5, **args)
        _close(t.traced_output(), want)
        checked += 1
    assert checked > 120


def _pool_case(rng):
    op = ["max", "avg"][int(rng.integers(2))]
    x = rng.standard_normal((int(rng.integers(1, 3)), *(int(v) for v in rng.integers(1, 8, size=2))))
    size = int(rng.integers(1, 4))
    args = dict(stride=[None, 1, 2][int(rng.integers(3))], padding=int(rng.integers(0, 2)),
                ceil_mode=bool(rng.random() < 0.5))
    if op == "max":
        args["dilation"] = int(rng.integers(1, 3))
    else:
        args["count_include_pad"] = bool(rng.random() < 0.5)
    return (x, op, size), args


def test_traced_pooling_equals_vectorised():
    rng = np.random.default_rng(41)
    checked = 0
    for (x, op, size), args, t in _accepted(trace_pool2d, (_pool_case(rng) for _ in range(500))):
        want = (ops.max_pool2d if op == "max" else ops.avg_pool2d)(x, size, **args)
        _close(t.traced_output(), want)
        checked += 1
    assert checked > 250


def test_traced_activations_equal_vectorised():
    rng = np.random.default_rng(43)
    for shape in [(5,), (3, 4), (2, 3, 3)]:
        x = rng.standard_normal(shape) * 3
        for fn in ("relu", "sigmoid", "tanh", "leaky_relu", "softmax"):
            t = trace_act(x, fn)
            _close(t.traced_output(), t.output)
            want = ops.get_activation(fn)(x)
            _close(t.output, want)


def test_exact_traces_stay_exact_and_equal_float_mode():
    rng = np.random.default_rng(47)
    for _ in range(60):
        xi = rng.integers(-6, 7, (2, 4, 5))
        ki = rng.integers(-3, 4, (2, 2, 2, 2))
        xe = ops.as_tensor(xi / 4, exact=True)
        ke = ops.as_tensor(ki / 2, exact=True)
        te = trace_conv2d(xe, ke, bias=[Fraction(1, 3), 0], padding=1)
        tf = trace_conv2d(xi / 4, ki / 2, bias=[1 / 3, 0], padding=1)
        assert te.exact and all(isinstance(v, Fraction) for v in np.ravel(te.traced_output()))
        np.testing.assert_allclose(ops.to_float(te.traced_output()), tf.output, atol=1e-9)
        pe = trace_pool2d(xe, "avg", 2, stride=1, padding=1, count_include_pad=False)
        pf = trace_pool2d(xi / 4, "avg", 2, stride=1, padding=1, count_include_pad=False)
        np.testing.assert_allclose(ops.to_float(pe.traced_output()), pf.output, atol=1e-12)


def test_hand_worked_trace():
    x = [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    t = trace_conv2d(ops.as_tensor(x), ops.as_tensor([[1, 0], [0, -1]]), padding=1, flip=True, bias=1,
                     act="relu")
    cell = t.cell((0, 1, 1))  # window rows 1-2, cols 1-2 of the input = [[0,1],[3,4]]
    assert cell.window[0].tolist() == [[0, 1], [3, 4]]
    assert cell.weights[0].tolist() == [[-1, 0], [0, 1]]  # flipped
    assert cell.total == 4 and cell.pre_activation == 5 and cell.value == 5
    assert t.params["padding_resolved"] == (1, 1, 1, 1) and t.params["flip"] is True
    # windows [[1/2,1/2],[1/2,0]] -> 3/8 and [[1/2,1/2],[0,0]] -> 1/4; five halves over 4 cells: 5/8
    h = ops.as_tensor([[0.5, 0.5, 0.5, 0.5], [0.5, 0, 0, 0]], exact=True)
    p = trace_pool2d(h, "avg", (2, 2), stride=2)
    assert p.output.tolist() == [[Fraction(3, 8), Fraction(1, 4)]]
    assert p.traced_output().tolist() == [[Fraction(3, 8), Fraction(1, 4)]]
    assert trace_pool2d(ops.as_tensor([[0.5, 0.5], [1.5, 0]], exact=True), "avg", 2).output.tolist() == \
        [[Fraction(5, 8)]]
    s = trace_act(np.array([0.0, np.log(3.0)]), "softmax").cell(())
    np.testing.assert_allclose(s.extra["exp"], [1, 3])
    assert s.extra["sum"] == pytest.approx(4)


def test_irrational_functions_say_they_are_floats():
    t = trace_act(ops.as_tensor([[Fraction(1, 2)]], exact=True), "sigmoid")
    assert any("floating point" in n for n in t.notes)
    assert not t.exact
    r = trace_act(ops.as_tensor([[Fraction(-1, 2), 3]], exact=True), "leaky_relu", slope=0.1)
    assert r.exact and r.traced_output().tolist() == [[Fraction(-1, 20), 3]]


def test_to_dict_is_json_and_limits_cells():
    t = trace_pool2d(np.arange(36.).reshape(6, 6), "max", 2, stride=1, padding=1)
    d = t.to_dict(max_cells=5)
    text = json.dumps(d, allow_nan=False)  # -inf padding comes out as null, not Infinity
    assert d["cells_total"] == 49 and len(d["cells"]) == 5 and d["cells_omitted"] == 44
    assert json.loads(text)["prepared_input"][0][0] is None
    e = trace_pool2d(ops.as_tensor([[0.5, 0.5], [1.5, 0]], exact=True), "avg", 2).to_dict()
    assert e["cells"][0]["exact"]["value"] == "5/8" and e["cells"][0]["value"] == 0.625


def test_tracers_registry_uses_problem_file_names():
    x = np.arange(16.).reshape(4, 4)
    assert set(TRACERS) >= {"conv2d", "conv_transpose2d", "maxpool2d", "avgpool2d", "relu", "sigmoid",
                            "tanh", "leaky_relu", "softmax"}
    assert TRACERS["maxpool2d"](x, 2, stride=2).output.tolist() == [[5, 7], [13, 15]]
    assert TRACERS["avgpool2d"](x, 2).output.tolist() == [[2.5, 4.5], [10.5, 12.5]]
    assert TRACERS["leaky_relu"](np.array([-1.0]), slope=0.5).output.tolist() == [-0.5]
    assert TRACERS["conv2d"](x, np.ones((2, 2)), stride=2).output.tolist() == [[10, 18], [42, 50]]
