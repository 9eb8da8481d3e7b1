"""``cnnlab train`` and ``cnnlab evaluate`` (docs/training.md); also registers ``compare``.

The handlers parse flags into a TrainConfig, call one function of :mod:`cnnlab.train`
and render the result. torch is imported only inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from cnnlab.cli import argtypes as at
from cnnlab.cli.argtypes import add_output_format
from cnnlab.cli.commands import add_command
from cnnlab.cli.config_flags import add_config_flags, config_values
from cnnlab.errors import UsageError
from cnnlab.train.config import SPLITS, TrainConfig

__all__ = ["register", "train_handler", "evaluate_handler"]

TRAIN_EXAMPLES = """examples:
  cnnlab train --list-models
  cnnlab train --data mnist --model small-cnn --epochs 3 --optimizer sgd --lr 0.01
  cnnlab train --data digits --model cnn3 --epochs 20 --schedule onecycle --patience 5 --json
  cnnlab train --data fashion-mnist --model cnn6-bn --augment shift:2,hflip --out runs/fm
  cnnlab train --data tiles/ --model resnet18 --weights resnet18.pth --unfreeze-after 3
  cnnlab train --data mnist --model "conv 3x3 32 p1; relu; maxpool 2; fc 128; dropout 0.3"   # your own CNN
  cnnlab train --data digits --model net.yaml --weights runs/fm/best.safetensors --freeze
  cnnlab train --config run.yaml --lr 3e-4        # flags override the YAML file
  cnnlab train --list-recipes
  cnnlab train --data mnist --recipe fast --seed 1  # >= 99% test accuracy in one epoch
  cnnlab train --data fashion-mnist --recipe fast --epochs 3   # flags override the recipe
  cnnlab train --data tiles/ --model cnn3 --resize 64x64 --strict   # corrupt image -> error

An interrupted run continues from its last checkpoint when started again with the
same settings and --out; a larger --epochs extends a finished run when its schedule
does not depend on the epoch count (--schedule none, or step with --step-size).
"""

EVALUATE_EXAMPLES = """examples:
  cnnlab evaluate runs/fm
  cnnlab evaluate runs/fm --split val --json
  cnnlab evaluate runs/fm --shift 3,0      # accuracy with inputs moved 3 px right
  cnnlab evaluate runs/mnist-run --data fashion-mnist
