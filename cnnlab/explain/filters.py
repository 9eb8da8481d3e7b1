"""First-layer filters of a trained net, as pictures and as what each one detects.

Each filter is read with the same probes as ``cnnlab kernel describe``
(:func:`cnnlab.kernels.describe.describe_kernel`), which links the pen-and-paper kernels
to the trained network. A filter over several input channels is probed with grey
patterns (the same pattern on every channel), whose response is the inner product with
the filter summed over its channels: ``Σ_c <w_c, p> = <Σ_c w_c, p>``. So the 2-D kernel
that is described is the channel sum.

>>> import numpy as np
>>> w = np.zeros((1, 1, 3, 3)); w[0, 0] = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
>>> describe_filters(w)[0]["best_probe"]
'vertical_edge'
"""

from __future__ import annotations

import numpy as np
from torch import nn

from cnnlab.errors import UsageError

__all__ = ["first_conv", "filter_weights", "normalise_filters", "grey_kernel", "describe_filters"]


def first_conv(model: nn.Module) -> tuple[str, nn.Conv2d]:
    """Name and module of the first ``nn.Conv2d`` (definition order); UsageError if none."""
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return name, module
    raise UsageError("this model has no convolution layer, so it has no filters to show "
                     "(for a logreg run use --what coef)")


def filter_weights(model: nn.Module) -> tuple[str, np.ndarray]:
    """Name of the first conv layer and its weights (C_out, C_in/groups, kh, kw) as float64."""
    name, conv = first_conv(model)
    return name, conv.weight.detach().cpu().double().numpy()


def normalise_filters(w: np.ndarray) -> np.ndarray:
    """Each filter scaled on its own to [0, 1] (all its channels together, so RGB stays colour).

    w: (N, C, kh, kw). Returns (N, C, kh, kw); a constant filter becomes 0.5 everywhere.

    >>> normalise_filters(np.array([[[[-2.0, 0.0], [2.0, 1.0]]]]))[0, 0]
    array([[0.  , 0.5 ],
           [1.  , 0.75]])
    """
    N, C, kh, kw = w.shape
    low = w.min(axis=(1, 2, 3), keepdims=True)   # (N, 1, 1, 1)
    span = w.max(axis=(1, 2, 3), keepdims=True) - low
    safe = np.where(span > 0, span, 1.0)
    return np.where(span > 0, (w - low) / safe, 0.5)


def grey_kernel(w: np.ndarray) -> np.ndarray:
    """The 2-D kernel a filter applies to a grey image: its sum over input channels.

    w: (C, kh, kw) -> (kh, kw).
    """
    C, kh, kw = w.shape
    return w.sum(axis=0)


# Below this cosine between a filter and its best probe the filter is said to answer "no
# clear pattern" (docs/cli.md, "cnnlab explain"); from it up describe_kernel's strength
# words begin ("weakly" below it). The probes are coarse, so a label is a hint: a 3x3 Sobel
# padded to 5x5 matches its edge probe at 0.34, and of 300 random Gaussian 5x5 filters
# (seed 0) half reach 0.25, 4% reach 0.5.
NO_CLEAR_PATTERN = 0.25
NO_PATTERN_WORDS = "no clear pattern"


def pattern_words(row: dict) -> str:
    """A filter's label: its best probe in words, or "no clear pattern" below
    :data:`NO_CLEAR_PATTERN` (or when no probe answers positively)."""
    if row["best_probe"] is None or row["match"] is None or row["match"] < NO_CLEAR_PATTERN:
        return NO_PATTERN_WORDS
    return row["best_probe"].replace("_", " ")


def filter_titles(rows: list[dict]) -> list[str]:
    """Picture titles ``"1: vertical edge"``, numbered from 1 as the page and the table are."""
    return [f"{r['number']}: {r['pattern']}" for r in rows]


def describe_filters(w: np.ndarray) -> list[dict]:
    """What each filter detects, by probe responses.

    w: (N, C, kh, kw). One dict per filter: ``index`` (from 0, as the weight tensor),
    ``number`` (from 1, as the page and its pictures count), ``best_probe`` (None when no
    probe answers positively), ``match`` (cosine of the filter with that probe),
    ``strength``, ``pattern`` (the label: the probe in words, or "no clear pattern" below
    :data:`NO_CLEAR_PATTERN`), ``family``, ``sum_kind`` and the one-line ``summary`` of
    ``describe_kernel``.
    """
    from cnnlab.kernels.describe import describe_kernel, strength_label

    N, C, kh, kw = w.shape
    rows = []
    for i in range(N):
        d = describe_kernel(grey_kernel(w[i]))
        best = d["best_probe"]
        match = float(d["match"][best]) if best is not None else None
        clear = match is not None and match >= NO_CLEAR_PATTERN
        row = {"index": i, "number": i + 1, "best_probe": best, "match": match,
               "strength": strength_label(match) if clear else None,
               "family": d["family"], "sum_kind": d["sum_kind"], "summary": d["summary"]}
        row["pattern"] = pattern_words(row)
        rows.append(row)
    return rows
