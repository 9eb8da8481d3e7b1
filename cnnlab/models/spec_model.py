"""Train the network a spec describes: ``cnnlab train --model "conv 3x3 32 p1; relu; ..."``.

The spec language is the one of ``cnnlab arch`` (:mod:`cnnlab.arch.spec`): the same
parser reads it and the same analysis (:func:`cnnlab.arch.arch_table`) walks it on the
data's input shape, so a layer that does not fit (a 9×9 conv on a 6×6 map) is refused
with the message ``arch`` gives, before anything is trained. Each layer kind then has
one builder in :data:`BUILDERS` that turns the parsed layer and its input shape into a
``torch.nn`` module; the parameter count of the result is the one ``arch`` prints
(tested on random specs in ``tests/test_spec_train.py``).

A final ``fc`` to the class count is added when the spec does not end in one, and
trailing ``softmax`` layers are left out (the loss applies its own); both are said in
:attr:`SpecPlan.notes`. See ``docs/models.md``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from cnnlab.arch.layers import INCEPTION_BN_EPS, resolve_padding_pairs
from cnnlab.arch.spec import Layer, load_spec, parse_layer
from cnnlab.errors import UsageError

__all__ = ["SpecPlan", "SpecNet", "ResidualBlock", "InceptionBlock",
           "BUILDERS", "is_spec", "check_spec", "plan_spec",
           "build_spec_model", "spec_label", "check_spec_budget", "MAX_SPEC_PARAMS", "MAX_SPEC_TRAIN_BYTES"]

# Checked on the plan, before a module is built (issue 23: `fc 67108864` allocated 17 GB,
# other huge specs ended in "not caught" allocation errors).
MAX_SPEC_PARAMS = 2**30  # as evaluate's MAX_PARAMS: a model.json asking for more is refused there
MAX_SPEC_TRAIN_BYTES = 16 * 2**30  # as the in-memory dataset limit (data.folder.MAX_DATASET_BYTES)
# float32 weights, their gradients and Adam's two moments; each unit's output and its gradient
_BYTES_PER_PARAM, _BYTES_PER_UNIT = 4 * 4, 4 * 2


def is_spec(text: str) -> bool:
    """Whether ``--model`` names a spec (a file, or layers) rather than a registry model.

    >>> is_spec("conv 3x3 8; relu"), is_spec("small-cnn")
    (True, False)
    """
    if not isinstance(text, str):
        return isinstance(text, (list, dict))
    stripped = text.strip()
    return (any(c in stripped for c in " ;\n") or stripped.endswith((".yaml", ".yml", ".txt", ".spec"))
            or (len(stripped) < 4096 and os.path.exists(stripped)))  # a folder or FIFO: check_spec names it


def _looks_like_path(text: str) -> bool:
    stripped = text.strip()
    return " " not in stripped and ";" not in stripped and "\n" not in stripped


def check_spec(spec: str | list | dict) -> list[Layer]:
    """The layers of ``spec``; UsageError for a missing spec file or a layer that does not parse."""
    if isinstance(spec, str) and _looks_like_path(spec) and os.path.exists(spec.strip()) \
            and not os.path.isfile(spec.strip()):
        from cnnlab.userfiles import path_kind

        raise UsageError(f"--model {spec.strip()} is {path_kind(spec.strip())}, not a spec file (nor a registry "
                         f"model; see cnnlab train --list-models)")
    if isinstance(spec, str) and _looks_like_path(spec) and not os.path.isfile(spec.strip()):
        raise UsageError(f"spec file {spec.strip()} does not exist (and {spec.strip()!r} is not a "
                         f"registry model; see cnnlab train --list-models)")
    return load_spec(spec.strip() if isinstance(spec, str) else spec)[0]


def spec_label(text: str) -> str:
    """A short name for run folders: ``spec`` or ``spec-<file stem>``.

    >>> spec_label("conv 3x3 8; fc 10"), spec_label("nets/vgg_small.yaml")
    ('spec', 'spec-vgg_small')
    """
    if isinstance(text, str) and "\n" not in text and ";" not in text and " " not in text.strip():
        return "spec-" + os.path.splitext(os.path.basename(text.strip()))[0]
    return "spec"


@dataclass
class SpecPlan:
    """A spec read against the data: the layers that train and what was changed, with why."""

    layers: list[Layer]               # the layers of the trained module, in order
    input_shape: tuple[int, int, int]  # (C, H, W) of the data
    table: dict                       # the arch table of ``layers`` on ``input_shape``
    notes: list[str] = field(default_factory=list)  # what was added or left out

    @property
    def text(self) -> str:
        """The spec of the trained module, one layer per line (``cnnlab arch`` reads it)."""
        return "\n".join(layer.text for layer in self.layers) + "\n"


def plan_spec(spec: str | list | dict, in_channels: int, num_classes: int,
              input_size: tuple[int, int]) -> SpecPlan:
    """Parse ``spec``, fit it to (in_channels, H, W) and num_classes, and analyse it.

    UsageError names the layer that does not fit, as ``cnnlab arch`` does.

    >>> plan = plan_spec("conv 5x5 6; relu; maxpool 2", 1, 10, (28, 28))
    >>> plan.layers[-1].text, plan.table["total_params"]
    ('fc 10', 8806)
    """
    from cnnlab.arch import arch_table

    check_spec(spec)
    layers, file_shape = load_spec(spec.strip() if isinstance(spec, str) else spec)
    shape = (in_channels, *input_size)
    if file_shape is not None and tuple(file_shape) != shape:
        raise UsageError(f"the spec names input {'x'.join(map(str, file_shape))}, but the data's "
                         f"images are {'x'.join(map(str, shape))}")
    notes = []
    while layers and layers[-1].kind == "softmax":
        layers = layers[:-1]
        notes.append("trailing softmax left out: the loss applies its own softmax to the logits")
    last = layers[-1] if layers else None
    if last is None or last.kind != "fc" or last.out != num_classes:
        why = "does not end in an fc layer" if last is None or last.kind != "fc" else \
            f"ends in fc {last.out}, not in one to the {num_classes} classes"
        layers = layers + [parse_layer(f"fc {num_classes}", len(layers) + 1)]
        notes.append(f"the spec {why}: fc {num_classes} added for the {num_classes} classes")
    table = arch_table([layer.text for layer in layers], shape)
    check_spec_budget(table)
    return SpecPlan(layers, shape, table, notes)


def check_spec_budget(table: dict) -> None:
    """Refuse a spec whose parameters or training memory (one example) are over the limits.

    ``table``: its arch table. The estimate is 16 bytes per parameter (float32 weights,
    gradients and Adam's two moments) plus 8 bytes per unit of every layer's output (the
    value and its gradient), for a batch of one.

    >>> check_spec_budget({"total_params": 2**31, "layers": []})
    Traceback (most recent call last):
    ...
    cnnlab.errors.UsageError: the spec has 2,147,483,648 parameters, over the limit of 1,073,741,824 (2^30); use fewer or narrower layers
    """
    params = int(table["total_params"])
    if params > MAX_SPEC_PARAMS:
        raise UsageError(f"the spec has {params:,} parameters, over the limit of {MAX_SPEC_PARAMS:,} (2^30); "
                         "use fewer or narrower layers")
    units = sum(int(row.get("units", 0)) for row in table["layers"])
    need = params * _BYTES_PER_PARAM + units * _BYTES_PER_UNIT
    if need > MAX_SPEC_TRAIN_BYTES:
        raise UsageError(f"training the spec would take about {need / 2**30:.1f} GiB for one example "
                         f"({params:,} parameters, {units:,} activations), over the limit of "
                         f"{MAX_SPEC_TRAIN_BYTES // 2**30} GiB; use fewer or narrower layers")


# --- one builder per layer kind: (layer, input shape, output shape) -> module ----------------

Shape = tuple[int, ...]


def _pads(layer: Layer, in_shape: Shape, stride: tuple[int, int]) -> list[tuple[int, int]]:
    _, H, W = in_shape
    return resolve_padding_pairs(layer.padding, (H, W), layer.kernel, stride, layer.dilation)


def _padded(pads: list[tuple[int, int]], value: float, inner: Callable[[tuple[int, int]], nn.Module]) -> nn.Module:
    """``inner(padding)`` with symmetric padding, or an explicit pad layer before it."""
    (top, bottom), (left, right) = pads
    if top == bottom and left == right:
        return inner((top, left))
    pad = nn.ZeroPad2d((left, right, top, bottom)) if value == 0 else \
        nn.ConstantPad2d((left, right, top, bottom), value)
    return nn.Sequential(pad, inner((0, 0)))


def _conv(layer: Layer, in_shape: Shape, out_shape: Shape) -> nn.Module:
    C = in_shape[0]
    stride = layer.stride or (1, 1)
    groups = C if layer.groups == "dw" else layer.groups
    return _padded(_pads(layer, in_shape, stride), 0.0, lambda p: nn.Conv2d(
        C, out_shape[0], layer.kernel, stride, p, layer.dilation, groups, layer.bias))


def _convt(layer: Layer, in_shape: Shape, out_shape: Shape) -> nn.Module:
    padding = layer.padding if isinstance(layer.padding, tuple) else (0, 0)
    return nn.ConvTranspose2d(in_shape[0], out_shape[0], layer.kernel, layer.stride or (1, 1),
                              padding, layer.output_padding, layer.groups, layer.bias, layer.dilation)


def _pool(layer: Layer, in_shape: Shape, out_shape: Shape) -> nn.Module:
    stride = layer.stride or layer.kernel
    pads = _pads(layer, in_shape, stride)
    if layer.kind == "maxpool":
        return _padded(pads, -math.inf, lambda p: nn.MaxPool2d(layer.kernel, stride, p, layer.dilation,
                                                               ceil_mode=layer.ceil_mode))
    return _padded(pads, 0.0, lambda p: nn.AvgPool2d(layer.kernel, stride, p, ceil_mode=layer.ceil_mode))


class ResidualBlock(nn.Module):
    """ResNet's basic block: conv k/s → bn → relu → conv k → bn, plus the shortcut, → relu.

    The shortcut is the identity when the shape is kept, else a 1×1/s conv + bn.
    x: (N, C_in, H, W) -> (N, C_out, H_out, W_out).
    """

    def __init__(self, c_in: int, c_out: int, kernel: tuple[int, int], stride: tuple[int, int]):
        super().__init__()
        pad = (kernel[0] // 2, kernel[1] // 2)
        self.conv1 = nn.Conv2d(c_in, c_out, kernel, stride, pad, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, kernel, 1, pad, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity()
        if stride != (1, 1) or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class InceptionBlock(nn.Module):
    """GoogLeNet's inception block, built as torchvision's ``Inception`` (same module names,
    so a state dict moves between the two): ``branch1`` 1×1 | ``branch2`` 1×1 → 3×3 |
    ``branch3`` 1×1 → 3×3 (torchvision's "5×5" is 3×3) | ``branch4`` 3×3/1 max pool → 1×1,
    each conv without bias + batch norm (eps 1e-3) + relu, concatenated over channels.
    x: (N, C_in, H, W) -> (N, C1 + C3 + C5 + CP, H, W).
    """

    def __init__(self, c_in: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, cp: int):
        super().__init__()
        self.branch1 = _ConvBnRelu(c_in, c1, 1)
        self.branch2 = nn.Sequential(_ConvBnRelu(c_in, c3r, 1), _ConvBnRelu(c3r, c3, 3, 1))
        self.branch3 = nn.Sequential(_ConvBnRelu(c_in, c5r, 1), _ConvBnRelu(c5r, c5, 3, 1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), _ConvBnRelu(c_in, cp, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class _ConvBnRelu(nn.Module):
    """torchvision's ``BasicConv2d``: conv (no bias) → batch norm (eps 1e-3) → relu."""

    def __init__(self, c_in: int, c_out: int, kernel: int, padding: int = 0):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=INCEPTION_BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))


