"""Images held as stored (uint8 stays uint8) and turned into floats only when read.

A :class:`StoredImages` is N images of one size in their stored type with the recipe that
maps them to float32 in [0, 1]: ``(raw - offset) / divisor`` per band, clipped to [0, 1]
when ``clip``, then resized (bilinear, antialiased) to ``size`` when given. Indexing it
gives those floats, so code written for a float32 (N, C, h, w) array keeps working; the
trainer instead moves ``raw`` to the device and applies the same recipe per batch
(:mod:`cnnlab.train.batches`). CIFAR-10 at 224×224 is then 184 MB of uint8 instead of
36 GB of float32 (docs/limits.md, "Memory").

>>> raw = np.array([[[[0, 255], [51, 102]]]], np.uint8)  # (1, 1, 2, 2)
>>> images = StoredImages(raw, divisor=np.float32(255))
>>> images.shape, images.dtype, images[0].tolist()
((1, 1, 2, 2), dtype('float32'), [[[0.0, 1.0], [0.20000000298023224, 0.4000000059604645]]])
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from cnnlab.data.split import channel_stats, stats_from_sums
from cnnlab.errors import UsageError

__all__ = ["StoredImages", "resize_matrix", "stored_stats", "MAX_FLOAT_VALUES"]

# float32 values one materialised split may take (4 GiB); the trainer never materialises
MAX_FLOAT_VALUES = 2**30


@dataclass(frozen=True)
class StoredImages:
    """raw: (N, C, H, W) in its stored dtype; reads as float32 (N, C, h, w) in [0, 1].

    offset, divisor: scalars or (C,) float32; clip: clip to [0, 1] before resizing;
    size: (h, w) or None for the stored size.
    """

    raw: np.ndarray  # or a cnnlab.data.streamed.FileArray: files read when indexed
    offset: np.ndarray | float = 0.0
    divisor: np.ndarray | float = 1.0
    clip: bool = False
    size: tuple[int, int] | None = None

    # --- the ndarray face: shape, dtype, len, indexing, np.asarray -------------------
    @property
    def shape(self) -> tuple[int, int, int, int]:
        N, C, H, W = self.raw.shape
        h, w = self.size or (H, W)
        return (N, C, h, w)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32)

    @property
    def ndim(self) -> int:
        return 4

    @property
    def nbytes(self) -> int:
        """Bytes held (the stored values), not the float32 size."""
        return int(self.raw.nbytes)

    def __len__(self) -> int:
        return int(self.raw.shape[0])

    def __getitem__(self, index) -> np.ndarray:
        """Float32 images in [0, 1]: ``images[i]`` is (C, h, w), ``images[idx]`` (n, C, h, w)."""
        if isinstance(index, tuple):  # images[idx, c, ...]: read the images, then index within
            first, rest = index[0], index[1:]
            x = self[first]
            return x[rest] if np.ndim(first) == 0 and not isinstance(first, slice) else x[(slice(None), *rest)]
        raw = self.raw[index]
        single = raw.ndim == 3
        x = self.to_float(raw[None] if single else raw)
        return x[0] if single else x

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        x = self.materialise()
        return x if dtype is None else x.astype(dtype, copy=False)

    # --- what the trainer and the loaders use ------------------------------------------
    def take(self, index: np.ndarray) -> "StoredImages":
        """The images ``index`` still stored (a copy of their raw values; files stay on disk)."""
        subset = getattr(self.raw, "subset", None)  # a FileArray (cnnlab.data.streamed)
        return replace(self, raw=subset(index) if subset is not None else self.raw[index])

    def resized(self, size: tuple[int, int] | None) -> "StoredImages":
        """The same images read at ``size`` (h, w); None or the stored size: as stored."""
        H, W = self.raw.shape[2:]
        return replace(self, size=None if size is None or tuple(size) == (H, W) else tuple(size))

    def band_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """offset and divisor as float32 (C,) arrays."""
        C = self.raw.shape[1]
        return (np.broadcast_to(np.asarray(self.offset, np.float32), (C,)).copy(),
                np.broadcast_to(np.asarray(self.divisor, np.float32), (C,)).copy())

    def to_float(self, raw: np.ndarray, *, sized: bool = True) -> np.ndarray:
        """raw: (n, C, H, W) stored values -> (n, C, h, w) float32 in [0, 1] (this recipe).

        ``sized=False`` skips the resize: (n, C, H, W).
        """
        n, C, H, W = raw.shape
        offset, divisor = self.band_arrays()
        x = raw.astype(np.float32)
        if np.any(offset != 0):
            x -= offset.reshape(1, C, 1, 1)
        x /= divisor.reshape(1, C, 1, 1)
        if self.clip:
            np.clip(x, 0.0, 1.0, out=x)
        if sized and self.size is not None:
            from cnnlab.data.images import _resize_bands

            x = np.stack([np.clip(_resize_bands(image, self.size), 0.0, 1.0) for image in x])
        return x

    def materialise(self, chunk: int = 4096) -> np.ndarray:
        """All images as one float32 (N, C, h, w) array; refused over MAX_FLOAT_VALUES."""
        N, C, h, w = self.shape
        if N * C * h * w > MAX_FLOAT_VALUES:
            raise UsageError(f"{N} images of {C}x{h}x{w} would take {N * C * h * w * 4 / 2**30:.1f} GiB "
                             f"as float32, over the limit of {MAX_FLOAT_VALUES * 4 / 2**30:.0f} GiB; "
                             "training reads them per batch, other commands need a smaller --resize")
        out = np.empty((N, C, h, w), np.float32)
        for start in range(0, N, chunk):
            out[start:start + chunk] = self.to_float(self.raw[start:start + chunk])
        return out


def resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix of the bilinear (antialiased) resize along one axis.

    The resize of an image X: (H, W) to (h, w) is ``A @ X @ B.T`` with
    ``A = resize_matrix(H, h)`` and ``B = resize_matrix(W, w)``: it is what PIL's
    bilinear resize and torch's ``interpolate(..., antialias=True)`` compute.

    >>> resize_matrix(2, 4).round(3).tolist()
    [[1.0, 0.0], [0.75, 0.25], [0.25, 0.75], [0.0, 1.0]]
    """
    from cnnlab.data.images import _resize_bands

    eye = np.eye(n_in, dtype=np.float32)[:, :, None]  # (n_in, n_in, 1): each a one-pixel column
    return _resize_bands(eye, (n_out, 1))[:, :, 0].T.astype(np.float64)  # (n_out, n_in)


