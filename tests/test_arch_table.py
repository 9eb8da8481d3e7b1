"""Architecture tables of text specs, checked against hand-worked answers (no torch here)."""

from __future__ import annotations

import ast
import operator
import re

import pytest

from cnnlab.arch import arch_table, render_arch
from cnnlab.arch.receptive_field import stacked_receptive_fields
from cnnlab.errors import UsageError

ALEXNET = ("conv 11x11/4 96; relu; maxpool 3x3/2; conv 5x5 256 p2; relu; maxpool 3x3/2; "
           "conv 3x3 384 p1; relu; conv 3x3 384 p1; relu; conv 3x3 256 p1; relu; maxpool 3x3/2; "
           "fc 4096; relu; dropout; fc 4096; relu; fc 1000")
LENET5 = "conv 5x5 6; maxpool 2x2; conv 5x5 16; maxpool 2x2; fc 120; fc 84; fc 10"


def test_alexnet_first_layer_as_the_contract_says():
    row = arch_table("conv 11x11/4 96", "3x227x227")["layers"][0]
    assert row["output_shape"] == [96, 55, 55]
    assert (row["weights"], row["biases"], row["params"]) == (34848, 96, 34944)
    assert (row["units"], row["macs"], row["receptive_field"], row["jump"]) == (290400, 105415200, 11, 4)


def test_alexnet_single_tower_totals_and_receptive_fields():
    t = arch_table(ALEXNET, "3x227x227")
    convs = [r for r in t["layers"] if r["type"] in ("conv", "maxpool")]
    # published receptive fields of AlexNet: conv1 11, pool1 19, conv2 51, pool2 67, conv3-5 99/131/163, pool5 195
    assert [r["receptive_field"] for r in convs] == [11, 19, 51, 67, 99, 131, 163, 195]
    assert t["layers"][-1]["output_shape"] == [1000]
    # single-tower AlexNet (no groups): 62,378,344 parameters
    assert t["total_params"] == 62_378_344
    assert t["param_bytes"] == 4 * 62_378_344


def test_lenet5_parameters_by_hand():
    t = arch_table(LENET5, "1x32x32")
    assert [r["params"] for r in t["layers"]] == [156, 0, 2416, 0, 48120, 10164, 850]
    assert t["total_params"] == 61706
    assert [r["output_shape"] for r in t["layers"]][:4] == [[6, 28, 28], [6, 14, 14], [16, 10, 10], [16, 5, 5]]
    assert t["layers"][2]["macs"] == 16 * 10 * 10 * 6 * 25


def test_same_padding_is_ceil_of_n_over_stride():
    t = arch_table("conv 3x3/2 4 same; conv 5x5/3 4 same; conv 4x4 4 same", "1x7x10")
    assert [r["output_shape"][1:] for r in t["layers"]] == [[4, 5], [2, 2], [2, 2]]


def test_receptive_field_recursion_matches_the_stack_formula():
    spec = "conv 3x3 4; conv 3x3/2 4; maxpool 2x2; conv 5x5 4 d2; conv 3x3/2 4 p1"
    t = arch_table(spec, "1x200x200")
    expected = stacked_receptive_fields([3, 3, 2, 5, 3], [1, 2, 2, 1, 2], [1, 1, 1, 2, 1])
    assert [(r["receptive_field"], r["jump"]) for r in t["layers"]] == expected
    # dilation counts as d·(k−1)+1: 5x5 with d=2 spans 9 pixels of its input map
    assert t["layers"][3]["receptive_field"] - t["layers"][2]["receptive_field"] == (9 - 1) * 4


def test_rectangular_kernels_give_two_receptive_fields():
    row = arch_table("conv 3x7/1x2 4", "1x20x20")["layers"][0]
    assert row["receptive_field"] == [3, 7] and row["jump"] == [1, 2]
    assert row["output_shape"] == [4, 18, 7]


def test_pooling_defaults_stride_to_window_and_counts_in_the_field():
    rows = arch_table("maxpool 3x3; avgpool 2x2/1 p1 ceil", "2x10x10")["layers"]
    assert rows[0]["output_shape"] == [2, 3, 3] and rows[0]["jump"] == 3
    assert rows[1]["receptive_field"] == 3 + (2 - 1) * 3


def test_global_pool_and_fc_see_the_whole_map():
    rows = arch_table("conv 3x3 8; gap; fc 10; fc 5", "1x9x9")["layers"]
    assert rows[1]["output_shape"] == [8, 1, 1]
    assert [r["receptive_field"] for r in rows] == [3, 9, 9, 9]
    assert rows[2]["weights"] == 80 and rows[3]["macs"] == 50


def test_batch_norm_has_two_parameters_per_channel_and_groups_divide_weights():
    rows = arch_table("conv 3x3 8 g2 nobias; bn; conv 3x3 dw; fc 4; bn", "4x8x8")["layers"]
    assert (rows[0]["weights"], rows[0]["biases"]) == (8 * 2 * 9, 0)
    assert rows[1]["params"] == 16
    assert rows[2]["weights"] == 8 * 9 and rows[2]["output_shape"] == [8, 4, 4]
    assert rows[4]["params"] == 8


