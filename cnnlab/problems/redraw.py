"""An instructor's own sheet with new numbers: ``cnnlab quiz --from sheet.yaml --seed N``.

Every tensor in ``given`` is drawn again with the same shape and the same kind of number
(integers, halves, ninths...), in the range of the original values kept hand-sized (see
docs/problems.md): a non-negative image stays non-negative, a patch of values 12 to 15
keeps them, a kernel with negative weights keeps them, and a separable (rank-1) matrix is
drawn as an outer product, so it stays separable. A constant tensor (an all-ones filter, a
1/9 box) is kept as it is, since its being constant is the point of the question; numbers
and strings (sizes, rates, architectures) are kept too. Values a text writes out are
rewritten. The key is then recomputed by solving the new file. A draw that makes some part
impossible (a square root of a negative, a division by zero) or leaves a part without an
answer is drawn again.

>>> import random
>>> redraw_value([[0, 5], [2, 1]], random.Random(1))
[[1, 4], [0, 2]]
"""

from __future__ import annotations

import copy
import math
import random
import re
from fractions import Fraction
from typing import Any

from cnnlab.errors import UsageError
from cnnlab.problems.loader import Problem, ProblemSet
from cnnlab.problems.quiz import attach_key

__all__ = ["quiz_from", "redraw_value", "HAND_RANGE", "TRIES"]

HAND_RANGE = 9  # drawn integers stay within -9..9
TRIES = 30  # draws of one problem before giving up
_MAX_DENOMINATOR = 100  # values on a finer grid than 1/100 are kept, not drawn


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


def _step(numbers: list[Fraction]) -> Fraction | None:
    """The grid the values lie on: 1 for integers, 1/2 for halves, 1/9 for ninths (None: too fine)."""
    d = 1
    for n in numbers:
        d = math.lcm(d, n.denominator)
        if d > _MAX_DENOMINATOR:
            return None
    return Fraction(1, d)


def _range(numbers: list[Fraction], step: Fraction) -> tuple[int, int]:
    """Draw range in units of ``step``: the original's [min, max], kept hand-sized (at most
    2·HAND_RANGE + 1 values, inside −9..9 where the original reaches that band)."""
    lo, hi = math.ceil(min(numbers) / step), math.floor(max(numbers) / step)
    band_lo, band_hi = max(lo, math.ceil(-HAND_RANGE / step)), min(hi, math.floor(HAND_RANGE / step))
    if band_hi - band_lo >= 1:  # the original reaches -9..9 with room for two values: stay there
        lo, hi = band_lo, band_hi
    if hi - lo > 2 * HAND_RANGE:  # 0..255 pixel values: a window of 19 at the original's low end
        hi = lo + 2 * HAND_RANGE
    return lo, hi


def _written(n: int, step: Fraction, like: Any) -> Any:
    """n·step written as the original was: an int, a float (0.5), or a fraction string "1/9"."""
    v = n * step
    if v.denominator == 1:
        return int(v)
    if isinstance(like, str):
        return f"{v.numerator}/{v.denominator}"
    return float(v)


def redraw_value(v: Any, rng: random.Random) -> Any:
    """A given value with new hand-sized numbers of the same shape, range and kind (module doc)."""
    if not isinstance(v, list):
        return v
    leaves = _leaves(v)
    numbers = [_number(e) for e in leaves]
    if not numbers or any(n is None for n in numbers) or len(set(numbers)) == 1:
        return v
    step = _step(numbers)
    if step is None:  # values such as 0.123456: not a sheet's numbers; keep them
        return v
    lo, hi = _range(numbers, step)
    like = next((e for e in leaves if isinstance(e, (float, str))), leaves[0])
    if _is_rank1_matrix(v, numbers):  # a separable kernel stays separable
        drawn = _rank1(len(v), len(v[0]), lo, hi, rng)
        if drawn is not None:
            return [[_written(n, step, like) for n in row] for row in drawn]

    def draw(e: Any) -> Any:
        return [draw(x) for x in e] if isinstance(e, list) else _written(rng.randint(lo, hi), step, like)
    return draw(v)


