"""Padding: resolving a padding argument to four sides, and padding a tensor (docs/conventions.md).

Modes and their NumPy / PyTorch names:

========== ================= =====================
cnnlab     numpy.pad         torch.nn.functional.pad
========== ================= =====================
zeros      constant 0        constant
reflect    reflect           reflect (edge not repeated)
symmetric  symmetric         (none: edge repeated)
replicate  edge              replicate
circular   wrap              circular
========== ================= =====================
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from cnnlab.errors import UsageError, check_shape
from cnnlab.ops.sizes import full_padding, same_padding, unused_input, unused_note

__all__ = ["PADDING_MODES", "Pads", "resolve_padding", "normalize_pads", "pad", "pair", "conv_unused_note"]

Pads = tuple[int, int, int, int]  # (top, bottom, left, right)

# cnnlab mode -> numpy.pad mode
PADDING_MODES: dict[str, str] = {
    "zeros": "constant",
    "reflect": "reflect",
    "symmetric": "symmetric",
    "replicate": "edge",
    "circular": "wrap",
}
_ALIASES = {"zero": "zeros", "constant": "zeros", "edge": "replicate", "wrap": "circular",
            "mirror": "reflect"}


def pair(value: Any, name: str, minimum: int = 1) -> tuple[int, int]:
    """An int or a pair of ints as ``(a, b)``, each at least ``minimum``.

    >>> pair(2, "stride")
    (2, 2)
    >>> pair([1, 3], "stride")
    (1, 3)
    """
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise UsageError(f"{name} must be an int or a pair of ints, got {list(value)}")
        a, b = value
    else:
        a = b = value
    out = []
    for v in (a, b):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise UsageError(f"{name} must be an integer or a pair of integers, got {value!r}")
        if v < minimum:
            raise UsageError(f"{name} must be >= {minimum}, got {value!r}")
        out.append(int(v))
    return out[0], out[1]


def normalize_pads(padding: Any) -> Pads:
    """An explicit padding (int, ``(ph, pw)`` or ``(top, bottom, left, right)``) as four sides."""
    if isinstance(padding, (list, tuple)) and len(padding) == 4:
        sides = []
        for v in padding:
            sides.append(pair(v, "padding", minimum=0)[0])
        return tuple(sides)  # type: ignore[return-value]
    ph, pw = pair(padding, "padding", minimum=0)
    return ph, ph, pw, pw


def resolve_padding(padding: Any, in_hw: tuple[int, int], kernel_hw: tuple[int, int],
                    stride: Any = 1, dilation: Any = 1) -> Pads:
    """Padding as ``(top, bottom, left, right)``.

    ``padding`` is an int, a pair ``(ph, pw)``, four sides, or one of ``"valid"`` (0),
    ``"same"`` (output ``ceil(n/stride)``, any odd extra at the bottom/right, as TensorFlow)
    and ``"full"`` (``d·(k−1)`` on every side).

    >>> resolve_padding("same", (5, 5), (3, 3))
    (1, 1, 1, 1)
    >>> resolve_padding("same", (6, 6), (3, 3), stride=2)
    (0, 1, 0, 1)
    >>> resolve_padding([1, 2], (5, 5), (3, 3))
    (1, 1, 2, 2)
    """
    if isinstance(padding, str):
        name = padding.strip().lower()
        sh, sw = pair(stride, "stride")
        dh, dw = pair(dilation, "dilation")
        kh, kw = kernel_hw
        if name == "valid":
            return 0, 0, 0, 0
        if name == "same":
            top, bottom = same_padding(in_hw[0], kh, sh, dh)
            left, right = same_padding(in_hw[1], kw, sw, dw)
            return top, bottom, left, right
        if name == "full":
            ph, pw = full_padding(kh, dh), full_padding(kw, dw)
            return ph, ph, pw, pw
        raise UsageError(f"unknown padding {padding!r}: use an int, 'a,b', 'same', 'valid' or 'full'")
    return normalize_pads(padding)


def check_mode(mode: str) -> str:
    """The canonical name of a padding mode (accepting numpy/torch aliases)."""
    name = str(mode).strip().lower()
    name = _ALIASES.get(name, name)
    if name not in PADDING_MODES:
        raise UsageError(f"unknown padding mode {mode!r}: choose one of {', '.join(PADDING_MODES)}")
    return name


def pad(x: np.ndarray, padding: Any, mode: str = "zeros") -> np.ndarray:
    """Pad the last two axes of ``x``.

    Args:
        x: (H, W) or (C, H, W), float or exact.
        padding: int, ``(ph, pw)`` or ``(top, bottom, left, right)``.
        mode: zeros, reflect, symmetric, replicate or circular.

    Returns:
        (H + top + bottom, W + left + right) or (C, ...).

    >>> pad(np.array([[1., 2.], [3., 4.]]), 1, "reflect").tolist()[0]
    [4.0, 3.0, 4.0, 3.0]
    >>> pad(np.array([[1., 2.], [3., 4.]]), 1, "symmetric").tolist()[0]
    [1.0, 1.0, 2.0, 2.0]
    """
    mode = check_mode(mode)
    top, bottom, left, right = normalize_pads(padding)
    *lead, H, W = x.shape
    if mode == "reflect" and (max(top, bottom) >= H or max(left, right) >= W):
        raise UsageError(f"reflect padding ({top},{bottom},{left},{right}) must be smaller than the "
                         f"input ({H}x{W}): reflect does not repeat the edge")
    if mode in ("symmetric", "circular") and (max(top, bottom) > H or max(left, right) > W):
        raise UsageError(f"{mode} padding ({top},{bottom},{left},{right}) must be at most the input size ({H}x{W})")
    check_shape((*lead, H + top + bottom, W + left + right), "padded input")
    widths = [(0, 0)] * len(lead) + [(top, bottom), (left, right)]
    if mode == "zeros":
        zero = Fraction(0) if x.dtype == object else 0
        return np.pad(x, widths, mode="constant", constant_values=zero)
    return np.pad(x, widths, mode=PADDING_MODES[mode])


def conv_unused_note(input_hw: tuple[int, int], kernel_hw: tuple[int, int], stride: int | tuple[int, int],
                     padding, dilation: int | tuple[int, int] = 1) -> str | None:
    """:func:`~cnnlab.ops.sizes.unused_note` of a 2-D convolution; ``padding`` as ``cnnlab conv --padding`` takes it.

    >>> conv_unused_note((4, 4), (3, 3), (2, 2), 0, (1, 1))
    'note: no window reads input row 4 or column 4 (counted from 1): the stride does not fit the input'
    """
    stride, dilation = pair(stride, "stride"), pair(dilation, "dilation")
    top, bottom, left, right = resolve_padding(padding, tuple(input_hw), tuple(kernel_hw), stride, dilation)
    rows = unused_input(int(input_hw[0]), int(kernel_hw[0]), stride[0], (top, bottom), dilation[0])
    cols = unused_input(int(input_hw[1]), int(kernel_hw[1]), stride[1], (left, right), dilation[1])
    return unused_note(rows, cols)
