"""Gaussian and Laplacian pyramids against scikit-image, by hand, in the CLI and in problems."""

from __future__ import annotations

import json

import numpy as np
import pytest
from skimage.transform import pyramid_gaussian, pyramid_laplacian

from cnnlab.cli.main import main
from cnnlab.errors import UsageError
from cnnlab.kernels.pyramid import gaussian_pyramid, gaussian_taps, laplacian_pyramid, pyramid


@pytest.mark.parametrize("shape", [(16, 16), (13, 9), (5, 3), (2, 2), (1, 7), (40, 33)])
@pytest.mark.parametrize("levels", [1, 3, 6])
def test_levels_equal_scikit_image(shape, levels):
    x = np.random.default_rng(sum(shape)).random(shape)
    ours, theirs = gaussian_pyramid(x, levels), list(pyramid_gaussian(x, max_layer=levels - 1))
    assert [a.shape for a in ours] == [b.shape for b in theirs]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, atol=1e-12)
    ours, theirs = laplacian_pyramid(x, levels), list(pyramid_laplacian(x, max_layer=levels - 1))
    assert [a.shape for a in ours] == [b.shape for b in theirs]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_by_hand():
    # sigma = 2·2/6 = 2/3, radius int(4·2/3 + 0.5) = 3: seven taps exp(-x²/(2σ²)), normalised
    taps = gaussian_taps(2 / 3)
    x = np.arange(-3, 4)
    np.testing.assert_allclose(taps, np.exp(-x**2 * 9 / 8) / np.exp(-x**2 * 9 / 8).sum())
    # a half-sample mirrored edge and a symmetric kernel keep the sum, and halving an even
    # side averages pairs: every level of 1..16 has the mean 8.5
    X = np.arange(1.0, 17.0).reshape(4, 4)
    levels = gaussian_pyramid(X, 3)
    assert [level.shape for level in levels] == [(4, 4), (2, 2), (1, 1)]
    assert [round(float(level.mean()), 12) for level in levels] == [8.5, 8.5, 8.5]
    # a constant image has no detail at any scale
    assert all(np.abs(band).max() < 1e-12 for band in laplacian_pyramid(np.full((8, 8), 0.3), 4))


def test_limits_are_refused():
    with pytest.raises(UsageError, match="levels must be 1 to 16"):
        gaussian_pyramid(np.zeros((4, 4)), 17)
    with pytest.raises(UsageError, match="one grey image"):
        gaussian_pyramid(np.zeros((2, 4, 4)), 2)
    with pytest.raises(UsageError, match="levels 0 to 1"):
        pyramid(np.zeros((2, 2)), 2, level=2)


def test_kernel_pyramid_command(tmp_path, capsys):
    data = tmp_path / "x.npy"
    X = np.random.default_rng(0).random((20, 12))
    np.save(data, X)
    out = tmp_path / "p.png"
    assert main(["kernel", "pyramid", str(data), "--levels", "3", "--out", str(out), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [row["shape"] for row in result["levels"]] == [[20, 12], [10, 6], [5, 3]]
    expected = list(pyramid_gaussian(X, max_layer=2))
    assert [round(r["gaussian_mean"], 9) for r in result["levels"]] == [round(float(e.mean()), 9) for e in expected]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["kernel", "pyramid", str(data), "--levels", "2", "--no-picture"]) == 0
    assert "10x6" in capsys.readouterr().out


def test_pyramid_in_a_problem_file(tmp_path, capsys):
    sheet = tmp_path / "q5.yaml"
    sheet.write_text(
        'title: "Q5"\ngiven:\n  X: [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]\n'
        "parts:\n  - id: a\n    ask: pyramid(X, 3, level=2)\n    answer: [[8.5]]\n"
        "  - id: b\n    ask: pyramid(X, 3)\n")
    assert main(["check", str(sheet)]) == 0
    assert main(["solve", str(sheet), "--format", "json"]) == 0
    out = capsys.readouterr().out
    solved = json.loads(out[out.index("{"):])
    text = json.dumps(solved)
    expected = list(pyramid_gaussian(np.arange(1.0, 17.0).reshape(4, 4), max_layer=2))
    assert "sizes" in text and f"{expected[1][0][0]:.6f}"[:6] in text
