"""The CNNs of a typical course sheet: small-cnn, lenet5, cnn3, cnn3-dropout, cnn6-bn.

Each model is a feature stack (convolutions, pooling, activations) followed by a
classifier whose first fully connected layer is sized from the feature map the stack
produces for the given input, traced with :mod:`cnnlab.ops.sizes` (so 1×28×28 digits,
3×32×32 photos and 8×8 scikit-learn digits all work when the stack fits the input).
All models return logits (N, num_classes); the loss applies the softmax.
"""

from __future__ import annotations

from typing import Sequence

from torch import nn

from cnnlab.errors import UsageError
from cnnlab.models.registry import register
from cnnlab.ops.sizes import conv_output_size, pool_output_size

__all__ = ["SheetCNN", "trace_features"]

# A layer of the feature stack: ("conv", out_channels, kernel, padding, batch_norm),
# ("maxpool", size), ("relu",), ("dropout", p) for channel dropout (nn.Dropout2d).
Layer = tuple


def trace_features(layers: Sequence[Layer], in_channels: int, input_size: tuple[int, int],
                   model: str = "model") -> tuple[int, int, int]:
    """Shape (C, H, W) of the feature map ``layers`` make from (in_channels, H, W).

    >>> trace_features([("conv", 10, 5, 0, False), ("maxpool", 2)], 1, (28, 28))
    (10, 12, 12)
    """
    c, (h, w) = in_channels, input_size
    for layer in layers:
        try:
            if layer[0] == "conv":
                _, c_out, k, p, _bn = layer
                c, h, w = c_out, conv_output_size(h, k, 1, p), conv_output_size(w, k, 1, p)
            elif layer[0] == "maxpool":
                h, w = pool_output_size(h, layer[1]), pool_output_size(w, layer[1])
        except UsageError:
            h = w = 0
        if h < 1 or w < 1:
            raise UsageError(f"{model}: input {in_channels}x{input_size[0]}x{input_size[1]} "
                             f"is too small for its layers; use a larger input or another model "
                             f"(cnn3, cnn6-bn, mlp and logreg take 8x8 inputs)")
    return c, h, w


class SheetCNN(nn.Module):
    """Feature stack + fully connected classifier; ``classifier[-1]`` is the head."""

    def __init__(self, layers: Sequence[Layer], in_channels: int, num_classes: int,
                 input_size: tuple[int, int], hidden: Sequence[int], dropout: float = 0.0,
                 name: str = "model"):
        super().__init__()
        feats: list[nn.Module] = []
        c = in_channels
        for layer in layers:
            kind = layer[0]
            if kind == "conv":
                _, c_out, k, p, bn = layer
                feats.append(nn.Conv2d(c, c_out, k, padding=p, bias=not bn))
                if bn:
                    feats.append(nn.BatchNorm2d(c_out))
                c = c_out
            elif kind == "maxpool":
                feats.append(nn.MaxPool2d(layer[1]))
            elif kind == "relu":
                feats.append(nn.ReLU())
            elif kind == "dropout":
                feats.append(nn.Dropout2d(layer[1]))
            else:
                raise ValueError(f"unknown layer kind {kind!r}")
        self.features = nn.Sequential(*feats)
        c, h, w = trace_features(layers, in_channels, input_size, name)
        head: list[nn.Module] = [nn.Flatten()]
        width = c * h * w
        for n in hidden:
            head += [nn.Linear(width, n), nn.ReLU()]
            if dropout:
                head.append(nn.Dropout(dropout))
            width = n
        head.append(nn.Linear(width, num_classes))
        self.classifier = nn.Sequential(*head)

    def forward(self, x):
        """x: (N, C, H, W) normalised images -> (N, num_classes) logits."""
        return self.classifier(self.features(x))


def _conv(c_out: int, k: int, p: int = 0, bn: bool = False) -> Layer:
    return ("conv", c_out, k, p, bn)


@register("small-cnn", "conv 10@5x5 > maxpool 2 > ReLU > conv 20@5x5 > dropout > maxpool 2 > "
                       "ReLU > fc 50 > ReLU > fc classes (PyTorch's MNIST example)")
