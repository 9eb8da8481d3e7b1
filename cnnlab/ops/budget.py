"""Work budgets: how much exact arithmetic, worked steps and printed output a command may do.

The size limits of docs/conventions.md (4,096 per side, 2^26 elements) bound memory, not time:
exact (Fraction) arithmetic costs microseconds per multiply-add, and writing every cell of
a 4,001×4,001 result as text takes minutes. So before it starts, a command estimates its
work in *cells × window size* (the multiply-adds of a convolution or pooling; one per
element for element-wise functions) and refuses, with a message naming the budget, work
over these (documented in docs/problems.md):

- :data:`EXACT_WORK_BUDGET` — exact mode (``--exact``, ``exact: true``), per command or file;
- :data:`FILE_WORK_BUDGET` — all the calls of one problem file in float mode, each call
  counting at least :data:`CALL_COST` (parsing, checking and rendering it);
- :data:`STEPS_WORK_BUDGET` — cells worked out step by step (``--max-cells 0``);
- :data:`RENDER_CELL_BUDGET` — numbers written out as text, Markdown or LaTeX.

>>> conv_work((1, 512, 512), (3, 3), padding=1)
(262144, 9)
>>> check_work(10**9, EXACT_WORK_BUDGET, "exact arithmetic", "use float mode")
Traceback (most recent call last):
...
cnnlab.errors.UsageError: exact arithmetic needs 1,000,000,000 multiply-adds (cells × window size), over the budget of 2,000,000; use float mode
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from cnnlab.errors import UsageError
from cnnlab.ops.padding import pair, resolve_padding

__all__ = ["EXACT_WORK_BUDGET", "FILE_WORK_BUDGET", "STEPS_WORK_BUDGET", "RENDER_CELL_BUDGET", "CALL_COST",
           "Budget", "conv_work", "pool_work", "transposed_work", "check_work", "exact_hint", "render_hint"]

EXACT_WORK_BUDGET = 2_000_000  # Fraction multiply-adds (and inputs converted): a few seconds a core
FILE_WORK_BUDGET = 500_000_000  # float multiply-adds of all the calls of one problem file
CALL_COST = 50_000  # what one call costs at least (parse, check, trace, render): 10,000 calls a file
STEPS_WORK_BUDGET = 1_000_000  # cells worked out step by step × their window size
RENDER_CELL_BUDGET = 250_000  # numbers written as text/Markdown/LaTeX (a 500×500 matrix)


def exact_hint(exact_flag: str = "--exact", round_flag: str = "--round N") -> str:
    return (f"leave out {exact_flag} (float arithmetic is fast; {round_flag} rounds what is shown), "
            "or use a smaller input")


def render_hint() -> str:
    return "use --format json for the full result, or a smaller input"


def check_work(work: int, budget: int, what: str, hint: str) -> None:
    """Refuse ``work`` over ``budget`` with a message naming both and what to do instead."""
    if work > budget:
        raise UsageError(f"{what} needs {work:,} multiply-adds (cells × window size), over the budget of "
                         f"{budget:,}; {hint}")


def _hw(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(C, H, W) of a 2-D or 3-D shape."""
    if len(shape) == 2:
        return 1, shape[0], shape[1]
    return (math.prod(shape[:-2]) or 1), shape[-2], shape[-1]


def _out(n: int, span: int, stride: int, before: int, after: int) -> int:
    return max((n + before + after - span) // stride + 1, 0)


def conv_work(x_shape: tuple[int, ...], k_shape: tuple[int, ...], stride: Any = 1, padding: Any = 0,
              dilation: Any = 1, groups: int = 1) -> tuple[int, int]:
    """(output cells, window size) of a convolution, from shapes only.

    x is (H, W) or (C, H, W); k is (kh, kw), (C_in, kh, kw) or (C_out, C_in/groups, kh, kw).
    """
    C, H, W = _hw(x_shape)
    kh, kw = k_shape[-2:]
    c_out = k_shape[0] if len(k_shape) == 4 else 1
    per_group = k_shape[1] if len(k_shape) == 4 else (k_shape[0] if len(k_shape) == 3 else C)
    (sh, sw), (dh, dw) = pair(stride, "stride"), pair(dilation, "dilation")
    t, b, l, r = resolve_padding(padding, (H, W), (kh, kw), (sh, sw), (dh, dw))
    cells = c_out * _out(H, dh * (kh - 1) + 1, sh, t, b) * _out(W, dw * (kw - 1) + 1, sw, l, r)
    return cells, max(per_group, 1) * kh * kw


def transposed_work(x_shape: tuple[int, ...], k_shape: tuple[int, ...]) -> tuple[int, int]:
    """(scattered input cells, kernel size × output channels) of a transposed convolution."""
    C, H, W = _hw(x_shape)
    c_out = k_shape[1] if len(k_shape) == 4 else 1
    return C * H * W, c_out * k_shape[-2] * k_shape[-1]


def pool_work(x_shape: tuple[int, ...], size: Any, stride: Any = None, padding: Any = 0) -> tuple[int, int]:
    """(output cells, window size) of a pooling."""
    C, H, W = _hw(x_shape)
    kh, kw = pair(size, "size")
    sh, sw = pair(stride if stride is not None else size, "stride")
    ph, pw = pair(padding, "padding", minimum=0)
    return C * _out(H, kh, sh, ph, ph) * _out(W, kw, sw, pw, pw), kh * kw


@dataclass
class Budget:
    """Work left for one command or problem file; :meth:`charge` refuses what is over."""

    limit: int
    what: str
    hint: str
    per_call: int = 0  # what a call costs at least
    used: int = 0

    def charge(self, work: int) -> None:
        self.used += max(work, self.per_call)
        if self.used > self.limit:
            floor = f", {self.per_call:,} at least per call" if self.per_call else ""
            raise UsageError(f"{self.what} needs more than {self.limit:,} multiply-adds (cells × window "
                             f"size{floor}), its budget; {self.hint}")
