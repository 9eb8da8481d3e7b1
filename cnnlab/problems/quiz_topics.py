"""More quiz topics: the commonest sheet questions beyond one 2-D convolution.

``rgb`` (a multi-channel input with an all-ones or a random filter, valid and zero
padding), ``dilation`` (dilated-convolution values, not only sizes), ``gradient`` (a
Sobel or Prewitt pair, the gradient magnitude, zero against reflect padding), ``detect``
(which probe a kernel responds to most; the answer is the probe's name) and ``chain``
(convolution, activation and pooling in one problem). Each builder takes a seeded
:class:`random.Random` and returns one problem of a problem file, as
:mod:`cnnlab.problems.quiz` does.
"""

from __future__ import annotations

import random
from typing import Callable

__all__ = ["MORE_TOPICS"]


def _matrix(rng: random.Random, h: int, w: int, lo: int, hi: int) -> list[list[int]]:
    return [[rng.randint(lo, hi) for _ in range(w)] for _ in range(h)]


def _rgb(rng: random.Random) -> dict:
    n = rng.choice([3, 4])
    X = [_matrix(rng, n, n, 0, 3) for _ in range(3)]
    ones = rng.random() < 0.5
    W = [[[1] * 2 for _ in range(2)] for _ in range(3)] if ones else [_matrix(rng, 2, 2, -1, 1) for _ in range(3)]
    what = "an all-ones 3×2×2 filter" if ones else "the 3×2×2 filter W (one 2×2 slice per input channel)"
    bias = rng.choice([-2, -1, 1, 2])
    return {
        "title": "Convolution over RGB channels",
        "given": {"X": X, "W": W},
        "parts": [
            {"id": "a", "ask": "Y = conv2d(X, W)",
             "text": f"X is a 3×{n}×{n} RGB input. Convolve it with {what} (cross-correlation, no padding): "
                     "each output value sums the products over all three channels."},
            {"id": "b", "ask": f"conv2d(X, W, padding=1, bias={bias})",
             "text": f"The same with zero padding 1 on every side and a bias of {bias}."},
            {"id": "c", "ask": "channel(X, 1) + channel(X, 2) + channel(X, 3)",
             "text": "Add the three channels of X cell by cell (what an all-ones 1×1 filter computes)."},
        ],
    }


def _dilation(rng: random.Random) -> dict:
    n = rng.choice([5, 6])
    d = 2
    K = _matrix(rng, 2, 2, -1, 2)
    while not any(v for row in K for v in row):
        K = _matrix(rng, 2, 2, -1, 2)
    return {
        "title": "Dilated convolution",
        "given": {"X": _matrix(rng, n, n, 0, 4), "K": K},
        "parts": [
            {"id": "a", "ask": f"conv2d(X, K, dilation={d})",
             "text": f"Convolve X with K at dilation {d}: the kernel's taps are {d} apart, so each window "
                     f"spans {d + 1}×{d + 1} cells of X (cross-correlation, no padding)."},
            {"id": "b", "ask": f"conv_output_size({n}, 2, dilation={d})",
             "text": f"Check the output side with n_out = ⌊(n − d·(k − 1) − 1)/s⌋ + 1 for n = {n}."},
            {"id": "c", "ask": f"conv2d(X, K, dilation={d}, padding=1)",
             "text": "The same with zero padding 1."},
        ],
    }


def _gradient(rng: random.Random) -> dict:
    family = rng.choice(["sobel", "prewitt"])
    X = _matrix(rng, 4, 4, 0, 3)
    return {
        "title": f"Image gradient ({family.capitalize()})",
        "round": 2,
        "given": {"X": X},
        "parts": [
            {"id": "a", "ask": f'Gx = conv2d(X, kernel("{family}_x"), padding=1)',
             "text": f"Filter X with the {family.capitalize()} kernel for d/dx, zero padding 1."},
            {"id": "b", "ask": f'Gy = conv2d(X, kernel("{family}_y"), padding=1)',
             "text": f"Filter X with the {family.capitalize()} kernel for d/dy, zero padding 1."},
            {"id": "c", "ask": "sqrt(Gx**2 + Gy**2)", "text": "Give the gradient magnitude √(Gx² + Gy²)."},
            {"id": "d", "ask": f'conv2d(X, kernel("{family}_x"), padding=1, padding_mode="reflect")',
             "text": "Filter X for d/dx again with reflect padding instead of zeros: which border "
                     "values change?"},
        ],
    }


_DETECTORS = ("sobel_x", "sobel_y", "prewitt_x", "prewitt_y", "laplacian4", "line_0", "line_90", "line_45",
              "line_135")


def _detect(rng: random.Random) -> dict:
    from cnnlab.kernels.named import get_kernel

    name = rng.choice(_DETECTORS)
    scale = rng.choice([1, 2])
    K = [[int(v) * scale for v in row] for row in get_kernel(name).tolist()]
    return {
        "title": "What does this kernel detect?",
        "given": {"K": K},
        "parts": [
            {"id": "a", "ask": 'describe_kernel(K)["best_probe"]',
             "text": "Which probe pattern does K respond to most: a horizontal or vertical edge, a "
                     "horizontal, vertical or diagonal line, a dot, a ring, a corner or a flat region?"},
            {"id": "b", "ask": "sum(K)",
             "text": "What is the sum of K's weights, and what does it say about flat regions?"},
        ],
    }


def _chain(rng: random.Random) -> dict:
    act = rng.choice(["relu", "leaky_relu"])
    call = "relu(C)" if act == "relu" else "leaky_relu(C, slope=0.1)"
    bias = rng.choice([-2, -1, 1])
    K = _matrix(rng, 2, 2, -1, 1)
    while not any(v for row in K for v in row):
        K = _matrix(rng, 2, 2, -1, 1)
    return {
        "title": "Convolution, activation, pooling",
        "round": 2,
        "given": {"X": _matrix(rng, 5, 5, 0, 3), "K": K},
        "parts": [
            {"id": "a", "ask": f"C = conv2d(X, K, bias={bias})",
             "text": f"Convolve X with K (cross-correlation, no padding) and add the bias {bias}."},
            {"id": "b", "ask": f"A = {call}",
             "text": "Apply " + ("ReLU." if act == "relu" else "leaky ReLU with slope 0.1.")},
            {"id": "c", "ask": "maxpool2d(A, 2)", "text": "Max-pool the activations with 2×2 windows, stride 2."},
        ],
    }


MORE_TOPICS: dict[str, Callable[[random.Random], dict]] = {
    "rgb": _rgb, "dilation": _dilation, "gradient": _gradient, "detect": _detect, "chain": _chain,
}
