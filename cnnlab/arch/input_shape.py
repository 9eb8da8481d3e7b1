"""The input shape of an architecture: ``"3x224x224"``, ``[3, 224, 224]``, NCHW or NHWC.

Nothing here imports torch.
"""

from __future__ import annotations

import re

from cnnlab.errors import MAX_ELEMENTS, UsageError, check_shape

__all__ = ["LAYOUTS", "parse_input_shape"]

LAYOUTS = ("chw", "nchw", "nhwc")


def parse_input_shape(value: str | list | tuple, layout: str = "chw") -> tuple[int, ...]:
    """Input shape as channel-first ``(C, H, W)``, or ``(N,)`` for a flat vector.

    ``value`` is ``"CxHxW"`` (``"HxW"`` means one channel; ``"N"`` a vector), or a list.
    With ``layout="nhwc"`` it reads ``[N×]H×W×C``; with ``"nchw"`` ``[N×]C×H×W``
    (the batch size, if given, is only displayed: every number is per example).

    >>> parse_input_shape("3x227x227")
    (3, 227, 227)
    >>> parse_input_shape("1x32x32x3", layout="nhwc")
    (3, 32, 32)
    """
    if layout not in LAYOUTS:
        raise UsageError(f"unknown layout {layout!r}; choose from {', '.join(LAYOUTS)}")
    if isinstance(value, str):
        text = value.strip().lower()
        parts = re.split(r"\s*[x×,]\s*|\s+", text)
        if not re.fullmatch(r"\d+(\s*[x×,]\s*\d+|\s+\d+)*", text):
            raise UsageError(f"input shape {value!r} is not like CxHxW (e.g. 3x224x224)")
        dims = [int(p) for p in parts]
    elif isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        dims = list(value)
    else:
        raise UsageError(f"input shape {value!r} is not like CxHxW (e.g. 3x224x224)")
    if layout != "chw":
        if len(dims) == 4:
            dims = dims[1:]
        if layout == "nhwc" and len(dims) == 3:
            dims = [dims[2], dims[0], dims[1]]
    if len(dims) == 2:
        dims = [1] + dims
    if len(dims) not in (1, 3):
        raise UsageError(f"input shape {value!r} must have 3 sizes (CxHxW), 2 (HxW) or 1 (a vector)")
    if any(d <= 0 for d in dims):
        raise UsageError(f"input shape {value!r} has a size that is not positive")
    if len(dims) == 1 and dims[0] > MAX_ELEMENTS:
        raise UsageError(f"input vector of {dims[0]} values is over the limit of 2^26 = {MAX_ELEMENTS}")
    if len(dims) == 3:
        check_shape(dims, "input")
    return tuple(dims)
