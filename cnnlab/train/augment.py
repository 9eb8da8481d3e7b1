"""Data augmentation on whole batches of in-memory tensors (torch ops, no per-image loop).

A list of names, each with an optional parameter after a colon:

==================  ===============================================================
``shift:N``         random translation by up to N px each way (default 2), per image
``crop:P``          pad by P and crop back at a random place (default 4): torchvision's
                    ``RandomCrop(size, padding=P)``, the same as ``shift:P``
``hflip``           mirror left-right with probability 1/2
``vflip``           mirror top-bottom with probability 1/2
``noise:S``         add Gaussian noise of std S in [0, 1] pixel units (default 0.05)
``rotate:D``        rotate by a uniform angle in ±D degrees (default 10), bilinear
``brightness:B``    multiply pixels by a factor in [1-B, 1+B] (default 0.4), clip to [0, 1]
``contrast:C``      blend with the image's mean grey by a factor in [1-C, 1+C] (default 0.4)
``saturation:S``    blend with the image's grey version by a factor in [1-S, 1+S]
                    (default 0.4; a one-channel image has no saturation to change)
``jitter:P``        brightness, contrast and saturation, each P (torchvision's
                    ``ColorJitter(P, P, P)``, applied in that fixed order)
``hue:H``           shift the hue by a uniform amount in ±H turns of the colour circle
                    (default 0.1, at most 0.5; images without 3 channels are unchanged)
``affine:D``        rotate by ±D degrees, shear along x by ±D degrees, translate by up
                    to D% of the size each way, scale by a factor in [1-D/100, 1+D/100]
                    (default 10, at most 45), bilinear, black fill
``resized-crop:S``  crop a random box of S to 1 of the area (aspect ratio 3/4 to 4/3)
                    and resize it back to the full size, bilinear (default S 0.35)
``erase:P``         with probability P (default 0.5) set a random box of 2%-33% of the
                    area (aspect 0.3 to 3.3) to 0, the mean after normalisation
==================  ===============================================================

Each augmentation is a pure function of the batch and explicit parameters (``apply_*``,
compared with ``torchvision.transforms.v2.functional`` in the tests) plus a draw of those
parameters from the run's generator. Batches are already normalised, so the pixel-space
ones (fill, noise, colour) convert with the run's mean and std: "fill" (pixels moved in
from outside) is a black pixel, ``-mean/std`` per channel. docs/training.md lists them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from cnnlab.errors import UsageError

__all__ = ["AUGMENTS", "parse_augment", "augment_batch", "apply_shift", "apply_flip",
           "apply_rotate", "apply_brightness", "apply_contrast", "apply_saturation",
           "apply_resized_crop", "apply_erase", "apply_hue", "apply_affine", "MAX_SHIFT"]

MAX_SHIFT = 64  # px: the largest shift/crop padding (a bound checked before allocating)
GREY = (0.2989, 0.587, 0.114)  # ITU-R 601 luma weights, as torchvision's rgb_to_grayscale


@dataclass(frozen=True)
class _Aug:
    default: float | None  # None: takes no parameter
    upper: float  # largest parameter accepted
    run: Callable  # run(x, param, ctx) -> x, with ctx holding fill, mean, std, gen
    pixel_space: bool = False  # works on [0, 1] pixels (converted from the normalised batch)


# --- pure functions with explicit parameters ------------------------------------------

def apply_shift(x: torch.Tensor, dx: torch.Tensor, dy: torch.Tensor, fill: torch.Tensor,
                pad: int) -> torch.Tensor:
    """Move image b of x: (B, C, H, W) right by dx[b] and down by dy[b] px (|d| <= pad),
    filling with ``fill``: (1, C, 1, 1)."""
    B, C, H, W = x.shape
    xp = F.pad(x - fill, (pad,) * 4) + fill  # (B, C, H+2p, W+2p)
    rows = torch.arange(H, device=x.device)[None, :] - dy[:, None] + pad  # (B, H)
    cols = torch.arange(W, device=x.device)[None, :] - dx[:, None] + pad  # (B, W)
    b = torch.arange(B, device=x.device)[:, None, None]
    return xp[b, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)  # (B, C, H, W)


def apply_flip(x: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    """x: (B, C, H, W) with the images where mask: (B,) is True flipped along ``dim``."""
    return torch.where(mask[:, None, None, None], x.flip(dim), x)


def apply_rotate(x: torch.Tensor, degrees: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
    """Rotate image b of x: (B, C, H, W) counter-clockwise by degrees[b] about its centre,
    bilinear, ``fill`` outside (torchvision's ``rotate`` convention)."""
    B, C, H, W = x.shape
    angle = degrees.to(torch.float64) * (math.pi / 180)
    cos, sin = angle.cos(), angle.sin()
    zero = torch.zeros_like(cos)
    # output pixel -> input pixel, in grid_sample's [-1, 1] coordinates of a W x H image
    theta = torch.stack([torch.stack([cos, -sin * H / W, zero], 1),
                         torch.stack([sin * W / H, cos, zero], 1)], 1)  # (B, 2, 3)
    grid = F.affine_grid(theta.to(x.dtype), [B, C, H, W], align_corners=False)
    return F.grid_sample(x - fill, grid, align_corners=False) + fill


def _blend(x: torch.Tensor, other: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """factor * x + (1 - factor) * other, clipped to [0, 1] (pixels). factor: (B,)."""
    f = factor.view(-1, 1, 1, 1).to(x.dtype)
    return (f * x + (1 - f) * other).clamp(0, 1)


def _grey(x: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) luma of x: (B, C, H, W) pixels (x itself for one channel)."""
    if x.shape[1] == 1:
        return x
    w = torch.tensor(GREY, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x[:, :3] * w).sum(1, keepdim=True)


def apply_brightness(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Pixels x: (B, C, H, W) times factor[b], clipped to [0, 1]."""
    return _blend(x, torch.zeros_like(x), factor)


def apply_contrast(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Pixels blended with each image's mean grey level by factor[b]."""
    mean = _grey(x).mean((1, 2, 3), keepdim=True)  # (B, 1, 1, 1)
    return _blend(x, mean, factor)


def apply_saturation(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Pixels blended with their grey version by factor[b] (one channel: unchanged)."""
    if x.shape[1] == 1:
        return x
    return _blend(x, _grey(x), factor)


def _rgb_to_hsv(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) hue in [0, 1) turns, saturation, value of RGB pixels x: (B, 3, H, W)."""
    r, g, b = x.unbind(1)  # (B, H, W) each
    v, _ = x.max(1)
    chroma = v - x.min(1).values
    safe = torch.where(chroma > 0, chroma, torch.ones_like(chroma))
    h = torch.where(v == r, (g - b) / safe,
                    torch.where(v == g, 2 + (b - r) / safe, 4 + (r - g) / safe))
    h = torch.where(chroma > 0, h / 6, torch.zeros_like(h)).remainder(1.0)
    s = torch.where(v > 0, chroma / torch.where(v > 0, v, torch.ones_like(v)), torch.zeros_like(v))
    return torch.stack([h, s, v], 1)


def _hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB pixels of hsv: (B, 3, H, W), by f(n) = v - v s clamp(min(k, 4 - k), 0, 1)
    with k = (n + 6 h) mod 6 and n = 5, 3, 1 for red, green, blue."""
    h, s, v = (c[:, None] for c in hsv.unbind(1))  # (B, 1, H, W) each
    n = torch.tensor([5.0, 3.0, 1.0], dtype=hsv.dtype, device=hsv.device).view(1, 3, 1, 1)
    k = (n + 6 * h).remainder(6)  # (B, 3, H, W)
    return v - v * s * torch.minimum(k, 4 - k).clamp(0, 1)


def apply_hue(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Pixels x: (B, 3, H, W) with image b's hue turned by shift[b] (turns, |shift| <= 0.5).

    torchvision's ``adjust_hue`` per image; an image without exactly 3 channels is returned
    unchanged (a grey image has no hue; the bands of a multi-band image are not colours).
    """
    B, C, H, W = x.shape
    if C != 3:
        return x
    hsv = _rgb_to_hsv(x)
    hue = (hsv[:, 0] + shift.view(B, 1, 1).to(x.dtype)).remainder(1.0)  # (B, H, W)
    return _hsv_to_rgb(torch.stack([hue, hsv[:, 1], hsv[:, 2]], 1))


def affine_inverse(angle: torch.Tensor, translate: torch.Tensor, scale: torch.Tensor,
                   shear: torch.Tensor) -> torch.Tensor:
    """(B, 2, 3) maps from output to input pixel, both measured from the image centre.

    The forward map is T * R(angle) * S(scale) * SHy(shear_y) * SHx(shear_x) about the
    centre (torchvision's ``_get_inverse_affine_matrix`` convention, angles in degrees,
    positive = clockwise, as torchvision's ``affine``, the opposite of ``rotate``). angle, scale: (B,); translate: (B, 2)
    px (x, y); shear: (B, 2) degrees (x, y).
    """
    rot = angle.to(torch.float64) * (math.pi / 180)
    sx, sy = (shear.to(torch.float64) * (math.pi / 180)).unbind(1)
    tx, ty = translate.to(torch.float64).unbind(1)
    s = scale.to(torch.float64)
    a = torch.cos(rot - sy) / torch.cos(sy)
    b = -(a * torch.tan(sx) + torch.sin(rot))
    c = torch.sin(rot - sy) / torch.cos(sy)
    d = torch.cos(rot) - c * torch.tan(sx)
    # inverse of [[a, b], [c, d]] (determinant 1) over the scale, then undo the translation
    m00, m01, m10, m11 = d / s, -b / s, -c / s, a / s
    row0 = torch.stack([m00, m01, -(m00 * tx + m01 * ty)], 1)
    row1 = torch.stack([m10, m11, -(m10 * tx + m11 * ty)], 1)
    return torch.stack([row0, row1], 1)  # (B, 2, 3)


def apply_affine(x: torch.Tensor, angle: torch.Tensor, translate: torch.Tensor,
                 scale: torch.Tensor, shear: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
    """Rotate, translate, scale and shear image b of x: (B, C, H, W) about its centre,
    bilinear, ``fill``: (1, C, 1, 1) outside (torchvision's ``affine`` per image; the
    parameters as in ``affine_inverse``)."""
    B, C, H, W = x.shape
    inv = affine_inverse(angle, translate, scale, shear)  # (B, 2, 3), pixels
    u = torch.arange(W, dtype=torch.float64, device=x.device) - (W - 1) / 2
    v = torch.arange(H, dtype=torch.float64, device=x.device) - (H - 1) / 2
    base = torch.stack([u[None, :].expand(H, W), v[:, None].expand(H, W),
                        torch.ones(H, W, dtype=torch.float64, device=x.device)], -1)  # (H, W, 3)
    src = torch.einsum("hwk,bjk->bhwj", base, inv.to(x.device))  # (B, H, W, 2) pixels from centre
    half = torch.tensor([W / 2, H / 2], dtype=torch.float64, device=x.device)
    grid = (src / half).to(x.dtype)  # grid_sample's [-1, 1] coordinates (align_corners=False)
    return F.grid_sample(x - fill, grid, align_corners=False) + fill


def apply_resized_crop(x: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Crop box b = (top, left, height, width) of image b and resize it to the full size.

    x: (B, C, H, W); boxes: (B, 4) in pixels. Bilinear, the box's edge pixels repeated
    beyond it, as torchvision's ``resized_crop`` (which crops, then resizes).
    """
    B, C, H, W = x.shape
    top, left, h, w = (v[:, None] for v in boxes.to(x.dtype).unbind(1))  # (B, 1) each
    u = torch.arange(W, device=x.device, dtype=x.dtype)[None, :]
    v = torch.arange(H, device=x.device, dtype=x.dtype)[None, :]
    # source pixel of each output pixel (pixel centres at +0.5), kept inside the box
    src_x = torch.minimum(torch.maximum(left + (u + 0.5) * w / W - 0.5, left), left + w - 1)  # (B, W)
    src_y = torch.minimum(torch.maximum(top + (v + 0.5) * h / H - 0.5, top), top + h - 1)  # (B, H)
    grid = torch.stack([((2 * src_x + 1) / W - 1)[:, None, :].expand(B, H, W),
                        ((2 * src_y + 1) / H - 1)[:, :, None].expand(B, H, W)], -1)  # (B, H, W, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def apply_erase(x: torch.Tensor, boxes: torch.Tensor, value: float = 0.0) -> torch.Tensor:
    """Set box b = (top, left, height, width) of image b to ``value`` (height 0: untouched)."""
    B, C, H, W = x.shape
    top, left, h, w = boxes.unbind(1)
    rows = torch.arange(H, device=x.device)[None, :]
    cols = torch.arange(W, device=x.device)[None, :]
    inside_r = (rows >= top[:, None]) & (rows < (top + h)[:, None])  # (B, H)
    inside_c = (cols >= left[:, None]) & (cols < (left + w)[:, None])  # (B, W)
    mask = (inside_r[:, :, None] & inside_c[:, None, :])[:, None]  # (B, 1, H, W)
    return x.masked_fill(mask, value)


# --- parameter draws ------------------------------------------------------------------

def _uniform(B: int, low: float, high: float, ctx: dict) -> torch.Tensor:
    return low + (high - low) * torch.rand(B, device=ctx["device"], generator=ctx["gen"], dtype=torch.float64)


def _boxes(B: int, H: int, W: int, scale: tuple[float, float], ratio: tuple[float, float],
           ctx: dict) -> torch.Tensor:
    """(B, 4) boxes (top, left, height, width) of a random share of the area and aspect
    ratio (log-uniform), shrunk to fit the image."""
    area = H * W * _uniform(B, scale[0], scale[1], ctx)
    r = torch.exp(_uniform(B, math.log(ratio[0]), math.log(ratio[1]), ctx))
    w = torch.sqrt(area * r).round().clamp(1, W)
    h = torch.sqrt(area / r).round().clamp(1, H)
    top = (torch.rand(B, device=ctx["device"], generator=ctx["gen"], dtype=torch.float64) * (H - h + 1)).floor()
    left = (torch.rand(B, device=ctx["device"], generator=ctx["gen"], dtype=torch.float64) * (W - w + 1)).floor()
    return torch.stack([top, left, h, w], 1).long()


def _run_shift(x, param, ctx):
    m = int(param)
    if m == 0:
        return x
    d = torch.randint(-m, m + 1, (2, x.shape[0]), device=x.device, generator=ctx["gen"])  # (2, B)
    return apply_shift(x, d[0], d[1], ctx["fill"], m)


def _run_flip(dim):
    def run(x, param, ctx):
        mask = torch.rand(x.shape[0], device=x.device, generator=ctx["gen"]) < 0.5
        return apply_flip(x, mask, dim)
    return run


def _run_noise(x, param, ctx):
    C = x.shape[1]
    noise = torch.randn(x.shape, device=x.device, generator=ctx["gen"], dtype=x.dtype)
    return x + noise * (param / ctx["std"]).view(1, C, 1, 1).to(x.dtype)


def _run_rotate(x, param, ctx):
    return apply_rotate(x, _uniform(x.shape[0], -param, param, ctx), ctx["fill"])


def _factor_run(apply):
    def run(x, param, ctx):
        return apply(x, _uniform(x.shape[0], max(0.0, 1 - param), 1 + param, ctx))
    return run


def _run_jitter(x, param, ctx):
    for apply in (apply_brightness, apply_contrast, apply_saturation):
        x = _factor_run(apply)(x, param, ctx)
    return x


def _run_hue(x, param, ctx):
    return apply_hue(x, _uniform(x.shape[0], -param, param, ctx))


def _run_affine(x, param, ctx):
    B, C, H, W = x.shape
    angle = _uniform(B, -param, param, ctx)
    shift = _uniform(2 * B, -param / 100, param / 100, ctx).view(2, B)
    translate = torch.stack([shift[0] * W, shift[1] * H], 1).round()  # (B, 2) whole pixels
    scale = _uniform(B, 1 - param / 100, 1 + param / 100, ctx)
    shear = torch.stack([_uniform(B, -param, param, ctx), torch.zeros_like(angle)], 1)  # (B, 2)
    return apply_affine(x, angle, translate, scale, shear, ctx["fill"])


def _run_resized_crop(x, param, ctx):
    B, C, H, W = x.shape
    return apply_resized_crop(x, _boxes(B, H, W, (param, 1.0), (3 / 4, 4 / 3), ctx))


def _run_erase(x, param, ctx):
    B, C, H, W = x.shape
    boxes = _boxes(B, H, W, (0.02, 0.33), (0.3, 3.3), ctx)
    skip = torch.rand(B, device=x.device, generator=ctx["gen"]) >= param
    boxes[skip.to(boxes.device), 2] = 0  # height 0: this image is not erased
    return apply_erase(x, boxes)


AUGMENTS: dict[str, _Aug] = {
    "shift": _Aug(2, MAX_SHIFT, _run_shift),
    "crop": _Aug(4, MAX_SHIFT, _run_shift),
    "hflip": _Aug(None, 0, _run_flip(-1)),
    "vflip": _Aug(None, 0, _run_flip(-2)),
    "noise": _Aug(0.05, 10.0, _run_noise),
    "rotate": _Aug(10, 360, _run_rotate),
    "brightness": _Aug(0.4, 1.0, _factor_run(apply_brightness), pixel_space=True),
    "contrast": _Aug(0.4, 1.0, _factor_run(apply_contrast), pixel_space=True),
    "saturation": _Aug(0.4, 1.0, _factor_run(apply_saturation), pixel_space=True),
    "jitter": _Aug(0.4, 1.0, _run_jitter, pixel_space=True),
    "hue": _Aug(0.1, 0.5, _run_hue, pixel_space=True),
    "affine": _Aug(10, 45, _run_affine),
    "resized-crop": _Aug(0.35, 1.0, _run_resized_crop),
    "erase": _Aug(0.5, 1.0, _run_erase),
}



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
        aug = AUGMENTS[name]
        if aug.default is None:
            if param:
                raise UsageError(f"augmentation {name} takes no parameter, got {text!r}")
            specs.append((name, None))
            continue
        try:
            value = float(param) if param else float(aug.default)
        except ValueError:
            raise UsageError(f"augmentation {text!r}: parameter must be a number") from None
        if not (math.isfinite(value) and 0 <= value <= aug.upper):
            raise UsageError(f"augmentation {text!r}: parameter must be between 0 and {aug.upper:g}")
        if name == "resized-crop" and value == 0:
            raise UsageError(f"augmentation {text!r}: the smallest area share must be > 0")
        specs.append((name, value))
    return specs


def augment_batch(x: torch.Tensor, specs: list[tuple[str, float | None]], mean: torch.Tensor,
                  std: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Apply the parsed augmentations, in order, to a normalised batch.

    x: (B, C, H, W) normalised; mean, std: (C,) of the normalisation; ``gen`` on x's
    device draws all randomness (so a resumed run draws the same).
    """
    B, C, H, W = x.shape
    m = mean.view(1, C, 1, 1).to(x.dtype)
    s = std.view(1, C, 1, 1).to(x.dtype)
    ctx = {"fill": -m / s, "mean": mean, "std": std, "gen": gen, "device": x.device}
    for name, param in specs:
        aug = AUGMENTS[name]
        if aug.pixel_space:
            x = (aug.run(x * s + m, param, ctx) - m) / s
        else:
            x = aug.run(x, param, ctx)
    return x
