"""``cnnlab arch``: the shape / receptive-field / parameter / cost table of a network,
and inverse design (``--solve``)."""

from __future__ import annotations

import sys

from cnnlab.api.arch import DTYPES, LAYOUTS
from cnnlab.arch.inverse import UNKNOWNS
from cnnlab.cli.argtypes import add_output_format
from cnnlab.cli.commands import add_command
from cnnlab.errors import UsageError

__all__ = ["register", "handle"]

EXAMPLES = """\
examples:
  cnnlab arch "conv 11x11/4 96; relu; maxpool 3x3/2; conv 5x5 256 p2" --input 3x227x227
  cnnlab arch "conv 5x5 6; maxpool 2x2; conv 5x5 16; maxpool 2x2; fc 120; fc 84; fc 10" \\
      --input 1x32x32 --steps --format markdown
  cnnlab arch net.yaml --format latex --dtype fp16      (a file: compact text or a YAML list)
  cnnlab arch "conv 3x3 64 same; conv 3x3/2 128 same" --input 224x224x3 --layout nhwc
  cnnlab arch "conv 5x5 20" --input 1x28x28 --fc-compare        (fc with as many units)
  cnnlab arch --torchvision resnet18 --input 3x224x224 --format json
  cnnlab arch --solve padding --n-in 32 --n-out 32 --kernel 5
  cnnlab arch --solve kernel --n-in 28 --n-out 24
  cnnlab arch --solve stride --n-in 227 --n-out 55 --kernel 11
  cnnlab arch --solve depth --rf 7 --kernel 3 --channels 64   (fewest stacked 3x3 layers)

layers (any order of a layer's options; ';' or new lines between layers):
  conv KxK[/S] C_OUT [pP|pPHxPW|same|valid|full] [dD] [gG|dw] [nobias]   (also 10@5x5, 3->96)
  convt KxK[/S] C_OUT [pP] [opN] [dD] [gG] [nobias]    transposed convolution
  maxpool KxK[/S] [pP|same] [dD] [ceil]   avgpool KxK[/S] [pP|same] [ceil]   (S defaults to K)
  res [KxK][/S] C_OUT    residual block: conv-bn-relu-conv-bn + shortcut (1x1 conv + bn if the shape changes), relu
  gap  gmp  fc N [nobias]  flatten  dropout [P]  bn  lrn
  relu leakyrelu relu6 sigmoid tanh softmax gelu elu silu identity
  YAML: - {type: conv, kernel: 3, stride: 2, out: 64, padding: same}   or a mapping
        {input: 3x32x32, layers: [...]}

conventions:
  same padding: output ceil(n/stride), the odd pixel at the bottom/right (as TensorFlow).
  receptive_field: theoretical field of one unit (Araujo et al., Distill 2019; dilation
    counts as d*(k-1)+1), in input pixels, possibly reaching into the padding; [rh, rw]
    when height and width differ; fc and global pooling see the whole map; branches
    merge as the union (largest over all paths). jump: input pixels between neighbouring
    units; start: centre of unit 0's field (0-based pixel index).
  macs: conv, transposed conv and fc multiply-accumulates, biases not counted; pooling,
    batch norm, activations and additions count 0 (as fvcore; ptflops also counts those).
    FLOPs = 2*MACs. bn has 2*C parameters.
  activation_bytes: sum of the layer outputs kept by a forward pass, batch 1, the input
    not counted; flatten, dropout, the ReLU family and identity are left out (views or in
    place). activation_bytes_all in the JSON counts every layer's output.
  --layout nhwc reads --input as [N×]H×W×C and prints shapes as 1×H×W×C (numbers stay
    per example); JSON shapes are always channel-first.
"""

SOLVE_CHOICES = (*UNKNOWNS, "depth")  # one layer's unknown, or the depth of a stack