"""


class _AugmentHelp:
    """--augment's help, listed from the augmentation registry when the help is shown, so
    the list is never re-typed and the CLI imports torch only then."""

    def _text(self) -> str:
        from cnnlab.train.augment import AUGMENTS

        names = [n if a.default is None else f"{n}:{a.default:g}" for n, a in AUGMENTS.items()]
        return "comma-separated, each with its default parameter: " + ", ".join(names) + \
            " (docs/training.md)"

    def __str__(self) -> str:
        return self._text()

    def strip(self) -> str:  # argparse asks whether the help is blank
        return self._text().strip()

    def __mod__(self, params: dict) -> str:  # argparse fills in %(default)s and the like
        return self._text().replace("%", "%%") % params


def register(subparsers) -> None:
    """Add the ``train`` and ``evaluate`` commands (and ``compare`` when it exists)."""
    p = add_command(subparsers, "train", TRAIN_EXAMPLES)
    add_config_flags(p, TrainConfig, custom={"augment": {"help": _AugmentHelp()}})
    # the flags that are not settings of a run
    p.add_argument("--list-models", action="store_true",
                   help="print the models with their options (types, defaults) and exit")
    p.add_argument("--recipe", metavar="NAME",
                   help="a named configuration for --data (see --list-recipes); flags override it")
    p.add_argument("--list-recipes", action="store_true",
                   help="print the recipes with their target accuracy and measured time, and exit")
    p.add_argument("--config", metavar="FILE", help="YAML file of settings; flags override it")
    add_output_format(p, help="text, or json: the last line of stdout is one JSON summary")
    p.add_argument("--model-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="model option, e.g. hidden=[512,256] or dropout=0.3 (repeatable)")
    p.add_argument("--nproc", type=int, metavar="N",
                   help="train data-parallel in N processes (torch.distributed; --batch-size "
                        "is the global batch; docs/distributed.md)")
    p.set_defaults(func=train_handler)

    e = add_command(subparsers, "evaluate", EVALUATE_EXAMPLES, negative_values=True)  # --shift -4,5
    e.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by cnnlab train")
    add_config_flags(e, TrainConfig, only=["data"],
                     custom={"data": {"help": "another dataset with the same image shape and classes"}})
    e.add_argument("--split", choices=SPLITS, default="test", help="the split to measure (default test)")
    e.add_argument("--shift", metavar="DX,DY", help="pixels right (DX) and down (DY)")
    add_config_flags(e, TrainConfig, only=["device"], defaults={"device": "cpu"},
                     custom={"device": {"help": "where the model runs"}})
    add_output_format(e, help="text, or json: print one JSON object")
    e.set_defaults(func=evaluate_handler)

    try:
        from cnnlab.cli import compare_cmd
        compare_cmd.register(subparsers)
    except ModuleNotFoundError:
        pass


def _model_options(items: list[str]) -> dict:
    import yaml

    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--model-opt takes KEY=VALUE, got {item!r}")
        try:
            options[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise UsageError(f"--model-opt {item!r}: value is not a number, list or word") from None
        at.check_model_option(key.strip(), options[key.strip()])
    return options


def _list_models(as_json: bool) -> int:
    from cnnlab.models import list_models, model_description, option_help

    names = list_models()
    if as_json:
        print(json.dumps({"models": [
            {"name": n, "description": model_description(n),
             "options": [{"name": o, "type": t, "default": d} for o, t, d in option_help(n)]}
            for n in names]}))
        return 0
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {model_description(name)}")
        options = option_help(name)
        print(f"{'':<{width}}    options: " + (", ".join(f"{o}={d!r} ({t})" for o, t, d in options)
                                               if options else "none"))
    print("\nset options with --model-opt KEY=VALUE (repeatable). Or train your own network: "
          "--model \"conv 3x3 32 p1; relu; maxpool 2; fc 10\" (the spec language of cnnlab arch; "
          "docs/models.md)")
    return 0


def _list_recipes(as_json: bool) -> int:
    from cnnlab.train.recipes import list_recipes

    recipes = list_recipes()
    if as_json:
        print(json.dumps({"recipes": [
            {"name": r.name, "data": r.data, "settings": r.settings, "target": r.target,
             "measured": r.measured, "measurable_here": r.measurable_here, "notes": r.notes}
            for r in recipes]}))
        return 0
    for r in recipes:
        settings = ", ".join(f"{k}={v!r}" if isinstance(v, str) and " " in v else f"{k}={v}"
                             for k, v in r.settings.items())
        print(f"{r.name} --data {r.data}\n  target:   {r.target}\n  measured: {r.measured}\n"
              f"  settings: {settings}\n  {r.notes}")
    return 0


def train_handler(args: argparse.Namespace) -> int:
    """Parse flags (over ``--config``) into a TrainConfig and run :func:`cnnlab.train.fit`."""
    if args.list_models:
        return _list_models(args.json)
    if args.list_recipes:
        return _list_recipes(args.json)
    from cnnlab.train.threads import prefer_passive_wait

    prefer_passive_wait()  # before torch is imported (docs/training.md, "Speed")
    from cnnlab.train import TrainConfig, fit
    from cnnlab.train.progress import show_progress

    overrides = config_values(TrainConfig, args)
    if args.model_opt:
        overrides["model_cfg"] = _model_options(args.model_opt)
    if args.recipe:  # the recipe's fields, then the --config file's, then the flags
        from cnnlab.train.recipes import get_recipe

        file_values = TrainConfig.read_yaml(args.config) if args.config else {}
        recipe = get_recipe(args.recipe, overrides.get("data", file_values.get("data")))
        values = {**recipe.settings, **file_values, **overrides, "recipe": recipe.name}
        config = TrainConfig.from_dict(values, where=args.config or "cnnlab train")
    elif args.config:
        config = TrainConfig.from_yaml(args.config, overrides)
    else:
        config = TrainConfig.from_dict(overrides, where="cnnlab train")
    if config.out is None:  # named here so that an interrupted run can be told how to resume
        from cnnlab.storage import default_run_dir

        config.out = str(default_run_dir(config.model, config.data))
    dist = None
    if args.nproc is not None or "WORLD_SIZE" in os.environ:  # data-parallel (docs/distributed.md)
        from cnnlab.train.distributed import from_cli

        dist = from_cli(config, args.nproc, ["--json"] if args.json else [])
        if isinstance(dist, int):  # this process launched the ranks: their exit status
            return dist
    try:
        result = fit(config, progress=show_progress(not args.json),
                     log=None if args.json else print, dist=dist)
    except UsageError:
        if dist is not None and not dist.is_main:
            return 2  # rank 0 meets the same error and prints it once
        raise
    except KeyboardInterrupt:
        print(f"error: interrupted; run the same command with --out {config.out} to resume "
              f"from the last finished epoch", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a collective failing because a rank died
        from cnnlab.train.distributed import is_peer_lost, peer_lost

        if dist is not None and is_peer_lost(exc):
            peer_lost(dist, config.out, exc)  # one line at most, then the process ends
        raise
    from cnnlab.cli.main import skip_teardown

    # every file of the run is written and closed; for the ranks of a group, the teardown
    # of a live process group and DDP reducer also aborts ("terminate called ...")
    skip_teardown()
    if dist is not None and not dist.is_main:
        return 0
    if args.json:
        print(json.dumps(result.summary))
    else:
        from cnnlab.api.training import train_lines

        print("\n".join(train_lines(result.summary)))
    return 0


def _parse_shift(text: str | None) -> tuple[int, int]:
    if text is None:
        return (0, 0)
    parts = text.split(",")
    try:
        dx, dy = (int(p) for p in parts)
    except ValueError:
        raise UsageError(f"--shift takes two integers DX,DY (e.g. 2,0), got {text!r}") from None
    return dx, dy


def evaluate_handler(args: argparse.Namespace) -> int:
    """Reload RUN_DIR's best model and print its metrics (and shifted accuracy)."""
    shift = _parse_shift(args.shift)
    from cnnlab.train import evaluate_run

    result = evaluate_run(args.run_dir, data=args.data, split=args.split, shift=shift,
                          device=args.device)
    for note in result.get("notes", ()):
        print(f"note: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps(result))
        return 0
    from cnnlab.api.training import evaluate_lines

    print("\n".join(evaluate_lines(result)))
    return 0