def _inception(layer: Layer, in_shape: Shape, out_shape: Shape) -> nn.Module:
    return InceptionBlock(in_shape[0], *layer.branches)


def _res(layer: Layer, in_shape: Shape, out_shape: Shape) -> nn.Module:
    return ResidualBlock(in_shape[0], out_shape[0], layer.kernel, layer.stride or (1, 1))


def _fc(layer: Layer, in_shape: Shape, out_shape: Shape) -> nn.Module:
    linear = nn.Linear(math.prod(in_shape), layer.out, bias=layer.bias)
    return nn.Sequential(nn.Flatten(), linear) if len(in_shape) == 3 else linear


def _one_value_guard(bn: nn.Module, inputs: tuple) -> None:
    """Forward pre-hook of a spec's batch norm: name the fix when a training batch gives it
    one value per channel.

    torch raises "ValueError: Expected more than 1 value per channel when training" (issue
    23: ``bn`` after ``fc`` with ``--batch-size 1`` ended in "ValueError, not caught"). A
    hook, not a subclass: torch.fx keeps torch's own modules whole (``cnnlab arch`` rows).
    """
    x = inputs[0]  # (N, C) or (N, C, H, W)
    if bn.training and x.dim() > 1 and x.shape[1] and x.numel() == x.shape[1]:
        raise UsageError(f"bn {bn.num_features}: batch norm needs more than one value per channel in a "
                         f"training batch, and a batch of {x.shape[0]} gives it one: use --batch-size 2 "
                         "or more (or no bn after fc or gap)")


