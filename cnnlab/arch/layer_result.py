"""What one layer does to its input: :class:`LayerResult`, the type every analyser of
:mod:`cnnlab.arch.layers` and :mod:`cnnlab.arch.composite_layers` returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from cnnlab.arch.receptive_field import AxisRF
from cnnlab.arch.spec_layer import Layer
from cnnlab.arch.steps import Step
from cnnlab.errors import UsageError

__all__ = ["RF", "LayerResult", "spatial"]

RF = tuple[AxisRF, AxisRF] | None


@dataclass
class LayerResult:
    """What one layer does to its input (shapes channel-first, no batch)."""

    out_shape: tuple[int, ...]
    weights: int = 0
    biases: int = 0
    macs: int = 0
    rf: RF = None
    steps: list[Step] = field(default_factory=list)
    stored: bool = True          # False for views and in-place layers (not in activation memory)


def spatial(layer: Layer, in_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """``(C, H, W)`` of a feature-map input; a user error for a flat vector."""
    if len(in_shape) != 3:
        raise UsageError(f"{layer.kind} needs a C×H×W input, but it received a flat vector of "
                         f"{in_shape[0]} values (after fc/flatten)")
    return in_shape
