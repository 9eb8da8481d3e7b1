"""Read one image file (PNG/JPEG/…) or one ``.npy`` band stack as a (C, H, W) float32 array.

Reading is two-step so a whole folder can be checked before anything big is allocated:
:func:`probe` reads only the header (size, channels), :func:`read` decodes.

Channel rules (documented for users):

- Images: grayscale modes (``L``, ``1``, ``LA``, 16-bit ``I;16``/``I``, ``F``) give 1 channel;
  every other mode (``RGB``, ``RGBA``, palette ``P``, ``CMYK``…) gives 3 (RGB; alpha is
  dropped). When a folder mixes the two, grayscale images are repeated to RGB. 8-bit values
  are divided by 255, 16-bit ones by 65535.
- ``.npy`` arrays are channel-first (docs/conventions.md): (H, W) is one band, (C, H, W) is C
  bands. The one exception: a 3-D array whose first axis is over 16 and whose last axis
  is at most 16 is taken as (H, W, C) and transposed. Values stay raw here; the loader
  scales each band to [0, 1] with the training split's min and max.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnlab.errors import MAX_SIDE, UsageError

__all__ = ["IMAGE_SUFFIXES", "ARRAY_SUFFIXES", "CorruptFile", "Probe", "probe", "read",
           "array_layout"]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"})
ARRAY_SUFFIXES = frozenset({".npy"})
GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
MAX_HWC_CHANNELS = 16  # an (H, W, C) .npy is recognised only with C at most this


class CorruptFile(Exception):
    """A file that cannot be read as an image or array; skipped (or refused with --strict)."""


@dataclass(frozen=True)
class Probe:
    """What the header says: ``kind`` "image" or "array", native (C, H, W)."""

    path: Path
    kind: str
    shape: tuple[int, int, int]
    mode: str  # PIL mode for images, dtype name for arrays


def array_layout(shape: tuple[int, ...]) -> tuple[tuple[int, int, int], bool]:
    """(C, H, W) of an ``.npy`` shape and whether it must be transposed from (H, W, C).

    >>> array_layout((64, 64)), array_layout((4, 64, 64)), array_layout((64, 64, 4))
    (((1, 64, 64), False), ((4, 64, 64), False), ((4, 64, 64), True))
    """
    if len(shape) == 2:
        return (1, shape[0], shape[1]), False
    if len(shape) == 3:
        if shape[0] > MAX_HWC_CHANNELS and shape[2] <= MAX_HWC_CHANNELS:
            return (shape[2], shape[0], shape[1]), True
        return (shape[0], shape[1], shape[2]), False
    raise CorruptFile(f"array of shape {shape}: expected (H, W), (C, H, W) or (H, W, C)")


def _check_side(path: Path, H: int, W: int) -> None:
    if H > MAX_SIDE or W > MAX_SIDE:
        raise UsageError(f"{path} is {H}x{W} pixels, over the limit of {MAX_SIDE} per side; "
                         "shrink it first")


def probe(path: Path) -> Probe:
    """Read only the header of ``path``; CorruptFile when unreadable, UsageError when too big."""
    if path.suffix.lower() in ARRAY_SUFFIXES:
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise CorruptFile(f"not a readable .npy array ({exc})") from None
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
            raise CorruptFile(f"array of dtype {array.dtype} is not numeric")
        (C, H, W), _ = array_layout(array.shape)
        _check_side(path, H, W)
        return Probe(path, "array", (C, H, W), str(array.dtype))
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:  # lazy: reads the header only
            W, H = image.size
            mode = image.mode
    except Image.DecompressionBombError:
        raise UsageError(f"{path} is over the limit of {MAX_SIDE} pixels per side") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise CorruptFile(f"not a readable image ({exc})") from None
    _check_side(path, H, W)
    return Probe(path, "image", (1 if mode in GRAY_MODES else 3, H, W), mode)


def _resize_bands(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """x: (C, H, W) float -> (C, h, w), bilinear, band by band."""
    from PIL import Image

    h, w = size
    return np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(band, dtype=np.float32))
                                .resize((w, h), Image.BILINEAR)) for band in x])


def _read_image(path: Path, channels: int, size: tuple[int, int] | None) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        image.load()  # decode now: truncated data raises here
        if image.mode in GRAY_MODES:
            if image.mode.startswith("I"):
                x = np.asarray(image, dtype=np.float32) / 65535.0
            elif image.mode == "F":
                x = np.asarray(image, dtype=np.float32)
            else:
                x = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
            x = np.clip(x, 0.0, 1.0)[None]  # (1, H, W)
            if channels == 3:
                x = np.repeat(x, 3, axis=0)  # (3, H, W)
        else:
            x = np.asarray(image.convert("RGB"), dtype=np.float32).transpose(2, 0, 1) / 255.0
    if size is not None and x.shape[1:] != tuple(size):
        x = np.clip(_resize_bands(x, size), 0.0, 1.0)
    return x


def _read_array(path: Path, size: tuple[int, int] | None) -> np.ndarray:
    array = np.load(path, allow_pickle=False)
    _, transpose = array_layout(array.shape)
    x = array.astype(np.float32)
    x = x.transpose(2, 0, 1) if transpose else (x[None] if x.ndim == 2 else x)  # (C, H, W)
    if not np.isfinite(x).all():
        raise CorruptFile("array holds NaN or infinite values")
    if size is not None and x.shape[1:] != tuple(size):
        x = _resize_bands(x, size)
    return x


def read(found: Probe, channels: int, size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode a probed file into (C, H, W) float32; CorruptFile when the data is broken.

    Images come out in [0, 1] with ``channels`` channels; arrays come out raw.
    ``size`` (H, W) resizes (bilinear) when given.
    """
    try:
        if found.kind == "array":
            return _read_array(found.path, size)
        return _read_image(found.path, channels, size)
    except CorruptFile:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptFile(f"broken data ({exc})") from None
