"""The config dataclasses are the one source of the training commands' flags (issue 20, item 5).

For every command, the parser's flags are compared with its config's fields: every field
is a flag unless deliberately hidden, the flag's type, choices and bounds come from the
field's metadata, no flag carries a default of its own (so ``--config`` and recipes still
layer under the flags), and ``--help`` lists every field. The refusals of bad values keep
their words (the messages are part of the interface).
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from pathlib import Path

import pytest

from cnnlab.cli.config_flags import add_config_flags, config_values, default_text, flag_fields, flag_name
from cnnlab.cli.extras import _subcommands
from cnnlab.cli.main import build_parser, main
from cnnlab.compare.config import CompareConfig
from cnnlab.explain.config import ExplainConfig
from cnnlab.settings import flag_spec
from cnnlab.train.config import TrainConfig
from cnnlab.train.evaluate_config import EvaluateConfig
from cnnlab.tune.study import TRIAL_SETTINGS, TuneConfig

# command -> (its config, the fields with no flag and why, the flags that are no field,
#             the parser defaults it keeps because its handler needs a value)
ROOT = Path(__file__).resolve().parents[1]

COMMANDS = {
    "train": (TrainConfig,
              {"split_seed": "fixed so that seeds share one split; set in a --config file",
               "model_cfg": "set by --model-opt KEY=VALUE",
               "recipe": "set by --recipe NAME, which also loads the recipe's settings"},
              {"list_models", "recipe", "list_recipes", "config", "format", "json", "model_opt", "nproc"}, {}),
    "explain": (ExplainConfig, {}, {"run_dir", "list_layers", "format", "json"}, {}),
    "compare": (CompareConfig, {"split_seed": "fixed, as cnnlab train's",
                                "shift_fraction": "the experiment's constant (SHIFT_FRACTION)"},
                {"format", "json"}, {}),
    "tune": (TuneConfig, {}, {"format", "json"}, {}),
    "evaluate": (EvaluateConfig, {}, {"run_dir", "format", "json"}, {}),
}


def _command(name: str) -> argparse.ArgumentParser:
    return _subcommands(build_parser(name))[name]


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {a.dest: a for a in parser._actions if a.dest != "help"}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_field_is_a_flag_unless_hidden(command):
    config, hidden, hand, _ = COMMANDS[command]
    names = {f.name for f in dataclasses.fields(config)}
    flagged = {f.name for f, _, _ in flag_fields(config)}
    assert names - flagged == set(hidden), "a field with no flag must be listed, with its reason"
    assert all(flag_spec(f) is not None for f in dataclasses.fields(config)), "every field declared by setting()"
    actions = _options(_command(command))
    assert flagged <= set(actions), sorted(flagged - set(actions))
    assert set(actions) - flagged == hand, "flags that are no config field stay few and known"
    for name in flagged:
        assert flag_name(name) in actions[name].option_strings


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_flags_take_type_choices_bounds_and_no_default_of_their_own(command):
    config, _, _, kept = COMMANDS[command]
    actions = _options(_command(command))
    hints = typing.get_type_hints(config)
    for field, spec, hint in flag_fields(config):
        action = actions[field.name]
        assert action.default == kept.get(field.name), f"--{field.name} re-types a default"
        if spec.choices is not None:
            assert tuple(action.choices) == tuple(spec.choices)
        if hints[field.name] is bool:
            assert action.nargs == 0
        if spec.low is not None and spec.checked_on_read:  # bounds are checked as the flag is read
            low = int(spec.low) if isinstance(spec.low, int) else spec.low
            assert action.type(str(low)) == low
            with pytest.raises(argparse.ArgumentTypeError):
                action.type(str(low - 1))
        elif spec.low is not None:  # left to validate(), which words a flag as a --config file
            assert action.type in (int, float), field.name


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_lists_every_field_with_its_default(command, capsys):
    config, _, _, _ = COMMANDS[command]
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for field, spec, _ in flag_fields(config):
        assert flag_name(field.name) in text
        shown = default_text(field, spec)
        if shown is not None and "(default" not in spec.help:
            assert f"(default {shown})" in text, field.name


def test_evaluate_flags_are_evaluateconfigs():
    actions = _options(_command("evaluate"))
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    assert actions["device"].choices == flag_spec(fields["device"]).choices
    assert actions["device"].default is None  # EvaluateConfig's own default, stated in its help
    assert "(default cpu)" in actions["device"].help and "(default test)" in actions["split"].help
    args = build_parser("evaluate").parse_args(["evaluate", "RUN", "--shift", "-4,5", "--split", "val"])
    assert EvaluateConfig(**config_values(EvaluateConfig, args)) == \
        EvaluateConfig(data=None, split="val", shift="-4,5", device="cpu")


@pytest.mark.parametrize("text, expected", [(None, (0, 0)), ("2,0", (2, 0)), ("-4,5", (-4, 5)), (" 1 , -1", (1, -1))])
def test_evaluate_shift_is_read_as_two_integers(text, expected):
    assert EvaluateConfig(shift=text).shift_xy() == expected


@pytest.mark.parametrize("settings, message", [
    ({"split": "dev"}, "cnnlab evaluate: argument --split: invalid choice: 'dev' (choose from 'test', 'val', "
                       "'train') (see --help)"),
    ({"device": "tpu"}, "cnnlab evaluate: argument --device: invalid choice: 'tpu' (choose from 'cpu', 'cuda', "
                        "'auto') (see --help)"),
    ({"shift": (1, 2, 3)}, "--shift takes two integers DX,DY (e.g. 2,0), got '1,2,3'"),
    ({"shift": "x,1"}, "--shift takes two integers DX,DY (e.g. 2,0), got 'x,1'"),
    ({"colour": "red"}, "cnnlab.evaluate: unknown setting 'colour'; settings: data, split, shift, device"),
])
def test_the_python_api_refuses_evaluate_settings_as_the_flags_do(settings, message, tmp_path):
    import cnnlab

    with pytest.raises(cnnlab.UsageError) as caught:
        cnnlab.evaluate(tmp_path / "no-run", **settings)  # refused before the folder is looked at
    assert str(caught.value) == message


@pytest.mark.parametrize("config", [CompareConfig, TuneConfig, ExplainConfig, EvaluateConfig])
def test_shared_fields_are_trainconfigs(config):
    train_hints = typing.get_type_hints(TrainConfig)
    train_specs = {f.name: flag_spec(f) for f in dataclasses.fields(TrainConfig)}
    hints = typing.get_type_hints(config)
    shared = [f for f in dataclasses.fields(config) if flag_spec(f).source]
    assert shared
    for f in shared:
        owner, name = flag_spec(f).source.split(".")
        assert owner == "TrainConfig" and name == f.name
        assert hints[f.name] == train_hints[f.name], f"{config.__name__}.{f.name} re-types TrainConfig's type"
        mine, theirs = flag_spec(f), train_specs[name]
        assert (mine.choices, mine.low, mine.high, mine.parse) == \
            (theirs.choices, theirs.low, theirs.high, theirs.parse), f.name


def test_every_trial_gets_the_studys_shared_settings():
    from cnnlab.tune.study import trial_config

    config = TuneConfig(data="digits", model="mlp", epochs=2, seed=7, limit=300, device="cpu", threads=1,
                        data_dir="somewhere")
    trial = trial_config(config, {"lr": 0.01}, "runs/t/trial-0000")
    assert set(TRIAL_SETTINGS) == {"data", "model", "epochs", "seed", "limit", "device", "threads", "data_dir"}
    for name in TRIAL_SETTINGS:
        assert getattr(trial, name) == getattr(config, name)
    assert (trial.out, trial.lr) == ("runs/t/trial-0000", 0.01)


def test_config_values_take_only_the_flags_given():
    parser = argparse.ArgumentParser()
    add_config_flags(parser, TrainConfig)
    args = parser.parse_args(["--epochs", "2", "--augment", "hflip,shift:2", "--no-channels-last", "--amp"])
    assert config_values(TrainConfig, args) == {"epochs": 2, "augment": "hflip,shift:2",
                                                "channels_last": False, "amp": True}
    config = TrainConfig.from_dict({"data": "digits", "model": "mlp", **config_values(TrainConfig, args)})
    assert config.augment == ["hflip", "shift:2"] and config.lr == 1e-3  # unset flags: the field's default


# Refusals keep their words: each as the hand-written flags gave it.
REFUSALS = [
    (["tune", "--data", "d", "--model", "m", "--heartbeat", "0"],
     "error: cnnlab tune: argument --heartbeat: expected a number > 0, got 0 (see --help)"),
    (["tune", "--data", "d", "--model", "m", "--trials", "0"],
     "error: cnnlab tune: argument --trials: expected a whole number >= 1 (at most 10000), got 0 (see --help)"),
    (["tune", "--data", "digits"], "error: cnnlab tune: the following arguments are required: --model (see --help)"),
    (["compare", "--logreg-limit", "x"],
     "error: cnnlab compare: argument --logreg-limit: expected a whole number, got 'x' (see --help)"),
    (["compare", "--logreg-max-iter", "0"],
     "error: cnnlab compare: argument --logreg-max-iter: expected a number >= 1, got 0 (see --help)"),
    (["explain", "x", "--index", "x"], "error: cnnlab explain: argument --index: invalid int value: 'x' (see --help)"),
    (["train", "--threads", "0"], "error: cnnlab train: argument --threads: expected a number >= 1, got 0 (see --help)"),
    (["train", "--optimizer", "foo"], "error: cnnlab train: argument --optimizer: invalid choice: 'foo' "
                                      "(choose from 'sgd', 'adam', 'adamw') (see --help)"),
    (["train", "--seed", "-1"], "error: cnnlab train: argument --seed: expected a whole number >= 0 "
                                "(at most 4294967295), got -1 (see --help)"),
    (["evaluate", "x", "--device", "tpu"], "error: cnnlab evaluate: argument --device: invalid choice: 'tpu' "
                                           "(choose from 'cpu', 'cuda', 'auto') (see --help)"),
    (["evaluate", "x", "--split", "dev"], "error: cnnlab evaluate: argument --split: invalid choice: 'dev' "
                                          "(choose from 'test', 'val', 'train') (see --help)"),
    (["evaluate", "x", "--shift", "2"], "error: --shift takes two integers DX,DY (e.g. 2,0), got '2'"),
    (["evaluate", "x", "--shift", "1,2,3"], "error: --shift takes two integers DX,DY (e.g. 2,0), got '1,2,3'"),
    (["evaluate", "no-such-run"], "error: run folder no-such-run does not exist (or is not a folder)"),
]


@pytest.mark.parametrize("argv, message", REFUSALS)
def test_refusals_keep_their_words(argv, message, capsys):
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == message


def _section(text: str, command: str) -> str:
    start = text.index(f"## `cnnlab {command}`")
    return text[start:text.index("\n## ", start + 1)]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_docs_cli_lists_every_flag(command):
    from pathlib import Path

    text = _section((Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8"), command)
    config = COMMANDS[command][0]
    missing = [flag_name(f.name) for f, _, _ in flag_fields(config) if f"`{flag_name(f.name)}" not in text]
    assert not missing, f"docs/cli.md, cnnlab {command}: no row for {missing}"


def test_flag_bounds_have_one_owner():
    import cnnlab.errors
    import cnnlab.settings
    import cnnlab.train.config
    from cnnlab.cli import argtypes

    # argtypes is imported by every command, so it cannot import TrainConfig's module: both
    # read the bounds from the light modules below them
    assert argtypes.LIMITS is cnnlab.settings.LIMITS
    assert cnnlab.train.config.MAX_EPOCHS is cnnlab.errors.MAX_EPOCHS
    assert cnnlab.train.config.MAX_BATCH_SIZE is cnnlab.errors.MAX_BATCH_SIZE
    assert (argtypes.LIMITS["epochs"], argtypes.LIMITS["batch_size"]) == (cnnlab.errors.MAX_EPOCHS,
                                                                          cnnlab.errors.MAX_BATCH_SIZE)
    for name in ("MAX_EPOCHS", "MAX_BATCH_SIZE"):  # typed once, in errors.py
        typed = [p.name for p in (ROOT / "cnnlab").rglob("*.py") if f"{name} = " in p.read_text(encoding="utf-8")]
        assert typed == ["errors.py"], typed


# validate()'s words for each bound (as they were before the bounds moved into the fields'
# metadata); a config file's value goes through the same check
VALIDATE_REFUSALS = [
    ({"epochs": 0}, "--epochs must be >= 1, got 0"),
    ({"epochs": 20_000}, "--epochs must be in 1..10000, got 20000"),
    ({"batch_size": 0}, "--batch-size must be >= 1, got 0"),
    ({"batch_size": 70_000}, "--batch-size must be in 1..65536, got 70000"),
    ({"lr": 0}, "--lr must be > 0, got 0.0"),
    ({"lr": -1}, "--lr must be > 0, got -1.0"),
    ({"lr": 1e308}, "--lr must be in (0, 10], got 1e+308"),
    ({"lr": 12.5}, "--lr must be in (0, 10], got 12.5"),
    ({"lr": float("nan")}, "--lr must be a finite number, got nan"),
    ({"momentum": 1}, "--momentum must be in [0, 1), got 1.0"),
    ({"momentum": -0.5}, "--momentum must be in [0, 1), got -0.5"),
    ({"beta1": 1}, "beta1 and beta2 must be in [0, 1), got 1.0 and 0.999"),
    ({"beta2": -0.1}, "beta1 and beta2 must be in [0, 1), got 0.9 and -0.1"),
    ({"beta1": float("nan")}, "beta1 and beta2 must be in [0, 1), got nan and 0.999"),
    ({"weight_decay": -1}, "--weight-decay must be >= 0, got -1.0"),
    ({"weight_decay": 2}, "--weight-decay must be in [0, 1], got 2"),
    ({"step_size": 0}, "step_size must be >= 1"),
    ({"step_size": 20_000}, "--step-size must be in 1..10000, got 20000"),
    ({"gamma": 0}, "gamma must be in (0, 1], got 0.0"),
    ({"gamma": 2}, "gamma must be in (0, 1], got 2.0"),
    ({"patience": -1}, "--patience must be >= 0, got -1"),
    ({"patience": 20_000}, "--patience must be in 0..10000, got 20000"),
    ({"val_fraction": 0}, "--val-fraction must be in (0, 1), got 0.0"),
    ({"val_fraction": 1}, "--val-fraction must be in (0, 1), got 1.0"),
    ({"limit": 0}, "--limit must be >= 1, got 0"),
    ({"label_smoothing": 1}, "--label-smoothing must be in [0, 1), got 1"),
    ({"label_smoothing": -0.1}, "--label-smoothing must be in [0, 1), got -0.1"),
    ({"unfreeze_after": -1, "weights": "w"}, "--unfreeze-after must be >= 0, got -1"),
    ({"unfreeze_after": 20_000, "weights": "w"}, "--unfreeze-after must be in 0..10000, got 20000"),
    ({"backbone_lr_factor": 0}, "backbone_lr_factor must be in (0, 1]"),
    ({"backbone_lr_factor": 1.5}, "backbone_lr_factor must be in (0, 1]"),
    ({"threads": 0}, "threads must be >= 1"),
    ({"score_train_limit": 0}, "score_train_limit must be >= 1, got 0"),
    # bounds the flags checked and a config file did not: now both
    ({"seed": -1}, "seed must be a whole number from 0 to 4294967295, got -1"),  # errors.check_seed
    ({"limit": 10_000_001}, "--limit must be in 1..10000000, got 10000001"),
]


@pytest.mark.parametrize("values, message", VALIDATE_REFUSALS)
def test_validate_keeps_its_words(values, message):
    from cnnlab.errors import UsageError

    with pytest.raises(UsageError) as caught:
        TrainConfig.from_dict({"data": "digits", "model": "mlp", **values})
    assert str(caught.value) == message


def _edges(spec):
    """(value, accepted) pairs on each side of each bound of ``spec``."""
    from cnnlab.settings import high_bound

    step = 1 if isinstance(spec.low, int) and not isinstance(spec.low, bool) else 1e-9
    pairs = []
    if spec.low is not None:
        pairs += [(spec.low, not spec.low_open), (spec.low - step, False), (spec.low + step, True)]
    high = high_bound(spec)
    if high is not None:
        pairs += [(high, not spec.high_open), (high + step, False), (high - step, True)]
    return pairs


@pytest.mark.parametrize("name", [f.name for f, spec, _ in flag_fields(TrainConfig) if spec.low is not None])
def test_validate_reads_each_bound_from_the_fields_metadata(name):
    """The bounds validate() enforces are exactly those of the field's setting(): the value
    at and just inside each bound passes, just outside it is refused naming the field."""
    from cnnlab.errors import UsageError
    from cnnlab.settings import range_text

    spec = {f.name: s for f, s, _ in flag_fields(TrainConfig)}[name]
    extra = {"weights": str(ROOT / "pyproject.toml")} if name == "unfreeze_after" else {}
    for value, accepted in _edges(spec):
        config = TrainConfig(data="digits", model="mlp", **extra, **{name: value})
        if accepted:
            config.validate()
        else:
            with pytest.raises(UsageError, match=name.split("_")[0]):
                config.validate()
    help_text = " ".join(_options(_command("train"))[name].help.split())
    assert f"in {range_text(spec)}" in help_text or range_text(spec) in help_text  # --help states the bounds


def test_docs_cli_tables_are_the_generated_ones():
    from cnnlab.cli.flag_tables import FIX_COMMAND, update_tables

    path = ROOT / "docs" / "cli.md"
    text = path.read_text(encoding="utf-8")
    assert update_tables(text) == text, f"docs/cli.md's flag tables are out of date: run {FIX_COMMAND}"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_generated_table_has_a_row_per_argument_with_its_help(command):
    from cnnlab.cli.flag_tables import flag_rows

    rows = dict(flag_rows(command))
    actions = [a for a in _command(command)._actions if a.dest != "help"]
    assert len(rows) == len(actions)
    config = COMMANDS[command][0]
    by_flag = {flag.split("`")[1].split(" ")[0]: meaning for flag, meaning in rows.items()}
    for field, spec, _ in flag_fields(config):
        meaning = by_flag[flag_name(field.name)]
        shown = default_text(field, spec)
        if shown is not None and "(default" not in (spec.doc or spec.help):
            assert f"(default {shown})" in meaning, field.name


def test_the_table_writer_fixes_a_stale_file_and_check_says_how(tmp_path, capsys):
    from cnnlab.cli.flag_tables import FIX_COMMAND, main as tables_main

    stale = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8").replace("| `--epochs N` |", "| `--epochs X` |")
    path = tmp_path / "cli.md"
    path.write_text(stale, encoding="utf-8")
    assert tables_main([str(path), "--check"]) == 1
    assert f"run: {FIX_COMMAND}" in capsys.readouterr().err
    assert tables_main([str(path)]) == 0
    assert path.read_text(encoding="utf-8") == (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert tables_main([str(path), "--check"]) == 0
