"""Naming the likely mistake behind a wrong claimed answer (contract §2 `diagnosis`).

The part is recomputed with one common slip at a time — the kernel flipped or not, the
padding forgotten, another padding mode, a sum taken for an average, the stride
ignored, floor and ceil swapped or an off-by-one in a size, values rounded too early...
A slip is named only when its recomputation gives the claimed value in every cell that is
wrong (cells the sheet got right are not held against it); when the claimed shape
differs from the computed one, the whole recomputed tensor must match.

When no single slip explains the answer, pairs of slips are tried (both in one
recomputation) on parts small enough for it. The catalogue is :data:`SLIPS`: each entry names the functions it applies to and yields
variants ``(message, changed arguments, post)`` of one call; ``post`` maps the call's
result (e.g. ×4 for "sum instead of average"). Whole-part slips (rounding, an error
carried from an earlier part) are in :data:`PART_SLIPS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from cnnlab.errors import UsageError
from cnnlab.problems import functions, values
from cnnlab.problems.compare import claimed_number, claimed_tensor, compare, tolerance
from cnnlab.problems.expr import evaluate
from cnnlab.steps.numbers import round_half_away

__all__ = ["Slip", "SLIPS", "PART_SLIPS", "diagnose", "slip_names"]

Variant = tuple[str, dict, "Callable[[Any], Any] | None"]
_MODES = ("zeros", "reflect", "symmetric", "replicate", "circular")
_SIZE_FNS = ("conv_output_size", "pool_output_size", "solve_padding", "solve_kernel")
_POOLS = ("maxpool2d", "avgpool2d")
_ACTS = ("relu", "sigmoid", "tanh", "leaky_relu", "softmax")


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


SLIPS: tuple[Slip, ...] = (
    Slip("flip", ("conv2d",), _flip),
    Slip("padding_forgotten", ("conv2d", "maxpool2d", "avgpool2d", "conv_output_size", "pool_output_size"),
         _padding_forgotten),
    Slip("padding_mode", ("conv2d", "pad"), _padding_mode),
    Slip("sum_for_average", ("avgpool2d", "global_avgpool"), _sum_for_average),
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


def _recompute(result, env: dict, ctx, hook) -> Any:
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


def _variants(result) -> list[_Planted]:
    out = []
    for slip in SLIPS:
        for call in result.calls:
            if call.name not in slip.functions:
                continue
            where = f" in {call.source}" if len(result.calls) > 1 else ""
            for message, args, post in slip.variants(call.name, call.args):
                out.append(_Planted(slip.name, message + where, call.index, args, post))
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


def _call_slips(result, env: dict, ctx) -> Iterator[tuple[str, Any]]:
    calls = {c.index: c for c in result.calls}
    for v in _variants(result):
        yield v.message, _recompute(result, env, ctx, _hook([v], calls))


MAX_PAIRS = 300  # recomputations spent on two slips at once
_PAIR_CELLS = 4096  # ... and only for parts whose value is at most this large


def _pair_slips(result, env: dict, ctx) -> Iterator[tuple[str, Any]]:
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


def _rounded_early(result, env: dict, claimed_env: dict, ctx, given: set) -> Iterator[tuple[str, Any]]:
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


def _final_rounding(result, env: dict, claimed_env: dict, ctx, given: set) -> Iterator[tuple[str, Any]]:
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


def _carried(result, env: dict, claimed_env: dict, ctx, given: set) -> Iterator[tuple[str, Any]]:
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


PART_SLIPS: dict[str, Callable[..., Iterator[tuple[str, Any]]]] = {
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


def _names_used(result) -> list[str]:
    import ast
    return sorted({n.id for n in ast.walk(result.ask.tree) if isinstance(n, ast.Name)})


def diagnose(result, env: dict, claimed_env: dict, ctx, given: set) -> str | None:
    """The first slip of the catalogue that explains the claimed answer, or None.

    ``env`` holds the values the part may use, ``claimed_env`` the claimed answers of
    earlier wrong parts, ``given`` the names that came from ``given`` (not from parts).
    """
    claimed, expected, rnd = result.part.answer, result.value, result.round
    candidates: list[Iterable[tuple[str, Any]]] = [
        PART_SLIPS["carried_forward"](result, env, claimed_env, ctx, given), _call_slips(result, env, ctx)]
    candidates += [PART_SLIPS[k](result, env, claimed_env, ctx, given) for k in ("rounded_early", "final_rounding")]
    candidates.append(_pair_slips(result, env, ctx))
    for group in candidates:
        for message, slipped in group:
            if _explains(claimed, slipped, expected, rnd):
                return message
    return None
