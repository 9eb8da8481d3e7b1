"""The architecture table of docs/arch.md for a text spec.

``arch_table(spec, input_shape)`` walks the layers and returns the JSON object of
``cnnlab arch --format json``. Keys beyond the documented minimum (docs/json.md): per layer ``input_shape``,
``start``, ``activation_bytes``, ``stored`` (and ``fc_equivalent`` / ``steps`` on
request); at the top ``dtype``, ``bytes_per_value``, ``total_flops`` (= 2·MACs),
``input_bytes``, ``activation_bytes_all``, ``memory`` (both byte counts for every dtype)
and ``conventions``.

Memory convention: ``activation_bytes`` is the sum of the layer outputs a forward pass
keeps (batch 1), the input not included and views / in-place layers (flatten, dropout,
the ReLU family, identity) left out; ``activation_bytes_all`` counts every layer's output.
"""

from __future__ import annotations

import math

from cnnlab.arch.layers import LayerResult, analyse_layer
from cnnlab.arch.receptive_field import AxisRF, as_number, input_axis
from cnnlab.arch.spec import Layer, load_spec, parse_input_shape
from cnnlab.arch.steps import Step, plus, sym, times
from cnnlab.errors import UsageError

__all__ = ["DTYPE_BYTES", "CONVENTIONS", "arch_table", "rf_fields", "fc_equivalent", "memory_fields"]

DTYPE_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2}

CONVENTIONS = (
    "receptive_field: the theoretical field of one unit (Araujo et al., Distill 2019), in input "
    "pixels; it may reach into the padding; fc and global pooling see the whole map; "
    "[rh, rw] when height and width differ. "
    "jump: input pixels between neighbouring units. start: centre of unit 0's field "
    "(0-based pixel index). "
    "macs: multiply-accumulates of conv, transposed conv and fc layers, biases not counted; "
    "pooling, batch norm and activations count 0; flops = 2*macs; attention's Q/K/V and output "
    "projections are linear layers (in macs), its products Q*K^T and A*V (any matmul of two "
    "activations) are attention_macs, kept apart (docs/arch.md). "
    "activation_bytes: outputs kept by a forward pass, batch 1, input not counted, flatten/"
    "dropout/ReLU-family/identity left out (in place or views); activation_bytes_all counts "
    "every layer. bn: 2*C parameters (running statistics are buffers)."
)


def _square(pair) -> int | float | list:
    a, b = (as_number(v) for v in pair)
    return a if a == b else [a, b]


def rf_fields(rf: tuple[AxisRF, AxisRF] | None) -> dict:
    """``receptive_field``, ``jump`` and ``start`` of a layer (None without spatial input)."""
    if rf is None:
        return {"receptive_field": None, "jump": None, "start": None}
    return {"receptive_field": _square((rf[0].size, rf[1].size)),
            "jump": _square((rf[0].jump, rf[1].jump)),
            "start": _square((rf[0].start, rf[1].start))}


def fc_equivalent(in_shape: tuple[int, ...], units: int, bias: bool = True) -> tuple[dict, Step]:
    """Cost of a fully connected layer with ``units`` outputs on an input of ``in_shape``.

    >>> fc_equivalent((3, 32, 32), 10)[0]["weights"]
    30720
    """
    n_in = math.prod(in_shape)
    weights = n_in * units
    biases = units if bias else 0
    info = {"units": units, "weights": weights, "biases": biases, "params": weights + biases,
            "macs": weights}
    step = Step(f"fc with {units} units instead", plus(times("inputs", "N"), sym("N")),
                plus(times(*in_shape, units), units), weights + biases)
    return info, step


