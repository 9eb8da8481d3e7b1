"""``cnnlab conv``, ``cnnlab pool`` and ``cnnlab act``: one operation, optionally worked out.

Each handler reads its tensors (:mod:`cnnlab.cli.inputs`), calls one op (or its tracer
when ``--steps`` is given) and renders the result (docs/cli.md). Top-level imports stay
minimal: this module is imported on every ``cnnlab conv`` start.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from cnnlab.cli.argtypes import add_output_format, allow_negative_values, finite_float
from cnnlab.errors import UsageError

__all__ = ["register", "run_conv", "run_pool", "run_act", "emit"]

FORMATS = ("text", "markdown", "latex", "json")
CONV_ACTS = ("relu", "sigmoid", "tanh", "leaky_relu")
ACT_FUNCTIONS = ("relu", "sigmoid", "tanh", "softmax", "leaky_relu")
PADDING_MODES = ("zeros", "reflect", "symmetric", "replicate", "circular")

CONV_EXAMPLES = """examples:
  cnnlab conv --input '1 2; 3 4 | 0 1; 1 0' --kernel '1 0; 0 1 | 1 1; 1 1'   # two channels, split by |
  cnnlab conv --input '[[0,1,2],[3,4,5],[6,7,8]]' --kernel '[[1,0],[0,-1]]' --padding 1 --flip --steps --format latex
  cnnlab conv --input image.csv --kernel sobel_x --padding same --padding-mode reflect --format json
  cnnlab conv --input '1 2; 3 4' --kernel '1 1; 1 1' --transposed --stride 2 --steps
"""
POOL_EXAMPLES = """examples:
  cnnlab pool --input '1 2 3 4; 5 6 7 8; 9 10 11 12; 13 14 15 16' --op max --size 2
  cnnlab pool --input '1 2 3; 4 5 6; 7 8 9' --op avg --size 2 --stride 1 --exact --steps
  cnnlab pool --input x.npy --op avg --size 3 --stride 2 --padding 1 --ceil-mode --format json
"""
ACT_EXAMPLES = """examples:
  cnnlab act --input '-1 2; 0.5 -3' --fn relu
  cnnlab act --input '[1, 2, 3]' --fn softmax --round 4 --steps
  cnnlab act --input '-2 0 2' --fn sigmoid --format json
