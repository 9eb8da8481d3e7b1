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
from dataclasses import dataclass, field
from typing import Callable

from cnnlab.arch.receptive_field import (AxisRF, through_global, through_transposed,
                                         through_window, union)
from cnnlab.arch.spec import Layer
from cnnlab.errors import UsageError
from cnnlab.ops.sizes import (conv_output_size, effective_kernel, full_padding,
                              pool_output_size, same_padding, transposed_output_size)

__all__ = ["Step", "LayerResult", "ANALYSERS", "analyse_layer", "resolve_padding_pairs"]

RF = tuple[AxisRF, AxisRF] | None


@dataclass(frozen=True)
class Step:
    """One line of a worked answer: ``quantity = formula = numbers = value``."""

    quantity: str
    formula: str
    numbers: str
    value: str

    def to_dict(self) -> dict:
        return {"quantity": self.quantity, "formula": self.formula, "numbers": self.numbers,
                "value": self.value}


@dataclass
class LayerResult:
    """What one layer does to its input (shapes channel-first, no batch)."""

    out_shape: tuple[int, ...]
    weights: int = 0
    biases: int = 0
    macs: int = 0
    rf: RF = None
    steps: list[Step] = field(default_factory=list)
    stored: bool = True          # False for views and in-place layers (not in activation memory)


def _t(shape: tuple[int, ...]) -> str:
    return "×".join(str(s) for s in shape)


