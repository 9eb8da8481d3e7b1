"""Rank and separability of a 2-D kernel, with its two 1-D factors.

A kernel k (kh×kw) is *separable* when k = c ⊗ r = c·rᵀ for a column c (kh) and a row
r (kw), i.e. when its matrix rank is at most 1. Filtering with c then r costs
O(kh + kw) per pixel instead of O(kh·kw).

Two ways of deciding the rank:

- **exact** — for integer kernels (any dtype whose values are all whole numbers) and for
  object arrays of ``Fraction``/int: Gaussian elimination over the rationals, no tolerance.
- **numerical** — for other float kernels: singular values, counting those above
  ``RTOL · σ₁`` with ``RTOL = 1e-9`` (float noise of kernels built by arithmetic, such as a
  Gaussian made as an outer product, is ~1e-16·σ₁; a kernel typed with 4 decimals that is
  "almost" separable is reported as not separable, and :func:`separable` gives the
  ratio σ₂/σ₁ so the reader sees how close it is).

Factors of a separable kernel are chosen to be readable:

- exact kernels: ``column`` is a primitive integer vector (gcd 1) whose first non-zero
  entry is positive, and ``row`` carries the scale; for an integer kernel both are integers
  (Sobel x = [1, 2, 1]ᵀ ⊗ [−1, 0, 1]; box:3 exact = [1, 1, 1]ᵀ ⊗ [1/9, 1/9, 1/9]).
- float kernels: with p = k[i, j] the entry of largest magnitude, c = k[:, j]/√|p| and
  r = ±k[i, :]/√|p| (the scale split evenly: a float box:3 is [1/3]*3 ⊗ [1/3]*3 and
  gaussian:k:σ is g ⊗ g with g the normalised 1-D Gaussian), sign normalised so the
  first non-zero of ``column`` is positive.

When the kernel is **not** separable, ``column`` and ``row`` are ``None`` (there are no
factors); the best rank-1 approximation (Eckart–Young: σ₁u₁v₁ᵀ) is given separately as
``rank1_column``, ``rank1_row`` and its relative Frobenius error ``rank1_error``.

>>> separable([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])["column"]
[1, 2, 1]
>>> rank([[0, -1, 0], [-1, 4, -1], [0, -1, 0]])
2
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from cnnlab.errors import UsageError

__all__ = ["RTOL", "rank", "separable", "as_kernel2d"]

RTOL = 1e-9  # singular values below RTOL·σ₁ count as zero in the numerical rank


def as_kernel2d(k: Any, what: str = "kernel") -> np.ndarray:
    """Validate a 2-D kernel (nested list or array); float64 or an object array of Fractions.

    Raises :class:`UsageError` when it is empty, not 2-D, ragged or not numeric.
    """
    if isinstance(k, np.ndarray) and k.dtype == object:
        arr = k
    else:
        try:
            arr = np.array(k)
        except ValueError:
            raise UsageError(f"{what} is ragged: every row must have the same length") from None
        if arr.dtype == object:  # Fractions, or a ragged list
            if any(isinstance(v, (list, tuple, np.ndarray)) for v in arr.ravel()):
                raise UsageError(f"{what} is ragged: every row must have the same length")
    if arr.ndim != 2:
        raise UsageError(f"{what} must be 2-D (kh x kw), got {arr.ndim}-D shape "
                         f"{'x'.join(map(str, arr.shape)) or 'scalar'}")
    if arr.size == 0:
        raise UsageError(f"{what} is empty")
    if arr.dtype == object:
        for v in arr.ravel():
            if isinstance(v, bool) or not isinstance(v, (int, Fraction, float, np.integer, np.floating)):
                raise UsageError(f"{what} has a non-numeric entry {v!r}")
        return arr
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise UsageError(f"{what} must contain numbers, got {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise UsageError(f"{what} contains inf or nan")
    return arr


def _exact_matrix(arr: np.ndarray) -> list[list[Fraction]] | None:
    """Rows of Fractions when the kernel can be treated exactly, else None."""
    if arr.dtype == object:
        rows = []
        for row in arr.tolist():
            out = []
            for v in row:
                if isinstance(v, float):
                    if not math.isfinite(v):
                        raise UsageError("kernel contains inf or nan")
                    if v != int(v):
                        return None
                out.append(Fraction(v))
            rows.append(out)
        return rows
    if np.all(arr == np.round(arr)) and np.all(np.abs(arr) < 2**53):
        return [[Fraction(int(v)) for v in row] for row in arr.tolist()]
    return None


def _exact_rank(rows: list[list[Fraction]]) -> int:
    m = [list(r) for r in rows]
    n_rows, n_cols = len(m), len(m[0])
    r = 0
    for c in range(n_cols):
        pivot = next((i for i in range(r, n_rows) if m[i][c] != 0), None)
        if pivot is None:
            continue
        m[r], m[pivot] = m[pivot], m[r]
        for i in range(r + 1, n_rows):
            if m[i][c] != 0:
                f = m[i][c] / m[r][c]
                m[i] = [a - f * b for a, b in zip(m[i], m[r])]
        r += 1
        if r == n_rows:
            break
    return r


def _numeric_rank(s: np.ndarray) -> int:
    if s.size == 0 or s[0] == 0:
        return 0
    return int(np.sum(s > RTOL * s[0]))


def rank(k: Any) -> int:
    """Matrix rank of a 2-D kernel: exact for integer/Fraction kernels, else by SVD.

    k: (kh, kw) nested list or array.

    >>> rank([[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    1
    >>> rank(np.outer([0.2, 0.6, 0.2], [0.1, 0.8, 0.1]))
    1
    """
    arr = as_kernel2d(k)
    exact = _exact_matrix(arr)
    if exact is not None:
        return _exact_rank(exact)
    return _numeric_rank(np.linalg.svd(arr.astype(np.float64), compute_uv=False))


def _plain(v: Fraction | float) -> int | float:
    if isinstance(v, Fraction):
        return int(v) if v.denominator == 1 else float(v)
    f = float(v)
    return 0.0 if f == 0 else f  # no "-0.0" in answers


def _exact_factors(rows: list[list[Fraction]]) -> tuple[list[Fraction], list[Fraction]]:
    """Factors of an exact rank-1 matrix: primitive integer column (first non-zero > 0)."""
    n_rows, n_cols = len(rows), len(rows[0])
    j0 = next(j for j in range(n_cols) if any(rows[i][j] != 0 for i in range(n_rows)))
    col = [rows[i][j0] for i in range(n_rows)]
    lcm = 1
    for v in col:
        lcm = lcm * v.denominator // math.gcd(lcm, v.denominator)
    ints = [int(v * lcm) for v in col]
    g = 0
    for v in ints:
        g = math.gcd(g, abs(v))
    first = next(v for v in ints if v != 0)
    sign = 1 if first > 0 else -1
    column = [Fraction(sign * v // g) for v in ints]
    i0 = next(i for i in range(n_rows) if column[i] != 0)
    row = [rows[i0][j] / column[i0] for j in range(n_cols)]
    return column, row


def _float_factors(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Factors of a float rank-1 matrix from its largest entry p = k[i, j].

    k = k[:, j] ⊗ k[i, :] / p; the scale is split as √|p| on each side. Unlike the SVD
    vectors this keeps exact values exact (box:3 gives 1/3 ⊗ 1/3, a Gaussian g ⊗ g).
    """
    i, j = np.unravel_index(int(np.argmax(np.abs(k))), k.shape)
    p = float(k[i, j])
    root = math.sqrt(abs(p))
    column = k[:, j] / root
    row = k[i, :] / root * (1.0 if p > 0 else -1.0)
    first = column[np.flatnonzero(column)[0]]
    if first < 0:
        column, row = -column, -row
    return column, row


def separable(k: Any) -> dict:
    """Is the kernel separable (rank ≤ 1)? With the factors, column ⊗ row = k.

    k: (kh, kw). Returns a dict::

        {"separable": bool, "rank": int, "exact": bool,
         "column": [kh numbers] | None, "row": [kw numbers] | None,
         "singular_values": [...], "sigma_ratio": σ₂/σ₁ (0 when rank ≤ 1),
         "rank1_column": [...], "rank1_row": [...], "rank1_error": float}

    ``exact`` says the rank was decided exactly (integer/Fraction kernel); then
    ``column_exact``/``row_exact`` give the factors as strings (``"1/9"``). Factor
    conventions and the non-separable case: see the module docstring.

    >>> d = separable([[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    >>> d["separable"], d["column"], d["row"]
    (True, [1, 2, 1], [1, 2, 1])
    >>> separable([[0, 1, 0], [1, -4, 1], [0, 1, 0]])["column"] is None
    True
    """
    arr = as_kernel2d(k)
    kh, kw = arr.shape
    exact_rows = _exact_matrix(arr)
    farr = np.array([[float(v) for v in row] for row in arr.tolist()], dtype=np.float64)
    u, s, vt = np.linalg.svd(farr)
    r = _exact_rank(exact_rows) if exact_rows is not None else _numeric_rank(s)

    # best rank-1 approximation, scale split evenly, first non-zero of the column positive
    c1 = u[:, 0] * math.sqrt(s[0])
    r1 = vt[0] * math.sqrt(s[0])
    nz = np.flatnonzero(np.abs(c1) > 1e-15 * max(1.0, float(np.abs(c1).max())))
    if nz.size and c1[nz[0]] < 0:
        c1, r1 = -c1, -r1
    norm = float(np.linalg.norm(s))
    err = float(math.sqrt(float(np.sum(s[1:] ** 2))) / norm) if norm > 0 else 0.0

    out: dict = {
        "separable": r <= 1,
        "rank": r,
        "exact": exact_rows is not None,
        "column": None,
        "row": None,
        "singular_values": [float(v) for v in s],
        "sigma_ratio": float(s[1] / s[0]) if s.size > 1 and s[0] > 0 and r > 1 else 0.0,
        "rank1_column": [_plain(v) for v in c1],
        "rank1_row": [_plain(v) for v in r1],
        "rank1_error": err if r > 1 else 0.0,
    }
    if r == 0:
        zero_c, zero_r = [0] * kh, [0] * kw
        out.update(column=zero_c, row=zero_r, rank1_column=zero_c, rank1_row=zero_r)
    elif r == 1 and exact_rows is not None:
        column, row = _exact_factors(exact_rows)
        out["column"] = [_plain(v) for v in column]
        out["row"] = [_plain(v) for v in row]
        out["column_exact"] = [str(v) for v in column]
        out["row_exact"] = [str(v) for v in row]
    elif r == 1:
        column, row = _float_factors(farr)
        out["column"] = [_plain(v) for v in column]
        out["row"] = [_plain(v) for v in row]
    return out
