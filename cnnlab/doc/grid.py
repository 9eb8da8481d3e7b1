"""Cutting a tensor grid to what a page can show: the rows and columns kept, dots for the rest."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["as_matrix", "shown"]


def as_matrix(values: Any) -> np.ndarray:
    """``values`` as a 2-D object array: a number is 1×1, a vector one row. Returns (H, W)."""
    a = values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
    if a.ndim < 2:
        a = a.reshape(1, -1)
    return a


def shown(shape: tuple[int, int], limit: int | None) -> tuple[int, int]:
    """Rows and columns of an (H, W) grid shown under ``limit`` (None: all)."""
    H, W = shape
    return (H, W) if limit is None else (min(H, limit), min(W, limit))
