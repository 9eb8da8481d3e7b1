"""``cnnlab compare``: logistic regression vs MLPs vs a small CNN, clean and shifted, in one command."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cnnlab.cli import argtypes as at
from cnnlab.cli.argtypes import add_output_format, positive_int
from cnnlab.errors import UsageError
from cnnlab.train.config import DEVICES

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


def _limit(text: str) -> int | None:
    """A cap on examples; 0 or 'all' means no cap."""
    if text.strip().lower() in ("0", "all", "none"):
        return None
    return positive_int(text)


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
    from cnnlab.compare.compare import (COMPARE_MODELS, DEFAULT_EPOCHS, DEFAULT_LOGREG_C,
                                        DEFAULT_LOGREG_LIMIT, DEFAULT_LOGREG_MAX_ITER)

    parser = subparsers.add_parser(
        "compare",
        help="logistic regression vs MLP vs small CNN (+ shifted inputs), with an HTML report",
        description="Train logistic regression, an MLP, small-cnn and an MLP of small-cnn's "
                    "parameter budget on the same data; score them on validation, test and "
                    "horizontally shifted validation images; write a table, pictures and a "
                    "self-contained HTML report.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", default="mnist", metavar="NAME|PATH",
                        help="dataset name (mnist, fashion-mnist, digits, cifar10) or folder/CSV (default: mnist)")
    parser.add_argument("--data-dir", metavar="DIR", help="folder to look for named datasets in first")
    parser.add_argument("--out", metavar="DIR", help="run folder (default: runs/compare-<data>-<timestamp>)")
    parser.add_argument("--epochs", type=at.bounded_int(1, "epochs"), default=DEFAULT_EPOCHS,
                        help=f"epochs for the torch models (default: {DEFAULT_EPOCHS})")
    parser.add_argument("--batch-size", type=at.bounded_int(1, "batch_size"), default=64, help="batch size (default: 64)")
    parser.add_argument("--limit", type=at.bounded_int(1, "limit"), default=None, metavar="N",
                        help="use at most N training examples (default: all)")
    parser.add_argument("--logreg-limit", type=_limit, default=DEFAULT_LOGREG_LIMIT, metavar="N",
                        help="training examples for logistic regression, 0 = all "
                             f"(default: {DEFAULT_LOGREG_LIMIT or 'all'})")
    parser.add_argument("--logreg-max-iter", type=positive_int, default=DEFAULT_LOGREG_MAX_ITER, metavar="N",
                        help=f"lbfgs iterations at most (default: {DEFAULT_LOGREG_MAX_ITER})")
    parser.add_argument("--logreg-c", type=float, default=DEFAULT_LOGREG_C, metavar="C",
                        help=f"inverse L2 strength of logistic regression (default: {DEFAULT_LOGREG_C}: "
                             "smooth weight pictures)")
    parser.add_argument("--models", type=_models, action="append", default=None, metavar="LIST",
                        help=f"comma-separated subset of {','.join(COMPARE_MODELS)} (default: all), other "
                             "models of cnnlab train --list-models, or an architecture spec such as "
                             "\"conv 3x3 32 p1; relu; maxpool 2; fc 10\" (repeat --models for several)")
    parser.add_argument("--runs", nargs="+", default=[], metavar="DIR",
                        help="your own run folders (cnnlab train, spec runs) or tune study folders (their "
                             "best trial): scored on the same splits, added to the table and the curves")
    parser.add_argument("--seed", type=at.seed, default=0, help="seed of initialisation, batch order and the shifts; the split stays fixed (default: 0)")
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="where the torch models train (default: auto)")
    parser.add_argument("--threads", type=at.threads, default=None, metavar="N",
                        help="CPU threads for training (default: all cores but one)")
    add_output_format(parser, help="text, or json: the last line of stdout is one JSON object with the results")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from cnnlab.compare.compare import COMPARE_MODELS, CompareConfig, run_compare
    from cnnlab.compare.document import summary_blocks
    from cnnlab.doc import write

    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA device is available here; use --device cpu or auto")
    if args.out and (Path(args.out) / "model.json").is_file():
        raise UsageError(f"--out {args.out} holds a training run of cnnlab train, not a comparison; choose a "
                         f"new or empty folder (--runs {args.out} adds that run to a comparison)")
    config = CompareConfig(
        data=args.data, out=args.out, epochs=args.epochs, batch_size=args.batch_size, limit=args.limit,
        logreg_limit=args.logreg_limit, logreg_max_iter=args.logreg_max_iter, logreg_c=args.logreg_c, seed=args.seed,
        models=[m for group in args.models for m in group] if args.models else
        ([] if args.runs else list(COMPARE_MODELS)), runs=list(args.runs), device=args.device,
        data_dir=args.data_dir, threads=args.threads,
    )
    result = run_compare(config)
    print(write(summary_blocks(result)), end="")
    if args.json:
        print(json.dumps(result.as_json()))
    return 0
