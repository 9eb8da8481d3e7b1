"""Grad-CAM (Selvaraju et al. 2017): where in the image a conv layer saw evidence for a class.

For a layer output A: (K, h, w) and a class score y_c (the logit, before softmax, as in
the paper), each channel gets the weight α_k = mean over positions of ∂y_c/∂A_k, and the
map is ``ReLU(Σ_k α_k A_k)`` (h, w). It is upsampled (bilinear) to the input size to
overlay on the image.

>>> import torch
>>> from torch import nn
>>> net = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 16, 2))
>>> cam = grad_cam(net, torch.rand(2, 1, 4, 4), "0")
>>> cam.cam.shape, cam.target.tolist() == cam.logits.argmax(1).tolist()
(torch.Size([2, 4, 4]), True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.errors import UsageError
from cnnlab.explain.feature_maps import conv_layer_names, get_layer, is_conv_layer

__all__ = ["CamResult", "default_cam_layer", "check_cam_layer", "grad_cam", "upsample_cam",
           "normalise_cam", "check_class"]


@dataclass
class CamResult:
    """Grad-CAM of a batch: maps at the layer's resolution and what they explain."""

    cam: torch.Tensor      # (N, h, w), ReLU(Σ_k α_k A_k), not normalised
    weights: torch.Tensor  # (N, K) channel weights α
    logits: torch.Tensor   # (N, classes)
    target: torch.Tensor   # (N,) class explained for each image
    layer: str


def default_cam_layer(model: nn.Module) -> str:
    """The last ``nn.Conv2d`` of the model; UsageError for a model without one."""
    names = conv_layer_names(model)
    if not names:
        raise UsageError("Grad-CAM needs a convolution layer and this model has none "
                         "(for a logreg run use --what coef)")
    return names[-1]


def check_cam_layer(model: nn.Module, name: str) -> nn.Module:
    """The layer ``name`` when it is a conv layer (or a block of them), else UsageError."""
    layer = get_layer(model, name)
    if not is_conv_layer(layer):
        raise UsageError(f"Grad-CAM needs a convolution layer (or a block holding one); "
                         f"{name!r} is a {type(layer).__name__}. Conv layers: "
                         f"{', '.join(conv_layer_names(model))}")
    return layer


def check_class(target: int, num_classes: int) -> int:
    """``target`` when 0 <= target < num_classes, else UsageError."""
    if not 0 <= int(target) < num_classes:
        raise UsageError(f"class {target} is out of range: this model has {num_classes} classes "
                         f"(0 to {num_classes - 1})")
    return int(target)


def grad_cam(model: nn.Module, x: torch.Tensor, layer: str,
             target: int | Sequence[int] | None = None) -> CamResult:
    """Grad-CAM maps of ``layer`` for the batch x.

    x: (N, C, H, W) normalised input; target: one class for all images, one per image,
    or None for each image's predicted class. The model should be in eval mode.
    """
    N, C, H, W = x.shape
    module = check_cam_layer(model, layer)
    saved: list[torch.Tensor] = []

    def hook(_module, _inputs, output):
        saved.append(output)
        # Later layers get a copy: an in-place op after this layer then leaves A intact.
        return output.clone()

    handle = module.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            logits = model(x.detach().clone().requires_grad_(True))  # (N, classes)
            A = saved[-1]  # (N, K, h, w)
            if A.dim() != 4:
                raise UsageError(f"Grad-CAM needs a layer with a (channels, height, width) output; "
                                 f"{layer!r} gives {tuple(A.shape[1:])}")
            num_classes = logits.shape[1]
            if target is None:
                t = logits.argmax(1)
            else:
                wanted = [target] * N if isinstance(target, int) else list(target)
                t = torch.as_tensor([check_class(c, num_classes) for c in wanted], device=logits.device)
            score = logits.gather(1, t[:, None]).sum()
            (grads,) = torch.autograd.grad(score, A)  # (N, K, h, w)
    finally:
        handle.remove()
    weights = grads.mean(dim=(2, 3))  # (N, K)
    cam = F.relu((weights[:, :, None, None] * A).sum(dim=1))  # (N, h, w)
    return CamResult(cam.detach(), weights.detach(), logits.detach(), t.detach(), layer)


def upsample_cam(cam: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear upsampling of maps (N, h, w) to (N, H, W) (``align_corners=False``)."""
    N, h, w = cam.shape
    return F.interpolate(cam[:, None], size=tuple(size), mode="bilinear", align_corners=False)[:, 0]


def normalise_cam(cam: torch.Tensor) -> torch.Tensor:
    """Each map (N, H, W) divided by its maximum, so it lies in [0, 1]; an all-zero map stays 0."""
    N, H, W = cam.shape
    top = cam.flatten(1).max(dim=1).values.clamp_min(1e-12)  # (N,)
    return cam / top[:, None, None]
