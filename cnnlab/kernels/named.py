"""Classic named kernels: one registry, one description each (docs/kernels.md).

All kernels are cross-correlation templates (cnnlab's ``conv2d`` does not flip), with
rows pointing down and columns pointing right, so a kernel responds positively to the
pattern it looks like:

- ``sobel_x`` = [[-1,0,1],[-2,0,2],[-1,0,1]] is positive on a vertical edge that is dark
  on the left and bright on the right (as ``torch``/OpenCV ``Sobel(dx=1)``);
  ``sobel_y`` is its transpose, positive on dark-above/bright-below.
- ``laplacian4``/``laplacian8`` have a positive centre (the sign scikit-image's
  ``filters.laplace`` uses, i.e. −∇²), so a bright dot gives a positive response.
- Line detectors ``line_<angle>``: the angle is measured counter-clockwise from the
  horizontal as the picture is displayed, so ``line_45`` runs from bottom-left to
  top-right and ``line_135`` from top-left to bottom-right.

Parameterised names: ``box:k`` (k×k mean), ``gaussian:k:sigma`` (sampled Gaussian,
normalised to sum 1; ``gaussian:k`` uses OpenCV's default σ = 0.3·((k−1)/2 − 1) + 0.8),
``identity:k`` (odd k; a single 1 in the centre). ``box``, ``identity`` and ``gaussian``
alone mean k = 3 (gaussian: k = 3, σ = 1).

>>> get_kernel("sobel_x").tolist()
[[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]
>>> round(float(get_kernel("gaussian:5:1.0").sum()), 12)
1.0
"""

from __future__ import annotations

import math
import os
import re
from fractions import Fraction
from typing import Callable

import numpy as np

from cnnlab.errors import UsageError

__all__ = [
    "IDENTITY", "SHARPEN", "SOBEL_X", "SOBEL_Y", "PREWITT_X", "PREWITT_Y",
    "SCHARR_X", "SCHARR_Y", "LAPLACIAN4", "LAPLACIAN8",
    "LINE_0", "LINE_45", "LINE_90", "LINE_135", "EMBOSS",
    "get_kernel", "list_kernels", "resolve_kernel", "kernel_names",
    "box_kernel", "gaussian_kernel", "identity_kernel", "MAX_KERNEL_SIDE", "SIGMA_RANGE",
]

MAX_KERNEL_SIDE = 64  # box:k, identity:k, gaussian:k and kernels given to `kernel describe`
SIGMA_RANGE = (1e-6, 1e6)  # gaussian sigma: below, 2*sigma^2 underflows; above, sigma^2 overflows

IDENTITY = ((0, 0, 0), (0, 1, 0), (0, 0, 0))
SHARPEN = ((0, -1, 0), (-1, 5, -1), (0, -1, 0))
SOBEL_X = ((-1, 0, 1), (-2, 0, 2), (-1, 0, 1))
SOBEL_Y = ((-1, -2, -1), (0, 0, 0), (1, 2, 1))
PREWITT_X = ((-1, 0, 1), (-1, 0, 1), (-1, 0, 1))
PREWITT_Y = ((-1, -1, -1), (0, 0, 0), (1, 1, 1))
SCHARR_X = ((-3, 0, 3), (-10, 0, 10), (-3, 0, 3))
SCHARR_Y = ((-3, -10, -3), (0, 0, 0), (3, 10, 3))
LAPLACIAN4 = ((0, -1, 0), (-1, 4, -1), (0, -1, 0))
LAPLACIAN8 = ((-1, -1, -1), (-1, 8, -1), (-1, -1, -1))
LINE_0 = ((-1, -1, -1), (2, 2, 2), (-1, -1, -1))
LINE_45 = ((-1, -1, 2), (-1, 2, -1), (2, -1, -1))
LINE_90 = ((-1, 2, -1), (-1, 2, -1), (-1, 2, -1))
LINE_135 = ((2, -1, -1), (-1, 2, -1), (-1, -1, 2))
EMBOSS = ((-2, -1, 0), (-1, 1, 1), (0, 1, 2))

