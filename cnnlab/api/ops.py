"""``cnnlab.conv``, ``cnnlab.pool`` and ``cnnlab.act``: one operation, optionally worked out.

Each function takes the command's long flags in snake_case with the CLI's defaults,
limits and messages (docs/python.md), reads its tensors with the CLI's reader, calls one
op of :mod:`cnnlab.ops` (or its tracer when ``steps=True``) and returns an
:class:`OpResult` whose formats are written by :mod:`cnnlab.doc`. The CLI handlers
(:mod:`cnnlab.cli.ops_cmd`) and the web app call these functions.
"""

from __future__ import annotations

from typing import Any

from cnnlab.api import flags
from cnnlab.api.result import Result
from cnnlab.errors import UsageError
from cnnlab.ops.activations import ACTIVATIONS
from cnnlab.ops.padding import PADDING_MODES as _PADDING_MODES
from cnnlab.steps.trace_pool import POOL_OPS

__all__ = ["conv", "pool", "act", "OpResult", "PADDING_MODES", "CONV_ACTS", "ACT_FUNCTIONS", "POOL_OPS",
           "DEFAULT_MAX_CELLS"]

ACT_FUNCTIONS = tuple(ACTIVATIONS)  # owner: cnnlab.ops.activations
CONV_ACTS = tuple(n for n in ACTIVATIONS if n != "softmax")  # element-wise ones (softmax needs an axis)
PADDING_MODES = tuple(_PADDING_MODES)  # owner: cnnlab.ops.padding
DEFAULT_MAX_CELLS = 16  # cells worked out with steps=True (the rest are counted)
MAX_ROUND = 15  # decimals: a float holds about 16 significant digits


class OpResult(Result):
    """The result of conv/pool/act: ``output`` (nested lists), ``shape``, the worked steps.

    ``trace`` is the :class:`cnnlab.steps.Trace` when ``steps=True`` (None otherwise).
    """

    def __init__(self, command: str, output: Any, trace: Any, round: int | None, max_cells: int,
                 note: str | None = None):
        import numpy as np

        from cnnlab.doc.numbers import exact_string, is_exact, to_json_value

        output = np.asarray(output)
        if output.dtype != object and not np.isfinite(output).all():
            raise UsageError("the result overflows (values over about 1.8e308); scale the input down")
        data: dict[str, Any] = {"output": to_json_value(output, round), "shape": list(output.shape)}
        if is_exact(output):
            data["exact"] = _nested(output, exact_string)
        if trace is not None:
            data["steps"] = trace.to_dict(max_cells)
        if note:
            data["note"] = note
        super().__init__(data)
        self.command = command
        self.array = output  # the output as a NumPy array (object dtype of Fractions when exact)
        self.trace = trace
        self.round = round
        self.max_cells = max_cells
        self.note = note
        self.warning: str | None = None  # e.g. input rows a stride never reaches (conv only)

    def blocks(self) -> list:
        """The worked solution as :mod:`cnnlab.doc` blocks (steps=True), else the result grid."""
        from cnnlab.doc.blocks import Matrices, StepList, TensorGrid
        from cnnlab.steps.layout import trace_blocks

        if self.trace is not None:
            return trace_blocks(self.trace, self.max_cells, self.round)
        a = self.array
        grids = [a] if a.ndim <= 2 else [a[i] for i in range(a.shape[0])]
        return [StepList([Matrices([(f"channel {n + 1}" if len(grids) > 1 else "", TensorGrid(g, limit=None))],
                                   lhs="O") for n, g in enumerate(grids)])]

    def render(self, fmt: str) -> str:
        from cnnlab.doc import writer

        w = writer(fmt, self.round)
        body = w.render(self.blocks()) if (self.trace is not None or fmt == "html") else w.result_value(self.array)
        if self.note:
            from cnnlab.doc.blocks import Paragraph

            body = w.render([Paragraph(self.note)]) + "\n" + body
        return body


