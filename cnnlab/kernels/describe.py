"""Everything measurable about one kernel: sum, symmetries, rank/separability, probe responses.

:func:`describe_kernel` is the single source of ``cnnlab kernel describe`` and of the
problem-file function of the same name; its dict is a superset of docs/kernels.md's JSON.

>>> d = describe_kernel([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
>>> d["sum"], d["rank"], d["column"], d["row"], d["best_probe"]
(0, 1, [1, 2, 1], [-1, 0, 1], 'vertical_edge')
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from cnnlab.kernels.probes import PROBE_LABELS, best_probe, probe_matches, probe_responses
from cnnlab.kernels.separable import as_kernel2d, separable
from cnnlab.steps.numbers import format_number

__all__ = ["describe_kernel", "kernel_sum", "symmetries", "kernel_family", "strength_label",
           "DETECT_FRACTION", "SUMMARY_FRACTION"]

DETECT_FRACTION = 0.5  # probes answering at least this fraction of the best one are listed
SUMMARY_FRACTION = 0.9  # ... and at least this fraction are named in the one-line summary
_REL = 1e-9  # relative tolerance for float sums and symmetry tests


def _plain(v: Any) -> int | float:
    if isinstance(v, Fraction):
        return v.numerator if v.denominator == 1 else float(v)
    f = float(v)
    return int(f) if f == int(f) and abs(f) < 2**53 else f


def kernel_sum(k: Any) -> int | float | Fraction:
    """Σk: exact (int/Fraction) for integer or Fraction kernels, else a float rounded at 1e-12.

    >>> kernel_sum([[1, 2], [3, 4]]), kernel_sum([[0.1, 0.2]])
    (10, 0.3)
    """
    arr = as_kernel2d(k)
    if arr.dtype == object:
        total = sum((Fraction(v) if not isinstance(v, float) else v for v in arr.ravel()), Fraction(0))
        return total if not isinstance(total, float) else round(total, 12)
    if np.all(arr == np.round(arr)):
        return int(np.round(arr).astype(np.int64).sum())
    return round(float(arr.sum()), 12) + 0.0


def _relation(a: np.ndarray, b: np.ndarray, scale: float) -> str:
    if np.allclose(a, b, rtol=0, atol=_REL * scale):
        return "symmetric"
    if np.allclose(a, -b, rtol=0, atol=_REL * scale):
        return "antisymmetric"
    return "none"


def symmetries(k: Any) -> dict[str, str]:
    """How the kernel behaves under mirrors and rotations: symmetric, antisymmetric or none.

    Keys: ``left_right`` (mirror x → −x), ``top_bottom``, ``rotation_180``; for square
    kernels also ``transpose`` (mirror in the main diagonal) and ``rotation_90``.
    A kernel antisymmetric under ``left_right`` (Sobel x) flips the sign of its answer when
    the image is mirrored: it tells a dark-to-bright edge from a bright-to-dark one.

    >>> symmetries([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])["left_right"]
    'antisymmetric'
    """
    arr = as_kernel2d(k)
    f = np.array([[float(v) for v in row] for row in arr.tolist()]) if arr.dtype == object else arr
    scale = max(1.0, float(np.abs(f).max()))
    out = {
        "left_right": _relation(f, f[:, ::-1], scale),
        "top_bottom": _relation(f, f[::-1, :], scale),
        "rotation_180": _relation(f, f[::-1, ::-1], scale),
    }
    if f.shape[0] == f.shape[1]:
        out["transpose"] = _relation(f, f.T, scale)
        out["rotation_90"] = _relation(f, np.rot90(f), scale)
    return out


def strength_label(match: float) -> str:
    """Words for a cosine between kernel and probe (1 = the kernel is that pattern)."""
    if match >= 0.8:
        return "strongly"
    if match >= 0.5:
        return "clearly"
    if match >= 0.25:
        return "moderately"
    return "weakly"


def _sum_meaning(s: Any, scale: float) -> tuple[str, str]:
    value = float(s)
    if abs(value - 1.0) <= _REL:
        return "brightness-preserving", "sum 1: a flat region keeps its value (blur, sharpen, identity family)"
    if abs(value) <= _REL * scale:
        return "zero-sum", "sum 0: a flat region gives 0, so the kernel answers only to changes (a detector)"
    return "scaling", f"sum {value:g}: a flat region is multiplied by {value:g}"


def kernel_family(f: np.ndarray, kind: str, symmetry: dict[str, str]) -> tuple[str, str]:
    """A coarse reading of the kernel's role from its signs, sum and 180° symmetry.

    f: (kh, kw) floats. Returns ``(short name, one-line meaning)``. An odd zero-sum
    kernel (k(−x) = −k(x)) is a first derivative and answers to edges, the sign telling
    their direction; an even zero-sum kernel is a second derivative (dots, thin lines); a
    sum-1 kernel with negative weights is the identity plus such a detail kernel.
    """
    kh, kw = f.shape
    scale = max(1.0, float(np.abs(f).max()))
    if not np.any(f):
        return "zero", "every weight is 0: the output is 0 everywhere (plus the bias), whatever the image"
    if np.count_nonzero(f) == 1:
        return "identity/shift", "a single non-zero weight: copies the image (shifted when off-centre), scaled"
    if np.all(f >= 0):
        return "smoothing", "non-negative weights: a weighted average (low-pass, blur)"
    if np.all(f <= 0):
        return "inverted smoothing", "non-positive weights: a blur of the negated image (bright becomes dark)"
    r180 = symmetry["rotation_180"]
    if kind == "zero-sum" and r180 == "antisymmetric":
        return "first derivative", "odd zero-sum kernel: answers to edges, the sign gives their direction"
    if kind == "zero-sum" and r180 == "symmetric":
        return "second derivative", "even zero-sum kernel: answers to dots and thin lines, 0 on flat regions"
    if kind == "brightness-preserving" and kh % 2 and kw % 2:
        detail = f.copy()
        detail[kh // 2, kw // 2] -= 1.0  # k = identity + detail
        if np.allclose(detail, -detail[::-1, ::-1], rtol=0, atol=_REL * scale):
            return "relief (emboss)", "identity + a first-derivative kernel: edges lit from one side"
        if np.allclose(detail, detail[::-1, ::-1], rtol=0, atol=_REL * scale):
            return "sharpening", "identity + a second-derivative kernel: boosts dots, lines and fine detail"
    return "mixed", "no simple smoothing or derivative reading"


def describe_kernel(k: Any) -> dict:
    """Measure a 2-D kernel (docs/kernels.md JSON, plus more).

    k: (kh, kw) nested list or array (floats, ints or Fractions). Returns a dict with
    ``shape, kernel, sum, sum_kind, sum_meaning, symmetry, rank, separable, column, row,
    exact, singular_values, sigma_ratio, rank1_column, rank1_row, rank1_error,
    responses, match, best_probe, detects, opposite, summary`` (``column_exact``,
    ``row_exact``, ``sum_exact`` strings for exact kernels with fractions). ``detects``
    lists the probes answering at least half the best response, strongest first, each as
    ``{"probe", "response", "match", "strength"}``; ``opposite`` is the probe with the most
    negative response when that is at least half as strong as the best positive one (the
    kernel then also detects its dark-on-bright inverse), else None.
    """
    arr = as_kernel2d(k)
    kh, kw = arr.shape
    f = np.array([[float(v) for v in row] for row in arr.tolist()]) if arr.dtype == object else arr
    scale = max(1.0, float(np.abs(f).max()))
    s = kernel_sum(arr)
    kind, meaning = _sum_meaning(s, scale)
    sep = separable(arr)
    responses = probe_responses(f)
    matches = probe_matches(f)
    best = best_probe(responses)
    detects = []
    if best is not None:
        top = responses[best]
        for name in sorted(responses, key=lambda n: -responses[n]):
            if responses[name] >= DETECT_FRACTION * top:
                detects.append({"probe": name, "response": responses[name], "match": matches[name],
                                "strength": strength_label(matches[name])})
    low = min(responses, key=lambda n: responses[n])
    best_value = responses[best] if best is not None else 0.0
    opposite = low if responses[low] < -max(_REL * scale, DETECT_FRACTION * best_value) else None

    kernel = ([[str(v) if isinstance(v, Fraction) and v.denominator != 1 else _plain(v) for v in row]
               for row in arr.tolist()] if arr.dtype == object else f.tolist())
    out = {
        "shape": [kh, kw],
        "kernel": [[_plain(v) if not isinstance(v, str) else v for v in row] for row in kernel],
        "sum": _plain(s),
        "sum_kind": kind,
        "sum_meaning": meaning,
        "symmetry": symmetries(f),
        "family": "",
        "family_meaning": "",
        **{key: sep[key] for key in ("rank", "separable", "column", "row", "exact", "singular_values",
                                     "sigma_ratio", "rank1_column", "rank1_row", "rank1_error")},
        "responses": responses,
        "match": matches,
        "best_probe": best,
        "detects": detects,
        "opposite": opposite,
    }
    if arr.dtype == object:
        out["kernel"] = [[_plain(v) for v in row] for row in arr.tolist()]
    for key in ("column_exact", "row_exact"):
        if key in sep and any("/" in v for v in sep[key]):
            out[key] = sep[key]
    if isinstance(s, Fraction) and s.denominator != 1:
        out["sum_exact"] = str(s)
    out["family"], out["family_meaning"] = kernel_family(f, kind, out["symmetry"])
    out["summary"] = _summary(out)
    return out


def _vector(values: list) -> str:
    return "[" + ", ".join(format_number(Fraction(v)) if isinstance(v, str) else format_number(v, round=4)
                           for v in values) + "]"


def _summary(d: dict) -> str:
    kh, kw = d["shape"]
    zero = d["family"] == "zero"
    parts = [f"{kh}x{kw} zero kernel" if zero else f"{kh}x{kw} {d['sum_kind']} kernel, {d['family']}"]
    if d["separable"]:
        parts.append(f"separable (rank {d['rank']}): column {_vector(d.get('column_exact', d['column']))}ᵀ ⊗ "
                     f"row {_vector(d.get('row_exact', d['row']))}")
    else:
        parts.append(f"not separable (rank {d['rank']})")
    if d["best_probe"] is None:
        parts.append("no probe gives a positive response")
    else:
        top = d["detects"][0]["response"]
        shown = [x for x in d["detects"] if x["response"] >= SUMMARY_FRACTION * top]
        found = ", ".join(f"{PROBE_LABELS[x['probe']]} ({x['strength']}, cosine {x['match']:.2f})"
                          for x in shown)
        parts.append(f"detects: {found}")
    if d["opposite"] is not None:
        parts.append(f"most negative for {PROBE_LABELS[d['opposite']]} (it detects the dark-on-bright inverse)")
    return "; ".join(parts) + "."
