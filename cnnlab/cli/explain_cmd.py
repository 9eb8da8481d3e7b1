"""``cnnlab explain RUN_DIR``: pictures and a page of what a trained run learned.

The handler turns the flags into an :class:`cnnlab.explain.ExplainConfig`, calls
:func:`cnnlab.explain.explain_run` and prints what was written. torch is imported only
inside the handler.
"""

from __future__ import annotations

import argparse
import json
import sys

from cnnlab.cli.argtypes import add_output_format
from cnnlab.cli.commands import add_command
from cnnlab.cli.config_flags import add_config_flags, config_values
from cnnlab.errors import UsageError
from cnnlab.explain.config import ExplainConfig

__all__ = ["register", "explain_handler"]

EXAMPLES = """parts (--what, default all = every part that applies to the model):
  filters   first-layer filters as a grid, and what each detects (kernel describe's probes)
  maps      feature maps of --layer (default: every conv layer) for one image
  gradcam   Grad-CAM heatmaps on --layer (default: the last conv) for --count images
  maximize  activation maximisation (gradient ascent with jitter/rotation/scale, TV + L2)
  shift     accuracy and unchanged predictions for shifts -N..N px (--max-shift N)
  coef      logistic-regression coefficient images (logreg runs)

examples:
  cnnlab explain runs/mnist                       # everything, into runs/mnist/explain/
  cnnlab explain runs/mnist --list-layers
  cnnlab explain runs/mnist --what filters,maps --index 7
  cnnlab explain runs/mnist --what maps --layer features.3 --image my_digit.png
  cnnlab explain runs/mnist --what gradcam --target-class 3 --count 10
  cnnlab explain runs/mnist --what maximize --maximize classes+features.3 --steps 256 --seed 1
  cnnlab explain runs/mnist --what maximize --maximize features.0:4@12,12
  cnnlab explain runs/mnist --what shift --max-shift 6 --limit 2000 --json
  cnnlab explain runs/logreg --what coef,shift --out pictures/

--maximize SPEC: classes (every class logit, up to 16), class:K (an index or a class
name, as --target-class), LAYER (its first 16 channels, spatial mean), LAYER:C (one
channel) or LAYER:C@Y,X (one unit); join several with +. Default: classes, plus the channels of --layer or the last conv layer.

--image PATH: a PNG/JPEG (or a .npy band stack in [0, 1]) instead of a test image.
Colour becomes grey for a 1-channel model (0.299 R + 0.587 G + 0.114 B), grey is
repeated for an RGB model; another size is resized (bilinear) only when the aspect
ratio is the model's, else refused (squeezing would distort it: crop it first).
MNIST-style models expect a light digit on a dark background.

Writes PNG files and explain.html (pictures embedded) into --out (default
RUN_DIR/explain/); --json prints one JSON summary as the last line.
"""


def register(subparsers) -> None:
    """Add the ``explain`` command."""
    p = add_command(subparsers, "explain", EXAMPLES)
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by cnnlab train")
    add_config_flags(p, ExplainConfig)
    p.add_argument("--list-layers", action="store_true",
                   help="print the layer names (for --layer), types and output shapes, and exit")
    add_output_format(p, help="text, or json: the last line of stdout is one JSON summary")
    p.set_defaults(func=explain_handler)


def _list_layers(run_dir: str, as_json: bool) -> int:
    from cnnlab.explain import layer_table
    from cnnlab.train.evaluate import load_run

    run = load_run(run_dir)
    shape = (run.meta["in_channels"], *run.meta["input_size"])
    rows = layer_table(run.model, shape)
    if as_json:
        print(json.dumps({"run_dir": str(run.run_dir), "input": list(shape), "layers": rows}))
        return 0
    labels = [r["label"] or "" for r in rows]
    lw = max(len(label) for label in labels)
    width = max(len(r["name"]) for r in rows)
    shapes = ["x".join(map(str, r["shape"])) if r["shape"] else "-" for r in rows]
    sw = max(len(s) for s in shapes)
    for r, label, shape_text in zip(rows, labels, shapes):  # table name, module path: --layer takes either
        mark = "conv" if r["conv"] and r["leaf"] else ("block" if r["conv"] else "")
        line = f"{label:<{lw}}  {r['name']:<{width}}  {r['type']:<12} {shape_text:<{sw}}  {mark}"
        print(line.rstrip())
    return 0


def _check_counts(config: ExplainConfig) -> None:
    if config.count < 1:
        raise UsageError(f"--count must be at least 1, got {config.count}")
    if config.index < 0:
        raise UsageError(f"--index must be >= 0, got {config.index}")
    if config.steps < 1:
        raise UsageError(f"--steps must be at least 1, got {config.steps}")
    if config.image is not None and config.index != 0:
        raise UsageError("give --image or --index, not both")


def _print_summary(s: dict) -> None:
    from cnnlab.api.training import explain_lines

    print("\n".join(explain_lines(s)))


def explain_handler(args: argparse.Namespace) -> int:
    """Run :func:`cnnlab.explain.explain_run` with the flags and print what it wrote."""
    if args.list_layers:
        return _list_layers(args.run_dir, args.json)
    values = config_values(ExplainConfig, args)
    if "what" in values:
        values["what"] = values["what"].split(",")
    config = ExplainConfig(**values)
    _check_counts(config)
    from cnnlab.train.threads import prefer_passive_wait

    prefer_passive_wait()  # before torch is imported (docs/training.md, "Speed")
    from cnnlab.explain import explain_run

    summary = explain_run(args.run_dir, config, log=None if args.json else print)
    for note in summary.get("notes", ()):
        print(f"note: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary))
    else:
        _print_summary(summary)
    return 0
