"""Shift equivariance (exact away from borders), max-pool shift absorption, noise averaging."""

import numpy as np
import pytest

from cnnlab.kernels.invariance import (equivariance_check, noise_averaging, pool_dot_absorption,
                                       pool_feature_change, shift_image)
from cnnlab.kernels.named import get_kernel


@pytest.fixture(scope="module")
def camera():
    from skimage import data
    return data.camera()[160:256, 200:296].astype(np.float64) / 255  # (96, 96) real photo crop


def test_shift_image_against_numpy_roll():
    x = np.arange(30.0).reshape(5, 6)
    s = shift_image(x, 2, -1)
    np.testing.assert_array_equal(s[2:, :-1], x[:-2, 1:])
    assert not s[:2].any() and not s[:, -1].any()
    np.testing.assert_array_equal(shift_image(x, 2, -1, circular=True), np.roll(x, (2, -1), (0, 1)))


@pytest.mark.parametrize("name", ["sobel_x", "laplacian8", "gaussian:5:1.0", "emboss", "box:4"])
@pytest.mark.parametrize("dy,dx", [(3, 5), (-2, 4), (0, -7)])
def test_convolution_is_exactly_equivariant_away_from_borders(camera, name, dy, dx):
    k = get_kernel(name)
    r = equivariance_check(camera, k, dy, dx)
    assert r["interior_max_diff"] == 0.0 and r["equivariant_inside"]
    assert r["interior_pixels"] > 0.7 * camera.size
    assert r["border_differing"] > 0 and r["border_max_diff"] > 0.01  # it breaks at the borders
    # independent check of the interior with torch: conv of the shifted image, read off inside
    import torch
    import torch.nn.functional as F
    kh, kw = k.shape
    ref = F.conv2d(torch.tensor(camera)[None, None], torch.tensor(k)[None, None])[0, 0].numpy()  # valid
    a = r["_arrays"]["conv_of_shift"]
    top, left = (kh - 1) // 2, (kw - 1) // 2
    i, j = 40, 45  # an interior pixel: output(i, j) of the shifted image = valid conv at (i-dy-top, j-dx-left)
    assert a[i, j] == pytest.approx(ref[i - dy - top, j - dx - left], abs=1e-12)


def test_circular_padding_makes_it_exact_everywhere(camera):
    r = equivariance_check(camera, get_kernel("laplacian4"), 4, -3, circular=True)
    assert r["border_pixels"] == 0 and r["interior_max_diff"] == 0.0


def test_stride_breaks_equivariance_for_shifts_it_does_not_divide(camera):
    k = get_kernel("sobel_x")
    even = equivariance_check(camera, k, 4, 6, stride=2)
    assert even["stride_divides_shift"] and even["interior_max_diff"] == 0.0
    odd = equivariance_check(camera, k, 3, 5, stride=2)
    assert not odd["stride_divides_shift"] and not odd["equivariant_inside"]
    assert odd["relative_diff"] > 0.1


def test_max_pool_absorbs_shifts_of_a_dot_as_the_formula_says():
    rows = pool_dot_absorption(pool_sizes=(2, 3, 4), max_shift=5)
    for r in rows:
        assert r["measured"] == pytest.approx(max(0, r["pool"] - r["shift"]) / r["pool"])
        assert r["measured"] == pytest.approx(r["formula"])


def test_pooling_reduces_the_change_of_a_real_feature_map(camera):
    rows = pool_feature_change(camera, get_kernel("sobel_x"), pool_sizes=(2, 4), shifts=(1,))
    for r in rows:
        assert r["pooled_change"] < r["map_change"]
    assert rows[1]["pooled_change"] < rows[0]["pooled_change"]  # 4x4 absorbs more than 2x2


@pytest.mark.parametrize("sigma", [0.05, 0.2])
def test_noise_variance_of_the_average_is_sigma2_over_n(camera, sigma):
    rows = noise_averaging(camera[:64, :64], sigma=sigma, ns=(1, 3, 10, 40), trials=4, seed=1)
    for r in rows:
        expected = sigma**2 / r["n"]
        assert r["formula_variance"] == pytest.approx(expected)
        # 16384 samples: the variance estimate has a relative standard error of ~1.1%
        assert abs(r["measured_variance"] - expected) < 4 * r["standard_error"]
        assert abs(r["z"]) < 4
        assert abs(r["mean_error"]) < 4 * np.sqrt(expected / r["samples"])  # unbiased
