"""Probe patterns and a kernel's response to them: convolution read as template matching.

Each probe is a bright pattern on a dark background of the kernel's own size (kh, kw),
normalised to unit energy (Σp² = 1). A kernel's response to a probe is the inner product
Σ k·p — the cross-correlation output at the centre of an image that contains the
pattern there (no flip; docs/kernels.md). The response is largest for the probe that looks
most like the kernel (Cauchy–Schwarz), so the best probe answers "what does this
kernel detect?". ``match`` = response / ‖k‖ is the cosine between kernel and probe
(1 = the kernel *is* that pattern).

Geometry (rows point down, columns right; pixel centres at y = i − (kh−1)/2,
x = j − (kw−1)/2, so (0, 0) is the kernel centre, between pixels for an even side):

- ``horizontal_line``/``vertical_line``: the pixels with |y| ≤ ½ / |x| ≤ ½ (the middle
  row/column; both middle rows/columns for an even side — a line between them).
- ``diagonal_line`` (top-left → bottom-right): |x − y| ≤ ½; ``antidiagonal_line``
  (bottom-left → top-right): |x + y| ≤ ½. On non-square kernels these are 45° lines.
- ``horizontal_edge`` (dark above, bright below), ``vertical_edge`` (dark left, bright
  right), ``corner`` (bright quadrant to the bottom-right of the centre): the boundary
  runs through the kernel centre and each pixel's value is the fraction of its area that
  is bright — so for an odd side the centre row/column is ½ (and the centre pixel of
  ``corner`` ¼). A symmetric zero-sum second-derivative kernel (Laplacian) therefore
  answers exactly 0 to a straight edge or a corner, as the continuous −∇² does at the
  boundary.
- ``dot``: the centre pixel (the centre 2×2, 2×1 or 1×2 block for even sides).
- ``ring``: the one-pixel border of the kernel (a bright frame around a dark centre);
  when a side is ≤ 2 there is no interior and the ring is all pixels (= ``flat``).
- ``flat``: every pixel 1/√(kh·kw).

>>> r = probe_responses([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
>>> best_probe(r)
'vertical_edge'
>>> round(r["vertical_edge"], 4)
2.0656
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cnnlab.kernels.separable import as_kernel2d

__all__ = ["PROBE_NAMES", "PROBE_LABELS", "probe_patterns", "probe_responses", "probe_matches",
           "best_probe"]

PROBE_NAMES = (
    "horizontal_line", "vertical_line", "diagonal_line", "antidiagonal_line",
    "horizontal_edge", "vertical_edge", "dot", "ring", "corner", "flat",
)

PROBE_LABELS = {
    "horizontal_line": "horizontal line",
    "vertical_line": "vertical line",
    "diagonal_line": "diagonal line (top-left to bottom-right)",
    "antidiagonal_line": "anti-diagonal line (bottom-left to top-right)",
    "horizontal_edge": "horizontal edge (dark above, bright below)",
    "vertical_edge": "vertical edge (dark left, bright right)",
    "dot": "dot",
    "ring": "ring (bright frame, dark centre)",
    "corner": "corner (bright bottom-right quadrant)",
    "flat": "flat region",
}

_TIE = 1e-9  # responses within this relative distance of the best count as tied


def _coverage(t: np.ndarray) -> np.ndarray:
    """Fraction of a unit pixel centred at t that lies on the side t > 0."""
    return np.clip(t + 0.5, 0.0, 1.0)


def probe_patterns(kh: int, kw: int) -> dict[str, np.ndarray]:
    """The probe patterns for a (kh, kw) kernel, each (kh, kw) with unit energy.

    >>> p = probe_patterns(3, 3)
    >>> (p["horizontal_line"] * 3 ** 0.5).round(6).tolist()
    [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]
    """
    y = (np.arange(kh, dtype=np.float64) - (kh - 1) / 2.0)[:, None]  # (kh, 1)
    x = (np.arange(kw, dtype=np.float64) - (kw - 1) / 2.0)[None, :]  # (1, kw)
    ones = np.ones((kh, kw))
    raw = {
        "horizontal_line": (np.abs(y) <= 0.5) * ones,
        "vertical_line": (np.abs(x) <= 0.5) * ones,
        "diagonal_line": (np.abs(x - y) <= 0.5) * 1.0,
        "antidiagonal_line": (np.abs(x + y) <= 0.5) * 1.0,
        "horizontal_edge": _coverage(y) * ones,
        "vertical_edge": _coverage(x) * ones,
        "dot": ((np.abs(y) <= 0.5) & (np.abs(x) <= 0.5)) * 1.0,
        "ring": np.ones((kh, kw)),
        "corner": _coverage(y) * _coverage(x),
        "flat": ones,
    }
    if kh > 2 and kw > 2:
        raw["ring"][1:-1, 1:-1] = 0.0
    out = {}
    for name in PROBE_NAMES:
        p = np.asarray(raw[name], dtype=np.float64)
        energy = float(np.sum(p * p))
        out[name] = p / math.sqrt(energy) if energy > 0 else p
    return out


def _float_kernel(k: Any) -> np.ndarray:
    arr = as_kernel2d(k)
    if arr.dtype == object:
        arr = np.array([[float(v) for v in row] for row in arr.tolist()], dtype=np.float64)
    return arr


def probe_responses(k: Any) -> dict[str, float]:
    """Inner product of the kernel with each unit-energy probe.

    k: (kh, kw) nested list or array (floats or Fractions). Returns ``{probe: response}``
    in :data:`PROBE_NAMES` order.
    """
    arr = _float_kernel(k)
    kh, kw = arr.shape
    scale = max(1.0, float(np.abs(arr).max()))
    out = {}
    for name, p in probe_patterns(kh, kw).items():
        v = float(np.sum(arr * p))
        out[name] = 0.0 if abs(v) < 1e-12 * scale else v  # a zero response prints as 0, not -1e-17
    return out


def probe_matches(k: Any) -> dict[str, float]:
    """Cosine between kernel and each probe (response / ‖k‖), in [−1, 1]; 0 for a zero kernel."""
    arr = _float_kernel(k)
    norm = float(np.linalg.norm(arr))
    responses = probe_responses(arr)
    return {name: (r / norm if norm > 0 else 0.0) for name, r in responses.items()}


def best_probe(responses: dict[str, float]) -> str | None:
    """The probe with the largest positive response (first in :data:`PROBE_NAMES` on a tie);
    ``None`` when no response is positive."""
    top = max(responses.values(), default=0.0)
    if not top > 0:
        return None
    return next(n for n, v in responses.items() if v >= top * (1 - _TIE))