# name -> (integer matrix, one-line description)
_FIXED: dict[str, tuple[tuple[tuple[int, ...], ...], str]] = {
    "identity": (IDENTITY, "3x3 identity: output = input (needs padding 1 to keep the size)"),
    "sharpen": (SHARPEN, "sharpen: identity + 4-neighbour Laplacian, sum 1"),
    "sobel_x": (SOBEL_X, "Sobel d/dx: vertical edges, positive for dark-left/bright-right"),
    "sobel_y": (SOBEL_Y, "Sobel d/dy: horizontal edges, positive for dark-above/bright-below"),
    "prewitt_x": (PREWITT_X, "Prewitt d/dx: vertical edges, unweighted rows"),
    "prewitt_y": (PREWITT_Y, "Prewitt d/dy: horizontal edges, unweighted columns"),
    "scharr_x": (SCHARR_X, "Scharr d/dx: vertical edges, better rotation symmetry than Sobel"),
    "scharr_y": (SCHARR_Y, "Scharr d/dy: horizontal edges, better rotation symmetry than Sobel"),
    "laplacian4": (LAPLACIAN4, "negative Laplacian, 4-neighbour: dots, corners, fine detail; zero-sum"),
    "laplacian8": (LAPLACIAN8, "negative Laplacian, 8-neighbour: dots, corners, fine detail; zero-sum"),
    "line_0": (LINE_0, "line detector 0 deg: thin horizontal bright lines"),
    "line_45": (LINE_45, "line detector 45 deg: thin lines from bottom-left to top-right"),
    "line_90": (LINE_90, "line detector 90 deg: thin vertical bright lines"),
    "line_135": (LINE_135, "line detector 135 deg: thin lines from top-left to bottom-right"),
    "emboss": (EMBOSS, "emboss: relief lit from the bottom-right, sum 1"),
}

_PARAMETRIC_HELP = {
    "identity:k": "k x k identity (k odd): a single 1 in the centre",
    "box:k": "k x k box blur (mean filter): every weight 1/k^2",
    "gaussian:k:sigma": "k x k Gaussian blur, sampled and normalised to sum 1 (sigma > 0)",
}

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(:.*)?$")


def _int_param(text: str, what: str, name: str) -> int:
    try:
        value = int(text) if len(text) <= 12 else MAX_KERNEL_SIDE + 1
    except ValueError:
        raise UsageError(f"{name}: {what} must be a positive integer, got {text[:30]!r}") from None
    if value < 1:
        raise UsageError(f"{name}: {what} must be a positive integer, got {value}")
    if value > MAX_KERNEL_SIDE:
        raise UsageError(f"{name}: {what} {value} is over the limit of {MAX_KERNEL_SIDE} for named kernels")
    return value


