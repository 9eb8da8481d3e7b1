"""Naming the likely mistake behind a wrong claimed answer (docs/problems.md `diagnosis`).

The part is recomputed with one common slip at a time — the catalogue of call-level
slips is :data:`cnnlab.problems.slips.SLIPS` (kernel flipped or not, padding forgotten,
another padding mode, a sum taken for an average, the stride ignored, floor and ceil
swapped...); the whole-part slips (rounding, an error carried from an earlier part) are
:data:`PART_SLIPS` here. A slip is named only when its recomputation gives the claimed
value in every cell that is wrong (cells the sheet got right are not held against it);
when the claimed shape differs from the computed one, the whole recomputed tensor must
match. A slip is also tried in every call it fits at once, and in the earlier parts a part
uses by name (``gx``, ``gy``, then ``sqrt(gx**2 + gy**2)``); a sum where an average was
asked is found from the values (the claim is n times the answer, n the count of one of the
part's averages), however the average is written. When no single slip explains the
answer, pairs of slips are tried (both in one recomputation) on parts small enough for it.
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

import numpy as np

from cnnlab.errors import UsageError
from cnnlab.problems import values
from cnnlab.problems.cost import WorkMeter
from cnnlab.problems.compare import claimed_number, claimed_tensor, compare, tolerance
from cnnlab.problems.expr import evaluate
from cnnlab.problems.slips import SLIPS, Slip
from cnnlab.steps.numbers import round_half_away

if TYPE_CHECKING:
    from cnnlab.problems.expr import EvalContext
    from cnnlab.problems.solve import PartResult

Candidates = Iterator[tuple[str, Any]]  # (message, the part's value recomputed with the slip)

__all__ = ["Slip", "SLIPS", "PART_SLIPS", "diagnose", "slip_names"]



def slip_names() -> list[str]:
    """Names of all slips, call-level then part-level."""
    return [s.name for s in SLIPS] + list(PART_SLIPS)


# ---------------------------------------------------------------- matching a recomputation

def _as_floats(v: Any) -> np.ndarray | None:
    if isinstance(v, np.ndarray) or (values.is_number(v)):
        return np.asarray(v, dtype=object).astype(np.float64)
    return None


def _explains(claimed: Any, slipped: Any, expected: Any, round: int | None) -> bool:
    """Does the slipped value give the claimed value in every cell where the claim is wrong?"""
    if slipped is None or isinstance(slipped, bool):
        return False
    if isinstance(expected, dict) or isinstance(slipped, dict):
        return isinstance(slipped, dict) and compare(claimed, slipped, round).correct
    s, e = _as_floats(slipped), _as_floats(expected)
    if s is None or e is None:
        return False
    try:
        c = claimed_tensor(claimed) if isinstance(claimed, list) else np.array(float(claimed_number(claimed)))
    except (UsageError, TypeError):
        return False
    if c.shape != s.shape:
        return False
    near_s = np.abs(c - s) <= _tolerances(s, round)
    if c.shape != e.shape:  # a claimed shape that differs: the whole tensor must match
        return bool(np.all(near_s))
    wrong = np.abs(c - e) > _tolerances(e, round)
    return bool(np.all(near_s[wrong]))


def _tolerances(ref: np.ndarray, round: int | None) -> Any:
    return tolerance(0.0, round) if round is not None else np.maximum(1e-6, 1e-6 * np.abs(ref))


def _recompute(result: "PartResult", env: dict, ctx: "EvalContext", hook: Callable | None) -> Any:
    try:
        return evaluate(result.ask, env, ctx, hook).value
    except (UsageError, ArithmeticError, ValueError):
        return None  # the slip makes the question impossible (e.g. kernel larger than the input)


@dataclass(frozen=True)
class _Planted:
    """One variant of one call: which call, the arguments it then gets, and the result map."""

    slip: str
    message: str
    call: int
    args: dict
    post: Callable[[Any], Any] | None
    base: str = ""  # the message without the call it names


def _variants(result: "PartResult") -> list[_Planted]:
    out = []
    for slip in SLIPS:
        for call in result.calls:
            if call.name not in slip.functions:
                continue
            where = f" in {call.source}" if len(result.calls) > 1 else ""
            for message, args, post in slip.variants(call.name, call.args):
                out.append(_Planted(slip.name, message + where, call.index, args, post, message))
    return out


def _hook(planted: Iterable[_Planted], calls: dict) -> Callable:
    by_call: dict[int, tuple[dict, Callable | None]] = {}
    for v in planted:
        if v.call in by_call:  # two slips in one call: merge the arguments each one changed
            args, post = by_call[v.call]
            original = calls[v.call].args
            changed = {k: a for k, a in v.args.items() if a is not original.get(k)}
            by_call[v.call] = (dict(args, **changed), post or v.post)
        else:
            by_call[v.call] = (v.args, v.post)

    def hook(index, name, bound, depth):
        return by_call.get(index)
    return hook


def _call_slips(result: "PartResult", env: dict, ctx: "EvalContext") -> Candidates:
    calls = {c.index: c for c in result.calls}
    variants = _variants(result)
    for v in variants:
        yield v.message, _recompute(result, env, ctx, _hook([v], calls))
    # the same slip in every call it fits (zero padding in both Sobel convolutions of a magnitude)
    alike: dict[str, list[_Planted]] = {}
    for v in variants:
        alike.setdefault(v.base, []).append(v)
    for base, group in alike.items():
        if len({v.call for v in group}) == len(group) > 1:
            sources = ", ".join(calls[v.call].source for v in group)
            yield f"{base}, in each of {sources}", _recompute(result, env, ctx, _hook(group, calls))


MAX_PAIRS = 300  # recomputations spent on two slips at once
_PAIR_CELLS = 4096  # ... and only for parts whose value is at most this large


def _pair_slips(result: "PartResult", env: dict, ctx: "EvalContext") -> Candidates:
    """Two slips together (e.g. padding forgotten and kernel not flipped), on small parts."""
    if np.size(result.value) > _PAIR_CELLS:
        return
    calls = {c.index: c for c in result.calls}
    variants = _variants(result)
    tried = 0
    for i, a in enumerate(variants):
        for b in variants[i + 1:]:
            if a.slip == b.slip or (a.call == b.call and a.post is not None and b.post is not None):
                continue
            tried += 1
            if tried > MAX_PAIRS:
                return
            yield f"{a.message}; and {b.message}", _recompute(result, env, ctx, _hook([a, b], calls))


def _rounded_early(result: "PartResult", env: dict, claimed_env: dict, ctx: "EvalContext",
                   given: set) -> Candidates:
    """Intermediate values (inner calls, earlier parts' results) rounded before going on."""
    inner = [c for c in result.calls if c.depth > 0]
    earlier = [n for n in _names_used(result) if n in env and n not in given]
    if not inner and not earlier:
        return
    digits = sorted({d for d in range(0, max(result.round or 0, 3) + 1)}, reverse=True)
    for d in digits:
        renv = dict(env, **{n: round_half_away(env[n], d) for n in earlier if _numeric(env[n])})

        def hook(index, name, bound, depth, d=d):
            return (bound, lambda r: round_half_away(r, d) if _numeric(r) else r) if depth > 0 else None
        yield (f"rounded too early: intermediate values rounded to {d} decimal{'s' if d != 1 else ''} "
               "before the last step", _recompute(result, renv, ctx, hook))


def _final_rounding(result: "PartResult", env: dict, claimed_env: dict, ctx: "EvalContext",
                    given: set) -> Candidates:
    """The final value rounded to fewer decimals, or truncated instead of rounded."""
    v = result.value
    if not _numeric(v):
        return
    n = result.round
    if n is not None:
        yield "truncated instead of rounded", _truncate(v, n)
    for d in range((n if n is not None else 4) - 1, -1, -1):
        yield f"rounded to {d} decimal{'s' if d != 1 else ''}" + (f" instead of {n}" if n is not None else ""), \
            round_half_away(v, d)


def _carried(result: "PartResult", env: dict, claimed_env: dict, ctx: "EvalContext",
             given: set) -> Candidates:
    """The part done right, but from an earlier part's wrong claimed answer."""
    used = [n for n in _names_used(result) if n in claimed_env]
    if not used:
        return
    cenv = dict(env)
    for n in used:
        try:
            cenv[n] = claimed_tensor(claimed_env[n]) if isinstance(claimed_env[n], list) \
                else claimed_number(claimed_env[n])
        except UsageError:
            return
    yield (f"error carried forward: the claimed answer follows correctly from the claimed (wrong) "
           f"{', '.join(used)}", _recompute(result, cenv, ctx, None))


def _averaging_counts(result: "PartResult", env: dict) -> list[int]:
    """How many values each average of the part divides by, whatever its form: a mean or
    average pool (the cells of a window), a constant 1/n kernel, or a division by a number."""
    counts = []
    for call in result.calls:
        a = call.args
        if call.name == "avgpool2d":
            kh, kw = a["size"] if isinstance(a["size"], tuple) else (a["size"], a["size"])
            counts.append(kh * kw)
        elif call.name == "global_avgpool":
            counts.append(a["x"].shape[-1] * a["x"].shape[-2])
        elif call.name == "mean" and np.ndim(a["x"]) > 0:
            counts.append(a["x"].size if a["axis"] is None else a["x"].shape[a["axis"]])
        elif call.name == "conv2d" and a["k"].size and all(v == a["k"].flat[0] for v in a["k"].flat) \
                and a["k"].flat[0] and abs(1 / float(a["k"].flat[0]) - round(1 / float(a["k"].flat[0]))) < 1e-9:
            counts.append(round(1 / float(a["k"].flat[0])))
    for node in ast.walk(result.ask.tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            right = node.right
            n = right.value if isinstance(right, ast.Constant) else \
                env.get(right.id) if isinstance(right, ast.Name) else None
            if values.is_number(n) and float(n).is_integer():
                counts.append(int(n))
    return sorted({n for n in counts if 2 <= n <= 1 << 24})


def _sum_for_average(result: "PartResult", env: dict, claimed_env: dict, ctx: "EvalContext",
                     given: set) -> Candidates:
    """A sum where an average was asked, named from the values: the claim is n times the
    right answer, n the count of an average of the part (``avgpool2d(X, 2)``,
    ``mean(X[0:2, 0:2])``, ``sum(X[0:2, 0:2]) / 4``, ``conv2d(X, ones, stride=2) / 4``)."""
    v = _as_floats(result.value) if _numeric(result.value) else None
    if v is None:
        return
    for n in _averaging_counts(result, env):
        yield (f"sum instead of average: the claimed values are sums over {n} cells, not their means "
               f"({n} times the right values)", v * n)


def _upstream(result: "PartResult", env: dict, ctx: "EvalContext", earlier: dict) -> Candidates:
    """A slip made in the earlier parts this part uses by name (``gx``, ``gy``, then
    ``sqrt(gx**2 + gy**2)``), carried into its value: each catalogued slip planted in every
    earlier call it fits (the same padding mode in ``gx`` and ``gy``), then in each one alone."""
    needed = set(_names_used(result)) & set(earlier)
    grown = True
    while grown:
        more = {n for name in needed for n in _names_used(earlier[name]) if n in earlier}
        grown = not more <= needed
        needed |= more
    ancestors = [n for n in earlier if n in needed]  # solve order
    groups: dict[str, list[tuple[str, _Planted]]] = {}
    for name in ancestors:
        for slip in SLIPS:
            for call in earlier[name].calls:
                if call.name in slip.functions:
                    for message, args, post in slip.variants(call.name, call.args):
                        planted = _Planted(slip.name, message, call.index, args, post)
                        groups.setdefault(message, []).append((name, planted))
    for message, planted in groups.items():
        names = list(dict.fromkeys(n for n, _ in planted))
        choices = [names] + ([[n] for n in names] if len(names) > 1 else [])
        for chosen in choices:
            slipped = _recompute_through(result, env, ctx, earlier, ancestors,
                                         [(n, p) for n, p in planted if n in chosen])
            where = ", ".join(chosen)
            yield (f"{message}, in {where} (the earlier part{'s' if len(chosen) > 1 else ''} this part uses)",
                   slipped)


def _recompute_through(result: "PartResult", env: dict, ctx: "EvalContext", earlier: dict,
                       ancestors: list[str], planted: list[tuple[str, _Planted]]) -> Any:
    """The part's value when the earlier parts are recomputed with the planted slips."""
    env = dict(env)
    changed: set[str] = set()
    for name in ancestors:
        mine = [p for n, p in planted if n == name]
        if not mine and not set(_names_used(earlier[name])) & changed:
            continue
        calls = {c.index: c for c in earlier[name].calls}
        value = _recompute(earlier[name], env, ctx, _hook(mine, calls) if mine else None)
        if value is None:
            return None
        env[name] = value
        changed.add(name)
    return _recompute(result, env, ctx, None)


PART_SLIPS: dict[str, Callable[..., Iterator[tuple[str, Any]]]] = {
    "sum_for_average_any_form": _sum_for_average,
    "carried_forward": _carried,
    "rounded_early": _rounded_early,
    "final_rounding": _final_rounding,
}


def _numeric(v: Any) -> bool:
    return (isinstance(v, np.ndarray) and v.size > 0) or (isinstance(v, (int, float)) and not isinstance(v, bool)) \
        or type(v).__name__ == "Fraction"


def _truncate(v: Any, n: int) -> Any:
    scale = 10.0 ** n
    if isinstance(v, np.ndarray):
        f = np.asarray(v, dtype=object).astype(np.float64)
        return np.trunc(f * scale + np.sign(f) * 1e-9) / scale
    return float(int(float(v) * scale + (1e-9 if v >= 0 else -1e-9))) / scale


def _names_used(result: "PartResult") -> list[str]:
    return sorted({n.id for n in ast.walk(result.ask.tree) if isinstance(n, ast.Name)})


def diagnose(result: "PartResult", env: dict, claimed_env: dict, ctx: "EvalContext", given: set,
             earlier: dict | None = None) -> str | None:
    """The first slip of the catalogue that explains the claimed answer, or None.

    ``env`` holds the values the part may use, ``claimed_env`` the claimed answers of
    earlier wrong parts, ``given`` the names that came from ``given`` (not from parts),
    ``earlier`` the earlier parts' results by the name they define.
    """
    claimed, expected, rnd = result.part.answer, result.value, result.round
    # the search has its own budget: when it is spent, every further recomputation is refused
    ctx = dataclasses.replace(ctx, meter=WorkMeter(f"diagnosis of part {result.id}"))
    part_slip = lambda name: PART_SLIPS[name](result, env, claimed_env, ctx, given)  # noqa: E731
    # cheapest and likeliest first; generators: a group is computed only if reached
    groups = (part_slip("carried_forward"), _call_slips(result, env, ctx),
              part_slip("sum_for_average_any_form"), _upstream(result, env, ctx, earlier or {}),
              part_slip("rounded_early"),
              part_slip("final_rounding"), _pair_slips(result, env, ctx))
    return next((message for message, slipped in itertools.chain(*groups)
                 if _explains(claimed, slipped, expected, rnd)), None)