def register(subparsers) -> None:
    parser = add_command(subparsers, "arch", EXAMPLES)
    parser.add_argument("spec", nargs="?", metavar="SPEC",
                        help="layers, e.g. 'conv 3x3 16 p1; relu; maxpool 2x2', or a file holding them")
    parser.add_argument("--input", metavar="CxHxW", help="input shape, e.g. 3x224x224 (HxW: one channel)")
    parser.add_argument("--torchvision", metavar="NAME", help="analyse a torchvision model (no weights needed)")
    parser.add_argument("--list-torchvision", action="store_true", help="list torchvision model names")
    add_output_format(parser, ("table", "text", "markdown", "latex", "json"), "table")
    parser.add_argument("--dtype", default="fp32", choices=DTYPES,
                        help="bytes per value for the memory columns (fp32 = 4, fp16/bf16 = 2)")
    parser.add_argument("--steps", action="store_true", help="show every formula with the numbers put in")
    parser.add_argument("--layout", default="chw", choices=LAYOUTS,
                        help="how --input is read and shapes are printed")
    parser.add_argument("--fc-compare", nargs="?", const="same", metavar="N",
                        help="add what a fully connected layer with N units (default: as many as the "
                             "layer outputs) would cost on each layer's input")
    solve = parser.add_argument_group("inverse design (--solve)")
    solve.add_argument("--solve", choices=SOLVE_CHOICES,
                       help="solve for padding, kernel, stride or dilation, or the fewest stacked layers "
                            "(depth) reaching a receptive field")
    solve.add_argument("--n-in", type=int, metavar="N", help="input size along one axis")
    solve.add_argument("--n-out", type=int, metavar="N", help="wanted output size")
    solve.add_argument("--kernel", type=int, metavar="K", help="kernel size, when known")
    solve.add_argument("--stride", type=int, metavar="S", help="stride, when known")
    solve.add_argument("--padding", type=int, metavar="P", help="padding, when known")
    solve.add_argument("--dilation", type=int, metavar="D", help="dilation, when known")
    solve.add_argument("--max", type=int, metavar="V", help="upper bound of the search")
    solve.add_argument("--rf", type=int, metavar="R", help="target receptive field (--solve depth)")
    solve.add_argument("--strides", metavar="LIST", help="stride pattern repeated over the stack, e.g. 1,2")
    solve.add_argument("--channels", type=int, metavar="C", help="compare the weights of the stack "
                                                                  "with one RxR layer of C channels")
    parser.set_defaults(func=handle)


_SOLVE_FLAGS = ("n_in", "n_out", "kernel", "stride", "padding", "dilation", "max", "rf", "strides", "channels")


def _solve(args) -> int:
    from cnnlab.arch import fewest_layers, render_solution, solve_layer

    if args.spec or args.torchvision:
        raise UsageError("--solve takes no SPEC or --torchvision")
    if args.solve == "depth":
        if args.rf is None or args.kernel is None:
            raise UsageError("--solve depth needs --rf R and --kernel K")
        strides = None
        if args.strides:
            try:
                strides = [int(s) for s in args.strides.replace(" ", "").split(",") if s]
            except ValueError:
                raise UsageError(f"--strides must be integers separated by commas, got {args.strides!r}") from None
        result = fewest_layers(args.rf, args.kernel, strides, args.dilation or 1, args.channels)
    else:
        if args.n_in is None or args.n_out is None:
            raise UsageError(f"--solve {args.solve} needs --n-in and --n-out")
        if getattr(args, args.solve) is not None:
            raise UsageError(f"--{args.solve} is the unknown: leave it out")
        result = solve_layer(args.solve, args.n_in, args.n_out, kernel=args.kernel,
                             stride=args.stride if args.stride is not None else 1,
                             padding=args.padding if args.padding is not None else 0,
                             dilation=args.dilation if args.dilation is not None else 1, limit=args.max)
    fmt = "text" if args.format in ("table", "text") else args.format
    print(render_solution(result, fmt))
    return 0


def handle(args) -> int:
    """Parse, compute one table (or one inverse answer), render."""
    if args.solve:
        return _solve(args)
    used = [f"--{f.replace('_', '-')}" for f in _SOLVE_FLAGS if getattr(args, f) is not None]
    if used:
        raise UsageError(f"{', '.join(used)} only go with --solve")
    if args.list_torchvision:
        from cnnlab.arch.torch_analyze import torchvision_names

        print("\n".join(_torch_call(torchvision_names)))
        return 0
    from cnnlab.api.arch import arch

    result = arch(args.spec, args.input, torchvision=args.torchvision, dtype=args.dtype, steps=args.steps,
                  layout=args.layout, fc_compare=args.fc_compare)
    sys.stdout.write(result.output(args.format))
    return 0


def _torch_call(fn, *args, **kwargs):
    # imported before the call, so that a plain install is refused (cnnlab.cli.extras) before any work
    import torch  # noqa: F401
    import torchvision  # noqa: F401

    return fn(*args, **kwargs)
