"""cnnlab.explain: feature maps, Grad-CAM, activation maximisation, shift curves, filters,
coefficient images and image loading, each against an independent computation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from cnnlab.errors import UsageError
from cnnlab.explain import (Objective, coefficient_images, describe_filters, feature_maps,
                            filter_weights, first_conv, grad_cam, layer_table, load_image,
                            maximize, normalise_cam, normalise_filters, shift_robustness,
                            upsample_cam)
from cnnlab.explain.gradcam import default_cam_layer
from cnnlab.models import get_model
from cnnlab.train import evaluate_model, shift_images


def _model(name: str, size: int, seed: int = 0, channels: int = 1) -> nn.Module:
    torch.manual_seed(seed)
    return get_model(name, channels, 10, (size, size)).eval()


# ---------------------------------------------------------------- feature maps

def test_feature_maps_equal_running_the_submodules_by_hand():
    model = _model("small-cnn", 28)
    x = torch.randn(2, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    names = [f"features.{i}" for i in range(len(model.features))] + \
            [f"classifier.{i}" for i in range(len(model.classifier))]
    maps = feature_maps(model, x, names)
    h = x
    with torch.no_grad():
        for part in ("features", "classifier"):
            for i, module in enumerate(getattr(model, part)):
                h = module(h)
                assert torch.equal(maps[f"{part}.{i}"], h), f"{part}.{i}"
    assert maps["features.3"].shape == (2, 20, 8, 8)


def test_feature_maps_are_not_changed_by_a_later_inplace_relu():
    # as in torchvision's ResNet stem: conv > batch norm > ReLU(inplace=True)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(inplace=True)).eval()
    x = torch.randn(1, 3, 9, 9, generator=torch.Generator().manual_seed(0))
    maps = feature_maps(model, x, ["1", "2"])
    with torch.no_grad():
        by_hand = model[1](model[0](x))
    assert torch.allclose(maps["1"], by_hand) and (maps["1"] < 0).any()
    assert torch.allclose(maps["2"], by_hand.clamp_min(0))


def test_layer_table_and_unknown_layer():
    model = _model("cnn3", 8)
    rows = {r["name"]: r for r in layer_table(model, (1, 8, 8))}
    assert rows["features.0"]["shape"] == [32, 8, 8] and rows["features.0"]["conv"]
    assert rows["features.2"]["type"] == "MaxPool2d" and not rows["features.2"]["conv"]
    assert rows["classifier.3"]["shape"] == [10]
    with pytest.raises(UsageError, match="no layer named 'conv9'.*features.0"):
        feature_maps(model, torch.zeros(1, 1, 8, 8), ["conv9"])


# ---------------------------------------------------------------- Grad-CAM

def _cam_by_hand(model, x, split: int, target):
    """Grad-CAM of model.features[split - 1] by slicing the Sequential, not with hooks."""
    A = model.features[:split](x).detach().requires_grad_(True)  # (N, K, h, w)
    logits = model.classifier(model.features[split:](A))
    t = logits.argmax(1) if target is None else torch.as_tensor(target).expand(len(x))
    score = logits[torch.arange(len(x)), t].sum()
    (g,) = torch.autograd.grad(score, A)
    weights = g.mean(dim=(2, 3))
    cam = torch.zeros(A.shape[0], A.shape[2], A.shape[3])
    for n in range(A.shape[0]):
        for k in range(A.shape[1]):
            cam[n] += weights[n, k] * A[n, k].detach()
    return cam.clamp_min(0), t


@pytest.mark.parametrize("name,size,split,target", [
    ("cnn3", 8, 4, None), ("cnn3", 8, 7, [3, 0, 9]), ("small-cnn", 28, 4, 2), ("small-cnn", 28, 1, None)])
def test_grad_cam_matches_a_hand_computation(name, size, split, target):
    model = _model(name, size, seed=3)
    x = torch.randn(3, 1, size, size, generator=torch.Generator().manual_seed(4))
    layer = f"features.{split - 1}"
    result = grad_cam(model, x, layer, target)
    cam, t = _cam_by_hand(model, x, split, target)
    assert torch.equal(result.target, t)
    assert result.cam.max() > 0
    assert torch.allclose(result.cam, cam, atol=1e-5 * float(cam.abs().max()) + 1e-7)


def test_default_cam_layer_is_the_last_conv():
    assert default_cam_layer(_model("small-cnn", 28)) == "features.3"
    assert default_cam_layer(_model("cnn3", 8)) == "features.6"
    with pytest.raises(UsageError, match="needs a convolution layer and this model has none"):
        default_cam_layer(_model("mlp", 8))


class _HalfSum(nn.Module):
    """Logit k = sum of channel k over the left (or right) half of the map."""

    def __init__(self, side: str):
        super().__init__()
        self.side = side

    def forward(self, a):
        N, K, h, w = a.shape
        half = a[..., : w // 2] if self.side == "left" else a[..., w // 2:]
        return half.sum(dim=(2, 3))  # (N, K)


def _bar_model(side: str) -> nn.Module:
    conv = nn.Conv2d(1, 2, 3, padding=1, bias=False)
    with torch.no_grad():
        line = torch.tensor([[-1.0, -1.0, -1.0], [2.0, 2.0, 2.0], [-1.0, -1.0, -1.0]])
        conv.weight[0, 0] = line      # channel 0: horizontal bars
        conv.weight[1, 0] = line.T    # channel 1: vertical bars
    return nn.Sequential(conv, nn.ReLU(), _HalfSum(side)).eval()


def test_grad_cam_follows_the_half_the_model_reads():
    x = torch.zeros(1, 1, 16, 16)
    x[0, 0, 8, 1:7] = 1.0    # horizontal bar in the left half
    x[0, 0, 3:13, 12] = 1.0  # vertical bar in the right half
    for side, predicted in (("left", 0), ("right", 1)):
        result = grad_cam(_bar_model(side), x, "0")
        assert int(result.target) == predicted
        heat = upsample_cam(result.cam, (16, 16))[0]
        left, right = float(heat[:, :8].sum()), float(heat[:, 8:].sum())
        mass = left / (left + right) if side == "left" else right / (left + right)
        assert mass > 0.8, (side, left, right)  # the bar ends of the other half answer a little


def test_grad_cam_errors():
    model = _model("cnn3", 8)
    x = torch.zeros(1, 1, 8, 8)
    with pytest.raises(UsageError, match="needs a convolution layer.*ReLU.*features.0"):
        grad_cam(model, x, "features.1")
    with pytest.raises(UsageError, match="class 10 is out of range"):
        grad_cam(model, x, "features.6", 10)
    with pytest.raises(UsageError, match="no layer named"):
        grad_cam(model, x, "features.60")


def test_upsample_and_normalise_cam():
    cam = torch.tensor([[[0.0, 2.0], [1.0, 4.0]], [[0.0, 0.0], [0.0, 0.0]]])
    up = upsample_cam(cam, (4, 4))
    assert up.shape == (2, 4, 4) and float(up[0, 3, 3]) == pytest.approx(4.0)
    assert float(up[0, 0, 0]) == pytest.approx(0.0)
    norm = normalise_cam(up)
    assert float(norm[0].max()) == pytest.approx(1.0) and float(norm[1].abs().max()) == 0.0


# ---------------------------------------------------------------- activation maximisation

@pytest.fixture(scope="module")
def trained(digits, tmp_path_factory):
    """cnn3 after one epoch on the 8x8 digits (a few seconds)."""
    from cnnlab.train import TrainConfig, fit

    out = tmp_path_factory.mktemp("explain") / "cnn3"
    return fit(TrainConfig(data="digits", model="cnn3", epochs=1, lr=3e-3, out=str(out)), digits).model


def test_maximize_raises_the_target_and_is_reproducible(trained):
    model = trained
    objectives = [Objective(None, 2), Objective(None, 7), Objective("features.3", 5),
                  Objective("features.0", 1, (4, 4))]
    for group in (objectives[:2], objectives[2:3], objectives[3:]):
        a = maximize(model, (1, 8, 8), group, mean=[0.3], std=[0.4], steps=25, seed=1)
        assert (a.final > a.start + 0.1).all(), (group, a.start, a.final)
        assert a.images.shape == (len(group), 1, 8, 8)
        assert a.images.min() >= 0 and a.images.max() <= 1
    b = maximize(model, (1, 8, 8), group, mean=[0.3], std=[0.4], steps=25, seed=1)
    c = maximize(model, (1, 8, 8), group, mean=[0.3], std=[0.4], steps=25, seed=2)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.final, b.final)
    assert not np.array_equal(a.images, c.images)


def test_maximize_values_are_the_objective_on_the_returned_image():
    model = _model("cnn3", 8, seed=5)
    r = maximize(model, (1, 8, 8), [Objective("features.3", 5)], mean=[0.3], std=[0.4], steps=5)
    x = (torch.as_tensor(r.images) - 0.3) / 0.4
    with torch.no_grad():
        channel = model.features[:4](x)[0, 5].mean()
    assert float(channel) == pytest.approx(float(r.final[0]), rel=1e-5)


def test_maximize_errors():
    model = _model("cnn3", 8)
    with pytest.raises(UsageError, match="index 10 is out of range: there are 10 classes"):
        maximize(model, (1, 8, 8), [Objective(None, 10)], steps=1)
    with pytest.raises(UsageError, match="unit 9,0 is outside the 4x4"):
        maximize(model, (1, 8, 8), [Objective("features.3", 0, (9, 0))], steps=1)
    with pytest.raises(UsageError, match="no layer named"):
        maximize(model, (1, 8, 8), [Objective("nope", 0)], steps=1)


# ---------------------------------------------------------------- shift robustness

def test_shift_curves_at_zero_are_plain_accuracy_and_match_shifting_by_hand(trained, digits):
    ds, model = digits, trained
    x, y = ds.x_test[:200], ds.y_test[:200]
    base = evaluate_model(model, x, y, ds.mean, ds.std)
    assert 0.3 < base["accuracy"] < 1
    result = shift_robustness(model, x, y, ds.mean, ds.std, max_shift=2)
    plain = evaluate_model(model, x, y, ds.mean, ds.std)["accuracy"]
    zero = result["shifts"].index(0)
    assert result["shifts"] == [-2, -1, 0, 1, 2]
    for axis in ("horizontal", "vertical"):
        assert result[axis]["accuracy"][zero] == pytest.approx(plain)
        assert result[axis]["consistency"][zero] == 1.0
    moved = evaluate_model(model, shift_images(x, 0, -2), y, ds.mean, ds.std)
    assert result["vertical"]["accuracy"][0] == pytest.approx(moved["accuracy"])
    assert result["vertical"]["consistency"][0] == pytest.approx(
        np.mean(moved["predictions"] == base["predictions"]))
    with pytest.raises(UsageError, match="--max-shift"):
        shift_robustness(model, x, y, ds.mean, ds.std, max_shift=8)


# ---------------------------------------------------------------- filters and coefficients

def test_filters_normalised_and_described_like_kernel_describe():
    from cnnlab.kernels.describe import describe_kernel

    model = _model("cnn3", 8)
    sobel = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    with torch.no_grad():
        model.features[0].weight[0, 0] = F.pad(sobel, (1, 1, 1, 1))  # 5x5, Sobel in the middle
    name, w = filter_weights(model)
    assert name == "features.0" and w.shape == (32, 1, 5, 5)
    rows = describe_filters(w)
    assert rows[0]["best_probe"] == "vertical_edge"
    for i in (1, 17):
        assert rows[i]["best_probe"] == describe_kernel(w[i, 0])["best_probe"]
    norm = normalise_filters(w)
    assert np.allclose(norm.min(axis=(1, 2, 3)), 0) and np.allclose(norm.max(axis=(1, 2, 3)), 1)
    assert np.allclose(norm[0, 0, 2, 1:4], [0, 0.5, 1])


def test_rgb_filter_is_probed_as_its_channel_sum():
    w = np.zeros((1, 3, 3, 3))
    w[0, 0] = [[0, 0, 0], [1, 1, 1], [0, 0, 0]]   # red: horizontal line
    w[0, 1] = w[0, 0]
    w[0, 2] = [[0, 1, 0], [0, 1, 0], [0, 1, 0]]   # blue: weaker vertical line
    assert describe_filters(w)[0]["best_probe"] == "horizontal_line"
    with pytest.raises(UsageError, match="no convolution layer"):
        first_conv(_model("logreg", 8))


def test_coefficient_images_are_the_logit_change_per_raw_pixel():
    torch.manual_seed(0)
    model = get_model("logreg", 3, 4, (5, 6)).eval()
    mean, std = np.array([0.2, 0.5, 0.1]), np.array([0.3, 0.25, 0.5])
    coef = coefficient_images(model, (3, 5, 6), std)  # (4, 3, 5, 6)
    rng = np.random.default_rng(0)
    x1, x2 = rng.random((1, 3, 5, 6)), rng.random((1, 3, 5, 6))

    def logits(x):
        xt = torch.as_tensor((x - mean.reshape(1, 3, 1, 1)) / std.reshape(1, 3, 1, 1), dtype=torch.float32)
        with torch.no_grad():
            return model(xt).double().numpy()[0]

    expected = np.tensordot(coef, (x1 - x2)[0], axes=3)  # (4,)
    assert np.allclose(logits(x1) - logits(x2), expected, atol=1e-5)
    with pytest.raises(UsageError, match="logreg run"):
        coefficient_images(_model("mlp", 8), (1, 8, 8))


# ---------------------------------------------------------------- images given by path

def test_load_image_converts_channels_and_size(tmp_path):
    from PIL import Image

    rgb = np.zeros((56, 56, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 50
    Image.fromarray(rgb).save(tmp_path / "c.png")
    grey = load_image(tmp_path / "c.png", 1, (28, 28))
    assert grey.shape == (1, 28, 28)
    assert np.allclose(grey, (0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255, atol=1e-5)
    Image.fromarray(np.full((8, 8), 255, np.uint8)).save(tmp_path / "g.png")
    assert np.allclose(load_image(tmp_path / "g.png", 3, (8, 8)), 1.0)
    Image.fromarray(np.zeros((20, 40), np.uint8)).save(tmp_path / "wide.png")
    with pytest.raises(UsageError, match="20x40 pixels and the model takes 28x28; resizing would distort"):
        load_image(tmp_path / "wide.png", 1, (28, 28))
    (tmp_path / "bad.png").write_text("not a picture")
    with pytest.raises(UsageError, match="cannot be read"):
        load_image(tmp_path / "bad.png", 1, (28, 28))
    with pytest.raises(UsageError, match="no such file"):
        load_image(tmp_path / "missing.png", 1, (28, 28))
    np.save(tmp_path / "bands.npy", np.full((4, 8, 8), 2.0))
    with pytest.raises(UsageError, match=r"must already lie in \[0, 1\]"):
        load_image(tmp_path / "bands.npy", 4, (8, 8))


# ---------------------------------------------------------------- speed: batching, layout, work bounds

@given(dx=st.integers(-9, 9), dy=st.integers(-9, 9), seed=st.integers(0, 2**31))
def test_shift_tensor_is_shift_images_of_the_normalised_pixels(dx, dy, seed):
    from cnnlab.explain.robustness import shift_tensor
    from cnnlab.train.metrics import to_normalised_tensor

    x = np.random.default_rng(seed).random((3, 2, 6, 8), dtype=np.float32)
    mean, std = np.array([0.3, 0.6], np.float32), np.array([0.2, 0.5], np.float32)
    fill = to_normalised_tensor(np.zeros((1, 2, 1, 1), np.float32), mean, std)
    out = shift_tensor(to_normalised_tensor(x, mean, std), dx, dy, fill)
    assert torch.equal(out, to_normalised_tensor(shift_images(x, dx, dy), mean, std))


def test_shift_curves_of_several_chunks_match_one_shift_at_a_time(trained, digits, monkeypatch):
    import cnnlab.explain.robustness as robustness

    x, y = digits.x_test[:97], digits.y_test[:97]
    monkeypatch.setattr(robustness, "CHUNK", 40)  # 40 // 9 shifts = 4 images per pass, 25 passes
    result = shift_robustness(trained, x, y, digits.mean, digits.std, max_shift=2)
    base = evaluate_model(trained, x, y, digits.mean, digits.std)["predictions"]
    for i, s in enumerate(result["shifts"]):
        for axis, (dx, dy) in (("horizontal", (s, 0)), ("vertical", (0, s))):
            ref = evaluate_model(trained, shift_images(x, dx, dy), y, digits.mean, digits.std)
            assert result[axis]["accuracy"][i] == pytest.approx(ref["accuracy"])
            assert result[axis]["consistency"][i] == pytest.approx(np.mean(ref["predictions"] == base))


def test_maximize_over_several_layers_at_once(trained):
    """Objectives of different layers in one call: each value is its objective on its image."""
    from cnnlab.explain.maximize import objective_values

    objectives = [Objective(None, 2), Objective("features.3", 5), Objective("features.0", 1),
                  Objective("features.0", 1, (4, 4))]
    r = maximize(trained, (1, 8, 8), objectives, mean=[0.3], std=[0.4], steps=25, seed=1)
    assert (r.final[:3] > r.start[:3] + 0.1).all()  # a single jittered unit may not rise in 25 steps
    x = (torch.as_tensor(r.images) - 0.3) / 0.4
    for u, o in enumerate(objectives):
        with torch.no_grad():
            alone = objective_values(trained, x[u:u + 1], [o])
        assert float(alone[0]) == pytest.approx(float(r.final[u]), rel=1e-5, abs=1e-6)


def test_fast_copy_leaves_the_model_and_predicts_the_same():
    from cnnlab.explain.fast import fast_copy, to_layout

    model = _model("small-cnn", 28, seed=3)
    x = torch.randn(5, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    net = fast_copy(model)
    assert net is not model and model.features[0].weight.is_contiguous()
    with torch.no_grad():
        assert torch.allclose(net(to_layout(x, net, model)), model(x), atol=1e-5)
    linear = _model("mlp", 8)
    assert fast_copy(linear) is linear  # no conv: nothing to gain


def test_model_macs_match_torch_flop_counter():
    from torch.utils.flop_counter import FlopCounterMode

    from cnnlab.explain.budget import model_macs

    torch.manual_seed(0)
    convs = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.Conv2d(8, 8, 3, groups=4),
                          nn.Conv2d(8, 6, (1, 5), dilation=2))
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        convs(torch.zeros(1, 3, 17, 23))
    assert model_macs(convs, (3, 17, 23)) == counter.get_total_flops() // 2
    # other leaves count one per output element: small-cnn's pools, ReLUs, dropout, flatten
    model = _model("small-cnn", 28)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, 1, 28, 28))
    elementwise = 10 * 12 * 12 * 2 + 20 * 8 * 8 + 20 * 4 * 4 * 3 + 50
    assert model_macs(model, (1, 28, 28)) == counter.get_total_flops() // 2 + elementwise


def test_work_bound_refuses_over_the_limit_and_names_it():
    from cnnlab.explain.budget import CALL_COST, MAX_WORK, check_work, max_images, part_work

    assert part_work(10, 1000, 2) == 10 * 1000 + 2 * CALL_COST
    check_work("shift", int(MAX_WORK // 1000) - 1, 1000, 0, "lower it")  # just within
    with pytest.raises(UsageError, match=r"explain shift: .* over the limit of 2e\+11 per part "
                                         r"\(docs/limits.md\); lower it"):
        check_work("shift", int(MAX_WORK // 1000) + 1, 1000, 0, "lower it")
    n = max_images(17, 485_670, 30)
    assert part_work(n * 17, 485_670, n / 30) <= MAX_WORK < part_work((n + 1) * 17, 485_670, (n + 1) / 30)