def memory_fields(total_params: int, units_stored: int, units_all: int, input_units: int,
                  dtype: str) -> dict:
    """Top-level byte counts for ``dtype`` and the ``memory`` table for every dtype."""
    if dtype not in DTYPE_BYTES:
        raise UsageError(f"unknown dtype {dtype!r}; choose from {', '.join(DTYPE_BYTES)}")
    size = DTYPE_BYTES[dtype]
    return {
        "activation_bytes": units_stored * size,
        "param_bytes": total_params * size,
        "dtype": dtype,
        "bytes_per_value": size,
        "input_bytes": input_units * size,
        "activation_bytes_all": units_all * size,
        "memory": {name: {"activation_bytes": units_stored * b, "param_bytes": total_params * b}
                   for name, b in DTYPE_BYTES.items()},
    }


def arch_table(spec: str | list | dict, input_shape: list | tuple | str | None = None, *,
               dtype: str = "fp32", fc_compare: int | str | None = None, steps: bool = False,
               layout: str = "chw") -> dict:
    """The docs/arch.md table for a spec (compact text, a file path, or a YAML list).

    ``input_shape``: ``(C, H, W)``, ``"CxHxW"`` or ``(N,)``; may be left out when the spec
    file names its input. ``fc_compare``: an int N, or ``"same"`` (as many units as the
    layer outputs), adds ``fc_equivalent`` to every layer. ``steps`` adds the worked formulas.

    >>> t = arch_table("conv 11x11/4 96", "3x227x227")
    >>> t["layers"][0]["output_shape"], t["layers"][0]["weights"], t["total_macs"]
    ([96, 55, 55], 34848, 105415200)
    """
    layers, file_shape = load_spec(spec)
    if input_shape is None:
        if file_shape is None:
            raise UsageError("give the input shape, e.g. --input 3x224x224")
        shape = file_shape
    else:
        shape = parse_input_shape(input_shape, layout)
    if fc_compare is not None and fc_compare != "same":
        if isinstance(fc_compare, bool) or not isinstance(fc_compare, int) or fc_compare < 1:
            raise UsageError(f"fc comparison needs a positive number of units, got {fc_compare!r}")
    if dtype not in DTYPE_BYTES:
        raise UsageError(f"unknown dtype {dtype!r}; choose from {', '.join(DTYPE_BYTES)}")
    rf = (input_axis(shape[1]), input_axis(shape[2])) if len(shape) == 3 else None
    rows: list[dict] = []
    current = shape
    units_stored = units_all = 0
    for index, layer in enumerate(layers, start=1):
        try:
            result: LayerResult = analyse_layer(layer, current, rf)
        except UsageError as exc:
            raise UsageError(f"layer {index} ({layer.text}) received {'x'.join(map(str, current))}: {exc}") from None
        units = math.prod(result.out_shape)
        row = _row(index, layer, current, result, units, DTYPE_BYTES[dtype])
        row_steps = list(result.steps)
        if fc_compare is not None:
            n = units if fc_compare == "same" else fc_compare
            row["fc_equivalent"], step = fc_equivalent(current, n)
            row_steps.append(step)
        if steps:
            row["steps"] = [s.to_dict() for s in row_steps]
        rows.append(row)
        units_all += units
        units_stored += units if result.stored else 0
        current, rf = result.out_shape, result.rf
    total_params = sum(r["params"] for r in rows)
    total_macs = sum(r["macs"] for r in rows)
    table = {"input": list(shape), "layers": rows, "total_params": total_params,
             "total_macs": total_macs, "total_flops": 2 * total_macs}
    table.update(memory_fields(total_params, units_stored, units_all, math.prod(shape), dtype))
    table.update({"layout": layout, "source": "spec", "conventions": CONVENTIONS})
    return table


def _row(index: int, layer: Layer, in_shape, result: LayerResult, units: int, size: int) -> dict:
    row = {"index": index, "spec": layer.text, "type": layer.kind,
           "input_shape": list(in_shape), "output_shape": list(result.out_shape)}
    row.update(rf_fields(result.rf))
    row.update({"weights": result.weights, "biases": result.biases,
                "params": result.weights + result.biases, "units": units, "macs": result.macs,
                "activation_bytes": units * size if result.stored else 0, "stored": result.stored})
    return row
