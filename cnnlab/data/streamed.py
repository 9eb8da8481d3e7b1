"""A folder too large for memory: its files read from disk when a batch needs them.

:class:`FileArray` stands where a stored ``(N, C, H, W)`` array would be (the ``raw`` of a
:class:`~cnnlab.data.stored.StoredImages`): it knows every file's probe and decodes the
files an index names, in their stored dtype. The trainer reads it with ``torch.utils.data``
worker processes (:mod:`cnnlab.train.batches`); statistics and band ranges are taken in
one streaming pass over the training files. No torch here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnlab.data.images import CorruptFile, Probe, read_raw
from cnnlab.errors import UsageError

__all__ = ["FileArray", "band_range_of", "STREAM_CHUNK"]

STREAM_CHUNK = 256  # files decoded at a time in a streaming pass (statistics, band range)


@dataclass(frozen=True)
class FileArray:
    """Files standing for an (N, C, H, W) array of ``dtype``; ``files[idx]`` decodes them.

    probes: one :class:`Probe` per image (headers checked when the folder was listed); a
    file whose data turns out unreadable raises UsageError naming it.
    """

    probes: tuple[Probe, ...]
    channels: int
    size: tuple[int, int]  # (H, W) of every file
    dtype: np.dtype

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self.probes), self.channels, *self.size)

    @property
    def ndim(self) -> int:
        return 4

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize

    def __len__(self) -> int:
        return len(self.probes)

    def read_one(self, i: int) -> np.ndarray:
        """File ``i`` as (C, H, W) of ``dtype``."""
        found = self.probes[int(i)]
        try:
            x = read_raw(found, self.channels, self.dtype)
        except CorruptFile as exc:  # a streamed folder cannot drop a file once split
            raise UsageError(f"corrupt file {found.path}: {exc} (a folder read from disk per batch "
                             "cannot skip it: remove or fix the file)") from None
        if x.shape != (self.channels, *self.size):
            raise UsageError(f"{found.path} changed since it was listed: now {'x'.join(map(str, x.shape))}")
        return x

    def subset(self, index) -> "FileArray":
        """The files ``index`` (an index array or slice), still on disk."""
        picked = np.arange(len(self.probes))[index]
        return FileArray(tuple(self.probes[int(i)] for i in np.atleast_1d(picked)), self.channels,
                         self.size, self.dtype)

    def __getitem__(self, index) -> np.ndarray:
        """Decode the files ``index`` now: (n, C, H, W) (or (C, H, W) for one index)."""
        if np.ndim(index) == 0 and not isinstance(index, slice):
            return self.read_one(index)
        picked = np.arange(len(self.probes))[index]
        out = np.empty((len(picked), self.channels, *self.size), self.dtype)
        for k, i in enumerate(picked):
            out[k] = self.read_one(i)
        return out


def band_range_of(raw) -> tuple[np.ndarray, np.ndarray]:
    """Per-band min and max of an (N, C, H, W) array or FileArray, as float32 (C,) arrays,
    reading STREAM_CHUNK images at a time."""
    N, C, H, W = raw.shape
    low = np.full(C, np.inf)
    high = np.full(C, -np.inf)
    for start in range(0, N, STREAM_CHUNK):
        block = raw[start:start + STREAM_CHUNK]
        low = np.minimum(low, block.min(axis=(0, 2, 3)))
        high = np.maximum(high, block.max(axis=(0, 2, 3)))
    return low.astype(np.float32), high.astype(np.float32)
