"""What /conv shows beside the /api/conv answer: the input rows and columns no window reads.

``POST /api/conv/unused`` ``{"size": [H, W], "kernel": [kh, kw], "stride": [sh, sw],
"padding": [top, bottom, left, right], "dilation": [dh, dw]}`` → ``{"rows", "cols",
"note"}`` (0-based; ``note`` is the line ``cnnlab conv`` prints, or null). The page sends
the resolved geometry of the convolution it has just shown (docs/serve.md, "/conv").
"""

from __future__ import annotations

from typing import Any

from cnnlab.errors import UsageError

__all__ = ["conv_unused"]

_LIMIT = 4096  # larger sides are refused before any list is built
_FIELDS = {"size": 2, "kernel": 2, "stride": 2, "padding": 4, "dilation": 2}


def _ints(body: dict, name: str, count: int) -> list[int]:
    value = body.get(name)
    if not (isinstance(value, list) and len(value) == count
            and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= _LIMIT for v in value)):
        raise UsageError(f"{name}: give {count} whole numbers from 0 to {_LIMIT}")
    return value


def conv_unused(body: Any) -> dict:
    """Unused rows and columns of the convolution geometry in ``body``."""
    from cnnlab.ops.sizes import unused_input, unused_note

    if not isinstance(body, dict):
        raise UsageError("the request body must be a JSON object")
    unknown = set(body) - set(_FIELDS)
    if unknown:
        raise UsageError(f"unknown field {sorted(unknown)[0]!r}; fields: {', '.join(_FIELDS)}")
    size, kernel, stride, pads, dilation = (_ints(body, k, n) for k, n in _FIELDS.items())
    rows = unused_input(size[0], kernel[0], stride[0], (pads[0], pads[1]), dilation[0])
    cols = unused_input(size[1], kernel[1], stride[1], (pads[2], pads[3]), dilation[1])
    return {"rows": rows, "cols": cols, "note": unused_note(rows, cols)}
