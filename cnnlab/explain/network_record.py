"""One forward pass of a whole network, every layer's input and output kept (docs/serve.md, "/network").

:func:`record_network` hooks every leaf module (and every residual block, whose output is
the skip addition) and keeps, for each one, the tensor it received, the tensor it
returned and which recorded layer produced its input. Layers are named as
``model.named_modules()`` names them, as ``cnnlab explain --layer`` does. A module called
twice in one forward pass (torchvision's ``BasicBlock`` reuses its ``relu``) keeps its
first call.

>>> import torch
>>> from torch import nn
>>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(18, 3))
>>> rec = record_network(net, torch.zeros(1, 1, 5, 5))
>>> rec.order, rec.source["3"], shown_layers(rec)
(['0', '1', '2', '3'], '2', ['0', '1', '3'])
>>> shown_source(rec, "3")
'1'
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

__all__ = ["Recording", "record_network", "shown_layers", "shown_source", "skip_parts", "INPUT"]

INPUT = "input"  # the name of the (normalised) image itself as a source

# Modules whose output equals their input at inference: recorded (a Linear reads a
# Flatten's output) but not shown as a column.
_PASS_THROUGH = (nn.Flatten, nn.Dropout, nn.Dropout2d, nn.Identity)


def skip_parts(module: nn.Module) -> tuple[str, str | None, str] | None:
    """(last module of the main branch, shortcut module or None for the identity, final
    activation) of a residual block, or None when ``module`` is not one we know.

    Covers cnnlab's spec ``ResidualBlock`` and torchvision's ``BasicBlock``/``Bottleneck``:
    all compute ``relu(main(x) + shortcut(x))``.
    """
    kind = type(module).__name__
    if kind == "ResidualBlock" and hasattr(module, "bn2"):
        shortcut = None if isinstance(module.shortcut, nn.Identity) else "shortcut"
        return "bn2", shortcut, "relu"
    if kind in ("BasicBlock", "Bottleneck"):
        last = "bn3" if kind == "Bottleneck" else "bn2"
        return last, ("downsample" if getattr(module, "downsample", None) is not None else None), "relu"
    return None


@dataclass
class Recording:
    """What one forward pass of a batch of one image went through.

    order: recorded layer names in the order their outputs appeared.
    inputs/outputs: name -> the layer's input / output without the batch axis, float64,
        e.g. (C, H, W) for a convolution and (F,) for a linear layer.
    source: name -> the recorded layer (or ``INPUT``) whose output was this layer's input.
    modules: name -> the module.
    image: the normalised input (C, H, W); logits: (classes,).
    """

    order: list[str] = field(default_factory=list)
    inputs: dict[str, np.ndarray] = field(default_factory=dict)
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    source: dict[str, str] = field(default_factory=dict)
    modules: dict[str, nn.Module] = field(default_factory=dict)
    image: np.ndarray | None = None
    logits: np.ndarray | None = None


def _recorded_modules(model: nn.Module) -> dict[str, nn.Module]:
    """Leaves, residual blocks and their shortcut branches (the skip addition reads them)."""
    wanted = set()
    for name, m in model.named_modules():
        parts = skip_parts(m) if name else None
        if parts is not None:
            wanted.add(name)
            if parts[1] is not None:
                wanted.add(f"{name}.{parts[1]}")
    return {name: m for name, m in model.named_modules()
            if name and (not any(True for _ in m.children()) or name in wanted)}


def record_network(model: nn.Module, x: torch.Tensor) -> Recording:
    """Run ``model`` on x: (1, C, H, W) (normalised) and keep every layer's input and output."""
    N, C, H, W = x.shape
    rec = Recording(image=x[0].detach().double().numpy().copy())
    producer: dict[int, str] = {id(x): INPUT}
    alive: list[torch.Tensor] = [x]  # keeps ids unique while the pass runs

    def pre_hook(name: str):
        def hook(_module, args):
            if name not in rec.inputs and args and isinstance(args[0], torch.Tensor):
                rec.inputs[name] = args[0].detach()[0].double().numpy().copy()
                rec.source[name] = producer.get(id(args[0]), "?")
        return hook

    def post_hook(name: str):
        def hook(_module, _args, output):
            if name in rec.outputs or not isinstance(output, torch.Tensor):
                return
            rec.outputs[name] = output.detach()[0].double().numpy().copy()
            rec.order.append(name)
            producer[id(output)] = name
            alive.append(output)
        return hook

    modules = _recorded_modules(model)
    handles = []
    for name, module in modules.items():
        handles.append(module.register_forward_pre_hook(pre_hook(name)))
        handles.append(module.register_forward_hook(post_hook(name)))
    try:
        with torch.no_grad():
            logits = model(x)
    finally:
        for handle in handles:
            handle.remove()
    rec.modules = {name: modules[name] for name in rec.order}
    rec.logits = logits.detach()[0].double().numpy()
    return rec


def shown_layers(rec: Recording) -> list[str]:
    """The recorded layers worth a column: the ones that change their input."""
    return [name for name in rec.order
            if not isinstance(rec.modules[name], _PASS_THROUGH) and rec.outputs[name].ndim in (1, 3)]


def shown_source(rec: Recording, name: str) -> str | None:
    """The shown layer (or ``INPUT``) whose output reaches ``name``, through pass-through layers."""
    source = rec.source.get(name)
    seen = set()
    while source in rec.modules and isinstance(rec.modules[source], _PASS_THROUGH) and source not in seen:
        seen.add(source)
        source = rec.source.get(source)
    return source
