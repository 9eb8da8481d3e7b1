"""Gaussian and Laplacian pyramids: an image at several scales (docs/kernels.md, "Pyramids").

The Gaussian pyramid smooths with a Gaussian and halves the size, level after level; the
Laplacian pyramid keeps, at each size, what the smoothing removed (the band of detail
between two scales). The conventions are scikit-image's ``pyramid_gaussian`` /
``pyramid_laplacian`` with their defaults, so the levels equal theirs (tests compare to
1e-12): ``sigma = 2·downscale/6`` (0.667 for halving: the kernel covers > 99% of the
Gaussian within the downscale), truncated at 4·sigma, edges mirrored half-sample
(``d c b a | a b c d``); each size is ``ceil(previous / downscale)``; the resize is
bilinear on pixel centres, ``x_in = (x_out + 0.5)·n_in/n_out − 0.5``.
Numpy only (no scipy, no torch).

>>> levels = gaussian_pyramid(np.ones((8, 8)), 3)
>>> [level.shape for level in levels], float(levels[-1].min())
([(8, 8), (4, 4), (2, 2)], 1.0)
"""

from __future__ import annotations

import math

import numpy as np

from cnnlab.errors import UsageError

__all__ = ["pyramid", "gaussian_pyramid", "laplacian_pyramid", "pyramid_sigma", "gaussian_taps", "smooth",
           "downsample", "MAX_LEVELS", "TRUNCATE"]

MAX_LEVELS = 16  # 2^16 = 65,536 > 4096: no image has more halvings
TRUNCATE = 4.0  # Gaussian taps out to 4 sigma (scipy's and scikit-image's default)


def pyramid_sigma(downscale: float = 2.0) -> float:
    """The smoothing of one level: ``2·downscale/6`` (scikit-image's default).

    >>> round(pyramid_sigma(2), 4)
    0.6667
    """
    return 2 * downscale / 6.0


