"""The compact layer language and its YAML forms (docs/arch.md)."""

from __future__ import annotations

import pytest

from cnnlab.arch import load_spec, parse_input_shape, parse_spec
from cnnlab.arch.spec import parse_layer
from cnnlab.errors import UsageError


def test_options_in_any_order_mean_the_same_layer():
    a = parse_layer("conv 5x5/2 64 p2 d2 g2 nobias")
    b = parse_layer("conv nobias g2 64 d2 p2 5x5/2")
    fields = ("kind", "kernel", "stride", "padding", "dilation", "groups", "out", "bias")
    assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]
    assert a.kernel == (5, 5) and a.stride == (2, 2) and a.padding == (2, 2) and not a.bias


def test_other_notations():
    assert parse_layer("conv 10@5×5").out == 10 and parse_layer("conv 10@5×5").kernel == (5, 5)
    assert parse_layer("conv 3x3 3->96").in_channels == 3
    assert parse_layer("Conv2d 3x5 s2x1 8 p1x2").stride == (2, 1)
    assert parse_layer("maxpool 2").kernel == (2, 2) and parse_layer("maxpool 2").stride is None
    assert parse_layer("linear 10").kind == "fc" and parse_layer("dropout").p == 0.5
    assert parse_layer("avgpool 3x3/2 p1 ceil").ceil_mode


def test_spec_separators_and_comments():
    layers = parse_spec("conv 3x3 8   # first\nrelu; maxpool 2x2\n\nfc 10")
    assert [l.kind for l in layers] == ["conv", "relu", "maxpool", "fc"]


def test_yaml_list_of_strings_and_mappings(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text("input: 3x32x32\nlayers:\n  - conv 3x3 16 p1\n"
                    "  - {type: conv, kernel: [3, 5], stride: 2, out: 32, padding: same, bias: false}\n"
                    "  - {type: maxpool, size: 2}\n  - {type: dropout, p: 0.2}\n  - {type: fc, units: 10}\n")
    layers, shape = load_spec(str(path))
    assert shape == (3, 32, 32)
    assert layers[1].kernel == (3, 5) and layers[1].padding == "same" and not layers[1].bias
    assert layers[2].kernel == (2, 2) and layers[3].p == 0.2 and layers[4].out == 10
    plain = tmp_path / "net.txt"
    plain.write_text("conv 3x3 8\nrelu\n")
    assert [l.kind for l in load_spec(str(plain))[0]] == ["conv", "relu"]


@pytest.mark.parametrize("text,words", [
    ("cnv 3x3 8", ["unknown layer kind 'cnv'", "conv"]),
    ("conv 3x3", ["missing output channel count"]),
    ("conv 3x3 8 q7", ["unexpected 'q7'", "conv KxK"]),
    ("conv 3x3 0", ["channel count must be >= 1"]),
    ("conv 3x3 8 p1 p2", ["given twice"]),
    ("maxpool", ["missing kernel size"]),
    ("fc", ["missing unit count"]),
    ("avgpool 2x2 d2", ["no dilation"]),
])
def test_errors_name_the_layer_and_the_token(text, words):
    with pytest.raises(UsageError) as info:
        parse_spec(f"relu; {text}")
    assert "layer 2" in str(info.value)
    for word in words:
        assert word in str(info.value)


def test_mapping_errors():
    with pytest.raises(UsageError, match="unknown key 'kernal'"):
        parse_spec([{"type": "conv", "kernal": 3, "out": 4}])
    with pytest.raises(UsageError, match="needs a 'type'"):
        parse_spec([{"kernel": 3}])
    with pytest.raises(UsageError, match="no layers"):
        parse_spec("  ;  ")


def test_input_shapes_and_layouts():
    assert parse_input_shape("3x224x224") == (3, 224, 224)
    assert parse_input_shape("28x28") == (1, 28, 28)
    assert parse_input_shape([784]) == (784,)
    assert parse_input_shape("224x224x3", layout="nhwc") == (3, 224, 224)
    assert parse_input_shape("8x224x224x3", layout="nhwc") == (3, 224, 224)
    assert parse_input_shape("1x3x224x224", layout="nchw") == (3, 224, 224)
    for bad in ("3xx", "3x0x4", "1x2x3x4x5", "3x4097x10", "4x4096x4096x1"):
        with pytest.raises(UsageError):
            parse_input_shape(bad)


def test_inception_block_parses_in_every_form():
    layer = parse_layer("inception 64,96/128,16/32,32")
    assert layer.kind == "inception" and layer.branches == (64, 96, 128, 16, 32, 32) and layer.out == 256
    assert parse_layer("Inception 64, 96/128, 16/32, 32").branches == layer.branches
    listed = parse_spec([{"type": "inception", "branches": [64, [96, 128], [16, 32], 32]}])[0]
    assert listed.branches == layer.branches
    assert parse_spec([{"type": "inception", "branches": "64,96/128,16/32,32"}])[0].branches == layer.branches


@pytest.mark.parametrize("text, message", [
    ("inception", "missing branch widths"),
    ("inception 64,96/128,16/32", "4 branches, got 3"),
    ("inception 64,96,16/32,32", "branch '96' out of place"),
    ("inception 64,96/128,16/32,32,8", "branch '8' out of place"),
    ("inception 3x3 64,96/128,16/32,32", "unexpected '3x3'"),
])
def test_inception_mistakes_say_how_to_write_it(text, message):
    with pytest.raises(UsageError, match=message) as caught:
        parse_layer(text)
    assert "inception C1,C3R/C3,C5R/C5,CP" in str(caught.value)
    with pytest.raises(UsageError, match="branch width must be >= 1"):
        parse_layer("inception 64,96/0,16/32,32")


def test_inception_analysis_by_hand():
    """conv 3x3/2 on 17x17 -> 8x8 (r 3, jump 2); the block keeps 8x8, its widest branch
    (a 3x3 conv or the 3x3 pool after a 1x1) adds (3 - 1)·2: r 7."""
    from cnnlab.arch import arch_table

    table = arch_table(["conv 3x3/2 8", "inception 1,2/3,4/5,6"], (1, 17, 17))
    row = table["layers"][1]
    assert row["output_shape"] == [1 + 3 + 5 + 6, 8, 8]
    assert (row["receptive_field"], row["jump"], row["start"]) == (7, 2, 1)
    conv = 8 * 1 + 8 * 2 + 2 * 3 * 9 + 8 * 4 + 4 * 5 * 9 + 8 * 6  # 338
    bn = 2 * (1 + 2 + 3 + 4 + 5 + 6)
    assert row["params"] == conv + bn and row["macs"] == conv * 8 * 8