def _bn(layer: Layer, in_shape: Shape, out_shape: Shape) -> nn.Module:
    bn = nn.BatchNorm2d(in_shape[0]) if len(in_shape) == 3 else nn.BatchNorm1d(in_shape[0])
    bn.register_forward_pre_hook(_one_value_guard)
    return bn


def _fixed(make: Callable[[], nn.Module]) -> Callable[[Layer, Shape, Shape], nn.Module]:
    return lambda layer, in_shape, out_shape: make()


BUILDERS: dict[str, Callable[[Layer, Shape, Shape], nn.Module]] = {
    "conv": _conv, "convt": _convt, "maxpool": _pool, "avgpool": _pool, "res": _res, "fc": _fc,
    "inception": _inception,
    "bn": _bn,
    "gap": _fixed(lambda: nn.AdaptiveAvgPool2d(1)), "gmp": _fixed(lambda: nn.AdaptiveMaxPool2d(1)),
    "flatten": _fixed(nn.Flatten),
    "dropout": lambda layer, i, o: nn.Dropout(layer.p),
    "lrn": _fixed(lambda: nn.LocalResponseNorm(5)),  # AlexNet's size; no parameters
    "relu": _fixed(nn.ReLU), "leakyrelu": _fixed(nn.LeakyReLU), "relu6": _fixed(nn.ReLU6),
    "sigmoid": _fixed(nn.Sigmoid), "tanh": _fixed(nn.Tanh), "softmax": _fixed(lambda: nn.Softmax(dim=1)),
    "gelu": _fixed(nn.GELU), "elu": _fixed(nn.ELU), "silu": _fixed(nn.SiLU), "identity": _fixed(nn.Identity),
}


