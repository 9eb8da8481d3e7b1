"""Architecture tables against PyTorch: real forward passes, sum(p.numel()), published MACs
and receptive fields measured from gradients."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")
nn = torch.nn

from cnnlab.arch import arch_table, parse_spec  # noqa: E402
from cnnlab.arch.layers import resolve_padding_pairs  # noqa: E402
from cnnlab.arch.torch_analyze import analyze, analyze_torchvision  # noqa: E402
from cnnlab.errors import UsageError  # noqa: E402

SPECS = [
    ("conv 11x11/4 96; relu; maxpool 3x3/2; conv 5x5 256 p2; relu; maxpool 3x3/2; conv 3x3 384 p1; fc 10", "3x227x227"),
    ("conv 3x3 8 same; conv 3x3/2 16 same; conv 5x5/3 8 same; maxpool 2x2 same", "3x23x19"),
    ("conv 3x3 6 d2; conv 3x5 12 p1x2 d1x2; avgpool 3x3/2 p1 ceil; conv 1x1/2 4", "2x31x29"),
    ("conv 3x3 8 g2 nobias; conv 3x3 dw; conv 1x1 16; bn; relu6; maxpool 3x3/2 p1 d2", "4x40x40"),
    ("conv 5x5 6; maxpool 2x2; conv 5x5 16; maxpool 2x2; fc 120; relu; fc 84; fc 10", "1x32x32"),
    ("conv 3x3 4 full; convt 3x3/2 6 p1 op1; convt 4x4/2 3 p1 g3", "2x9x11"),
    ("conv 7x7/2 8 p3; maxpool 3x3/2 p1 ceil; gap; flatten; dropout 0.3; fc 5; sigmoid", "3x50x45"),
    ("conv 3x3/2x1 5 p1; avgpool 2x3/2x1; gmp; fc 3 nobias; tanh; bn", "1x17x16"),
    ("conv 3x3 4 p1; leakyrelu; maxpool 5x5/3 p2 ceil; conv 2x2/2 4; softmax; lrn", "3x26x26"),
]


def build_torch(table: dict, avg_pools: bool = False) -> list:
    """One nn.Module per spec layer (test-only builder, from the parsed spec and row input shapes)."""
    blocks = []
    for layer, row in zip(parse_spec([r["spec"] for r in table["layers"]]), table["layers"]):
        shape = row["input_shape"]
        k, d = layer.kernel, layer.dilation
        s = layer.stride or (k if layer.kind in ("maxpool", "avgpool") else (1, 1))
        mods = []
        if layer.kind in ("conv", "maxpool", "avgpool"):
            pairs = resolve_padding_pairs(layer.padding, tuple(shape[1:]), k, s, d)
            if pairs[0][0] != pairs[0][1] or pairs[1][0] != pairs[1][1]:
                mods.append(nn.ZeroPad2d((pairs[1][0], pairs[1][1], pairs[0][0], pairs[0][1])))
                pad = (0, 0)
            else:
                pad = (pairs[0][0], pairs[1][0])
            if layer.kind == "conv":
                g = shape[0] if layer.groups == "dw" else layer.groups
                mods.append(nn.Conv2d(shape[0], layer.out or shape[0], k, s, pad, d, g, bias=layer.bias))
            elif layer.kind == "avgpool" or avg_pools:
                assert d == (1, 1)
                mods.append(nn.AvgPool2d(k, s, pad, ceil_mode=layer.ceil_mode))
            else:
                mods.append(nn.MaxPool2d(k, s, pad, d, ceil_mode=layer.ceil_mode))
        elif layer.kind == "convt":
            mods.append(nn.ConvTranspose2d(shape[0], layer.out, k, s, layer.padding, layer.output_padding,
                                           layer.groups, layer.bias, d))
        elif layer.kind == "fc":
            n_in = 1
            for v in shape:
                n_in *= v
            mods += [nn.Flatten(), nn.Linear(n_in, layer.out, bias=layer.bias)]
        else:
            mods.append({
                "gap": lambda: nn.AdaptiveAvgPool2d(1),
                "gmp": lambda: nn.AdaptiveAvgPool2d(1) if avg_pools else nn.AdaptiveMaxPool2d(1),
                "flatten": nn.Flatten, "dropout": lambda: nn.Dropout(layer.p), "relu": nn.ReLU,
                "relu6": nn.ReLU6, "leakyrelu": nn.LeakyReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
                "softmax": lambda: nn.Softmax(dim=1), "lrn": lambda: nn.LocalResponseNorm(3),
                "bn": lambda: nn.BatchNorm2d(shape[0]) if len(shape) == 3 else nn.BatchNorm1d(shape[0]),
            }[layer.kind]())
        blocks.append(nn.Sequential(*mods))
    return blocks


@pytest.mark.parametrize("spec,shape", SPECS)
def test_shapes_and_parameters_equal_a_real_forward_pass(spec, shape):
    table = arch_table(spec, shape)
    blocks = build_torch(table)
    x = torch.zeros(1, *table["input"])
    with torch.no_grad():
        for block, row in zip(blocks, table["layers"]):
            block.eval()
            x = block(x)
            assert list(x.shape[1:]) == row["output_shape"], row["spec"]
            assert sum(p.numel() for p in block.parameters()) == row["params"], row["spec"]
    # the torch analyser on the same module agrees with the text analyser (two implementations)
    model = nn.Sequential(*blocks)
    traced = analyze(model, table["input"])
    assert traced["total_params"] == table["total_params"]
    assert traced["total_macs"] == table["total_macs"]
    assert traced["layers"][-1]["output_shape"] == table["layers"][-1]["output_shape"]
    assert traced["layers"][-1]["receptive_field"] == table["layers"][-1]["receptive_field"]


def measured_field(model, shape, out_index=None) -> tuple[list, list]:
    """Input rows/columns with non-zero gradient for the centre output position (all weights positive)."""
    model = model.double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.abs() + 0.05)
    x = torch.ones(1, *shape, dtype=torch.float64, requires_grad=True)
    y = model(x)
    if y.dim() == 4:
        h, w = y.shape[2] // 2, y.shape[3] // 2
        y[0, :, h, w].sum().backward()  # all channels: a concatenation's channels come from different paths
        centre = (h, w)
    else:
        y[0].sum().backward()
        centre = (0, 0)
    nz = (x.grad[0].abs().sum(0) > 0).nonzero()
    return [int(nz[:, 0].min()), int(nz[:, 0].max()), int(nz[:, 1].min()), int(nz[:, 1].max())], centre


def expected_field(row, centre, shape) -> list:
    """The table's field for unit ``centre``, clipped to the input."""
    rf = row["receptive_field"] if isinstance(row["receptive_field"], list) else [row["receptive_field"]] * 2
    jump = row["jump"] if isinstance(row["jump"], list) else [row["jump"]] * 2
    start = row["start"] if isinstance(row["start"], list) else [row["start"]] * 2
    whole = row["type"] in ("gap", "gmp", "fc") or row["output_shape"] in ([], [1]) or len(row["output_shape"]) == 1
    out = []
    for a in range(2):
        centre_px = start[a] + (0 if whole else centre[a] * jump[a])
        lo, hi = centre_px - (rf[a] - 1) / 2, centre_px + (rf[a] - 1) / 2
        out += [max(0, int(lo)), min(shape[a + 1] - 1, int(hi))]
    return out


