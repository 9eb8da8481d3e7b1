"""Architecture specs as trainable modules: `cnnlab arch` and the torch module agree.

The references are independent of the spec builder: ``sum(p.numel())`` of each built
module, the shapes a real forward pass produces (hooks on every layer), torchvision's
own ResNet BasicBlock for the residual block, and ``cnnlab arch`` run on the spec the
run folder keeps.
"""

from __future__ import annotations

import json
import random

import pytest
import torch
from torch import nn

from cnnlab.arch import arch_table
from cnnlab.cli.main import main
from cnnlab.errors import UsageError
from cnnlab.models import count_params, get_model
from cnnlab.models.spec_model import SpecNet, build_spec_model, is_spec, plan_spec

ACTIVATIONS = ["relu", "leakyrelu", "gelu", "sigmoid", "tanh", "elu", "silu", "relu6", "identity",
               "softmax", "dropout 0.3", "bn"]


def _candidates(rng: random.Random, shape: tuple[int, ...]) -> list[str]:
    """Layers that may follow a map of ``shape`` (the analysis still decides if they fit)."""
    if len(shape) == 1:
        return [f"fc {rng.randint(1, 12)}", rng.choice(ACTIVATIONS), f"fc {rng.randint(1, 5)} nobias"]
    C = shape[0]
    k, k2 = rng.randint(1, 4), rng.randint(1, 4)
    s = rng.randint(1, 2)
    out = rng.choice([2, 4, 6])
    pad = rng.choice(["", "p1", "same", "valid", "full", "p1x0", "p0x2"])
    groups = rng.choice([g for g in (1, 2, 3) if C % g == 0 and out % g == 0])
    pool_k = rng.randint(1, 3)
    return [
        f"conv {k}x{k2}/{s} {out} {pad} {'d2' if rng.random() < 0.2 else ''} "
        f"{f'g{groups}' if groups > 1 else ''} {'nobias' if rng.random() < 0.2 else ''}",
        f"conv 3x3 dw {rng.choice(['p1', 'same', ''])}",
        f"convt {k}x{k}/{s} {out} p{rng.randint(0, k // 2)} op{rng.randint(0, s - 1)}",
        f"maxpool {pool_k}x{pool_k}/{rng.randint(1, 2)} p{rng.randint(0, pool_k // 2)} "
        f"{rng.choice(['', 'ceil', 'd2'])}",
        f"avgpool {pool_k}/{rng.randint(1, 2)} {rng.choice(['', 'same', f'p{pool_k // 2}'])}",
        f"res {rng.choice([1, 3])}x{rng.choice([1, 3])}/{s} {out}",
        "res " + str(C),
        "inception " + ",".join(str(rng.randint(1, 4)) if n == 1 else f"{rng.randint(1, 4)}/{rng.randint(1, 4)}"
                                for n in (1, 2, 2, 1)),
        rng.choice(ACTIVATIONS), "lrn", "gap", "gmp", "flatten", f"fc {rng.randint(1, 12)}",
    ]


def random_spec(seed: int) -> tuple[list[str], tuple[int, int, int]]:
    """A spec of 2–8 layers that fits a random input, built layer by layer with the analysis."""
    rng = random.Random(seed)
    shape = (rng.randint(1, 3), rng.randint(5, 20), rng.randint(5, 20))
    layers: list[str] = []
    current: tuple[int, ...] = shape
    while len(layers) < rng.randint(2, 8):
        for _ in range(20):
            layer = " ".join(rng.choice(_candidates(rng, current)).split())
            try:
                table = arch_table(layers + [layer], shape)
            except UsageError:
                continue
            layers.append(layer)
            current = tuple(table["layers"][-1]["output_shape"])
            break
        else:
            break
    return layers, shape


@pytest.mark.parametrize("seed", range(80))
def test_random_specs_module_matches_arch_layer_by_layer(seed):
    layers, shape = random_spec(seed)
    classes = 3
    plan = plan_spec(layers, shape[0], classes, shape[1:])
    model = SpecNet(plan).eval()
    table = arch_table([layer.text for layer in plan.layers], shape)
    # every layer: the arch count of parameters is the module's
    for child, row in zip(model, table["layers"]):
        assert sum(p.numel() for p in child.parameters()) == row["params"], row["spec"]
    assert count_params(model) == table["total_params"] == plan.table["total_params"]
    # every layer: the shape a forward pass produces is the one arch prints
    seen = []
    hooks = [child.register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape[1:]))) for child in model]
    with torch.no_grad():
        logits = model(torch.randn(2, *shape))
    for hook in hooks:
        hook.remove()
    assert seen == [tuple(row["output_shape"]) for row in table["layers"]], layers
    assert logits.shape == (2, classes)


