"""The work bound of each part that runs the model, checked before the first part starts.

A part's bound is (image passes, model calls, what to lower), weighed by
:func:`cnnlab.explain.budget.check_work` (docs/limits.md); filters and coef only read the
weights, bounded when the run is loaded.
"""

from __future__ import annotations

from typing import Callable

from cnnlab.errors import UsageError
from cnnlab.explain.context import RunContext

__all__ = ["check_parts"]


def _maps_work(ctx: RunContext) -> tuple[int, int, str]:
    return 1, 1, "explain fewer layers"


def _gradcam_work(ctx: RunContext) -> tuple[int, int, str]:
    return 3 * ctx.config.count, 1, "lower --count"  # forward, and backward counted as two


def _maximize_work(ctx: RunContext) -> tuple[int, int, str]:
    from cnnlab.explain.budget import MAX_WORK, part_work

    steps = ctx.config.steps
    targets = sum(len(g) for g in ctx.objectives())
    most = int(MAX_WORK // part_work(3 * targets, ctx.macs, 1))  # steps that fit
    return (steps * 3 * targets, steps,
            f"lower --steps (at most {most:,} for {targets} target(s)) or give --maximize fewer targets")


def _shift_work(ctx: RunContext) -> tuple[int, int, str]:
    from cnnlab.explain.budget import max_images
    from cnnlab.explain.robustness import CHUNK, shift_passes

    m = ctx.config.max_shift
    H, W = ctx.shape[1:]
    if not 0 <= m < min(H, W):
        raise UsageError(f"--max-shift must be between 0 and {min(H, W) - 1} for {H}x{W} images, got {m}")
    n = len(ctx.shift_images()[0])
    per = max(1, CHUNK // (4 * m + 1))  # images per model call
    most = max_images(4 * m + 1, ctx.macs, per)
    return (shift_passes(n, m), -(-n // per),
            f"give --limit N with N at most {most:,} (at --max-shift {m}), or a smaller --max-shift")


_WORK: dict[str, Callable[[RunContext], tuple[int, int, str]]] = {
    "maps": _maps_work, "gradcam": _gradcam_work, "maximize": _maximize_work, "shift": _shift_work,
}


def check_parts(ctx: RunContext, parts: list[str]) -> None:
    """Every part's work bound, checked before the first part starts (docs/limits.md)."""
    from cnnlab.explain.budget import check_work

    for part in (p for p in parts if p in _WORK):
        passes, calls, lower = _WORK[part](ctx)
        check_work(part, passes, ctx.macs, calls, lower)
