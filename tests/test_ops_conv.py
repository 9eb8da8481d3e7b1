"""cnnlab.ops conv2d / conv_transpose2d / pad against torch.nn.functional and numpy.pad.

Thousands of seeded random configurations run inside a few test functions (one pytest item
each, so the suite stays fast). Where torch refuses a configuration, cnnlab must refuse it
too, with a UsageError rather than a crash.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional
torch.set_num_threads(1)  # tiny tensors: threads only add overhead (70 s -> 1 s on 2 busy cores)

from cnnlab import ops  # noqa: E402
from cnnlab.errors import UsageError  # noqa: E402

MODES = ("zeros", "reflect", "symmetric", "replicate", "circular")
TORCH_MODE = {"reflect": "reflect", "replicate": "replicate", "circular": "circular"}


def _pair(v):
    return tuple(v) if isinstance(v, tuple) else (v, v)


def ref_pads(padding, hw, khw, stride, dilation):
    """(top, bottom, left, right) from the contract's definitions, written independently."""
    if padding == "valid":
        return 0, 0, 0, 0
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    if padding == "full":
        return (dh * (khw[0] - 1),) * 2 + (dw * (khw[1] - 1),) * 2
    if padding == "same":
        sides = []
        for n, k, s, d in ((hw[0], khw[0], sh, dh), (hw[1], khw[1], sw, dw)):
            out = math.ceil(n / s)
            total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
            sides += [total // 2, total - total // 2]  # extra at the bottom/right (TensorFlow)
        return tuple(sides)
    ph, pw = _pair(padding)
    return ph, ph, pw, pw


def ref_pad(x: np.ndarray, pads, mode: str) -> torch.Tensor:
    """x (C, H, W) padded by torch (numpy.pad for symmetric, which torch lacks) -> (1, C, Hp, Wp)."""
    t, b, l, r = pads
    if mode == "symmetric":
        if max(t, b) > x.shape[-2] or max(l, r) > x.shape[-1]:
            # numpy repeats the mirror pattern; cnnlab refuses (documented in ops.padding)
            raise ValueError("symmetric padding wider than the input")
        return torch.from_numpy(np.pad(x, [(0, 0), (t, b), (l, r)], mode="symmetric"))[None]
    xt = torch.from_numpy(x)[None]
    if mode == "zeros":
        return F.pad(xt, (l, r, t, b))
    return F.pad(xt, (l, r, t, b), mode=TORCH_MODE[mode])


def torch_conv(x, k, bias, stride, padding, mode, dilation, groups):
    """Reference: explicit padding (torch/numpy), then F.conv2d without padding. None if refused."""
    pads = ref_pads(padding, x.shape[-2:], k.shape[-2:], stride, dilation)
    try:
        xp = ref_pad(x, pads, mode)
        out = F.conv2d(xp, torch.from_numpy(k), torch.from_numpy(bias), stride=stride,
                       dilation=dilation, groups=groups)
    except (RuntimeError, ValueError, NotImplementedError):
        return None
    return out[0].numpy()


def random_conv_config(rng):
    c_in = int(rng.choice([1, 2, 3, 4, 6]))
    groups = int(rng.choice([g for g in (1, 2, 3, 6) if c_in % g == 0]))
    c_out = groups * int(rng.integers(1, 3))
    kh, kw = (int(v) for v in rng.integers(1, 4, size=2))
    H, W = (int(v) for v in rng.integers(2, 8, size=2))
    stride = [1, 2, 3, (2, 1), (1, 3)][int(rng.choice(5, p=[0.4, 0.25, 0.1, 0.15, 0.1]))]
    dilation = [1, 2, (1, 2), (2, 1)][int(rng.choice(4, p=[0.55, 0.2, 0.15, 0.1]))]
    padding = [0, 1, 2, (1, 0), (0, 2), "valid", "same", "full"][int(rng.integers(8))]
    mode = MODES[int(rng.integers(5))]
    return dict(c_in=c_in, c_out=c_out, groups=groups, kh=kh, kw=kw, H=H, W=W, stride=stride,
                dilation=dilation, padding=padding, mode=mode)


def test_conv2d_matches_torch_on_random_configs():
    rng = np.random.default_rng(2024)
    agreed = refused = 0
    covered_modes, covered_same_stride = set(), 0
    for _ in range(2500):
        cfg = random_conv_config(rng)
        x = rng.standard_normal((cfg["c_in"], cfg["H"], cfg["W"]))
        k = rng.standard_normal((cfg["c_out"], cfg["c_in"] // cfg["groups"], cfg["kh"], cfg["kw"]))
        bias = rng.standard_normal(cfg["c_out"])
        expected = torch_conv(x, k, bias, cfg["stride"], cfg["padding"], cfg["mode"], cfg["dilation"],
                              cfg["groups"])
        if expected is None or expected.size == 0:
            with pytest.raises(UsageError):
                ops.conv2d(x, k, bias, cfg["stride"], cfg["padding"], cfg["mode"], cfg["dilation"],
                           cfg["groups"])
            refused += 1
            continue
        got = ops.conv2d(x, k, bias, cfg["stride"], cfg["padding"], cfg["mode"], cfg["dilation"],
                         cfg["groups"])
        expected = expected[0] if expected.shape[0] == 1 else expected
        assert got.shape == expected.shape, cfg
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10, err_msg=str(cfg))
        agreed += 1
        covered_modes.add(cfg["mode"])
        covered_same_stride += cfg["padding"] == "same" and cfg["stride"] != 1
    assert agreed > 1500 and refused > 20, (agreed, refused)
    assert covered_modes == set(MODES) and covered_same_stride > 50


def test_conv2d_two_and_three_d_kernels_match_torch():
    """A 2-D kernel over C channels = one filter repeating it; 3-D = one filter (docs/conventions.md)."""
    rng = np.random.default_rng(7)
    for _ in range(300):
        C = int(rng.integers(1, 5))
        H, W = (int(v) for v in rng.integers(3, 7, size=2))
        x = rng.standard_normal((C, H, W))
        k2 = rng.standard_normal((int(rng.integers(1, 4)), int(rng.integers(1, 4))))
        want2 = F.conv2d(torch.from_numpy(x)[None], torch.from_numpy(np.broadcast_to(k2, (1, C, *k2.shape)).copy()))
        np.testing.assert_allclose(ops.conv2d(x, k2), want2[0, 0].numpy(), atol=1e-12)
        k3 = rng.standard_normal((C, 2, 2))
        want3 = F.conv2d(torch.from_numpy(x)[None], torch.from_numpy(k3)[None])
        np.testing.assert_allclose(ops.conv2d(x, k3), want3[0, 0].numpy(), atol=1e-12)
        # depthwise: a (C, kh, kw) kernel with groups=C gives each channel its own kernel
        if C > 1:
            want_dw = F.conv2d(torch.from_numpy(x)[None], torch.from_numpy(k3)[:, None], groups=C)
            np.testing.assert_allclose(ops.conv2d(x, k3, groups=C), want_dw[0].numpy(), atol=1e-12)
        # a 2-D input is one channel
        x2 = x[0]
        want = F.conv2d(torch.from_numpy(x2)[None, None], torch.from_numpy(k2)[None, None])
        np.testing.assert_allclose(ops.conv2d(x2, k2), want[0, 0].numpy(), atol=1e-12)


def test_flip_is_a_true_convolution():
    """flip=True rotates the kernel: torch correlation with the rotated kernel, and scipy's convolve2d."""
    signal = pytest.importorskip("scipy.signal")
    rng = np.random.default_rng(3)
    for _ in range(200):
        x = rng.standard_normal(tuple(int(v) for v in rng.integers(3, 8, size=2)))
        k = rng.standard_normal(tuple(int(v) for v in rng.integers(1, 4, size=2)))
        np.testing.assert_allclose(ops.conv2d(x, k, flip=True), signal.convolve2d(x, k, mode="valid"),
                                   atol=1e-12)
        np.testing.assert_allclose(ops.conv2d(x, k, padding="full", flip=True),
                                   signal.convolve2d(x, k, mode="full"), atol=1e-12)


def test_hand_worked_convolutions():
    x = np.array([[0, 1, 2], [3, 4, 5], [6, 7, 8]], dtype=float)
    k = np.array([[1, 0], [0, -1]], dtype=float)
    # cross-correlation: x[i,j] - x[i+1,j+1] = -4 everywhere
    assert ops.conv2d(x, k).tolist() == [[-4, -4], [-4, -4]]
    # true convolution with padding 1 (flipping matters): kernel becomes [[-1,0],[0,1]]
    assert ops.conv2d(x, k, padding=1, flip=True).tolist() == [
        [0, 1, 2, 0], [3, 4, 4, -2], [6, 4, 4, -5], [0, -6, -7, -8]]
    # an asymmetric kernel on a 4x4 input, stride 2, bias 1: worked out on paper
    x4 = np.arange(16, dtype=float).reshape(4, 4)
    k3 = np.array([[1, 2, 0], [0, 0, 0], [0, 0, -1]], dtype=float)
    # cell (0,0): 0*1 + 1*2 - 10 = -8; with padding 1 and stride 2 (+1 bias), cell (0,0) reads
    # [[0,0,0],[0,0,1],[0,4,5]] -> -5; cell (0,1) [[0,0,0],[1,2,3],[5,6,7]] -> -7;
    # cell (1,0) [[0,4,5],[0,8,9],[0,12,13]] -> -5; cell (1,1) [[5,6,7],[9,10,11],[13,14,15]] -> 2
    assert ops.conv2d(x4, k3).tolist() == [[-8, -6], [0, 2]]
    assert ops.conv2d(x4, k3, stride=2, padding=1, bias=1).tolist() == [[-4, -6], [-4, 3]]
    # dilation 2: a 2x2 kernel reads corners of a 3x3 patch
    assert ops.conv2d(x, np.array([[1., 1.], [1., 1.]]), dilation=2).tolist() == [[16]]
    # exact: averaging with a 1/4 box gives quarters
    q = ops.conv2d(ops.as_tensor([[1, 2], [3, 5]], exact=True), ops.as_tensor([[0.25, 0.25], [0.25, 0.25]], exact=True))
    assert q.tolist() == [[Fraction(11, 4)]]


def test_padding_modes_match_numpy_and_torch():
    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(1200):
        C, H, W = (int(v) for v in rng.integers(1, 6, size=3))
        pads = tuple(int(v) for v in rng.integers(0, 5, size=4))
        mode = MODES[int(rng.integers(5))]
        x = rng.standard_normal((C, H, W))
        t, b, l, r = pads
        np_mode = {"zeros": "constant", "reflect": "reflect", "symmetric": "symmetric",
                   "replicate": "edge", "circular": "wrap"}[mode]
        try:
            want = ref_pad(x, pads, mode)[0].numpy()
        except (RuntimeError, ValueError, NotImplementedError):
            with pytest.raises(UsageError):
                ops.pad(x, pads, mode)
            continue
        got = ops.pad(x, pads, mode)
        np.testing.assert_array_equal(got, want)
        if mode != "circular" or (max(t, b) <= H and max(l, r) <= W):
            np.testing.assert_array_equal(got, np.pad(x, [(0, 0), (t, b), (l, r)], mode=np_mode))
        checked += 1
    assert checked > 600


def test_same_padding_keeps_ceil_size():
    rng = np.random.default_rng(5)
    for _ in range(400):
        n = int(rng.integers(1, 20))
        k, s, d = int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 3))
        x = rng.standard_normal((n, n + 1))
        out = ops.conv2d(x, np.ones((k, k)), stride=s, dilation=d, padding="same")
        assert np.shape(out)[-2:] == (math.ceil(n / s), math.ceil((n + 1) / s))


