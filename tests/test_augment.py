"""Augmentations: each one against torchvision.transforms.v2 at fixed parameters, and
tests that fail when any of them does nothing (returns its input)."""

import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as TF
from hypothesis import given
from hypothesis import strategies as st
from torchvision.transforms import InterpolationMode

from cnnlab.errors import UsageError
from cnnlab.train.augment import (AUGMENTS, apply_affine, apply_brightness, apply_contrast, apply_erase,
                                  apply_flip, apply_hue, apply_resized_crop, apply_rotate, apply_saturation,
                                  apply_shift, augment_batch, parse_augment)
from cnnlab.train.loop import train_epoch
from cnnlab.train.optim import SGD


def _images(seed, B=4, C=3, H=9, W=11):
    return torch.rand(B, C, H, W, generator=torch.Generator().manual_seed(seed))


# --- each pure function against torchvision at the same parameters --------------------

@given(seed=st.integers(0, 2**31), dx=st.integers(-3, 3), dy=st.integers(-3, 3),
       channels=st.sampled_from([1, 3]))
def test_shift_is_torchvision_pad_then_crop(seed, dx, dy, channels):
    x = _images(seed, B=1, C=channels)
    pad, fill = 3, 0.25
    out = apply_shift(x, torch.tensor([dx]), torch.tensor([dy]), torch.full((1, channels, 1, 1), fill), pad)
    H, W = x.shape[-2:]
    ref = TF.crop(TF.pad(x, [pad], fill=fill), pad - dy, pad - dx, H, W)
    assert torch.allclose(out, ref, atol=1e-6)


def test_flips_are_torchvision_flips():
    x = _images(0)
    mask = torch.tensor([True, False, True, False])
    out = apply_flip(x, mask, -1)
    assert torch.equal(out[0], TF.horizontal_flip(x[0])) and torch.equal(out[1], x[1])
    assert torch.equal(apply_flip(x, mask, -2)[2], TF.vertical_flip(x[2]))


@given(seed=st.integers(0, 2**31), angle=st.floats(-180, 180), square=st.booleans())
def test_rotate_is_torchvision_rotate(seed, angle, square):
    x = _images(seed, B=1, H=10, W=10 if square else 14)
    fill = 0.3
    out = apply_rotate(x, torch.tensor([angle]), torch.full((1, 3, 1, 1), fill))
    ref = TF.rotate(x, angle, interpolation=InterpolationMode.BILINEAR, fill=[fill] * 3)
    # where a pixel's source lies wholly inside the image both agree exactly; at the rim
    # torchvision weights the fill differently (it multiplies by its mask twice)
    inside = apply_rotate(torch.ones_like(x), torch.tensor([angle]), torch.zeros(1, 3, 1, 1)) > 1 - 1e-6
    assert inside.sum() >= 0.2 * inside.numel()
    assert torch.allclose(out[inside], ref[inside], atol=1e-5)


@given(seed=st.integers(0, 2**31), factor=st.floats(0, 2), channels=st.sampled_from([1, 3]))
def test_colour_jitter_parts_are_torchvision_adjustments(seed, factor, channels):
    x = _images(seed, B=1, C=channels)
    f = torch.tensor([factor])
    assert torch.allclose(apply_brightness(x, f), TF.adjust_brightness(x, factor), atol=1e-6)
    assert torch.allclose(apply_contrast(x, f), TF.adjust_contrast(x, factor), atol=1e-5)
    assert torch.allclose(apply_saturation(x, f), TF.adjust_saturation(x, factor), atol=1e-5)


@given(seed=st.integers(0, 2**31), factor=st.floats(-0.5, 0.5), grey_share=st.floats(0, 1))
def test_hue_is_torchvision_adjust_hue(seed, factor, grey_share):
    x = _images(seed, B=1)
    # some pixels grey (no hue) and some saturated, the edge cases of the HSV formulas
    grey = torch.rand(1, 1, 9, 11, generator=torch.Generator().manual_seed(seed + 1)) < grey_share
    x = torch.where(grey, x[:, :1].expand_as(x), x)
    x[..., 0, 0] = torch.tensor([1.0, 0.0, 0.0])
    out = apply_hue(x, torch.tensor([factor]))
    assert torch.allclose(out, TF.adjust_hue(x, factor), atol=1e-5)


def test_hue_shifts_each_image_by_its_own_amount_and_leaves_grey_images():
    x = _images(1, B=3)
    shifts = torch.tensor([0.1, -0.25, 0.5])
    out = apply_hue(x, shifts)
    for b in range(3):
        assert torch.allclose(out[b], TF.adjust_hue(x[b], float(shifts[b])), atol=1e-5)
    grey = _images(2, C=1)
    assert torch.equal(apply_hue(grey, torch.full((4,), 0.3)), grey)


