"""Layers by name and their activations (feature maps), captured with forward hooks.

A layer is named as ``model.named_modules()`` names it (``features.0``, ``layer4.1.conv2``),
so every name ``--list-layers`` prints can be passed to ``--layer``.

>>> import torch
>>> from torch import nn
>>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
>>> conv_layer_names(net)
['0']
>>> feature_maps(net, torch.zeros(1, 1, 5, 5), ["1"])["1"].shape
torch.Size([1, 2, 3, 3])
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from cnnlab.errors import UsageError

__all__ = ["named_layers", "get_layer", "conv_layer_names", "is_conv_layer", "feature_maps",
           "layer_table"]


def named_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Every sub-module by its dotted name (the model itself, named "", left out)."""
    return {name: m for name, m in model.named_modules() if name}


def get_layer(model: nn.Module, name: str) -> nn.Module:
    """The sub-module called ``name``; UsageError listing the names when there is none."""
    layers = named_layers(model)
    if name not in layers:
        raise UsageError(f"no layer named {name!r} in this model; layers: {', '.join(layers)} "
                         f"(--list-layers shows their types and output shapes)")
    return layers[name]


def conv_layer_names(model: nn.Module) -> list[str]:
    """Names of the ``nn.Conv2d`` layers, in forward-definition order."""
    return [name for name, m in named_layers(model).items() if isinstance(m, nn.Conv2d)]


def is_conv_layer(module: nn.Module) -> bool:
    """A Conv2d, or a block that holds one (a ResNet stage such as ``layer4``)."""
    return any(isinstance(m, nn.Conv2d) for m in module.modules())


def feature_maps(model: nn.Module, x: torch.Tensor, names: Sequence[str]) -> dict[str, torch.Tensor]:
    """Outputs of the layers ``names`` for the batch x, from one forward pass.

    x: (N, C, H, W) normalised input. Returns name -> detached tensor, e.g. (N, C_l, H_l, W_l)
    for a conv layer. Outputs are copied in the hook, so an in-place activation later in
    the network (torchvision's ``ReLU(inplace=True)``) does not change what is returned.
    """
    N, C, H, W = x.shape
    layers = {name: get_layer(model, name) for name in names}
    captured: dict[str, torch.Tensor] = {}

    def hook_for(name: str):
        def hook(_module, _inputs, output):
            if isinstance(output, torch.Tensor):
                captured[name] = output.detach().clone()
        return hook

    handles = [layer.register_forward_hook(hook_for(name)) for name, layer in layers.items()]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    missing = [n for n in names if n not in captured]
    if missing:
        raise UsageError(f"layer {missing[0]!r} does not produce a tensor in the forward pass "
                         "(it is unused or returns something else); pick another layer")
    return {name: captured[name] for name in names}


def layer_table(model: nn.Module, input_shape: tuple[int, int, int]) -> list[dict]:
    """One row per named layer: name, type, output shape (C, H, W) or (F,), conv or not.

    input_shape: (C, H, W). Layers that produce no tensor on a zero input get shape None.
    """
    C, H, W = input_shape
    layers = named_layers(model)
    shapes: dict[str, list[int]] = {}

    def hook_for(name: str):
        def hook(_module, _inputs, output):
            if isinstance(output, torch.Tensor):
                shapes[name] = list(output.shape[1:])
        return hook

    handles = [m.register_forward_hook(hook_for(n)) for n, m in layers.items()]
    try:
        with torch.no_grad():
            model(torch.zeros(1, C, H, W))
    finally:
        for handle in handles:
            handle.remove()
    return [{"name": n, "type": type(m).__name__, "shape": shapes.get(n),
             "conv": is_conv_layer(m), "leaf": not any(True for _ in m.children())}
            for n, m in layers.items()]
