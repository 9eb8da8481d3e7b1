"""Baselines without convolutions: a multilayer perceptron and logistic regression.

Both flatten the image, so they see every pixel but no spatial structure; the compare
command sets them against the CNNs at a similar parameter budget.
"""

from __future__ import annotations

from typing import Sequence

from torch import nn

from cnnlab.errors import UsageError
from cnnlab.models.registry import register

__all__ = ["parse_hidden"]


def parse_hidden(hidden: Sequence[int] | str | int) -> list[int]:
    """Hidden layer widths from a list, one int, or a string ``"256-128-64"`` / ``"256,128"``.

    >>> parse_hidden("256-128-64")
    [256, 128, 64]
    """
    if isinstance(hidden, int):
        sizes = [hidden]
    elif isinstance(hidden, str):
        parts = [p for p in hidden.replace(",", "-").split("-") if p.strip()]
        try:
            sizes = [int(p) for p in parts]
        except ValueError:
            raise UsageError(f"mlp: hidden sizes must be integers like 256-128-64, got {hidden!r}") from None
    else:
        sizes = [int(s) for s in hidden]
    if any(s < 1 for s in sizes):
        raise UsageError(f"mlp: hidden sizes must be >= 1, got {sizes}")
    return sizes


@register("mlp", "multilayer perceptron: flatten > fc 256 > ReLU > fc 128 > ReLU > fc 64 > "
                 "ReLU > fc classes (hidden sizes configurable)")
def mlp(in_channels: int, num_classes: int, input_size: tuple[int, int],
        hidden: Sequence[int] | str = (256, 128, 64), dropout: float = 0.0) -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_channels * input_size[0] * input_size[1]
    for n in parse_hidden(hidden):
        layers += [nn.Linear(width, n), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = n
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


@register("logreg", "multinomial logistic regression: flatten > one linear layer (softmax in the loss)")
def logreg(in_channels: int, num_classes: int, input_size: tuple[int, int]) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * input_size[0] * input_size[1],
                                                 num_classes))
