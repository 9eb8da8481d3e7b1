"""What one call of the ask language costs, and the meter that keeps a problem file in budget.

The work of a call is estimated from its arguments' shapes before it runs (cells × window
size, see :mod:`cnnlab.ops.budget`); :class:`WorkMeter` charges it to the file's budget,
and to the exact-arithmetic budget when the call works on fractions. The budgets are
documented in docs/problems.md.

>>> import numpy as np
>>> call_work("conv2d", {"x": np.zeros((5, 5)), "k": np.zeros((3, 3)), "stride": 1, "padding": 1,
...                      "dilation": 1, "groups": 1})
225
"""

from __future__ import annotations

import ast
import math
from typing import Any, Callable

import numpy as np

from cnnlab.errors import UsageError
from cnnlab.ops import budget as B

__all__ = ["call_work", "WorkMeter", "check_file_size"]


def _shape(v: Any) -> tuple[int, ...]:
    return tuple(np.shape(v)) if isinstance(v, np.ndarray) else ()


def _conv(a: dict) -> int:
    cells, window = B.conv_work(_shape(a["x"]), _shape(a["k"]), a["stride"], a["padding"], a["dilation"],
                                a["groups"])
    return cells * window


def _transposed(a: dict) -> int:
    cells, window = B.transposed_work(_shape(a["x"]), _shape(a["k"]))
    return cells * window


def _pool(a: dict) -> int:
    cells, window = B.pool_work(_shape(a["x"]), a["size"], a["stride"], a["padding"])
    return cells * window


def _elimination(a: dict) -> int:
    h, w = _shape(a["k"])[-2:]
    return h * w * min(h, w)  # Gaussian elimination (rank, separability) of an h×w kernel


def _pad(a: dict) -> int:
    x, p = a["x"], a["padding"]
    if isinstance(p, str):
        return x.size
    t, b, l, r = (p, p, p, p) if isinstance(p, int) else ((p[0], p[0], p[1], p[1]) if len(p) == 2 else p)
    C = math.prod(x.shape[:-2]) or 1
    return C * (x.shape[-2] + t + b) * (x.shape[-1] + l + r)


_WORK: dict[str, Callable[[dict], int]] = {
    "conv2d": _conv, "conv_transpose2d": _transposed, "maxpool2d": _pool, "avgpool2d": _pool,
    "rank": _elimination, "separable": _elimination, "describe_kernel": _elimination, "pad": _pad,
    "softmax_jacobian": lambda a: a["x"].size ** 2,
}
_ALWAYS_EXACT = {"rank", "separable", "describe_kernel"}  # integer kernels are eliminated in fractions


def call_work(name: str, args: dict) -> int:
    """Multiply-adds of one call (cells × window size); at least its largest tensor's size."""
    size = max((v.size for v in args.values() if isinstance(v, np.ndarray)), default=1)
    estimate = _WORK.get(name)
    if estimate is None:
        return size
    try:
        return max(estimate(args), size)
    except (UsageError, TypeError, ValueError, IndexError, KeyError):
        return size  # arguments the call itself will refuse, with its own message


class WorkMeter:
    """The budgets of one problem file: all calls, and those on exact fractions."""

    def __init__(self, source: str):
        self.file = B.Budget(B.FILE_WORK_BUDGET, f"{source}: the problem file",
                             "split it into smaller files, or use smaller inputs", per_call=B.CALL_COST)
        self.kernels = B.Budget(B.EXACT_WORK_BUDGET, "the exact elimination of kernels (rank, separable, "
                                "describe_kernel)", "kernels of a few hundred rows and columns at most fit it")
        self.exact = B.Budget(B.EXACT_WORK_BUDGET, "exact arithmetic", B.exact_hint("`exact: true`", "`round: N`"))

    def charge(self, name: str, args: dict, exact: bool) -> None:
        """Charge one call before it runs; :class:`UsageError` when a budget is spent."""
        work = call_work(name, args)
        if name in _ALWAYS_EXACT:
            self.kernels.charge(work)
        elif exact:
            self.exact.charge(work)
        self.file.charge(work)


def check_file_size(trees: list[ast.expr] | int, source: str) -> None:
    """Refuse a file with more calls (or parts, given a count) than the budget allows, before
    computing any."""
    calls = trees if isinstance(trees, int) else \
        sum(max(1, sum(isinstance(n, ast.Call) for n in ast.walk(t))) for t in trees)
    if calls * B.CALL_COST > B.FILE_WORK_BUDGET:
        raise UsageError(f"{source}: {calls:,} calls (at least {B.CALL_COST:,} multiply-adds each) are over "
                         f"the problem-file budget of {B.FILE_WORK_BUDGET:,} ({B.FILE_WORK_BUDGET // B.CALL_COST:,} "
                         "calls); split it into smaller files")
