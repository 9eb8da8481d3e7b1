"""Loading local state dicts (first conv adapted, head dropped) and freezing for fine-tuning."""

from __future__ import annotations

import pytest
import torch

from cnnlab.errors import UsageError
from cnnlab.models import (count_params, count_trainable, freeze_backbone, get_model, head_name,
                           load_pretrained, param_groups, unfreeze)
from cnnlab.models.pretrained import adapt_conv_channels


@pytest.fixture(scope="module")
def imagenet_resnet(tmp_path_factory):
    """A torchvision ResNet-18 (ImageNet layout: 3 channels, 1000 classes) saved as a state dict."""
    from torchvision.models import resnet18

    torch.manual_seed(1)
    source = resnet18(weights=None, num_classes=1000)
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.save(source.state_dict(), path)
    return source.state_dict(), path


def test_grey_model_gets_averaged_rgb_filters(imagenet_resnet):
    sd, path = imagenet_resnet
    model = get_model("resnet18", 1, 10, (64, 64), weights=str(path))
    assert model.conv1.weight.shape == (64, 1, 7, 7)
    assert torch.allclose(model.conv1.weight, sd["conv1.weight"].mean(1, keepdim=True))
    assert torch.equal(model.layer3[1].conv2.weight, sd["layer3.1.conv2.weight"])
    assert torch.equal(model.bn1.running_var, sd["bn1.running_var"])
    assert model.fc.weight.shape == (10, 512)


def test_head_is_dropped_even_when_shapes_match(imagenet_resnet):
    sd, path = imagenet_resnet
    torch.manual_seed(5)
    model = get_model("resnet18", 3, 1000, (224, 224))
    fresh_fc = model.fc.weight.clone()
    report = load_pretrained(model, path)
    assert report["head"] == "fc" and not report["skipped"] and not report["missing"]
    assert torch.equal(model.fc.weight, fresh_fc)
    assert torch.equal(model.conv1.weight, sd["conv1.weight"])
    assert report["loaded"] == len(sd) - 2  # all but fc.weight and fc.bias


def test_small_stem_reports_the_stem_conv_as_skipped(imagenet_resnet):
    _, path = imagenet_resnet
    model = get_model("resnet18", 3, 10, (32, 32))  # 3x3 stem: the 7x7 filters do not fit
    report = load_pretrained(model, path)
    assert report["skipped"] == ["conv1.weight"] and report["loaded"] > 100


def test_wrapped_and_data_parallel_state_dicts(tmp_path, imagenet_resnet):
    sd, _ = imagenet_resnet
    path = tmp_path / "wrapped.pt"
    torch.save({"state_dict": {"module." + k: v for k, v in sd.items()}, "epoch": 3}, path)
    model = get_model("resnet18", 3, 5, (224, 224), weights=str(path))
    assert torch.equal(model.layer1[0].conv1.weight, sd["layer1.0.conv1.weight"])


def test_adapt_conv_channels_for_more_channels():
    w = torch.randn(4, 3, 3, 3)
    four = adapt_conv_channels(w, 4)
    assert four.shape == (4, 4, 3, 3)
    assert torch.allclose(four[:, 3], w[:, 0] / 2) and torch.equal(four[:, 1], w[:, 1])
    # a uniform image gives the same response as through the original filters
    assert torch.allclose(four.sum((1, 2, 3)), w.sum((1, 2, 3)))
    assert torch.allclose(adapt_conv_channels(w, 2).sum((1, 2, 3)), w[:, :2].sum((1, 2, 3)))


def test_weights_of_another_architecture_are_refused(tmp_path):
    path = tmp_path / "mlp.pt"
    torch.save(get_model("mlp", 1, 10, (28, 28)).state_dict(), path)
    with pytest.raises(UsageError, match="do not match"):
        get_model("small-cnn", 1, 10, (28, 28), weights=str(path))


@pytest.mark.parametrize("content", [b"not a torch file", None])
def test_unreadable_weights_are_usage_errors(tmp_path, content):
    path = tmp_path / "bad.pt"
    if content is None:
        torch.save([1, 2, 3], path)  # a valid torch file that is no state dict
    else:
        path.write_bytes(content)
    with pytest.raises(UsageError):
        get_model("small-cnn", 1, 10, (28, 28), weights=str(path))
    with pytest.raises(UsageError, match="does not exist"):
        get_model("small-cnn", 1, 10, (28, 28), weights=str(tmp_path / "missing.pt"))


def test_sheet_model_transfers_between_datasets(tmp_path):
    # pretrain on 10 classes, fine-tune on 2: every layer but the head carries over
    source = get_model("small-cnn", 1, 10, (28, 28))
    torch.save(source.state_dict(), tmp_path / "best.pt")
    target = get_model("small-cnn", 1, 2, (28, 28), weights=str(tmp_path / "best.pt"))
    assert head_name(target) == "classifier.3"
    assert torch.equal(target.features[0].weight, source.features[0].weight)
    assert torch.equal(target.classifier[1].weight, source.classifier[1].weight)
    assert target.classifier[3].weight.shape == (2, 50)


def test_freeze_and_unfreeze():
    model = get_model("resnet18", 3, 10, (32, 32))
    head = model.fc.weight.numel() + model.fc.bias.numel()
    assert freeze_backbone(model) == head == count_trainable(model)
    assert not model.layer1[0].conv1.weight.requires_grad and model.fc.weight.requires_grad
    assert unfreeze(model) == count_params(model)
    groups = param_groups(model, 1e-3, 0.1)
    assert [g["lr"] for g in groups] == [1e-3, pytest.approx(1e-4)]
    assert sum(p.numel() for g in groups for p in g["params"]) == count_params(model)