@given(seed=st.integers(0, 2**31), angle=st.floats(-180, 180), tx=st.integers(-4, 4),
       ty=st.integers(-4, 4), scale=st.floats(0.5, 1.5), shx=st.floats(-40, 40),
       shy=st.floats(-40, 40), square=st.booleans())
def test_affine_is_torchvision_affine(seed, angle, tx, ty, scale, shx, shy, square):
    x = _images(seed, B=1, H=10, W=10 if square else 13)
    fill = 0.3
    args = (torch.tensor([angle]), torch.tensor([[tx, ty]]), torch.tensor([scale]),
            torch.tensor([[shx, shy]]))
    out = apply_affine(x, *args, torch.full((1, 3, 1, 1), fill))
    ref = TF.affine(x, angle=angle, translate=[tx, ty], scale=scale, shear=[shx, shy],
                    interpolation=InterpolationMode.BILINEAR, fill=[fill] * 3)
    # as for rotate: equal where the source lies inside the image; torchvision weights the
    # fill twice at the rim
    inside = apply_affine(torch.ones_like(x), *args, torch.zeros(1, 3, 1, 1)) > 1 - 1e-6
    assert torch.allclose(out[inside], ref[inside], atol=1e-5)
    outside = apply_affine(torch.ones_like(x), *args, torch.zeros(1, 3, 1, 1)) < 1e-6
    assert torch.allclose(out[outside], torch.tensor(fill), atol=1e-6)


def test_affine_hand_cases():
    """A quarter turn is torch.rot90 (clockwise for positive angles, as torchvision's
    affine); a whole-pixel translation is a shift; a batch uses each image's parameters."""
    x = _images(3, B=2, H=6, W=6)
    zero2, one = torch.zeros(2, 2), torch.ones(2)
    quarter = apply_affine(x, torch.tensor([90.0, -90.0]), zero2, one, zero2, torch.zeros(1, 3, 1, 1))
    assert torch.allclose(quarter[0], torch.rot90(x[0], -1, (1, 2)), atol=1e-5)
    assert torch.allclose(quarter[1], torch.rot90(x[1], 1, (1, 2)), atol=1e-5)
    moved = apply_affine(x, torch.zeros(2), torch.tensor([[2.0, 0.0], [0.0, -1.0]]), one, zero2,
                         torch.zeros(1, 3, 1, 1))
    shifted = apply_shift(x, torch.tensor([2, 0]), torch.tensor([0, -1]), torch.zeros(1, 3, 1, 1), 2)
    assert torch.allclose(moved, shifted, atol=1e-6)


@given(seed=st.integers(0, 2**31), data=st.data())
def test_resized_crop_is_torchvision_resized_crop(seed, data):
    x = _images(seed, B=1, H=12, W=10)
    h = data.draw(st.integers(3, 12))
    w = data.draw(st.integers(3, 10))
    top = data.draw(st.integers(0, 12 - h))
    left = data.draw(st.integers(0, 10 - w))
    out = apply_resized_crop(x, torch.tensor([[top, left, h, w]]))
    ref = TF.resized_crop(x, top, left, h, w, [12, 10], interpolation=InterpolationMode.BILINEAR,
                          antialias=False)
    assert torch.allclose(out, ref, atol=1e-5)


@given(seed=st.integers(0, 2**31), data=st.data())
def test_erase_is_torchvision_erase(seed, data):
    x = _images(seed, B=1)
    h, w = data.draw(st.integers(0, 9)), data.draw(st.integers(1, 11))
    top, left = data.draw(st.integers(0, 9 - h)), data.draw(st.integers(0, 11 - w))
    out = apply_erase(x, torch.tensor([[top, left, h, w]]), value=0.0)
    assert torch.equal(out, TF.erase(x, top, left, h, w, torch.tensor(0.0)))


def test_noise_is_torchvision_gaussian_noise_in_pixel_space():
    x = _images(3, B=2, C=1)
    mean, std = torch.tensor([0.4]), torch.tensor([0.2])
    xn = (x - 0.4) / 0.2
    out = augment_batch(xn, parse_augment("noise:0.1"), mean, std, torch.Generator().manual_seed(5))
    z = torch.randn(x.shape, generator=torch.Generator().manual_seed(5))
    torch.manual_seed(0)
    expected = x + 0.1 * z  # gaussian_noise(x, sigma=0.1, clip=False) with this draw
    assert torch.allclose(out * 0.2 + 0.4, expected, atol=1e-5)
    assert TF.gaussian_noise(x, sigma=0.1, clip=False).shape == x.shape


