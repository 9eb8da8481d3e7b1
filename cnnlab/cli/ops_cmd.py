"""``cnnlab conv``, ``cnnlab pool`` and ``cnnlab act``: the flags, one call, the printed result.

Each handler passes its flags to the function of the Python API (:mod:`cnnlab.api.ops`,
which reads, checks and computes) and prints the result in ``--format`` (docs/cli.md).
Top-level imports stay minimal: this module is imported on every ``cnnlab conv`` start.
"""

from __future__ import annotations

import argparse
import sys

from cnnlab.api.ops import ACT_FUNCTIONS, CONV_ACTS, PADDING_MODES, POOL_OPS
from cnnlab.cli.argtypes import DOC_FORMATS, add_output_format, finite_float
from cnnlab.cli.commands import add_command

__all__ = ["register", "run_conv", "run_pool", "run_act", "emit"]

FORMATS = DOC_FORMATS

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
def _common(p: argparse.ArgumentParser, handler, slope: bool = False) -> None:
    """The flags conv, pool and act share (after their own), and the handler."""
    if slope:
        p.add_argument("--slope", type=finite_float, default=0.01,
                       help="negative slope of leaky_relu (default 0.01)")
    p.add_argument("--exact", action="store_true",
                   help="exact fractions (1/2 stays 1/2; an average of halves stays a fraction)")
    p.add_argument("--round", type=int, metavar="N", default=None,
                   help="round shown and JSON values to N decimals, half away from zero")
    p.add_argument("--steps", action="store_true",
                   help="show the worked solution: padded input, kernel, every cell's window, products and sum")
    p.add_argument("--max-cells", type=int, metavar="N", default=16,
                   help="cells worked out with --steps (default 16; the rest are counted)")
    add_output_format(p, FORMATS)
    p.add_argument("--standalone", action="store_true",
                   help="with --format latex: a complete document instead of a fragment")
    p.set_defaults(func=handler)


def _add(subparsers, name: str, examples: str) -> argparse.ArgumentParser:
    # no option of these commands looks like "-1"
    return add_command(subparsers, name, examples, negative_values=True)


def register(subparsers) -> None:
    """Add the conv, pool and act commands."""
    p = _add(subparsers, "conv", CONV_EXAMPLES)
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
                   help=f"{PADDING_MODES[0]} (default), {', '.join(PADDING_MODES[1:-1])} or {PADDING_MODES[-1]}")
    p.add_argument("--dilation", metavar="D", default="1", help="int or 'a,b' (default 1)")
    p.add_argument("--groups", type=int, default=1, metavar="G", help="channel groups (default 1)")
    p.add_argument("--flip", action="store_true", help="true convolution: rotate the kernel by 180° first")
    p.add_argument("--transposed", action="store_true",
                   help="transposed convolution, as torch's conv_transpose2d (kernel C_in×C_out/G×kh×kw)")
    p.add_argument("--output-padding", metavar="P", default="0",
                   help="with --transposed: rows/columns added at the bottom/right (int or 'a,b')")
    p.add_argument("--act", choices=CONV_ACTS, default=None, help="activation applied after the bias")
    _common(p, run_conv, slope=True)

    p = _add(subparsers, "pool", POOL_EXAMPLES)
    p.add_argument("--input", required=True, metavar="M", help=_INPUT_HELP)
    p.add_argument("--op", required=True, choices=POOL_OPS, help=" or ".join(POOL_OPS))
    p.add_argument("--size", required=True, metavar="K", help="window size: int or 'a,b'")
    p.add_argument("--stride", metavar="S", default=None, help="int or 'a,b' (default: the size)")
    p.add_argument("--padding", metavar="P", default="0", help="int or 'a,b' (default 0)")
    p.add_argument("--dilation", metavar="D", default="1", help="max pooling only: int or 'a,b'")
    p.add_argument("--ceil-mode", action="store_true", help="round the output size up (PyTorch's rule)")
    p.add_argument("--no-count-include-pad", dest="count_include_pad", action="store_false",
                   help="avg: divide by the input cells in the window only, not the padding")
    _common(p, run_pool)

    p = _add(subparsers, "act", ACT_EXAMPLES)
    p.add_argument("--input", required=True, metavar="M",
                   help="a number, vector, matrix or C×H×W tensor (channels split by '|': '1 -2 | 3 4')")
    p.add_argument("--fn", required=True, choices=ACT_FUNCTIONS, help="the function")
    _common(p, run_act, slope=True)


# -- handlers ----------------------------------------------------------------------
def _settings(args) -> dict:
    return dict(exact=args.exact, round=args.round, steps=args.steps, max_cells=args.max_cells,
                _format=args.format)


def run_conv(args) -> int:
    """cnnlab conv: the flags -> :func:`cnnlab.conv` -> the printed result."""
    from cnnlab.api.ops import conv

    result = conv(args.input, args.kernel, bias=args.bias, stride=args.stride, padding=args.padding,
                  padding_mode=args.padding_mode, dilation=args.dilation, groups=args.groups,
                  flip=args.flip, transposed=args.transposed, output_padding=args.output_padding,
                  act=args.act, slope=args.slope, **_settings(args))
    if result.warning:  # rows a stride never reaches (docs/cli.md): a note beside the result, not in it
        print(result.warning, file=sys.stderr)
    return emit(args, result)


def run_pool(args) -> int:
    """cnnlab pool: the flags -> :func:`cnnlab.pool` -> the printed result."""
    from cnnlab.api.ops import pool

    return emit(args, pool(args.input, args.op, args.size, stride=args.stride, padding=args.padding,
                           dilation=args.dilation, ceil_mode=args.ceil_mode,
                           count_include_pad=args.count_include_pad, **_settings(args)))


def run_act(args) -> int:
    """cnnlab act: the flags -> :func:`cnnlab.act` -> the printed result."""
    from cnnlab.api.ops import act

    return emit(args, act(args.input, args.fn, slope=args.slope, **_settings(args)))


def emit(args, result) -> int:
    """Print ``result`` in ``args.format`` (a complete LaTeX document with ``--standalone``)."""
    text = result.output(args.format)
    if args.format == "latex" and args.standalone:
        from cnnlab.doc.latex import standalone

        text = standalone(text)
    sys.stdout.write(text)
    return 0
