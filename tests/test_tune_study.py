"""run_study on the 8x8 digits: storage, continuation, pruning, reproducibility, refusals."""

from __future__ import annotations

import csv
import json
import sqlite3

import optuna
import pytest

from cnnlab.data import load_dataset
from cnnlab.errors import UsageError
from cnnlab.train import TrainConfig, fit
from cnnlab.tune import TuneConfig, run_study
from cnnlab.tune.document import terminal_table

SPACE = {"lr": {"type": "float", "low": 1e-3, "high": 0.3, "log": True},
         "optimizer": {"type": "categorical", "choices": ["sgd", "adam"]},
         "batch_size": {"type": "categorical", "choices": [32, 64]}}
quiet = lambda _line: None  # noqa: E731


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's 8x8 digits, training split capped at 400 (stratified)."""
    return load_dataset("digits", limit=400)


def _config(out, **changes) -> TuneConfig:
    values = dict(data="digits", model="logreg", trials=3, epochs=2, space=SPACE, limit=400,
                  threads=1, device="cpu", out=str(out))
    values.update(changes)
    return TuneConfig(**values)


def _study_trials(db, name):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{db}").trials


@pytest.fixture(scope="module")
def study(digits, tmp_path_factory):
    out = tmp_path_factory.mktemp("tune")
    return run_study(_config(out), digits, log=quiet), out


