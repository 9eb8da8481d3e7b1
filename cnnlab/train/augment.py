"""Data augmentation on whole batches of in-memory tensors (torch ops, no per-item loop).

A list of names, each with an optional parameter after a colon:

=============  ==================================================================
``shift:N``    random translation by up to N px each way (default 2), per image
``crop:P``     pad by P and crop back at a random place (default 4): torchvision's
               ``RandomCrop(size, padding=P)``, the same as ``shift:P``
``hflip``      mirror left-right with probability 1/2
``vflip``      mirror top-bottom with probability 1/2
``noise:S``    add Gaussian noise of std S in [0, 1] pixel units (default 0.05)
``rotate:D``   rotate by a uniform angle in ±D degrees (default 10), bilinear
=============  ==================================================================

Batches are already normalised, so "fill" (the value of pixels moved in from outside)
is a black pixel, ``-mean/std`` per channel, and noise is scaled by ``1/std``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from cnnlab.errors import UsageError

__all__ = ["AUGMENTS", "parse_augment", "augment_batch"]

# name -> default parameter (None: the augmentation takes no parameter)
AUGMENTS: dict[str, float | None] = {
    "shift": 2, "crop": 4, "hflip": None, "vflip": None, "noise": 0.05, "rotate": 10,
}


AUGMENT_MAX = {"shift": 64, "crop": 64, "noise": 10.0, "rotate": 180.0}  # pixels, std, degrees


def parse_augment(names: list[str] | str) -> list[tuple[str, float | None]]:
    """``["shift:2", "hflip"]`` (or ``"shift:2,hflip"``) -> ``[("shift", 2.0), ("hflip", None)]``.

    >>> parse_augment("shift:3,hflip")
    [('shift', 3.0), ('hflip', None)]
    """
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    specs = []
    for text in names:
        name, _, param = text.strip().partition(":")
        if name not in AUGMENTS:
            raise UsageError(f"unknown augmentation {name!r}; choose from: {', '.join(AUGMENTS)}")
        default = AUGMENTS[name]
        if default is None:
            if param:
                raise UsageError(f"augmentation {name} takes no parameter, got {text!r}")
            specs.append((name, None))
            continue
        try:
            value = float(param) if param else float(default)
        except ValueError:
            raise UsageError(f"augmentation {text!r}: parameter must be a number") from None
        if value < 0 or not math.isfinite(value):
            raise UsageError(f"augmentation {text!r}: parameter must be >= 0")
        if value > AUGMENT_MAX[name]:  # docs/limits.md
            raise UsageError(f"augmentation {text!r}: parameter over the limit of {AUGMENT_MAX[name]:g}")
        specs.append((name, value))
    return specs


def _shift(x: torch.Tensor, fill: torch.Tensor, max_px: int, gen: torch.Generator) -> torch.Tensor:
    B, C, H, W = x.shape
    if max_px == 0:
        return x
    d = torch.randint(-max_px, max_px + 1, (2, B), device=x.device, generator=gen)  # (2, B)
    xp = F.pad(x - fill, (max_px,) * 4) + fill  # (B, C, H+2m, W+2m)
    rows = torch.arange(H, device=x.device)[None, :] - d[1][:, None] + max_px  # (B, H)
    cols = torch.arange(W, device=x.device)[None, :] - d[0][:, None] + max_px  # (B, W)
    b = torch.arange(B, device=x.device)[:, None, None]
    return xp[b, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)  # (B, C, H, W)


def _flip(x: torch.Tensor, dim: int, gen: torch.Generator) -> torch.Tensor:
    B = x.shape[0]
    mask = torch.rand(B, device=x.device, generator=gen) < 0.5
    return torch.where(mask[:, None, None, None], x.flip(dim), x)


def _rotate(x: torch.Tensor, fill: torch.Tensor, degrees: float, gen: torch.Generator) -> torch.Tensor:
    B = x.shape[0]
    angle = (torch.rand(B, device=x.device, generator=gen) * 2 - 1) * math.radians(degrees)
    cos, sin = angle.cos(), angle.sin()
    zero = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1),
                         torch.stack([sin, cos, zero], 1)], 1)  # (B, 2, 3)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x - fill, grid, align_corners=False) + fill


def augment_batch(x: torch.Tensor, specs: list[tuple[str, float | None]], mean: torch.Tensor,
                  std: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Apply the parsed augmentations to a normalised batch.

    x: (B, C, H, W) normalised; mean, std: (C,) of the normalisation; ``gen`` on x's
    device draws all randomness (so a resumed run draws the same).
    """
    B, C, H, W = x.shape
    fill = (-mean / std).view(1, C, 1, 1).to(x.dtype)  # a black pixel, normalised
    for name, param in specs:
        if name in ("shift", "crop"):
            x = _shift(x, fill, int(param), gen)
        elif name == "hflip":
            x = _flip(x, -1, gen)
        elif name == "vflip":
            x = _flip(x, -2, gen)
        elif name == "noise":
            noise = torch.randn(x.shape, device=x.device, generator=gen, dtype=x.dtype)
            x = x + noise * (param / std).view(1, C, 1, 1).to(x.dtype)
        elif name == "rotate":
            x = _rotate(x, fill, param, gen)
    return x
