"""Each function of the ask language against cnnlab.ops and against torch (docs/problems.md)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnlab import ops
from cnnlab.errors import UsageError
from cnnlab.problems.expr import EvalContext, evaluate, parse_ask

RNG = np.random.default_rng(20240611)


def ask(text: str, **env):
    return evaluate(parse_ask(text, "part t"), env, EvalContext(where="part t")).value


def t(a) -> torch.Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float64))


def batch(x: np.ndarray) -> torch.Tensor:
    """(H, W) or (C, H, W) -> (1, C, H, W)."""
    x = t(x)
    return x[None, None] if x.ndim == 2 else x[None]


def unbatch(y: torch.Tensor) -> np.ndarray:
    y = y[0]
    return (y[0] if y.shape[0] == 1 else y).numpy()


@pytest.mark.parametrize("stride, padding, dilation, flip", list(itertools.product(
    [1, 2], [0, 1, (2, 0)], [1, 2], [False, True])))
def test_conv2d_against_ops_and_torch(stride, padding, dilation, flip):
    x = RNG.integers(-3, 4, size=(2, 6, 7)).astype(float)
    k = RNG.integers(-2, 3, size=(3, 2, 3, 2)).astype(float)
    b = [1.0, -2.0, 0.5]
    got = ask(f"conv2d(x, k, bias=b, stride={stride}, padding={list(padding) if isinstance(padding, tuple) else padding},"
              f" dilation={dilation}, flip={'true' if flip else 'false'})", x=x, k=k, b=b)
    np.testing.assert_array_equal(got, ops.conv2d(x, k, b, stride, padding, dilation=dilation, flip=flip))
    w = t(k).flip(-1, -2) if flip else t(k)
    ref = F.conv2d(batch(x), w, t(b), stride=stride, padding=padding, dilation=dilation)
    np.testing.assert_allclose(got, unbatch(ref), atol=1e-12)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv2d_padding_modes_against_torch(mode):
    x = RNG.integers(0, 9, size=(5, 5)).astype(float)
    k = RNG.integers(-1, 2, size=(3, 3)).astype(float)
    got = ask(f"conv2d(x, k, padding=1, padding_mode='{mode}')", x=x, k=k)
    tmode = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}[mode]
    ref = F.conv2d(F.pad(batch(x), (1, 1, 1, 1), mode=tmode), t(k)[None, None])
    np.testing.assert_allclose(got, unbatch(ref))


def test_conv2d_groups_same_and_two_d_kernel_on_channels():
    x = RNG.integers(-3, 4, size=(4, 5, 5)).astype(float)
    k = RNG.integers(-2, 3, size=(4, 1, 3, 3)).astype(float)
    got = ask("conv2d(x, k, groups=4, padding='same')", x=x, k=k)
    ref = F.conv2d(batch(x), t(k), groups=4, padding="same")
    np.testing.assert_allclose(got, unbatch(ref))
    ones = ask("conv2d(x, [[1, 1], [1, 1]])", x=x)  # one filter summing every channel's window
    # a C×H×W input keeps its channel axis (docs/problems.md, "Channel axes"): 1×4×4
    np.testing.assert_allclose(ones, F.conv2d(batch(x), torch.ones(1, 4, 2, 2, dtype=torch.float64))[0])


@pytest.mark.parametrize("stride, padding, output_padding", [(1, 0, 0), (2, 0, 0), (2, 1, 1), (3, 1, 0)])
def test_conv_transpose2d_against_torch(stride, padding, output_padding):
    x = RNG.integers(-2, 3, size=(2, 3, 3)).astype(float)
    k = RNG.integers(-2, 3, size=(2, 3, 2, 3)).astype(float)
    got = ask(f"conv_transpose2d(x, k, stride={stride}, padding={padding}, output_padding={output_padding})", x=x, k=k)
    np.testing.assert_array_equal(got, ops.conv_transpose2d(x, k, 0, stride, padding, output_padding))
    ref = F.conv_transpose2d(batch(x), t(k), stride=stride, padding=padding, output_padding=output_padding)
    np.testing.assert_allclose(got, unbatch(ref))


@pytest.mark.parametrize("size, stride, padding, ceil_mode", [(2, None, 0, False), (3, 2, 1, False), (3, 2, 0, True),
                                                                (2, 1, 0, False), (3, 2, 1, True)])
def test_pooling_against_ops_and_torch(size, stride, padding, ceil_mode):
    x = RNG.integers(-5, 10, size=(2, 7, 6)).astype(float)
    s = "None" if stride is None else stride
    c = "true" if ceil_mode else "false"
    mx = ask(f"maxpool2d(x, {size}, stride={s}, padding={padding}, ceil_mode={c})", x=x)
    av = ask(f"avgpool2d(x, {size}, stride={s}, padding={padding}, ceil_mode={c})", x=x)
    avx = ask(f"avgpool2d(x, {size}, stride={s}, padding={padding}, ceil_mode={c}, count_include_pad=false)", x=x)
    np.testing.assert_array_equal(mx, ops.max_pool2d(x, size, stride, padding, ceil_mode=ceil_mode))
    np.testing.assert_array_equal(av, ops.avg_pool2d(x, size, stride, padding, ceil_mode))
    np.testing.assert_allclose(mx, F.max_pool2d(t(x)[None], size, stride, padding, ceil_mode=ceil_mode)[0])
    np.testing.assert_allclose(av, F.avg_pool2d(t(x)[None], size, stride, padding, ceil_mode)[0])
    np.testing.assert_allclose(avx, F.avg_pool2d(t(x)[None], size, stride, padding, ceil_mode, False)[0])


def test_maxpool_dilation_and_global_pools_against_torch():
    x = RNG.normal(size=(3, 7, 7))
    np.testing.assert_allclose(ask("maxpool2d(x, 2, stride=1, dilation=2)", x=x),
                               F.max_pool2d(t(x)[None], 2, 1, dilation=2)[0])
    np.testing.assert_allclose(ask("global_avgpool(x)", x=x), F.adaptive_avg_pool2d(t(x), 1).flatten())
    np.testing.assert_allclose(ask("global_maxpool(x)", x=x), F.adaptive_max_pool2d(t(x), 1).flatten())
    assert ask("global_avgpool([[1, 2], [3, 5]])") == 2.75


def test_activations_against_torch():
    x = RNG.normal(scale=3, size=(2, 3, 4))
    np.testing.assert_allclose(ask("relu(x)", x=x), torch.relu(t(x)))
    np.testing.assert_allclose(ask("sigmoid(x)", x=x), torch.sigmoid(t(x)))
    np.testing.assert_allclose(ask("tanh(x)", x=x), torch.tanh(t(x)))
    np.testing.assert_allclose(ask("leaky_relu(x)", x=x), F.leaky_relu(t(x)))
    np.testing.assert_allclose(ask("leaky_relu(x, slope=0.2)", x=x), F.leaky_relu(t(x), 0.2))
    np.testing.assert_allclose(ask("sqrt(abs(x))", x=x), torch.sqrt(torch.abs(t(x))))
    assert ask("sigmoid(0)") == 0.5 and ask("relu(-2)") == 0 and ask("abs(-3)") == 3


def test_softmax_and_jacobian_against_torch():
    v = RNG.normal(size=5)
    m = RNG.normal(size=(3, 4))
    c = RNG.normal(size=(3, 2, 2))
    np.testing.assert_allclose(ask("softmax(v)", v=v), torch.softmax(t(v), 0))
    np.testing.assert_allclose(ask("softmax(m)", m=m), torch.softmax(t(m), 1))
    np.testing.assert_allclose(ask("softmax(c)", c=c), torch.softmax(t(c), 0))
    jac = torch.autograd.functional.jacobian(lambda z: torch.softmax(z, 0), t(v))
    np.testing.assert_allclose(ask("softmax_jacobian(v)", v=v), jac, atol=1e-12)
    with pytest.raises(UsageError, match="x must be 1-D"):
        ask("softmax_jacobian(m)", m=m)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "symmetric", "replicate", "circular"])
def test_pad_against_numpy_and_torch(mode):
    x = RNG.integers(0, 9, size=(2, 3, 4)).astype(float)
    got = ask(f"pad(x, [1, 2], mode='{mode}')", x=x)
    npmode = {"zeros": "constant", "reflect": "reflect", "symmetric": "symmetric", "replicate": "edge",
              "circular": "wrap"}[mode]
    np.testing.assert_array_equal(got, np.pad(x, ((0, 0), (1, 1), (2, 2)), mode=npmode))
    if mode != "symmetric":
        tmode = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}[mode]
        np.testing.assert_array_equal(got, F.pad(t(x)[None], (2, 2, 1, 1), mode=tmode)[0])
    with pytest.raises(UsageError, match="needs a number"):
        ask("pad(x, 'same')", x=x)


def test_row_column_channel_count_from_one_and_flip():
    m = np.arange(12.0).reshape(3, 4)
    c = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(ask("row(m, 2)", m=m), m[1])
    np.testing.assert_array_equal(ask("column(m, 4)", m=m), m[:, 3])
    np.testing.assert_array_equal(ask("channel(c, 1)", c=c), c[0])
    np.testing.assert_array_equal(ask("flip(m)", m=m), torch.flip(t(m), (0, 1)))
    for text in ("row(m, 0)", "row(m, 4)", "column(m, 5)"):
        with pytest.raises(UsageError, match="counted from 1"):
            ask(text, m=m)


def test_rank_and_separable_against_torch():
    for _ in range(10):
        a = RNG.integers(-3, 4, size=(3, 1)) @ RNG.integers(-3, 4, size=(1, 4))
        b = RNG.integers(-3, 4, size=(3, 4))
        for k in (a, b):
            k = k.astype(float)
            r = ask("rank(k)", k=k)
            assert r == int(torch.linalg.matrix_rank(t(k)))
            sep = ask("separable(k)", k=k)
            assert set(sep) == {"separable", "column", "row"} and sep["separable"] == (r <= 1)
            if sep["separable"]:
                np.testing.assert_allclose(np.outer(np.array(sep["column"], float), np.array(sep["row"], float)), k)
            else:
                assert sep["column"] is None and sep["row"] is None


def test_named_kernels_and_describe():
    np.testing.assert_array_equal(ask("kernel('sobel_x')"), [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    d = ask("describe_kernel(kernel('sobel_x'))")
    assert d["best_probe"] == "vertical_edge" and d["rank"] == 1
    with pytest.raises(UsageError, match="unknown kernel"):
        ask("kernel('nope')")


@pytest.mark.parametrize("n, k, s, p, d", [(227, 11, 4, 0, 1), (224, 7, 2, 3, 1), (32, 3, 1, 1, 2), (7, 3, 2, 0, 1),
                                           (28, 5, 1, 0, 1), (10, 2, 3, 1, 2)])
def test_size_functions_against_torch_shapes(n, k, s, p, d):
    out = ask(f"conv_output_size({n}, {k}, stride={s}, padding={p}, dilation={d})")
    conv = torch.nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d)
    assert out == conv(torch.zeros(1, 1, n, n)).shape[-1]
    assert out == ops.conv_output_size(n, k, s, p, d)
    if 2 * p <= k:
        for ceil in (False, True):
            c = "true" if ceil else "false"
            got = ask(f"pool_output_size({n}, {k}, stride={s}, padding={p}, ceil_mode={c})")
            assert got == F.max_pool2d(torch.zeros(1, 1, n, n), k, s, p, ceil_mode=ceil).shape[-1]


def test_inverse_size_functions_round_trip():
    for n, k, s in [(32, 5, 1), (224, 7, 2), (28, 3, 1), (64, 3, 2)]:
        n_out = -(-n // s)
        p = ask(f"solve_padding({n}, {n_out}, {k}, stride={s})")
        assert ops.conv_output_size(n, k, s, p) == n_out
    assert ask("solve_kernel(28, 24)") == 5
    assert ops.conv_output_size(28, ask("solve_kernel(28, 24)")) == 24
    with pytest.raises(UsageError, match="no padding gives"):
        ask("solve_padding(10, 3, 3)")


def test_arch_against_torch_parameter_counts():
    spec = "conv 5x5 6; relu; maxpool 2x2; conv 5x5 16; relu; maxpool 2x2; fc 120; fc 84; fc 10"
    table = ask("arch(s, [1, 32, 32])", s=spec)
    lenet = torch.nn.Sequential(torch.nn.Conv2d(1, 6, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                torch.nn.Flatten(), torch.nn.Linear(400, 120), torch.nn.Linear(120, 84),
                                torch.nn.Linear(84, 10))
    assert table["total_params"] == sum(p.numel() for p in lenet.parameters()) == 61706
    assert table["layers"][0]["output_shape"] == [6, 28, 28]
    with pytest.raises(UsageError, match="not a file name"):
        ask("arch(s, [1, 8, 8])", s=__file__)