def _spatial(layer: Layer, in_shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(in_shape) != 3:
        raise UsageError(f"{layer.kind} needs a C×H×W input, but it received a flat vector of "
                         f"{in_shape[0]} values (after fc/flatten)")
    return in_shape


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


def _padding_steps(padding, names, size, kernel, stride, dilation, pairs) -> list[Step]:
    steps = []
    for axis in _axes(size, kernel, stride, dilation, pairs):
        n, k, s, d = size[axis], kernel[axis], stride[axis], dilation[axis]
        label = names[axis]
        if padding == "same":
            total = sum(pairs[axis])
            steps.append(Step(f"p_total ({label})", f"max((ceil({label}/s) − 1)·s + d·(k − 1) + 1 − {label}, 0)",
                              f"max((ceil({n}/{s}) − 1)·{s} + {d}·({k} − 1) + 1 − {n}, 0)",
                              f"{total} → {pairs[axis][0]} before, {pairs[axis][1]} after"))
        elif padding == "full":
            steps.append(Step(f"p ({label})", "d·(k − 1)", f"{d}·({k} − 1)", str(pairs[axis][0])))
    return steps


def _axes(size, kernel, stride, dilation, pairs) -> list[int]:
    """Axis 0 alone when both axes are the same question, else both."""
    same = all(v[0] == v[1] for v in (size, kernel, stride, dilation, pairs))
    return [0] if same else [0, 1]


def _size_step(label: str, n: int, k: int, s: int, pads: tuple[int, int], d: int, out: int,
               ceil: bool = False) -> Step:
    rnd = "ceil" if ceil else "floor"
    if pads[0] == pads[1]:
        pad_f, pad_n = "2p", f"2·{pads[0]}"
    else:
        pad_f, pad_n = "p_before + p_after", f"{pads[0]} + {pads[1]}"
    if d == 1:
        formula = f"{rnd}(({label} + {pad_f} − k)/s) + 1"
        numbers = f"{rnd}(({n} + {pad_n} − {k})/{s}) + 1"
    else:
        formula = f"{rnd}(({label} + {pad_f} − d·(k − 1) − 1)/s) + 1"
        numbers = f"{rnd}(({n} + {pad_n} − {d}·({k} − 1) − 1)/{s}) + 1"
    return Step(f"{label}_out", formula, numbers, str(out))


def _rf_steps(prev: tuple[AxisRF, AxisRF], new: tuple[AxisRF, AxisRF], kernel, stride, pads,
              dilation, what: str = "window") -> list[Step]:
    steps = []
    axes = [0] if prev[0] == prev[1] and new[0] == new[1] and kernel[0] == kernel[1] else [0, 1]
    for axis in axes:
        a, b = prev[axis], new[axis]
        tag = "" if len(axes) == 1 else (" (height)" if axis == 0 else " (width)")
        k, s, p, d = kernel[axis], stride[axis], pads[axis][0], dilation[axis]
        keff = effective_kernel(k, d)
        if what == "transposed":
            steps.append(Step(f"r{tag}", "unit 0 sees inputs i = (p − t·d)/s (whole numbers)",
                              f"i ∈ [{_n((b.lo - a.lo) / a.jump)}, {_n((b.hi - a.hi) / a.jump)}]", _n(b.size)))
            steps.append(Step(f"j{tag}", "j_prev/s", f"{_n(a.jump)}/{s}", _n(b.jump)))
            continue
        k_name = "k"
        if d > 1:
            steps.append(Step(f"k_eff{tag}", "d·(k − 1) + 1", f"{d}·({k} − 1) + 1", str(keff)))
            k_name = "k_eff"
        steps.append(Step(f"r{tag}", f"r_prev + ({k_name} − 1)·j_prev",
                          f"{_n(a.size)} + ({keff} − 1)·{_n(a.jump)}", _n(b.size)))
        steps.append(Step(f"j{tag}", "j_prev·s", f"{_n(a.jump)}·{s}", _n(b.jump)))
        steps.append(Step(f"start{tag}", f"start_prev + (({k_name} − 1)/2 − p)·j_prev",
                          f"{_n(a.start)} + (({keff} − 1)/2 − {p})·{_n(a.jump)}", _n(b.start)))
    return steps


def _n(value) -> str:
    """A Fraction or int for a formula: whole numbers plain, others as decimals."""
    if getattr(value, "denominator", 1) == 1:
        return str(int(value))
    return f"{float(value):g}"


def _windowed(layer: Layer, in_shape, rf: RF, *, pool: str | None) -> LayerResult:
    C, H, W = _spatial(layer, in_shape)
    kernel = layer.kernel
    stride = layer.stride or (kernel if pool else (1, 1))
    dilation = layer.dilation
    pairs = resolve_padding_pairs(layer.padding, (H, W), kernel, stride, dilation)
    steps = _padding_steps(layer.padding, ("H", "W"), (H, W), kernel, stride, dilation, pairs)
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
    for axis in _axes((H, W), kernel, stride, dilation, pairs):
        label = ("H", "W")[axis]
        step = _size_step(label, (H, W)[axis], kernel[axis], stride[axis], pairs[axis],
                          dilation[axis], sizes[axis], pool is not None and layer.ceil_mode)
        if len(_axes((H, W), kernel, stride, dilation, pairs)) == 1:
            step = Step("H_out = W_out", step.formula, step.numbers, step.value)
        n, k, s, d, pads = (H, W)[axis], kernel[axis], stride[axis], dilation[axis], pairs[axis]
        plain = -(-(n + sum(pads) - effective_kernel(k, d)) // s) + 1
        if pool and layer.ceil_mode and plain != sizes[axis]:
            step = Step(step.quantity, step.formula, step.numbers + f" = {plain}, minus the last window, "
                        "which would start in the padding (dropped, as PyTorch does)", step.value)
        steps.append(step)
    Ho, Wo = sizes
    weights = biases = macs = 0
    if pool:
        C_out = C
        steps.append(Step("output", "C × H_out × W_out", f"{C} × {Ho} × {Wo}", _t((C, Ho, Wo))))
        steps.append(Step("params", "0 (pooling has no parameters)", "0", "0"))
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
        cin, cin_n = ("C_in", f"{C}") if groups == 1 else ("(C_in/g)", f"({C}/{groups})")
        steps.append(Step("output", "C_out × H_out × W_out", f"{C_out} × {Ho} × {Wo}", _t((C_out, Ho, Wo))))
        steps.append(Step("weights", f"C_out·{cin}·k_h·k_w", f"{C_out}·{cin_n}·{kh}·{kw}", str(weights)))
        steps.append(Step("biases", "C_out" if layer.bias else "0 (nobias)",
                          str(C_out) if layer.bias else "0", str(biases)))
        steps.append(Step("params", "weights + biases", f"{weights} + {biases}", str(weights + biases)))
        steps.append(Step("MACs", f"C_out·H_out·W_out·{cin}·k_h·k_w",
                          f"{C_out}·{Ho}·{Wo}·{cin_n}·{kh}·{kw}", str(macs)))
    steps.append(Step("units", ("C" if pool else "C_out") + "·H_out·W_out", f"{C_out}·{Ho}·{Wo}",
                      str(C_out * Ho * Wo)))
    new_rf = None
    if rf is not None:
        new_rf = tuple(through_window(rf[a], kernel[a], stride[a], pairs[a][0], sizes[a], dilation[a])
                       for a in range(2))
        steps += _rf_steps(rf, new_rf, kernel, stride, pairs, dilation)
    return LayerResult((C_out, Ho, Wo), weights, biases, macs, new_rf, steps)


def _conv(layer, in_shape, rf):
    return _windowed(layer, in_shape, rf, pool=None)


def _pool(layer, in_shape, rf):
    return _windowed(layer, in_shape, rf, pool=layer.kind)


def _convt(layer: Layer, in_shape, rf: RF) -> LayerResult:
    C, H, W = _spatial(layer, in_shape)
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
        steps.append(Step(f"{label}_out", f"({label} − 1)·s − 2p + d·(k − 1) + output_padding + 1",
                          f"({n} − 1)·{s} − 2·{p} + {d}·({k} − 1) + {op} + 1", str(out)))
    Ho, Wo = sizes
    kh, kw = layer.kernel
    weights = C * (C_out // groups) * kh * kw
    biases = C_out if layer.bias else 0
    macs = weights * H * W
    cout, cout_n = ("C_out", f"{C_out}") if groups == 1 else ("(C_out/g)", f"({C_out}/{groups})")
    steps += [
        Step("output", "C_out × H_out × W_out", f"{C_out} × {Ho} × {Wo}", _t((C_out, Ho, Wo))),
        Step("weights", f"C_in·{cout}·k_h·k_w", f"{C}·{cout_n}·{kh}·{kw}", str(weights)),
        Step("biases", "C_out" if layer.bias else "0 (nobias)", str(biases), str(biases)),
        Step("params", "weights + biases", f"{weights} + {biases}", str(weights + biases)),
        Step("MACs", f"C_in·H·W·{cout}·k_h·k_w (every input value meets every tap)",
             f"{C}·{H}·{W}·{cout_n}·{kh}·{kw}", str(macs)),
        Step("units", "C_out·H_out·W_out", f"{C_out}·{Ho}·{Wo}", str(C_out * Ho * Wo)),
    ]
    new_rf = None
    if rf is not None:
        new_rf = tuple(through_transposed(rf[a], layer.kernel[a], stride[a], pad[a], sizes[a],
                                          layer.dilation[a]) for a in range(2))
        steps += _rf_steps(rf, new_rf, layer.kernel, stride, [(p, p) for p in pad], layer.dilation,
                           what="transposed")
    return LayerResult((C_out, Ho, Wo), weights, biases, macs, new_rf, steps)


def _res(layer: Layer, in_shape, rf: RF) -> LayerResult:
    """Basic residual block (ResNet): conv k/s → bn → relu → conv k/1 → bn, plus a shortcut
    (identity, or a 1×1/s conv + bn when the shape changes), added, then relu.

    Both convs pad k//2 and have no bias; batch norm has 2·C parameters.
    """
    C, H, W = _spatial(layer, in_shape)
    C_out = layer.out
    kh, kw = layer.kernel
    stride = layer.stride or (1, 1)
    pads = [(kh // 2, kh // 2), (kw // 2, kw // 2)]
    sizes = [conv_output_size(n, k, s, p) for n, k, s, p in zip((H, W), (kh, kw), stride, (kh // 2, kw // 2))]
    Ho, Wo = sizes
    projection = stride != (1, 1) or C != C_out
    w1, w2 = C_out * C * kh * kw, C_out * C_out * kh * kw
    ws = C_out * C if projection else 0
    conv_weights = w1 + w2 + ws
    n_bn = 3 if projection else 2
    # as for a `bn` layer: each batch norm's γ counts as weights, its β as biases
    weights, biases = conv_weights + n_bn * C_out, n_bn * C_out
    macs = conv_weights * Ho * Wo
    short = (f"1×1/{stride[0]} conv + bn ({C}→{C_out})" if projection else "identity")
    steps = [
        Step("H_out = W_out" if (H, kh, stride[0]) == (W, kw, stride[1]) else "H_out, W_out",
             "floor((n + 2·(k//2) − k)/s) + 1", f"floor(({H} + 2·{kh // 2} − {kh})/{stride[0]}) + 1",
             f"{Ho}" if Ho == Wo else f"{Ho}, {Wo}"),
        Step("output", "C_out × H_out × W_out", f"{C_out} × {Ho} × {Wo}", _t((C_out, Ho, Wo))),
        Step("shortcut", "identity when the shape is kept, else 1×1/s conv + bn", short, short),
        Step("conv weights", "C_out·C_in·k_h·k_w + C_out·C_out·k_h·k_w" + (" + C_out·C_in" if projection else ""),
             f"{C_out}·{C}·{kh}·{kw} + {C_out}·{C_out}·{kh}·{kw}" + (f" + {C_out}·{C}" if projection else ""),
             str(conv_weights)),
        Step("bn params", f"2·C_out per batch norm ({n_bn} of them: γ weights, β biases)",
             f"{n_bn}·2·{C_out}", str(2 * n_bn * C_out)),
        Step("params", "conv weights + bn params", f"{conv_weights} + {2 * n_bn * C_out}",
             str(weights + biases)),
        Step("MACs", "(conv weights)·H_out·W_out", f"{conv_weights}·{Ho}·{Wo}", str(macs)),
        Step("units", "C_out·H_out·W_out", f"{C_out}·{Ho}·{Wo}", str(C_out * Ho * Wo)),
    ]
    new_rf = None
    if rf is not None:
        main = [through_window(through_window(rf[a], layer.kernel[a], stride[a], pads[a][0], sizes[a]),
                               layer.kernel[a], 1, pads[a][0], sizes[a]) for a in range(2)]
        side = [through_window(rf[a], 1, stride[a], 0, sizes[a]) for a in range(2)]
        new_rf = tuple(union([main[a], side[a]], sizes[a]) for a in range(2))
    return LayerResult((C_out, Ho, Wo), weights, biases, macs, new_rf, steps)


INCEPTION_BN_EPS = 1e-3  # torchvision's BasicConv2d batch norm (not 1e-5)


def _inception(layer: Layer, in_shape, rf: RF) -> LayerResult:
    """GoogLeNet's inception block as torchvision's ``Inception(C, C1, C3R, C3, C5R, C5, CP)``.

    Four branches on the same input, concatenated over channels: 1×1 conv (C1) |
    1×1 conv (C3R) → 3×3 conv p1 (C3) | 1×1 conv (C5R) → 3×3 conv p1 (C5) | 3×3/1 max
    pool p1 (ceil) → 1×1 conv (CP). Every conv has no bias and is followed by batch norm
    (eps 1e-3) and relu. torchvision's third branch uses a 3×3 kernel where the paper has
    5×5 (pytorch/vision issue 906); this block follows torchvision, so that its weights load.
    """
    C, H, W = _spatial(layer, in_shape)
    c1, c3r, c3, c5r, c5, cp = layer.branches
    C_out = c1 + c3 + c5 + cp
    conv_weights = C * c1 + C * c3r + c3r * c3 * 9 + C * c5r + c5r * c5 * 9 + C * cp
    bn_channels = c1 + c3r + c3 + c5r + c5 + cp
    # as for `bn` and `res`: each batch norm's γ counts as weights, its β as biases
    weights, biases = conv_weights + bn_channels, bn_channels
    macs = conv_weights * H * W
    steps = [
        Step("H_out = W_out" if H == W else "H_out, W_out",
             "every branch keeps the size (1×1 convs; 3×3 convs and the 3×3/1 pool pad 1)",
             f"{H}" if H == W else f"{H}, {W}", f"{H}" if H == W else f"{H}, {W}"),
        Step("C_out", "C1 + C3 + C5 + CP (the branches concatenated)", f"{c1} + {c3} + {c5} + {cp}", str(C_out)),
        Step("output", "C_out × H × W", f"{C_out} × {H} × {W}", _t((C_out, H, W))),
        Step("conv weights", "C·C1 + C·C3R + C3R·C3·3·3 + C·C5R + C5R·C5·3·3 + C·CP",
             f"{C}·{c1} + {C}·{c3r} + {c3r}·{c3}·9 + {C}·{c5r} + {c5r}·{c5}·9 + {C}·{cp}", str(conv_weights)),
        Step("bn params", "2·(C1 + C3R + C3 + C5R + C5 + CP) (one batch norm per conv)",
             f"2·({c1} + {c3r} + {c3} + {c5r} + {c5} + {cp})", str(2 * bn_channels)),
        Step("params", "conv weights + bn params", f"{conv_weights} + {2 * bn_channels}", str(weights + biases)),
        Step("MACs", "(conv weights)·H·W", f"{conv_weights}·{H}·{W}", str(macs)),
        Step("units", "C_out·H·W", f"{C_out}·{H}·{W}", str(C_out * H * W)),
    ]
    new_rf = None
    if rf is not None:
        sizes = (H, W)
        new_rf = []
        for a in range(2):
            point = through_window(rf[a], 1, 1, 0, sizes[a])  # branch 1
            three = through_window(point, 3, 1, 1, sizes[a])  # branches 2 and 3 (1×1 then 3×3)
            pooled = through_window(through_window(rf[a], 3, 1, 1, sizes[a]), 1, 1, 0, sizes[a])  # branch 4
            new_rf.append(union([point, three, three, pooled], sizes[a]))
        new_rf = tuple(new_rf)
        a, b = rf[0], new_rf[0]
        steps.append(Step("r", "max over the branches: r_prev + (3 − 1)·j_prev (a 3×3 conv or pool)",
                          f"{_n(a.size)} + 2·{_n(a.jump)}", _n(b.size)))
    return LayerResult((C_out, H, W), weights, biases, macs, new_rf, steps)


def _global_rf_steps(rf: RF) -> tuple[RF, list[Step]]:
    if rf is None:
        return None, []
    new = (through_global(rf[0]), through_global(rf[1]))
    steps = []
    for axis, name in enumerate(("height", "width")):
        a = rf[axis]
        if a.n == 1:
            continue
        steps.append(Step(f"r ({name})", "r_prev + (n − 1)·j_prev (one window over the whole map)",
                          f"{_n(a.size)} + ({a.n} − 1)·{_n(a.jump)}", _n(new[axis].size)))
    return new, steps


def _global_pool(layer: Layer, in_shape, rf: RF) -> LayerResult:
    C, H, W = _spatial(layer, in_shape)
    new_rf, rf_steps = _global_rf_steps(rf)
    op = "average" if layer.kind == "gap" else "maximum"
    steps = [Step("output", f"C × 1 × 1 (the {op} of each H×W channel)", f"{C} × 1 × 1", _t((C, 1, 1))),
             Step("units", "C", str(C), str(C))] + rf_steps
    return LayerResult((C, 1, 1), rf=new_rf, steps=steps)


def _fc(layer: Layer, in_shape, rf: RF) -> LayerResult:
    n_in = math.prod(in_shape)
    N = layer.out
    steps = []
    if len(in_shape) == 3:
        steps.append(Step("inputs", "C·H·W (flattened)", "·".join(map(str, in_shape)), str(n_in)))
    weights = n_in * N
    biases = N if layer.bias else 0
    steps += [
        Step("output", "N", str(N), str(N)),
        Step("weights", "inputs·N", f"{n_in}·{N}", str(weights)),
        Step("biases", "N" if layer.bias else "0 (nobias)", str(biases), str(biases)),
        Step("params", "weights + biases", f"{weights} + {biases}", str(weights + biases)),
        Step("MACs", "inputs·N", f"{n_in}·{N}", str(weights)),
        Step("units", "N", str(N), str(N)),
    ]
    new_rf, rf_steps = _global_rf_steps(rf)
    return LayerResult((N,), weights, biases, weights, new_rf, steps + rf_steps)


def _flatten(layer: Layer, in_shape, rf: RF) -> LayerResult:
    n = math.prod(in_shape)
    step = Step("output", "C·H·W" if len(in_shape) == 3 else "N", "·".join(map(str, in_shape)), str(n))
    return LayerResult((n,), rf=rf, steps=[step], stored=False)


def _bn(layer: Layer, in_shape, rf: RF) -> LayerResult:
    C = in_shape[0]
    steps = [Step("params", "2·C (γ and β per channel)", f"2·{C}", str(2 * C)),
             Step("units", "same as the input", _t(in_shape), str(math.prod(in_shape)))]
    return LayerResult(tuple(in_shape), C, C, 0, rf, steps)


_IN_PLACE = {"relu", "leakyrelu", "relu6", "dropout", "identity"}


def _elementwise(layer: Layer, in_shape, rf: RF) -> LayerResult:
    if layer.kind == "softmax":
        what = "normalised over the channels at each position" if len(in_shape) == 3 else "normalised"
    elif layer.kind == "dropout":
        what = f"p = {layer.p:g}; the identity at inference"
    else:
        what = "applied to each value"
    steps = [Step("output", f"same as the input ({what})", _t(in_shape), _t(in_shape)),
             Step("params", "0", "0", "0")]
    return LayerResult(tuple(in_shape), rf=rf, steps=steps, stored=layer.kind not in _IN_PLACE)


def _lrn(layer: Layer, in_shape, rf: RF) -> LayerResult:
    _spatial(layer, in_shape)  # normalises across neighbouring channels of a C×H×W map
    return _elementwise(layer, in_shape, rf)


ANALYSERS: dict[str, Callable[[Layer, tuple, RF], LayerResult]] = {
    "conv": _conv, "convt": _convt, "maxpool": _pool, "avgpool": _pool, "res": _res,
    "inception": _inception, "gap": _global_pool, "gmp": _global_pool, "fc": _fc, "flatten": _flatten, "bn": _bn,
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
