"""Inverse design: the padding, kernel, stride or dilation that gives an output size, and
the fewest stacked k×k layers that reach a receptive field.

Every candidate is checked with :func:`cnnlab.ops.sizes.conv_output_size` (the formula is
not written again), so the answer lists *every* solution within the bounds, or says that
none exists and gives the nearest sizes that can be had. The same formula holds for
pooling in floor mode.
"""

from __future__ import annotations

import math

from cnnlab.arch.steps import Step, note, rf_formula, row, size_formula, sym, times
from cnnlab.arch.receptive_field import input_axis, through_window
from cnnlab.errors import UsageError
from cnnlab.ops.sizes import conv_output_size, effective_kernel

__all__ = ["UNKNOWNS", "solve_layer", "fewest_layers"]

UNKNOWNS = ("padding", "kernel", "stride", "dilation")
MAX_CANDIDATES = 100_000  # upper bound on any search, whatever --max says
_FORMULA = size_formula("n_in", row(2, "p"), "k", "s", "d")


def _out(n_in, k, s, p, d) -> int | None:
    try:
        return conv_output_size(n_in, k, s, p, d)
    except UsageError:
        return None


def _positive(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UsageError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value > MAX_CANDIDATES * 10:
        raise UsageError(f"{name} {value} is over the limit of {MAX_CANDIDATES * 10}")
    return value


def solve_layer(unknown: str, n_in: int, n_out: int, *, kernel: int | None = None, stride: int = 1,
                padding: int = 0, dilation: int = 1, limit: int | None = None) -> dict:
    """Every value of ``unknown`` (padding, kernel, stride, dilation) that maps ``n_in`` to ``n_out``.

    Default bounds: padding 0..d·(k−1) (more only adds windows made of padding), kernel
    1..n_in+2p, stride 1..n_in+2p, dilation 1..(n_in+2p−1)/(k−1); ``limit`` replaces the
    upper bound.

    >>> solve_layer("padding", 32, 32, kernel=5)["solutions"]
    [2]
    >>> solve_layer("stride", 224, 112, kernel=7, padding=3)["solutions"]
    [2]
    """
    if unknown not in UNKNOWNS:
        raise UsageError(f"can solve for {', '.join(UNKNOWNS)}, not {unknown!r}")
    n_in, n_out = _positive("input size", n_in), _positive("output size", n_out)
    stride, dilation = _positive("stride", stride), _positive("dilation", dilation)
    padding = _positive("padding", padding, 0)
    if unknown != "kernel":
        if kernel is None:
            raise UsageError(f"solving for {unknown} needs the kernel size (--kernel)")
        kernel = _positive("kernel size", kernel)
    given = {"n_in": n_in, "n_out": n_out, "kernel": kernel, "stride": stride, "padding": padding,
             "dilation": dilation}
    given.pop(unknown)
    symbol = {"padding": "p", "kernel": "k", "stride": "s", "dilation": "d"}[unknown]

    def output(v: int) -> int | None:
        args = {"k": kernel, "s": stride, "p": padding, "d": dilation, symbol: v}
        return _out(n_in, args["k"], args["s"], args["p"], args["d"])

    notes = []
    if unknown == "padding":
        high = dilation * (kernel - 1)
    elif unknown in ("kernel", "stride"):
        high = n_in + 2 * padding
    elif kernel == 1:
        high, notes = 1, ["with k = 1 the dilation changes nothing: any d gives the same size"]
    else:
        high = max(1, (n_in + 2 * padding - 1) // (kernel - 1))
    high = min(high if limit is None else _positive("the bound", limit, 0), MAX_CANDIDATES)
    low = 0 if unknown == "padding" else 1
    sizes = {v: output(v) for v in range(low, high + 1)}
    solutions = [v for v, o in sizes.items() if o == n_out]
    given_text = ", ".join(f"{k} = {v}" for k, v in given.items())
    question = f"{unknown} {symbol} with output {n_out}: {given_text}, {symbol} in [{low}, {high}]"
    steps = []
    for v in solutions[:12]:
        args = {"k": kernel, "s": stride, "p": padding, "d": dilation, symbol: v}
        steps.append(Step(row("n_out", note(f"{symbol} = {v}")), _FORMULA,
                          size_formula(n_in, times(2, args["p"]), args["k"], args["s"], args["d"]),
                          n_out).to_dict())
    nearest = []
    if solutions:
        answer = f"{symbol} = " + ", ".join(map(str, solutions))
        if unknown == "padding" and stride == 1 and n_out == n_in:
            notes.append("this is 'same' padding")
    else:
        valid = {v: o for v, o in sizes.items() if o is not None}
        if valid:
            best = min(abs(o - n_out) for o in valid.values())
            nearest = [{"value": v, "output": o} for v, o in valid.items() if abs(o - n_out) == best][:6]
        answer = "none exists" + (" within the bounds; nearest: " + ", ".join(
            f"{symbol} = {e['value']} gives {e['output']}" for e in nearest) if nearest else "")
        if unknown == "padding":
            for total in range(0, 2 * high + 2):
                before, after = total // 2, total - total // 2
                if _out(n_in, kernel, stride, (before, after), dilation) == n_out:
                    notes.append(f"asymmetric padding works: {before} before and {after} after "
                                 f"(total {total}, as TensorFlow's 'same')")
                    break
    return {"question": question, "unknown": unknown, "given": given, "bounds": [low, high],
            "solutions": solutions, "nearest": nearest, "answer": answer, "steps": steps, "notes": notes}


def fewest_layers(target_rf: int, kernel: int, strides: list[int] | None = None, dilation: int = 1,
                  channels: int | None = None, limit: int = 10_000) -> dict:
    """Fewest stacked k×k layers whose receptive field reaches ``target_rf``.

    ``strides`` is a pattern repeated as needed (default: all 1). With ``channels`` C the
    weights of the stack (L·k²·C²) are compared with one R×R layer (R²·C²), biases left out.

    >>> fewest_layers(7, 3)["layers"]
    3
    >>> fewest_layers(100, 3, strides=[1, 2])["rf_per_layer"]
    [3, 5, 9, 13, 21, 29, 45, 61, 93, 125]
    """
    target_rf, kernel = _positive("target receptive field", target_rf), _positive("kernel size", kernel)
    dilation = _positive("dilation", dilation)
    pattern = [_positive("stride", s) for s in (strides or [1])]
    span = effective_kernel(kernel, dilation)
    if span == 1 and target_rf > 1:
        raise UsageError("a 1×1 kernel never grows the receptive field: no number of layers reaches "
                         f"{target_rf}")
    history, steps, r, j, count = [], [], 1, 1, 0
    axis = input_axis(1)
    while r < target_rf:
        if count >= limit:
            raise UsageError(f"{limit} layers do not reach a receptive field of {target_rf}")
        s = pattern[count % len(pattern)]
        axis = through_window(axis, kernel, s, 0, 1, dilation)
        r_new, j_new = int(axis.size), int(axis.jump)
        steps.append(Step(sym(f"r_{count + 1}"), rf_formula("r_prev", "k_eff" if dilation > 1 else "k", "j_prev"),
                          rf_formula(r, span, j), r_new).to_dict())
        r, j, count = r_new, j_new, count + 1
        history.append(r)
    notes = []
    if all(s == 1 for s in pattern) and target_rf > 1:
        notes.append(f"with stride 1: L = ceil((R − 1)/(k − 1)) = ceil(({target_rf} − 1)/({span} − 1)) = "
                     f"{math.ceil((target_rf - 1) / (span - 1))}")
    if history and history[-1] > target_rf:
        notes.append(f"the field overshoots: {history[-1]} > {target_rf}")
    result = {"question": f"fewest {kernel}×{kernel} layers (dilation {dilation}, strides "
                          f"{','.join(map(str, pattern))} repeated) reaching a receptive field of {target_rf}",
              "layers": count, "rf_per_layer": history, "steps": steps,
              "answer": f"{count} layer{'s' if count != 1 else ''} (receptive field {r})", "notes": notes}
    if channels is not None:
        C = _positive("channels", channels)
        stacked, single = count * kernel * kernel * C * C, target_rf * target_rf * C * C
        result["weights_stacked"], result["weights_single"] = stacked, single
        notes.append(f"weights, C = {C}: {count}·{kernel}²·C² = {stacked:,} stacked vs "
                     f"{target_rf}²·C² = {single:,} for one {target_rf}×{target_rf} layer")
    return result
