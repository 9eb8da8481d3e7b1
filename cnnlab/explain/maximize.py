"""Activation maximisation: the input that most excites a class logit, a channel or one unit.

Gradient ascent on the image, as Lucent does it (Olah et al., "Feature Visualization",
Distill 2017), scaled down to small inputs: the pixels start as grey plus a little
noise and are optimised directly, clipped to [0, 1] after each step (a sigmoid
parameterisation saturates: on MNIST it left isolated white pixels that no penalty could
move). At each step the image is randomly moved by whole pixels (jitter), rotated and
scaled before the forward pass ("transformation robustness"), so that the result is a
pattern the network answers to wherever it is, not adversarial pixel noise; an L2
penalty (distance from mid-grey) and a total-variation penalty keep it smooth. All
randomness comes from one seeded generator.

The objectives of one call may name different layers (classes and a layer's channels):
every image is optimised in the same forward pass, with one hook per layer, and since
the model is in eval mode each image's gradient is its own (docs/cli.md, "Speed and work bounds").

>>> import torch
>>> from torch import nn
>>> _ = torch.manual_seed(0)  # the net's initialisation; some random ones end lower unshifted
>>> net = nn.Sequential(nn.Flatten(), nn.Linear(16, 2)).eval()
>>> r = maximize(net, (1, 4, 4), [Objective(None, 1)], steps=20, seed=0)
>>> r.images.shape, bool(r.final[0] > r.start[0])
((1, 1, 4, 4), True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.errors import UsageError
from cnnlab.explain.fast import fast_copy, to_layout
from cnnlab.explain.feature_maps import get_layer
from cnnlab.train.optim import Adam

__all__ = ["Objective", "MaximizeResult", "maximize", "total_variation", "random_affine",
           "objective_values", "JITTER", "ROTATE", "SCALE", "L2", "TV", "STEPS", "LR"]

JITTER = 2      # pixels of random translation per step (Lucent uses 4-8 on 224 px images)
ROTATE = 10.0   # degrees, uniform in ±ROTATE (Lucent: random_rotate(range(-10, 11)))
SCALE = 0.1     # scale uniform in 1 ± SCALE (Lucent: 0.9..1.1)
L2 = 1e-3       # weight of the summed squared distance from mid-grey
# Weight of the total variation (summed absolute neighbour differences). On a 1-epoch MNIST
# small-cnn, 5e-4 left isolated pixels in channel images, 2e-3 cleared them, 5e-3 washed the
# patterns into blobs and cost 10-30% of the objective (explain demo, 256 steps).
TV = 2e-3
# Steps and Adam's learning rate. 128 steps at 0.04 reach the same objective as 256 at 0.02
# (demo run, 26 targets: class gain +23.5 vs +23.8, channel gain +3.23 vs +3.17; pixels
# correlate 0.86, pictures alike) in half the time (docs/cli.md, "Speed and work bounds").
STEPS = 128
LR = 0.04


@dataclass(frozen=True)
class Objective:
    """What to maximise: a class logit (``layer`` None), the mean of a channel, or one unit.

    ``index``: the class or channel; ``unit``: (y, x) position in the channel, or None for
    the channel's spatial mean.
    """

    layer: str | None
    index: int
    unit: tuple[int, int] | None = None

    def label(self) -> str:
        if self.layer is None:
            return f"class {self.index}"
        where = f" at {self.unit[0]},{self.unit[1]}" if self.unit else ""
        return f"{self.layer} channel {self.index}{where}"


@dataclass
class MaximizeResult:
    """Images found (U, C, H, W) in [0, 1], and each objective at the start and at the end."""

    images: np.ndarray
    start: np.ndarray  # (U,) objective on the starting noise (no transformation)
    final: np.ndarray  # (U,) objective on the final image (no transformation)
    objectives: list[Objective]


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Sum of absolute differences between neighbouring pixels, per image. x: (N, C, H, W) -> (N,)."""
    N, C, H, W = x.shape
    dy = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().flatten(1).sum(1)
    dx = (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().flatten(1).sum(1)
    return dx + dy


def random_affine(x: torch.Tensor, generator: torch.Generator, jitter: int = JITTER,
                  rotate: float = ROTATE, scale: float = SCALE) -> torch.Tensor:
    """Each image moved by whole pixels in ±jitter, rotated by ±rotate degrees, scaled 1±scale.

    x: (N, C, H, W) -> (N, C, H, W); bilinear, reflection at the borders.
    """
    N, C, H, W = x.shape
    u = torch.rand(N, 4, generator=generator)  # (N, 4) uniform draws
    angle = (2 * u[:, 0] - 1) * math.radians(rotate)
    s = 1 + (2 * u[:, 1] - 1) * scale
    tx = torch.round((2 * u[:, 2] - 1) * jitter) * 2 / W  # pixels -> normalised coordinates
    ty = torch.round((2 * u[:, 3] - 1) * jitter) * 2 / H
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)  # (N, 2, 3)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def _check(model: nn.Module, objectives: Sequence[Objective], shape: tuple[int, int, int]) -> None:
    """UsageError for an unknown layer, a class/channel/unit out of range."""
    if not objectives:
        raise UsageError("nothing to maximise: give at least one class or channel")
    from cnnlab.explain.feature_maps import feature_maps

    layers = list(dict.fromkeys(o.layer for o in objectives if o.layer is not None))
    x = torch.zeros(1, *shape)
    maps = feature_maps(model, x, layers)
    with torch.no_grad():
        logits = model(x)
    for o in objectives:
        layer = o.layer
        out_shape = tuple((logits if layer is None else maps[layer]).shape[1:])
        what = "classes" if layer is None else f"channels in {layer}"
        if not 0 <= o.index < out_shape[0]:
            raise UsageError(f"index {o.index} is out of range: there are {out_shape[0]} {what} "
                             f"(0 to {out_shape[0] - 1})")
        if o.unit is not None:
            if len(out_shape) != 3:
                raise UsageError(f"layer {layer!r} has no spatial positions (output {out_shape})")
            y, xx = o.unit
            if not (0 <= y < out_shape[1] and 0 <= xx < out_shape[2]):
                raise UsageError(f"unit {y},{xx} is outside the {out_shape[1]}x{out_shape[2]} "
                                 f"map of {layer!r}")


