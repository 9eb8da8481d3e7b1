"""Worked solutions: traces of every op, cell by cell, and their renderers.

``trace_conv2d(...)`` and friends return a :class:`Trace`: the vectorised result of
:mod:`cnnlab.ops` plus an explicit, independent computation of every output cell (window,
products, sum, bias, activation). ``trace_blocks`` builds its worked solution as blocks of
:mod:`cnnlab.doc`, ``render_trace`` writes them as text, Markdown, LaTeX or HTML;
``Trace.to_dict`` is the JSON record. No torch here.
"""

from __future__ import annotations

from typing import Any, Callable

from cnnlab.steps.layout import FORMATS, render_trace, render_value, trace_blocks
from cnnlab.steps.numbers import exact_string, format_number, round_half_away, to_json_value
from cnnlab.steps.trace import DEFAULT_MAX_CELLS, Cell, Trace
from cnnlab.steps.trace_act import ACT_FUNCTIONS, trace_act
from cnnlab.steps.trace_conv import trace_conv2d, trace_conv_transpose2d
from cnnlab.steps.trace_pool import trace_pool2d

__all__ = [
    "Trace", "Cell", "DEFAULT_MAX_CELLS", "FORMATS", "ACT_FUNCTIONS",
    "trace_conv2d", "trace_conv_transpose2d", "trace_pool2d", "trace_act", "TRACERS",
    "render_trace", "render_value", "trace_blocks", "format_number", "round_half_away", "exact_string",
    "to_json_value",
]


def _maxpool2d(x: Any, size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> Trace:
    return trace_pool2d(x, "max", size, stride, padding, dilation, ceil_mode)


def _avgpool2d(x: Any, size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Trace:
    return trace_pool2d(x, "avg", size, stride, padding, 1, ceil_mode, count_include_pad)


def _activation(name: str) -> Callable[..., Trace]:
    def tracer(x: Any, *args: Any, **kwargs: Any) -> Trace:
        return trace_act(x, name, *args, **kwargs)

    tracer.__name__ = f"trace_{name}"
    tracer.__doc__ = f"Worked solution of {name}(x)."
    return tracer


# problem-file function name -> tracer with that function's signature (docs/problems.md)
TRACERS: dict[str, Callable[..., Trace]] = {
    "conv2d": trace_conv2d,
    "conv_transpose2d": trace_conv_transpose2d,
    "maxpool2d": _maxpool2d,
    "avgpool2d": _avgpool2d,
    **{name: _activation(name) for name in ACT_FUNCTIONS},
}
