"""as_tensor: validation of user values before any op runs (docs/conventions.md)."""

from fractions import Fraction

import numpy as np
import pytest

from cnnlab.errors import MAX_ELEMENTS, UsageError
from cnnlab.ops import as_tensor
from cnnlab.steps import render_value


@pytest.mark.parametrize("value, message", [
    ([[1, 2], [3]], "ragged"),
    ([[1, 2], 3], "ragged"),
    ([], "empty"),
    ([[]], "empty"),
    ([[1, "a"]], "non-numeric"),
    ([[1, True]], "non-numeric"),
    ([[1, float("nan")]], "non-finite"),
    ([[0] * 5000], "4096 per spatial axis"),
    ("text", "number or a list"),
])
def test_bad_values_are_refused(value, message):
    with pytest.raises(UsageError, match=message):
        as_tensor(value)


def test_deep_nesting_is_a_usage_error_not_a_crash():
    v = [1]
    for _ in range(100):
        v = [v]
    with pytest.raises(UsageError, match="nested"):
        as_tensor(v)


def test_element_limit_checked_from_the_shape():
    big = np.zeros((5, 4096, 4096), dtype=np.uint8)  # 2^26 * 1.25 elements, 80 MB of uint8
    assert big.size > MAX_ELEMENTS
    with pytest.raises(UsageError, match="2\\^26"):
        as_tensor(big)


def test_exact_reads_decimals_as_written():
    t = as_tensor([[0.1, 0.5], [2, Fraction(1, 3)]], exact=True)
    assert t.tolist() == [[Fraction(1, 10), Fraction(1, 2)], [2, Fraction(1, 3)]]
    assert as_tensor([[0.1]]).dtype == np.float64


def test_render_value_with_null_and_round():
    assert render_value({"a": None, "b": 1.234}, "text", round=2).splitlines() == ["a: null", "b: 1.23"]
