"""Layers by name and their activations (feature maps), captured with forward hooks.

A layer is named as ``model.named_modules()`` names it (``features.0``, ``layer4.1.conv2``)
and, when it is a single layer, also as the architecture table says it: its kind counted in
forward order (``conv1``, ``relu1``, ``maxpool1``, ``fc1``; docs/cli.md, "cnnlab explain").
Every name ``--list-layers`` prints can be passed to ``--layer``.

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
           "layer_table", "layer_labels", "display_name", "resolve_layer"]

# module type -> the word of the spec language / architecture table (docs/arch.md)
_KIND_WORDS = {"Conv2d": "conv", "ConvTranspose2d": "convt", "ReLU": "relu", "LeakyReLU": "leaky_relu",
               "Sigmoid": "sigmoid", "Tanh": "tanh", "GELU": "gelu", "MaxPool2d": "maxpool",
               "AvgPool2d": "avgpool", "AdaptiveAvgPool2d": "gap", "AdaptiveMaxPool2d": "gmp",
               "BatchNorm2d": "bn", "BatchNorm1d": "bn", "Linear": "fc", "Dropout": "dropout",
               "Dropout2d": "dropout", "Flatten": "flatten", "Identity": "identity"}


def named_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Every sub-module by its dotted name (the model itself, named "", left out)."""
    return {name: m for name, m in model.named_modules() if name}


def layer_labels(model: nn.Module) -> dict[str, str]:
    """Module path -> table name (``{"features.0": "conv1", "features.1": "relu1"}``) for
    every single layer (a module without children), each kind counted from 1 in order."""
    counts: dict[str, int] = {}
    out = {}
    for name, m in named_layers(model).items():
        if any(True for _ in m.children()):
            continue  # a block (a ResNet stage) keeps its path only
        kind = _KIND_WORDS.get(type(m).__name__, type(m).__name__.lower())
        counts[kind] = counts.get(kind, 0) + 1
        out[name] = f"{kind}{counts[kind]}"
    return out


def display_name(model: nn.Module, path: str) -> str:
    """``conv1 (features.0)``: the table name with the module path beside (the path alone
    for a block)."""
    label = layer_labels(model).get(path)
    return f"{label} ({path})" if label and label != path else path


def resolve_layer(model: nn.Module, name: str) -> str:
    """The module path of ``name``: a path, a table name (``conv2``) or ``conv2 (features.3)``."""
    layers = named_layers(model)
    text = name.strip()
    if text in layers:
        return text
    by_label = {label: path for path, label in layer_labels(model).items()}
    short = text.split(" (", 1)[0]
    if short in by_label:
        return by_label[short]
    raise UsageError(f"no layer named {name!r} in this model; layers: "
                     f"{', '.join(display_name(model, n) for n in layers)} "
                     f"(--list-layers shows their types and output shapes)")


def get_layer(model: nn.Module, name: str) -> nn.Module:
    """The sub-module called ``name`` (a path or a table name); UsageError listing the names
    when there is none."""
    return named_layers(model)[resolve_layer(model, name)]


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
    layers = {name: get_layer(model, name) for name in names}  # keyed by the names as given
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
    labels = layer_labels(model)
    return [{"name": n, "label": labels.get(n), "type": type(m).__name__, "shape": shapes.get(n),
             "conv": is_conv_layer(m), "leaf": not any(True for _ in m.children())}
            for n, m in layers.items()]
