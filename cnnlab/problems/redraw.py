"""An instructor's own sheet with new numbers: ``cnnlab quiz --from sheet.yaml --seed N``.

Every tensor in ``given`` is drawn again with the same shape, as integers a hand can work
with, in the range of the original values (at most −9..9): a non-negative image stays
non-negative, a kernel with negative weights keeps them. A constant tensor (an all-ones
filter, a 1/9 box) is kept as it is, since its being constant is the point of the
question; numbers and strings (sizes, rates, architectures) are kept too. The key is then
recomputed by solving the new file. A draw that makes some part impossible (a square
root of a negative, a division by zero) is drawn again.

>>> import random
>>> redraw_value([[0, 5], [2, 1]], random.Random(1))
[[1, 4], [0, 2]]
"""

from __future__ import annotations

import copy
import math
import random
from fractions import Fraction
from typing import Any

from cnnlab.errors import UsageError
from cnnlab.problems.loader import Problem, ProblemSet
from cnnlab.problems.quiz import attach_key

__all__ = ["quiz_from", "redraw_value", "HAND_RANGE", "TRIES"]

HAND_RANGE = 9  # drawn integers stay within -9..9
TRIES = 30  # draws of one problem before giving up


def _leaves(v: Any) -> list:
    if isinstance(v, list):
        return [x for e in v for x in _leaves(e)]
    return [v]


def _number(v: Any) -> Fraction | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return Fraction(v) if math.isfinite(v) else None
    if isinstance(v, str) and "/" in v:
        try:
            return Fraction(v.replace(" ", ""))
        except (ValueError, ZeroDivisionError):
            return None
    return None


def redraw_value(v: Any, rng: random.Random) -> Any:
    """A given value with new hand-sized integers of the same shape (see the module doc)."""
    if not isinstance(v, list):
        return v
    numbers = [_number(e) for e in _leaves(v)]
    if not numbers or any(n is None for n in numbers) or len(set(numbers)) == 1:
        return v
    lo = max(math.floor(min(numbers)), -HAND_RANGE)
    hi = min(math.ceil(max(numbers)), HAND_RANGE)
    if hi <= lo:
        lo, hi = (lo - 1, lo) if lo > 0 else (lo, lo + 1)

    def draw(e: Any) -> Any:
        return [draw(x) for x in e] if isinstance(e, list) else rng.randint(lo, hi)
    return draw(v)


def _as_dict(problem: Problem) -> dict:
    out: dict[str, Any] = {"title": problem.title, "text": problem.text, "round": problem.round,
                           "exact": problem.exact, "given": copy.deepcopy(problem.given),
                           "parts": [{"id": p.id, "ask": p.ask, "text": p.text} for p in problem.parts]}
    for part in out["parts"]:
        if part["text"] is None:
            del part["text"]
    return {k: v for k, v in out.items() if v is not None}


def quiz_from(pset: ProblemSet, seed: int) -> dict:
    """The sheet as a quiz (problem file dict) with new given tensors and its recomputed key."""
    rng = random.Random(f"from:{seed}")
    problems = []
    for i, problem in enumerate(pset.problems):
        base = _as_dict(problem)
        last: UsageError | None = None
        for _ in range(TRIES):
            candidate = dict(base, given={k: redraw_value(v, rng) for k, v in problem.given.items()})
            try:
                attach_key({"problems": [copy.deepcopy(candidate)]})
            except UsageError as exc:
                last = exc
                continue
            problems.append(candidate)
            break
        else:
            raise UsageError(f"{pset.source}: problem {i + 1}: none of {TRIES} new draws of its given values "
                             f"could be solved (last: {last})")
    title = (pset.title or "Problem set") + f" (new numbers, seed {seed})"
    return attach_key({"title": title, "problems": problems})
