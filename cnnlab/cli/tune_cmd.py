"""``cnnlab tune``: an Optuna study of training runs, with pruning, a table and a report.

The handler parses flags into a :class:`cnnlab.tune.TuneConfig`, calls
:func:`cnnlab.tune.run_study` and renders its result. optuna and torch are imported
only inside the handler.
"""

from __future__ import annotations

import argparse
import json

from cnnlab.cli.argtypes import add_output_format
from cnnlab.cli.commands import add_command
from cnnlab.cli.config_flags import add_config_flags, config_values
from cnnlab.tune.study import TuneConfig

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
    p = add_command(subparsers, "tune", EXAMPLES)
    add_config_flags(p, TuneConfig, custom={"data": {"required": True}, "model": {"required": True}})
    add_output_format(p, help="text, or json: the last line of stdout is one JSON object with the results")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the study and print its table (and JSON)."""
    import optuna

    from cnnlab.tune import run_study
    from cnnlab.doc import write
    from cnnlab.tune.document import summary_blocks

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the progress lines are cnnlab's own
    values = config_values(TuneConfig, args)
    if args.trials is None and args.timeout:  # --timeout alone: as many trials as it allows
        values["trials"] = None
    config = TuneConfig(**values)
    from cnnlab.storage import RunFolder
    from cnnlab.tune.study import default_out

    # shared: the workers of one study may share a folder; train/explain there are refused
    with RunFolder(args.out or default_out(args.model, args.data)).lock("study folder", shared=True):
        result = run_study(config)
    print(write(summary_blocks(result)), end="")  # with the trials this worker ran, when others share the study
    if args.json:
        print(json.dumps(result.as_json()))
    return 0