def objective_values(model: nn.Module, x: torch.Tensor, objectives: Sequence[Objective]) -> torch.Tensor:
    """Objective u evaluated on image u. x: (U, C, H, W) normalised -> (U,)."""
    saved: dict[str | None, torch.Tensor] = {}
    handles = []

    def keep(name):
        def hook(_module, _inputs, output):
            saved[name] = output
            return output.clone()  # an in-place op further on must not change the saved output
        return hook

    try:
        for layer in dict.fromkeys(o.layer for o in objectives if o.layer is not None):
            handles.append(get_layer(model, layer).register_forward_hook(keep(layer)))
        saved[None] = model(x)
    finally:
        for handle in handles:
            handle.remove()
    values = []
    for u, o in enumerate(objectives):
        a = saved[o.layer][u, o.index]  # (K,) or (K, h, w) of image u, then one class/channel
        if o.unit is not None:
            a = a[o.unit[0], o.unit[1]]
        values.append(a.mean())
    return torch.stack(values)  # (U,)


def maximize(model: nn.Module, shape: tuple[int, int, int], objectives: Sequence[Objective], *,
             mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
             steps: int = STEPS, lr: float = LR, seed: int = 0, jitter: int = JITTER,
             rotate: float = ROTATE, scale: float = SCALE, l2: float = L2, tv: float = TV) -> MaximizeResult:
    """One image per objective, by ``steps`` of Adam on its pixels (kept in [0, 1]).

    The objectives may use different layers; image u serves objective u only.

    shape: (C, H, W) of the model's input; mean, std: (C,) the run's normalisation (the
    image is optimised in [0, 1] pixel space and normalised before the model sees it).
    """
    C, H, W = shape
    if steps < 1:
        raise UsageError(f"steps must be at least 1, got {steps}")
    model.eval()
    _check(model, objectives, shape)
    U = len(objectives)
    m = torch.as_tensor(np.zeros(C) if mean is None else mean, dtype=torch.float32).reshape(1, C, 1, 1)
    s = torch.as_tensor(np.ones(C) if std is None else std, dtype=torch.float32).reshape(1, C, 1, 1)
    s = torch.where(s > 0, s, torch.ones_like(s))
    generator = torch.Generator().manual_seed(seed)
    image = (0.5 + 0.05 * torch.randn(U, C, H, W, generator=generator)).clamp(0, 1)
    image.requires_grad_(True)  # (U, C, H, W) in [0, 1]
    # torch.optim.Adam's update (tested identical) without its 1.4-4 s torch._dynamo import
    optimizer = Adam([{"params": [image], "lr": lr}])
    net = fast_copy(model)  # channels-last for a conv model: 1.6x faster steps
    requires = [p.requires_grad for p in net.parameters()]
    for p in net.parameters():  # only the image is optimised
        p.requires_grad_(False)
    try:
        with torch.no_grad():
            start = objective_values(model, (image - m) / s, objectives)
        for _ in range(steps):
            moved = random_affine(image, generator, jitter, rotate, scale)
            value = objective_values(net, to_layout((moved - m) / s, net, model), objectives)  # (U,)
            penalty = l2 * ((image - 0.5) ** 2).flatten(1).sum(1) + tv * total_variation(image)
            loss = (penalty - value).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                image.clamp_(0, 1)
        with torch.no_grad():
            final = objective_values(model, (image - m) / s, objectives)
    finally:
        for p, r in zip(net.parameters(), requires):
            p.requires_grad_(r)
    return MaximizeResult(image.detach().numpy(), start.numpy(), final.numpy(), list(objectives))
