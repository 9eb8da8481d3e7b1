"""Search spaces: YAML parsing, refusals that name the parameter, grid values, suggestions."""

from __future__ import annotations

import optuna
import pytest

from cnnlab.errors import UsageError
from cnnlab.models import get_model
from cnnlab.tune.space import (Param, default_space, grid_values, load_space, model_options,
                               parse_space, space_to_dict, split_params, suggest)

GOOD = """\
lr: {type: float, low: 1.0e-4, high: 1.0e-1, log: true}
optimizer: {type: categorical, choices: [sgd, adam]}
batch_size: {type: int, low: 32, high: 128, step: 32}
dropout: {type: float, low: 0.0, high: 0.5}
hidden: {type: categorical, choices: ["64-32", "128"]}
schedule: cosine
momentum: {type: fixed, value: 0.8}
"""


def test_good_file_parses_every_kind(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text(GOOD)
    space = load_space(path, "mlp")
    assert list(space) == ["lr", "optimizer", "batch_size", "dropout", "hidden", "schedule", "momentum"]
    assert space["lr"] == Param("lr", "float", 1e-4, 1e-1, log=True)
    assert space["optimizer"].choices == ("sgd", "adam")
    assert (space["batch_size"].low, space["batch_size"].high, space["batch_size"].step) == (32, 128, 32)
    assert space["dropout"].step is None and not space["dropout"].log
    assert space["schedule"] == Param("schedule", "fixed", choices=("cosine",))
    assert space["momentum"].choices == (0.8,)
    # the dict form round-trips through parse_space
    assert parse_space(space_to_dict(space), "mlp") == space


@pytest.mark.parametrize("text, words", [
    ("learning_rate: {type: float, low: 0.001, high: 0.1}", ["learning_rate", "unknown parameter"]),
    ("lr: {type: gaussian, low: 0.001, high: 0.1}", ["lr", "type must be"]),
    ("lr: {type: float, low: 0.1, high: 0.001}", ["lr", "low must be below high"]),
    ("lr: {type: float, low: 0, high: 0.1, log: true}", ["lr", "log scale needs low > 0"]),
    ("lr: {type: float, low: -1, high: 0.1}", ["lr", "-1", "--lr must be > 0"]),
    ("lr: {type: float, low: 0.001}", ["lr", "needs `low` and `high`"]),
    ("lr: {type: float, low: 0.001, high: 0.1, scale: log}", ["lr", "unknown key(s) scale"]),
    ("lr: {type: float, low: 0.001, high: 0.1, log: yes please}", ["lr", "log must be true or false"]),
    ("lr: {type: float, low: 0.001, high: 0.1, log: true, step: 0.01}", ["lr", "cannot be combined"]),
    ("lr: {type: float, low: abc, high: 0.1}", ["lr", "low must be a number"]),
    ("optimizer: {type: categorical, choices: [sgd, rmsprop]}", ["optimizer", "rmsprop", "--optimizer must be one of"]),
    ("optimizer: {type: categorical, choices: []}", ["optimizer", "non-empty list"]),
    ("optimizer: {type: categorical, choices: [sgd, sgd]}", ["optimizer", "repeat"]),
    ("optimizer: [sgd, adam]", ["optimizer", "type: categorical"]),
    ("batch_size: {type: int, low: 16.5, high: 64}", ["batch_size", "must be an integer"]),
    ("batch_size: {type: int, low: 0, high: 64}", ["batch_size", "--batch-size must be >= 1"]),
    ("batch_size: {type: int, low: 16, high: 64, step: -16}", ["batch_size", "step must be > 0"]),
    ("dropout: {type: float, low: 0.0, high: 1.5}", ["dropout", "probability"]),
    ("hidden: {type: categorical, choices: ['64-x']}", ["hidden", "not usable"]),
    ("hidden: {type: categorical, choices: [[64, 32]]}", ["hidden", "as a string"]),
    ("seed: {type: int, low: 0, high: 5}", ["seed", "unknown parameter"]),
    ("schedule: cosine", ["every parameter is fixed"]),
    ("schedule: {type: fixed}", ["schedule", "needs `value:`"]),
    ("- lr\n- optimizer", ["must be a mapping"]),
    ("", ["must be a mapping"]),
    ("lr: {type: float, low: [0.001", ["not valid YAML"]),
])
def test_bad_file_names_the_problem(tmp_path, text, words):
    path = tmp_path / "space.yaml"
    path.write_text(text)
    with pytest.raises(UsageError) as err:
        load_space(path, "mlp")
    message = str(err.value)
    assert str(path) in message
    for word in words:
        assert word in message, (word, message)
    assert "\n" not in message


def test_missing_file_and_dropout_on_a_model_without_it(tmp_path):
    with pytest.raises(UsageError, match="cannot read space file"):
        load_space(tmp_path / "absent.yaml", "mlp")
    with pytest.raises(UsageError, match=r"unknown parameter 'dropout'.*options of logreg: \(none\)"):
        parse_space({"dropout": {"type": "float", "low": 0.0, "high": 0.5}}, "logreg")
    with pytest.raises(UsageError, match="unknown model"):
        parse_space({"lr": 0.1}, "no-such-model")


@pytest.mark.parametrize("model", ["small-cnn", "mlp", "logreg", "cnn3", "cnn3-dropout", "cnn6-bn"])
def test_default_space_has_dropout_exactly_when_the_model_takes_it(model):
    space = default_space(model)
    assert {"lr", "optimizer", "batch_size", "weight_decay", "schedule"} <= set(space)
    assert space["lr"].log and space["lr"].low == 1e-4 and space["lr"].high == 1e-1
    # independent check: does building the model with a dropout option work?
    try:
        get_model(model, 1, 10, (28, 28), dropout=0.1)
        takes = True
    except UsageError:
        takes = False
    assert ("dropout" in space) == takes == ("dropout" in model_options(model))
    parse_space(space_to_dict(space), model)  # the default passes its own checks


def test_grid_values():
    assert grid_values(Param("lr", "float", 1e-4, 1e-2, log=True)) == [1e-4, 1e-3, 1e-2]
    assert grid_values(Param("d", "float", 0.0, 0.5)) == [0.0, 0.25, 0.5]
    assert grid_values(Param("d", "float", 0.1, 0.5, step=0.2)) == [0.1, 0.3, 0.5]
    assert grid_values(Param("b", "int", 32, 100, step=32)) == [32, 64, 96]
    assert grid_values(Param("b", "int", 1, 100, log=True, step=1)) == [1, 10, 100]
    assert grid_values(Param("o", "categorical", choices=("sgd", "adam"))) == ["sgd", "adam"]
    assert grid_values(Param("s", "fixed", choices=("cosine",))) == ["cosine"]


def test_suggest_stays_in_the_space():
    space = parse_space({"lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
                         "batch_size": {"type": "int", "low": 32, "high": 128, "step": 32},
                         "optimizer": {"type": "categorical", "choices": ["sgd", "adam"]},
                         "dropout": {"type": "float", "low": 0.0, "high": 0.5},
                         "schedule": "cosine"}, "mlp")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    draws = []
    for _ in range(200):
        trial = study.ask()
        draws.append(suggest(space, trial))
        study.tell(trial, 0.0)
    assert all(1e-4 <= d["lr"] <= 1e-1 for d in draws)
    assert {d["batch_size"] for d in draws} == {32, 64, 96, 128}
    assert {d["optimizer"] for d in draws} == {"sgd", "adam"}
    assert all(0 <= d["dropout"] <= 0.5 for d in draws) and {d["schedule"] for d in draws} == {"cosine"}
    # log scale: about half the draws below the geometric middle 10^-2.5 (a linear scale: ~3%)
    below = sum(d["lr"] < 10 ** -2.5 for d in draws) / len(draws)
    assert 0.38 < below < 0.62
    # the fixed value is not an optuna parameter
    assert "schedule" not in study.trials[0].params
    fixed = suggest(space, optuna.trial.FixedTrial({"lr": 0.01, "batch_size": 64, "optimizer": "sgd",
                                                    "dropout": 0.2}))
    assert fixed == {"lr": 0.01, "batch_size": 64, "optimizer": "sgd", "dropout": 0.2, "schedule": "cosine"}
    assert split_params(fixed) == ({"lr": 0.01, "batch_size": 64, "optimizer": "sgd", "schedule": "cosine"},
                                   {"dropout": 0.2})
