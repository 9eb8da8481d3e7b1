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

__all__ = ["DeviceImages", "StreamedImages", "prepare_batch", "check_batch_memory", "MAX_BATCH_VALUES",
           "STREAM_PREFETCH"]

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
    if not raw.flags.writeable:  # e.g. an IDX file's bytes: torch wants memory it may write
        raw = raw.copy()
    return torch.as_tensor(np.ascontiguousarray(raw), device=device)


class DeviceImages:
    """A split held as stored on ``device``; ``images[idx]`` is the normalised float batch.

    Behaves as the (N, C, h, w) normalised float32 tensor it stands for, for what the
    trainer does with one: ``shape``, ``device``, ``len``, and indexing by an index tensor,
    array or slice.
    """

    def __init__(self, stored: StoredImages, mean: np.ndarray, std: np.ndarray,
                 device: torch.device, memory_format=torch.contiguous_format):
        self._recipe(stored, mean, std, device, memory_format)
        self.raw = _as_tensor(stored.raw, device)  # (N, C, H, W) stored dtype
        self.device = self.raw.device

    def _recipe(self, stored: StoredImages, mean, std, device, memory_format) -> None:
        N, C, H, W = stored.raw.shape
        offset, divisor = stored.band_arrays()
        self.offset = torch.as_tensor(offset, device=device).view(1, C, 1, 1) if offset.any() else None
        self.divisor = torch.as_tensor(divisor, device=device).view(1, C, 1, 1)
        self.mean = torch.as_tensor(np.asarray(mean, np.float32), device=device).view(1, C, 1, 1)
        self.std = torch.as_tensor(np.asarray(std, np.float32), device=device).view(1, C, 1, 1)
        self.clip, self.size, self.memory_format = stored.clip, stored.size, memory_format
        self.shape = torch.Size(stored.shape)
        self.device = torch.device(device)

    def __len__(self) -> int:
        return int(self.shape[0])

    def __getitem__(self, index) -> torch.Tensor:
        return prepare_batch(self.raw[index], self.offset, self.divisor, self.clip, self.size,
                             self.mean, self.std, self.memory_format)

    def subset(self, index) -> "DeviceImages":
        """The images ``index``, still stored (for scoring a sample without preparing it whole)."""
        part = object.__new__(type(self))
        part.__dict__.update(self.__dict__)
        part.raw = self.raw[index]
        part.shape = torch.Size((len(part.raw), *self.shape[1:]))
        return part


STREAM_WORKERS = 2  # decoding processes for a folder read from disk (most laptops have 2+ cores)


class _Files(torch.utils.data.Dataset):
    """One file of a FileArray per item, as a (C, H, W) tensor of its stored values."""

    def __init__(self, files):
        self.files = files

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor:
        return _as_tensor(self.files.read_one(i), torch.device("cpu"))


class _Plan(torch.utils.data.Sampler):
    """The batches (lists of file indices) of the loader's next pass, in order."""

    def __init__(self):
        self.batches: list[list[int]] = []

    def __iter__(self):
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


STREAM_PREFETCH = 2  # batches each worker reads ahead of the one being trained on


class StreamedImages(DeviceImages):
    """A split whose files stay on disk (a folder larger than memory): ``images[idx]``
    decodes those files in ``torch.utils.data`` worker processes, then prepares the batch
    on the device as :class:`DeviceImages` does.

    :meth:`plan` announces the batches the next indexings will ask for (the trainer does
    at the start of each epoch, the scorer before each pass): the workers then read
    ``STREAM_PREFETCH`` batches each ahead of the one being used, so reading overlaps
    training. An index that is not the next planned batch is read on its own (the plan
    is dropped).
    """

    def __init__(self, stored: StoredImages, mean: np.ndarray, std: np.ndarray,
                 device: torch.device, memory_format=torch.contiguous_format, workers: int = STREAM_WORKERS):
        self._recipe(stored, mean, std, device, memory_format)
        self.files = stored.raw  # a cnnlab.data.streamed.FileArray
        self._open_loader(workers)

    def _open_loader(self, workers: int) -> None:
        self._plan = _Plan()
        self._loader = torch.utils.data.DataLoader(
            _Files(self.files), batch_sampler=self._plan, collate_fn=torch.stack, num_workers=workers,
            persistent_workers=workers > 0, prefetch_factor=STREAM_PREFETCH if workers > 0 else None)
        self._ahead = None  # the loader's pass over the planned batches
        self._next = 0  # index of the next planned batch

    def plan(self, batches) -> None:
        """The batches the next indexings ask for, in order (each an index tensor, array or
        slice); the workers start reading the first of them now."""
        self._plan.batches = [self._picked(b) for b in batches]
        self._next = 0
        self._ahead = iter(self._loader) if self._plan.batches else None

    def _picked(self, index) -> list[int]:
        picked = np.arange(len(self.files))[index.cpu().numpy() if torch.is_tensor(index) else index]
        return [int(i) for i in np.atleast_1d(picked)]

    def __getitem__(self, index) -> torch.Tensor:
        picked = self._picked(index)
        if self._ahead is not None and self._next < len(self._plan.batches) \
                and self._plan.batches[self._next] == picked:
            raw = next(self._ahead)  # (B, C, H, W), read ahead by a worker
            self._next += 1
        else:  # not what was planned: read this batch alone
            self.plan([picked])
            raw = next(self._ahead)
            self._ahead = None
        return prepare_batch(raw.to(self.device), self.offset, self.divisor, self.clip, self.size,
                             self.mean, self.std, self.memory_format)

    def subset(self, index) -> "StreamedImages":
        part = object.__new__(StreamedImages)
        part.__dict__.update(self.__dict__)
        part.files = self.files.subset(index.cpu().numpy() if torch.is_tensor(index) else index)
        part.shape = torch.Size((len(part.files), *self.shape[1:]))
        part._open_loader(0)  # a sample scored once: read in this process
        return part


def check_batch_memory(batch_size: int, shape: tuple[int, ...]) -> None:
    """Refuse a batch whose float32 values would be over MAX_BATCH_VALUES (before training)."""
    C, h, w = shape[-3:]
    values = batch_size * C * h * w
    if values > MAX_BATCH_VALUES:
        raise UsageError(f"a batch of {batch_size} images of {C}x{h}x{w} takes {values * 4 / 2**30:.1f} GiB "
                         f"as float32, over the limit of {MAX_BATCH_VALUES * 4 / 2**30:.0f} GiB; "
                         "lower --batch-size or --resize")
