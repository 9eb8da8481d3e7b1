"""Filter real photos with a kernel (or a kernel pair for gradients) and picture the result.

Photos are filtered with ``scipy.ndimage.correlate`` (fast on megapixel images); the
padding modes map onto scipy's, and the result equals ``cnnlab.ops.conv2d`` with
``padding="same"`` (extra row/column at the bottom/right for even kernels, docs/conventions.md) —
tests check this on crops. Images are float in [0, 1] (``skimage.util.img_as_float``),
(H, W) or (H, W, C) as read; colour images are filtered channel by channel unless
converted to grey.

>>> img = np.arange(16.0).reshape(4, 4)
>>> filter_image(img, np.ones((1, 2)), "replicate")[:, -1].tolist()
[6.0, 14.0, 22.0, 30.0]
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnnlab.errors import UsageError, check_shape

__all__ = ["SAMPLES", "SCIPY_MODES", "MAX_FILE_BYTES", "MAX_FILTER_WORK", "load_image", "filter_image",
           "ApplyResult", "apply_kernels", "Panel", "panel_values", "panel_title",
           "apply_panels", "plot_apply"]

# scikit-image samples that ship inside the package (no download)
SAMPLES = ("astronaut", "brick", "camera", "cell", "checkerboard", "chelsea", "coffee", "coins",
           "grass", "gravel", "horse", "hubble_deep_field", "immunohistochemistry", "logo",
           "microaneurysms", "moon", "page", "retina", "rocket", "text")

# cnnlab padding mode (docs/conventions.md) -> scipy.ndimage mode. numpy's 'reflect' (no edge
# repeat) is scipy's 'mirror'; numpy's 'symmetric' (edge repeated) is scipy's 'reflect'.
SCIPY_MODES = {"zeros": "constant", "reflect": "mirror", "symmetric": "reflect",
               "replicate": "nearest", "circular": "wrap"}

MAX_FILE_BYTES = 256 * 2**20  # refuse larger image files before reading them
MAX_FILTER_WORK = 2e10  # multiplies per filtering (~20 s in scipy on one core)


def _as_float_image(arr: np.ndarray, what: str) -> np.ndarray:
    from skimage.util import img_as_float

    if arr.ndim == 3 and arr.shape[-1] == 4:  # RGBA: drop alpha
        arr = arr[..., :3]
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3):
        raise UsageError(f"{what}: expected a grey or colour image, got an array of shape {arr.shape}")
    if arr.dtype == bool:
        return arr.astype(np.float64)
    return img_as_float(arr).astype(np.float64)


def load_image(source: str, gray: bool = False) -> tuple[np.ndarray, str]:
    """Read a PNG/JPEG (any format Pillow reads) or a scikit-image sample by name.

    Returns ``(image, label)``: image (H, W) or (H, W, C) float64 in [0, 1]. An existing
    file wins over a sample of the same name. The size is checked against the limits of
    docs/conventions.md from the header, before the pixels are decoded.
    """
    path = Path(source)
    if path.is_file():
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UsageError(f"{source}: file of {size} bytes is over the limit of {MAX_FILE_BYTES} bytes")
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as im:
                w, h = im.size
                bands = len(im.getbands())
                check_shape((bands, h, w), f"image {source}")
                if im.mode not in ("L", "RGB", "RGBA", "I;16", "I", "F", "1", "LA"):
                    im = im.convert("RGB")
                elif im.mode == "LA":
                    im = im.convert("L")
                arr = np.asarray(im)
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
            raise UsageError(f"{source}: cannot read it as an image ({exc})") from None
        if arr.dtype.kind in "iu" and arr.dtype.itemsize > 1 and arr.max(initial=0) > 0:
            arr = arr.astype(np.float64) / (65535.0 if arr.max() > 255 else 255.0)
        image = _as_float_image(arr, source)
        label = path.name
    elif source in SAMPLES:
        import skimage.data

        image = _as_float_image(np.asarray(getattr(skimage.data, source)()), source)
        label = f"skimage.data.{source}()"
    else:
        where = "is not a file" if not os.path.exists(source) else "is not a regular file"
        raise UsageError(f"{source} {where} and not a built-in sample; samples: {', '.join(SAMPLES)}")
    if gray and image.ndim == 3:
        from skimage.color import rgb2gray

        image = rgb2gray(image)
    return image, label


def filter_image(image: np.ndarray, k: np.ndarray, padding_mode: str = "reflect") -> np.ndarray:
    """Cross-correlate each channel with a 2-D kernel, output the size of the input.

    image: (H, W) or (H, W, C); k: (kh, kw). Equals ``cnnlab.ops.conv2d(channel, k,
    padding="same", padding_mode=mode)`` per channel (even kernels: extra padding at the
    bottom/right). Separable kernels larger than 5×5 run as two 1-D passes (equal up to
    rounding); more than ``MAX_FILTER_WORK`` multiplies is refused.
    """
    from scipy import ndimage

    if padding_mode not in SCIPY_MODES:
        raise UsageError(f"unknown padding mode {padding_mode!r}; choose from {', '.join(SCIPY_MODES)}")
    k = np.asarray(k, dtype=np.float64)
    kh, kw = k.shape
    H, W = image.shape[:2]
    if kh > H or kw > W:
        raise UsageError(f"kernel {kh}x{kw} is larger than the image {H}x{W}")
    # scipy centres the kernel at k//2 + origin; "same" padding with the extra row at the
    # bottom puts it at (k-1)//2, so even sides need origin -1
    origin = ((kh - 1) // 2 - kh // 2, (kw - 1) // 2 - kw // 2)
    mode = SCIPY_MODES[padding_mode]
    channels = image.shape[2] if image.ndim == 3 else 1
    factors = None
    if kh * kw > 25:  # big kernels: two 1-D passes when separable (see cost.py for the saving)
        from cnnlab.kernels.separable import separable

        sep = separable(k)
        if sep["separable"]:
            factors = (np.asarray(sep["column"], float), np.asarray(sep["row"], float))
    work = H * W * channels * ((kh + kw) if factors else kh * kw)
    if work > MAX_FILTER_WORK:
        raise UsageError(f"filtering a {H}x{W}x{channels} image with a non-separable {kh}x{kw} kernel "
                         f"takes {work:.2g} multiplies, over the limit of {MAX_FILTER_WORK:.0g}; "
                         "use a smaller image or kernel")

    def one(channel: np.ndarray) -> np.ndarray:
        if factors:
            tmp = ndimage.correlate1d(channel, factors[0], axis=0, mode=mode, cval=0.0, origin=origin[0])
            return ndimage.correlate1d(tmp, factors[1], axis=1, mode=mode, cval=0.0, origin=origin[1])
        return ndimage.correlate(channel, k, mode=mode, cval=0.0, origin=origin)

    if image.ndim == 2:
        return one(image)
    return np.stack([one(image[..., c]) for c in range(image.shape[-1])], axis=-1)


@dataclass
class ApplyResult:
    """Outputs of :func:`apply_kernels`; arrays are (H, W) or (H, W, C)."""

    image: np.ndarray
    label: str
    kernel_names: list[str]
    outputs: list[np.ndarray]
    magnitude: np.ndarray | None = None
    orientation: np.ndarray | None = None  # degrees in (−180, 180], atan2(g2, g1)
    stats: dict[str, dict[str, float]] = field(default_factory=dict)


def _stats(a: np.ndarray) -> dict[str, float]:
    return {"min": float(a.min()), "max": float(a.max()), "mean": float(a.mean()),
            "std": float(a.std()), "mean_abs": float(np.abs(a).mean())}


def apply_kernels(image: np.ndarray, kernels: list[np.ndarray], names: list[str],
                  padding_mode: str = "reflect", label: str = "image") -> ApplyResult:
    """Filter ``image`` with one kernel, or two (then gradient magnitude and orientation).

    image: (H, W) or (H, W, C) in [0, 1]; kernels: one or two (kh, kw) arrays. With two
    kernels g1, g2: magnitude = √(g1² + g2²) and orientation = atan2(g2, g1) in degrees
    (for sobel_x, sobel_y: 0° = brighter to the right, 90° = brighter below).
    """
    if not 1 <= len(kernels) <= 2:
        raise UsageError("give one kernel, or two for gradient magnitude and orientation")
    outputs = [filter_image(image, k, padding_mode) for k in kernels]
    result = ApplyResult(image=image, label=label, kernel_names=list(names), outputs=outputs)
    result.stats["input"] = _stats(image)
    for name, out in zip(names, outputs):
        result.stats[name] = _stats(out)
    if len(outputs) == 2:
        g1, g2 = outputs
        result.magnitude = np.hypot(g1, g2)
        result.orientation = np.degrees(np.arctan2(g2, g1))
        result.stats["magnitude"] = _stats(result.magnitude)
    return result


@dataclass
class Panel:
    """One picture panel: the values drawn, their colour range, and the title saying how.

    values: (H, W) or (H, W, 3) exactly as handed to ``imshow``; vmin/vmax: the colour range.
    """

    title: str
    values: np.ndarray
    vmin: float
    vmax: float
    cmap: str | None
    kind: str


def _signed_limit(a: np.ndarray) -> float:
    return float(np.percentile(np.abs(a), 99.5)) or 1.0


def panel_values(a: np.ndarray, kind: str) -> tuple[np.ndarray, float, float]:
    """The values drawn for ``a`` and their colour range (vmin, vmax), for one panel kind.

    - ``clip``: values clipped to [0, 1], range [0, 1] (0 black, 1 white);
    - ``rescaled``: values as they are, range [min, max] of ``a`` (min black, max white);
    - ``signed``: values clipped to ±L, L the 99.5th percentile of |a|, range [-L, L]
      (blue negative, white 0, red positive);
    - ``angle``: degrees as they are, range [-180, 180].
    """
    if kind == "clip":
        return np.clip(a, 0.0, 1.0), 0.0, 1.0
    if kind == "rescaled":
        lo, hi = float(a.min()), float(a.max())
        return a, lo, (hi if hi > lo else lo + 1.0)
    if kind == "signed":
        lim = _signed_limit(a)
        return np.clip(a, -lim, lim), -lim, lim
    if kind == "angle":
        return a, -180.0, 180.0
    raise ValueError(f"unknown panel kind {kind!r}")


def panel_title(name: str, a: np.ndarray, kind: str) -> str:
    """The panel's title: ``name`` and what :func:`panel_values` does to ``a`` for ``kind``.

    >>> panel_title("box:3", np.array([[-0.5, 0.5], [1.0, 2.0]]), "clip")
    'box:3 (clipped to [0, 1]: 50% of values)'
    >>> panel_title("m", np.array([[0.0, 255.0]]), "rescaled")
    'm (rescaled: [0, 255] shown black to white)'
    """
    if kind == "clip":
        out = float(np.mean((a < 0) | (a > 1)))
        if out == 0:
            return f"{name} (scale [0, 1], nothing clipped)"
        return f"{name} (clipped to [0, 1]: {100 * out:.3g}% of values)"
    if kind == "rescaled":
        lo, hi = float(a.min()), float(a.max())
        if hi == lo:
            return f"{name} (constant {lo:.4g})"
        return f"{name} (rescaled: [{lo:.4g}, {hi:.4g}] shown black to white)"
    if kind == "signed":
        lim = _signed_limit(a)
        return f"{name} (signed: colours span ±{lim:.3g}, beyond saturates)"
    if kind == "angle":
        return f"{name} (deg, -180 to 180), top 25% magnitude"
    raise ValueError(f"unknown panel kind {kind!r}")


def _panel(name: str, a: np.ndarray, kind: str) -> Panel:
    values, vmin, vmax = panel_values(a, kind)
    cmap = {"signed": "RdBu_r", "angle": "hsv"}.get(kind, None if a.ndim == 3 else "gray")
    return Panel(panel_title(name, a, kind), values, vmin, vmax, cmap, kind)


def apply_panels(result: ApplyResult, sums: list[float]) -> list[Panel]:
    """The panels of :func:`plot_apply`: input, one per kernel, magnitude and orientation.

    An image in [0, 1] (a photo) and the outputs of kernels that keep brightness are drawn on
    the fixed [0, 1] scale, clipped; anything else not signed (a matrix's values, the gradient
    magnitude) is rescaled from its own [min, max]. Kernels of sum 0 give signed outputs,
    drawn with a diverging colour map. Colour outputs of signed kernels and the magnitude are
    reduced to one channel (channel mean; channel max) and the title says so.
    """
    unit = bool(result.image.min() >= 0 and result.image.max() <= 1)
    tone = "clip" if unit else "rescaled"
    panels = [_panel(result.label, result.image, tone)]
    for name, out, s in zip(result.kernel_names, result.outputs, sums):
        if abs(s) < 1e-12:
            if out.ndim == 3:
                out, name = out.mean(axis=-1), f"{name}, channel mean"
            panels.append(_panel(f"{name} (sum 0)", out, "signed"))
        elif abs(s - 1) < 1e-9:
            panels.append(_panel(name, out, tone if out.ndim == 2 else "clip"))
        else:
            panels.append(_panel(f"{name} / its sum {s:g}", out / s, tone if out.ndim == 2 else "clip"))
    if result.magnitude is not None:
        mag, name = result.magnitude, "gradient magnitude"
        if mag.ndim == 3:
            mag, name = mag.max(axis=-1), f"{name}, channel max"
        panels.append(_panel(name, mag, "rescaled"))
        ang = result.orientation.mean(axis=-1) if result.orientation.ndim == 3 else result.orientation
        panel = _panel("orientation", ang, "angle")
        panel.values = np.ma.masked_where(mag < np.percentile(mag, 75), ang)
        panels.append(panel)
    return panels


def plot_apply(result: ApplyResult, path: str | Path, sums: list[float]) -> Path:
    """Input and outputs side by side (and magnitude/orientation for a pair) as a PNG.

    ``sums``: the kernels' sums. What each panel shows and its title come from
    :func:`apply_panels` (docs/kernels.md, "What the picture shows").
    """
    from cnnlab.report.figures import new_figure, write_png  # Agg canvas: a notebook's backend is left alone

    path = Path(path)
    if path.parent and not path.parent.exists():
        raise UsageError(f"cannot write {path}: folder {path.parent} does not exist")
    panels = apply_panels(result, sums)
    fig = new_figure(3.4 * len(panels), 3.9)
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, p in zip(axes[0], panels):
        ax.set_title(textwrap.fill(p.title, 44), fontsize=8)
        ax.set_xticks([]), ax.set_yticks([])
        if p.kind == "angle":
            ax.set_facecolor("black")
        if p.values.ndim == 3:  # RGB: drawn as is, already in [0, 1]
            ax.imshow(p.values)
            continue
        im = ax.imshow(p.values, cmap=p.cmap, vmin=p.vmin, vmax=p.vmax)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
    fig.tight_layout()
    write_png(fig, path, dpi=100)
    return path
