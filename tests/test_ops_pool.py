"""cnnlab.ops pooling against torch.nn.functional on seeded random configurations."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional
torch.set_num_threads(1)  # tiny tensors: threads only add overhead

from cnnlab import ops  # noqa: E402
from cnnlab.errors import UsageError  # noqa: E402


def _random_pool(rng, dilation_ok: bool):
    C = int(rng.integers(1, 4))
    H, W = (int(v) for v in rng.integers(1, 9, size=2))
    kh, kw = (int(v) for v in rng.integers(1, 5, size=2))
    size = kh if rng.random() < 0.5 else (kh, kw)
    stride = [None, 1, 2, 3, (1, 2), (2, 1)][int(rng.integers(6))]
    kmin = min(kh, kw) if isinstance(size, tuple) else kh
    padding = int(rng.integers(0, kmin // 2 + 2))  # sometimes over the limit of half the window
    dilation = [1, 2, (1, 2)][int(rng.integers(3))] if dilation_ok else 1
    ceil_mode = bool(rng.random() < 0.5)
    return C, H, W, dict(size=size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)


def _torch_or_none(pool, x, *args, **kwargs):
    """torch's pooling of ``x`` (C, H, W) as numpy; None where torch refuses or gives an empty output."""
    try:
        want = pool(torch.from_numpy(x), *args, **kwargs).numpy()
    except RuntimeError:
        return None
    return None if want.size == 0 else want


def _ours_or_refusal(op, x, cfg, want):
    """``op(x, **cfg)``, its shape checked against ``want``; where torch gave no output
    (``want`` None) the op must refuse with a UsageError, and None is returned."""
    if want is None:
        with pytest.raises(UsageError):
            op(x, **cfg)
        return None
    got = op(x, **cfg)
    assert got.shape == want.shape, cfg
    return got


def test_max_pool2d_matches_torch():
    rng = np.random.default_rng(17)
    agreed = refused = ceil_differs = 0
    for _ in range(2500):
        C, H, W, cfg = _random_pool(rng, dilation_ok=True)
        x = rng.standard_normal((C, H, W))
        want = _torch_or_none(F.max_pool2d, x, cfg["size"], cfg["stride"], cfg["padding"],
                              cfg["dilation"], ceil_mode=cfg["ceil_mode"])
        got = _ours_or_refusal(ops.max_pool2d, x, cfg, want)
        if got is None:
            refused += 1
            continue
        np.testing.assert_array_equal(got, want, err_msg=str(cfg))
        if cfg["ceil_mode"]:
            try:
                floor = tuple(F.max_pool2d(torch.from_numpy(x), cfg["size"], cfg["stride"],
                                           cfg["padding"], cfg["dilation"]).shape)
            except RuntimeError:  # no full window fits: only ceil mode gives an output
                floor = None
            ceil_differs += floor != want.shape
        if C == 1:  # a 2-D input gives a 2-D output
            np.testing.assert_array_equal(ops.max_pool2d(x[0], **cfg), want[0])
        agreed += 1
    assert agreed > 900 and refused > 50 and ceil_differs > 100, (agreed, refused, ceil_differs)


def test_avg_pool2d_matches_torch():
    rng = np.random.default_rng(23)
    agreed = refused = 0
    for _ in range(2500):
        C, H, W, cfg = _random_pool(rng, dilation_ok=False)
        cfg.pop("dilation")
        cfg["count_include_pad"] = bool(rng.random() < 0.5)
        x = rng.standard_normal((C, H, W))
        want = _torch_or_none(F.avg_pool2d, x, cfg["size"], cfg["stride"], cfg["padding"],
                              cfg["ceil_mode"], cfg["count_include_pad"])
        got = _ours_or_refusal(ops.avg_pool2d, x, cfg, want)
        if got is None:
            refused += 1
            continue
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=str(cfg))
        agreed += 1
    assert agreed > 900 and refused > 50, (agreed, refused)


def test_global_pools_match_torch():
    rng = np.random.default_rng(5)
    for _ in range(200):
        C, H, W = (int(v) for v in rng.integers(1, 6, size=3))
        x = rng.standard_normal((C, H, W))
        t = torch.from_numpy(x)
        np.testing.assert_allclose(ops.global_avg_pool(x), F.adaptive_avg_pool2d(t, 1).flatten().numpy(),
                                   atol=1e-12)
        np.testing.assert_array_equal(ops.global_max_pool(x), F.adaptive_max_pool2d(t, 1).flatten().numpy())
    assert ops.global_avg_pool(np.array([[1., 2.], [3., 4.]])) == 2.5


def test_hand_worked_pooling():
    x = np.array([[1, 3, 2, 1], [4, 6, 5, 0], [7, 2, 9, 8], [1, 0, 3, 4]], dtype=float)
    assert ops.max_pool2d(x, 2).tolist() == [[6, 5], [7, 9]]
    assert ops.avg_pool2d(x, 2).tolist() == [[3.5, 2], [2.5, 6]]
    # overlapping 3x3 windows, stride 1
    assert ops.max_pool2d(x, 3, stride=1).tolist() == [[9, 9], [9, 9]]
    # ceil mode keeps a last partial window: 3x3 input, size 2 -> 2x2
    y = np.arange(9.).reshape(3, 3)
    assert ops.max_pool2d(y, 2, ceil_mode=True).tolist() == [[4, 5], [7, 8]]
    assert ops.avg_pool2d(y, 2, ceil_mode=True).tolist() == [[2, 3.5], [6.5, 8]]
    # exact: an average of halves stays a fraction (5/2 over 4 cells = 5/8)
    h = ops.as_tensor([[0.5, 0.5], [0.5, 1]], exact=True)
    assert ops.avg_pool2d(h, 2).tolist() == [[Fraction(5, 8)]]
    # padding with count_include_pad=False divides by the real cells only
    assert ops.avg_pool2d(np.array([[4.]]), 2, stride=1, padding=1, count_include_pad=False).tolist() == \
        [[4, 4], [4, 4]]
    assert ops.avg_pool2d(np.array([[4.]]), 2, stride=1, padding=1).tolist() == [[1, 1], [1, 1]]


@pytest.mark.parametrize("bad", [dict(size=0), dict(size=2, stride=0), dict(size=2, padding=2),
                                 dict(size=5), dict(size=2, dilation=0)])
def test_max_pool_refuses_bad_arguments(bad):
    with pytest.raises(UsageError):
        ops.max_pool2d(np.ones((3, 3)), **bad)