def _nested(value, fn):
    """``fn`` applied to every number of a nested list / array, keeping the nesting."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list):
        return [_nested(v, fn) for v in value]
    return fn(value)


# -- reading -----------------------------------------------------------------------
def _tensor(text: str, what: str, exact: bool, ndims: tuple[int, ...]):
    from cnnlab.api.inputs import read_tensor

    kernel = None
    stripped = text.strip()
    if what == "kernel" and (stripped[:1].isalpha() or stripped[:1] == "_"):
        # only a name can be a named kernel: literals skip importing cnnlab.kernels (startup time)
        try:
            from cnnlab.kernels.named import resolve_kernel
        except ImportError:  # kernels not installed in this build
            resolve_kernel = None
        if resolve_kernel is not None:
            kernel = resolve_kernel(text, exact=exact)
    a = kernel if kernel is not None else read_tensor(text, what, exact=exact)
    if a.ndim < 2 and 2 in ndims:
        a = a.reshape(1, -1)  # a single row: '1 0 -1'
    if a.ndim not in ndims:
        dims = " or ".join(f"{d}-D" for d in ndims)
        raise UsageError(f"{what} must be {dims}, got shape {'x'.join(map(str, a.shape))}")
    return a


def _bias(value: Any, exact: bool) -> Any:
    if value is None:
        return 0
    from cnnlab.api.inputs import parse_literal

    parsed = parse_literal(flags.tensor_text("bias", value).strip(), "bias")
    if isinstance(parsed, list) and parsed and isinstance(parsed[0], list):
        if len(parsed) == 1:
            parsed = parsed[0]
        else:
            raise UsageError("bias must be a number or a list of numbers (one per output channel)")
    if isinstance(parsed, list) and len(parsed) == 1:
        parsed = parsed[0]
    if isinstance(parsed, list) and (not parsed or any(isinstance(v, list) for v in parsed)):  # [1, [2]]
        raise UsageError("bias must be a number or a list of numbers (one per output channel)")
    if exact:
        return parsed
    return [float(v) for v in parsed] if isinstance(parsed, list) else float(parsed)


class _Common:
    """The settings every op command shares, checked as the CLI checks them."""

    def __init__(self, command: str, exact: Any, round: Any, steps: Any, max_cells: Any, fmt: str = "json"):
        self.exact = flags.flag("exact", exact)
        self.steps = flags.flag("steps", steps)
        self.round = None if round is None else flags.integer(command, "round", round)
        self.max_cells = flags.integer(command, "max_cells", max_cells)
        self.format = fmt  # the budget on written numbers applies to text formats only
        if self.max_cells < 0:
            raise UsageError(f"--max-cells must be >= 0, got {self.max_cells}")
        if self.round is not None and not 0 <= self.round <= MAX_ROUND:
            raise UsageError(f"--round must be between 0 and {MAX_ROUND} decimals, got {self.round}")

    def check_budgets(self, cells: int, window: int, inputs: int = 0) -> None:
        """Exact work, worked cells and written numbers within their budgets (docs/problems.md)."""
        from cnnlab.ops import budget as B

        if self.exact:
            B.check_work(max(cells * window, inputs), B.EXACT_WORK_BUDGET, "exact arithmetic", B.exact_hint())
        if self.steps:
            B.check_work(min(self.max_cells, cells) * window, B.STEPS_WORK_BUDGET, "the worked steps",
                         "show fewer cells with --max-cells N (the default is 16)")
        if self.format != "json" and cells > B.RENDER_CELL_BUDGET:
            raise UsageError(f"the result has {cells:,} numbers, over the budget of {B.RENDER_CELL_BUDGET:,} "
                             f"written as {self.format}; {B.render_hint()}")

    def read(self, specs: list, work) -> list:
        """Read the tensors as floats, check the budgets on their shapes, then read them exactly if
        asked: a fraction tensor over the budget is never built."""
        tensors = [_tensor(text, what, False, ndims) for text, what, ndims in specs]
        cells, window = work(*(t.shape for t in tensors))
        self.check_budgets(cells, window, sum(t.size for t in tensors))
        if self.exact:
            tensors = [_tensor(text, what, True, ndims) for text, what, ndims in specs]
        return tensors


# -- the commands ------------------------------------------------------------------
def conv(input: Any, kernel: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
         padding_mode: str = "zeros", dilation: Any = 1, groups: Any = 1, flip: bool = False,
         transposed: bool = False, output_padding: Any = 0, act: str | None = None, slope: Any = 0.01,
         exact: bool = False, round: int | None = None, steps: bool = False,
         max_cells: int = DEFAULT_MAX_CELLS, *, _format: str = "json") -> OpResult:
    """2-D convolution (cross-correlation unless ``flip``), as ``cnnlab conv``.

    Args:
        input: (H, W) or (C, H, W): nested lists, a NumPy array, a torch tensor, or the CLI's
            text (``"1 2; 3 4"``, channels split by ``|``, a .json/.csv/.txt/.npy path).
        kernel: (kh, kw), (C_in, kh, kw), (C_out, C_in/groups, kh, kw), or a kernel name
            (``"sobel_x"``, ``"box:3"``).
        bias: a number or one per output channel. stride, dilation: int or (a, b).
        padding: int, (a, b), (top, bottom, left, right), "same", "valid" or "full".
        Other arguments as the flags of ``cnnlab conv --help``.

    >>> r = conv([[1, 2], [3, 4]], "1 0; 0 -1", padding=1, flip=True)
    >>> r.to_json()["output"]
    [[1.0, 2.0, 0.0], [3.0, 3.0, -2.0], [0.0, -3.0, -4.0]]
    """
    from cnnlab.api.inputs import parse_int_pair, parse_padding
    from cnnlab.ops.budget import conv_work

    c = _Common("conv", exact, round, steps, max_cells, _format)
    padding_mode = flags.choice("conv", "padding_mode", padding_mode, PADDING_MODES)
    act = flags.choice("conv", "act", act, CONV_ACTS, optional=True)
    slope = flags.number("conv", "slope", slope)
    groups = flags.integer("conv", "groups", groups)
    flip, transposed = flags.flag("flip", flip), flags.flag("transposed", transposed)
    x_text, k_text = flags.tensor_text("input", input), flags.tensor_text("kernel", kernel)
    if groups < 1:
        raise UsageError(f"--groups must be >= 1, got {groups}")
    if transposed:
        return _conv_transposed(c, x_text, k_text, bias, stride, padding, padding_mode, dilation, groups, flip,
                                output_padding, act, slope)
    if flags.text_form("output_padding", output_padding) != "0":
        raise UsageError("--output-padding applies to --transposed only")
    stride = parse_int_pair(flags.text_form("stride", stride), "stride")
    padding = parse_padding(flags.text_form("padding", padding))
    dilation = parse_int_pair(flags.text_form("dilation", dilation), "dilation")
    x, k = c.read([(x_text, "input", (2, 3)), (k_text, "kernel", (2, 3, 4))],
                  lambda xs, ks: conv_work(xs, ks, stride, padding, dilation, groups))
    kw = dict(bias=_bias(bias, c.exact), stride=stride, padding=padding, padding_mode=padding_mode,
              dilation=dilation, groups=groups, flip=flip)
    note = _kernel_note(k_text)
    if c.steps:
        from cnnlab.steps import trace_conv2d

        trace = trace_conv2d(x, k, **kw, act=act, slope=slope)
        result = OpResult("conv", trace.output, trace, c.round, c.max_cells, note)
    else:
        from cnnlab import ops

        result = OpResult("conv", _activate(ops.conv2d(x, k, **kw), act, slope), None, c.round, c.max_cells, note)
    from cnnlab.ops.padding import conv_unused_note

    result.warning = conv_unused_note(x.shape[-2:], k.shape[-2:], stride, padding, dilation)
    return result


def _activate(out: Any, act: str | None, slope: float) -> Any:
    from cnnlab import ops

    if not act:
        return out
    fn = ops.get_activation(act)
    return fn(out, slope) if act == "leaky_relu" else fn(out)


def _kernel_note(text: str) -> str | None:
    """What a named kernel's weights are, exactly: ``box:3`` is 1/9 everywhere."""
    stripped = text.strip()
    if not (stripped[:1].isalpha() or stripped[:1] == "_"):
        return None
    try:
        from cnnlab.kernels.named import resolve_kernel
        k = resolve_kernel(stripped, exact=True)
    except (ImportError, UsageError):
        return None
    if k is None:
        return None
    from cnnlab.doc.numbers import exact_string

    shape = "×".join(map(str, k.shape))
    flat = list(k.flat)
    if all(v == flat[0] for v in flat):
        return f"kernel {stripped}: {shape}, every weight {exact_string(flat[0])}"
    rows = "; ".join(" ".join(exact_string(v) for v in row) for row in k.reshape(-1, k.shape[-1]))
    return f"kernel {stripped}: {shape}, weights [{rows}]"


