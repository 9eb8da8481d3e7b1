"""Named kernels, rank and separable factors (against numpy.linalg and hand-worked factors)."""

from fractions import Fraction

import numpy as np
import pytest

from cnnlab.errors import UsageError
from cnnlab.kernels.named import get_kernel, kernel_names, list_kernels, resolve_kernel
from cnnlab.kernels.separable import rank, separable

NAMES = [name for name, _ in list_kernels() if ":" not in name] + ["box:5", "gaussian:5:1.0", "identity:5"]


@pytest.mark.parametrize("name", NAMES)
def test_factors_multiply_back_and_rank_matches_numpy(name):
    k = get_kernel(name)
    d = separable(k)
    assert d["rank"] == np.linalg.matrix_rank(k)
    assert d["separable"] == (d["rank"] <= 1)
    if d["separable"]:
        np.testing.assert_allclose(np.outer(d["column"], d["row"]), k, atol=1e-12)
        first = next(v for v in d["column"] if v != 0)
        assert first > 0
    else:
        assert d["column"] is None and d["row"] is None
        approx = np.outer(d["rank1_column"], d["rank1_row"])
        err = np.linalg.norm(k - approx) / np.linalg.norm(k)
        assert err == pytest.approx(d["rank1_error"], abs=1e-12)
        assert 0 < d["rank1_error"] < 1


@pytest.mark.parametrize("name,column,row", [
    ("sobel_x", [1, 2, 1], [-1, 0, 1]),
    ("sobel_y", [1, 0, -1], [-1, -2, -1]),
    ("prewitt_x", [1, 1, 1], [-1, 0, 1]),
    ("scharr_x", [3, 10, 3], [-1, 0, 1]),
    ("line_0", [1, -2, 1], [-1, -1, -1]),
    ("line_90", [1, 1, 1], [-1, 2, -1]),
])
def test_integer_kernels_get_integer_factors(name, column, row):
    d = separable(get_kernel(name))
    assert d["exact"] and d["separable"]
    assert d["column"] == column and d["row"] == row
    assert all(isinstance(v, int) for v in d["column"] + d["row"])


@pytest.mark.parametrize("name,expected", [
    ("laplacian4", 2), ("laplacian8", 2), ("sharpen", 2), ("emboss", 3), ("identity", 1),
    ("line_45", 2), ("line_135", 2),
])
def test_rank_of_textbook_kernels(name, expected):
    assert rank(get_kernel(name)) == expected


def test_exact_fraction_kernel():
    k = get_kernel("box:3", exact=True)
    assert k[1, 1] == Fraction(1, 9)
    d = separable(k)
    assert d["column_exact"] == ["1", "1", "1"] and d["row_exact"] == ["1/9"] * 3
    # a rank-2 rational kernel that floats would round: exact elimination sees rank 2
    k2 = np.array([[Fraction(1, 3), Fraction(1, 7)], [Fraction(2, 3), Fraction(2, 7) + Fraction(1, 10**12)]],
                  dtype=object)
    assert rank(k2) == 2


def test_numerical_rank_of_float_kernels():
    g = get_kernel("gaussian:7:1.5")
    d = separable(g)
    assert d["separable"] and not d["exact"]
    t = np.arange(7) - 3.0
    g1 = np.exp(-t**2 / (2 * 1.5**2)); g1 /= g1.sum()
    np.testing.assert_allclose(d["column"], g1, atol=1e-14)
    rounded = np.round(g, 4)  # a kernel copied from a sheet with 4 decimals
    d = separable(rounded)
    assert not d["separable"] and d["sigma_ratio"] < 1e-3


def test_zero_and_one_dimensional_kernels():
    assert separable([[0, 0], [0, 0]])["rank"] == 0
    d = separable([[1, 2, 3]])
    assert d["column"] == [1] and d["row"] == [1, 2, 3]


@pytest.mark.parametrize("bad", [[], [[]], [1, 2, 3], [[1, 2], [3]], [["a", 1]], [[np.inf, 1]]])
def test_bad_kernels(bad):
    with pytest.raises(UsageError):
        separable(bad)


def test_named_kernel_errors_and_resolve():
    with pytest.raises(UsageError, match="known kernels: identity"):
        get_kernel("sobelx")
    for bad in ["gaussian:4:-1", "gaussian:0:1", "gaussian:5:abc", "box:0", "box:2.5",
                "identity:4", "sobel_x:3", "box:5000", "gaussian:5:1:2"]:
        with pytest.raises(UsageError):
            get_kernel(bad)
    with pytest.raises(UsageError):
        get_kernel("gaussian:5:1", exact=True)
    assert resolve_kernel("[[1, 2], [3, 4]]") is None
    assert resolve_kernel("1 2; 3 4") is None
    assert resolve_kernel("kernel.npy") is None
    assert resolve_kernel("SOBEL_X").tolist() == get_kernel("sobel_x").tolist()
    with pytest.raises(UsageError):
        resolve_kernel("nosuchkernel")
    assert set(kernel_names()) >= {"box", "gaussian", "identity", "sobel_x", "emboss"}
    assert get_kernel("gaussian:5").sum() == pytest.approx(1.0)
    assert get_kernel("box:4").shape == (4, 4)
