"""Stored images on the training device, turned into normalised float batches when indexed.

The trainer keeps each split as stored (uint8 images stay uint8, 1 byte a value instead of
4) and does the float conversion, resize and normalisation per batch, vectorised on the
device: CIFAR-10 read at 224×224 holds 184 MB of uint8 where whole float32 splits
would take 36 GB (docs/limits.md, "Memory"). The values are those of normalising the
whole float32 set at once, to float rounding (tests/test_data_stored.py).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cnnlab.data.stored import StoredImages
from cnnlab.errors import UsageError

__all__ = ["DeviceImages", "prepare_batch", "check_batch_memory", "MAX_BATCH_VALUES"]

MAX_BATCH_VALUES = 2**28  # float32 values of one prepared batch (1 GiB), checked before training


def prepare_batch(raw: torch.Tensor, offset: torch.Tensor | None, divisor: torch.Tensor, clip: bool,
                  size: tuple[int, int] | None, mean: torch.Tensor, std: torch.Tensor,
                  memory_format=torch.contiguous_format) -> torch.Tensor:
    """raw: (B, C, H, W) stored values -> (B, C, h, w) float32, normalised.

    ``(raw - offset) / divisor`` (clipped to [0, 1] when ``clip``), resized to ``size``
    (bilinear, antialiased: PIL's resize to 3e-6), then ``(x - mean) / std``.
    offset (None for 0), divisor, mean, std: (1, C, 1, 1) float32 on raw's device.
    """
    B, C, H, W = raw.shape
    x = raw.to(torch.float32)
    if offset is not None:
        x = x.sub_(offset)
    x = x.div_(divisor)
    if clip:
        x = x.clamp_(0.0, 1.0)
    if size is not None:
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        x = x.clamp_(0.0, 1.0)  # (B, C, h, w)
    out = torch.empty(x.shape, device=x.device, memory_format=memory_format)
    torch.sub(x, mean, out=out)
    return out.div_(std)


def _as_tensor(raw: np.ndarray, device: torch.device) -> torch.Tensor:
    """The stored values as a tensor: shares the array's memory on the CPU."""
    if raw.dtype in (np.uint16, np.uint32):  # torch has little uint16/32 arithmetic: widened
        raw = raw.astype(np.int32 if raw.dtype == np.uint16 else np.int64)
    return torch.as_tensor(np.ascontiguousarray(raw), device=device)


class DeviceImages:
    """A split held as stored on ``device``; ``images[idx]`` is the normalised float batch.

    Behaves as the (N, C, h, w) normalised float32 tensor it stands for, for what the
    trainer does with one: ``shape``, ``device``, ``len``, and indexing by an index tensor,
    array or slice.
    """

    def __init__(self, stored: StoredImages, mean: np.ndarray, std: np.ndarray,
                 device: torch.device, memory_format=torch.contiguous_format):
        N, C, H, W = stored.raw.shape
        offset, divisor = stored.band_arrays()
        self.raw = _as_tensor(stored.raw, device)  # (N, C, H, W) stored dtype
        self.offset = torch.as_tensor(offset, device=device).view(1, C, 1, 1) if offset.any() else None
        self.divisor = torch.as_tensor(divisor, device=device).view(1, C, 1, 1)
        self.mean = torch.as_tensor(np.asarray(mean, np.float32), device=device).view(1, C, 1, 1)
        self.std = torch.as_tensor(np.asarray(std, np.float32), device=device).view(1, C, 1, 1)
        self.clip, self.size, self.memory_format = stored.clip, stored.size, memory_format
        self.shape = torch.Size(stored.shape)
        self.device = self.raw.device

    def __len__(self) -> int:
        return int(self.shape[0])

    def __getitem__(self, index) -> torch.Tensor:
        return prepare_batch(self.raw[index], self.offset, self.divisor, self.clip, self.size,
                             self.mean, self.std, self.memory_format)

    def subset(self, index) -> "DeviceImages":
        """The images ``index``, still stored (for scoring a sample without preparing it whole)."""
        part = object.__new__(DeviceImages)
        part.__dict__.update(self.__dict__)
        part.raw = self.raw[index]
        part.shape = torch.Size((len(part.raw), *self.shape[1:]))
        return part


def check_batch_memory(batch_size: int, shape: tuple[int, ...]) -> None:
    """Refuse a batch whose float32 values would be over MAX_BATCH_VALUES (before training)."""
    C, h, w = shape[-3:]
    values = batch_size * C * h * w
    if values > MAX_BATCH_VALUES:
        raise UsageError(f"a batch of {batch_size} images of {C}x{h}x{w} takes {values * 4 / 2**30:.1f} GiB "
                         f"as float32, over the limit of {MAX_BATCH_VALUES * 4 / 2**30:.0f} GiB; "
                         "lower --batch-size or --resize")
