"""The compact layer language of ``cnnlab arch`` (contract §3) and its YAML-list form.

A spec is a list of layers separated by ``;`` or new lines, e.g.
``conv 11x11/4 96; relu; maxpool 3x3/2; fc 4096``. A layer's options may come in any
order. The same layers may be given as a YAML list whose items are either such strings
or mappings (``{type: conv, kernel: 3, stride: 2, out: 64, padding: same}``); a mapping
is turned into the compact text first, so both forms mean exactly the same thing.

Nothing here imports torch.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from cnnlab.errors import MAX_ELEMENTS, UsageError, check_shape

__all__ = ["Layer", "KINDS", "ALIASES", "parse_layer", "parse_spec", "load_spec", "parse_input_shape"]

MAX_LAYERS = 10_000  # a spec longer than this is surely a mistake

# canonical kind -> what it takes (shown in error messages)
KINDS: dict[str, str] = {
    "conv": "conv KxK[/S] C_OUT [pP|same|valid|full] [dD] [gG|dw] [nobias]",
    "convt": "convt KxK[/S] C_OUT [pP] [opN] [dD] [gG] [nobias]  (transposed convolution)",
    "maxpool": "maxpool KxK[/S] [pP|same] [dD] [ceil]",
    "avgpool": "avgpool KxK[/S] [pP|same] [ceil]",
    "gap": "gap  (global average pooling)",
    "gmp": "gmp  (global max pooling)",
    "fc": "fc N [nobias]",
    "flatten": "flatten",
    "dropout": "dropout [P]",
    "bn": "bn  (batch norm, 2·C parameters)",
    "lrn": "lrn  (local response normalisation, no parameters)",
    "relu": "relu", "leakyrelu": "leakyrelu", "relu6": "relu6", "sigmoid": "sigmoid",
    "tanh": "tanh", "softmax": "softmax", "gelu": "gelu", "elu": "elu", "silu": "silu",
    "identity": "identity",
}
ALIASES: dict[str, str] = {
    "conv2d": "conv", "convolution": "conv",
    "deconv": "convt", "convtranspose": "convt", "conv_transpose": "convt",
    "convtranspose2d": "convt", "conv_transpose2d": "convt", "upconv": "convt",
    "max_pool": "maxpool", "maxpool2d": "maxpool", "max_pool2d": "maxpool", "mp": "maxpool",
    "avg_pool": "avgpool", "avgpool2d": "avgpool", "avg_pool2d": "avgpool",
    "global_avgpool": "gap", "globalavgpool": "gap", "adaptiveavgpool": "gap",
    "global_maxpool": "gmp", "globalmaxpool": "gmp",
    "linear": "fc", "dense": "fc",
    "batchnorm": "bn", "bn2d": "bn", "batchnorm2d": "bn", "batchnorm1d": "bn", "bn1d": "bn",
    "leaky_relu": "leakyrelu", "swish": "silu",
}
_WINDOWED = {"conv", "convt", "maxpool", "avgpool"}
_POOLS = {"maxpool", "avgpool"}


@dataclass(frozen=True)
class Layer:
    """One parsed layer; pairs are (height, width)."""

    kind: str                                    # a key of KINDS
    text: str                                    # the layer as written (for tables and errors)
    kernel: tuple[int, int] | None = None
    stride: tuple[int, int] | None = None        # None: 1 for conv, the kernel for pools
    padding: tuple[int, int] | str = (0, 0)      # per side (ph, pw), or "same" / "valid" / "full"
    dilation: tuple[int, int] = (1, 1)
    groups: int | str = 1                        # an int, or "dw" (depthwise: groups = C_in)
    out: int | None = None                       # conv/convt C_out, fc N
    in_channels: int | None = None               # optional, checked against the input
    bias: bool = True
    ceil_mode: bool = False
    output_padding: tuple[int, int] = (0, 0)
    p: float | None = None                       # dropout probability
    extra: dict = field(default_factory=dict, compare=False)


def _fail(index: int | None, text: str, message: str) -> UsageError:
    where = f"layer {index} ({text!r})" if index is not None else f"layer {text!r}"
    return UsageError(f"{where}: {message}")


def _int(token: str, what: str, index, text, minimum: int = 1) -> int:
    value = int(token)
    if value < minimum:
        raise _fail(index, text, f"{what} must be >= {minimum}, got {value} in {token!r}")
    if value > MAX_ELEMENTS:
        raise _fail(index, text, f"{what} {value} is over the limit of 2^26 = {MAX_ELEMENTS}")
    return value


def _pair(a: str, b: str | None, what: str, index, text, minimum: int = 1) -> tuple[int, int]:
    first = _int(a, what, index, text, minimum)
    return first, (first if b is None else _int(b, what, index, text, minimum))


_KERNEL = re.compile(r"^(\d+)(?:x(\d+))?(?:/(\d+)(?:x(\d+))?)?$")
_CHANNELS_AT = re.compile(r"^(\d+)@(.+)$")      # "10@5x5": 10 filters of 5x5
_IN_OUT = re.compile(r"^(\d+)->(\d+)$")          # "3->96": C_in -> C_out
_OPTION = re.compile(r"^(p|s|d|g|op)(\d+)(?:x(\d+))?$")


def parse_layer(text: str, index: int | None = None) -> Layer:
    """Parse one layer of the compact language.

    >>> parse_layer("conv 11x11/4 96").kernel, parse_layer("conv 11x11/4 96").stride
    ((11, 11), (4, 4))
    >>> parse_layer("maxpool 3x3/2").stride
    (2, 2)
    """
    original = text.strip()
    cleaned = original.lower().replace("×", "x").replace(",", " ")
    tokens = cleaned.split()
    if not tokens:
        raise _fail(index, original, "empty layer")
    word = tokens[0]
    kind = ALIASES.get(word, word)
    if kind not in KINDS:
        import difflib

        close = difflib.get_close_matches(word, list(KINDS) + list(ALIASES), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise _fail(index, original, f"unknown layer kind {word!r}{hint}; known kinds: {', '.join(KINDS)}")
    usage = f"write it as: {KINDS[kind]}"
    opts: dict[str, Any] = {}

    def put(key: str, value: Any, token: str) -> None:
        if key in opts:
            raise _fail(index, original, f"{key} given twice (at {token!r}); {usage}")
        opts[key] = value

    for token in tokens[1:]:
        m_at = _CHANNELS_AT.match(token)
        if m_at and kind in ("conv", "convt"):
            put("out", _int(m_at.group(1), "channel count", index, original), token)
            token = m_at.group(2)
        m_kernel = _KERNEL.match(token)
        m_opt = _OPTION.match(token)
        m_io = _IN_OUT.match(token)
        if kind in _WINDOWED and m_kernel and ("x" in token or "/" in token or kind in _POOLS):
            kh, kw, sh, sw = m_kernel.groups()
            put("kernel", _pair(kh, kw, "kernel size", index, original), token)
            if sh is not None:
                put("stride", _pair(sh, sw, "stride", index, original), token)
        elif kind in ("conv", "convt", "fc") and token.isdigit():
            put("out", _int(token, "channel count" if kind != "fc" else "unit count", index, original), token)
        elif kind in ("conv", "convt") and m_io:
            put("in_channels", _int(m_io.group(1), "input channels", index, original), token)
            put("out", _int(m_io.group(2), "channel count", index, original), token)
        elif kind in _WINDOWED and token in ("same", "valid", "full"):
            if kind == "convt" or (kind in _POOLS and token == "full"):
                raise _fail(index, original, f"{token!r} padding is not available for {kind}; {usage}")
            put("padding", token, token)
        elif kind in _WINDOWED and m_opt:
            key, a, b = m_opt.groups()
            if key == "g":
                if kind not in ("conv", "convt") or b is not None:
                    raise _fail(index, original, f"unexpected option {token!r}; {usage}")
                put("groups", _int(a, "groups", index, original), token)
            elif key == "op":
                if kind != "convt":
                    raise _fail(index, original, f"output padding {token!r} is only for convt; {usage}")
                put("output_padding", _pair(a, b, "output padding", index, original, 0), token)
            elif key == "p":
                put("padding", _pair(a, b, "padding", index, original, 0), token)
            elif key == "s":
                put("stride", _pair(a, b, "stride", index, original), token)
            elif key == "d":
                if kind == "avgpool":
                    raise _fail(index, original, f"average pooling has no dilation (PyTorch); {usage}")
                put("dilation", _pair(a, b, "dilation", index, original), token)
        elif kind == "conv" and token in ("dw", "depthwise"):
            put("groups", "dw", token)
        elif kind in ("conv", "convt", "fc") and token in ("nobias", "bias"):
            put("bias", token == "bias", token)
        elif kind in _POOLS and token in ("ceil", "ceil_mode"):
            put("ceil_mode", True, token)
        elif kind == "dropout" and re.fullmatch(r"\d*\.?\d+(e-?\d+)?", token):
            p = float(token)
            if not 0 <= p < 1:
                raise _fail(index, original, f"dropout probability must be in [0, 1), got {token}")
            put("p", p, token)
        else:
            raise _fail(index, original, f"unexpected {token!r}; {usage}")

    if kind in _WINDOWED and "kernel" not in opts:
        raise _fail(index, original, f"missing kernel size; {usage}")
    if kind in ("convt", "fc") and "out" not in opts:
        raise _fail(index, original, f"missing {'unit' if kind == 'fc' else 'output channel'} count; {usage}")
    if kind == "conv" and "out" not in opts and opts.get("groups") != "dw":
        raise _fail(index, original, f"missing output channel count; {usage}")
    if kind == "dropout":
        opts.setdefault("p", 0.5)
    return Layer(kind=kind, text=" ".join(original.split()), **opts)


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
        parts.append(kernel if ("x" in kernel or kind not in ("conv", "convt")) else f"{kernel}x{kernel}")
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
            parts.append(f"{prefix}{axes(fields[key])}")
    if "bias" in fields and not fields["bias"]:
        parts.append("nobias")
    if fields.get("ceil_mode"):
        parts.append("ceil")
    if "p" in fields:
        parts.append(str(fields["p"]))
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


LAYOUTS = ("chw", "nchw", "nhwc")


def parse_input_shape(value: str | list | tuple, layout: str = "chw") -> tuple[int, ...]:
    """Input shape as channel-first ``(C, H, W)``, or ``(N,)`` for a flat vector.

    ``value`` is ``"CxHxW"`` (``"HxW"`` means one channel; ``"N"`` a vector), or a list.
    With ``layout="nhwc"`` it reads ``[N×]H×W×C``; with ``"nchw"`` ``[N×]C×H×W``
    (the batch size, if given, is only displayed: every number is per example).

    >>> parse_input_shape("3x227x227")
    (3, 227, 227)
    >>> parse_input_shape("1x32x32x3", layout="nhwc")
    (3, 32, 32)
    """
    if layout not in LAYOUTS:
        raise UsageError(f"unknown layout {layout!r}; choose from {', '.join(LAYOUTS)}")
    if isinstance(value, str):
        text = value.strip().lower()
        parts = re.split(r"\s*[x×,]\s*|\s+", text)
        if not re.fullmatch(r"\d+(\s*[x×,]\s*\d+|\s+\d+)*", text):
            raise UsageError(f"input shape {value!r} is not like CxHxW (e.g. 3x224x224)")
        dims = [int(p) for p in parts]
    elif isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        dims = list(value)
    else:
        raise UsageError(f"input shape {value!r} is not like CxHxW (e.g. 3x224x224)")
    if layout != "chw":
        if len(dims) == 4:
            dims = dims[1:]
        if layout == "nhwc" and len(dims) == 3:
            dims = [dims[2], dims[0], dims[1]]
    if len(dims) == 2:
        dims = [1] + dims
    if len(dims) not in (1, 3):
        raise UsageError(f"input shape {value!r} must have 3 sizes (CxHxW), 2 (HxW) or 1 (a vector)")
    if any(d <= 0 for d in dims):
        raise UsageError(f"input shape {value!r} has a size that is not positive")
    if len(dims) == 1 and dims[0] > MAX_ELEMENTS:
        raise UsageError(f"input vector of {dims[0]} values is over the limit of 2^26 = {MAX_ELEMENTS}")
    if len(dims) == 3:
        check_shape(dims, "input")
    return tuple(dims)