def test_residual_block_is_torchvisions_basic_block():
    from torchvision.models.resnet import BasicBlock

    for c_in, c_out, stride in ((16, 16, 1), (16, 32, 2), (8, 8, 2)):
        down = None
        if stride != 1 or c_in != c_out:
            down = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
        reference = BasicBlock(c_in, c_out, stride, down).eval()
        ours = build_spec_model(f"res 3x3/{stride} {c_out}; fc 2", c_in, 2, (12, 12))[0].eval()
        assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in reference.parameters())
        # same parameters in the same order -> same function
        with torch.no_grad():
            for a, b in zip(ours.state_dict().values(), reference.state_dict().values()):
                if a.dtype.is_floating_point:  # positive, so that running variances stay valid
                    a.copy_(torch.rand_like(a) + 0.5)
                b.copy_(a)
            x = torch.randn(2, c_in, 12, 12)
            assert torch.allclose(ours(x), reference(x), atol=1e-5)


@pytest.mark.parametrize("widths", [(192, 64, 96, 128, 16, 32, 32), (480, 192, 96, 208, 16, 48, 64), (5, 1, 2, 3, 4, 2, 1)])
def test_inception_block_is_torchvisions_inception(widths):
    """Same parameter count, same names, and with the same weights the same output, as
    torchvision's GoogLeNet ``Inception(in, C1, C3R, C3, C5R, C5, CP)`` (inception3a, 4a)."""
    from torchvision.models.googlenet import Inception

    c_in, c1, c3r, c3, c5r, c5, cp = widths
    reference = Inception(*widths).eval()
    spec = f"inception {c1},{c3r}/{c3},{c5r}/{c5},{cp}"
    ours = build_spec_model(f"{spec}; fc 2", c_in, 2, (9, 7))[0].eval()
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in reference.parameters())
    assert list(ours.state_dict()) == list(reference.state_dict())
    table = arch_table([spec], (c_in, 9, 7))
    assert table["total_params"] == sum(p.numel() for p in reference.parameters())
    with torch.no_grad():
        for a in reference.state_dict().values():
            if a.dtype.is_floating_point:  # positive, so that running variances stay valid
                a.copy_(torch.rand_like(a) + 0.5)
        ours.load_state_dict(reference.state_dict())
        x = torch.randn(2, c_in, 9, 7)
        expected = reference(x)
        assert expected.shape[1:] == tuple(table["layers"][0]["output_shape"]) == (c1 + c3 + c5 + cp, 9, 7)
        torch.testing.assert_close(ours(x), expected, atol=1e-5, rtol=1e-5)
    # MACs: every conv's output units × its (C_in · k · k), counted from the module
    macs = []
    hooks = [m.register_forward_hook(lambda m, i, o: macs.append(o[0].numel() * m.weight[0].numel()))
             for m in reference.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        reference(torch.zeros(1, c_in, 9, 7))
    for hook in hooks:
        hook.remove()
    assert table["total_macs"] == sum(macs)


def test_final_fc_added_and_trailing_softmax_left_out_with_notes():
    plan = plan_spec("conv 3x3 4; relu; fc 10; softmax", 1, 10, (8, 8))
    assert [layer.text for layer in plan.layers] == ["conv 3x3 4", "relu", "fc 10"]
    assert plan.notes == ["trailing softmax left out: the loss applies its own softmax to the logits"]
    plan = plan_spec("conv 3x3 4; relu; fc 32", 1, 10, (8, 8))
    assert plan.layers[-1].text == "fc 10" and "ends in fc 32, not in one to the 10 classes" in plan.notes[0]
    assert plan_spec("conv 3x3 4; fc 10", 1, 10, (8, 8)).notes == []


def test_spec_forms_are_one_language(tmp_path):
    compact = "conv 3x3 8 p1; relu; maxpool 2; fc 10"
    path = tmp_path / "net.yaml"
    path.write_text("- conv 3x3 8 p1\n- {type: relu}\n- {type: maxpool, kernel: 2}\n- fc 10\n")
    text_file = tmp_path / "net.txt"
    text_file.write_text(compact.replace("; ", "\n") + "\n")
    counts = {count_params(get_model(spec, 1, 10, (28, 28))) for spec in (compact, str(path), str(text_file))}
    assert counts == {arch_table(compact, (1, 28, 28))["total_params"]}
    assert is_spec(str(path)) and is_spec(compact) and not is_spec("cnn3")
    from cnnlab.arch.spec import parse_spec

    assert [layer.text for layer in parse_spec([{"type": "res", "kernel": 3, "stride": 2, "out": 16}])] == \
        ["res 3x3 s2 16"]
    import dataclasses

    a, b = parse_spec("res 3x3/2 16")[0], parse_spec([{"type": "res", "kernel": 3, "stride": 2, "out": 16}])[0]
    assert dataclasses.replace(a, text="") == dataclasses.replace(b, text="")


@pytest.mark.parametrize("spec, message", [
    ("conv 9x9 8; relu", "layer 1 (conv 9x9 8) received 1x8x8: kernel of span 9"),
    ("conv 3x3 8; conv 7x7 4", "layer 2 (conv 7x7 4) received 8x6x6"),
    ("conv 3x3; relu", "layer 1 ('conv 3x3'): missing output channel count"),
    ("conv 3x3 8; relx", "layer 2 ('relx'): unknown layer kind 'relx'"),
    ("nets/missing.yaml", "spec file nets/missing.yaml does not exist"),
])
def test_spec_errors_name_the_layer_before_training(spec, message, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", "digits", "--model", spec, "--epochs", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not out.exists()


def test_spec_options_are_refused():
    with pytest.raises(UsageError, match="a spec model takes no model options"):
        get_model("conv 3x3 4; fc 2", 1, 2, (8, 8), dropout=0.1)


@pytest.fixture(scope="module")
def spec_run(tmp_path_factory):
    """A spec trained for one epoch on scikit-learn's 8x8 digits (a few seconds)."""
    out = tmp_path_factory.mktemp("spec") / "run"
    spec = "conv 3x3 8 p1; bn; relu; res 8; maxpool 2; dropout 0.1"
    assert main(["train", "--data", "digits", "--model", spec, "--epochs", "1", "--limit", "400",
                 "--out", str(out), "--json", "--threads", "1"]) == 0
    return out, spec


def test_spec_run_keeps_its_spec_and_arch_agrees(spec_run, capsys):
    out, spec = spec_run
    saved = (out / "spec.txt").read_text()
    assert saved.splitlines() == [s.strip() for s in spec.split(";")] + ["fc 10"]
    summary = json.loads((out / "summary.json").read_text())
    assert main(["arch", str(out / "spec.txt"), "--input", "1x8x8", "--format", "json"]) == 0
    table = json.loads(capsys.readouterr().out)
    state = torch.load(out / "best.pt", weights_only=True)
    params_in_checkpoint = sum(v.numel() for k, v in state.items()
                               if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
    assert table["total_params"] == summary["params"] == params_in_checkpoint
    meta = json.loads((out / "model.json").read_text())
    assert meta["spec"] == saved and meta["model"] == spec


def test_spec_run_is_evaluated_explained_and_compared(spec_run, tmp_path, capsys):
    out, spec = spec_run
    summary = json.loads((out / "summary.json").read_text())
    assert main(["evaluate", str(out), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert evaluated["accuracy"] == pytest.approx(summary["test_accuracy"])
    assert main(["explain", str(out), "--what", "filters", "--out", str(tmp_path / "ex"), "--json"]) == 0
    capsys.readouterr()
    assert any(p.suffix == ".png" for p in (tmp_path / "ex").rglob("*"))
    # the run folder alone is enough: the spec text was saved whole
    assert main(["compare", "--data", "digits", "--models", "logreg", "--runs", str(out),
                 "--limit", "400", "--out", str(tmp_path / "cmp"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    row = next(m for m in result["models"] if m["name"] == "run")
    assert row["params"] == summary["params"] and row["convolutional"] is True
    assert row["test_accuracy"] == pytest.approx(summary["test_accuracy"])
    assert 0 <= row["train_accuracy"] <= 1


def test_compare_trains_a_spec_next_to_the_builtins(tmp_path, capsys):
    spec = "conv 3x3 4 p1; relu; maxpool 2; fc 10"
    assert main(["compare", "--data", "digits", "--models", "logreg", "--models", spec, "--limit", "300",
                 "--epochs", "1", "--out", str(tmp_path / "cmp"), "--json", "--threads", "1"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    names = [m["name"] for m in result["models"]]
    assert names == ["logreg", "spec-1"]
    assert result["models"][1]["params"] == arch_table(spec, (1, 8, 8))["total_params"]


def test_tune_accepts_a_spec_as_a_fixed_model(tmp_path, capsys):
    spec = "conv 3x3 4 p1; relu; fc 10"
    assert main(["tune", "--data", "digits", "--model", spec, "--trials", "1", "--epochs", "1",
                 "--limit", "200", "--threads", "1", "--out", str(tmp_path / "study"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    run = result["best_run_dir"]
    assert json.loads(open(f"{run}/model.json").read())["params"] == arch_table(spec, (1, 8, 8))["total_params"]


def test_residual_block_in_arch_worked_by_hand():
    row = arch_table("res 3x3/2 32", (16, 14, 14), steps=True)["layers"][0]
    # conv 3x3 16->32 (4,608) + conv 3x3 32->32 (9,216) + projection 1x1 16->32 (512); 3 bn of 2*32
    assert (row["weights"], row["biases"], row["params"]) == (14336 + 96, 96, 14528)  # γ, β as for bn
    assert row["output_shape"] == [32, 7, 7] and row["macs"] == 14336 * 7 * 7
    assert row["receptive_field"] == 7 and row["jump"] == 2  # 3 + (3-1)*2 on the main path
    same = arch_table("res 16", (16, 14, 14))["layers"][0]
    assert same["params"] == 2 * 16 * 16 * 9 + 2 * 32 and same["output_shape"] == [16, 14, 14]


def test_a_config_file_may_hold_the_spec_as_a_yaml_list(tmp_path):
    from cnnlab.train import TrainConfig

    path = tmp_path / "run.yaml"
    path.write_text("data: digits\nmodel:\n  - conv 3x3 4 p1\n  - {type: relu}\n  - {type: maxpool, kernel: 2}\n")
    config = TrainConfig.from_yaml(path)
    model = get_model(config.model, 1, 10, (8, 8))
    assert count_params(model) == arch_table("conv 3x3 4 p1; relu; maxpool 2; fc 10", (1, 8, 8))["total_params"]
