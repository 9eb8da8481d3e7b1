"""``cnnlab kernel``: list, describe, apply, cost, invariance, pyramid (docs/kernels.md).

The CLI parses, calls one function of ``cnnlab.kernels``, renders. Heavy imports
(scipy, scikit-image, matplotlib) happen inside the handlers that need them.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

from cnnlab.cli import argtypes as at
from cnnlab.cli.argtypes import DOC_FORMATS, add_output_format
from cnnlab.cli.commands import add_command
from cnnlab.api.kernels import read_kernel
from cnnlab.errors import MAX_SIDE, UsageError
from cnnlab.kernels.invariance import INVARIANCE_PARTS
from cnnlab.kernels.pyramid import MAX_LEVELS
from cnnlab.ops.padding import PADDING_MODES

__all__ = ["register", "read_kernel"]

FORMATS = DOC_FORMATS

EXAMPLES = """examples:
  cnnlab kernel list
  cnnlab kernel describe sobel_x
  cnnlab kernel describe '1 2 1; 2 4 2; 1 2 1' --format json
  cnnlab kernel describe laplacian8 --format latex
  cnnlab kernel apply camera --kernel sobel_x --kernel2 sobel_y --out edges.png
  cnnlab kernel apply photo.jpg --kernel gaussian:9:2.0 --padding-mode reflect
  cnnlab kernel cost --size 256 --k 3,5,9,15,31
  cnnlab kernel invariance --image camera --kernel sobel_x --out invariance.png
  cnnlab kernel pyramid camera --levels 5 --out pyramid.png