def test_transposed_convolution_sizes_and_macs():
    row = arch_table("convt 3x3/2 6 p1 op1", "4x5x5")["layers"][0]
    assert row["output_shape"] == [6, 10, 10]
    assert row["weights"] == 4 * 6 * 9 and row["macs"] == 4 * 6 * 9 * 25


def test_fc_comparison_same_units_and_fixed_units():
    t = arch_table("conv 5x5 20", "1x28x28", fc_compare="same")
    fc = t["layers"][0]["fc_equivalent"]
    assert fc["units"] == 20 * 24 * 24 and fc["weights"] == 784 * 11520
    assert arch_table("conv 5x5 20", "1x28x28", fc_compare=100)["layers"][0]["fc_equivalent"]["params"] == 78500


def test_memory_convention_and_dtypes():
    t = arch_table("conv 3x3 8 p1; relu; flatten; fc 10; sigmoid", "1x4x4", dtype="fp16")
    assert t["activation_bytes"] == 2 * (128 + 10 + 10)  # relu and flatten are in place / views
    assert t["activation_bytes_all"] == 2 * (128 + 128 + 128 + 10 + 10)
    assert t["param_bytes"] == 2 * t["total_params"] and t["input_bytes"] == 32
    assert t["memory"]["fp32"]["param_bytes"] == 4 * t["total_params"]


def test_vector_input_for_an_mlp():
    t = arch_table("fc 100; relu; fc 10", "784")
    assert t["total_params"] == 784 * 100 + 100 + 1010
    assert t["layers"][0]["receptive_field"] is None


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _arith(text: str) -> float:
    """Evaluate the numbers of a step (test-only evaluator: + − · / floor ceil max)."""
    text = text.replace("·", "*").replace("−", "-").replace("×", "*")

    def ev(node):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.BinOp):
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp):
            return -ev(node.operand)
        if isinstance(node, ast.Call):
            import math
            return {"floor": math.floor, "ceil": math.ceil, "max": max}[node.func.id](*map(ev, node.args))
        if isinstance(node, ast.Tuple):
            return tuple(ev(e) for e in node.elts)
        raise ValueError(ast.dump(node))

    return ev(ast.parse(text, mode="eval").body)


@pytest.mark.parametrize("spec,shape", [(ALEXNET, "3x227x227"), ("conv 3x3/2 8 same d2; maxpool 3x3/2 p1; gap; fc 3",
                                                                     "3x33x31")])
def test_every_step_evaluates_to_its_value(spec, shape):
    t = arch_table(spec, shape, steps=True, fc_compare="same")
    checked = 0
    for row in t["layers"]:
        for step in row["steps"]:
            if re.fullmatch(r"[-\d]+", step["value"]) and re.fullmatch(r"[\d\s+−·/()*floorceilmax,]+", step["numbers"]):
                assert _arith(step["numbers"]) == pytest.approx(int(step["value"])), step
                checked += 1
    assert checked > 3 * len(t["layers"]) // 2


def test_steps_render_in_every_format():
    t = arch_table("conv 3x3 8 same; maxpool 2x2; fc 10", "1x28x28")
    text = render_arch(t, "text", steps=True)  # recomputed with steps
    assert "floor((28 + 2·1 − 3)/1) + 1" in text and "weights = C_out·C_in·k_h·k_w = 8·1·3·3 = 72" in text
    assert r"\left\lfloor" in render_arch(t, "latex", steps=True)
    markdown = render_arch(t, "markdown")
    assert "| 1 | `conv 3x3 8 same` | 8×28×28 |" in markdown
    assert "1×28×28×8" in render_arch(arch_table("conv 3x3 8 same", "28x28x1", layout="nhwc"), "text")


@pytest.mark.parametrize("spec,shape,words", [
    ("conv 3x3 8; maxpool 3x3/2; maxpool 3x3/2; maxpool 3x3/2", "1x9x9", ["layer 4", "maxpool 3x3/2", "8x1x1"]),
    ("conv 3x3 8 3->8", "1x9x9", ["layer 1"]),
    ("conv 3x3 3->8", "1x9x9", ["channel mismatch", "3", "1"]),
    ("fc 10; conv 3x3 4", "1x9x9", ["layer 2", "flat vector"]),
    ("conv 3x3 8 g3", "4x9x9", ["groups=3"]),
    ("conv 99999999999x3 8", "1x9x9", ["limit"]),
    ("dropout 1.5", "1x9x9", ["dropout probability"]),
    ("conv 3x3 8", "3x5000x5000", ["4096"]),
])
def test_bad_specs_name_the_layer_and_the_problem(spec, shape, words):
    with pytest.raises(UsageError) as info:
        arch_table(spec, shape)
    for word in words:
        assert word in str(info.value)


def test_ceil_mode_drops_a_window_that_starts_in_the_padding():
    t = arch_table("maxpool 2x2/2 p1 ceil", "1x5x5", steps=True)
    # ceil((5 + 2 − 2)/2) + 1 = 4, but the 4th window would start at padded index 6, in the padding
    # (torch.nn.MaxPool2d(2, 2, 1, ceil_mode=True) on 5x5 gives 3x3)
    assert t["layers"][0]["output_shape"] == [1, 3, 3]
    assert "dropped" in t["layers"][0]["steps"][0]["numbers"]
