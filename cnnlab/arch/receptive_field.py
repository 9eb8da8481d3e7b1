"""Receptive fields, jumps and starts, one spatial axis at a time.

The recursion of Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional
Neural Networks", Distill 2019: a layer with (effective) kernel ``k``, stride ``s`` and
padding ``p`` before the first element maps the previous layer's state to

    r = r_prev + (k − 1)·j_prev        (receptive field, input pixels)
    j = j_prev·s                       (jump: input pixels between neighbouring units)
    start = start_prev + ((k − 1)/2 − p)·j_prev   (centre of unit 0's field)

with a dilated kernel counted as ``k = d·(k−1)+1``. Here the state is kept as the first
and last input pixel seen by unit 0 (``lo``, ``hi``; 0-based, negative inside the
padding), so that branches can be merged as the union of their fields: ResNet additions
and DenseNet/Inception concatenations take the largest field over all paths. The field
is the theoretical one: it may reach past the input into the padding.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, Sequence

from cnnlab.ops.sizes import effective_kernel

__all__ = ["AxisRF", "input_axis", "through_window", "through_transposed", "through_global",
           "union", "stacked_receptive_fields", "as_number"]


@dataclass(frozen=True)
class AxisRF:
    """Receptive-field state of a feature map along one spatial axis."""

    n: int            # units along this axis
    jump: Fraction    # input pixels between neighbouring units
    lo: Fraction      # first input pixel seen by unit 0 (0-based; < 0 means padding)
    hi: Fraction      # last input pixel seen by unit 0
    whole: bool = False  # every unit sees the same field [lo, hi] (after fc, global pooling)

    @property
    def size(self) -> Fraction:
        """Receptive field: input pixels from the first to the last one seen, ``hi − lo + 1``."""
        return self.hi - self.lo + 1

    @property
    def start(self) -> Fraction:
        """Centre of unit 0's field in input pixel coordinates."""
        return (self.lo + self.hi) / 2

    def interval(self, unit: int) -> tuple[Fraction, Fraction]:
        """First and last input pixel seen by unit ``unit`` of this map."""
        if self.whole:
            return self.lo, self.hi
        return self.lo + unit * self.jump, self.hi + unit * self.jump


def input_axis(n: int) -> AxisRF:
    """The input image along one axis: each pixel sees itself.

    >>> input_axis(227).size
    Fraction(1, 1)
    """
    return AxisRF(n, Fraction(1), Fraction(0), Fraction(0))


def through_window(a: AxisRF, k: int, stride: int, pad_before: int, n_out: int,
                   dilation: int = 1) -> AxisRF:
    """State after a sliding window (convolution or pooling).

    >>> a = through_window(input_axis(227), 11, 4, 0, 55)
    >>> a.size, a.jump, a.start
    (Fraction(11, 1), Fraction(4, 1), Fraction(5, 1))
    """
    if a.whole:
        return AxisRF(n_out, a.jump * stride, a.lo, a.hi, True)
    span = effective_kernel(k, dilation)
    return AxisRF(n_out, a.jump * stride, a.lo - pad_before * a.jump,
                  a.hi + (span - 1 - pad_before) * a.jump)


def through_transposed(a: AxisRF, k: int, stride: int, pad: int, n_out: int,
                       dilation: int = 1) -> AxisRF:
    """State after a transposed convolution, for output unit 0.

    Output ``o`` receives input ``i`` through tap ``t`` when ``o = i·s − p + t·d``; unit 0
    therefore sees the inputs ``i = (p − t·d)/s`` that are whole numbers. The jump becomes
    ``j/s`` (a fraction when s > 1).
    """
    if a.whole:
        return AxisRF(n_out, a.jump / stride, a.lo, a.hi, True)
    seen = [Fraction(pad - t * dilation, stride) for t in range(k)]
    seen = [i for i in seen if i.denominator == 1] or [Fraction(pad, stride)]
    first, last = min(seen), max(seen)
    return AxisRF(n_out, a.jump / stride, a.lo + first * a.jump, a.hi + last * a.jump)


def through_global(a: AxisRF) -> AxisRF:
    """State after a layer whose one unit sees the whole map (global pooling, fc).

    Its field is the union of the fields of all units of the map; it stays the same
    through any later layer (a field that already covers everything cannot grow).
    """
    if a.whole:
        return AxisRF(1, a.jump * a.n, a.lo, a.hi, True)
    b = through_window(a, a.n, a.n, 0, 1)
    return AxisRF(b.n, b.jump, b.lo, b.hi, True)


def union(axes: Sequence[AxisRF], n_out: int) -> AxisRF:
    """Merge branches (addition, concatenation): the union of their fields for unit 0.

    The jump is the one of a branch with ``n_out`` units (the others were broadcast).
    """
    same = [a for a in axes if a.n == n_out] or list(axes)
    return AxisRF(n_out, min(a.jump for a in same), min(a.lo for a in axes), max(a.hi for a in axes),
                  any(a.whole for a in axes))


def stacked_receptive_fields(kernels: Iterable[int], strides: Iterable[int],
                             dilations: Iterable[int] | None = None) -> list[tuple[int, int]]:
    """(receptive field, jump) after each layer of a stack, by the recursion above.

    >>> stacked_receptive_fields([3, 3, 3], [1, 1, 1])
    [(3, 1), (5, 1), (7, 1)]
    """
    r, j = 1, 1
    out = []
    dilations = list(dilations) if dilations is not None else None
    for i, (k, s) in enumerate(zip(kernels, strides)):
        d = 1 if dilations is None else dilations[i]
        r += (effective_kernel(k, d) - 1) * j
        j *= s
        out.append((r, j))
    return out


def as_number(value: Fraction) -> int | float:
    """A Fraction as a plain JSON number: an int when whole."""
    return int(value) if value.denominator == 1 else float(value)
