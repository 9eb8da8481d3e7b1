"""Per-operation rules for PyTorch graphs: cost, compact spec text and receptive field.

Used by :mod:`cnnlab.arch.torch_analyze`; nothing here imports torch at module level
(modules are recognised by class name, functions by ``__name__``).

Receptive fields travel with each tensor as a :class:`Geo`: the state of the image's
height and width axes plus where they sit in the tensor — ``map`` (N, C, H, W), ``nhwc``
(N, H, W, C, as ConvNeXt permutes to) or ``flat`` (the spatial axes merged into other
dimensions: after flatten, or as tokens). A linear layer or attention over ``flat`` data
sees the whole map; element-wise ops, additions and concatenations merge their inputs'
fields (the union: the largest over all paths).

MAC conventions: conv ``weight.numel()·H_out·W_out``, transposed conv
``weight.numel()·H_in·W_in``, linear ``weight.numel()`` per output row (attention's
Q/K/V and output projections are linear layers); biases, batch norm, pooling,
activations and additions count 0. Products of two activations — attention's Q·Kᵀ and
A·V, and any ``matmul``/``bmm`` of two tensors — go to the separate ``attention_macs``
(see docs/arch.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from cnnlab.arch.receptive_field import (AxisRF, through_global, through_transposed,
                                         through_window, union)

__all__ = ["Geo", "CONST", "Op", "merge", "module_rule", "function_rule"]


@dataclass(frozen=True)
class Geo:
    """Receptive-field state of a tensor: height and width axes, and their layout."""

    kind: str                       # "map" (N,C,H,W), "nhwc" (N,H,W,C) or "flat"
    axes: tuple[AxisRF, AxisRF]     # (height, width)


CONST = Geo("const", ())  # parameters and constants: no field, ignored when merging


@dataclass
class Op:
    """What one graph node contributes: a table row (when ``row``) and its output geometry."""

    geo: Geo | None
    row: bool = False
    type: str = ""
    spec: str = ""
    macs: int = 0
    stored: bool = True
    attention_macs: int = 0
    note: str | None = None


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _spatial(shape) -> tuple[int, int] | None:
    """(H, W) of a feature map: the last two axes of a tensor of rank 4 or more."""
    return (shape[-2], shape[-1]) if shape is not None and len(shape) >= 4 else None


def merge(geos: list, out_shape) -> Geo | None:
    """Union of the inputs' fields (branches merging), in the output's layout."""
    known = [g for g in geos if g is not CONST]
    if not known or any(g is None for g in known):
        return None if known else CONST
    hw = _spatial(out_shape)
    for kind, size in (("map", hw), ("nhwc", (out_shape[1], out_shape[2]) if out_shape and len(out_shape) == 4 else None)):
        same = [g for g in known if g.kind == kind and (g.axes[0].n, g.axes[1].n) == size]
        if same:
            return Geo(kind, tuple(union([g.axes[a] for g in known], size[a]) for a in range(2)))
    n = [max(g.axes[a].n for g in known) for a in range(2)]
    return Geo("flat", tuple(union([g.axes[a] for g in known], n[a]) for a in range(2)))


def _window_geo(geo: Geo | None, kernel, stride, pads, out_shape, dilation=(1, 1)) -> Geo | None:
    if geo is None or geo.kind != "map":
        return None
    hw = _spatial(out_shape)
    return Geo("map", tuple(through_window(geo.axes[a], kernel[a], stride[a], pads[a], hw[a], dilation[a])
                            for a in range(2)))


def _global_geo(geo: Geo | None, kind: str = "flat") -> Geo | None:
    if geo is None or geo is CONST:
        return geo
    return Geo(kind, (through_global(geo.axes[0]), through_global(geo.axes[1])))


def _adaptive_geo(geo: Geo | None, in_shape, out_shape) -> Geo | None:
    if geo is None or geo.kind != "map":
        return None
    axes = []
    for a, (n, m) in enumerate(zip(_spatial(in_shape), _spatial(out_shape))):
        axis = geo.axes[a]
        if m == 1:
            axes.append(through_global(axis))
        elif n % m == 0:
            axes.append(through_window(axis, n // m, n // m, 0, m))
        else:  # windows [floor(i·n/m), ceil((i+1)·n/m)): unit 0 spans ceil(n/m), jump n/m
            width = -(-n // m)
            axes.append(AxisRF(m, axis.jump * Fraction(n, m), axis.lo, axis.hi + (width - 1) * axis.jump))
    return Geo("map", tuple(axes))


def _hw_text(pair, sep="x") -> str:
    return f"{pair[0]}{sep}{pair[1]}"


def _conv_spec(kind: str, k, s, p, d, groups, out, bias, op=(0, 0)) -> str:
    text = f"{kind} {_hw_text(k)}" + (f"/{s[0]}" if s[0] == s[1] else f"/{_hw_text(s)}") + f" {out}"
    if p == "same":
        text += " same"
    elif p != (0, 0):
        text += f" p{p[0]}" if p[0] == p[1] else f" p{_hw_text(p)}"
    if op != (0, 0):
        text += f" op{op[0]}" if op[0] == op[1] else f" op{_hw_text(op)}"
    if d != (1, 1):
        text += f" d{d[0]}" if d[0] == d[1] else f" d{_hw_text(d)}"
    if groups != 1:
        text += f" g{groups}"
    return text + ("" if bias else " nobias")


def _pool_spec(kind, k, s, p, d=(1, 1), ceil=False) -> str:
    text = f"{kind} {_hw_text(k)}" + (f"/{s[0]}" if s[0] == s[1] else f"/{_hw_text(s)}")
    if p != (0, 0):
        text += f" p{p[0]}" if p[0] == p[1] else f" p{_hw_text(p)}"
    if d != (1, 1):
        text += f" d{d[0]}" if d[0] == d[1] else f" d{_hw_text(d)}"
    return text + (" ceil" if ceil else "")


_ACTIVATIONS = {"ReLU": "relu", "ReLU6": "relu6", "LeakyReLU": "leakyrelu", "SiLU": "silu", "GELU": "gelu",
                "ELU": "elu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Hardswish": "hardswish",
                "Hardsigmoid": "hardsigmoid", "Mish": "mish", "PReLU": "prelu", "Softplus": "softplus"}
_VIEWS = {"Dropout": "dropout", "Dropout2d": "dropout", "Identity": "identity", "StochasticDepth": "identity"}
_NORMS = {"BatchNorm1d", "BatchNorm2d", "SyncBatchNorm", "GroupNorm", "InstanceNorm2d", "LocalResponseNorm",
          "LayerNorm", "LayerNorm2d"}


# modules traced as one row (their forward is not walked): attention blocks
ATTENTION_MODULES = ("MultiheadAttention", "ShiftedWindowAttention", "ShiftedWindowAttentionV2")


def _mha_macs(module, shapes) -> tuple[int, int]:
    """(projection MACs, attention MACs) of ``nn.MultiheadAttention`` on query/key/value shapes.

    Projections: L_q·E·E (query) + L_k·E·kdim + L_k·E·vdim + L_q·E·E (output); the
    products Q·Kᵀ and A·V: 2·L_q·L_k·E over all heads. Shapes are (N, L, E) with
    ``batch_first``, else (L, N, E); a 2-D shape is one unbatched sequence.
    """
    q = shapes[0]
    k = shapes[1] if len(shapes) > 1 and shapes[1] is not None else q
    def tokens(shape):  # noqa: E306 - (batch·length) of a query/key/value shape
        return math.prod(shape[:-1])
    batch = 1 if len(q) == 2 else (q[0] if module.batch_first else q[1])
    E = module.embed_dim
    in_proj = (E * E + E * module.kdim + E * module.vdim)
    proj = tokens(q) * E * E + tokens(k) * (E * module.kdim + E * module.vdim) if len(shapes) > 1 \
        else tokens(q) * in_proj
    proj += tokens(q) * module.out_proj.weight.numel()
    Lq, Lk = tokens(q) // batch, tokens(k) // batch
    return proj, 2 * batch * Lq * Lk * E


def _window_attention_macs(module, in_shape) -> tuple[int, int]:
    """(projection MACs, attention MACs) of torchvision Swin's window attention on (N, H, W, C).

    The map is padded to whole windows; every padded position goes through the qkv and
    output projections; each window of N_w = wh·ww tokens costs 2·N_w²·C in Q·Kᵀ and A·V.
    Swin V2 adds its relative-position MLP (``cpb_mlp``) on the (2wh−1)(2ww−1) offsets.
    """
    n, H, W, C = in_shape
    wh, ww = module.window_size
    ph, pw = -(-H // wh) * wh, -(-W // ww) * ww
    tokens = n * ph * pw
    proj = tokens * (module.qkv.weight.numel() + module.proj.weight.numel())
    cpb = getattr(module, "cpb_mlp", None)
    if cpb is not None:
        offsets = (2 * wh - 1) * (2 * ww - 1)
        proj += sum(offsets * m.weight.numel() for m in cpb.modules() if type(m).__name__ == "Linear")
    windows = n * (ph // wh) * (pw // ww)
    return proj, 2 * windows * (wh * ww) ** 2 * C


def module_rule(module, in_geo: Geo | None, in_shape, out_shape, in_shapes=None) -> Op:
    """Rule for a call of a leaf module; shapes include the batch dimension.

    ``in_shapes``: the shapes of all tensor inputs (attention's query, key, value).
    """
    name = type(module).__name__
    if name in ("Conv2d", "ConvTranspose2d"):
        k, s, d = _pair(module.kernel_size), _pair(module.stride), _pair(module.dilation)
        hw_in, hw_out = _spatial(in_shape), _spatial(out_shape)
        if name == "Conv2d":
            if module.padding == "same":
                total = [d[a] * (k[a] - 1) for a in range(2)]
                pads, spec_pad = [t // 2 for t in total], "same"
            else:
                pads = [0, 0] if module.padding == "valid" else list(_pair(module.padding))
                spec_pad = tuple(pads)
            geo = _window_geo(in_geo, k, s, pads, out_shape, d)
            spec = _conv_spec("conv", k, s, spec_pad, d, module.groups, module.out_channels, module.bias is not None)
            return Op(geo, True, "conv", spec, module.weight.numel() * math.prod(hw_out))
        p, op = _pair(module.padding), _pair(module.output_padding)
        geo = None
        if in_geo is not None and in_geo.kind == "map":
            geo = Geo("map", tuple(through_transposed(in_geo.axes[a], k[a], s[a], p[a], hw_out[a], d[a])
                                   for a in range(2)))
        spec = _conv_spec("convt", k, s, p, d, module.groups, module.out_channels, module.bias is not None, op)
        return Op(geo, True, "convt", spec, module.weight.numel() * math.prod(hw_in))
    if name == "Linear":
        rows = math.prod(out_shape[1:-1]) if len(out_shape) > 2 else 1
        spec = f"fc {module.out_features}" + ("" if module.bias is not None else " nobias")
        # (N, F): every feature, so the whole map; (N, tokens, F) or NHWC: per position
        geo = _global_geo(in_geo) if in_shape is not None and len(in_shape) == 2 else in_geo
        return Op(geo, True, "fc", spec, module.weight.numel() * rows)
    if name in ("MaxPool2d", "AvgPool2d"):
        k, p = _pair(module.kernel_size), _pair(module.padding)
        s = _pair(module.stride if module.stride is not None else module.kernel_size)
        d = _pair(getattr(module, "dilation", 1))
        kind = "maxpool" if name == "MaxPool2d" else "avgpool"
        return Op(_window_geo(in_geo, k, s, p, out_shape, d), True, kind,
                  _pool_spec(kind, k, s, p, d, module.ceil_mode))
    if name in ("AdaptiveAvgPool2d", "AdaptiveMaxPool2d"):
        whole = _spatial(out_shape) == (1, 1)
        kind = ("gap" if "Avg" in name else "gmp") if whole else name.lower()
        spec = kind if whole else f"{name.lower()} {_hw_text(_spatial(out_shape))}"
        return Op(_adaptive_geo(in_geo, in_shape, out_shape), True, kind, spec)
    if name == "Flatten":
        return Op(_flat(in_geo), True, "flatten", "flatten", stored=False)
    if name in _ACTIVATIONS:
        kind = _ACTIVATIONS[name]
        return Op(in_geo, True, kind, kind, stored=not getattr(module, "inplace", False))
    if name in _VIEWS:
        return Op(in_geo, True, _VIEWS[name], _VIEWS[name] + (f" {module.p:g}" if name.startswith("Dropout") else ""),
                  stored=False)
    if name in _NORMS:
        kind = "bn" if "BatchNorm" in name else ("lrn" if name == "LocalResponseNorm" else name.lower())
        geo = in_geo
        if name == "LayerNorm" and in_geo is not None and in_geo.kind == "flat":
            geo = _global_geo(in_geo) if len(module.normalized_shape) > 1 else in_geo
        return Op(geo, True, kind, kind)
    if name == "Softmax":
        geo = in_geo if module.dim in (1, -3) and in_geo is not None and in_geo.kind == "map" else _global_geo(in_geo)
        return Op(geo, True, "softmax", "softmax")
    if name == "MultiheadAttention":
        macs, attention = _mha_macs(module, [s for s in (in_shapes or [in_shape]) if s is not None])
        return Op(_global_geo(in_geo), True, "attention", f"attention {module.num_heads} heads", macs,
                  attention_macs=attention)
    if name in ("ShiftedWindowAttention", "ShiftedWindowAttentionV2"):
        macs, attention = _window_attention_macs(module, in_shape)
        wh, ww = module.window_size
        shift = tuple(module.shift_size)
        spec = f"window attention {wh}x{ww} {module.num_heads} heads" + (f" shift {shift[0]}" if any(shift) else "")
        return Op(None, True, "attention", spec, macs, attention_macs=attention,
                  note="receptive field not tracked through window attention")
    same = in_shape is not None and out_shape is not None and tuple(in_shape) == tuple(out_shape)
    return Op(in_geo if same else None, True, name.lower(), name.lower(),
              note=None if same else f"receptive field not tracked through {name}")


def _einsum_work(equation: str, shapes: list) -> int | None:
    """Multiply-accumulates of an einsum: the product of the sizes of all its indices."""
    equation = equation.replace(" ", "")
    if "..." in equation or "->" not in equation:
        return None
    operands = equation.split("->")[0].split(",")
    sizes: dict[str, int] = {}
    for letters, shape in zip(operands, shapes):
        if shape is None or len(letters) != len(shape):
            return None
        sizes.update(zip(letters, shape))
    return math.prod(sizes.values())


def _matmul_rule(name: str, args: dict, in_geos: list, in_shapes: list, out_shape, tensors: int) -> Op:
    """``matmul``/``bmm``: out·K multiply-accumulates (K the contracted length); attention
    MACs when both operands are activations, plain MACs when one is a parameter."""
    geo = merge(in_geos, out_shape)
    if name == "scaled_dot_product_attention":  # Q·Kᵀ (L·S·E) and A·V (L·S·Ev)
        v = in_shapes[2] if len(in_shapes) > 2 and in_shapes[2] is not None else in_shapes[0]
        work = math.prod(out_shape[:-1]) * in_shapes[1][-2] * (in_shapes[0][-1] + v[-1])
        return Op(geo, True, "attention", "attention", attention_macs=work)
    work = math.prod(out_shape) * in_shapes[0][-1]
    if name == "einsum":
        work = _einsum_work(args.get("equation", ""), in_shapes)
        if work is None:
            return Op(geo, note="an einsum with '...' is not counted")
    if tensors >= 2:
        return Op(geo, True, "matmul", name, attention_macs=work)
    return Op(geo, True, "matmul", name, work)


def _flat(geo: Geo | None) -> Geo | None:
    return Geo("flat", geo.axes) if geo is not None and geo is not CONST else geo


_ELEMENTWISE = {"add", "sub", "mul", "truediv", "iadd", "imul", "add_", "mul_", "div", "maximum", "minimum"}
_PASS = {"relu", "relu_", "relu6", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid", "dropout",
         "leaky_relu", "elu", "contiguous", "clone", "float", "to", "type_as", "detach", "sigmoid_", "clamp",
         "hardtanh", "stochastic_depth", "layer_norm", "batch_norm"}
_MATMULS = {"matmul", "bmm", "einsum", "scaled_dot_product_attention"}  # products of two activations
_ROWLESS = {"contiguous", "clone", "float", "to", "type_as", "detach", "clamp", "getitem", "getattr", "size"}


def function_rule(name: str, args: dict, in_geos: list, in_shapes: list, out_shape) -> Op:
    """Rule for ``call_function`` / ``call_method`` nodes (``name`` without module path).

    ``args`` holds the non-tensor arguments by name where the rule needs them (kernel_size,
    stride, padding, dilation, ceil_mode, start_dim, dims); shapes include the batch.
    """
    first_geo = in_geos[0] if in_geos else CONST
    first_shape = in_shapes[0] if in_shapes else None
    tensors = sum(1 for g in in_geos if g is not CONST)
    if name in _ELEMENTWISE:
        geo = merge(in_geos, out_shape)
        return Op(geo, tensors >= 2, name.rstrip("_").replace("iadd", "add").replace("imul", "mul"),
                  name.rstrip("_"), stored=not name.endswith("_") and not name.startswith("i"))
    if name in _MATMULS and len(in_shapes) >= 2 and out_shape is not None \
            and all(s is not None and len(s) >= 2 for s in in_shapes[:2]):
        return _matmul_rule(name, args, in_geos, in_shapes, out_shape, tensors)
    if name in ("cat", "concat", "stack"):
        return Op(merge(in_geos, out_shape), True, "cat", "cat")
    if name in _PASS:
        return Op(first_geo, name not in _ROWLESS and name not in ("layer_norm",),
                  name.rstrip("_"), name.rstrip("_"), stored=not name.endswith("_"))
    if name in ("max_pool2d", "avg_pool2d"):
        k = _pair(args["kernel_size"])
        s = _pair(args.get("stride") or args["kernel_size"])
        p, d = _pair(args.get("padding", 0)), _pair(args.get("dilation", 1))
        kind = name.replace("_pool2d", "pool")
        return Op(_window_geo(first_geo, k, s, p, out_shape, d), True, kind,
                  _pool_spec(kind, k, s, p, d, bool(args.get("ceil_mode", False))))
    if name in ("adaptive_avg_pool2d", "adaptive_max_pool2d"):
        whole = _spatial(out_shape) == (1, 1)
        kind = ("gap" if "avg" in name else "gmp") if whole else name
        return Op(_adaptive_geo(first_geo, first_shape, out_shape), True, kind, kind)
    if name in ("mean", "amax", "sum") and out_shape is not None and first_shape is not None:
        if first_geo is not None and first_geo.kind == "map" and len(out_shape) in (2, 4) and \
                out_shape[1] == first_shape[1] and math.prod(out_shape[2:]) == 1:
            return Op(_global_geo(first_geo, "map" if len(out_shape) == 4 else "flat"), True, "gap", "gap")
    if name == "permute" and first_geo is not None and first_geo is not CONST and first_geo.kind in ("map", "nhwc"):
        dims = tuple(d % 4 for d in args.get("dims", ()))
        if dims == (0, 2, 3, 1) and first_geo.kind == "map":
            return Op(Geo("nhwc", first_geo.axes))
        if dims == (0, 3, 1, 2) and first_geo.kind == "nhwc":
            return Op(Geo("map", first_geo.axes))
    if first_shape is not None and out_shape is not None and tuple(first_shape) == tuple(out_shape):
        return Op(merge(in_geos, out_shape))
    if first_geo is not None and first_geo is not CONST and first_geo.kind == "map" and \
            _spatial(out_shape) is not None and _spatial(out_shape) == _spatial(first_shape):
        return Op(merge(in_geos, out_shape))  # chunk, channel shuffle: the spatial axes are untouched
    if name in ("flatten", "view", "reshape") and out_shape is not None and first_shape is not None:
        flat = len(out_shape) == 2 and name != "flatten" or name == "flatten"
        return Op(_flat(first_geo), flat, "flatten", "flatten", stored=False)
    if out_shape is not None and first_shape is not None and len(out_shape) < 4 and first_geo is not None:
        return Op(_flat(merge(in_geos, out_shape)) if tensors else CONST)
    return Op(None if tensors else CONST, note=f"receptive field not tracked through {name}" if tensors else None)
