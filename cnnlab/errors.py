"""User-facing errors and the size limits of the arithmetic commands (contract §0).

A :class:`UsageError` is a mistake in what the user gave: the CLI prints it as one
``error:`` line and exits with status 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import math
from typing import Iterable

__all__ = ["UsageError", "MAX_SIDE", "MAX_ELEMENTS", "check_shape"]

MAX_SIDE = 4096  # largest spatial side of any tensor in the arithmetic commands
MAX_ELEMENTS = 2**26  # largest element count of any tensor in the arithmetic commands


class UsageError(Exception):
    """A mistake in the user's input; rendered as ``error: <message>``, exit status 2."""


def check_shape(shape: Iterable[int], what: str = "tensor") -> None:
    """Refuse a shape over the contract's limits, before anything of that size exists.

    ``shape`` is channel-first: the last two axes are spatial (H, W).

    >>> check_shape((3, 4096, 4096))
    >>> check_shape((5000, 2))
    Traceback (most recent call last):
    ...
    cnnlab.errors.UsageError: tensor of shape 5000x2 is over the limit of 4096 per spatial axis
    """
    shape = tuple(int(s) for s in shape)
    text = "x".join(str(s) for s in shape)
    if any(s <= 0 for s in shape):
        raise UsageError(f"{what} of shape {text} is empty")
    for s in shape[-2:]:
        if s > MAX_SIDE:
            raise UsageError(f"{what} of shape {text} is over the limit of {MAX_SIDE} per spatial axis")
    if math.prod(shape) > MAX_ELEMENTS:
        raise UsageError(f"{what} of shape {text} is over the limit of 2^26 = {MAX_ELEMENTS} elements")
