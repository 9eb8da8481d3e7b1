"""`cnnlab train --recipe NAME` / `--list-recipes`, and what a run records about its speed."""

from __future__ import annotations

import json

import pytest
import yaml

from cnnlab.cli.main import main
from cnnlab.train import recipes
from cnnlab.train.config import TrainConfig
from cnnlab.train.recipes import Recipe, get_recipe, list_recipes


def test_every_recipe_is_a_valid_config():
    for r in list_recipes():
        config = TrainConfig.from_dict({"data": r.data, **r.settings, "recipe": r.name})
        assert config.recipe == r.name and r.target and r.measured


def test_fast_exists_for_mnist_and_fashion_mnist_and_cifar10_says_it_is_unmeasured():
    assert get_recipe("fast", "mnist").measurable_here
    assert get_recipe("fast", "fashion-mnist").measurable_here
    cifar = get_recipe("fast", "cifar10")
    assert not cifar.measurable_here and "not measured" in cifar.measured


def test_list_recipes_text_and_json(capsys):
    assert main(["train", "--list-recipes"]) == 0
    text = capsys.readouterr().out
    assert "fast --data mnist" in text and "fast --data fashion-mnist" in text and "target:" in text
    assert main(["train", "--list-recipes", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["recipes"]
    assert {(r["name"], r["data"]) for r in listed} == {(r.name, r.data) for r in list_recipes()}


@pytest.mark.parametrize("argv, message", [
    (["--recipe", "fast"], "needs --data"),
    (["--recipe", "fast", "--data", "digits"], "exists for cifar10, fashion-mnist, mnist"),
    (["--recipe", "slowest", "--data", "mnist"], "unknown recipe 'slowest'"),
])
def test_recipe_errors_are_one_line(argv, message, capsys):
    assert main(["train", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]


@pytest.fixture
def digits_recipe(monkeypatch):
    settings = {"model": "logreg", "epochs": 2, "batch_size": 32, "lr": 0.05, "optimizer": "sgd",
                "momentum": 0.5, "schedule": "onecycle", "score_train_limit": 100}
    monkeypatch.setitem(recipes.RECIPES, ("quick", "digits"),
                        Recipe("quick", "digits", settings, target="t", measured="m"))
    return settings


def test_recipe_fields_apply_and_flags_override_them(digits_recipe, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", "digits", "--recipe", "quick", "--epochs", "1", "--json",
                 "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["recipe"] == "quick" and summary["recipe"] == "quick"
    assert config["epochs"] == 1 and summary["epochs"] == 1  # the flag won
    for key in ("model", "batch_size", "lr", "optimizer", "momentum", "schedule"):
        assert config[key] == digits_recipe[key]  # the recipe's fields ran
    assert summary["n_train_scored"] == 100


def test_config_file_sits_between_recipe_and_flags(digits_recipe, tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("data: digits\nlr: 0.02\nbatch_size: 16\n")
    out = tmp_path / "run"
    assert main(["train", "--config", str(cfg), "--recipe", "quick", "--batch-size", "64",
                 "--json", "--out", str(out)]) == 0
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert (config["lr"], config["batch_size"], config["epochs"]) == (0.02, 64, 2)


def test_listing_recipes_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys\nfrom cnnlab.cli.main import main\nmain(['train', '--list-recipes'])\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize("recipe", recipes.list_recipes(), ids=lambda r: f"{r.name}-{r.data}")
def test_every_recipe_is_a_valid_config_whose_model_builds(recipe):
    import torch

    from cnnlab.models import count_params, get_model
    from cnnlab.train import TrainConfig

    config = TrainConfig.from_dict({**recipe.settings, "data": recipe.data}, where="test")
    config.validate()
    shape = {"cifar10": (3, 32, 32)}.get(recipe.data, (1, 28, 28))
    model = get_model(config.model, shape[0], 10, shape[1:], **config.model_cfg).eval()
    assert model(torch.zeros(2, *shape)).shape == (2, 10)
    assert count_params(model) == sum(p.numel() for p in model.parameters())