RF_SPECS = [
    ("conv 3x3 4; conv 3x3/2 4; maxpool 2x2; conv 5x5 4 d2; conv 3x3/2 4 p1", "1x80x80"),
    ("conv 11x11/4 8; relu; maxpool 3x3/2; conv 5x5 8 p2; maxpool 3x3/2; conv 3x3 8 p1", "3x227x227"),
    ("conv 3x3/2 4 same; conv 4x4/2 4 same; avgpool 3x3/2 p1 ceil; conv 3x5 4 d2x1", "2x61x57"),
    ("conv 3x7/1x2 4; maxpool 2x3/2x1; conv 3x3 4 g2; bn; relu", "2x40x60"),
    ("conv 3x3 4; maxpool 2x2; gap; fc 3", "1x20x20"),
]


@pytest.mark.parametrize("spec,shape", RF_SPECS)
def test_receptive_fields_equal_the_gradient_region(spec, shape):
    table = arch_table(spec, shape)
    blocks = build_torch(table, avg_pools=True)
    for i, row in enumerate(table["layers"]):
        region, centre = measured_field(nn.Sequential(*blocks[: i + 1]), table["input"])
        assert region == expected_field(row, centre, table["input"]), row["spec"]


def _trunk(model, upto):
    return nn.Sequential(*[m for name, m in model.named_children()][:upto])


def _avg_pools(model):
    for name, child in model.named_children():
        if isinstance(child, nn.MaxPool2d):
            setattr(model, name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding,
                                              ceil_mode=child.ceil_mode))
        else:
            _avg_pools(child)
    return model