def gaussian_taps(sigma: float) -> np.ndarray:
    """The normalised 1-D Gaussian, radius ``int(4·sigma + 0.5)``: (2r + 1,) float64.

    >>> gaussian_taps(2 / 3).round(4).tolist()
    [0.0, 0.0066, 0.1942, 0.5982, 0.1942, 0.0066, 0.0]
    """
    radius = int(TRUNCATE * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    taps = np.exp(-0.5 * (x / sigma) ** 2)
    return taps / taps.sum()


def smooth(image: np.ndarray, sigma: float) -> np.ndarray:
    """image: (H, W) -> (H, W), Gaussian-smoothed along both axes, edges mirrored half-sample."""
    H, W = image.shape
    taps = gaussian_taps(sigma)
    r = len(taps) // 2
    out = image
    for axis in (0, 1):
        n = out.shape[axis]
        pad = [(0, 0), (0, 0)]
        pad[axis] = (r, r)
        padded = np.pad(out, pad, mode="symmetric") if r <= n else _pad_long(out, axis, r)
        acc = np.zeros_like(out, dtype=np.float64)
        for t, weight in enumerate(taps):
            acc += weight * np.take(padded, np.arange(t, t + n), axis=axis)
        out = acc
    return out


def _pad_long(x: np.ndarray, axis: int, r: int) -> np.ndarray:
    """Half-sample mirror padding wider than the axis (the pattern repeats, period 2n)."""
    n = x.shape[axis]
    index = np.arange(-r, n + r) % (2 * n)
    index = np.where(index < n, index, 2 * n - 1 - index)
    return np.take(x, index, axis=axis)


def _bilinear_axis(x: np.ndarray, n_out: int, axis: int) -> np.ndarray:
    n_in = x.shape[axis]
    pos = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5  # pixel centres
    pos = np.clip(pos, 0, n_in - 1)  # downscaling never leaves the image; kept for safety
    low = np.floor(pos).astype(int)
    high = np.minimum(low + 1, n_in - 1)
    frac = pos - low
    shape = [1, 1]
    shape[axis] = n_out
    frac = frac.reshape(shape)
    return np.take(x, low, axis=axis) * (1 - frac) + np.take(x, high, axis=axis) * frac


def downsample(image: np.ndarray, downscale: float = 2.0) -> np.ndarray:
    """image: (H, W) -> (ceil(H/downscale), ceil(W/downscale)), bilinear on pixel centres."""
    H, W = image.shape
    h, w = math.ceil(H / downscale), math.ceil(W / downscale)
    return _bilinear_axis(_bilinear_axis(image, h, 0), w, 1)  # (h, w)


def _check(image: np.ndarray, levels: int, downscale: float) -> np.ndarray:
    x = np.asarray(image, dtype=np.float64)
    if x.ndim != 2:
        raise UsageError(f"a pyramid takes one grey image (H, W), got shape {'x'.join(map(str, x.shape))}")
    if not 1 <= levels <= MAX_LEVELS:
        raise UsageError(f"levels must be 1 to {MAX_LEVELS}, got {levels}")
    if not 1 < downscale <= 16:
        raise UsageError(f"downscale must be over 1 and at most 16, got {downscale}")
    return x


def gaussian_pyramid(image: np.ndarray, levels: int, downscale: float = 2.0,
                     sigma: float | None = None) -> list[np.ndarray]:
    """``levels`` images: the input, then each smoothed and downsampled from the one before.

    image: (H, W). Level k is (ceil(H/2^k), ceil(W/2^k)) for halving; it stops early when
    the size no longer changes (1×1), as scikit-image's generator does.
    """
    x = _check(image, levels, downscale)
    sigma = pyramid_sigma(downscale) if sigma is None else sigma
    out = [x]
    while len(out) < levels:
        smaller = downsample(smooth(out[-1], sigma), downscale)
        if smaller.shape == out[-1].shape:
            break
        out.append(smaller)
    return out


def laplacian_pyramid(image: np.ndarray, levels: int, downscale: float = 2.0,
                      sigma: float | None = None) -> list[np.ndarray]:
    """``levels`` detail images: at each size, the image minus its smoothed self.

    image: (H, W). Level 0 is ``image − smooth(image)`` (H, W); level k+1 is
    ``g − smooth(g)`` with ``g = downsample(smooth(previous g))`` — scikit-image's
    ``pyramid_laplacian``. Summed with the last Gaussian level, the bands hold what each
    scale adds.
    """
    x = _check(image, levels, downscale)
    sigma = pyramid_sigma(downscale) if sigma is None else sigma
    smoothed = smooth(x, sigma)
    out = [x - smoothed]
    while len(out) < levels:
        resized = downsample(smoothed, downscale)
        smoothed = smooth(resized, sigma)
        out.append(resized - smoothed)
    return out


PYRAMIDS = {"gaussian": gaussian_pyramid, "laplacian": laplacian_pyramid}


def pyramid(x: np.ndarray, levels: int, kind: str = "gaussian", level: int | None = None):
    """``pyramid(X, levels)`` of the problem language, largest level first.

    x: (H, W) numbers (exact fractions become floats: the Gaussian is irrational). Returns
    ``{"sizes": [[H, W], ...], "level0": (H, W), "level1": ...}``, or with ``level=k``
    (counted from 0) that level alone.

    >>> pyramid(np.full((2, 2), 3.0), 2, level=1).tolist()
    [[3.0]]
    >>> pyramid(np.full((2, 2), 3.0), 2)["sizes"]
    [[2, 2], [1, 1]]
    """
    values = np.asarray(x)
    if values.dtype == object:
        values = np.vectorize(float, otypes=[np.float64])(values)
    found = PYRAMIDS[kind](values, levels)
    if level is not None:
        if not 0 <= level < len(found):
            raise UsageError(f"level {level} does not exist: this pyramid has levels 0 to {len(found) - 1}")
        return found[level]
    return {"sizes": [list(item.shape) for item in found], **{f"level{k}": item for k, item in enumerate(found)}}


def plot_pyramid(gaussian: list[np.ndarray], laplacian: list[np.ndarray], path, title: str = ""):
    """Both pyramids as a PNG: Gaussian levels on top (grey, the input's range), Laplacian
    bands below (blue–red, 0 white, each band on its own symmetric scale). Returns the path."""
    from pathlib import Path

    from cnnlab.report.figures import new_figure  # Agg canvas: a notebook's backend is left alone

    path = Path(path)
    n = max(len(gaussian), len(laplacian))
    fig = new_figure(2.6 * n, 6.0)
    axes = fig.subplots(2, n, squeeze=False)
    low, high = float(gaussian[0].min()), float(gaussian[0].max())
    for k in range(n):
        for row, (levels, name) in enumerate(((gaussian, "Gaussian"), (laplacian, "Laplacian"))):
            ax = axes[row][k]
            ax.set_xticks([]), ax.set_yticks([])
            if k >= len(levels):
                ax.axis("off")
                continue
            x = levels[k]
            if row == 0:
                ax.imshow(x, cmap="gray", vmin=low, vmax=high if high > low else low + 1)
            else:
                bound = float(np.abs(x).max()) or 1.0
                ax.imshow(x, cmap="RdBu_r", vmin=-bound, vmax=bound)
            ax.set_title(f"{name} {k}: {x.shape[0]}×{x.shape[1]}", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
