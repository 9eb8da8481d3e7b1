"""torchvision backbones with the stem adapted to the data and the head to the classes.

The first convolution takes ``in_channels``; for small inputs (the shorter side under
64 px, e.g. 28×28 digits or 32×32 CIFAR) the stem stops downsampling as the CIFAR
variants of these networks do: ResNet's 7×7/2 conv + max pool become one 3×3/1 conv,
MobileNet's and EfficientNet's first conv gets stride 1 (kernel kept, so ImageNet
weights for it still load). ``stem="imagenet"`` or ``"small"`` forces either stem.
No weights are downloaded; see :mod:`cnnlab.models.pretrained` for local files.
"""

from __future__ import annotations

from typing import Literal

from torch import nn

from cnnlab.errors import UsageError
from cnnlab.models.registry import register

__all__ = ["SMALL_INPUT", "small_stem"]

SMALL_INPUT = 64  # shorter side below which the stem keeps full resolution
# auto: the small-input stem below SMALL_INPUT px; small / imagenet force one stem
Stem = Literal["auto", "small", "imagenet"]


def small_stem(input_size: tuple[int, int], stem: str) -> bool:
    """Whether to use the small-input stem for ``stem`` in {"auto", "small", "imagenet"}."""
    if stem not in ("auto", "small", "imagenet"):
        raise UsageError(f"stem must be auto, small or imagenet, got {stem!r}")
    return stem == "small" or (stem == "auto" and min(input_size) < SMALL_INPUT)


def _resnet(builder, in_channels: int, num_classes: int, input_size: tuple[int, int],
            stem: str) -> nn.Module:
    model = builder(weights=None, num_classes=num_classes)
    if small_stem(input_size, stem):
        model.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    elif in_channels != 3:
        model.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
    return model


def _features_net(builder, in_channels: int, num_classes: int, input_size: tuple[int, int],
                  stem: str) -> nn.Module:
    """``builder``'s network (MobileNet, EfficientNet: the first conv is ``features[0][0]``, taking
    RGB), that conv replaced for ``in_channels`` and, with the small stem, stride 1."""
    model = builder(weights=None, num_classes=num_classes)
    old = model.features[0][0]
    stride = 1 if small_stem(input_size, stem) else old.stride
    if in_channels != old.in_channels or stride != old.stride:
        model.features[0][0] = nn.Conv2d(in_channels, old.out_channels, old.kernel_size,
                                         stride=stride, padding=old.padding, bias=old.bias is not None)
    return model


def _register_torchvision(name: str, adapt, description: str) -> None:
    """Register torchvision's builder ``name`` (imported when a model is built), adapted by
    ``adapt(builder, in_channels, num_classes, input_size, stem)``."""

    def build(in_channels: int, num_classes: int, input_size: tuple[int, int],
              stem: Stem = "auto") -> nn.Module:
        import torchvision.models

        return adapt(getattr(torchvision.models, name), in_channels, num_classes, input_size, stem)

    build.__name__ = build.__qualname__ = name
    register(name, description)(build)


_RESNET_STEM = "stem adapted to channels and small inputs (stem auto: one 3x3/1 conv, no max pool, below 64 px)"
_FIRST_CONV = "first conv adapted to channels and small inputs (stem auto: stride 1 below 64 px)"
for _name, _adapt, _what in (("resnet18", _resnet, f"torchvision ResNet-18, {_RESNET_STEM}"),
                             ("resnet34", _resnet, f"torchvision ResNet-34, {_RESNET_STEM}"),
                             ("mobilenet_v2", _features_net, f"torchvision MobileNetV2, {_FIRST_CONV}"),
                             ("efficientnet_b0", _features_net, f"torchvision EfficientNet-B0, {_FIRST_CONV}")):
    _register_torchvision(_name, _adapt, _what)

del _name, _adapt, _what