def small_cnn(in_channels: int, num_classes: int, input_size: tuple[int, int],
              dropout: float = 0.5) -> SheetCNN:
    # Channel dropout after conv2, as in PyTorch's MNIST example the sheet copies.
    layers = [_conv(10, 5), ("maxpool", 2), ("relu",),
              _conv(20, 5), ("dropout", dropout), ("maxpool", 2), ("relu",)]
    return SheetCNN(layers, in_channels, num_classes, input_size, [50], name="small-cnn")


@register("lenet5", "LeNet-5 with ReLU and max pooling: conv 6@5x5 pad 2 > pool > "
                    "conv 16@5x5 > pool > fc 120 > fc 84 > fc classes")
def lenet5(in_channels: int, num_classes: int, input_size: tuple[int, int]) -> SheetCNN:
    # Padding 2 on the first conv lets 28x28 digits stand in for LeNet's 32x32 (as d2l does).
    layers = [_conv(6, 5, 2), ("relu",), ("maxpool", 2), _conv(16, 5), ("relu",), ("maxpool", 2)]
    return SheetCNN(layers, in_channels, num_classes, input_size, [120, 84], name="lenet5")


def _cnn3_layers(dropout: float) -> list[Layer]:
    layers: list[Layer] = []
    for c_out in (32, 64, 128):
        layers += [_conv(c_out, 5, 2), ("relu",), ("maxpool", 2)]
        if dropout:
            layers.append(("dropout", dropout))
    return layers


@register("cnn3", "conv 32/64/128 @5x5 pad 2, each > ReLU > maxpool 2, then fc 64 > fc classes")
def cnn3(in_channels: int, num_classes: int, input_size: tuple[int, int]) -> SheetCNN:
    return SheetCNN(_cnn3_layers(0.0), in_channels, num_classes, input_size, [64], name="cnn3")


@register("cnn3-dropout", "cnn3 with channel dropout after each pool and dropout before the head")
def cnn3_dropout(in_channels: int, num_classes: int, input_size: tuple[int, int],
                 dropout: float = 0.25, fc_dropout: float = 0.5) -> SheetCNN:
    return SheetCNN(_cnn3_layers(dropout), in_channels, num_classes, input_size, [64],
                    dropout=fc_dropout, name="cnn3-dropout")


@register("cnn6-bn", "six conv 3x3 pad 1 + batch norm + ReLU (32,32 | 64,64 | 128,128, "
                     "maxpool 2 after each pair), fc 128 > fc classes")
def cnn6_bn(in_channels: int, num_classes: int, input_size: tuple[int, int],
            dropout: float = 0.3) -> SheetCNN:
    layers: list[Layer] = []
    for c_out in (32, 64, 128):
        layers += [_conv(c_out, 3, 1, True), ("relu",), _conv(c_out, 3, 1, True), ("relu",),
                   ("maxpool", 2)]
    return SheetCNN(layers, in_channels, num_classes, input_size, [128], dropout=dropout,
                    name="cnn6-bn")


@register("fast-cnn", "[centre crop] > conv 24@5x5 > maxpool 2 > ReLU > conv 32@3x3 > maxpool 2 > "
                      "ReLU > fc 256 > ReLU > fc classes (the model of the fast recipes)")
def fast_cnn(in_channels: int, num_classes: int, input_size: tuple[int, int],
             channels: Sequence[int] = (24, 32), hidden: int = 256, crop: int = 0) -> nn.Module:
    """``crop``: pixels dropped from each border first (MNIST digits sit in the central 20x20,
    so ``crop=3`` halves the arithmetic without losing ink); the model still takes the full
    image, so evaluation and explanations feed it unchanged."""
    # The shape of tuomaso/train_mnist_fast (99% on MNIST in one epoch); pooling before the
    # ReLU gives the same output for 4x fewer ReLU evaluations.
    c1, c2, crop = int(channels[0]), int(channels[1]), int(crop)
    h, w = input_size
    if crop < 0 or 2 * crop >= min(h, w):
        raise UsageError(f"fast-cnn: crop must be between 0 and {(min(h, w) - 1) // 2} for "
                         f"{h}x{w} images, got {crop}")
    layers = [_conv(c1, 5), ("maxpool", 2), ("relu",), _conv(c2, 3), ("maxpool", 2), ("relu",)]
    net = SheetCNN(layers, in_channels, num_classes, (h - 2 * crop, w - 2 * crop), [int(hidden)],
                   name="fast-cnn")
    if crop:
        net.features.insert(0, nn.ZeroPad2d(-crop))  # negative padding: a centre crop
    return net