class SpecNet(nn.Sequential):
    """The module of a spec: one child per layer (``layers.0``, ``layers.1``, …).

    ``spec`` is the text of the trained layers. x: (N, C, H, W) -> (N, num_classes) logits.
    """

    def __init__(self, plan: SpecPlan):
        modules = []
        for layer, row in zip(plan.layers, plan.table["layers"]):
            modules.append(BUILDERS[layer.kind](layer, tuple(row["input_shape"]), tuple(row["output_shape"])))
        super().__init__(*modules)
        self.spec = plan.text
        self.budget_params = int(plan.table["total_params"])
        self.budget_units = sum(int(row.get("units", 0)) for row in plan.table["layers"])  # per example

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C, H, W) -> (N, classes); a batch whose training memory is over the limit is refused."""
        if not isinstance(x, torch.Tensor):  # a torch.fx proxy while cnnlab arch traces the module
            return super().forward(x)
        N = x.shape[0]
        need = self.budget_params * _BYTES_PER_PARAM + N * self.budget_units * _BYTES_PER_UNIT
        if need > MAX_SPEC_TRAIN_BYTES:  # before torch allocates it (issue 23)
            fits = (MAX_SPEC_TRAIN_BYTES - self.budget_params * _BYTES_PER_PARAM) // max(1, self.budget_units
                                                                                         * _BYTES_PER_UNIT)
            raise UsageError(f"a batch of {N} through this spec would take about {need / 2**30:.1f} GiB "
                             f"({self.budget_units:,} activations per example), over the limit of "
                             f"{MAX_SPEC_TRAIN_BYTES // 2**30} GiB; use --batch-size {fits} or less, or a smaller spec"
                             if fits > 1 else f"{MAX_SPEC_TRAIN_BYTES // 2**30} GiB; use --batch-size 1")
        return super().forward(x)


def build_spec_model(spec: str | list | dict, in_channels: int, num_classes: int,
                     input_size: tuple[int, int], *, log: Callable[[str], None] | None = None) -> SpecNet:
    """The ``nn.Module`` of ``spec`` for (in_channels, H, W) inputs and ``num_classes``.

    >>> m = build_spec_model("conv 3x3 8 p1; relu; gap", 1, 10, (28, 28))
    >>> sum(p.numel() for p in m.parameters()), m(torch.zeros(2, 1, 28, 28)).shape
    (170, torch.Size([2, 10]))
    """
    plan = plan_spec(spec, in_channels, num_classes, input_size)
    for note in plan.notes:
        (log or (lambda _m: None))(f"model: {note}")
    return SpecNet(plan)
