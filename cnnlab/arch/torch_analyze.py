"""The architecture table of a PyTorch module or a torchvision model (docs/arch.md).

``analyze(module, input_shape)`` traces the module with ``torch.fx`` (so residual
additions and DenseNet/Inception concatenations are seen), propagates shapes with one
forward pass on a zero batch of 1, and applies the rules of
:mod:`cnnlab.arch.torch_rules` to every node. A module that fx cannot trace falls back
to forward hooks on its leaf modules (rows in call order; receptive fields then assume
the layers run one after another, and a note says so).

Conventions, and how they differ from other counters:

- ``total_params`` is ``sum(p.numel() for p in module.parameters())``: every parameter
  once, shared modules included once (a row that reuses a module says ``shared``).
  Parameters outside the traced forward pass (Inception's auxiliary classifiers in eval
  mode, class tokens used through attributes) are reported as ``unattributed_params``;
  the heads among them that a training-mode pass runs are named in
  ``training_only_heads`` (:mod:`cnnlab.arch.training_heads`).
- MACs count conv, transposed conv and linear layers only (attention's Q/K/V and
  output projections included), biases not counted; products of two activations
  (attention's Q·Kᵀ and A·V, ``matmul``/``bmm``) are the separate ``attention_macs``
  (docs/arch.md). ``torch.utils.flop_counter`` agrees: its flops are 2·MACs for
  convolution, addmm and mm, and 2·attention_macs for bmm. fvcore
  counts the same for these layers (4.09 G for ResNet-50) but by default also batch
  norm in some versions; ptflops adds batch norm, pooling, ReLU and biases (4.12 G for
  ResNet-50); torchinfo's "mult-adds" add one multiply per bias and batch-norm parameter.
- Batch norm has 2·C parameters (running statistics are buffers); pooling and
  activations have none and cost 0 MACs.
- Receptive fields are the largest over all paths (the union of the branches' fields).

torch is imported inside the functions only.
"""

from __future__ import annotations

import difflib
import math
import threading
import warnings

from cnnlab.arch.layers import analyse_layer
from cnnlab.arch.steps import Step
from cnnlab.arch.receptive_field import input_axis
from cnnlab.arch.spec import parse_input_shape, parse_layer
from cnnlab.arch.table import CONVENTIONS, DTYPE_BYTES, fc_equivalent, memory_fields, rf_fields
from cnnlab.arch.torch_rules import ATTENTION_MODULES, CONST, Geo, Op, function_rule, module_rule
from cnnlab.errors import UsageError

__all__ = ["analyze", "analyze_torchvision", "torchvision_names", "build_torchvision", "DEFAULT_INPUTS",
           "TRACE_LOCK"]

# torch.fx's tracer swaps ``nn.Module.__call__`` (and other torch functions) for its own
# wrappers for the whole process while it traces, then puts back what it found. Two
# traces at once interleave: the second saves the first's wrapper as "the original" and
# restores it, so every later module call in the process goes through a dead tracer
# (issue 23: one 500, then every torch route of `cnnlab serve` answered 500). Tracing,
# and the forward passes that follow it here, hold this lock.
TRACE_LOCK = threading.RLock()

DEFAULT_INPUTS = {"inception_v3": (3, 299, 299)}  # every other torchvision classifier: 3x224x224

_POSITIONAL = {"max_pool2d": ["kernel_size", "stride", "padding", "dilation", "ceil_mode"],
               "avg_pool2d": ["kernel_size", "stride", "padding", "ceil_mode"]}


def torchvision_names() -> list[str]:
    """Names of torchvision's classification models (``torchvision.models.list_models``)."""
    import torchvision

    return sorted(torchvision.models.list_models(module=torchvision.models))