@pytest.mark.parametrize("builder,shape", [
    (lambda: _trunk(torchvision.models.resnet18(), 6), (3, 160, 160)),            # residual additions
    (lambda: torchvision.models.densenet121().features[:6], (3, 96, 96)),          # concatenations
    (lambda: _trunk(torchvision.models.googlenet(init_weights=False), 8), (3, 128, 128)),  # inception branches
])
def test_branching_receptive_fields_equal_the_gradient_region(builder, shape):
    torch.manual_seed(0)
    model = _avg_pools(builder())
    table = analyze(model, shape)
    last = table["layers"][-1]
    region, centre = measured_field(model, shape)
    assert region == expected_field(last, centre, (1,) + shape[1:])
    assert last["receptive_field"] > max(r["receptive_field"] for r in table["layers"] if r["type"] == "conv"
                                         and r["index"] < 3)


PARAMS = {"alexnet": 61_100_840, "vgg16": 138_357_544, "resnet18": 11_689_512, "resnet50": 25_557_032,
          "mobilenet_v2": 3_504_872, "densenet121": 7_978_856, "squeezenet1_0": 1_248_424,
          "googlenet": 13_004_888, "efficientnet_b0": 5_288_548, "shufflenet_v2_x1_0": 2_278_604}
# torchvision's model docs list "GFLOPS" that are multiply-accumulates of conv and linear layers
GMACS = {"alexnet": 0.71, "vgg16": 15.47, "resnet18": 1.81, "resnet50": 4.09, "mobilenet_v2": 0.30,
         "densenet121": 2.83, "squeezenet1_0": 0.82, "googlenet": 1.50, "efficientnet_b0": 0.39,
         "shufflenet_v2_x1_0": 0.14}


@pytest.mark.parametrize("name", list(PARAMS))
def test_torchvision_parameters_and_published_macs(name):
    table = analyze_torchvision(name)
    model = torchvision.models.get_model(name, weights=None) if name == "resnet18" else None
    assert table["total_params"] == PARAMS[name]
    assert round(table["total_macs"] / 1e9, 2) == pytest.approx(GMACS[name], abs=0.011)
    if name not in ("googlenet",):  # googlenet's auxiliary classifiers do not run in eval mode
        assert table["unattributed_params"] == 0
        assert sum(r["params"] for r in table["layers"] if not r.get("shared")) == PARAMS[name]
    if model is not None:
        assert sum(p.numel() for p in model.parameters()) == PARAMS[name]


def test_resnet_numbers_classic_values():
    t = analyze_torchvision("resnet50")
    assert t["total_macs"] == 4_089_184_256
    assert analyze_torchvision("resnet18")["total_macs"] == 1_814_073_344


def test_torchvision_shapes_equal_a_real_forward_pass():
    model = torchvision.models.resnet18().eval()
    shapes = {}
    def record(name, output):
        shapes.setdefault(name, list(output.shape[1:]))  # first call of a reused module

    hooks = [m.register_forward_hook(lambda m, i, o, n=n: record(n, o))
             for n, m in model.named_modules() if not list(m.children())]
    with torch.no_grad():
        model(torch.zeros(1, 3, 96, 128))
    for h in hooks:
        h.remove()
    table = analyze(model, (3, 96, 128))
    for row in table["layers"]:
        if row["name"] in shapes:
            assert row["output_shape"] == shapes[row["name"]], row["name"]
    assert table["layers"][-1]["output_shape"] == [1000]


def test_shared_module_counted_once_and_untraceable_module_falls_back():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)

        def forward(self, x):
            return self.conv(torch.relu(self.conv(x)))

    t = analyze(Twice(), (4, 8, 8))
    assert t["total_params"] == 4 * 4 * 9 + 4 == sum(r["params"] for r in t["layers"] if not r.get("shared"))
    assert t["total_macs"] == 2 * 4 * 4 * 9 * 64
    assert t["layers"][-1]["receptive_field"] == 5 and t["layers"][-1]["shared"]

    class Dynamic(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 3)

        def forward(self, x):
            x = self.a(x)
            if x.sum() > -1e9:  # data-dependent control flow: fx cannot trace it
                x = self.b(x)
            return x

    t = analyze(Dynamic(), (1, 10, 10))
    assert [r["output_shape"] for r in t["layers"]] == [[2, 8, 8], [2, 6, 6]]
    assert t["layers"][-1]["receptive_field"] == 5 and "torch.fx" in t["notes"][0]


def test_torch_errors():
    with pytest.raises(UsageError, match="did you mean resnet18"):
        analyze_torchvision("resnet81")
    with pytest.raises(UsageError, match="cannot run on input"):
        analyze_torchvision("vgg16", (3, 16, 16))
