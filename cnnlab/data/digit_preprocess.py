"""A drawn or photographed digit prepared the way MNIST's digits were (docs/serve.md, "/explore").

MNIST's recipe (LeCun, Cortes and Burges, the MNIST page): each digit's bounding box was
scaled to fit a 20×20 box with its aspect ratio kept (anti-aliased, hence grey edges), then
placed in a 28×28 field so that its centre of mass lies at the field's centre. A model
trained on MNIST has only seen digits like that: the same 7 drawn full-frame scored 0.66
and centred 0.88, and a small 7 in a corner was read as a 1 (issue 21), so /explore and
/network put drawings and uploads through :func:`mnist_recipe` for MNIST runs.

Dark ink on a light background (a photo of paper) is inverted first, because MNIST's
digits are light on dark: :func:`ink_on_dark` decides from the border pixels. No torch here.

>>> img = np.zeros((100, 100)); img[10:30, 60:65] = 1.0  # a small bar in a corner
>>> out = mnist_recipe(img)
>>> out.shape, [int(v) for v in np.nonzero(out.max(1) > 0.5)[0][[0, -1]]]  # 20 rows tall
((28, 28), [4, 23])
"""

from __future__ import annotations

import numpy as np

__all__ = ["mnist_recipe", "ink_on_dark", "centre_of_mass", "bounding_box", "MNIST_FIELD", "MNIST_BOX",
           "INK_THRESHOLD", "MNIST_FAMILY"]

MNIST_FIELD = 28    # side of the image the model takes
MNIST_BOX = 20      # side of the box the digit's bounding box is scaled into
INK_THRESHOLD = 0.1  # a pixel above this (of the image's maximum) counts as ink for the bounding box
MNIST_FAMILY = ("mnist",)  # datasets whose runs get the recipe (Fashion-MNIST's clothes are not drawn)


def ink_on_dark(img: np.ndarray) -> np.ndarray:
    """img (H, W) in [0, 1], inverted when its border is mostly light (dark ink on paper)."""
    H, W = img.shape
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])  # (2H + 2W,)
    return 1.0 - img if float(np.median(border)) > 0.5 else img


def bounding_box(img: np.ndarray, threshold: float = INK_THRESHOLD) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right), inclusive, of the pixels above ``threshold``·max; None when blank."""
    H, W = img.shape
    peak = float(img.max())
    if peak <= 0:
        return None
    rows = np.nonzero((img > threshold * peak).any(axis=1))[0]
    cols = np.nonzero((img > threshold * peak).any(axis=0))[0]
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    """(row, col) of the intensity-weighted mean position of img (H, W); the centre when blank."""
    H, W = img.shape
    total = float(img.sum())
    if total <= 0:
        return (H - 1) / 2, (W - 1) / 2
    rows, cols = np.arange(H), np.arange(W)
    return float(img.sum(axis=1) @ rows) / total, float(img.sum(axis=0) @ cols) / total


def _resize(img: np.ndarray, h: int, w: int) -> np.ndarray:
    """img (H, W) resized to (h, w), anti-aliased (PIL's bilinear filter widens when shrinking)."""
    from PIL import Image

    out = Image.fromarray(np.asarray(img, np.float32), mode="F").resize((w, h), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(out, dtype=np.float64), 0.0, 1.0)


def mnist_recipe(img: np.ndarray, field: int = MNIST_FIELD, box: int = MNIST_BOX) -> np.ndarray:
    """img (H, W) in [0, 1], light ink on dark → (field, field) as MNIST's digits were made.

    The bounding box of the ink is scaled so its longer side is ``box`` pixels, then placed
    so that its centre of mass falls on the field's centre ((field − 1)/2 in pixel
    coordinates, rounded to whole pixels). A blank picture stays blank.
    """
    H, W = img.shape
    out = np.zeros((field, field), dtype=np.float64)
    found = bounding_box(img)
    if found is None:
        return out
    top, bottom, left, right = found
    digit = img[top:bottom + 1, left:right + 1]  # (h0, w0)
    h0, w0 = digit.shape
    scale = box / max(h0, w0)
    h, w = max(1, round(h0 * scale)), max(1, round(w0 * scale))
    digit = _resize(digit, h, w)  # (h, w), longer side = box
    cy, cx = centre_of_mass(digit)
    centre = (field - 1) / 2
    r0 = int(np.clip(round(centre - cy), 0, field - h))
    c0 = int(np.clip(round(centre - cx), 0, field - w))
    out[r0:r0 + h, c0:c0 + w] = digit
    return out
