"""Per-layer analysis: output shape, weights, biases, MACs and receptive field, with steps.

Each layer kind has one analyser ``f(layer, in_shape, rf) -> LayerResult`` in
:data:`ANALYSERS`. Shapes are channel-first without a batch: ``(C, H, W)`` for a feature
map, ``(N,)`` for a vector. ``rf`` is the receptive-field state of the two spatial axes
``(height, width)``, or ``None`` when the input was a plain vector.

Conventions (stated in ``cnnlab arch --help``): MACs count the multiply–accumulates of
conv, transposed conv and fc layers, biases not counted; pooling, batch norm and
activations count 0 MACs. Batch norm has 2·C parameters (γ and β; the running statistics
are buffers, not parameters).
"""

from __future__ import annotations

import math
from typing import Any, Callable

from cnnlab.arch.composite_layers import INCEPTION_BN_EPS, analyse_inception, analyse_res
from cnnlab.arch.layer_result import RF, LayerResult, spatial
from cnnlab.arch.receptive_field import through_global, through_transposed, through_window
from cnnlab.arch.spec_layer import Layer
from cnnlab.arch.steps import (EQUALS, MINUS, PLUS, TIMES, Step, axes, by, note, number, over, padding_steps, paren,
                               plus, rf_formula, rf_steps, row, shape, size_step, sym, times, words)
from cnnlab.doc.expr import Var
from cnnlab.errors import UsageError
from cnnlab.ops.sizes import (conv_output_size, effective_kernel, full_padding,
                              pool_output_size, same_padding, transposed_output_size)

__all__ = ["LayerResult", "ANALYSERS", "INCEPTION_BN_EPS", "analyse_layer", "resolve_padding_pairs"]

def resolve_padding_pairs(padding, size: tuple[int, int], kernel: tuple[int, int],
                          stride: tuple[int, int], dilation: tuple[int, int]) -> list[tuple[int, int]]:
    """Per-axis ``(before, after)`` padding for an int pair or "same" / "valid" / "full".

    >>> resolve_padding_pairs("same", (6, 6), (3, 3), (2, 2), (1, 1))
    [(0, 1), (0, 1)]
    """
    pairs = []
    for axis in range(2):
        n, k, s, d = size[axis], kernel[axis], stride[axis], dilation[axis]
        if padding == "valid":
            pairs.append((0, 0))
        elif padding == "full":
            p = full_padding(k, d)
            pairs.append((p, p))
        elif padding == "same":
            pairs.append(same_padding(n, k, s, d))
        else:
            pairs.append((padding[axis], padding[axis]))
    return pairs