def test_three_trials_write_db_runs_and_report(study):
    result, out = study
    db = out / "study.db"
    assert db.is_file() and result.storage == f"sqlite:///{db.resolve()}"
    assert result.study == "logreg-digits" and result.ran == 3
    trials = _study_trials(db, "logreg-digits")
    assert [t.state.name for t in trials] == ["COMPLETE"] * 3
    for row, t in zip(result.trials, trials):
        assert row["value"] == t.value and row["params"] == t.params and row["epochs"] == 2
        assert sorted(row["intermediate"]) == [1, 2] and row["seconds"] > 0
        run_dir = out / "logreg-digits" / f"trial-{t.number:04d}"
        assert row["run_dir"] == str(run_dir)
        summary = json.loads((run_dir / "summary.json").read_text())
        assert summary["val_accuracy"] == pytest.approx(t.value, abs=1e-12)
        # the value after each epoch is the metrics.csv row of that epoch
        with open(run_dir / "metrics.csv") as f:
            rows = list(csv.DictReader(f))
        assert [float(r["val_accuracy"]) for r in rows] == pytest.approx(
            [t.intermediate_values[1], t.intermediate_values[2]])
    best = max(trials, key=lambda t: t.value)
    assert result.best["number"] == best.number and result.best["params"] == best.params
    data = json.loads((out / "logreg-digits" / "results.json").read_text())
    assert data == json.loads(json.dumps(result.as_json()))
    assert {"study", "storage", "best_value", "best_params", "best_run_dir", "trials",
            "total_seconds"} <= set(data)
    html = (out / "logreg-digits" / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(result.figures) >= 3
    assert "trial-%04d" % best.number in html
    text = terminal_table(result)
    assert f"best: trial {best.number}" in text and "3 trials (3 complete); 3 run now" in text


def test_best_params_reproduce_the_best_value(study, digits, tmp_path):
    result, _ = study
    best_dir = result.best["run_dir"]
    config = TrainConfig.from_yaml(f"{best_dir}/config.yaml", {"out": str(tmp_path / "again")})
    for name, value in result.best["params"].items():
        assert getattr(config, name) == value
    again = fit(config, digits)
    assert again.summary["val_accuracy"] == result.best["value"]


def test_second_call_continues_the_same_study(digits, tmp_path):
    first = run_study(_config(tmp_path, trials=2, epochs=1), digits, log=quiet)
    second = run_study(_config(tmp_path, trials=2, epochs=1), digits, log=quiet)
    assert (first.ran, second.ran) == (2, 2)
    trials = _study_trials(tmp_path / "study.db", "logreg-digits")
    assert [t.number for t in trials] == [0, 1, 2, 3] and len(second.trials) == 4
    assert [r["params"] for r in second.trials[:2]] == [r["params"] for r in first.trials]
    # the rerun draws new values instead of repeating the first call's
    assert trials[2].params["lr"] not in (trials[0].params["lr"], trials[1].params["lr"])
    assert sorted(p.name for p in (tmp_path / "logreg-digits").glob("trial-*")) == \
        [f"trial-{n:04d}" for n in range(4)]
    with sqlite3.connect(tmp_path / "study.db") as db:
        assert db.execute("select count(*) from studies").fetchone() == (1,)
    # another setting is refused rather than mixed into the study
    with pytest.raises(UsageError, match="made with epochs 1 \\(now 2\\)"):
        run_study(_config(tmp_path, trials=1, epochs=2), digits, log=quiet)
    with pytest.raises(UsageError, match="maximizes"):
        run_study(_config(tmp_path, trials=1, epochs=1, metric="val_loss"), digits, log=quiet)
    # a new name in the same database is a new study
    other = run_study(_config(tmp_path, trials=1, epochs=1, study="other"), digits, log=quiet)
    assert other.study == "other" and len(other.trials) == 1


def test_median_pruner_prunes_a_bad_learning_rate(digits, tmp_path):
    """A trial with lr 1e-6 lags the first trial's epoch-1 accuracy and is pruned there."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    # a study made elsewhere (another machine) with two trials queued
    made = optuna.create_study(storage=url, study_name="prune", direction="maximize")
    made.enqueue_trial({"lr": 0.1, "optimizer": "adam", "batch_size": 32})
    made.enqueue_trial({"lr": 1e-6, "optimizer": "sgd", "batch_size": 32})
    pruner = optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0)
    space = {**SPACE, "lr": {"type": "float", "low": 1e-7, "high": 0.3, "log": True}}
    result = run_study(_config(tmp_path / "out", trials=2, epochs=3, storage=url, study="prune",
                               space=space),
                       digits, log=quiet, pruner=pruner)
    good, bad = result.trials
    assert (good["state"], good["epochs"]) == ("COMPLETE", 3)
    assert (bad["state"], bad["epochs"]) == ("PRUNED", 1)
    assert bad["intermediate"][1] < good["intermediate"][1]
    assert _study_trials(tmp_path / "shared.db", "prune")[1].state == optuna.trial.TrialState.PRUNED
    assert not (tmp_path / "out" / "study.db").exists()  # --storage given: no default db
    # the pruned run stopped after its checkpoint and resumes like any interrupted run
    run_dir = tmp_path / "out" / "prune" / "trial-0001"
    assert (run_dir / "last.pt").is_file() and not (run_dir / "summary.json").exists()
    lines = []
    resumed = fit(TrainConfig.from_yaml(run_dir / "config.yaml"), digits, log=lines.append)
    assert any("resuming" in line and "after epoch 1" in line for line in lines)
    assert resumed.summary["epochs"] == 3 and len(resumed.history) == 3


class PruneAll(optuna.pruners.BasePruner):
    """Stops every trial at its first report."""

    def prune(self, study, trial) -> bool:
        return True


def test_every_trial_pruned_still_reports(digits, tmp_path):
    result = run_study(_config(tmp_path, trials=2, epochs=2, metric="val_loss"), digits,
                       log=quiet, pruner=PruneAll())
    assert [t["state"] for t in result.trials] == ["PRUNED", "PRUNED"]
    assert [t["epochs"] for t in result.trials] == [1, 1]
    assert result.best is None and result.importances is None
    assert "2 complete trials" in result.importance_note
    data = result.as_json()
    assert data["best_value"] is None and data["best_run_dir"] is None
    assert result.direction == "minimize" and result.report.is_file()
    assert "no trial has completed yet" in terminal_table(result)


def test_grid_sampler_covers_the_grid_once(digits, tmp_path):
    space = {"lr": {"type": "categorical", "choices": [0.01, 0.1]},
             "batch_size": {"type": "int", "low": 32, "high": 64, "step": 32}}
    result = run_study(_config(tmp_path, trials=10, epochs=1, space=space, sampler="grid",
                               pruner="none"), digits, log=quiet)
    combos = sorted((t["params"]["lr"], t["params"]["batch_size"]) for t in result.trials)
    assert combos == [(0.01, 32), (0.01, 64), (0.1, 32), (0.1, 64)]  # stops when the grid is done
    assert result.importances is None or set(result.importances) == {"lr", "batch_size"}


def test_refusals_before_anything_is_written(digits, tmp_path):
    for changes, pattern in [
        ({"trials": 0}, "--trials must be >= 1"),
        ({"model": "nope"}, "unknown model 'nope'"),
        ({"sampler": "cmaes"}, "--sampler must be one of"),
        ({"space": {"lr": {"type": "float", "low": 1, "high": 0.1}}}, "parameter lr: low must be below"),
        ({"storage": "nosuchdialect://me:hunter2@host/db"}, "cannot open the database"),
    ]:
        with pytest.raises(UsageError, match=pattern) as err:
            run_study(_config(tmp_path / "out", **changes), digits, log=quiet)
        assert "hunter2" not in str(err.value)
    assert not (tmp_path / "out" / "study.db").exists()
    with pytest.raises(UsageError, match="too small"):  # small-cnn needs more than 8x8
        run_study(_config(tmp_path / "cnn", model="small-cnn", space=None), digits, log=quiet)
    assert not (tmp_path / "cnn").exists()


@pytest.mark.parametrize("data, slug", [("mnist", "mnist"), ("/data/my tiles/", "my_tiles"),
                                        ("sets/plants.csv", "plants"), ("/", "data")])
def test_a_study_folder_follows_the_run_folder_rule_without_a_time(data, slug):
    """tune's default folder names its data as train's run folders do (one rule:
    cnnlab.storage.default_run_dir), without the time, so that a rerun continues it."""
    from pathlib import Path

    from cnnlab.storage import default_run_dir
    from cnnlab.tune.study import default_out

    assert default_run_dir("cnn3", data, 0).name == f"cnn3-{slug}-19700101-000000"
    assert default_out("cnn3", data) == Path("runs") / f"tune-cnn3-{slug}"
    assert default_out("conv 3x3 8; relu; fc 10", data).name == f"tune-spec-a5437a0e-{slug}"
