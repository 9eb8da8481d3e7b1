"""Read one image file (PNG/JPEG/TIFF…) or one band stack (``.npy``, multi-band TIFF) as (C, H, W).

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
- TIFF files are read with ``tifffile``. One that PIL reads as a picture (8-bit gray, RGB or
  RGBA in one page, or one 16-bit / float gray page) is an image as above; any other is a
  band stack like an ``.npy``: N bands interleaved (``YXS``), planar (``SYX``) or one page
  per band, 8/16/32-bit integers or floats, all read as (N, H, W) (docs/training.md,
  "Multi-band images").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnlab.errors import MAX_SIDE, UsageError

__all__ = ["IMAGE_SUFFIXES", "ARRAY_SUFFIXES", "TIFF_SUFFIXES", "CorruptFile", "Probe", "probe",
           "read", "read_raw", "array_layout", "tiff_layout", "WIDE_MODES"]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"})
ARRAY_SUFFIXES = frozenset({".npy"})
TIFF_SUFFIXES = frozenset({".tif", ".tiff"})
GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
WIDE_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})  # not 8-bit: kept as float32
PAGE_AXES = frozenset("QIZCT")  # tifffile's names for a page axis (one band per page)
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
    layout: str = ""  # TIFF band stacks: "YX", "YXS" (interleaved), "SYX" (planar), "pages"


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


def tiff_layout(shapes: list[tuple[int, ...]], axes: list[str]) -> tuple[tuple[int, int, int], str]:
    """(C, H, W) and layout of a TIFF from its series' shapes and tifffile axes.

    One series ``YX`` (1 band), ``YXS`` (interleaved), ``SYX`` (planar) or ``QYX``-like
    (one page per band); or several ``YX`` series of one size (a page per band).

    >>> tiff_layout([(32, 32, 12)], ["YXS"]), tiff_layout([(32, 32)] * 4, ["YX"] * 4)
    (((12, 32, 32), 'YXS'), ((4, 32, 32), 'pages'))
    """
    if len(shapes) > 1:
        if any(a != "YX" for a in axes) or len(set(shapes)) > 1:
            raise CorruptFile(f"TIFF with {len(shapes)} series of shapes {sorted(set(shapes))}: "
                              "expected one page per band, all of one size")
        H, W = shapes[0]
        return (len(shapes), H, W), "pages"
    shape, axis = shapes[0], axes[0]
    if axis == "YX":
        return (1, *shape), "YX"
    if axis == "YXS":
        return (shape[2], shape[0], shape[1]), "YXS"
    if axis == "SYX":
        return tuple(shape), "SYX"
    if len(axis) == 3 and axis[0] in PAGE_AXES and axis[1:] == "YX":
        return tuple(shape), "pages"
    raise CorruptFile(f"TIFF of shape {shape} (axes {axis}): expected bands as (H, W, bands), "
                      "(bands, H, W) or one page per band")


def _probe_tiff(path: Path) -> Probe:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series
            shapes = [tuple(int(n) for n in s.shape) for s in series]
            axes = [s.axes for s in series]
            dtype = np.dtype(series[0].dtype)
    except (tifffile.TiffFileError, OSError, ValueError, IndexError, KeyError) as exc:
        raise CorruptFile(f"not a readable TIFF ({exc})") from None
    (C, H, W), layout = tiff_layout(shapes, axes)
    _check_side(path, H, W)
    if not (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)):
        raise CorruptFile(f"TIFF of dtype {dtype} is not numeric")
    picture = ((layout in ("YX", "YXS") and dtype == np.uint8 and C in (1, 3, 4))
               or (layout == "YX" and dtype in (np.uint16, np.int32, np.float32)))
    if picture:  # what PIL reads: an image as before, 8-bit or 16-bit / float gray
        return _probe_picture(path)
    return Probe(path, "array", (C, H, W), str(dtype), layout)


def probe(path: Path) -> Probe:
    """Read only the header of ``path``; CorruptFile when unreadable, UsageError when too big."""
    if path.suffix.lower() in TIFF_SUFFIXES:
        return _probe_tiff(path)
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
    return _probe_picture(path)


def _probe_picture(path: Path) -> Probe:
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


def _read_tiff_bands(found: Probe) -> np.ndarray:
    """The bands of a TIFF band stack as (C, H, W), in the file's dtype."""
    import tifffile

    with tifffile.TiffFile(found.path) as tif:
        if found.layout == "pages" and len(tif.series) > 1:
            x = np.stack([s.asarray() for s in tif.series])  # (C, H, W)
        else:
            x = tif.series[0].asarray()
    if found.layout == "YXS":
        x = x.transpose(2, 0, 1)  # (C, H, W)
    elif found.layout == "YX":
        x = x[None]
    if x.shape != found.shape:
        raise CorruptFile(f"TIFF data of shape {x.shape} does not match its header {found.shape}")
    return x


def _band_stack(found: Probe) -> np.ndarray:
    """(C, H, W) values of an ``.npy`` or TIFF band stack, in the file's dtype."""
    if found.path.suffix.lower() in TIFF_SUFFIXES:
        x = _read_tiff_bands(found)
    else:
        array = np.load(found.path, allow_pickle=False)
        _, transpose = array_layout(array.shape)
        x = array.transpose(2, 0, 1) if transpose else (array[None] if array.ndim == 2 else array)
    if x.shape != found.shape:
        raise CorruptFile(f"array of shape {x.shape} does not match its header {found.shape}")
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        raise CorruptFile("array holds NaN or infinite values")
    return x


def _read_array(found: Probe, size: tuple[int, int] | None) -> np.ndarray:
    x = _band_stack(found).astype(np.float32)  # (C, H, W)
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
            return _read_array(found, size)
        return _read_image(found.path, channels, size)
    except CorruptFile:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptFile(f"broken data ({exc})") from None


def read_raw(found: Probe, channels: int, dtype: np.dtype) -> np.ndarray:
    """Decode a probed file into (C, H, W) of ``dtype`` without scaling: an 8-bit image's
    bytes (gray repeated to ``channels``), a band stack's values. CorruptFile when broken."""
    try:
        if found.kind == "array":
            x = _band_stack(found).astype(dtype, copy=False)
            if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
                raise CorruptFile(f"values too large for {x.dtype}")
            return x
        from PIL import Image

        with Image.open(found.path) as image:
            image.load()
            if image.mode in GRAY_MODES:
                x = np.asarray(image.convert("L"), dtype=np.uint8)[None]  # (1, H, W)
                return np.repeat(x, channels, axis=0) if channels == 3 else x
            return np.asarray(image.convert("RGB"), dtype=np.uint8).transpose(2, 0, 1)  # (3, H, W)
    except CorruptFile:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptFile(f"broken data ({exc})") from None
