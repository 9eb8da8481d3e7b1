"""Inverse design: every solution within the bounds, checked by brute force with the size formula."""

from __future__ import annotations

import itertools

import pytest

from cnnlab.arch import fewest_layers, solve_layer
from cnnlab.arch.receptive_field import stacked_receptive_fields
from cnnlab.errors import UsageError
from cnnlab.ops.sizes import conv_output_size, solve_kernel, solve_padding, solve_stride


def _size(n, k, s, p, d):
    """Independent output size (the §0 formula), None when the window does not fit."""
    span = d * (k - 1) + 1
    return None if span > n + 2 * p else (n + 2 * p - span) // s + 1


@pytest.mark.parametrize("n_in,k,s,d", list(itertools.product([5, 8, 13], [1, 3, 4], [1, 2, 3], [1, 2])))
def test_padding_solutions_are_exactly_the_brute_force_set(n_in, k, s, d):
    for n_out in range(1, n_in + 4):
        got = solve_layer("padding", n_in, n_out, kernel=k, stride=s, dilation=d)
        expected = [p for p in range(0, d * (k - 1) + 1) if _size(n_in, k, s, p, d) == n_out]
        assert got["solutions"] == expected
        if expected:
            assert solve_padding(n_in, n_out, k, s, d) == expected[0]
        else:
            assert got["answer"].startswith("none exists")


@pytest.mark.parametrize("n_in,n_out,s,p", [(28, 24, 1, 0), (7, 3, 2, 0), (32, 16, 2, 1), (10, 1, 1, 0), (9, 4, 2, 0)])
def test_kernel_and_stride_solutions(n_in, n_out, s, p):
    kernels = solve_layer("kernel", n_in, n_out, stride=s, padding=p)["solutions"]
    assert kernels == [k for k in range(1, n_in + 2 * p + 1) if _size(n_in, k, s, p, 1) == n_out]
    if kernels:
        assert solve_kernel(n_in, n_out, s, p) == max(kernels)
    strides = solve_layer("stride", n_in, n_out, kernel=3, padding=p)["solutions"]
    assert strides == [t for t in range(1, n_in + 2 * p + 1) if _size(n_in, 3, t, p, 1) == n_out]
    if strides:
        assert solve_stride(n_in, n_out, 3, p) == strides[0]


def test_dilation_and_worked_check():
    r = solve_layer("dilation", 32, 28, kernel=3)
    assert r["solutions"] == [2]
    assert r["steps"][0]["value"] == "28"
    assert conv_output_size(32, 3, 1, 0, 2) == 28


def test_none_exists_gives_nearest_and_asymmetric_padding():
    r = solve_layer("padding", 6, 3, kernel=3, stride=1)
    assert r["solutions"] == [] and r["nearest"] == [{"value": 0, "output": 4}]
    r = solve_layer("padding", 6, 3, kernel=3, stride=2)   # p=0 gives 2, p=1 gives 3
    assert r["solutions"] == [1]
    r = solve_layer("padding", 8, 4, kernel=4, stride=2)   # TensorFlow 'same': 1 before, 2 after
    assert 1 in r["solutions"] or any("asymmetric" in n for n in r["notes"])


def test_same_padding_note():
    assert "same" in " ".join(solve_layer("padding", 32, 32, kernel=5)["notes"])


def test_bad_inverse_questions():
    with pytest.raises(UsageError):
        solve_layer("padding", 10, 5)             # kernel missing
    with pytest.raises(UsageError):
        solve_layer("width", 10, 5, kernel=3)
    with pytest.raises(UsageError):
        fewest_layers(9, 1)                       # 1x1 never grows


@pytest.mark.parametrize("target,k,strides,d", [(7, 3, None, 1), (100, 3, [1, 2], 1), (50, 5, [2], 1),
                                                (31, 3, None, 2), (1, 3, None, 1)])
def test_fewest_layers_is_minimal(target, k, strides, d):
    r = fewest_layers(target, k, strides, d)
    L = r["layers"]
    pattern = strides or [1]
    stack = lambda n: stacked_receptive_fields([k] * n, [pattern[i % len(pattern)] for i in range(n)], [d] * n)
    fields = [rf for rf, _ in stack(L)]
    assert fields == r["rf_per_layer"]
    assert (fields[-1] if fields else 1) >= target
    assert L == 0 or (stack(L - 1)[-1][0] if L > 1 else 1) < target


def test_vgg_three_3x3_versus_one_7x7():
    r = fewest_layers(7, 3, channels=64)
    assert r["layers"] == 3 and r["weights_stacked"] == 27 * 64 * 64 and r["weights_single"] == 49 * 64 * 64
