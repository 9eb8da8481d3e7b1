"""A whole spec of ``cnnlab arch`` (docs/arch.md): many layers, the YAML-list form, a spec file.

A spec is a list of layers separated by ``;`` or new lines, e.g.
``conv 11x11/4 96; relu; maxpool 3x3/2; fc 4096``. A layer's options may come in any
order. The same layers may be given as a YAML list whose items are either such strings
or mappings (``{type: conv, kernel: 3, stride: 2, out: 64, padding: same}``); a mapping
is turned into the compact text first, so both forms mean exactly the same thing. One
layer's language (kinds, tokens, :func:`parse_layer`) is :mod:`cnnlab.arch.spec_layer`.

Nothing here imports torch.
"""

from __future__ import annotations

import os
import re
from typing import Any

from cnnlab.arch.input_shape import LAYOUTS, parse_input_shape
from cnnlab.arch.spec_layer import ALIASES, KINDS, RULES, Layer, parse_layer
from cnnlab.errors import UsageError

__all__ = ["Layer", "KINDS", "ALIASES", "RULES", "MAX_LAYERS", "parse_layer", "parse_spec", "load_spec",
           "parse_input_shape", "LAYOUTS"]

MAX_LAYERS = 10_000  # a spec longer than this is surely a mistake

_DICT_KEYS = {
    "type": "type", "layer": "type", "kind": "type",
    "kernel": "kernel", "kernel_size": "kernel", "k": "kernel", "size": "kernel",
    "stride": "stride", "s": "stride",
    "padding": "padding", "pad": "padding",
    "dilation": "dilation", "d": "dilation",
    "groups": "groups", "g": "groups",
    "out": "out", "out_channels": "out", "channels": "out", "filters": "out",
    "units": "out", "out_features": "out", "n": "out",
    "in": "in", "in_channels": "in",
    "bias": "bias", "ceil_mode": "ceil_mode", "ceil": "ceil_mode",
    "output_padding": "output_padding",
    "p": "p", "rate": "p",
    "branches": "branches",
}


def _dict_to_text(item: dict, index: int) -> str:
    """Turn a YAML mapping into the compact text of the same layer."""
    fields: dict[str, Any] = {}
    for key, value in item.items():
        name = _DICT_KEYS.get(str(key).lower())
        if name is None:
            raise UsageError(f"layer {index}: unknown key {key!r}; keys: {', '.join(sorted(set(_DICT_KEYS)))}")
        fields[name] = value
    if "type" not in fields:
        raise UsageError(f"layer {index}: a mapping needs a 'type' (e.g. type: conv)")
    kind = ALIASES.get(str(fields["type"]).lower(), str(fields["type"]).lower())
    if kind != "dropout" and "p" in fields:  # `p` means padding except for dropout
        fields.setdefault("padding", fields.pop("p"))

    def axes(value: Any) -> str:
        if isinstance(value, (list, tuple)) and len(value) == 2:
            return f"{value[0]}x{value[1]}"
        return str(value).replace(" ", "")

    parts = [str(fields["type"])]
    if "kernel" in fields:
        kernel = axes(fields["kernel"])
        parts.append(kernel if ("x" in kernel or kind not in ("conv", "convt", "res")) else f"{kernel}x{kernel}")
    if "stride" in fields:
        parts.append(f"s{axes(fields['stride'])}")
    if "in" in fields and "out" in fields:
        parts.append(f"{fields['in']}->{fields['out']}")
    elif "out" in fields:
        parts.append(str(fields["out"]))
    elif "in" in fields:
        raise UsageError(f"layer {index}: 'in' needs 'out' as well")
    if "padding" in fields:
        padding = axes(fields["padding"])
        parts.append(padding if padding in ("same", "valid", "full") else f"p{padding}")
    for key, prefix in (("dilation", "d"), ("groups", "g"), ("output_padding", "op")):
        if key in fields:
            value = axes(fields[key])
            # groups: dw (or depthwise) is a word of its own in the text form, not g<N>
            parts.append(value.lower() if key == "groups" and value.lower() in ("dw", "depthwise")
                         else f"{prefix}{value}")
    if "bias" in fields and not fields["bias"]:
        parts.append("nobias")
    if fields.get("ceil_mode"):
        parts.append("ceil")
    if "p" in fields:
        parts.append(str(fields["p"]))
    if "branches" in fields:  # inception: "64,96/128,16/32,32" or a list of numbers / pairs
        value = fields["branches"]
        parts.append(",".join("/".join(map(str, b)) if isinstance(b, (list, tuple)) else str(b)
                              for b in value) if isinstance(value, (list, tuple)) else str(value))
    return " ".join(parts)


def _split_text(text: str) -> list[str]:
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    return [part.strip() for line in lines for part in line.split(";") if part.strip()]


def parse_spec(spec: str | list) -> list[Layer]:
    """Parse a compact spec string, or a list of layer strings / mappings.

    >>> [layer.kind for layer in parse_spec("conv 3x3 16 p1; relu; maxpool 2x2; fc 10")]
    ['conv', 'relu', 'maxpool', 'fc']
    >>> parse_spec([{"type": "conv", "kernel": 5, "out": 6}])[0].text
    'conv 5x5 6'
    """
    if isinstance(spec, str):
        items: list = _split_text(spec)
    elif isinstance(spec, (list, tuple)):
        items = []
        for item in spec:
            if isinstance(item, str):
                items.extend(_split_text(item))
            elif isinstance(item, dict):
                items.append(item)
            else:
                raise UsageError(f"layer {len(items) + 1}: expected a string or a mapping, got {item!r}")
    else:
        raise UsageError(f"a spec is a string or a list of layers, got {type(spec).__name__}")
    if not items:
        raise UsageError("the spec has no layers")
    if len(items) > MAX_LAYERS:
        raise UsageError(f"the spec has {len(items)} layers, over the limit of {MAX_LAYERS}")
    layers = []
    for i, item in enumerate(items, start=1):
        text = _dict_to_text(item, i) if isinstance(item, dict) else item
        layers.append(parse_layer(text, i))
    return layers


def load_spec(spec: str | list | dict) -> tuple[list[Layer], tuple[int, ...] | None]:
    """Layers and the input shape (if the source names one) from a spec, a path or YAML.

    A file (or string) may hold the compact language, a YAML list of layers, or a YAML
    mapping ``{input: 3x32x32, layers: [...]}``.
    """
    source = spec
    if isinstance(spec, str) and "\n" not in spec and ";" not in spec and len(spec) < 4096 \
            and os.path.isfile(spec):
        try:
            with open(spec, encoding="utf-8") as handle:
                source = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read spec file {spec}: {exc}") from None
    if isinstance(source, str) and source.lstrip()[:1] in ("-", "[", "{") or \
            isinstance(source, str) and re.search(r"^\s*layers\s*:", source, re.M):
        import yaml

        try:
            source = yaml.safe_load(source)
        except yaml.YAMLError as exc:
            raise UsageError(f"the spec is not valid YAML: {str(exc).splitlines()[0]}") from None
    shape = None
    if isinstance(source, dict):
        unknown = set(source) - {"input", "layers", "title"}
        if unknown or "layers" not in source:
            raise UsageError("a spec mapping has 'layers' (and optionally 'input', 'title'); "
                             f"got keys {', '.join(map(str, source))}")
        if source.get("input") is not None:
            shape = parse_input_shape(source["input"])
        source = source["layers"]
    return parse_spec(source), shape