"""


def _float(k: np.ndarray) -> np.ndarray:
    return np.array([[float(v) for v in row] for row in k.tolist()]) if k.dtype == object else k


def _int_list(text: str, what: str, top: int = MAX_SIDE) -> list[int]:
    """Positive integers separated by commas, each at most ``top``, at most 64 of them."""
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    if len(parts) > 64 or any(len(p) > 12 for p in parts):
        raise UsageError(f"{what} takes at most 64 numbers of at most {top}, got {text[:40]!r}")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise UsageError(f"{what} must be integers separated by commas, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise UsageError(f"{what} must be positive integers, got {text!r}")
    if max(values) > top:
        raise UsageError(f"{what}: {max(values)} is over the limit of {top}")
    return values


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:40] or "kernel"


def _emit(args: argparse.Namespace, text: str, data: dict) -> int:
    from cnnlab.kernels.render import to_json

    if args.format == "json":
        print(json.dumps(to_json(data)))
    else:
        print(text, end="")
    return 0


def _check_out(path: str) -> str:
    parent = Path(path).expanduser().resolve().parent
    if not parent.is_dir():
        raise UsageError(f"cannot write {path}: folder {parent} does not exist")
    if not path.lower().endswith(".png"):
        raise UsageError(f"--out must be a .png file, got {path!r}")
    return path


# ---------------------------------------------------------------- handlers

def _list(args: argparse.Namespace) -> int:
    from cnnlab.api.kernels import kernel_list

    sys.stdout.write(kernel_list().output(args.format))
    return 0


def _describe(args: argparse.Namespace) -> int:
    from cnnlab.api.kernels import kernel_describe

    sys.stdout.write(kernel_describe(args.kernel, round=args.round).output(args.format))
    return 0


def _read_apply_image(source: str, gray: bool) -> tuple[np.ndarray, str, bool]:
    """A picture file or sample, or a matrix file (.csv/.txt/.npy/.json, read as ``conv --input``
    reads it) taken as a grey image with its values as they are. Returns (image, label, is_matrix)."""
    from cnnlab.api.inputs import FILE_SUFFIXES, read_tensor
    from cnnlab.kernels.apply import load_image

    if not source.lower().endswith(FILE_SUFFIXES):
        return (*load_image(source, gray=gray), False)
    matrix = read_tensor(source, "image")
    if matrix.ndim != 2:
        raise UsageError(f"image {source}: a matrix file must hold one 2-D matrix (a grey image), "
                         f"got shape {'x'.join(map(str, matrix.shape))}")
    return matrix, f"{Path(source).name} (matrix)", True


def _apply(args: argparse.Namespace) -> int:
    from cnnlab.kernels.apply import apply_kernels, load_image, plot_apply
    from cnnlab.kernels.describe import describe_kernel
    from cnnlab.kernels.render import render_apply

    kernels = [read_kernel(args.kernel)] + ([read_kernel(args.kernel2)] if args.kernel2 else [])
    names = [args.kernel] + ([args.kernel2] if args.kernel2 else [])
    out = None if args.no_picture else _check_out(
        args.out or f"kernel-{_slug(Path(args.image).stem)}-{_slug('-'.join(names))}.png")
    image, label, as_matrix = _read_apply_image(args.image, args.gray)
    facts = [describe_kernel(k) for k in kernels]
    result = apply_kernels(image, [_float(k) for k in kernels], names, args.padding_mode, label)
    if out:
        plot_apply(result, out, [float(f["sum"]) for f in facts])
    notes = []
    if as_matrix:
        notes.append(f"{args.image} was read as a matrix: a grey image whose values are used as they are "
                     "(not scaled to [0, 1])")
    if len(kernels) == 2:
        notes.append("gradient magnitude = sqrt(g1^2 + g2^2); orientation = atan2(g2, g1) in degrees "
                     "(for sobel_x, sobel_y: 0 = brighter to the right, 90 = brighter below)")
    summary = {"image": label, "shape": list(image.shape), "kernels": names,
               "sums": [f["sum"] for f in facts], "families": [f["family"] for f in facts],
               "padding_mode": args.padding_mode, "picture": out, "stats": result.stats, "notes": notes,
               "read_as": "matrix" if as_matrix else "image"}
    text = "" if args.format == "json" else render_apply(summary, args.format)
    return _emit(args, text, summary)


def _cost(args: argparse.Namespace) -> int:
    from cnnlab.kernels.cost import measure_cost, plot_cost
    from cnnlab.kernels.render import render_cost

    out = None if args.no_picture else _check_out(args.out or "kernel-cost.png")
    result = measure_cost(_int_list(args.size, "--size"), _int_list(args.k, "--k", 64), repeats=args.repeats)
    if out:
        plot_cost(result, out)
    data = {"rows": [{"n": r.n, "k": r.k, **{k: v for k, v in r.counts.items() if k not in ("n", "k")},
                      "full_seconds": r.full_s, "separable_seconds": r.separable_s,
                      "max_difference": r.max_difference} for r in result.rows],
            "repeats": result.repeats, "slopes": result.slopes,
            "crossover": {str(n): k for n, k in result.crossover.items()}, "picture": out}
    text = "" if args.format == "json" else render_cost(result, args.format, out)
    return _emit(args, text, data)


def _invariance(args: argparse.Namespace) -> int:
    from cnnlab.kernels.apply import load_image
    from cnnlab.kernels.invariance import invariance_report, plot_invariance
    from cnnlab.kernels.render import render_invariance

    parts = INVARIANCE_PARTS if args.part == "all" else (args.part,)
    out = None if args.no_picture else _check_out(args.out or "kernel-invariance.png")
    shift = _int_list_signed(args.shift)
    k = _float(read_kernel(args.kernel))
    image, label = load_image(args.image, gray=True)
    H, W = image.shape
    c = min(args.crop, H, W)
    if args.crop < 64:
        raise UsageError(f"--crop must be at least 64 (pixels of the centre crop), got {args.crop}")
    if c < 64:
        raise UsageError(f"the image must be at least 64x64 pixels, got {H}x{W}")
    top, left = (H - c) // 2, (W - c) // 2
    x = image[top:top + c, left:left + c]  # (c, c) centre crop
    if max(abs(shift[0]), abs(shift[1])) * 2 + 1 >= c // 2:
        raise UsageError(f"--shift {args.shift} is too large for a {c}x{c} crop")
    report = invariance_report(x, k, image=f"{label} centre {c}x{c}", kernel=args.kernel, shift=tuple(shift),
                               sigma=args.sigma, ns=_int_list(args.n, "--n"), trials=args.trials,
                               seed=args.seed, parts=parts)
    if out:
        plot_invariance(report, out)
    report["picture"] = out
    text = "" if args.format == "json" else render_invariance(report, args.format)
    return _emit(args, text, report)


def _pyramid(args: argparse.Namespace) -> int:
    from cnnlab.kernels.pyramid import gaussian_pyramid, laplacian_pyramid, plot_pyramid, pyramid_sigma

    out = None if args.no_picture else _check_out(args.out or f"kernel-pyramid-{_slug(Path(args.image).stem)}.png")
    image, label, _ = _read_apply_image(args.image, gray=True)
    if image.ndim != 2:
        raise UsageError(f"image {args.image}: a pyramid needs a grey image; add --gray")
    image = _float(image).astype(np.float64)
    gaussian = gaussian_pyramid(image, args.levels)
    laplacian = laplacian_pyramid(image, len(gaussian))
    if out:
        plot_pyramid(gaussian, laplacian, out, f"{label}: sigma {pyramid_sigma():.3f}, downscale 2")
    rows = [{"level": k, "shape": list(g.shape), "gaussian_mean": float(g.mean()),
             "laplacian_min": float(b.min()), "laplacian_max": float(b.max()),
             "laplacian_rms": float(np.sqrt(np.mean(b ** 2)))} for k, (g, b) in enumerate(zip(gaussian, laplacian))]
    data = {"image": label, "levels": rows, "sigma": pyramid_sigma(), "downscale": 2, "picture": out}
    if args.format == "json":
        return _emit(args, "", data)
    lines = [f"pyramid of {label} (sigma {pyramid_sigma():.4f}, downscale 2, as scikit-image):",
             f"{'level':>5}  {'size':>11}  {'Gaussian mean':>13}  {'Laplacian min':>13}  "
             f"{'max':>9}  {'rms':>9}"]
    for r in rows:
        lines.append(f"{r['level']:>5}  {'x'.join(map(str, r['shape'])):>11}  {r['gaussian_mean']:>13.4f}  "
                     f"{r['laplacian_min']:>13.4f}  {r['laplacian_max']:>9.4f}  {r['laplacian_rms']:>9.4f}")
    if out:
        lines.append(f"picture: {out}")
    return _emit(args, "\n".join(lines) + "\n", data)


def _int_list_signed(text: str) -> list[int]:
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 2:
        raise UsageError(f"--shift must be two integers 'dy,dx', got {text!r}")
    return values


# ---------------------------------------------------------------- parsers

def _format_arg(p: argparse.ArgumentParser) -> None:
    add_output_format(p, FORMATS)


def register(subparsers) -> None:
    """Add ``kernel`` and its subcommands to the ``cnnlab`` parser."""
    parser = add_command(subparsers, "kernel", EXAMPLES)
    sub = parser.add_subparsers(dest="kernel_command", metavar="SUBCOMMAND", parser_class=type(parser))

    def usage(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(func=usage)

    p = add_command(sub, "kernel list", EXAMPLES)
    _format_arg(p)
    p.set_defaults(func=_list)

    p = add_command(sub, "kernel describe", EXAMPLES)
    p.add_argument("kernel", metavar="K", help="named kernel (sobel_x, box:5, gaussian:5:1.0), literal or file")
    p.add_argument("--round", type=at.bounded_int(0, "round"), default=4, metavar="N", help="decimals shown (default 4)")
    _format_arg(p)
    p.set_defaults(func=_describe)

    p = add_command(sub, "kernel apply", EXAMPLES)
    p.add_argument("image", metavar="IMAGE", help="image file, scikit-image sample name, or matrix file (grey, values as they are)")
    p.add_argument("--kernel", required=True, metavar="K", help="the kernel: a name (sobel_x, box:5, gaussian:5:1.0), "
                                                                "literal or file")
    p.add_argument("--kernel2", metavar="K2", help="second kernel: adds gradient magnitude and orientation")
    p.add_argument("--padding-mode", choices=PADDING_MODES, default="zeros",
                   help="border handling (default zeros, as PyTorch); reflect avoids dark borders")
    p.add_argument("--gray", action="store_true", help="convert a colour image to grey first")
    p.add_argument("--out", metavar="PNG", help="picture path (default kernel-<image>-<kernel>.png)")
    p.add_argument("--no-picture", action="store_true", help="only print the statistics")
    _format_arg(p)
    p.set_defaults(func=_apply)

    p = add_command(sub, "kernel cost", EXAMPLES)
    p.add_argument("--size", default="256", metavar="N[,N...]", help="image side(s) (default 256)")
    p.add_argument("--k", default="3,5,7,9,15,21,31,45,63", metavar="K1,K2,...", help="kernel sizes")
    p.add_argument("--repeats", type=at.bounded_int(1, "repeats"), default=3, help="timing runs, best kept (default 3)")
    p.add_argument("--out", metavar="PNG", help="plot path (default kernel-cost.png)")
    p.add_argument("--no-picture", action="store_true", help="only print the table")
    _format_arg(p)
    p.set_defaults(func=_cost)

    p = add_command(sub, "kernel invariance", EXAMPLES, negative_values=True)  # --shift -3,5
    p.add_argument("--image", default="camera", help="image file or sample (default camera), used in grey")
    p.add_argument("--kernel", default="sobel_x", metavar="K", help="kernel for the shift demos (default sobel_x)")
    p.add_argument("--crop", type=at.bounded_int(1, "crop"), default=256, help="side of the centre crop used (default 256)")
    p.add_argument("--shift", default="3,5", metavar="DY,DX", help="shift in pixels (default 3,5)")
    p.add_argument("--sigma", type=at.bounded_float(0, 100, low_open=True), default=0.1, help="noise standard deviation (default 0.1)")
    p.add_argument("--n", default="1,2,4,8,16,32,64", metavar="N1,N2,...", help="numbers of copies averaged")
    p.add_argument("--trials", type=at.bounded_int(1, "trials"), default=4, help="repetitions per N (default 4)")
    p.add_argument("--seed", type=at.seed, default=0, help="random seed (0 to 2^32-1)")
    p.add_argument("--part", choices=("all", *INVARIANCE_PARTS), default="all",
                   help="which demonstration (default all)")
    p.add_argument("--out", metavar="PNG", help="picture path (default kernel-invariance.png)")
    p.add_argument("--no-picture", action="store_true", help="only print the tables")
    _format_arg(p)
    p.set_defaults(func=_invariance)

    p = add_command(sub, "kernel pyramid", EXAMPLES)
    p.add_argument("image", metavar="IMAGE", help="image file, scikit-image sample name, or matrix file (used in grey)")
    p.add_argument("--levels", type=at.bounded_int(1, MAX_LEVELS), default=4, help="levels, the input included (default 4)")
    p.add_argument("--out", metavar="PNG", help="picture path (default kernel-pyramid-<image>.png)")
    p.add_argument("--no-picture", action="store_true", help="only print the table")
    _format_arg(p)
    p.set_defaults(func=_pyramid)