def stored_stats(images: StoredImages, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Per-band mean and (population) std of the images as read, as float32 (C,) arrays.

    Resizing is linear (y = A X Bᵀ), so the statistics of the resized images come from
    the stored ones without resizing any: sum(y) = (Aᵀ1)ᵀ X (Bᵀ1) and
    sum(y²) = sum((AᵀA X) * (X BᵀB)). CIFAR-10's 45,000 training images at 224×224 take
    about a second this way instead of ~40 s of resizing (0.9 ms an image, PIL or torch).
    Matches :func:`cnnlab.data.split.channel_stats` of the materialised images to float
    rounding (tests/test_data_stored.py). The resize's weights are not negative, so the
    clip to [0, 1] after it changes nothing and the formula holds for clipped bands too.
    """
    N, C, H, W = images.raw.shape
    if images.size is None:
        return channel_stats(images, chunk)  # indexing gives float32 chunks in [0, 1]
    h, w = images.size
    A, B = resize_matrix(H, h), resize_matrix(W, w)  # (h, H), (w, W)
    a, b = A.sum(axis=0), B.sum(axis=0)  # (H,), (W,)
    GA, GB = A.T @ A, B.T @ B  # (H, H), (W, W)
    total, total_sq = np.zeros(C), np.zeros(C)
    for start in range(0, N, chunk):
        x = images.to_float(images.raw[start:start + chunk], sized=False).astype(np.float64)  # (n, C, H, W)
        total += np.einsum("nchw,h,w->c", x, a, b)
        left = np.einsum("ij,ncjw->nciw", GA, x)  # (n, C, H, W)
        right = x @ GB  # (n, C, H, W)
        total_sq += np.einsum("nchw,nchw->c", left, right)
    return stats_from_sums(total, total_sq, N * h * w)