def _is_rank1_matrix(v: list, numbers: list[Fraction]) -> bool:
    """A 2-D matrix of rank 1 (every 2x2 minor 0): a separable kernel such as Sobel."""
    if not (all(isinstance(r, list) and not any(isinstance(e, list) for e in r) for r in v)
            and len(v) >= 2 and len(v[0]) >= 2 and len({len(r) for r in v}) == 1):
        return False
    H, W = len(v), len(v[0])
    m = [numbers[i * W:(i + 1) * W] for i in range(H)]
    return all(m[a][c] * m[b][d] == m[a][d] * m[b][c]
               for a in range(H) for b in range(a + 1, H) for c in range(W) for d in range(c + 1, W))


def _rank1(H: int, W: int, lo: int, hi: int, rng: random.Random) -> list[list[int]] | None:
    """An H×W outer product of two small integer vectors inside [lo, hi], not constant."""
    small = list(range(0 if lo >= 0 else -3, 4))  # factors of a non-negative kernel stay >= 0
    for _ in range(500):
        col = [rng.choice(small) for _ in range(H)]
        row = [rng.choice(small) for _ in range(W)]
        m = [[c * r for r in row] for c in col]
        flat = [x for r in m for x in r]
        if all(lo <= x <= hi for x in flat) and len(set(flat)) > 1:
            return m
    return None


def _nulls(v: Any, path: str = "") -> set[str]:
    """Where a key value is null (``separable(K)["column"]`` of a kernel that is not separable)."""
    if v is None:
        return {path}
    if isinstance(v, dict):
        return {p for k, e in v.items() for p in _nulls(e, f"{path}/{k}")}
    if isinstance(v, list):
        return {p for i, e in enumerate(v) for p in _nulls(e, f"{path}/{i}")}
    return set()


def _answers(problem: dict) -> list[Any]:
    return [p.get("answer") for p in problem["parts"]]


def _rewrite_text(text: str | None, old: dict, new: dict) -> str | None:
    """Values of redrawn tensors named in a text, rewritten: a written list (``[[1, 2], [3, 4]]``,
    a row ``[1, 2]``) or one entry (``X[0, 1] = 2``, counted from 0 as in an ask)."""
    if not text:
        return text
    for name in old:
        if old[name] == new[name] or not isinstance(old[name], list):
            continue
        pairs = [(old[name], new[name])]
        if all(isinstance(r, list) for r in old[name]):
            pairs += list(zip(old[name], new[name]))
        for before, after in sorted(pairs, key=lambda p: -len(str(p[0]))):
            text = _as_pattern(before).sub(lambda m, after=after: _written_list(after), text)

        def entry(m: re.Match, name: str = name) -> str:
            try:
                value = new[name]
                for i in re.split(r"\]?\s*[,\[]\s*", m.group(2)):
                    value = value[int(i)]
            except (IndexError, ValueError, TypeError):
                return m.group(0)
            return f"{m.group(1)}{value}"
        text = re.sub(rf"(\b{re.escape(name)}\[([0-9 ,\[\]]+)\]\s*=\s*)-?\d+(?:\.\d+)?(?:/\d+)?", entry, text)
    return text


def _written_list(v: Any) -> str:
    return str(v).replace("'", "")


def _as_pattern(v: Any) -> re.Pattern:
    """A written list, whatever the spaces around its brackets and commas: [[1,2], [3, 4]]."""
    pieces = re.split(r"\s*([\[\],])\s*", _written_list(v))
    body = r"\s*".join(re.escape(p) for p in pieces if p)
    return re.compile(r"(?<![\w.])" + body + r"(?!\w|\.\d)")


_WRITTEN_SEQUENCE = re.compile(r"\[\s*-?\d+(?:\.\d+)?(?:\s*[,\s]\s*-?\d+(?:\.\d+)?)+\s*\]")


def _lines_of(v: Any) -> list[tuple[Fraction, ...]]:
    """The rows and columns of a matrix (the vector itself for a vector), as numbers."""
    if not isinstance(v, list) or not v:
        return []
    if not isinstance(v[0], list):
        nums = [_number(e) for e in v]
        return [tuple(nums)] if None not in nums else []
    if isinstance(v[0][0], list):
        return [line for m in v for line in _lines_of(m)]
    rows = [tuple(_number(e) for e in r) for r in v]
    return [r for r in rows + list(zip(*rows)) if None not in r]


