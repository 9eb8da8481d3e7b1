"""Transfer learning that cannot mislead: weights needed to freeze, a swapped stem trained,
.safetensors read and written, ImageNet statistics on request, --resize on named data."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from cnnlab.cli.main import main
from cnnlab.errors import UsageError
from cnnlab.models import count_trainable, freeze_backbone, get_model, load_pretrained
from cnnlab.models.pretrained import imagenet_stats, read_state_dict, write_safetensors


@pytest.fixture(scope="module")
def lenet_weights(tmp_path_factory):
    """cnn3 weights for 1x8x8 digits saved both as .pt and .safetensors."""
    torch.manual_seed(3)
    state = get_model("cnn3", 1, 10, (8, 8)).state_dict()
    folder = tmp_path_factory.mktemp("weights")
    torch.save(state, folder / "lenet.pt")
    write_safetensors(folder / "lenet.safetensors", state)
    return state, folder


@pytest.mark.parametrize("flag", [["--freeze"], ["--unfreeze-after", "1"]])
def test_freezing_without_weights_is_refused(flag, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", "digits", "--model", "lenet5", *flag, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --freeze and --unfreeze-after need --weights")
    assert not out.exists()


def test_safetensors_load_as_pt_state_dicts_do(lenet_weights):
    state, folder = lenet_weights
    a = read_state_dict(folder / "lenet.pt")
    b = read_state_dict(folder / "lenet.safetensors")
    assert a.keys() == b.keys() == state.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    m1 = get_model("cnn3", 1, 10, (8, 8), weights=str(folder / "lenet.pt"))
    m2 = get_model("cnn3", 1, 10, (8, 8), weights=str(folder / "lenet.safetensors"))
    head = "classifier.3."
    for (k, v1), v2 in zip(m1.state_dict().items(), m2.state_dict().values()):
        if not k.startswith(head):  # the head is new in both
            assert torch.equal(v1, v2) and torch.equal(v1, state[k]), k


def test_broken_safetensors_is_one_error_line(tmp_path):
    bad = tmp_path / "w.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(UsageError, match="not a valid .safetensors file"):
        read_state_dict(bad)


def test_swapped_stem_is_fresh_and_stays_trainable(tmp_path):
    """ImageNet-stem weights into a small-input ResNet-18: the new 3x3 stem is reported fresh
    and stays trainable under freezing."""
    from torchvision.models import resnet18

    torch.manual_seed(0)
    weights = tmp_path / "imagenet.safetensors"
    write_safetensors(weights, resnet18(weights=None).state_dict())  # ImageNet stem: 7x7/2 conv
    model = get_model("resnet18", 1, 10, (8, 8))  # small input: 3x3/1 stem instead
    report = load_pretrained(model, weights)
    assert report["fresh"] == ["conv1.weight"]
    freeze_backbone(model)
    assert {n for n, p in model.named_parameters() if p.requires_grad} == {"conv1.weight", "fc.weight", "fc.bias"}
    assert count_trainable(model) == model.conv1.weight.numel() + model.fc.weight.numel() + 10


def test_freeze_run_trains_what_the_weights_lack_and_says_so(tmp_path, capsys):
    """A fast run of the same rule: a 5x5 first conv that 3x3 weights cannot fill is trained
    under --freeze (and changes), the loaded conv stays exactly as loaded."""
    torch.manual_seed(1)
    source = get_model("conv 3x3 8 p1; relu; conv 3x3 8 p1; relu; gap", 1, 10, (8, 8)).state_dict()
    weights = tmp_path / "w.safetensors"
    write_safetensors(weights, source)
    spec = "conv 5x5 8 p2; relu; conv 3x3 8 p1; relu; gap"
    torch.manual_seed(0)  # fit seeds with --seed 0 before it builds the model
    start = get_model(spec, 1, 10, (8, 8)).state_dict()["0.weight"].clone()
    out = tmp_path / "run"
    assert main(["train", "--data", "digits", "--model", spec, "--weights", str(weights), "--freeze",
                 "--epochs", "1", "--limit", "200", "--threads", "1", "--out", str(out)]) == 0
    assert "not in the weights, so trained from the start and never frozen: 0.weight" in capsys.readouterr().out
    best = torch.load(out / "best.pt", weights_only=True)
    assert torch.equal(best["2.weight"], source["2.weight"]) and torch.equal(best["0.bias"], source["0.bias"])
    assert not torch.equal(best["0.weight"], start)


@pytest.mark.slow
def test_freeze_run_trains_the_swapped_stem_and_says_so(tmp_path, capsys):
    """The whole run (about 40 s on a loaded 2-core machine): the stem moves, the backbone not."""
    from safetensors.torch import load_file
    from torchvision.models import resnet18

    torch.manual_seed(0)
    weights = tmp_path / "imagenet.safetensors"
    source = resnet18(weights=None).state_dict()
    write_safetensors(weights, source)
    torch.manual_seed(0)  # fit seeds with --seed 0 before it builds the model
    start = get_model("resnet18", 1, 10, (8, 8)).conv1.weight.detach().clone()
    out = tmp_path / "run"
    assert main(["train", "--data", "digits", "--model", "resnet18", "--weights", str(weights), "--freeze",
                 "--epochs", "1", "--limit", "60", "--batch-size", "30", "--threads", "1",
                 "--out", str(out)]) == 0
    log = capsys.readouterr().out
    assert "not in the weights, so trained from the start and never frozen: conv1.weight" in log
    best = torch.load(out / "best.pt", weights_only=True)
    assert torch.equal(best["layer1.0.conv1.weight"], source["layer1.0.conv1.weight"])  # frozen
    assert best["conv1.weight"].shape == start.shape and not torch.equal(best["conv1.weight"], start)
    twin = load_file(str(out / "best.safetensors"))  # the same tensors as best.pt
    assert twin.keys() == best.keys() and all(torch.equal(twin[k], best[k]) for k in best)
    assert json.loads((out / "model.json").read_text())["in_channels"] == 1  # grey: --normalize data


def test_imagenet_stats_are_torchvisions_rgb_statistics():
    from torchvision.transforms._presets import ImageClassification

    preset = ImageClassification(crop_size=224)  # what torchvision's ImageNet weights expect
    assert imagenet_stats() == (list(preset.mean), list(preset.std))


def test_imagenet_normalisation_of_grey_images_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", "digits", "--model", "logreg", "--epochs", "1", "--threads", "1",
                 "--normalize", "imagenet", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --normalize imagenet needs RGB images (3 bands); digits has 1 band: "
                          "use --normalize data") and err.count("\n") == 1
    assert not out.exists()


def test_imagenet_normalisation_of_rgb_images_uses_imagenets_statistics(tmp_path):
    from cnnlab.data import load_dataset
    from cnnlab.train import TrainConfig, fit

    grey = load_dataset("digits", limit=100)
    rgb = dataclasses.replace(grey, x_train=np.repeat(grey.x_train[:], 3, 1), x_val=np.repeat(grey.x_val[:], 3, 1),
                              x_test=np.repeat(grey.x_test[:], 3, 1))
    result = fit(TrainConfig(data="digits", model="logreg", epochs=1, threads=1, normalize="imagenet",
                             out=str(tmp_path / "r")), rgb)
    meta = json.loads((result.run_dir / "model.json").read_text())
    assert meta["in_channels"] == 3
    assert meta["mean"] == pytest.approx([0.485, 0.456, 0.406]) and meta["std"] == pytest.approx([0.229, 0.224, 0.225])


def test_resize_is_honoured_for_named_datasets():
    from cnnlab.data import load_dataset

    plain = load_dataset("digits")
    big = load_dataset("digits", resize=(16, 16))
    assert big.image_shape == (1, 16, 16) and big.x_test.shape[1:] == (1, 16, 16)
    assert len(big.y_train) == len(plain.y_train) and (big.y_test == plain.y_test).all()
    # bilinear 2x upsampling keeps the mean brightness of every image (up to the edges)
    assert np.allclose(big.x_train.mean(axis=(1, 2, 3)), plain.x_train.mean(axis=(1, 2, 3)), atol=0.02)
    assert "resized from 8x8 to 16x16" in big.notes[-1]


def test_resize_too_big_is_refused_before_allocating():
    from cnnlab.data import load_dataset

    with pytest.raises(UsageError, match="over the limit of 1 GiB"):
        load_dataset("digits", resize=(2000, 2000))


def test_cifar_message_names_the_real_flag(tmp_path):
    from cnnlab.data import load_dataset

    with pytest.raises(UsageError, match="--data-dir FOLDER"):
        load_dataset("cifar10", data_dir=str(tmp_path))