def _parameters_on_meta():
    """A (thread-local) torch function mode that creates empty/zeros/ones/full/rand tensors on meta.

    ``with torch.device("meta")`` puts every new tensor there, and RegNet's width schedule
    (``torch.arange(...).tolist()``) then fails; the parameters are made by these factories,
    the schedule is not. Without it ``regnet_y_128gf`` was built for real: 644,812,894
    parameters, 2.6 GB and 24 s for one table.
    """
    import torch
    from torch.overrides import TorchFunctionMode

    factories = {torch.empty, torch.zeros, torch.ones, torch.full, torch.rand, torch.randn,
                 torch.empty_like, torch.zeros_like, torch.ones_like}

    class ParametersOnMeta(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = dict(kwargs or {})
            if func in factories:
                kwargs["device"] = "meta"
            return func(*args, **kwargs)

    return ParametersOnMeta()


def build_torchvision(name: str):
    """A torchvision classifier without weights, on the meta device (no memory for its weights)."""
    import torch
    import torchvision

    names = torchvision_names()
    if name not in names:
        close = difflib.get_close_matches(name.lower(), names, n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(names[:12])}, ..."
        raise UsageError(f"unknown torchvision model {name!r}{hint}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.device("meta"):
                model = torchvision.models.get_model(name, weights=None)
        except (NotImplementedError, RuntimeError):  # an initialiser that needs real numbers
            with _parameters_on_meta():
                model = torchvision.models.get_model(name, weights=None)
            model = model.to("meta")  # a buffer made by torch.tensor(...) stayed on the CPU
    return model.eval()


def analyze_torchvision(name: str, input_shape=None, **options) -> dict:
    """The §3 table of torchvision model ``name`` (3×224×224 unless told, 3×299×299 for inception_v3)."""
    model = build_torchvision(name)
    if input_shape is None:
        C, H, W = DEFAULT_INPUTS.get(name, (3, 224, 224))
        input_shape = (H, W, C) if options.get("layout") == "nhwc" else (C, H, W)
    table = analyze(model, input_shape, **options)
    table["model"] = name
    return table


def _first_shape(meta):
    if hasattr(meta, "shape"):
        return tuple(meta.shape)
    if isinstance(meta, (list, tuple)):
        for item in meta:
            shape = _first_shape(item)
            if shape is not None:
                return shape
    if isinstance(meta, dict):
        return _first_shape(list(meta.values()))
    return None


def _split_params(module) -> tuple[list, list]:
    weights, biases = [], []
    for pname, p in module.named_parameters():
        (biases if pname.endswith("bias") else weights).append(p)
    return weights, biases


class _Builder:
    """Collects rows and totals while a graph is walked."""

    def __init__(self, bytes_per_value: int, fc_compare, steps: bool):
        self.rows: list[dict] = []
        self.notes: list[str] = []
        self.param_ids: set[int] = set()
        self.seen_modules: set[int] = set()
        self.attributed = 0
        self.size = bytes_per_value
        self.fc_compare = fc_compare
        self.steps = steps

    def add(self, name: str, op: Op, module, in_shape, out_shape, in_geo, sources) -> int:
        in_shape = tuple(in_shape[1:]) if in_shape else ()
        out = tuple(out_shape[1:]) if out_shape else ()
        weights = biases = 0
        shared = False
        if module is not None:
            w, b = _split_params(module)
            weights, biases = sum(p.numel() for p in w), sum(p.numel() for p in b)
            new = [p for p in w + b if id(p) not in self.param_ids]
            shared = bool(w + b) and not new  # a module called again, or tied weights
            self.seen_modules.add(id(module))
            self.param_ids.update(id(p) for p in new)
            self.attributed += sum(p.numel() for p in new)
        units = math.prod(out) if out else 0
        geo = op.geo if op.geo is not CONST else None
        row = {"index": len(self.rows) + 1, "name": name, "spec": op.spec, "type": op.type,
               "input_shape": list(in_shape), "output_shape": list(out)}
        row.update(rf_fields(geo.axes if geo is not None else None))
        row.update({"weights": weights, "biases": biases, "params": weights + biases, "units": units,
                    "macs": op.macs, "attention_macs": op.attention_macs, "activation_bytes": units * self.size if op.stored else 0,
                    "stored": op.stored, "inputs": sorted(sources)})
        if shared:
            row["shared"] = True
        row_steps = self._steps(op, in_shape, out, in_geo) if self.steps else []
        if self.fc_compare is not None and in_shape:
            n = units if self.fc_compare == "same" else self.fc_compare
            row["fc_equivalent"], step = fc_equivalent(in_shape, n)
            row_steps.append(step)
        if self.steps:
            row["steps"] = [s.to_dict() for s in row_steps]
        if op.note and op.note not in self.notes:
            self.notes.append(op.note)
        self.rows.append(row)
        return row["index"]

    def _steps(self, op: Op, in_shape, out, in_geo) -> list[Step]:
        if op.type == "cat":
            return [Step("output", "inputs concatenated along the channels", "", "×".join(map(str, out)))]
        if op.type in ("add", "mul"):
            return [Step("output", f"element-wise {op.type} of the branches; field = union of theirs", "",
                         "×".join(map(str, out)))]
        try:
            layer = parse_layer(op.spec)
            rf = in_geo.axes if in_geo is not None and in_geo is not CONST else None
            result = analyse_layer(layer, in_shape, rf)
        except (UsageError, TypeError, ValueError):
            return []
        return result.steps if tuple(result.out_shape) == tuple(out) else []


def _walk_fx(module, x, builder: _Builder) -> None:
    import torch

    class Shapes(torch.fx.Interpreter):
        """Runs the graph once and keeps each node's (first) output shape."""

        def run_node(self, n):
            result = super().run_node(n)
            n.meta["cnnlab_shape"] = _first_shape(result)
            return result

    class Tracer(torch.fx.Tracer):
        """torch.fx's tracer, keeping attention blocks whole (one row each, counted by rule)."""

        def is_leaf_module(self, m, qualname):
            return type(m).__name__ in ATTENTION_MODULES or super().is_leaf_module(m, qualname)

    gm = torch.fx.GraphModule(module, Tracer().trace(module))
    Shapes(gm).run(x)
    env: dict = {}
    for node in gm.graph.nodes:
        shape = node.meta.get("cnnlab_shape")
        if node.op == "placeholder":
            geo = Geo("map", (input_axis(shape[2]), input_axis(shape[3]))) if shape and len(shape) == 4 else None
            env[node] = (geo, shape, frozenset())
            continue
        if node.op == "get_attr":
            env[node] = (CONST, shape, frozenset())
            continue
        if node.op == "output":
            continue
        if shape is None:  # sizes, shapes and other non-tensor values carry no field
            env[node] = (CONST, None, frozenset())
            continue
        inputs = [n for n in node.all_input_nodes if n in env]
        geos = [env[n][0] for n in inputs] or [CONST]
        shapes = [env[n][1] for n in inputs]
        sources = frozenset().union(*(env[n][2] for n in inputs)) if inputs else frozenset()
        module_obj = None
        if node.op == "call_module":
            module_obj = gm.get_submodule(node.target)
            op = module_rule(module_obj, geos[0], shapes[0] if shapes else None, shape, in_shapes=shapes)
            name = str(node.target)
        else:
            fname = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", str(node.target))
            kwargs = dict(node.kwargs)
            rest = [a for a in node.args[1:]]
            if fname == "permute":
                dims = rest[0] if len(rest) == 1 and isinstance(rest[0], (list, tuple)) else rest
                kwargs.setdefault("dims", tuple(dims))
            if fname == "einsum" and node.args and isinstance(node.args[0], str):
                kwargs["equation"] = node.args[0]
            for key, value in zip(_POSITIONAL.get(fname, []), rest):
                kwargs.setdefault(key, value)
            op = function_rule(fname, kwargs, geos, shapes, shape)
            name = node.name
        if op.row:
            index = builder.add(name, op, module_obj, shapes[0] if shapes else None, shape, geos[0], sources)
            sources = frozenset([index])
        elif op.note and op.note not in builder.notes:
            builder.notes.append(op.note)
        env[node] = (op.geo, shape, sources)


def _walk_hooks(module, x, builder: _Builder) -> None:
    calls = []

    def record(name, mod, inputs, output):
        in_shape = _first_shape(list(inputs))
        calls.append((name, mod, in_shape, _first_shape(output)))

    handles = [m.register_forward_hook(lambda mod, i, o, name=name: record(name, mod, i, o))
               for name, m in module.named_modules() if not list(m.children())]
    try:
        module(x)
    finally:
        for handle in handles:
            handle.remove()
    shape = tuple(x.shape)
    geo = Geo("map", (input_axis(shape[2]), input_axis(shape[3]))) if len(shape) == 4 else None
    previous = frozenset()
    for name, mod, in_shape, out_shape in calls:
        op = module_rule(mod, geo, in_shape, out_shape)
        index = builder.add(name, op, mod, in_shape, out_shape, geo, previous)
        geo, previous = op.geo, frozenset([index])


def analyze(module, input_shape, *, dtype: str = "fp32", fc_compare=None, steps: bool = False,
            layout: str = "chw", trace: str = "auto") -> dict:
    """The §3 table of ``module`` on one input of ``input_shape`` (``(C, H, W)``, ``"CxHxW"``).

    ``trace``: ``"auto"`` (torch.fx, hooks when fx fails), ``"fx"`` or ``"hooks"``. The
    module runs once, in eval mode, on zeros of its own device and dtype (a model built
    on the ``meta`` device costs no memory); its training flag is restored afterwards.

    >>> import torch.nn as nn
    >>> t = analyze(nn.Sequential(nn.Conv2d(3, 96, 11, stride=4), nn.ReLU()), (3, 227, 227))
    >>> t["layers"][0]["output_shape"], t["layers"][0]["macs"], t["total_params"]
    ([96, 55, 55], 105415200, 34944)
    """
    import torch

    if dtype not in DTYPE_BYTES:
        raise UsageError(f"unknown dtype {dtype!r}; choose from {', '.join(DTYPE_BYTES)}")
    shape = parse_input_shape(input_shape, layout)
    first = next(iter(list(module.parameters()) + list(module.buffers())), None)
    device = first.device if first is not None else torch.device("cpu")
    float_dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    x = torch.zeros((1, *shape), device=device, dtype=float_dtype)
    builder = _Builder(DTYPE_BYTES[dtype], fc_compare, steps)
    was_training = module.training
    module.eval()
    try:
        with TRACE_LOCK, torch.no_grad():
            if trace in ("auto", "fx"):
                try:
                    _walk_fx(module, x, builder)
                except Exception as exc:  # noqa: BLE001 - any fx failure: fall back to hooks
                    if trace == "fx":
                        raise UsageError(f"torch.fx cannot trace this module: {str(exc).splitlines()[0]}") from None
                    builder = _Builder(DTYPE_BYTES[dtype], fc_compare, steps)
                    builder.notes.append(f"torch.fx could not trace the module ({type(exc).__name__}); "
                                         "layers are listed in call order and receptive fields assume "
                                         "they run one after another")
                    trace = "hooks"
            if trace == "hooks":
                try:
                    _walk_hooks(module, x, builder)
                except (RuntimeError, ValueError, IndexError, TypeError, AssertionError) as exc:
                    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    raise UsageError(f"the model cannot run on input {'x'.join(map(str, shape))}: {text}") from None
    finally:
        module.train(was_training)
    total_params = sum(p.numel() for p in module.parameters())
    rows = builder.rows
    total_macs = sum(r["macs"] for r in rows)
    attention_macs = sum(r["attention_macs"] for r in rows)
    units_stored = sum(r["units"] for r in rows if r["stored"])
    units_all = sum(r["units"] for r in rows)
    table = {"input": list(shape), "layers": rows, "total_params": total_params, "total_macs": total_macs,
             "total_flops": 2 * total_macs, "total_attention_macs": attention_macs}
    table.update(memory_fields(total_params, units_stored, units_all, math.prod(shape), dtype))
    table.update({"layout": layout, "source": "torch", "unattributed_params": total_params - builder.attributed,
                  "notes": builder.notes, "conventions": CONVENTIONS})
    if table["unattributed_params"]:  # e.g. GoogLeNet's auxiliary classifiers (training mode only)
        from cnnlab.arch.training_heads import training_only_heads

        table["training_only_heads"] = training_only_heads(module, builder.param_ids, tuple(shape))
    return table
