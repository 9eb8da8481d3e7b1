"""The catalogue of common slips a sheet makes in one function call (docs/problems.md `diagnosis`).

Each :class:`Slip` names the functions it can happen in and yields variants
``(message, changed arguments, post)`` of one call; ``post`` maps the call's result (e.g.
×4 for "sum instead of average"). :mod:`cnnlab.problems.diagnose` recomputes a part with
each variant and names the one that gives the claimed answer. A slip is about what was
done, not how the question was phrased: an average pool asked as a convolution with a
constant 1/n kernel has the same "sum instead of average" slip as ``avgpool2d``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from cnnlab.ops.activations import ACTIVATIONS
from cnnlab.ops.padding import PADDING_MODES
from cnnlab.problems import functions

__all__ = ["Slip", "SLIPS", "Variant"]

Variant = tuple[str, dict, "Callable[[Any], Any] | None"]
_MODES = tuple(PADDING_MODES)
_SIZE_FNS = ("conv_output_size", "pool_output_size", "solve_padding", "solve_kernel")
_POOLS = ("maxpool2d", "avgpool2d")
_ACTS = tuple(ACTIVATIONS)


@dataclass(frozen=True)
class Slip:
    """A common mistake: the functions it can happen in and how to recompute with it."""

    name: str
    functions: tuple[str, ...]
    variants: Callable[[str, dict], Iterable[Variant]]


def _is_zero_padding(p: Any) -> bool:
    return p == 0 or p == "valid" or (isinstance(p, tuple) and not any(p))


def _pair(v: Any) -> tuple[int, int]:
    return tuple(v) if isinstance(v, tuple) else (v, v)


def _flip(fn: str, a: dict) -> Iterator[Variant]:
    if a["flip"]:
        yield ("kernel not flipped: the claimed answer is the cross-correlation, but flip=true asks "
               "for the true convolution (kernel rotated by 180°)", dict(a, flip=False), None)
    else:
        yield ("kernel flipped: the claimed answer is a true convolution (kernel rotated by 180°), "
               "but conv2d here is cross-correlation (flip=false)", dict(a, flip=True), None)


def _padding_forgotten(fn: str, a: dict) -> Iterator[Variant]:
    if not _is_zero_padding(a["padding"]):
        yield (f"padding forgotten: the claimed answer is computed without the padding {_show(a['padding'])}",
               dict(a, padding=0), None)


def _padding_mode(fn: str, a: dict) -> Iterator[Variant]:
    key = "padding_mode" if fn == "conv2d" else "mode"
    if _is_zero_padding(a["padding"]):
        return
    # with at most one row/column of padding, symmetric and replicate pad alike: name both
    pads = a["padding"] if isinstance(a["padding"], tuple) else (a["padding"],)
    alike = not isinstance(a["padding"], str) and max(pads) <= 1
    for mode in _MODES:
        if mode == a[key] or (alike and mode == "symmetric"):
            continue
        name = "replicate (or symmetric, the same for one row of padding)" if alike and mode == "replicate" \
            else mode
        yield (f"padding mode: the claimed answer pads with {name} where {a[key]} padding was asked",
               dict(a, **{key: mode}), None)


def _sum_for_average(fn: str, a: dict) -> Iterator[Variant]:
    if fn == "avgpool2d":
        kh, kw = _pair(a["size"])
        # the window sum counts padded zeros too: the average with count_include_pad, times the area
        yield (f"sum instead of average: the claimed values are window sums, not means "
               f"(divide by the {kh * kw} cells of a window)", dict(a, count_include_pad=True),
               lambda r: r * (kh * kw))
    else:
        x = a["x"]
        n = x.shape[-1] * x.shape[-2]
        yield f"sum instead of average: the claimed value is the sum over the {n} cells, not their mean", a, \
            lambda r: r * n


def _max_avg_swapped(fn: str, a: dict) -> Iterator[Variant]:
    other = "avgpool2d" if fn == "maxpool2d" else "maxpool2d"
    keep = {p.name for p in functions.FUNCTIONS[other].params}
    args = {k: v for k, v in a.items() if k in keep}

    def post(_: Any, args=args, other=other) -> Any:
        return functions.invoke(other, dict(_defaults(other), **args), _Quiet())
    word = {"maxpool2d": "max", "avgpool2d": "average"}
    yield f"{word[other]} pooling computed where {word[fn]} pooling was asked", a, post


def _stride_ignored(fn: str, a: dict) -> Iterator[Variant]:
    stride = a["stride"]
    if stride is None and fn in _POOLS + ("pool_output_size",):
        stride = a.get("size", a.get("k"))
    if stride not in (1, (1, 1)):
        yield (f"stride ignored: the claimed answer is computed with stride 1 instead of {_show(stride)}",
               dict(a, stride=1), None)


def _dilation_ignored(fn: str, a: dict) -> Iterator[Variant]:
    if a["dilation"] not in (1, (1, 1)):
        yield (f"dilation ignored: the claimed answer uses the kernel without its dilation {_show(a['dilation'])}",
               dict(a, dilation=1), None)


def _ceil_mode(fn: str, a: dict) -> Iterator[Variant]:
    if fn == "conv_output_size":
        s = a["stride"]
        if s > 1:  # ceil((n + 2p − span)/s) = floor((n + s − 1 + 2p − span)/s)
            yield ("ceil instead of floor in the output size", dict(a, n=a["n"] + s - 1), None)
        return
    yield (f"{'floor' if a['ceil_mode'] else 'ceil'} instead of {'ceil' if a['ceil_mode'] else 'floor'} "
           f"in the output size (ceil_mode={str(not a['ceil_mode']).lower()})",
           dict(a, ceil_mode=not a["ceil_mode"]), None)


def _off_by_one(fn: str, a: dict) -> Iterator[Variant]:
    yield "off-by-one: the claimed size is one less (the '+1' of the size formula forgotten?)", a, lambda r: r - 1
    yield "off-by-one: the claimed size is one more than the right one", a, lambda r: r + 1


def _bias_forgotten(fn: str, a: dict) -> Iterator[Variant]:
    b = a["bias"]
    if not (isinstance(b, np.ndarray) and not b.any()) and not (not isinstance(b, np.ndarray) and b == 0):
        yield "bias forgotten: the claimed answer leaves out the bias", dict(a, bias=0), None


def _activation_skipped(fn: str, a: dict) -> Iterator[Variant]:
    x = a["x"]
    yield f"{fn} not applied: the claimed answer is its input", a, lambda r: x.item() if x.ndim == 0 else x


def _leaky_as_relu(fn: str, a: dict) -> Iterator[Variant]:
    yield "plain ReLU used: negative values set to 0 instead of multiplied by the slope", dict(a, slope=0), None


def _counted_from_zero(fn: str, a: dict) -> Iterator[Variant]:
    key = {"row": "i", "column": "j", "channel": "c"}[fn]
    yield (f"{fn} counted from 0: the claimed answer is {fn} {a[key] + 1} counted from 1",
           dict(a, **{key: a[key] + 1}), None)


def _constant_kernel_sums(fn: str, a: dict) -> Iterator[Variant]:
    """conv2d with every weight 1/n (an average written as a convolution): window sums."""
    k = a["k"]
    first = k.flat[0]
    if not first or any(v != first for v in k.flat):
        return
    window = k.shape[-1] * k.shape[-2] * (k.shape[-3] if k.ndim >= 3 else 1)
    if abs(float(first) * window - 1) > 1e-9:
        return
    ones = k / first if k.dtype != object else np.vectorize(lambda v: Fraction(v) / Fraction(first),
                                                            otypes=[object])(k)
    yield (f"sum instead of average: the claimed values are window sums, not means (the kernel's weights "
           f"are 1/{window}: divide each sum by the {window} cells of a window)", dict(a, k=ones), None)


SLIPS: tuple[Slip, ...] = (
    Slip("flip", ("conv2d",), _flip),
    Slip("padding_forgotten", ("conv2d", "maxpool2d", "avgpool2d", "conv_output_size", "pool_output_size"),
         _padding_forgotten),
    Slip("padding_mode", ("conv2d", "pad"), _padding_mode),
    Slip("sum_for_average", ("avgpool2d", "global_avgpool"), _sum_for_average),
    Slip("sum_for_average_kernel", ("conv2d",), _constant_kernel_sums),
    Slip("stride_ignored", ("conv2d", "conv_transpose2d") + _POOLS + ("conv_output_size", "pool_output_size"),
         _stride_ignored),
    Slip("ceil_floor", _POOLS + ("conv_output_size", "pool_output_size"), _ceil_mode),
    Slip("off_by_one", _SIZE_FNS, _off_by_one),
    Slip("dilation_ignored", ("conv2d", "maxpool2d", "conv_output_size"), _dilation_ignored),
    Slip("bias_forgotten", ("conv2d", "conv_transpose2d"), _bias_forgotten),
    Slip("max_avg_swapped", _POOLS, _max_avg_swapped),
    Slip("activation_skipped", _ACTS, _activation_skipped),
    Slip("leaky_as_relu", ("leaky_relu",), _leaky_as_relu),
    Slip("counted_from_zero", ("row", "column", "channel"), _counted_from_zero),
)


class _Quiet:
    exact = False
    where = "diagnosis"


def _defaults(fn: str) -> dict:
    return {p.name: p.default for p in functions.FUNCTIONS[fn].params if p.default is not functions._REQUIRED}


def _show(v: Any) -> str:
    return "x".join(map(str, v)) if isinstance(v, tuple) else str(v)