# --- no augmentation may silently become the identity ---------------------------------

NON_TRIVIAL = {"shift": "shift:2", "crop": "crop:3", "hflip": "hflip", "vflip": "vflip",
               "noise": "noise:0.1", "rotate": "rotate:30", "brightness": "brightness:0.5",
               "contrast": "contrast:0.5", "saturation": "saturation:0.5", "jitter": "jitter:0.5",
               "resized-crop": "resized-crop:0.3", "erase": "erase:1", "hue": "hue:0.3",
               "affine": "affine:20"}


def test_every_augmentation_is_tested():
    assert set(NON_TRIVIAL) == set(AUGMENTS)


@pytest.mark.parametrize("name", sorted(NON_TRIVIAL))
def test_augmentation_changes_most_images_and_differently(name):
    x = _images(7, B=32, C=3, H=12, W=12)
    mean, std = torch.tensor([0.5, 0.4, 0.3]), torch.tensor([0.2, 0.25, 0.3])
    xn = (x - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)
    out = augment_batch(xn, parse_augment(NON_TRIVIAL[name]), mean, std, torch.Generator().manual_seed(1))
    assert out.shape == xn.shape
    changed = [not torch.allclose(a, b, atol=1e-4) for a, b in zip(out, xn)]
    assert sum(changed) >= 8  # flips change about half; the others nearly all
    deltas = {round(float((a - b).abs().sum()), 3) for a, b, c in zip(out, xn, changed) if c}
    assert len(deltas) > 1  # drawn per image, not once per batch


def test_saturation_changes_colour_images_only():
    mean, std = torch.tensor([0.5]), torch.tensor([0.25])
    grey = (_images(2, C=1) - 0.5) / 0.25
    out = augment_batch(grey, parse_augment("saturation:0.9"), mean, std, torch.Generator().manual_seed(0))
    assert torch.allclose(out, grey, atol=1e-6)


def test_training_sees_augmented_batches():
    """train_epoch must feed the model augmented images (a model that records its inputs)."""
    seen = []

    class Recorder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, xb):
            seen.append(xb.clone())
            return torch.zeros(len(xb), 2) + self.w

    x = _images(4, B=16, C=3)
    y = torch.zeros(16, dtype=torch.long)
    for spec in NON_TRIVIAL.values():
        seen.clear()
        model = Recorder()
        opt = SGD([{"params": model.parameters(), "lr": 0.0}])
        train_epoch(model, opt, x, y, 16, torch.Generator().manual_seed(0), augment=parse_augment(spec),
                    mean=torch.full((3,), 0.5), std=torch.full((3,), 0.25))
        fed = seen[0]
        assert any(not torch.allclose(f, xi, atol=1e-4) for f, xi in
                   zip(fed, x[torch.randperm(16, generator=torch.Generator().manual_seed(0))])), spec


def test_augment_draws_are_reproducible():
    x = (_images(5, B=8) - 0.5) / 0.25
    mean, std = torch.full((3,), 0.5), torch.full((3,), 0.25)
    specs = parse_augment(list(NON_TRIVIAL.values()))
    a = augment_batch(x, specs, mean, std, torch.Generator().manual_seed(9))
    b = augment_batch(x, specs, mean, std, torch.Generator().manual_seed(9))
    assert torch.equal(a, b)


@pytest.mark.parametrize("bad", ["shift:100000", "crop:99999", "rotate:1e308", "brightness:2",
                                 "erase:1.5", "resized-crop:0", "jitter:-0.1", "noise:nan",
                                 "hue:0.6", "hue:-0.1", "affine:46", "affine:inf"])
def test_parse_refuses_out_of_range_parameters(bad):
    with pytest.raises(UsageError):
        parse_augment(bad)


def test_the_ci_hypothesis_profile_is_loaded_and_repeatable():
    import os

    from hypothesis import settings

    if os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci":
        assert settings.default.derandomize is True
        assert settings.default.max_examples == 40
        assert settings.default.deadline is None


def test_train_help_and_the_docs_name_every_augmentation():
    from pathlib import Path

    from cnnlab.cli.main import build_parser

    parser = build_parser("train")
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    flag = next(a for a in sub.choices["train"]._actions if "--augment" in a.option_strings)
    table = (Path(__file__).parents[1] / "docs" / "training.md").read_text()
    for name in AUGMENTS:
        assert f"{name}" in str(flag.help), name
        assert f"`{name}" in table.partition("## Augmentations")[2], name
