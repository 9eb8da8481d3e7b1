"""``cnnlab tune``: an Optuna study of training runs, with pruning, a table and a report.

The handler parses flags into a :class:`cnnlab.tune.TuneConfig`, calls
:func:`cnnlab.tune.run_study` and renders its result. optuna and torch are imported
only inside the handler.
"""

from __future__ import annotations

import argparse
import json

from cnnlab.cli import argtypes as at
from cnnlab.cli.argtypes import add_output_format, positive_float, positive_int
from cnnlab.train.config import DEVICES
from cnnlab.tune.study import METRICS, PRUNERS, SAMPLERS

__all__ = ["register", "handle"]

EXAMPLES = """\
examples:
  cnnlab tune --data digits --model mlp --trials 20 --epochs 5
  cnnlab tune --data mnist --model small-cnn --trials 6 --epochs 2 --limit 10000 --json
  cnnlab tune --data mnist --model small-cnn --space space.yaml --sampler random --pruner hyperband
  cnnlab tune --data mnist --model cnn3 --timeout 3600 \\
      --storage postgresql://me@dbhost/optuna --study cnn3-mnist   # same line on every machine

space.yaml (a plain value is fixed for every trial):
  lr: {type: float, low: 1.0e-4, high: 1.0e-1, log: true}
  optimizer: {type: categorical, choices: [sgd, adam]}
  batch_size: {type: int, low: 32, high: 128, step: 32}
  dropout: {type: float, low: 0.0, high: 0.5}      # an option of the model
  schedule: cosine

Default space: lr 1e-4..1e-1 (log), optimizer sgd/adam/adamw, batch size 32/64/128,
weight decay 1e-6..1e-2 (log), schedule none/cosine/onecycle, dropout 0..0.5 when the
model takes it, SGD momentum fixed at 0.9. --sampler grid takes every choice and 3 points of each continuous range.

The study is kept in <out>/study.db (or --storage); running the same command again
continues it. Each trial is a run folder <out>/<study>/trial-NNNN (cnnlab evaluate works
on it); the table, pictures, report.html and results.json go to <out>/<study>/.
Any number of workers (processes, machines) may run the same command with the same
--storage: each trial is numbered once by the database and draws its values from
(--seed, trial number), so workers never repeat each other's trials; a worker killed
mid-trial stops its heartbeat and its trial is marked failed (after 3 missed beats) by
the next worker. PostgreSQL URLs need: pip install 'cnnlab[distributed]'.
"""


def register(subparsers) -> None:
    """Add the ``tune`` command."""
    p = subparsers.add_parser(
        "tune", help="tune hyper-parameters with Optuna (pruning, shared studies, report)",
        description="Search learning rate, optimizer, batch size, weight decay, schedule and "
                    "model options with Optuna; every trial is a training run, stopped early "
                    "by the pruner when its validation curve lags; the study is kept in a "
                    "database so that a rerun, or another machine, continues it.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, metavar="NAME|PATH",
                   help="mnist, fashion-mnist, digits, cifar10, or a folder / CSV path")
    p.add_argument("--model", required=True, help="model name (cnnlab train --list-models)")
    p.add_argument("--trials", type=at.bounded_int(1, "tune_trials"), metavar="N",
                   help="trials to run now (default 10, or unlimited with --timeout)")
    p.add_argument("--timeout", type=positive_float, metavar="S",
                   help="start no new trial after S seconds")
    p.add_argument("--epochs", type=at.bounded_int(1, "epochs"), default=3, metavar="N",
                   help="epochs per trial (default 3)")
    p.add_argument("--space", metavar="FILE", help="YAML search space (default: see below)")
    p.add_argument("--storage", metavar="URL",
                   help="database URL (default sqlite:///<out>/study.db)")
    p.add_argument("--study", metavar="NAME", help="study name (default <model>-<data>)")
    p.add_argument("--sampler", choices=SAMPLERS, default="tpe",
                   help="default tpe")
    p.add_argument("--pruner", choices=PRUNERS, default="median",
                   help="default median (after 3 trials)")
    p.add_argument("--metric", choices=tuple(METRICS), default="val_accuracy",
                   help="what trials are ranked by (default val_accuracy, maximised)")
    p.add_argument("--seed", type=at.seed, default=0,
                   help="training seed of every trial; seeds the sampler too (default 0)")
    p.add_argument("--limit", type=at.bounded_int(1, "limit"), metavar="N",
                   help="use at most N training examples (stratified)")
    p.add_argument("--device", choices=DEVICES, default="auto", help="default auto")
    p.add_argument("--threads", type=at.threads, metavar="N",
                   help="CPU threads per trial (default: all cores available)")
    p.add_argument("--data-dir", metavar="PATH", help="folder to look for named datasets in first")
    p.add_argument("--out", metavar="DIR", help="study folder (default runs/tune-<model>-<data>)")
    p.add_argument("--heartbeat", type=positive_float, default=60.0, metavar="S",
                   help="seconds between a running trial's heartbeats; a trial silent for 3 "
                        "beats is marked failed by another worker (default 60)")
    add_output_format(p, help="text, or json: the last line of stdout is one JSON object with the results")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the study and print its table (and JSON)."""
    import optuna

    from cnnlab.tune import TuneConfig, run_study
    from cnnlab.doc import write
    from cnnlab.tune.document import summary_blocks

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the progress lines are cnnlab's own
    trials = args.trials if args.trials is not None else (None if args.timeout else 10)
    config = TuneConfig(
        data=args.data, model=args.model, trials=trials, timeout=args.timeout, epochs=args.epochs,
        space=args.space, storage=args.storage, study=args.study, sampler=args.sampler,
        pruner=args.pruner, metric=args.metric, seed=args.seed, limit=args.limit,
        device=args.device, threads=args.threads, out=args.out, data_dir=args.data_dir,
        heartbeat=args.heartbeat)
    from cnnlab.storage import RunFolder
    from cnnlab.tune.study import default_out

    # shared: the workers of one study may share a folder; train/explain there are refused
    with RunFolder(args.out or default_out(args.model, args.data)).lock("study folder", shared=True):
        result = run_study(config)
    print(write(summary_blocks(result)), end="")  # with the trials this worker ran, when others share the study
    if args.json:
        print(json.dumps(result.as_json()))
    return 0