def test_conv_transpose2d_matches_torch():
    rng = np.random.default_rng(99)
    agreed = refused = 0
    for _ in range(1200):
        c_in = int(rng.choice([1, 2, 4]))
        groups = int(rng.choice([g for g in (1, 2, 4) if c_in % g == 0]))
        out_per_group = int(rng.integers(1, 3))
        kh, kw = (int(v) for v in rng.integers(1, 4, size=2))
        H, W = (int(v) for v in rng.integers(1, 6, size=2))
        sh, sw = (int(v) for v in rng.integers(1, 4, size=2))
        dh, dw = (int(v) for v in rng.integers(1, 3, size=2))
        ph, pw = (int(v) for v in rng.integers(0, 3, size=2))
        oph, opw = int(rng.integers(0, 2)), int(rng.integers(0, 2))
        x = rng.standard_normal((c_in, H, W))
        k = rng.standard_normal((c_in, out_per_group, kh, kw))
        bias = rng.standard_normal(out_per_group * groups)
        args = dict(stride=(sh, sw), padding=(ph, pw), output_padding=(oph, opw), dilation=(dh, dw),
                    groups=groups)
        try:
            want = F.conv_transpose2d(torch.from_numpy(x)[None], torch.from_numpy(k),
                                      torch.from_numpy(bias), **args)[0].numpy()
        except RuntimeError:
            want = None
        if want is None or want.size == 0:
            with pytest.raises(UsageError):
                ops.conv_transpose2d(x, k, bias, **args)
            refused += 1
            continue
        got = ops.conv_transpose2d(x, k, bias, **args)
        want = want[0] if want.shape[0] == 1 else want
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10, err_msg=str(args))
        agreed += 1
    assert agreed > 700 and refused > 10, (agreed, refused)