def _names_old_values(text: str | None, old: dict, new: dict) -> bool:
    """Does the text still write out a row or column of a redrawn tensor's old values
    (``[1 2 1]ᵀ ⊗ [1 2 1]``, a form the rewriting does not know)?"""
    if not text:
        return False
    stale = set()
    for name in old:
        if old[name] != new[name]:
            stale |= set(_lines_of(old[name])) - set(_lines_of(new[name]))
    for m in _WRITTEN_SEQUENCE.finditer(text):
        numbers = tuple(Fraction(t) for t in re.findall(r"-?\d+(?:\.\d+)?", m.group(0)))
        if numbers in stale:
            return True
    return False


def _redrawn(base: dict, problem: Problem, rng: random.Random) -> dict:
    """A candidate sheet: new given values, texts rewritten; a text that still writes out old
    values is refused, and its part asks in the words of its expression instead."""
    given = {k: redraw_value(v, rng) for k, v in problem.given.items()}
    out = dict(base, given=given)
    if "text" in base:
        out["text"] = _rewrite_text(base["text"], problem.given, given)
        if _names_old_values(out["text"], problem.given, given):
            del out["text"]
    parts = []
    for p in base["parts"]:
        p = dict(p)
        if "text" in p:
            p["text"] = _rewrite_text(p["text"], problem.given, given)
            if _names_old_values(p["text"], problem.given, given):
                p["text"] = f"Compute {p['ask'].split('=', 1)[-1].strip() if _is_named(p['ask']) else p['ask']}."
        parts.append(p)
    out["parts"] = parts
    return out


def _is_named(ask: str) -> bool:
    """``NAME = expression`` (not ``==`` or a keyword argument's ``=`` inside a call)."""
    return re.match(r"^\s*[A-Za-z_]\w*\s*=(?!=)", ask) is not None


def _as_dict(problem: Problem) -> dict:
    out: dict[str, Any] = {"title": problem.title, "text": problem.text, "round": problem.round,
                           "exact": problem.exact, "given": copy.deepcopy(problem.given),
                           "parts": [{"id": p.id, "ask": p.ask, "text": p.text} for p in problem.parts]}
    for part in out["parts"]:
        if part["text"] is None:
            del part["text"]
    return {k: v for k, v in out.items() if v is not None}


def quiz_from(pset: ProblemSet, seed: int) -> dict:
    """The sheet as a quiz (problem file dict) with new given tensors and its recomputed key.

    A draw is kept only when every part is solved and no part's answer is null where the
    original's is not (a kernel drawn non-separable for "give its column")."""
    rng = random.Random(f"from:{seed}")
    problems = []
    for i, problem in enumerate(pset.problems):
        base = _as_dict(problem)
        original = attach_key({"problems": [copy.deepcopy(base)]})["problems"][0]
        allowed = [_nulls(a) for a in _answers(original)]
        last: str | None = None
        for _ in range(TRIES):
            candidate = _redrawn(base, problem, rng)
            if candidate["given"] == base["given"] and any(isinstance(v, list) for v in base["given"].values()):
                continue  # drawn the same numbers again
            try:
                keyed = attach_key({"problems": [copy.deepcopy(candidate)]})["problems"][0]
            except UsageError as exc:
                last = str(exc)
                continue
            null = next((p["id"] for p, ok in zip(keyed["parts"], allowed) if not _nulls(p.get("answer")) <= ok),
                        None)
            if null is not None:
                last = f"part {null} has no answer (null) for the new numbers"
                continue
            problems.append(candidate)
            break
        else:
            raise UsageError(f"{pset.source}: problem {i + 1}: none of {TRIES} new draws of its given values "
                             f"could be solved (last: {last})")
    title = (pset.title or "Problem set") + f" (new numbers, seed {seed})"
    return attach_key({"title": title, "problems": problems})
