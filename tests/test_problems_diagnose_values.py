"""Slips named from the values, however the key is written (issue 24 item 4; docs/problems.md)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from cnnlab.problems import load_problem_text, solve_set

RNG = np.random.default_rng(2404)


def _check(given: dict, parts: list, exact: bool = False):
    doc = {"given": given, "parts": parts}
    if exact:
        doc["exact"] = True
    return solve_set(load_problem_text(yaml.safe_dump(doc))).parts


def _window_sums(x: np.ndarray, k: int, stride: int) -> np.ndarray:
    """torch's reference: the k×k window sums with the given stride (avg_pool2d × k²)."""
    t = torch.tensor(x, dtype=torch.float64)[None, None]
    return (F.avg_pool2d(t, k, stride) * k * k)[0, 0].numpy()


def _phrasings(r0: int, c0: int) -> list[str]:
    """One 2×2 block average, written as a sheet might."""
    block = f"X[{r0}:{r0 + 2}, {c0}:{c0 + 2}]"
    return [f"mean({block})", f"sum({block}) / 4", f"avgpool2d({block}, 2)", f"global_avgpool({block})",
            f"(X[{r0}, {c0}] + X[{r0}, {c0 + 1}] + X[{r0 + 1}, {c0}] + X[{r0 + 1}, {c0 + 1}]) / 4",
            f"conv2d({block}, [[0.25, 0.25], [0.25, 0.25]])", f"conv2d({block}, ones) / 4",
            f"mean(avgpool2d(X, 2, stride=1)[{r0}:{r0 + 1}, {c0}:{c0 + 1}] * 4) / 4"]


@pytest.mark.parametrize("seed", range(6))
def test_sum_for_average_is_named_for_drawn_phrasings(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 10, size=(4, 4))
    r0, c0 = (int(v) for v in rng.integers(0, 3, size=2))
    total = int(x[r0:r0 + 2, c0:c0 + 2].sum())
    assert total == pytest.approx(_window_sums(x.astype(float), 2, 1)[r0, c0])
    for exact in (False, True):
        for ask in _phrasings(r0, c0):
            claim = total if "conv2d" not in ask and "avgpool2d(X[" not in ask else [[total]]
            (part,) = _check({"X": x.tolist(), "ones": [[1, 1], [1, 1]]}, [{"ask": ask, "answer": claim}], exact)
            if total == 0:
                continue
            assert part.correct is False and part.diagnosis is not None, (ask, exact)
            assert "sum instead of average" in part.diagnosis, (ask, part.diagnosis)


@pytest.mark.parametrize("ask", ["avgpool2d(X, 2)", "conv2d(X, ones, stride=2) / 4",
                                 "conv2d(X, [[0.25, 0.25], [0.25, 0.25]], stride=2)",
                                 "conv2d(X, ones / 4, stride=2)", "avgpool2d(X, 2, stride=2) * 1"])
def test_sum_for_average_of_a_whole_pooled_map(ask):
    x = RNG.integers(1, 9, size=(4, 6)).astype(float)
    claim = _window_sums(x, 2, 2)
    (part,) = _check({"X": x.tolist(), "ones": [[1, 1], [1, 1]]}, [{"ask": ask, "answer": claim.tolist()}])
    assert part.diagnosis is not None and "sum instead of average" in part.diagnosis, (ask, part.diagnosis)


def test_a_claim_twice_the_answer_is_not_called_a_sum_when_nothing_averages():
    (part,) = _check({"X": [[1, 2], [3, 4]]}, [{"ask": "X * 3", "answer": [[6, 12], [18, 24]]}])
    assert part.correct is False and (part.diagnosis is None or "average" not in part.diagnosis)


def _sobel_pair_sheet(x: np.ndarray, claim: np.ndarray, inline: bool) -> list:
    if inline:
        return [{"id": "e", "ask": "sqrt(conv2d(X, kernel('sobel_x'), padding=1, padding_mode='reflect') ** 2"
                 " + conv2d(X, kernel('sobel_y'), padding=1, padding_mode='reflect') ** 2)",
                 "answer": claim.tolist()}]
    return [{"id": "c", "ask": "gx = conv2d(X, kernel('sobel_x'), padding=1, padding_mode='reflect')"},
            {"id": "d", "ask": "gy = conv2d(X, kernel('sobel_y'), padding=1, padding_mode='reflect')"},
            {"id": "e", "ask": "sqrt(gx**2 + gy**2)", "answer": claim.tolist()}]


@pytest.mark.parametrize("inline", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_reflect_padding_slip_named_through_named_parts(inline, seed):
    x = np.random.default_rng(seed).integers(0, 6, size=(4, 4)).astype(float)
    sx = torch.tensor([[-1., 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=torch.float64)
    t = torch.tensor(x)[None, None]
    gx = F.conv2d(t, sx[None, None], padding=1)[0, 0]  # zero padding: the slip
    gy = F.conv2d(t, sx.T.contiguous()[None, None], padding=1)[0, 0]
    claim = torch.sqrt(gx ** 2 + gy ** 2).numpy().round(6)
    part = _check({"X": x.tolist()}, _sobel_pair_sheet(x, claim, inline))[-1]
    assert part.correct is False
    assert part.diagnosis is not None and "zeros where reflect" in part.diagnosis, part.diagnosis
    if not inline:
        assert "gx, gy" in part.diagnosis


def test_a_slip_in_one_named_part_only_is_named_there():
    x = np.arange(16.0).reshape(4, 4) % 5
    gx = F.conv2d(torch.tensor(x)[None, None], torch.tensor([[-1., 0, 1], [-2, 0, 2], [-1, 0, 1]],
                                                             dtype=torch.float64)[None, None], padding=1)[0, 0]
    parts = [{"ask": "gx = conv2d(X, kernel('sobel_x'), padding=1, padding_mode='reflect')"},
             {"ask": "gy = conv2d(X, kernel('sobel_y'), padding=1, padding_mode='reflect')"},
             {"ask": "gx + gy"}]
    right = _check({"X": x.tolist()}, parts)
    claim = gx.numpy() + right[1].value
    parts[-1]["answer"] = claim.tolist()
    part = _check({"X": x.tolist()}, parts)[-1]
    assert part.diagnosis is not None and "in gx (the earlier part this part uses)" in part.diagnosis