def _windowed(layer: Layer, in_shape, rf: RF, *, pool: str | None) -> LayerResult:
    C, H, W = spatial(layer, in_shape)
    kernel = layer.kernel
    stride = layer.stride or (kernel if pool else (1, 1))
    dilation = layer.dilation
    pairs = resolve_padding_pairs(layer.padding, (H, W), kernel, stride, dilation)
    steps = padding_steps(layer.padding, ("H", "W"), (H, W), kernel, stride, dilation, pairs)
    sizes = []
    for axis, n in enumerate((H, W)):
        k, s, d, pads = kernel[axis], stride[axis], dilation[axis], pairs[axis]
        if pool and pads[0] == pads[1]:
            out = pool_output_size(n, k, s, pads[0], layer.ceil_mode, d)
        elif pool and layer.ceil_mode:
            raise UsageError("ceil mode needs the same padding on both sides")
        else:
            out = conv_output_size(n, k, s, pads, d)
        sizes.append(out)
    asked = axes((H, W), kernel, stride, dilation, pairs)
    for axis in asked:
        label = ("H", "W")[axis]
        step = size_step(label, (H, W)[axis], kernel[axis], stride[axis], pairs[axis],
                         dilation[axis], sizes[axis], pool is not None and layer.ceil_mode)
        if len(asked) == 1:
            step = Step(row("H_out", EQUALS, "W_out"), step.formula, step.numbers, step.value)
        n, k, s, d, pads = (H, W)[axis], kernel[axis], stride[axis], dilation[axis], pairs[axis]
        plain = -(-(n + sum(pads) - effective_kernel(k, d)) // s) + 1
        if pool and layer.ceil_mode and plain != sizes[axis]:
            step = Step(step.quantity, step.formula, row(step.numbers, EQUALS, plain, words(
                ", minus the last window, which would start in the padding (dropped, as PyTorch does)")), step.value)
        steps.append(step)
    Ho, Wo = sizes
    weights = biases = macs = 0
    if pool:
        C_out = C
        steps.append(Step("output", by("C", "H_out", "W_out"), by(C, Ho, Wo), shape((C, Ho, Wo))))
        steps.append(Step("params", row(0, note("pooling has no parameters")), 0, 0))
    else:
        groups = C if layer.groups == "dw" else layer.groups
        C_out = layer.out if layer.out is not None else C
        if layer.in_channels is not None and layer.in_channels != C:
            raise UsageError(f"channel mismatch: the layer expects {layer.in_channels} input channels "
                             f"but receives {C}")
        if C % groups or C_out % groups:
            raise UsageError(f"groups={groups} must divide both the input channels ({C}) and the "
                             f"output channels ({C_out})")
        kh, kw = kernel
        weights = C_out * (C // groups) * kh * kw
        biases = C_out if layer.bias else 0
        macs = weights * Ho * Wo
        cin, cin_n = ("C_in", C) if groups == 1 else (paren(over("C_in", "g")), paren(over(C, groups)))
        steps.append(Step("output", by("C_out", "H_out", "W_out"), by(C_out, Ho, Wo), shape((C_out, Ho, Wo))))
        steps.append(Step("weights", times("C_out", cin, "k_h", "k_w"), times(C_out, cin_n, kh, kw), weights))
        steps += _bias_steps(layer.bias, "C_out", C_out, weights, biases)
        steps.append(Step("MACs", times("C_out", "H_out", "W_out", cin, "k_h", "k_w"),
                          times(C_out, Ho, Wo, cin_n, kh, kw), macs))
    steps.append(Step("units", times("C" if pool else "C_out", "H_out", "W_out"), times(C_out, Ho, Wo),
                      C_out * Ho * Wo))
    new_rf = None
    if rf is not None:
        new_rf = tuple(through_window(rf[a], kernel[a], stride[a], pairs[a][0], sizes[a], dilation[a])
                       for a in range(2))
        steps += rf_steps(rf, new_rf, kernel, stride, pairs, dilation)
    return LayerResult((C_out, Ho, Wo), weights, biases, macs, new_rf, steps)


def _bias_steps(bias: bool, name: str, n: int, weights: int, biases: int) -> list[Step]:
    """``biases = C_out`` (or ``0 (nobias)``) and ``params = weights + biases``."""
    return [Step("biases", sym(name) if bias else row(0, note("nobias")), biases, biases),
            Step("params", plus("weights", "biases"), plus(weights, biases), weights + biases)]


def _conv(layer, in_shape, rf):
    return _windowed(layer, in_shape, rf, pool=None)


def _pool(layer, in_shape, rf):
    return _windowed(layer, in_shape, rf, pool=layer.kind)


def _convt(layer: Layer, in_shape, rf: RF) -> LayerResult:
    C, H, W = spatial(layer, in_shape)
    groups = layer.groups
    C_out = layer.out
    if layer.in_channels is not None and layer.in_channels != C:
        raise UsageError(f"channel mismatch: the layer expects {layer.in_channels} input channels but receives {C}")
    if C % groups or C_out % groups:
        raise UsageError(f"groups={groups} must divide both the input channels ({C}) and the output channels ({C_out})")
    stride = layer.stride or (1, 1)
    pad = layer.padding if isinstance(layer.padding, tuple) else (0, 0)
    for op, s, d in zip(layer.output_padding, stride, layer.dilation):
        if op >= max(s, d):  # PyTorch's rule: the extra rows must fall inside one stride step
            raise UsageError(f"output padding {op} must be smaller than the stride ({s}) or the "
                             f"dilation ({d})")
    sizes, steps = [], []
    for axis, (label, n) in enumerate((("H", H), ("W", W))):
        k, s, p, d, op = (layer.kernel[axis], stride[axis], pad[axis], layer.dilation[axis],
                          layer.output_padding[axis])
        out = transposed_output_size(n, k, s, p, op, d)
        sizes.append(out)
        output_padding = Var("output_padding")  # one word, not "output" with "padding" below
        steps.append(Step(sym(f"{label}_out"), _transposed_size(label, "s", row(2, "p"), "d", "k", output_padding),
                          _transposed_size(n, s, times(2, p), d, k, op), out))
    Ho, Wo = sizes
    kh, kw = layer.kernel
    weights = C * (C_out // groups) * kh * kw
    biases = C_out if layer.bias else 0
    macs = weights * H * W
    cout, cout_n = ("C_out", C_out) if groups == 1 else (paren(over("C_out", "g")), paren(over(C_out, groups)))
    steps += [
        Step("output", by("C_out", "H_out", "W_out"), by(C_out, Ho, Wo), shape((C_out, Ho, Wo))),
        Step("weights", times("C_in", cout, "k_h", "k_w"), times(C, cout_n, kh, kw), weights),
        *_bias_steps(layer.bias, "C_out", C_out, weights, biases),
        Step("MACs", row(times("C_in", "H", "W", cout, "k_h", "k_w"), note("every input value meets every tap")),
             times(C, H, W, cout_n, kh, kw), macs),
        Step("units", times("C_out", "H_out", "W_out"), times(C_out, Ho, Wo), C_out * Ho * Wo),
    ]
    new_rf = None
    if rf is not None:
        new_rf = tuple(through_transposed(rf[a], layer.kernel[a], stride[a], pad[a], sizes[a],
                                          layer.dilation[a]) for a in range(2))
        steps += rf_steps(rf, new_rf, layer.kernel, stride, [(p, p) for p in pad], layer.dilation,
                           what="transposed")
    return LayerResult((C_out, Ho, Wo), weights, biases, macs, new_rf, steps)


def _transposed_size(n, s, pad, d, k, op) -> Any:
    """``(n − 1)·s − 2p + d·(k − 1) + output_padding + 1``."""
    return row(paren(n, MINUS, 1), TIMES, s, MINUS, pad, PLUS, d, TIMES, paren(k, MINUS, 1), PLUS, op, PLUS, 1)


def _global_rf_steps(rf: RF) -> tuple[RF, list[Step]]:
    if rf is None:
        return None, []
    new = (through_global(rf[0]), through_global(rf[1]))
    steps = []
    for axis, name in enumerate(("height", "width")):
        a = rf[axis]
        if a.n == 1:
            continue
        steps.append(Step(row("r", note(name)), row(rf_formula("r_prev", "n", "j_prev"),
                                                    note("one window over the whole map")),
                          rf_formula(number(a.size), a.n, number(a.jump)), number(new[axis].size)))
    return new, steps


def _global_pool(layer: Layer, in_shape, rf: RF) -> LayerResult:
    C, H, W = spatial(layer, in_shape)
    new_rf, global_steps = _global_rf_steps(rf)
    op = "average" if layer.kind == "gap" else "maximum"
    steps = [Step("output", row(by("C", 1, 1), note(f"the {op} of each H×W channel")), by(C, 1, 1),
                  shape((C, 1, 1))),
             Step("units", sym("C"), C, C)] + global_steps
    return LayerResult((C, 1, 1), rf=new_rf, steps=steps)


def _fc(layer: Layer, in_shape, rf: RF) -> LayerResult:
    n_in = math.prod(in_shape)
    N = layer.out
    steps = []
    if len(in_shape) == 3:
        steps.append(Step("inputs", row(times("C", "H", "W"), note("flattened")), times(*in_shape), n_in))
    weights = n_in * N
    biases = N if layer.bias else 0
    steps += [
        Step("output", sym("N"), N, N),
        Step("weights", times("inputs", "N"), times(n_in, N), weights),
        *_bias_steps(layer.bias, "N", N, weights, biases),
        Step("MACs", times("inputs", "N"), times(n_in, N), weights),
        Step("units", sym("N"), N, N),
    ]
    new_rf, global_steps = _global_rf_steps(rf)
    return LayerResult((N,), weights, biases, weights, new_rf, steps + global_steps)


def _flatten(layer: Layer, in_shape, rf: RF) -> LayerResult:
    n = math.prod(in_shape)
    step = Step("output", times("C", "H", "W") if len(in_shape) == 3 else sym("N"), times(*in_shape), n)
    return LayerResult((n,), rf=rf, steps=[step], stored=False)


def _bn(layer: Layer, in_shape, rf: RF) -> LayerResult:
    C = in_shape[0]
    steps = [Step("params", row(times(2, "C"), note("γ and β per channel")), times(2, C), 2 * C),
             Step("units", words("same as the input"), shape(in_shape), math.prod(in_shape))]
    return LayerResult(tuple(in_shape), C, C, 0, rf, steps)


_IN_PLACE = {"relu", "leakyrelu", "relu6", "dropout", "identity"}


def _elementwise(layer: Layer, in_shape, rf: RF) -> LayerResult:
    if layer.kind == "softmax":
        what = "normalised over the channels at each position" if len(in_shape) == 3 else "normalised"
    elif layer.kind == "dropout":
        what = f"p = {layer.p:g}; the identity at inference"
    else:
        what = "applied to each value"
    steps = [Step("output", row(words("same as the input"), note(what)), shape(in_shape), shape(in_shape)),
             Step("params", 0, 0, 0)]
    return LayerResult(tuple(in_shape), rf=rf, steps=steps, stored=layer.kind not in _IN_PLACE)


def _lrn(layer: Layer, in_shape, rf: RF) -> LayerResult:
    spatial(layer, in_shape)  # normalises across neighbouring channels of a C×H×W map
    return _elementwise(layer, in_shape, rf)


ANALYSERS: dict[str, Callable[[Layer, tuple, RF], LayerResult]] = {
    "conv": _conv, "convt": _convt, "maxpool": _pool, "avgpool": _pool, "res": analyse_res,
    "inception": analyse_inception, "gap": _global_pool, "gmp": _global_pool, "fc": _fc, "flatten": _flatten, "bn": _bn,
    **{kind: _elementwise for kind in ("relu", "leakyrelu", "relu6", "sigmoid", "tanh", "softmax",
                                       "gelu", "elu", "silu", "identity", "dropout")},
    "lrn": _lrn,
}


def analyse_layer(layer: Layer, in_shape: tuple[int, ...], rf: RF) -> LayerResult:
    """Analyse one layer on an input of ``in_shape`` (``(C, H, W)`` or ``(N,)``).

    >>> from cnnlab.arch.spec import parse_layer
    >>> r = analyse_layer(parse_layer("conv 11x11/4 96"), (3, 227, 227), None)
    >>> r.out_shape, r.weights, r.macs
    ((96, 55, 55), 34848, 105415200)
    """
    return ANALYSERS[layer.kind](layer, tuple(in_shape), rf)
