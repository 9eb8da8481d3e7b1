"""One input image given by path, converted to what the run's model takes.

Rules (shown in ``cnnlab explain --help``):

- Channels: a colour image for a 1-channel model becomes grey (ITU-R 601 luma,
  0.299 R + 0.587 G + 0.114 B, as PIL's "L"); a grey image for a 3-channel model is
  repeated to RGB. Pixels are scaled to [0, 1] as in training.
- Size: an image of another size is resized (bilinear) only when its aspect ratio is
  the model's (within 2%); otherwise it is refused, because squeezing it would distort
  the shapes the network looks for. Crop it to the right aspect ratio first.
- ``.npy`` band stacks must already have the model's bands and lie in [0, 1]: the
  per-band scaling used in training is not stored with the run.

Note that MNIST digits are white on black: a digit drawn black on white looks like
nothing the model has seen.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnlab.errors import UsageError

__all__ = ["load_image", "ASPECT_TOLERANCE", "LUMA"]

ASPECT_TOLERANCE = 0.02  # relative difference of H/W ratios still resized without refusing
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601 weights, as PIL's convert("L")


def load_image(path: str | Path, channels: int, size: tuple[int, int]) -> np.ndarray:
    """Read ``path`` as (channels, H, W) float32 in [0, 1] for a model taking ``size`` (H, W).

    UsageError for a missing or unreadable file, a band count that does not fit, or an
    aspect ratio that differs from the model's.
    """
    from cnnlab.data.images import CorruptFile, probe, read

    path = Path(path).expanduser()
    H, W = size
    if not path.is_file():
        raise UsageError(f"--image {path}: no such file")
    try:
        found = probe(path)
    except CorruptFile as exc:
        raise UsageError(f"--image {path} cannot be read: {exc}") from None
    C0, H0, W0 = found.shape
    if abs((H0 / W0) / (H / W) - 1) > ASPECT_TOLERANCE:
        raise UsageError(f"--image {path} is {H0}x{W0} pixels and the model takes {H}x{W}; "
                         "resizing would distort it: crop it to the same aspect ratio first")
    if found.kind == "array" and C0 != channels:
        raise UsageError(f"--image {path} has {C0} bands, the model takes {channels}")
    try:
        x = read(found, channels if channels == 3 else 1, (H, W))  # (C', H, W)
    except CorruptFile as exc:
        raise UsageError(f"--image {path} cannot be read: {exc}") from None
    if found.kind == "array":
        if x.min() < 0 or x.max() > 1:
            raise UsageError(f"--image {path}: .npy values must already lie in [0, 1] (the "
                             "per-band scaling of training is not stored with the run)")
        return x.astype(np.float32)
    if x.shape[0] == 3 and channels == 1:
        x = np.tensordot(np.asarray(LUMA, np.float32), x, axes=1)[None]  # (1, H, W)
    if x.shape[0] != channels:
        raise UsageError(f"--image {path} has {x.shape[0]} channel(s) and the model takes "
                         f"{channels}; give a .npy array with {channels} bands in [0, 1]")
    return np.clip(x, 0.0, 1.0).astype(np.float32)
