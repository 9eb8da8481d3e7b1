"""Whatever a caller passes, cnnlab.conv/pool/act either answer or raise cnnlab.UsageError:
never another exception (a bug), and an answer is the same as the CLI's for the same text."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnnlab

VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True, allow_infinity=True) |
    st.sampled_from(["1 2; 3 4", "same", "2,1", "sobel_x", "-1", "1/0", "[[1,[2]]]", "nan", "1e999", "", "|",
                     "x", "1 2 | 3", "relu", "max", "zeros", "reflect", "box:3", "3"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from("ab"), inner, max_size=2),
    max_leaves=10)

PARAMS = {
    cnnlab.conv: ["bias", "stride", "padding", "padding_mode", "dilation", "groups", "flip", "transposed",
                  "output_padding", "act", "slope", "exact", "round", "steps", "max_cells"],
    cnnlab.pool: ["stride", "padding", "dilation", "ceil_mode", "count_include_pad", "exact", "round", "steps",
                  "max_cells"],
    cnnlab.act: ["slope", "exact", "round", "steps", "max_cells"],
}
POSITIONAL = {cnnlab.conv: 2, cnnlab.pool: 3, cnnlab.act: 2}


@st.composite
def calls(draw):
    fn = draw(st.sampled_from(list(PARAMS)))
    args = [draw(VALUES) for _ in range(POSITIONAL[fn])]
    kwargs = draw(st.dictionaries(st.sampled_from(PARAMS[fn]), VALUES, max_size=4))
    return fn, args, kwargs


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(calls())
def test_api_answers_or_refuses(call):
    fn, args, kwargs = call
    try:
        r = fn(*args, **kwargs)
    except cnnlab.UsageError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert set(r.to_json()) >= {"output", "shape"}
    assert str(r)


@pytest.mark.parametrize("fn,args", [(cnnlab.conv, ("1 2; 3 4", "1 1")), (cnnlab.pool, ("1 2; 3 4", "max", 2)),
                                     (cnnlab.act, ("1 -2", "relu"))])
def test_a_valid_call_answers(fn, args):
    assert fn(*args).to_json()["shape"]
