"""Property tests of the ops (hypothesis): torch agreement on drawn shapes, linearity,
exact = float, shift equivariance away from the borders."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
F = torch.nn.functional
torch.set_num_threads(1)

from cnnlab import ops  # noqa: E402

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def conv_case(draw):
    groups = draw(st.sampled_from([1, 2]))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    H = draw(st.integers(dilation[0] * (kh - 1) + 1, 8))
    W = draw(st.integers(dilation[1] * (kw - 1) + 1, 8))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    x = rng.integers(-4, 5, (c_in, H, W)).astype(float)
    k = rng.integers(-3, 4, (c_out, c_in // groups, kh, kw)).astype(float)
    return x, k, dict(stride=stride, padding=(ph, pw), dilation=dilation, groups=groups)


@SETTINGS
@given(conv_case())
def test_conv2d_agrees_with_torch(case):
    x, k, args = case
    want = F.conv2d(torch.from_numpy(x)[None], torch.from_numpy(k), **args)[0].numpy()
    got = ops.conv2d(x, k, **args)
    np.testing.assert_allclose(got, want[0] if want.shape[0] == 1 else want, atol=1e-9)


@SETTINGS
@given(conv_case(), st.integers(-3, 3), st.integers(-3, 3))
def test_conv2d_is_linear_in_the_input(case, a, b):
    x, k, args = case
    y = np.roll(x, 1, axis=-1) - 1
    lhs = ops.conv2d(a * x + b * y, k, **args)
    np.testing.assert_allclose(lhs, a * ops.conv2d(x, k, **args) + b * ops.conv2d(y, k, **args), atol=1e-9)


@SETTINGS
@given(conv_case())
def test_exact_conv2d_equals_float(case):
    x, k, args = case
    halves = x / 2  # exact in binary and as Fractions
    exact = ops.conv2d(ops.as_tensor(halves, exact=True), ops.as_tensor(k, exact=True), **args)
    assert all(isinstance(v, Fraction) for v in np.ravel(exact))
    np.testing.assert_allclose(ops.to_float(exact), ops.conv2d(halves, k, **args), atol=1e-9)


@SETTINGS
@given(st.integers(3, 9), st.integers(3, 9), st.integers(1, 3), st.integers(0, 2), st.integers(0, 2**31))
def test_symmetric_padding_equals_numpy(H, W, p, q, seed):
    x = np.random.default_rng(seed).standard_normal((2, H, W))
    pads = (p, q, q, p)
    np.testing.assert_array_equal(ops.pad(x, pads, "symmetric"),
                                  np.pad(x, [(0, 0), (p, q), (q, p)], mode="symmetric"))


@SETTINGS
@given(st.integers(4, 9), st.integers(1, 3), st.integers(0, 2**31))
def test_convolution_commutes_with_a_shift_away_from_borders(n, k, seed):
    rng = np.random.default_rng(seed)
    x = np.zeros((n + 4, n + 4))
    x[2:2 + n, 1:1 + n] = rng.standard_normal((n, n))  # zeros around: shifting stays inside
    kern = rng.standard_normal((k, k))
    shifted = np.roll(x, 1, axis=1)
    np.testing.assert_allclose(ops.conv2d(shifted, kern, padding="same"),
                               np.roll(ops.conv2d(x, kern, padding="same"), 1, axis=1), atol=1e-9)


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 6), st.integers(1, 6), st.integers(1, 3), st.booleans(),
       st.booleans(), st.integers(0, 2**31))
def test_avg_pool_agrees_with_torch(C, H, W, size, ceil_mode, include_pad, seed):
    x = np.random.default_rng(seed).standard_normal((C, H, W))
    padding = size // 2
    if size > min(H, W) + 2 * padding:
        return
    want = F.avg_pool2d(torch.from_numpy(x), size, 1, padding, ceil_mode, include_pad).numpy()
    np.testing.assert_allclose(ops.avg_pool2d(x, size, 1, padding, ceil_mode, include_pad), want, atol=1e-12)
