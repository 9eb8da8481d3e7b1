"""One unit of a trained network worked out by hand, from the run's own numbers (docs/serve.md, "/network").

A unit is one value of one layer's output: ``(channel, row, col)`` of a (C, H, W) map, or
``(f, 0, 0)`` of a (F,) vector. :func:`unit_arithmetic` recomputes it from the layer's
recorded input (:mod:`cnnlab.explain.network_record`) and the layer's weights, step by
step, and returns the steps with the value they end in (``value``) beside the model's own
forward value (``forward``). Convolutions and poolings go through the step engine of
``cnnlab conv --steps`` (:func:`cnnlab.steps.trace_conv2d`, :func:`~cnnlab.steps.trace_pool2d`),
so the page shows the same window, products and sum; a convolution's unit is its value
before the activation that follows it, as the model computes it.

One function per module kind, in :data:`UNIT_RULES`; a module with no rule gets its forward
value and a note saying that no arithmetic is shown.

>>> import torch
>>> from torch import nn
>>> from cnnlab.explain.network_record import record_network
>>> net = nn.Sequential(nn.Conv2d(1, 1, 2, bias=False))
>>> with torch.no_grad():
...     _ = net[0].weight.copy_(torch.tensor([[[[1., 0.], [0., -1.]]]]))
>>> rec = record_network(net, torch.arange(9.).reshape(1, 1, 3, 3))
>>> unit = unit_arithmetic(rec, "0", 0, 1, 1)
>>> unit["kind"], unit["cell"]["products"], unit["value"], unit["forward"]
('conv', [[[4.0, 0.0], [0.0, -8.0]]], -4.0, -4.0)
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from cnnlab.errors import UsageError
from cnnlab.explain.network_record import Recording, shown_source, skip_parts

__all__ = ["unit_arithmetic", "UNIT_RULES", "MAX_CONTRIBUTIONS", "unit_index"]

MAX_CONTRIBUTIONS = 10  # a linear unit's largest terms listed one by one

Rule = Callable[[Recording, str, int, int, int], dict]


def unit_index(shape: tuple[int, ...], channel: int, row: int, col: int) -> tuple[int, ...]:
    """The index of unit (channel, row, col) in an output of ``shape``; UsageError when outside.

    >>> unit_index((4, 2, 2), 3, 1, 0), unit_index((10,), 7, 0, 0)
    ((3, 1, 0), (7,))
    """
    if len(shape) == 1:
        if not (0 <= channel < shape[0] and row == 0 and col == 0):
            raise UsageError(f"unit: this layer is a vector of {shape[0]} values; "
                             f"give channel 0 to {shape[0] - 1} with row 0 and col 0")
        return (channel,)
    C, H, W = shape
    if not (0 <= channel < C and 0 <= row < H and 0 <= col < W):
        raise UsageError(f"unit ({channel}, {row}, {col}) is outside this layer's output of "
                         f"{C} channels of {H}×{W} (0-based)")
    return (channel, row, col)


def _number(param: torch.Tensor | None, index: int, default: float) -> float:
    return default if param is None else float(param.detach()[index])


def _plain(cell: dict) -> dict:
    return {k: v for k, v in cell.items() if k != "exact"}


def _conv(rec: Recording, name: str, c: int, i: int, j: int) -> dict:
    from cnnlab.steps import trace_conv2d

    m = rec.modules[name]
    x = rec.inputs[name]  # (C_in, H, W)
    C_in, H, W = x.shape
    w = m.weight.detach().double().numpy()  # (C_out, C_in/groups, kh, kw)
    per_group = C_in // m.groups
    group = c // (m.out_channels // m.groups)
    channels = list(range(group * per_group, (group + 1) * per_group))
    bias = _number(m.bias, c, 0.0)
    padding = m.padding if isinstance(m.padding, str) else tuple(m.padding)
    # One filter against the input channels of its group: the engine's full output is then
    # one (H_out, W_out) map, cheap even for a wide layer.
    trace = trace_conv2d(x[channels], w[c:c + 1], bias, tuple(m.stride), padding,
                         m.padding_mode, tuple(m.dilation))
    cell = trace.cell((0, i, j))
    top, _, left, _ = trace.params["padding_resolved"]
    kh, kw = w.shape[2:]
    rows = [cell.origin[0] - top + a * m.dilation[0] for a in range(kh)]
    cols = [cell.origin[1] - left + b * m.dilation[1] for b in range(kw)]
    return {"kind": "conv", "cell": _plain(cell.to_dict()), "value": float(cell.value),
            "in_channels": channels, "rows": rows, "cols": cols,
            "params": {"kernel": [kh, kw], "stride": list(m.stride), "padding": list(trace.params["padding_resolved"]),
                       "dilation": list(m.dilation), "groups": m.groups, "padding_mode": m.padding_mode}}


def _pool(rec: Recording, name: str, c: int, i: int, j: int) -> dict:
    from cnnlab.steps import trace_pool2d

    m = rec.modules[name]
    x = rec.inputs[name]  # (C, H, W)
    op = "max" if isinstance(m, nn.MaxPool2d) else "avg"
    stride = m.stride if m.stride is not None else m.kernel_size
    extra = {"dilation": m.dilation} if op == "max" else {"count_include_pad": m.count_include_pad}
    trace = trace_pool2d(x[c][None], op, m.kernel_size, stride, m.padding, ceil_mode=m.ceil_mode, **extra)
    cell = trace.cell((0, i, j))
    (kh, kw), (ph, pw) = _pair(m.kernel_size), _pair(m.padding)
    dh, dw = _pair(getattr(m, "dilation", 1))
    return {"kind": op + "pool", "cell": _plain(cell.to_dict()), "value": float(cell.value), "in_channels": [c],
            "rows": [cell.origin[0] - ph + a * dh for a in range(kh)],
            "cols": [cell.origin[1] - pw + b * dw for b in range(kw)]}


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _adaptive(rec: Recording, name: str, c: int, i: int, j: int) -> dict:
    m = rec.modules[name]
    x = rec.inputs[name]  # (C, H, W)
    _, H, W = x.shape
    oh, ow = rec.outputs[name].shape[1:]
    r0, r1 = (i * H) // oh, -((-(i + 1) * H) // oh)  # torch's floor/ceil window bounds
    c0, c1 = (j * W) // ow, -((-(j + 1) * W) // ow)
    window = x[c, r0:r1, c0:c1]  # (r1 - r0, c1 - c0)
    is_max = isinstance(m, nn.AdaptiveMaxPool2d)
    total = float(window.max()) if is_max else float(math.fsum(window.flat))
    value = total if is_max else total / window.size
    out = {"kind": "maxpool" if is_max else "avgpool", "value": value, "in_channels": [c],
           "cell": {"window": window.tolist(), "value": value, "index": [c, i, j]},
           "rows": list(range(r0, r1)), "cols": list(range(c0, c1))}
    if not is_max:
        out["cell"].update(total=total, divisor=int(window.size))
    return out


def _linear(rec: Recording, name: str, f: int, i: int, j: int) -> dict:
    m = rec.modules[name]
    x = rec.inputs[name]  # (F_in,)
    w = m.weight.detach().double().numpy()[f]  # (F_in,)
    terms = x * w  # (F_in,)
    top = np.argsort(-np.abs(terms), kind="stable")[:MAX_CONTRIBUTIONS]
    total = math.fsum(terms)
    bias = _number(m.bias, f, 0.0)
    out = {"kind": "linear", "value": total + bias, "sum": total, "bias": bias, "count": int(x.size),
           "contributions": [{"index": int(k), "input": float(x[k]), "weight": float(w[k]),
                              "product": float(terms[k])} for k in top],
           "rest": total - math.fsum(terms[top])}
    source = shown_source(rec, name)
    before = rec.image if source == "input" else rec.outputs.get(source)
    if before is not None and before.ndim == 3 and before.size == x.size:  # a flattened (C, H, W) map
        out["input_shape"] = list(before.shape)
    return out


def _batchnorm(rec: Recording, name: str, c: int, i: int, j: int) -> dict:
    m = rec.modules[name]
    x = rec.inputs[name]
    v = float(x[(c, i, j) if x.ndim == 3 else (c,)])
    mean, var = _number(m.running_mean, c, 0.0), _number(m.running_var, c, 1.0)
    gamma, beta = _number(m.weight, c, 1.0), _number(m.bias, c, 0.0)
    normalised = (v - mean) / math.sqrt(var + m.eps)
    return {"kind": "batchnorm", "input": v, "mean": mean, "var": var, "eps": m.eps, "gamma": gamma,
            "beta": beta, "normalised": normalised, "value": gamma * normalised + beta}


_STEP_ACTS = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.LeakyReLU: "leaky_relu"}


def _activation(rec: Recording, name: str, c: int, i: int, j: int) -> dict:
    m = rec.modules[name]
    x = rec.inputs[name]
    v = float(x[(c, i, j) if x.ndim == 3 else (c,)])
    step_name = next((n for t, n in _STEP_ACTS.items() if type(m) is t), None)
    if step_name is not None:
        from cnnlab.steps import trace_act

        slope = getattr(m, "negative_slope", 0.01)
        value = float(trace_act(np.array([v]), step_name, slope).cell((0,)).value)
        fn = step_name if step_name != "leaky_relu" else f"leaky_relu (slope {slope:g})"
    else:  # GELU, ELU, SiLU, ReLU6: the module itself on this one number, in float64
        with torch.no_grad():
            value = float(m(torch.tensor([v], dtype=torch.float64))[0])
        fn = type(m).__name__.lower()
    return {"kind": "activation", "function": fn, "input": v, "value": value}


def _pad(rec: Recording, name: str, c: int, i: int, j: int) -> dict:
    m = rec.modules[name]
    x = rec.inputs[name]  # (C, H, W)
    _, H, W = x.shape
    left, _, top, _ = m.padding
    r, q = i - top, j - left
    inside = 0 <= r < H and 0 <= q < W
    value = float(x[c, r, q]) if inside else float(m.value)
    return {"kind": "pad", "input_at": [c, r, q] if inside else None, "value": value}


def _skip(rec: Recording, name: str, c: int, i: int, j: int) -> dict:
    last, shortcut, act = skip_parts(rec.modules[name])
    main = float(rec.outputs[f"{name}.{last}"][c, i, j])
    skip_from = f"{name}.{shortcut}" if shortcut else name
    skip = float((rec.outputs[skip_from] if shortcut else rec.inputs[name])[c, i, j])
    total = main + skip
    return {"kind": "skip", "main": main, "main_layer": f"{name}.{last}", "skip": skip,
            "skip_layer": skip_from if shortcut else shown_source(rec, name), "skip_is_identity": shortcut is None,
            "sum": total, "function": act, "value": max(total, 0.0)}


UNIT_RULES: list[tuple[tuple[type, ...], Rule]] = [
    ((nn.Conv2d,), _conv),
    ((nn.MaxPool2d, nn.AvgPool2d), _pool),
    ((nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d), _adaptive),
    ((nn.Linear,), _linear),
    ((nn.BatchNorm1d, nn.BatchNorm2d), _batchnorm),
    ((nn.ReLU, nn.LeakyReLU, nn.ReLU6, nn.Sigmoid, nn.Tanh, nn.GELU, nn.ELU, nn.SiLU), _activation),
    ((nn.ZeroPad2d, nn.ConstantPad2d), _pad),
]


def _rule_for(module: nn.Module) -> Rule | None:
    if skip_parts(module) is not None:
        return _skip
    return next((rule for types, rule in UNIT_RULES if isinstance(module, types)), None)


def unit_arithmetic(rec: Recording, layer: str, channel: int, row: int = 0, col: int = 0) -> dict:
    """The worked value of unit (channel, row, col) of ``layer``, with the model's own value.

    rec: a recording of one image; layer: a name in ``rec.order``. Returns a JSON-ready dict
    with ``layer``, ``type``, ``kind``, ``channel``, ``row``, ``col``, ``source`` (the layer
    whose output is read), the kind's steps, ``value`` (computed here) and ``forward``
    (the model's output at that unit).
    """
    if layer not in rec.modules:
        raise UsageError(f"no layer {layer!r} in this network; layers: {', '.join(rec.order)}")
    out = rec.outputs[layer]
    index = unit_index(out.shape, channel, row, col)
    module = rec.modules[layer]
    rule = _rule_for(module)
    if rule is None:
        steps: dict[str, Any] = {"kind": "value", "value": float(out[index]),
                                 "note": f"no worked arithmetic for a {type(module).__name__} layer yet"}
    else:
        steps = rule(rec, layer, channel, row, col)
    return {"layer": layer, "type": type(module).__name__, "channel": channel, "row": row, "col": col,
            "source": shown_source(rec, layer), **steps, "forward": float(out[index])}