@pytest.mark.parametrize("bad", [
    dict(stride=0), dict(dilation=0), dict(stride=-1), dict(groups=2), dict(groups=0),
    dict(padding="sideways"), dict(padding_mode="mirrorball"), dict(bias=[1, 2, 3]),
    dict(padding=-1), dict(padding=3, padding_mode="reflect"),
])
def test_conv2d_refuses_bad_arguments(bad):
    x = np.arange(9.).reshape(3, 3)
    with pytest.raises(UsageError):
        ops.conv2d(x, np.ones((2, 2)), **bad)


def test_conv2d_refuses_kernel_larger_than_padded_input_and_huge_outputs():
    with pytest.raises(UsageError, match="larger"):
        ops.conv2d(np.ones((2, 2)), np.ones((3, 3)))
    with pytest.raises(UsageError, match="limit"):
        ops.conv2d(np.ones((2, 2)), np.ones((1, 1)), padding=5000)  # would be 5002 x 5002


def test_exact_integer_fast_path_equals_fraction_arithmetic(monkeypatch):
    # exact conv2d works on int64 numerators when no overflow is possible; it must give
    # exactly the Fractions that Fraction-by-Fraction arithmetic gives
    from fractions import Fraction

    from cnnlab.ops import conv as conv_module
    from cnnlab.ops.tensor import to_exact

    rng = np.random.default_rng(11)
    dens = [1, 2, 3, 4, 6, 7, 10]
    cases = []
    for _ in range(30):
        C, g = int(rng.integers(1, 4)), 1
        H, W, kh, kw = (int(v) for v in rng.integers(2, 7, size=4))
        kh, kw = min(kh, H), min(kw, W)
        x = np.array([Fraction(int(rng.integers(-9, 10)), int(rng.choice(dens)))
                      for _ in range(C * H * W)], dtype=object).reshape(C, H, W)
        k = np.array([Fraction(int(rng.integers(-5, 6)), int(rng.choice(dens)))
                      for _ in range(2 * C * kh * kw)], dtype=object).reshape(2, C, kh, kw)
        bias = [Fraction(int(rng.integers(-5, 6)), int(rng.choice(dens))) for _ in range(2)]
        kw_args = dict(bias=bias, stride=int(rng.integers(1, 3)), padding=int(rng.integers(0, 2)),
                       padding_mode=str(rng.choice(["zeros", "reflect", "replicate"])),
                       dilation=1, flip=bool(rng.integers(0, 2)))
        cases.append((x, k, kw_args))
    fast = [ops.conv2d(x, k, **kw) for x, k, kw in cases]
    monkeypatch.setattr(conv_module, "_correlate_exact", lambda *a, **k: None)  # Fractions only
    slow = [ops.conv2d(x, k, **kw) for x, k, kw in cases]
    for f, s in zip(fast, slow):
        assert f.dtype == object and f.shape == s.shape
        assert all(type(v) is Fraction for v in f.ravel())
        assert (f == s).all()
    # a value too large for int64 products falls back to Fractions, still exact
    huge = np.array([[Fraction(2**70), Fraction(1)], [Fraction(1), Fraction(1, 3)]], dtype=object)
    out = ops.conv2d(huge, to_exact(np.array([[3.0]])))
    assert out[1, 1] == 1
    assert out[0, 0] == Fraction(3 * 2**70)
