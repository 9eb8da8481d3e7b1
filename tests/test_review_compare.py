"""Regression tests from a practitioner's review of ``cnnlab compare`` (CLI and Python API).

Each test is a defect found by comparing a run of one's own with the built-in models.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnnlab.cli.main import main


def test_runs_alone_score_only_the_runs_in_both_faces(digits_run, tmp_path, capsys):
    # `cnnlab compare --runs RUN` scores the run alone (no model is trained), while
    # `cnnlab.compare(runs=[RUN])` trained all four built-in models too: the API took
    # CompareConfig's default `models` where the CLI had its own rule.
    import cnnlab

    capsys.readouterr()
    assert main(["compare", "--data", "digits", "--runs", str(digits_run), "--threads", "1",
                 "--out", str(tmp_path / "cli"), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    api = cnnlab.compare(data="digits", runs=[str(digits_run)], threads=1, out=str(tmp_path / "api")).to_json()
    assert [m["name"] for m in cli["models"]] == ["mine"]
    assert [m["name"] for m in api["models"]] == [m["name"] for m in cli["models"]]
    settings = [(Path(j["run_dir"]) / "config.yaml").read_text(encoding="utf-8") for j in (cli, api)]
    assert all("\nmodels: []\n" in text for text in settings), settings
    # and the report does not say that torch models were trained, when none was
    report = (Path(cli["run_dir"]) / "report.html").read_text(encoding="utf-8")
    assert "Torch models trained" not in report and "mine" in report


def test_report_says_how_the_torch_models_were_trained(tmp_path):
    import cnnlab

    r = cnnlab.compare(data="digits", models=["logreg", "mlp"], epochs=1, limit=200, threads=1, seed=3,
                       out=str(tmp_path / "c"))
    report = Path(r.to_json()["report"]).read_text(encoding="utf-8")
    assert "Torch models trained 1 epoch(s), batch 64, seed 3." in report


def test_models_default_says_what_runs_do(capsys):
    # `--models ... (default all)` in --help and "(all)" in docs/cli.md, yet with --runs the
    # default is no model at all.
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    models_help = help_text[help_text.index("--models LIST comma-separated"):help_text.index("--runs DIR [DIR ...] your own")]
    assert "--runs" in models_help
    cli_md = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    section = cli_md[cli_md.index("## `cnnlab compare`"):cli_md.index("## `cnnlab tune`")]
    row = next(line for line in section.splitlines() if line.startswith("| `--models LIST`"))
    assert "--runs" in row.split("|")[2]  # the row is generated from the help (docs/cli.md)


def _model(name, convolutional, val, shifted):
    from types import SimpleNamespace

    return SimpleNamespace(name=name, convolutional=convolutional, val_accuracy=val, shifted_val_accuracy=shifted)


def test_robustness_with_nothing_lost_claims_no_verdict():
    # A tiny folder where no model lost a point to the shifts read: "Here the convolutions
    # did not protect every model from the shifts: small-cnn lost 0.0 points, logreg (no
    # convolution) 0.0; on average the convolutional models lost as much or more (0.0 vs 0.0
    # points)" - a verdict against convolutions drawn from no difference at all.
    from types import SimpleNamespace

    from cnnlab.compare.document import robustness

    text = robustness(SimpleNamespace(models=[_model("logreg", False, 1.0, 1.0), _model("small-cnn", True, 0.5, 0.5)]))
    assert "did not protect" not in text and "as much or more" not in text
    assert "No model lost accuracy to the shifts" in text and "logreg 0.0" in text and "small-cnn 0.0" in text
    # a model that gained on the shifted images lost nothing either (drop -10 points)
    text = robustness(SimpleNamespace(models=[_model("mlp", False, 0.4, 0.5), _model("cnn3", True, 0.5, 0.5)]))
    assert "No model lost accuracy to the shifts" in text and "mlp -10.0" in text


def test_robustness_still_judges_when_a_model_lost_points():
    from types import SimpleNamespace

    from cnnlab.compare.document import robustness

    # hand-worked: the CNN lost 2 points, the MLP 10 -> every convolutional model lost less
    text = robustness(SimpleNamespace(models=[_model("mlp", False, 0.9, 0.8), _model("cnn", True, 0.9, 0.88)]))
    assert text.startswith("Here every convolutional model lost less") and "cnn 2.0" in text and "mlp 10.0" in text
    # the CNN lost 5 points, the MLP nothing -> the convolutions did not protect it
    text = robustness(SimpleNamespace(models=[_model("mlp", False, 0.9, 0.9), _model("cnn", True, 0.9, 0.85)]))
    assert text.startswith("Here the convolutions did not protect every model") and "cnn lost 5.0" in text


def _study_folder(root: Path, run: Path, best_run_dir: str) -> Path:
    """A tune study folder as `cnnlab tune --out root` leaves it: root/<study>/ holding
    results.json (naming the best trial as tune was given its paths) and trial-0000/."""
    import shutil

    study = root / "mlp-digits"
    shutil.copytree(run, study / "trial-0000")
    (study / "results.json").write_text(json.dumps({"best_run_dir": best_run_dir}), encoding="utf-8")
    return study


def test_study_folder_works_from_another_folder(digits_run, tmp_path, monkeypatch):
    # `cnnlab tune --out tn` (run in /work) writes best_run_dir "tn/mlp-digits/trial-0000",
    # relative to where tune ran; `cnnlab compare --runs /work/tn/mlp-digits` run from any
    # other folder said "a study folder without a finished best trial".
    from cnnlab.compare.user_runs import resolve_run_dir

    work = tmp_path / "work"
    study = _study_folder(work / "tn", digits_run, "tn/mlp-digits/trial-0000")
    monkeypatch.chdir(work)
    assert resolve_run_dir("tn/mlp-digits").resolve() == (study / "trial-0000").resolve()
    monkeypatch.chdir(tmp_path)
    assert resolve_run_dir(study).resolve() == (study / "trial-0000").resolve()


def test_tune_out_folder_names_its_study_folders(digits_run, tmp_path):
    # --runs given tune's --out folder (which holds study.db and the study folders) said only
    # "not a run folder ... nor a study folder"; it now names the study folder to give.
    from cnnlab.compare.user_runs import resolve_run_dir
    from cnnlab.errors import UsageError

    out = tmp_path / "tn"
    study = _study_folder(out, digits_run, str(tmp_path / "tn" / "mlp-digits" / "trial-0000"))
    with pytest.raises(UsageError, match="study folder") as caught:
        resolve_run_dir(out)
    assert str(study) in str(caught.value)
