"""The pictures of ``cnnlab explain`` that :mod:`cnnlab.report.figures` does not already draw.

Feature-map grids, titled tiles (filters, activation-maximisation images), Grad-CAM
overlays and shift-robustness curves; coefficient images use
``figures.coefficient_images``. matplotlib is imported only when a picture is drawn
(through the report module's Agg-canvas helpers).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from cnnlab.report.figures import new_figure, save_figure

__all__ = ["map_grid", "mosaic", "tiles", "tile_array", "cam_overlays", "shift_curves", "as_display"]

MAX_MAPS = 64  # channels drawn per layer (a ResNet stage has 512; the page says how many)


def as_display(img: np.ndarray) -> np.ndarray:
    """An image (C, H, W) in [0, 1] as matplotlib shows it: (H, W, 3) for 3 channels, else (H, W)."""
    C, H, W = img.shape
    return np.clip(img.transpose(1, 2, 0), 0, 1) if C == 3 else img.mean(axis=0)


def mosaic(maps: np.ndarray, ncols: int, gap: int = 1) -> np.ndarray:
    """Maps (K, h, w) tiled row by row into one array, NaN between and after the tiles.

    >>> mosaic(np.ones((3, 1, 1)), ncols=2).tolist()
    [[1.0, nan, 1.0], [nan, nan, nan], [1.0, nan, nan]]
    """
    K, h, w = maps.shape
    nrows = -(-K // ncols)
    out = np.full((nrows * (h + gap) - gap, ncols * (w + gap) - gap), np.nan)
    for k in range(K):
        r, c = divmod(k, ncols)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = maps[k]
    return out


def tile_array(images: np.ndarray, ncols: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Images (N, C, H, W) in [0, 1] tiled row by row, white between them and a strip above
    each row for titles: (rows·(H + gap_y), cols·(W + gap_x) − gap_x, 1 or 3), and the gaps.

    Image k sits at rows r·(H + gap_y) + gap_y.., columns c·(W + gap_x).. with
    (r, c) = divmod(k, ncols), shown as :func:`as_display` shows it.
    """
    N, C, H, W = images.shape
    nrows = -(-N // ncols)
    gap_x, gap_y = max(1, round(W / 8)), max(2, round(H * 0.3))  # room for the titles
    shown = np.stack([as_display(img) for img in images])  # (N, H, W) or (N, H, W, 3)
    if shown.ndim == 3:
        shown = shown[..., None]
    out = np.ones((nrows * (H + gap_y), ncols * (W + gap_x) - gap_x, shown.shape[-1]))
    for k in range(N):
        r, c = divmod(k, ncols)
        top, left = r * (H + gap_y) + gap_y, c * (W + gap_x)
        out[top:top + H, left:left + W] = shown[k]
    return out, (gap_x, gap_y)


def tiles(images: np.ndarray, path: str | Path, *, titles: Sequence[str] | None = None,
          ncols: int = 8) -> Path:
    """Images side by side with a title above each, drawn as one mosaic image.

    images: (N, C, H, W) in [0, 1], shown grey (the channel mean) or RGB (3 channels) on
    a fixed 0-1 scale, as ``figures.image_grid`` shows them; one matplotlib image instead
    of one axes per image drew the 26 maximisation images 4-5x faster (docs/cli.md,
    "cnnlab explain").
    """
    images = np.asarray(images, dtype=float)
    N, C, H, W = images.shape
    ncols = max(1, min(ncols, N))
    nrows = -(-N // ncols)
    out, (gap_x, gap_y) = tile_array(images, ncols)
    depth = out.shape[-1]
    fig = new_figure(1.3 * ncols, 1.5 * nrows)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    if depth == 1:
        ax.imshow(out[..., 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.imshow(np.clip(out, 0, 1), interpolation="nearest")
    for k, title in enumerate(titles or ()):
        r, c = divmod(k, ncols)
        ax.text(c * (W + gap_x) + W / 2 - 0.5, r * (H + gap_y) + gap_y - 1, title, fontsize=7,
                ha="center", va="bottom")
    return save_figure(fig, path)


def map_grid(maps: np.ndarray, path: str | Path, *, title: str = "", ncols: int = 8) -> Path:
    """Channels of one layer's output side by side, one shared colour scale.

    maps: (K, h, w). A shared scale keeps weak and dead channels dark, so the grid shows
    which channels answer to the image and not only where. At most MAX_MAPS are drawn,
    as one mosaic image (one matplotlib image per channel took ~1.5 s per 64-channel layer).
    """
    from matplotlib import colormaps

    maps = np.asarray(maps, dtype=float)[:MAX_MAPS]
    K, h, w = maps.shape
    ncols = max(1, min(ncols, K))
    nrows = -(-K // ncols)
    gap = max(1, round(max(h, w) / 8))
    fig = new_figure(1.1 * ncols + 1.2, 1.1 * nrows * h / w + 0.6)
    ax = fig.subplots()
    ax.set_axis_off()
    cmap = colormaps["viridis"].with_extremes(bad="white")
    low, high = float(maps.min()), float(maps.max())
    if high <= low:
        high = low + 1.0
    image = ax.imshow(mosaic(maps, ncols, gap), cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
    for k in range(K):
        r, c = divmod(k, ncols)
        ax.text(c * (w + gap) - 0.5, r * (h + gap) - 0.5, str(k), fontsize=6, color="white",
                va="top", ha="left", bbox={"facecolor": "black", "alpha": 0.5, "pad": 0.5, "lw": 0})
    fig.colorbar(image, ax=ax, shrink=0.7, label="activation")
    if title:
        ax.set_title(title, fontsize=10)
    return save_figure(fig, path)


def cam_overlays(images: np.ndarray, cams: np.ndarray, path: str | Path, *,
                 titles: Sequence[str] | None = None, alpha: float = 0.5) -> Path:
    """Inputs (top row) and Grad-CAM heatmaps over them (bottom row).

    images: (N, C, H, W) in [0, 1]; cams: (N, H, W) in [0, 1] (upsampled, normalised).
    """
    N, C, H, W = images.shape
    fig = new_figure(1.6 * N + 0.8, 3.6)
    axes = fig.subplots(2, N, squeeze=False)
    shown = None
    for i in range(N):
        picture = as_display(images[i])
        grey = picture if picture.ndim == 2 else picture.mean(axis=2)
        top, bottom = axes[0, i], axes[1, i]
        top.imshow(picture, cmap="gray" if picture.ndim == 2 else None, vmin=0, vmax=1)
        bottom.imshow(grey, cmap="gray", vmin=0, vmax=1)
        shown = bottom.imshow(cams[i], cmap="jet", alpha=alpha, vmin=0, vmax=1)
        for ax in (top, bottom):
            ax.set_axis_off()
        if titles is not None:
            top.set_title(titles[i], fontsize=7)
    fig.colorbar(shown, ax=list(axes.ravel()), shrink=0.5, label="Grad-CAM / max")
    return save_figure(fig, path)


def shift_curves(result: dict, path: str | Path) -> Path:
    """Accuracy and consistency against the shift in pixels, horizontal and vertical.

    result: as :func:`cnnlab.explain.robustness.shift_robustness` returns it.
    """
    fig = new_figure(10, 3.8)
    ax_acc, ax_con = fig.subplots(1, 2)
    shifts = result["shifts"]
    for axis, style in (("horizontal", "-o"), ("vertical", "--s")):
        ax_acc.plot(shifts, result[axis]["accuracy"], style, markersize=4, label=f"{axis} shift")
        ax_con.plot(shifts, result[axis]["consistency"], style, markersize=4, label=f"{axis} shift")
    for ax, name in ((ax_acc, "accuracy"), (ax_con, "predictions unchanged")):
        ax.set_xlabel("shift (pixels; + is right / down)")
        ax.set_ylabel(name)
        ax.set_ylim(0, 1.02)
        ax.set_xticks(shifts)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower center")
        ax.set_title(name)
    return save_figure(fig, path)
