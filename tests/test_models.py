"""Model registry: every model builds for 1 and 3 channels, shapes and parameter counts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnlab.errors import UsageError
from cnnlab.models import count_params, get_model, list_models
from cnnlab.models.baselines import parse_hidden
from cnnlab.models.sheet import trace_features

CONTRACT_NAMES = ["small-cnn", "lenet5", "cnn3", "cnn3-dropout", "cnn6-bn", "mlp", "logreg", "resnet18"]


def test_contract_names_are_registered():
    assert set(CONTRACT_NAMES) <= set(list_models())


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize("channels, side, classes", [(1, 28, 10), (3, 32, 7)])
def test_every_model_builds_and_gives_class_logits(name, channels, side, classes):
    model = get_model(name, channels, classes, (side, side)).eval()
    with torch.inference_mode():
        out = model(torch.randn(2, channels, side, side))
    assert out.shape == (2, classes)
    assert count_params(model) == sum(p.numel() for p in model.parameters())


def _conv(c_in, c_out, k):  # weights + biases of a conv layer
    return c_out * c_in * k * k + c_out


def _fc(n_in, n_out):
    return n_in * n_out + n_out


def test_small_cnn_param_count_by_hand():
    # 28 -conv5-> 24 -pool-> 12 -conv5-> 8 -pool-> 4: fc input 20*4*4 = 320
    hand = _conv(1, 10, 5) + _conv(10, 20, 5) + _fc(320, 50) + _fc(50, 10)
    assert hand == 21840
    assert count_params(get_model("small-cnn", 1, 10, (28, 28))) == 21840
    # 32 -> 28 -> 14 -> 10 -> 5 for RGB: fc input 20*5*5 = 500
    hand_rgb = _conv(3, 10, 5) + _conv(10, 20, 5) + _fc(500, 50) + _fc(50, 10)
    assert count_params(get_model("small-cnn", 3, 10, (32, 32))) == hand_rgb


@pytest.mark.parametrize("channels, side, final", [(1, 28, 3), (3, 32, 4)])
def test_cnn3_param_count_by_hand(channels, side, final):
    # pad 2 keeps the side; three 2x2 pools: 28 -> 14 -> 7 -> 3, 32 -> 16 -> 8 -> 4
    hand = (_conv(channels, 32, 5) + _conv(32, 64, 5) + _conv(64, 128, 5)
            + _fc(128 * final * final, 64) + _fc(64, 10))
    assert count_params(get_model("cnn3", channels, 10, (side, side))) == hand
    assert count_params(get_model("cnn3-dropout", channels, 10, (side, side))) == hand


def test_small_cnn_layer_order_follows_the_sheet():
    kinds = [type(m).__name__ for m in get_model("small-cnn", 1, 10).features]
    assert kinds == ["Conv2d", "MaxPool2d", "ReLU", "Conv2d", "Dropout2d", "MaxPool2d", "ReLU"]


def test_cnn6_bn_has_six_convs_with_batch_norm():
    model = get_model("cnn6-bn", 3, 10, (32, 32))
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(convs) == 6 and len(bns) == 6 and all(c.bias is None for c in convs)


@pytest.mark.parametrize("name", ["small-cnn", "lenet5", "cnn3", "cnn6-bn"])
@pytest.mark.parametrize("channels, h, w", [(1, 28, 28), (3, 32, 32), (2, 40, 24)])
def test_traced_feature_shape_matches_forward(name, channels, h, w):
    model = get_model(name, channels, 10, (h, w)).eval()
    with torch.inference_mode():
        feats = model.features(torch.zeros(1, channels, h, w))
    first_fc = next(m for m in model.classifier if isinstance(m, nn.Linear))
    assert feats[0].numel() == first_fc.in_features


def test_trace_features_by_hand():
    layers = [("conv", 10, 5, 0, False), ("maxpool", 2), ("conv", 20, 5, 0, False), ("maxpool", 2)]
    assert trace_features(layers, 1, (28, 28)) == (20, 4, 4)


def test_too_small_input_is_a_usage_error():
    with pytest.raises(UsageError, match="too small"):
        get_model("small-cnn", 1, 10, (8, 8))
    assert get_model("cnn3", 1, 10, (8, 8))(torch.zeros(1, 1, 8, 8)).shape == (1, 10)


def test_unknown_model_lists_the_names():
    with pytest.raises(UsageError, match="small-cnn.*resnet18"):
        get_model("vgg99", 1, 10)


def test_bad_model_option_is_a_usage_error_listing_the_valid_ones():
    with pytest.raises(UsageError, match="cnn3: unknown model option 'hidden'; cnn3 takes no options"):
        get_model("cnn3", 1, 10, (28, 28), hidden=[3])
    with pytest.raises(UsageError, match=r"unknown model option 'drop'; options of cnn3-dropout: "
                                         r"dropout \(float, default 0.25\), fc_dropout \(float, default 0.5\)"):
        get_model("cnn3-dropout", 1, 10, (28, 28), drop=0.1)
    with pytest.raises(UsageError, match="dropout must be float, got 'abc'"):
        get_model("small-cnn", 1, 10, (28, 28), dropout="abc")
    with pytest.raises(UsageError, match="stem must be one of auto|small|imagenet, got 'tiny'"):
        get_model("resnet18", 1, 10, (28, 28), stem="tiny")


def test_every_registry_option_is_listed_with_type_and_default():
    import inspect

    from cnnlab.models import list_models, option_help
    from cnnlab.models.registry import _REGISTRY

    for name in list_models():
        params = inspect.signature(_REGISTRY[name].build).parameters
        listed = option_help(name)
        expected = [p for p in params if p not in ("in_channels", "num_classes", "input_size")]
        assert [o for o, _, _ in listed] == expected, name
        for option, type_name, default in listed:
            assert type_name and default == params[option].default
            get_model(name, 1, 3, (32, 32), **{option: default})  # the default is a valid value


def test_list_models_cli_prints_options_and_json(capsys):
    import json

    from cnnlab.cli.main import main

    assert main(["train", "--list-models"]) == 0
    out = capsys.readouterr().out
    assert "options: dropout=0.5 (float)" in out and "stem='auto' (one of auto|small|imagenet)" in out
    assert main(["train", "--list-models", "--json"]) == 0
    models = {m["name"]: m for m in json.loads(capsys.readouterr().out.strip().splitlines()[-1])["models"]}
    assert models["cnn3-dropout"]["options"] == [{"name": "dropout", "type": "float", "default": 0.25},
                                                 {"name": "fc_dropout", "type": "float", "default": 0.5}]


def test_wrong_model_opt_on_the_cli_is_one_error_line(capsys):
    from cnnlab.cli.main import main

    assert main(["train", "--data", "digits", "--model", "cnn3", "--model-opt", "dropout=0.3",
                 "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: cnn3: unknown model option 'dropout'; cnn3 takes no options"]


def test_mlp_hidden_sizes_and_logreg_counts():
    assert parse_hidden("256-128-64") == [256, 128, 64] == parse_hidden([256, 128, 64])
    assert count_params(get_model("mlp", 1, 10, (28, 28))) == _fc(784, 256) + _fc(256, 128) + _fc(128, 64) + _fc(64, 10)
    assert count_params(get_model("mlp", 1, 10, (28, 28), hidden="100")) == _fc(784, 100) + _fc(100, 10)
    assert count_params(get_model("logreg", 3, 4, (8, 8))) == _fc(192, 4)
    with pytest.raises(UsageError):
        parse_hidden("12-x")


def test_resnet18_imagenet_stem_matches_torchvision_count():
    # torchvision's ResNet-18 has 11,689,512 parameters for 3x224x224 and 1000 classes
    model = get_model("resnet18", 3, 1000, (224, 224))
    assert count_params(model) == 11_689_512
    assert model.conv1.kernel_size == (7, 7) and isinstance(model.maxpool, nn.MaxPool2d)


def test_resnet18_small_stem_keeps_resolution():
    model = get_model("resnet18", 1, 10, (28, 28))
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert model.conv1.in_channels == 1 and isinstance(model.maxpool, nn.Identity)
    imagenet = get_model("resnet18", 1, 10, (28, 28), stem="imagenet")
    assert imagenet.conv1.kernel_size == (7, 7) and imagenet.conv1.in_channels == 1