def _conv_transposed(c: _Common, x_text: str, k_text: str, bias: Any, stride: Any, padding: Any,
                     padding_mode: str, dilation: Any, groups: int, flip: bool, output_padding: Any,
                     act: str | None, slope: float) -> OpResult:
    """conv with transposed=True: zero padding, int or pair padding, no flip."""
    from cnnlab.api.inputs import parse_int_pair, parse_padding
    from cnnlab.ops.budget import transposed_work

    if flip:
        raise UsageError("--flip does not apply to --transposed (its worked steps rotate the kernel already)")
    if padding_mode != "zeros":
        raise UsageError(f"--transposed takes zero padding only, got --padding-mode {padding_mode}")
    if act and c.steps:
        raise UsageError("--act with --transposed --steps is not worked out; leave out --steps or --act")
    x, k = c.read([(x_text, "input", (2, 3)), (k_text, "kernel", (2, 3, 4))], transposed_work)
    kw = dict(bias=_bias(bias, c.exact), stride=parse_int_pair(flags.text_form("stride", stride), "stride"),
              padding=parse_padding(flags.text_form("padding", padding), named=False),
              output_padding=parse_int_pair(flags.text_form("output_padding", output_padding), "output padding",
                                            minimum=0),
              dilation=parse_int_pair(flags.text_form("dilation", dilation), "dilation"), groups=groups)
    if c.steps:
        from cnnlab.steps import trace_conv_transpose2d

        trace = trace_conv_transpose2d(x, k, **kw)
        return OpResult("conv", trace.output, trace, c.round, c.max_cells)
    from cnnlab import ops

    return OpResult("conv", _activate(ops.conv_transpose2d(x, k, **kw), act, slope), None, c.round, c.max_cells)


