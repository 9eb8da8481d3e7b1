"""Probe responses and describe_kernel: textbook answers, hand-worked numbers, invariances."""

import math

import numpy as np
import pytest

from cnnlab.kernels.describe import describe_kernel, kernel_sum, symmetries
from cnnlab.kernels.named import get_kernel
from cnnlab.kernels.probes import PROBE_NAMES, best_probe, probe_patterns, probe_responses

CONTRACT_KEYS = {"shape", "sum", "rank", "separable", "column", "row", "responses", "best_probe"}


@pytest.mark.parametrize("name,expected", [
    ("sobel_x", "vertical_edge"), ("prewitt_x", "vertical_edge"), ("scharr_x", "vertical_edge"),
    ("sobel_y", "horizontal_edge"), ("prewitt_y", "horizontal_edge"), ("scharr_y", "horizontal_edge"),
    ("line_0", "horizontal_line"), ("line_90", "vertical_line"),
    ("line_45", "antidiagonal_line"), ("line_135", "diagonal_line"),
    ("laplacian4", "dot"), ("laplacian8", "dot"), ("identity", "dot"), ("sharpen", "dot"),
    ("box:3", "flat"), ("box:5", "flat"), ("gaussian:5:1.0", "flat"), ("emboss", "corner"),
])
def test_textbook_probe_answers(name, expected):
    assert best_probe(probe_responses(get_kernel(name))) == expected


def test_hand_worked_responses():
    r = probe_responses(get_kernel("sobel_x"))
    # vertical edge: right column bright (1+2+1), centre column half bright (weights 0);
    # energy 3*1 + 3*0.25 = 3.75
    assert r["vertical_edge"] == pytest.approx(4 / math.sqrt(3.75))
    assert r["horizontal_edge"] == 0 and r["flat"] == 0 and r["dot"] == 0
    assert probe_responses(get_kernel("line_0"))["horizontal_line"] == pytest.approx(6 / math.sqrt(3))
    lap = probe_responses(get_kernel("laplacian4"))
    assert lap["dot"] == 4 and lap["ring"] == pytest.approx(-4 / math.sqrt(8))
    # a symmetric second derivative gives exactly 0 on a straight edge through the centre
    assert lap["horizontal_edge"] == 0 and lap["vertical_edge"] == 0 and lap["flat"] == 0


@pytest.mark.parametrize("shape", [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (3, 5), (2, 7)])
def test_probes_have_unit_energy_and_response_is_correlation_at_centre(shape):
    kh, kw = shape
    patterns = probe_patterns(kh, kw)
    assert tuple(patterns) == PROBE_NAMES
    for p in patterns.values():
        assert p.shape == shape and p.min() >= 0
        assert np.sum(p * p) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    k = rng.normal(size=shape)
    r = probe_responses(k)
    if kh % 2 and kw % 2:  # embed the probe in a dark image; the centre output is the response
        import torch
        import torch.nn.functional as F
        for name, p in patterns.items():
            img = np.zeros((kh + 4, kw + 4)); img[2:2 + kh, 2:2 + kw] = p
            out = F.conv2d(torch.tensor(img)[None, None], torch.tensor(k)[None, None])[0, 0].numpy()
            assert out[2, 2] == pytest.approx(r[name], abs=1e-10)  # responses are rounded at 1e-12 of max|k|


def test_probe_responses_transform_with_the_kernel():
    # mirroring the kernel left-right turns its vertical-edge answer into the negative one
    k = np.random.default_rng(1).normal(size=(5, 5))
    r, rt = probe_responses(k), probe_responses(k.T)
    assert rt["horizontal_line"] == pytest.approx(r["vertical_line"])
    assert rt["horizontal_edge"] == pytest.approx(r["vertical_edge"])
    rm = probe_responses(k[:, ::-1])
    assert rm["diagonal_line"] == pytest.approx(r["antidiagonal_line"])


def test_describe_contract_keys_and_values():
    d = describe_kernel(get_kernel("sobel_x"))
    assert CONTRACT_KEYS <= set(d) and set(d["responses"]) == set(PROBE_NAMES)
    assert d["shape"] == [3, 3] and d["sum"] == 0 and d["rank"] == 1 and d["separable"]
    assert (d["column"], d["row"]) == ([1, 2, 1], [-1, 0, 1])
    assert d["best_probe"] == "vertical_edge" and d["sum_kind"] == "zero-sum"
    assert d["family"] == "first derivative"
    assert d["symmetry"]["left_right"] == "antisymmetric" and d["symmetry"]["top_bottom"] == "symmetric"
    lap = describe_kernel(get_kernel("laplacian8"))
    assert not lap["separable"] and lap["rank"] == 2 and lap["column"] is None
    assert lap["best_probe"] == "dot" and lap["family"] == "second derivative"
    assert all(v == "symmetric" for v in lap["symmetry"].values())
    assert describe_kernel(get_kernel("gaussian:5:1.0"))["sum_kind"] == "brightness-preserving"
    assert describe_kernel(get_kernel("sharpen"))["family"] == "sharpening"
    assert describe_kernel(get_kernel("emboss"))["family"] == "relief (emboss)"
    assert describe_kernel([[-1, -1], [-1, -1]])["best_probe"] is None
    ex = describe_kernel(get_kernel("box:3", exact=True))
    assert ex["sum"] == 1 and ex["row_exact"] == ["1/9"] * 3
    import json
    json.dumps(ex), json.dumps(d)


def test_sum_and_symmetry_helpers():
    assert kernel_sum(get_kernel("box:4")) == 1.0
    assert kernel_sum([[1, 2], [3, 4]]) == 10
    s = symmetries([[1, 2], [3, 4]])
    assert s == {"left_right": "none", "top_bottom": "none", "rotation_180": "none",
                 "transpose": "none", "rotation_90": "none"}
    assert "transpose" not in symmetries([[1, 2, 3]])


def test_zero_and_all_negative_kernels_are_not_called_smoothing():
    zero = describe_kernel(np.zeros((2, 2)))
    assert zero["family"] == "zero" and "zero kernel" in zero["summary"]
    negative = describe_kernel(-np.ones((3, 3)))
    assert negative["family"] == "inverted smoothing"
    assert describe_kernel(np.ones((3, 3)) / 9)["family"] == "smoothing"