def identity_kernel(k: int = 3, exact: bool = False) -> np.ndarray:
    """k×k identity kernel (k odd): 1 in the centre, 0 elsewhere. Returns (k, k)."""
    if k < 1 or k % 2 == 0:
        raise UsageError(f"identity:{k}: the size must be odd so the kernel has a centre")
    out = np.zeros((k, k), dtype=object if exact else np.float64)
    if exact:
        out[...] = Fraction(0)
    out[k // 2, k // 2] = Fraction(1) if exact else 1.0
    return out


def box_kernel(k: int = 3, exact: bool = False) -> np.ndarray:
    """k×k mean filter, every weight 1/k². Returns (k, k).

    >>> box_kernel(2).tolist()
    [[0.25, 0.25], [0.25, 0.25]]
    """
    if exact:
        out = np.empty((k, k), dtype=object)
        out[...] = Fraction(1, k * k)
        return out
    return np.full((k, k), 1.0 / (k * k))


def gaussian_kernel(k: int = 3, sigma: float | None = None) -> np.ndarray:
    """Sampled k×k Gaussian, centre at ((k−1)/2, (k−1)/2), normalised to sum 1. Returns (k, k).

    ``sigma=None`` uses OpenCV's default ``0.3·((k−1)/2 − 1) + 0.8``. The kernel is built as
    the outer product of one normalised 1-D Gaussian with itself, so it is rank 1 exactly up
    to rounding.

    >>> g = gaussian_kernel(3, 1.0)
    >>> [round(float(v), 4) for v in g[1]]
    [0.1238, 0.2042, 0.1238]
    """
    if sigma is None:
        sigma = 0.3 * ((k - 1) * 0.5 - 1) + 0.8
    if not SIGMA_RANGE[0] <= sigma <= SIGMA_RANGE[1]:
        raise UsageError(f"gaussian:{k}:{sigma:g}: sigma must be from {SIGMA_RANGE[0]:g} to {SIGMA_RANGE[1]:g}")
    t = np.arange(k, dtype=np.float64) - (k - 1) / 2.0
    g = np.exp(-(t**2) / (2.0 * sigma**2))
    g /= g.sum()
    return np.outer(g, g)


def _parse_gaussian(name: str, params: list[str], exact: bool) -> np.ndarray:
    if exact:
        raise UsageError(f"{name}: a Gaussian kernel is not rational; drop exact mode "
                         "or give the kernel as a literal")
    if len(params) > 2:
        raise UsageError(f"{name}: expected gaussian:k:sigma, e.g. gaussian:5:1.0")
    k = _int_param(params[0], "the size k", name) if params else 3
    sigma: float | None = 1.0 if not params else None
    if len(params) == 2:
        try:
            sigma = float(params[1]) if len(params[1]) <= 40 else math.nan
        except ValueError:
            raise UsageError(f"{name}: sigma must be a positive number, got {params[1]!r}") from None
        if not SIGMA_RANGE[0] <= sigma <= SIGMA_RANGE[1]:
            raise UsageError(f"{name}: sigma must be from {SIGMA_RANGE[0]:g} to {SIGMA_RANGE[1]:g}, "
                             f"got {params[1][:30]}")
    return gaussian_kernel(k, sigma)


def _one_size(builder: Callable[..., np.ndarray], base: str):
    def parse(name: str, params: list[str], exact: bool) -> np.ndarray:
        if len(params) > 1:
            raise UsageError(f"{name}: expected {base}:k, e.g. {base}:5")
        k = _int_param(params[0], "the size k", name) if params else 3
        return builder(k, exact=exact)
    return parse


_PARAMETRIC: dict[str, Callable[[str, list[str], bool], np.ndarray]] = {
    "identity": _one_size(identity_kernel, "identity"),
    "box": _one_size(box_kernel, "box"),
    "gaussian": _parse_gaussian,
}


def kernel_names() -> list[str]:
    """All base names (``box``, ``gaussian`` and ``identity`` take parameters)."""
    return sorted(set(_FIXED) | set(_PARAMETRIC))


def list_kernels() -> list[tuple[str, str]]:
    """``(name, one-line description)`` for every named kernel, parameterised ones as ``box:k``."""
    rows = [(name, _FIXED[name][1]) for name in _FIXED]
    rows += list(_PARAMETRIC_HELP.items())
    return rows


def _unknown(base: str) -> UsageError:
    known = ", ".join([n for n in _FIXED] + list(_PARAMETRIC_HELP))
    return UsageError(f"unknown kernel {base!r}; known kernels: {known} "
                      "(or give a literal such as '[[1,0],[0,-1]]')")


def get_kernel(name: str, exact: bool = False) -> np.ndarray:
    """The named kernel as a (kh, kw) array: float64, or Fractions with ``exact=True``.

    ``name`` is case-insensitive: ``sobel_x``, ``box:5``, ``gaussian:5:1.0``.
    Raises :class:`UsageError` for an unknown name (listing the known ones) or bad parameters.

    >>> get_kernel("box:3", exact=True)[0, 0]
    Fraction(1, 9)
    """
    text = str(name).strip()
    base, *params = text.split(":")
    base = base.lower()
    if base in _FIXED and not params:
        table = _FIXED[base][0]
        if exact:
            out = np.empty((len(table), len(table[0])), dtype=object)
            for i, row in enumerate(table):
                for j, v in enumerate(row):
                    out[i, j] = Fraction(v)
            return out
        return np.array(table, dtype=np.float64)
    if base in _PARAMETRIC:
        return _PARAMETRIC[base](text, [p.strip() for p in params], exact)
    if base in _FIXED:
        raise UsageError(f"{text}: kernel {base!r} takes no parameters")
    raise _unknown(base)


def resolve_kernel(text: str, exact: bool = False) -> np.ndarray | None:
    """A named kernel for ``text``, or ``None`` when ``text`` is not a kernel name.

    ``None`` means "parse it as a literal or a file": text that does not start with an
    identifier (``[[1,2],[3,4]]``, ``1 2; 3 4``), a file name with an extension, or an
    existing path. Text that looks like a name but names no kernel raises
    :class:`UsageError` listing the known kernels.

    >>> resolve_kernel("[[1,0],[0,1]]") is None
    True
    >>> resolve_kernel("prewitt_y")[0].tolist()
    [-1.0, -1.0, -1.0]
    """
    if not isinstance(text, str):
        return None
    stripped = text.strip()
    if not _NAME_RE.match(stripped) or os.path.exists(stripped):
        return None
    return get_kernel(stripped, exact=exact)