def pool(input: Any, op: str, size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
         ceil_mode: bool = False, count_include_pad: bool = True, exact: bool = False,
         round: int | None = None, steps: bool = False, max_cells: int = DEFAULT_MAX_CELLS,
         *, _format: str = "json") -> OpResult:
    """Max or average pooling, as ``cnnlab pool`` (the stride defaults to the window size).

    Args:
        input: (H, W) or (C, H, W), in any form :func:`conv` takes.
        op: "max" or "avg". size, stride, padding, dilation: int or (a, b).

    >>> pool("1 2 3 4; 5 6 7 8; 9 10 11 12; 13 14 15 16", "max", 2).to_json()["output"]
    [[6.0, 8.0], [14.0, 16.0]]
    """
    from cnnlab.api.inputs import parse_int_pair, parse_padding
    from cnnlab.ops.budget import pool_work

    c = _Common("pool", exact, round, steps, max_cells, _format)
    op = flags.choice("pool", "op", op, POOL_OPS)
    ceil_mode = flags.flag("ceil_mode", ceil_mode)
    count_include_pad = flags.flag("count_include_pad", count_include_pad)
    x_text = flags.tensor_text("input", input)
    size = parse_int_pair(flags.text_form("size", size), "--size")
    stride = None if stride is None else parse_int_pair(flags.text_form("stride", stride), "stride")
    padding = parse_padding(flags.text_form("padding", padding), named=False)
    (x,) = c.read([(x_text, "input", (2, 3))], lambda xs: pool_work(xs, size, stride, padding))
    dilation = parse_int_pair(flags.text_form("dilation", dilation), "dilation")
    if op == "avg" and dilation not in (1, (1, 1)):
        raise UsageError("average pooling has no dilation (as in PyTorch); drop --dilation")
    if c.steps:
        from cnnlab.steps import trace_pool2d

        trace = trace_pool2d(x, op, size, stride, padding, dilation, ceil_mode, count_include_pad)
        return OpResult("pool", trace.output, trace, c.round, c.max_cells)
    from cnnlab import ops

    if op == "max":
        out = ops.max_pool2d(x, size, stride, padding, dilation, ceil_mode)
    else:
        out = ops.avg_pool2d(x, size, stride, padding, ceil_mode, count_include_pad)
    return OpResult("pool", out, None, c.round, c.max_cells)


def act(input: Any, fn: str, slope: Any = 0.01, exact: bool = False, round: int | None = None,
        steps: bool = False, max_cells: int = DEFAULT_MAX_CELLS, *, _format: str = "json") -> OpResult:
    """An activation function element-wise (softmax per vector), as ``cnnlab act``.

    Args:
        input: a number, vector, matrix or (C, H, W) tensor, in any form :func:`conv` takes.
        fn: "relu", "sigmoid", "tanh", "softmax" or "leaky_relu" (with ``slope``).

    >>> print(act([-1, 2], "relu"))
    [0, 2]
    """
    from cnnlab.api.inputs import read_tensor

    c = _Common("act", exact, round, steps, max_cells, _format)
    fn = flags.choice("act", "fn", fn, ACT_FUNCTIONS)
    slope = flags.number("act", "slope", slope)
    x_text = flags.tensor_text("input", input)
    x = read_tensor(x_text, "input", exact=False)
    c.check_budgets(x.size, x.shape[-1] if fn == "softmax" and x.ndim else 1)
    if c.exact:
        x = read_tensor(x_text, "input", exact=True)
    if x.ndim > 3:
        raise UsageError(f"input must be at most 3-D (C×H×W), got shape {'x'.join(map(str, x.shape))}")
    if c.steps:
        from cnnlab.steps import trace_act

        trace = trace_act(x, fn, slope=slope)
        return OpResult("act", trace.output, trace, c.round, c.max_cells)
    from cnnlab import ops

    if fn == "softmax" and x.ndim == 0:
        x = x.reshape(1)
    f = ops.get_activation(fn)
    return OpResult("act", f(x, slope) if fn == "leaky_relu" else f(x), None, c.round, c.max_cells)
