"""One layer of the compact language of ``cnnlab arch`` (docs/arch.md): its kinds, its
tokens and :func:`parse_layer`.

``conv 11x11/4 96`` is a kind word and tokens in any order; each kind has a rule
(:data:`RULES`) naming the token readers it takes, so a new option is a reader and a word
in a rule. A whole spec (many layers, the YAML form, a spec file) is :mod:`cnnlab.arch.spec`.

Nothing here imports torch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from cnnlab.errors import MAX_ELEMENTS, UsageError

__all__ = ["Layer", "KINDS", "ALIASES", "RULES", "parse_layer"]

# canonical kind -> what it takes (shown in error messages)
KINDS: dict[str, str] = {
    "conv": "conv KxK[/S] C_OUT [pP|same|valid|full] [dD] [gG|dw] [nobias]",
    "convt": "convt KxK[/S] C_OUT [pP] [opN] [dD] [gG] [nobias]  (transposed convolution)",
    "maxpool": "maxpool KxK[/S] [pP|same] [dD] [ceil]",
    "avgpool": "avgpool KxK[/S] [pP|same] [ceil]",
    "res": "res [KxK][/S] C_OUT  (residual block: conv-bn-relu-conv-bn plus a shortcut, then relu)",
    "inception": "inception C1,C3R/C3,C5R/C5,CP  (GoogLeNet block as torchvision builds it: four "
                 "branches 1x1 | 1x1-3x3 | 1x1-3x3 (torchvision's \"5x5\") | maxpool 3x3/1-1x1, "
                 "each conv with bn and relu, concatenated)",
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
    "residual": "res", "resblock": "res", "basicblock": "res",
    "inceptionblock": "inception", "inception_block": "inception",
}


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
    branches: tuple[int, ...] | None = None      # inception (C1, C3R, C3, C5R, C5, CP)
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


@dataclass(frozen=True)
class _KindRule:
    """What a layer kind accepts: token readers (tried in order) and required fields.

    ``readers``: names in :data:`_READERS`. ``options``: the letter options (``p``, ``s``,
    ``d``, ``g``, ``op``) it takes; ``pad_words``: ``same``/``valid``/``full`` it takes.
    ``defaults``: fields filled in when absent; ``required``: (field, what) pairs.
    """

    readers: tuple[str, ...] = ()
    options: frozenset = frozenset()
    pad_words: frozenset = frozenset()
    defaults: tuple[tuple[str, Any], ...] = ()
    required: tuple[tuple[str, str], ...] = ()


_CONV_READERS = ("at", "window", "count", "in_out", "pad_word", "option", "bias")
_POOL_READERS = ("window", "pad_word", "option", "ceil")
RULES: dict[str, _KindRule] = {
    "conv": _KindRule(_CONV_READERS + ("dw",), frozenset({"p", "s", "d", "g"}),
                      frozenset({"same", "valid", "full"}),
                      required=(("kernel", "kernel size"), ("out", "output channel count"))),
    "convt": _KindRule(_CONV_READERS, frozenset({"p", "s", "d", "g", "op"}), frozenset(),
                       required=(("kernel", "kernel size"), ("out", "output channel count"))),
    "maxpool": _KindRule(_POOL_READERS, frozenset({"p", "s", "d"}), frozenset({"same", "valid"}),
                         required=(("kernel", "kernel size"),)),
    "avgpool": _KindRule(_POOL_READERS, frozenset({"p", "s"}), frozenset({"same", "valid"}),
                         required=(("kernel", "kernel size"),)),
    "res": _KindRule(("window", "count", "option"), frozenset({"s"}),
                     defaults=(("kernel", (3, 3)),), required=(("out", "output channel count"),)),
    "fc": _KindRule(("count", "bias"), required=(("out", "unit count"),)),
    "inception": _KindRule(("branches",), required=(("branches", "branch widths C1,C3R/C3,C5R/C5,CP"),)),
    "dropout": _KindRule(("prob",), defaults=(("p", 0.5),)),
    **{kind: _KindRule() for kind in ("gap", "gmp", "flatten", "bn", "lrn", "relu", "leakyrelu",
                                      "relu6", "sigmoid", "tanh", "softmax", "gelu", "elu", "silu",
                                      "identity")},
}
# why a letter option is refused for a kind that does not take it (default: "unexpected")
_REFUSED_OPTION = {("avgpool", "d"): "average pooling has no dilation (PyTorch)",
                   ("maxpool", "op"): "output padding {token!r} is only for convt",
                   ("avgpool", "op"): "output padding {token!r} is only for convt",
                   ("conv", "op"): "output padding {token!r} is only for convt"}


class _Reader:
    """The state of one layer being parsed: its kind, text and the fields found so far."""

    def __init__(self, kind: str, index: int | None, original: str):
        self.kind, self.index, self.original = kind, index, original
        self.rule = RULES[kind]
        self.usage = f"write it as: {KINDS[kind]}"
        self.opts: dict[str, Any] = {}

    def fail(self, message: str) -> UsageError:
        return _fail(self.index, self.original, message)

    def put(self, key: str, value: Any, token: str) -> None:
        if key in self.opts:
            raise self.fail(f"{key} given twice (at {token!r}); {self.usage}")
        self.opts[key] = value

    def int(self, token: str, what: str, minimum: int = 1) -> int:
        return _int(token, what, self.index, self.original, minimum)

    def pair(self, a: str, b: str | None, what: str, minimum: int = 1) -> tuple[int, int]:
        return _pair(a, b, what, self.index, self.original, minimum)


def _count_name(r: _Reader) -> str:
    return "unit count" if r.kind == "fc" else "channel count"


def _read_at(r: _Reader, token: str) -> str | None:
    """``10@5x5``: the count, then the rest is read again (returns the rest)."""
    m = _CHANNELS_AT.match(token)
    if not m:
        return None
    r.put("out", r.int(m.group(1), "channel count"), token)
    return m.group(2)


def _read_window(r: _Reader, token: str) -> bool:
    m = _KERNEL.match(token)
    # a bare number is a kernel only for pools (``maxpool 2``); for conv it is C_OUT
    if not m or not ("x" in token or "/" in token or r.kind in _POOLS):
        return False
    kh, kw, sh, sw = m.groups()
    r.put("kernel", r.pair(kh, kw, "kernel size"), token)
    if sh is not None:
        r.put("stride", r.pair(sh, sw, "stride"), token)
    return True


def _read_count(r: _Reader, token: str) -> bool:
    if not token.isdigit():
        return False
    r.put("out", r.int(token, _count_name(r)), token)
    return True


def _read_in_out(r: _Reader, token: str) -> bool:
    m = _IN_OUT.match(token)
    if not m:
        return False
    r.put("in_channels", r.int(m.group(1), "input channels"), token)
    r.put("out", r.int(m.group(2), "channel count"), token)
    return True


def _read_pad_word(r: _Reader, token: str) -> bool:
    if token not in ("same", "valid", "full"):
        return False
    if token not in r.rule.pad_words:
        raise r.fail(f"{token!r} padding is not available for {r.kind}; {r.usage}")
    r.put("padding", token, token)
    return True


_OPTION_FIELDS = {"p": ("padding", "padding", 0), "s": ("stride", "stride", 1),
                  "d": ("dilation", "dilation", 1), "op": ("output_padding", "output padding", 0)}


def _read_option(r: _Reader, token: str) -> bool:
    m = _OPTION.match(token)
    if not m:
        return False
    key, a, b = m.groups()
    if key not in r.rule.options:
        reason = _REFUSED_OPTION.get((r.kind, key), "unexpected option {token!r}")
        raise r.fail(f"{reason.format(token=token)}; {r.usage}")
    if key == "g":
        if b is not None:
            raise r.fail(f"unexpected option {token!r}; {r.usage}")
        r.put("groups", r.int(a, "groups"), token)
        return True
    name, what, minimum = _OPTION_FIELDS[key]
    r.put(name, r.pair(a, b, what, minimum), token)
    return True


def _read_word(words: tuple[str, ...], key: str, value: Callable[[str], Any]) -> Callable:
    def read(r: _Reader, token: str) -> bool:
        if token not in words:
            return False
        r.put(key, value(token), token)
        return True

    return read


def _read_prob(r: _Reader, token: str) -> bool:
    if not re.fullmatch(r"\d*\.?\d+(e-?\d+)?", token):
        return False
    p = float(token)
    if not 0 <= p < 1:
        raise r.fail(f"dropout probability must be in [0, 1), got {token}")
    r.put("p", p, token)
    return True


_BRANCH = re.compile(r"^(\d+)(?:/(\d+))?$")
_BRANCH_PATTERN = (1, 2, 2, 1)  # C1, C3R/C3, C5R/C5, CP: how many numbers each branch has


def _read_branches(r: _Reader, token: str) -> bool:
    """One branch of ``inception 64,96/128,16/32,32`` (the commas split the tokens)."""
    m = _BRANCH.match(token)
    if not m:
        return False
    found = r.opts.setdefault("_branch_tokens", [])
    numbers = [r.int(g, "branch width") for g in m.groups() if g is not None]
    if len(found) >= len(_BRANCH_PATTERN) or len(numbers) != _BRANCH_PATTERN[len(found)]:
        raise r.fail(f"branch {token!r} out of place; {r.usage}")
    found.append(tuple(numbers))
    return True


_READERS: dict[str, Callable[[_Reader, str], Any]] = {
    "at": _read_at, "window": _read_window, "count": _read_count, "in_out": _read_in_out,
    "pad_word": _read_pad_word, "option": _read_option, "prob": _read_prob,
    "dw": _read_word(("dw", "depthwise"), "groups", lambda _t: "dw"),
    "bias": _read_word(("nobias", "bias"), "bias", lambda t: t == "bias"),
    "ceil": _read_word(("ceil", "ceil_mode"), "ceil_mode", lambda _t: True),
    "branches": _read_branches,
}


def _kind_of(word: str, index: int | None, original: str) -> str:
    kind = ALIASES.get(word, word)
    if kind not in KINDS:
        import difflib

        close = difflib.get_close_matches(word, list(KINDS) + list(ALIASES), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise _fail(index, original, f"unknown layer kind {word!r}{hint}; known kinds: {', '.join(KINDS)}")
    return kind


def _read_token(r: _Reader, token: str) -> None:
    for name in r.rule.readers:
        result = _READERS[name](r, token)
        if isinstance(result, str):  # "10@5x5": the rest is a token of its own
            return _read_token(r, result)
        if result:
            return None
    raise r.fail(f"unexpected {token!r}; {r.usage}")


def parse_layer(text: str, index: int | None = None) -> Layer:
    """Parse one layer of the compact language (one rule per kind in :data:`RULES`).

    >>> parse_layer("conv 11x11/4 96").kernel, parse_layer("conv 11x11/4 96").stride
    ((11, 11), (4, 4))
    >>> parse_layer("maxpool 3x3/2").stride
    (2, 2)
    >>> parse_layer("res 3x3/2 128").out
    128
    >>> parse_layer("inception 64,96/128,16/32,32").branches
    (64, 96, 128, 16, 32, 32)
    """
    original = text.strip()
    tokens = original.lower().replace("×", "x").replace(",", " ").split()
    if not tokens:
        raise _fail(index, original, "empty layer")
    r = _Reader(_kind_of(tokens[0], index, original), index, original)
    for token in tokens[1:]:
        _read_token(r, token)
    found = r.opts.pop("_branch_tokens", None)
    if found is not None:
        if len(found) != len(_BRANCH_PATTERN):
            raise r.fail(f"an inception block has 4 branches, got {len(found)}; {r.usage}")
        branches = tuple(n for group in found for n in group)  # (C1, C3R, C3, C5R, C5, CP)
        r.opts["branches"] = branches
        r.opts["out"] = branches[0] + branches[2] + branches[4] + branches[5]
    for key, value in r.rule.defaults:
        r.opts.setdefault(key, value)
    for key, what in r.rule.required:
        if key == "out" and r.opts.get("groups") == "dw":
            continue  # depthwise: C_out = C_in unless given
        if key not in r.opts:
            raise r.fail(f"missing {what}; {r.usage}")
    if r.kind == "res" and any(k % 2 == 0 for k in r.opts["kernel"]):
        raise r.fail(f"a residual block needs an odd kernel (padding k//2 keeps the size), "
                     f"got {r.opts['kernel'][0]}x{r.opts['kernel'][1]}")
    return Layer(kind=r.kind, text=" ".join(original.split()), **r.opts)
