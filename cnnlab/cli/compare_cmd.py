"""``cnnlab compare``: logistic regression vs MLPs vs a small CNN, clean and shifted, in one command."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cnnlab.cli.argtypes import add_output_format
from cnnlab.cli.commands import add_command
from cnnlab.cli.config_flags import add_config_flags, config_values
from cnnlab.errors import UsageError

__all__ = ["register"]

EXAMPLES = """\
examples:
  cnnlab compare --data mnist                      # all four models, ~1.5 min on 2 cores
  cnnlab compare --data mnist --epochs 5 --out runs/compare-mnist
  cnnlab compare --data digits --models logreg,mlp --json   # 8x8: too small for small-cnn
  cnnlab compare --data fashion-mnist --limit 5000 --seed 1

  cnnlab compare --data mnist --models small-cnn --models "conv 3x3 32 p1; relu; maxpool 2; fc 10"
  cnnlab compare --data mnist --models logreg,small-cnn --runs runs/my-cnn runs/tune-cnn3-mnist

models: logreg (scikit-learn), mlp (256-128-64, SGD), small-cnn (Adam),
mlp-budget (an MLP sized to small-cnn's parameter count); any other model or spec trains
like small-cnn; --runs adds finished runs as they are. Every model is also scored
on the validation set shifted horizontally at random by up to 10% of the width.
Writes <out>/report.html (self-contained), results.json/.csv, table.md, figures/*.png.
"""


def _models(text: str) -> list[str]:
    """Comma-separated names, or one architecture spec (a value with spaces or ';', or a file)."""
    from cnnlab.compare.compare import COMPARE_MODELS
    from cnnlab.models import is_model

    if ";" in text or " " in text.strip() or "\n" in text:
        return [text.strip()]
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in COMPARE_MODELS and not is_model(n)]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown model(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(COMPARE_MODELS)}, "
            f"a model of cnnlab train --list-models, or an architecture spec")
    return names


def register(subparsers) -> None:
    """Add the ``compare`` command."""
    from cnnlab.compare.config import CompareConfig

    parser = add_command(subparsers, "compare", EXAMPLES)
    add_config_flags(parser, CompareConfig, custom={"models": {"type": _models, "action": "append"},
                                                    "runs": {"nargs": "+"}})
    add_output_format(parser, help="text, or json: the last line of stdout is one JSON object with the results")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from cnnlab.compare.compare import CompareConfig, run_compare
    from cnnlab.compare.config import default_models
    from cnnlab.compare.document import summary_blocks
    from cnnlab.doc import write

    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA device is available here; use --device cpu or auto")
    if args.out and (Path(args.out) / "model.json").is_file():
        raise UsageError(f"--out {args.out} holds a training run of cnnlab train, not a comparison; choose a "
                         f"new or empty folder (--runs {args.out} adds that run to a comparison)")
    values = config_values(CompareConfig, args)
    runs = values.pop("runs", [])
    models = values.pop("models", None)
    config = CompareConfig(**values, runs=runs, models=[m for group in models for m in group] if models else
                           default_models(runs))
    result = run_compare(config)
    print(write(summary_blocks(result)), end="")
    if args.json:
        print(json.dumps(result.as_json()))
    return 0
