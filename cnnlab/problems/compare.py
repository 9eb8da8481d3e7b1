"""Comparing a claimed answer with the computed value (docs/conventions.md rounding rule).

With ``round: N`` a claimed number is right when ``|claimed − computed| ≤ 0.5·10^−N + 1e−9``;
without it the tolerance is 1e−6, relative or absolute, whichever is larger. A claimed
number may be written as a fraction string (``"5/8"``).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from cnnlab.errors import UsageError
from cnnlab.ops import as_tensor
from cnnlab.problems import values
from cnnlab.steps.numbers import round_half_away, to_json_number

__all__ = ["Comparison", "compare", "mismatch", "close", "claimed_number", "claimed_tensor", "tolerance"]

_EXPONENT = re.compile(r"[eE][+-]?0*(\d+)")
_SLACK = 1e-9  # docs/conventions.md: "+1e−9" on top of half a unit in the last decimal
_REL = 1e-6  # docs/conventions.md: tolerance without `round`


@dataclass
class Comparison:
    """Outcome of comparing one claimed answer: right or not, and where it differs."""

    correct: bool
    # {"index" (= "index_from_0"), "index_from_1", "claimed", "expected" (rounded as the sheet
    # asks), "expected_unrounded", "expected_exact" (a fraction string, exact mode only)}
    mismatches: list[dict] = field(default_factory=list)
    note: str | None = None  # e.g. "claimed shape 3x3, computed 2x2"
    shape_differs: bool = False
    unknown_keys: bool = False  # the claim names keys the answer does not have: no slip to look for


def tolerance(expected: float, round: int | None) -> float:
    if round is not None:
        return 0.5 * 10.0 ** (-round) + _SLACK
    return max(_REL, _REL * abs(expected))


def close(claimed: Any, expected: Any, round: int | None) -> bool:
    """Is one claimed number right for one computed number? (docs/conventions.md)

    >>> close(0.73, 0.7310585786, 2), close(0.74, 0.7310585786, 2), close(0.5, 0.5000001, None)
    (True, False, True)
    """
    c, e = float(claimed), float(expected)
    return abs(c - e) <= tolerance(e, round)


def claimed_number(v: Any) -> Any:
    """A claimed scalar: a number, or a fraction string such as "5/8"; None if neither."""
    if isinstance(v, bool):
        return None
    if values.is_number(v):
        return v
    if isinstance(v, str):
        exponent = _EXPONENT.search(v)
        if exponent and len(exponent.group(1)) > 3:  # Fraction("1e-99999999") never finishes
            return None
        try:
            n = Fraction(v.strip())
            float(n)  # 1e400 is no float: not a number that can be compared
        except (ValueError, ZeroDivisionError, OverflowError):
            return None
        return n
    return None


def _fractions_in(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return [_fractions_in(e) for e in v]
    n = claimed_number(v)
    return v if n is None else n


def claimed_tensor(v: Any, what: str = "claimed answer") -> np.ndarray:
    """A claimed nested list as a float tensor (fraction strings allowed)."""
    return as_tensor(_fractions_in(v), what).astype(np.float64)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) if shape else "a single number"


def _expected_json(e: Any, round: int | None) -> Any:
    return to_json_number(round_half_away(e, round) if round is not None else e)


def mismatch(index: tuple[int, ...], claimed: Any, expected: Any, round: int | None) -> dict:
    """One wrong cell: where (counted from 0 and from 1), the claim, the expected value both
    rounded as the sheet asks and unrounded (with its exact fraction where there is one)."""
    idx = [int(i) for i in index]
    out = {"index": idx, "index_from_0": idx, "index_from_1": [i + 1 for i in idx],
           "claimed": to_json_number(claimed), "expected": _expected_json(expected, round),
           "expected_unrounded": to_json_number(expected)}
    if isinstance(expected, Fraction) and expected.denominator != 1:
        out["expected_exact"] = f"{expected.numerator}/{expected.denominator}"
    return out


def _only_unit_axes_differ(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """2x2 against 1x2x2: the same shape once the axes of size 1 are dropped."""
    return tuple(n for n in a if n != 1) == tuple(n for n in b if n != 1)


def _compare_tensor(claimed: Any, expected: np.ndarray, round: int | None) -> Comparison:
    try:
        c = claimed_tensor(claimed)
    except UsageError as exc:
        return Comparison(False, note=f"the claimed answer is not a tensor of numbers ({exc})")
    e = expected.astype(np.float64) if expected.dtype != object else np.vectorize(float)(expected)
    if c.ndim == 0 and e.size == 1:  # "5" for a 1x1 result is the answer a sheet expects
        c = c.reshape(e.shape)
    if c.shape != e.shape:
        note = f"claimed shape {_shape_text(c.shape)}, computed {_shape_text(e.shape)}"
        if _only_unit_axes_differ(c.shape, e.shape):
            note += ("; they differ only by an axis of size 1 (a result keeps the channel axis of a "
                     "C×H×W input, even C = 1: docs/problems.md, \"Channel axes\")")
        return Comparison(False, note=note, shape_differs=True)
    tol = 0.5 * 10.0 ** (-round) + _SLACK if round is not None else np.maximum(_REL, _REL * np.abs(e))
    wrong = np.abs(c - e) > tol
    mismatches = [mismatch(idx, c[idx], expected[idx], round) for idx in zip(*np.nonzero(wrong))]
    return Comparison(not mismatches, mismatches)


def _compare_separable(claimed: Any, expected: dict, round: int | None) -> Comparison:
    if isinstance(claimed, bool):
        ok = claimed == expected["separable"]
        return Comparison(ok, note=None if ok else f"claimed separable={str(claimed).lower()}")
    if not isinstance(claimed, dict):
        return Comparison(False, note="the claimed answer should be true/false or {separable, column, row}")
    if "separable" in claimed and claimed["separable"] != expected["separable"]:
        return Comparison(False, note=f"claimed separable={claimed['separable']}, "
                                      f"but it is {str(expected['separable']).lower()}")
    col, row = claimed.get("column"), claimed.get("row")
    if col is None and row is None:
        return Comparison(True)
    if expected["column"] is None:
        return Comparison(False, note="claimed factors for a kernel that is not separable")
    try:  # factors are unique only up to scale: compare column ⊗ row with the kernel
        got = np.outer(claimed_tensor(col), claimed_tensor(row))
    except UsageError as exc:
        return Comparison(False, note=f"the claimed factors are not vectors of numbers ({exc})")
    want = np.outer(np.array(expected["column"], dtype=float), np.array(expected["row"], dtype=float))
    result = _compare_tensor(got.tolist(), want, round)
    if not result.correct:
        result.note = "column ⊗ row of the claimed factors is not the kernel"
    return result


def compare(claimed: Any, expected: Any, round: int | None) -> Comparison:
    """Compare a claimed answer (as written in the file) with a computed value."""
    if isinstance(expected, (bool, np.bool_)):
        ok = isinstance(claimed, bool) and claimed == bool(expected)
        return Comparison(ok, note=None if ok else f"claimed {claimed!r}")
    if isinstance(expected, str):
        return Comparison(claimed == expected)
    if values.is_number(expected):
        c = claimed_number(claimed)
        if c is None:
            return Comparison(False, note="the claimed answer should be a single number",
                              shape_differs=isinstance(claimed, list))
        ok = close(c, expected, round)
        return Comparison(ok, [] if ok else [mismatch((), c, expected, round)])
    if isinstance(expected, np.ndarray):
        return _compare_tensor(claimed, expected, round)
    if isinstance(expected, dict):
        if set(expected) >= {"separable", "column", "row"}:
            return _compare_separable(claimed, expected, round)
        return _compare_mapping(claimed, expected, round)
    if isinstance(expected, (list, tuple)):
        keys = {k for e in expected if isinstance(e, dict) for k in e}
        if keys and isinstance(claimed, list):  # rows of a table: keys the rows do not have?
            unknown = [k for c in claimed if isinstance(c, dict) for k in c if k not in keys]
            if unknown:
                return Comparison(False, note=_unknown_key(unknown[0], dict.fromkeys(keys)), unknown_keys=True)
        if not isinstance(claimed, list) or len(claimed) != len(expected):
            return Comparison(False, note=f"the claimed answer should be a list of {len(expected)}")
        results = [compare(c, e, round) for c, e in zip(claimed, expected)]
        bad = [i for i, r in enumerate(results) if not r.correct]
        unknown = next((r for r in results if r.unknown_keys), None)
        if unknown is not None:
            return Comparison(False, note=unknown.note, unknown_keys=True)
        return Comparison(not bad, note=f"items {', '.join(str(i + 1) for i in bad)} differ" if bad else None)
    if expected is None:
        return Comparison(claimed is None)
    raise TypeError(f"cannot compare with a {type(expected).__name__}")  # a bug, not bad input


def _compare_mapping(claimed: Any, expected: dict, round: int | None) -> Comparison:
    """A claimed mapping gives some keys of the computed object (e.g. of an arch table)."""
    if not isinstance(claimed, dict):
        return Comparison(False, note=f"the claimed answer should be a mapping with keys among: {', '.join(expected)}")
    unknown = [k for k in claimed if k not in expected]
    if unknown:
        return Comparison(False, note="; ".join(_unknown_key(k, expected) for k in unknown), unknown_keys=True)
    results = {k: compare(claimed[k], _plain(expected[k]), round) for k in claimed}
    nested = next((r for r in results.values() if r.unknown_keys), None)
    if nested is not None:
        return Comparison(False, note=nested.note, unknown_keys=True)
    bad = [k for k, r in results.items() if not r.correct]
    notes = [f"{k}: {results[k].note}" if results[k].note else str(k) for k in bad]
    return Comparison(not bad, note=f"{'; '.join(notes)} differ" if bad and not any(r.note for r in results.values())
                      else ("; ".join(notes) if bad else None))


def _unknown_key(key: Any, expected: dict) -> str:
    """``unknown key output; did you mean output_shape?`` (or the keys there are)."""
    names = [str(k) for k in expected]
    near = difflib.get_close_matches(str(key), names, n=1, cutoff=0.5) or \
        [n for n in names if str(key) in n or n in str(key)][:1]
    hint = f"did you mean {near[0]}?" if near else f"the answer has {', '.join(names)}"
    return f"unknown key {key}; {hint}"


def _plain(v: Any) -> Any:
    if isinstance(v, list) and v and all(values.is_number(e) for e in v):
        return np.array([float(e) for e in v])
    return v
