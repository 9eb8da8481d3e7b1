"""Coefficient images of a logistic-regression run: one weight per pixel and class.

The ``logreg`` model is ``Flatten → Linear``; its weight matrix (K, C·H·W) reshaped to
(K, C, H, W) shows, for each class, which pixels raise (positive) or lower (negative)
its logit. The net sees normalised pixels (x − mean_c) / std_c, so the weights are divided
by std_c here: each value is the change of the logit per unit of raw pixel value (for
one channel this only rescales the picture).

>>> from torch import nn
>>> net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
>>> coefficient_images(net, (1, 2, 2)).shape
(3, 1, 2, 2)
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from torch import nn

from cnnlab.errors import UsageError

__all__ = ["coefficient_images", "is_linear_model"]


def is_linear_model(model: nn.Module) -> bool:
    """Whether the model is one linear layer on the flattened image (a logreg run)."""
    kinds = [m for m in model.modules() if not any(True for _ in m.children())]
    linear = [m for m in kinds if isinstance(m, nn.Linear)]
    return len(linear) == 1 and all(isinstance(m, (nn.Linear, nn.Flatten)) for m in kinds)


def coefficient_images(model: nn.Module, shape: tuple[int, int, int],
                       std: Sequence[float] | None = None) -> np.ndarray:
    """The weights of a linear model as images: (K, C, H, W).

    shape: (C, H, W) of the input; std: (C,) the run's normalisation (None = 1).
    """
    C, H, W = shape
    if not is_linear_model(model):
        raise UsageError("coefficient images need a logreg run (one linear layer on the pixels); "
                         "for a CNN use --what filters")
    linear = next(m for m in model.modules() if isinstance(m, nn.Linear))
    w = linear.weight.detach().cpu().double().numpy()  # (K, C*H*W)
    K = w.shape[0]
    coef = w.reshape(K, C, H, W)
    if std is not None:
        s = np.asarray(std, dtype=float)
        coef = coef / np.where(s > 0, s, 1.0).reshape(1, C, 1, 1)
    return coef
