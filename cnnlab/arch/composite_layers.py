"""Layers made of layers: ResNet's basic residual block and GoogLeNet's inception block.

Each is analysed as a whole (output shape, parameters with their batch norms, MACs,
receptive field) with worked steps, like the single layers of :mod:`cnnlab.arch.layers`.
"""

from __future__ import annotations

from typing import Any

from cnnlab.arch.layer_result import RF, LayerResult, spatial
from cnnlab.arch.receptive_field import through_window, union
from cnnlab.arch.spec_layer import Layer
from cnnlab.arch.steps import (COMMA, EQUALS, Step, by, note, number, paren, plus, rf_formula, row, shape,
                               size_formula, times, words)
from cnnlab.doc.expr import Op
from cnnlab.ops.sizes import conv_output_size

__all__ = ["INCEPTION_BN_EPS", "analyse_res", "analyse_inception"]


def _both_sizes(same: bool) -> Any:
    """``H_out = W_out`` when both axes agree, else ``H_out, W_out``."""
    return row("H_out", EQUALS if same else COMMA, "W_out")


def _one_or_two(a: int, b: int) -> Any:
    return a if a == b else row(a, COMMA, b)


def _block_cost(conv_weights: int, bn_params: int, params: int, macs: int, size_names, sizes, C_out: int
                ) -> list[Step]:
    """``params``, ``MACs`` and ``units`` of a block of convs with batch norm (res, inception)."""
    H, W = sizes
    return [Step("params", plus(words("conv weights"), words("bn params")), plus(conv_weights, bn_params), params),
            Step("MACs", times(paren(words("conv weights")), *size_names), times(conv_weights, H, W), macs),
            Step("units", times("C_out", *size_names), times(C_out, H, W), C_out * H * W)]


def analyse_res(layer: Layer, in_shape, rf: RF) -> LayerResult:
    """Basic residual block (ResNet): conv k/s → bn → relu → conv k/1 → bn, plus a shortcut
    (identity, or a 1×1/s conv + bn when the shape changes), added, then relu.

    Both convs pad k//2 and have no bias; batch norm has 2·C parameters.
    """
    C, H, W = spatial(layer, in_shape)
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
    short = words(f"1×1/{stride[0]} conv + bn ({C}→{C_out})" if projection else "identity")

    def conv_weights_formula(c_in, c_out, k_h, k_w):
        return plus(times(c_out, c_in, k_h, k_w), times(c_out, c_out, k_h, k_w),
                    *([times(c_out, c_in)] if projection else []))

    steps = [
        Step(_both_sizes((H, kh, stride[0]) == (W, kw, stride[1])),
             size_formula("n", times(2, paren(row("k", Op("//"), 2))), "k", "s"),
             size_formula(H, times(2, kh // 2), kh, stride[0]), _one_or_two(Ho, Wo)),
        Step("output", by("C_out", "H_out", "W_out"), by(C_out, Ho, Wo), shape((C_out, Ho, Wo))),
        Step("shortcut", words("identity when the shape is kept, else 1×1/s conv + bn"), short, short),
        Step("conv weights", conv_weights_formula("C_in", "C_out", "k_h", "k_w"),
             conv_weights_formula(C, C_out, kh, kw), conv_weights),
        Step("bn params", row(times(2, "C_out"), words(f" per batch norm ({n_bn} of them: γ weights, β biases)")),
             times(n_bn, 2, C_out), 2 * n_bn * C_out),
        *_block_cost(conv_weights, 2 * n_bn * C_out, weights + biases, macs, ("H_out", "W_out"), (Ho, Wo), C_out),
    ]
    new_rf = None
    if rf is not None:
        main = [through_window(through_window(rf[a], layer.kernel[a], stride[a], pads[a][0], sizes[a]),
                               layer.kernel[a], 1, pads[a][0], sizes[a]) for a in range(2)]
        side = [through_window(rf[a], 1, stride[a], 0, sizes[a]) for a in range(2)]
        new_rf = tuple(union([main[a], side[a]], sizes[a]) for a in range(2))
    return LayerResult((C_out, Ho, Wo), weights, biases, macs, new_rf, steps)


INCEPTION_BN_EPS = 1e-3  # torchvision's BasicConv2d batch norm (not 1e-5)


def analyse_inception(layer: Layer, in_shape, rf: RF) -> LayerResult:
    """GoogLeNet's inception block as torchvision's ``Inception(C, C1, C3R, C3, C5R, C5, CP)``.

    Four branches on the same input, concatenated over channels: 1×1 conv (C1) |
    1×1 conv (C3R) → 3×3 conv p1 (C3) | 1×1 conv (C5R) → 3×3 conv p1 (C5) | 3×3/1 max
    pool p1 (ceil) → 1×1 conv (CP). Every conv has no bias and is followed by batch norm
    (eps 1e-3) and relu. torchvision's third branch uses a 3×3 kernel where the paper has
    5×5 (pytorch/vision issue 906); this block follows torchvision, so that its weights load.
    """
    C, H, W = spatial(layer, in_shape)
    c1, c3r, c3, c5r, c5, cp = layer.branches
    C_out = c1 + c3 + c5 + cp
    conv_weights = C * c1 + C * c3r + c3r * c3 * 9 + C * c5r + c5r * c5 * 9 + C * cp
    bn_channels = c1 + c3r + c3 + c5r + c5 + cp
    # as for `bn` and `res`: each batch norm's γ counts as weights, its β as biases
    weights, biases = conv_weights + bn_channels, bn_channels
    macs = conv_weights * H * W
    names = ("C1", "C3R", "C3", "C5R", "C5", "CP")
    steps = [
        Step(_both_sizes(H == W),
             words("every branch keeps the size (1×1 convs; 3×3 convs and the 3×3/1 pool pad 1)"),
             _one_or_two(H, W), _one_or_two(H, W)),
        Step("C_out", row(plus("C1", "C3", "C5", "CP"), note("the branches concatenated")), plus(c1, c3, c5, cp),
             C_out),
        Step("output", by("C_out", "H", "W"), by(C_out, H, W), shape((C_out, H, W))),
        Step("conv weights", plus(times("C", "C1"), times("C", "C3R"), times("C3R", "C3", 3, 3), times("C", "C5R"),
                                  times("C5R", "C5", 3, 3), times("C", "CP")),
             plus(times(C, c1), times(C, c3r), times(c3r, c3, 9), times(C, c5r), times(c5r, c5, 9), times(C, cp)),
             conv_weights),
        Step("bn params", row(times(2, paren(plus(*names))), note("one batch norm per conv")),
             times(2, paren(plus(*layer.branches))), 2 * bn_channels),
        *_block_cost(conv_weights, 2 * bn_channels, weights + biases, macs, ("H", "W"), (H, W), C_out),
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
        steps.append(Step("r", row(words("max over the branches: "), rf_formula("r_prev", 3, "j_prev"),
                                   note("a 3×3 conv or pool")),
                          plus(number(a.size), times(2, number(a.jump))), number(b.size)))
    return LayerResult((C_out, H, W), weights, biases, macs, new_rf, steps)