"""


_INPUT_HELP = ("input: H×W or C×H×W, as '1 2; 3 4' (rows split by ';'), '[[1, 2], [3, 4]]', a file "
               "(.csv, .npy, .txt, .json), with channels split by '|': '1 2; 3 4 | 5 6; 7 8' is 2×2×2")


# -- argument parsing --------------------------------------------------------------
def _common(p: argparse.ArgumentParser, exact: bool = True, steps: bool = True) -> None:
    if exact:
        p.add_argument("--exact", action="store_true",
                       help="exact fractions (1/2 stays 1/2; an average of halves stays a fraction)")
    p.add_argument("--round", type=int, metavar="N", default=None,
                   help="round shown and JSON values to N decimals, half away from zero")
    if steps:
        p.add_argument("--steps", action="store_true",
                       help="show the worked solution: padded input, kernel, every cell's window, products and sum")
        p.add_argument("--max-cells", type=int, metavar="N", default=16,
                       help="cells worked out with --steps (default 16; the rest are counted)")
    add_output_format(p, FORMATS)
    p.add_argument("--standalone", action="store_true",
                   help="with --format latex: a complete document instead of a fragment")


def _add(subparsers, name: str, help: str, description: str, examples: str) -> argparse.ArgumentParser:
    p = subparsers.add_parser(name, help=help, description=description, epilog=examples,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    allow_negative_values(p)  # no option of these commands looks like "-1"
    return p


def register(subparsers) -> None:
    """Add the conv, pool and act commands."""
    p = _add(subparsers, "conv", "2-D convolution of one input (cross-correlation unless --flip)",
             "Convolve a matrix or C×H×W tensor with a kernel, as torch.nn.functional.conv2d "
             "(cross-correlation); --flip rotates the kernel by 180° (true convolution). "
             "M and K are literals ('1 2; 3 4', '[[1,2],[3,4]]') or .json/.csv/.txt/.npy files; "
             "K may be a named kernel (sobel_x, gaussian:5:1.0).", CONV_EXAMPLES)
    p.add_argument("--input", required=True, metavar="M", help=_INPUT_HELP)
    p.add_argument("--kernel", required=True, metavar="K",
                   help="kernel: kh×kw, C_in×kh×kw (one filter, input channels split by '|') or "
                        "C_out×C_in×kh×kw, "
                        "or a kernel name (box:3 is 1/9 everywhere; `cnnlab kernel list`)")
    p.add_argument("--bias", metavar="B", default=None, help="a number or one per output channel ('1,-1')")
    p.add_argument("--stride", metavar="S", default="1", help="int or 'a,b' (default 1)")
    p.add_argument("--padding", metavar="P", default="0",
                   help="int, 'a,b', 'top,bottom,left,right', same, valid or full (default 0)")
    p.add_argument("--padding-mode", default="zeros", choices=PADDING_MODES, metavar="MODE",
                   help="zeros (default), reflect, symmetric, replicate or circular")
    p.add_argument("--dilation", metavar="D", default="1", help="int or 'a,b' (default 1)")
    p.add_argument("--groups", type=int, default=1, metavar="G", help="channel groups (default 1)")
    p.add_argument("--flip", action="store_true", help="true convolution: rotate the kernel by 180° first")
    p.add_argument("--transposed", action="store_true",
                   help="transposed convolution, as torch's conv_transpose2d (kernel C_in×C_out/G×kh×kw)")
    p.add_argument("--output-padding", metavar="P", default="0",
                   help="with --transposed: rows/columns added at the bottom/right (int or 'a,b')")
    p.add_argument("--act", choices=CONV_ACTS, default=None, help="activation applied after the bias")
    p.add_argument("--slope", type=finite_float, default=0.01,
                   help="negative slope of leaky_relu (default 0.01)")
    _common(p)
    p.set_defaults(func=run_conv)

    p = _add(subparsers, "pool", "max or average pooling of one input",
             "Max or average pooling, as torch.nn.functional.max_pool2d / avg_pool2d. "
             "The stride defaults to the window size.", POOL_EXAMPLES)
    p.add_argument("--input", required=True, metavar="M", help=_INPUT_HELP)
    p.add_argument("--op", required=True, choices=("max", "avg"), help="max or avg")
    p.add_argument("--size", required=True, metavar="K", help="window size: int or 'a,b'")
    p.add_argument("--stride", metavar="S", default=None, help="int or 'a,b' (default: the size)")
    p.add_argument("--padding", metavar="P", default="0", help="int or 'a,b' (default 0)")
    p.add_argument("--dilation", metavar="D", default="1", help="max pooling only: int or 'a,b'")
    p.add_argument("--ceil-mode", action="store_true", help="round the output size up (PyTorch's rule)")
    p.add_argument("--no-count-include-pad", dest="count_include_pad", action="store_false",
                   help="avg: divide by the input cells in the window only, not the padding")
    _common(p)
    p.set_defaults(func=run_pool)

    p = _add(subparsers, "act", "an activation function element-wise (softmax per vector)",
             "Apply relu, sigmoid, tanh, leaky_relu or softmax (of a vector; of each row of a "
             "matrix; over the channels of a C×H×W tensor).", ACT_EXAMPLES)
    p.add_argument("--input", required=True, metavar="M",
                   help="a number, vector, matrix or C×H×W tensor (channels split by '|': '1 -2 | 3 4')")
    p.add_argument("--fn", required=True, choices=ACT_FUNCTIONS, help="the function")
    p.add_argument("--slope", type=finite_float, default=0.01,
                   help="negative slope of leaky_relu (default 0.01)")
    _common(p)
    p.set_defaults(func=run_act)


# -- reading -----------------------------------------------------------------------
def _tensor(text: str, what: str, exact: bool, ndims: tuple[int, ...]):
    from cnnlab.cli.inputs import read_tensor

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


def _bias(text: str | None, exact: bool) -> Any:
    if text is None:
        return 0
    from cnnlab.cli.inputs import parse_literal

    value = parse_literal(text.strip(), "bias")
    if isinstance(value, list) and value and isinstance(value[0], list):
        if len(value) == 1:
            value = value[0]
        else:
            raise UsageError("bias must be a number or a list of numbers (one per output channel)")
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, list) and (not value or any(isinstance(v, list) for v in value)):  # [1, [2]]
        raise UsageError("bias must be a number or a list of numbers (one per output channel)")
    if exact:
        return value
    return [float(v) for v in value] if isinstance(value, list) else float(value)


def _check_round(n: int | None) -> None:
    if n is not None and not 0 <= n <= 15:
        raise UsageError(f"--round must be between 0 and 15 decimals, got {n}")


def _check_cells(args) -> None:
    if getattr(args, "max_cells", 0) < 0:
        raise UsageError(f"--max-cells must be >= 0, got {args.max_cells}")
    _check_round(args.round)


def _check_budgets(args, cells: int, window: int, inputs: int = 0) -> None:
    """Exact work (the inputs made fractions too), worked cells and printed numbers within
    their budgets (docs/problems.md)."""
    from cnnlab.ops import budget as B

    if args.exact:
        B.check_work(max(cells * window, inputs), B.EXACT_WORK_BUDGET, "exact arithmetic", B.exact_hint())
    if args.steps:
        B.check_work(min(args.max_cells, cells) * window, B.STEPS_WORK_BUDGET, "the worked steps",
                     "show fewer cells with --max-cells N (the default is 16)")
    if args.format != "json" and cells > B.RENDER_CELL_BUDGET:
        raise UsageError(f"the result has {cells:,} numbers, over the budget of {B.RENDER_CELL_BUDGET:,} "
                         f"written as {args.format}; {B.render_hint()}")


def _read_within_budget(args, specs: list, work) -> list:
    """Read the tensors as floats, check the budgets on their shapes, then read them exactly if asked:
    a fraction tensor over the budget is never built."""
    tensors = [_tensor(text, what, False, ndims) for text, what, ndims in specs]
    cells, window = work(*(t.shape for t in tensors))
    _check_budgets(args, cells, window, sum(t.size for t in tensors))
    if args.exact:
        tensors = [_tensor(text, what, True, ndims) for text, what, ndims in specs]
    return tensors


# -- handlers ----------------------------------------------------------------------
def run_conv(args) -> int:
    """cnnlab conv: read, convolve (or trace), render."""
    from cnnlab import ops
    from cnnlab.cli.inputs import parse_int_pair, parse_padding

    from cnnlab.ops.budget import conv_work

    _check_cells(args)
    if args.groups < 1:
        raise UsageError(f"--groups must be >= 1, got {args.groups}")
    if args.transposed:
        return _run_conv_transposed(args)
    if args.output_padding != "0":
        raise UsageError("--output-padding applies to --transposed only")
    stride, padding = parse_int_pair(args.stride, "stride"), parse_padding(args.padding)
    dilation = parse_int_pair(args.dilation, "dilation")
    x, k = _read_within_budget(args, [(args.input, "input", (2, 3)), (args.kernel, "kernel", (2, 3, 4))],
                               lambda xs, ks: conv_work(xs, ks, stride, padding, dilation, args.groups))
    kw = dict(bias=_bias(args.bias, args.exact), stride=stride, padding=padding, padding_mode=args.padding_mode,
              dilation=dilation, groups=args.groups, flip=args.flip)
    if args.steps:
        from cnnlab.steps import trace_conv2d

        trace = trace_conv2d(x, k, **kw, act=args.act, slope=args.slope)
        return emit(args, trace.output, trace, note=_kernel_note(args.kernel))
    return _activate_and_emit(args, ops.conv2d(x, k, **kw), None, note=_kernel_note(args.kernel))


def _activate_and_emit(args, out, trace, note: str | None = None) -> int:
    from cnnlab import ops

    if args.act:
        fn = ops.get_activation(args.act)
        out = fn(out, args.slope) if args.act == "leaky_relu" else fn(out)
    return emit(args, out, trace, note)


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
    from cnnlab.steps.numbers import exact_string

    shape = "×".join(map(str, k.shape))
    flat = list(k.flat)
    if all(v == flat[0] for v in flat):
        return f"kernel {stripped}: {shape}, every weight {exact_string(flat[0])}"
    rows = "; ".join(" ".join(exact_string(v) for v in row) for row in k.reshape(-1, k.shape[-1]))
    return f"kernel {stripped}: {shape}, weights [{rows}]"


def _run_conv_transposed(args) -> int:
    """cnnlab conv --transposed: zero padding, int or pair padding, no flip."""
    from cnnlab import ops
    from cnnlab.cli.inputs import parse_int_pair, parse_padding
    from cnnlab.ops.budget import transposed_work

    if args.flip:
        raise UsageError("--flip does not apply to --transposed (its worked steps rotate the kernel already)")
    if args.padding_mode != "zeros":
        raise UsageError(f"--transposed takes zero padding only, got --padding-mode {args.padding_mode}")
    if args.act and args.steps:
        raise UsageError("--act with --transposed --steps is not worked out; leave out --steps or --act")
    x, k = _read_within_budget(args, [(args.input, "input", (2, 3)), (args.kernel, "kernel", (2, 3, 4))],
                               transposed_work)
    kw = dict(bias=_bias(args.bias, args.exact), stride=parse_int_pair(args.stride, "stride"),
              padding=parse_padding(args.padding, named=False),
              output_padding=parse_int_pair(args.output_padding, "output padding", minimum=0),
              dilation=parse_int_pair(args.dilation, "dilation"), groups=args.groups)
    if args.steps:
        from cnnlab.steps import trace_conv_transpose2d

        trace = trace_conv_transpose2d(x, k, **kw)
        return emit(args, trace.output, trace)
    return _activate_and_emit(args, ops.conv_transpose2d(x, k, **kw), None)


def run_pool(args) -> int:
    """cnnlab pool: read, pool (or trace), render."""
    from cnnlab import ops
    from cnnlab.cli.inputs import parse_int_pair, parse_padding

    from cnnlab.ops.budget import pool_work

    _check_cells(args)
    size = parse_int_pair(args.size, "--size")
    stride = None if args.stride is None else parse_int_pair(args.stride, "stride")
    padding = parse_padding(args.padding, named=False)
    (x,) = _read_within_budget(args, [(args.input, "input", (2, 3))],
                               lambda xs: pool_work(xs, size, stride, padding))
    dilation = parse_int_pair(args.dilation, "dilation")
    if args.op == "avg" and dilation not in (1, (1, 1)):
        raise UsageError("average pooling has no dilation (as in PyTorch); drop --dilation")
    if args.steps:
        from cnnlab.steps import trace_pool2d

        trace = trace_pool2d(x, args.op, size, stride, padding, dilation, args.ceil_mode,
                             args.count_include_pad)
        return emit(args, trace.output, trace)
    if args.op == "max":
        out = ops.max_pool2d(x, size, stride, padding, dilation, args.ceil_mode)
    else:
        out = ops.avg_pool2d(x, size, stride, padding, args.ceil_mode, args.count_include_pad)
    return emit(args, out, None)


def run_act(args) -> int:
    """cnnlab act: read, apply the function (or trace it), render."""
    from cnnlab import ops
    from cnnlab.cli.inputs import read_tensor

    _check_cells(args)
    x = read_tensor(args.input, "input", exact=False)
    _check_budgets(args, x.size, x.shape[-1] if args.fn == "softmax" and x.ndim else 1)
    if args.exact:
        x = read_tensor(args.input, "input", exact=True)
    if x.ndim > 3:
        raise UsageError(f"input must be at most 3-D (C×H×W), got shape {'x'.join(map(str, x.shape))}")
    if args.steps:
        from cnnlab.steps import trace_act

        trace = trace_act(x, args.fn, slope=args.slope)
        return emit(args, trace.output, trace)
    if args.fn == "softmax" and x.ndim == 0:
        x = x.reshape(1)
    fn = ops.get_activation(args.fn)
    out = fn(x, args.slope) if args.fn == "leaky_relu" else fn(x)
    return emit(args, out, None)


# -- output ------------------------------------------------------------------------
def emit(args, output, trace, note: str | None = None) -> int:
    """Print the result in ``args.format`` (with the worked solution when ``trace``).

    ``note`` (e.g. what a named kernel's weights are) is a line before the result; in JSON
    the ``"note"`` field."""
    import numpy as np

    output = np.asarray(output)
    if output.dtype != object and not np.isfinite(output).all():
        raise UsageError("the result overflows (values over about 1.8e308); scale the input down")
    if args.format == "json":
        from cnnlab.steps.numbers import exact_string, is_exact, to_json_value

        doc: dict[str, Any] = {"output": to_json_value(output, args.round), "shape": list(output.shape)}
        if is_exact(output):
            doc["exact"] = _nested(output, exact_string)
        if trace is not None:
            doc["steps"] = trace.to_dict(args.max_cells)
        if note:
            doc["note"] = note
        sys.stdout.write(json.dumps(doc) + "\n")
        return 0
    from cnnlab.steps.layout import render_trace, render_value

    if trace is not None:
        text = render_trace(trace, args.format, max_cells=args.max_cells, round=args.round)
    elif args.format == "latex":
        text = "\\[\nO = " + render_value(output, "latex", args.round) + "\n\\]\n"
    else:
        text = render_value(output, args.format, args.round) + "\n"
    if note:
        from cnnlab.steps.render_latex import escape

        text = (escape(note) + "\n\n" if args.format == "latex" else note + "\n\n") + text
    if args.format == "latex" and args.standalone:
        from cnnlab.steps.render_latex import standalone

        text = standalone(text)
    sys.stdout.write(text)
    return 0


def _nested(value, fn):
    """``fn`` applied to every number of a nested list / array, keeping the nesting."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list):
        return [_nested(v, fn) for v in value]
    return fn(value)
