"""Regression tests from a review of the generated flags with hostile values.

Each test is a defect found by giving a command a value a user could type (huge,
out of the image, past what the OS timer takes) and seeing it run on, or fail late
with a message that does not say which flag was wrong. The rule they hold to: one
``error:`` line naming the flag, exit status 2, and nothing written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnnlab.cli.main import main
from cnnlab.errors import MAX_SIDE


def _refused(capsys, argv, *words):
    """``main(argv)`` exits 2 with one ``error:`` line holding every word of ``words``."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    for word in words:
        assert word in err[0], err[0]
    return err[0]


def test_train_resize_keeps_the_4096_per_side_limit(tmp_path, capsys):
    # docs/limits.md: `--resize HxW` 4096 per side, for `data info` and `train`. train took
    # 99999x99999 and failed only when the model's first layer asked for 400 GB
    # ("DefaultCPUAllocator: can't allocate memory ... (RuntimeError, not caught ...)").
    out = tmp_path / "run"
    for size in (f"{MAX_SIDE + 1}x8", f"8x{MAX_SIDE + 1}", "99999x99999"):
        _refused(capsys, ["train", "--data", "digits", "--model", "logreg", "--epochs", "1",
                          "--threads", "1", "--out", str(out), "--resize", size], "--resize", str(MAX_SIDE))
        assert not out.exists()
    # the same limit as `data info --resize`, whose message it shares
    _refused(capsys, ["data", "info", "digits", "--resize", f"{MAX_SIDE + 1}x8"], str(MAX_SIDE))


def test_train_resize_at_the_limit_is_still_read():
    from cnnlab.train import TrainConfig

    assert TrainConfig(data="d", model="mlp", resize=f"{MAX_SIDE}x{MAX_SIDE}").resize_hw() == (MAX_SIDE, MAX_SIDE)


@pytest.mark.parametrize("shift", ["8,0", "0,8", "-8,0", "99999,0", "0,-99999"])
def test_evaluate_refuses_a_shift_that_moves_the_image_out(digits_run, shift, capsys):
    # digits are 8x8: a shift of 8 px or more leaves a blank image, whose "shifted accuracy"
    # is the accuracy of the model on zeros. `explain --max-shift` refuses it (at most
    # side - 1); `evaluate --shift 99999,0` printed a result.
    _refused(capsys, ["evaluate", str(digits_run), "--shift", shift], "--shift", "8x8")


def test_evaluate_shift_within_the_image_still_scores(digits_run, capsys):
    assert main(["evaluate", str(digits_run), "--shift", "-7,7", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["shift"] == [-7, 7] and 0 <= result["shifted_accuracy"] <= 1


def test_evaluate_api_refuses_the_same_shift(digits_run):
    import cnnlab
    from cnnlab.errors import UsageError

    with pytest.raises(UsageError, match="--shift"):
        cnnlab.evaluate(str(digits_run), shift=(0, 8))


@pytest.mark.parametrize("beat", ["99999999999999999999", "1e12"])
def test_tune_heartbeat_has_an_upper_bound(tmp_path, beat, capsys):
    # --heartbeat 1e20 opened the study, then Optuna's heartbeat thread died with
    # "error: arithmetic error: Python int too large to convert to C int" (after the
    # study line was printed and study.db written).
    out = tmp_path / "tune"
    _refused(capsys, ["tune", "--data", "digits", "--model", "logreg", "--trials", "1", "--epochs", "1",
                      "--limit", "100", "--threads", "1", "--out", str(out), "--heartbeat", beat], "--heartbeat")
    assert not (out / "study.db").exists()


def test_tune_heartbeat_bound_is_the_one_docs_limits_names():
    from pathlib import Path

    from cnnlab.tune.study import MAX_HEARTBEAT_SECONDS

    limits = (Path(__file__).resolve().parents[1] / "docs" / "limits.md").read_text(encoding="utf-8")
    row = next(line for line in limits.splitlines() if line.startswith("| `tune --heartbeat`"))
    assert f"{MAX_HEARTBEAT_SECONDS:,}" in row and "MAX_HEARTBEAT_SECONDS" in row


# --- the same limits for a value that does not come through argparse ----------------------
# A flag's bounds were checked by its argparse type only: a YAML config file
# (`cnnlab train --config`) or the Python API (contract §9: "the CLI's defaults, limits and
# messages") took `seed: -1` silently, and `seed: 1e20` failed deep inside numpy or
# scikit-learn ("Overflow when unpacking long long", "expected non-negative integer").

BAD_SEEDS = [-1, 2**32, 10**20]


@pytest.mark.parametrize("key", ["seed", "split_seed"])
@pytest.mark.parametrize("seed", BAD_SEEDS)
def test_train_config_file_refuses_a_seed_out_of_range(tmp_path, key, seed, capsys):
    config = tmp_path / "run.yaml"
    out = tmp_path / "run"
    config.write_text(f"data: digits\nmodel: logreg\nepochs: 1\nlimit: 100\nthreads: 1\nout: {out}\n{key}: {seed}\n",
                      encoding="utf-8")
    _refused(capsys, ["train", "--config", str(config)], key, "4294967295")
    assert not out.exists()


@pytest.mark.parametrize("seed", BAD_SEEDS)
def test_python_api_refuses_a_seed_out_of_range(digits_run, tmp_path, seed):
    import cnnlab

    calls = {
        "train": lambda: cnnlab.train(data="digits", model="logreg", epochs=1, limit=100, threads=1, seed=seed,
                                      out=str(tmp_path / "train")),
        "compare": lambda: cnnlab.compare(data="digits", models=["logreg"], threads=1, seed=seed,
                                          out=str(tmp_path / "compare")),
        "tune": lambda: cnnlab.tune(data="digits", model="logreg", trials=1, epochs=1, limit=100, threads=1,
                                    seed=seed, out=str(tmp_path / "tune")),
        "explain": lambda: cnnlab.explain(str(digits_run), what="maximize", steps=2, seed=seed,
                                          out=str(tmp_path / "explain")),
    }
    for name, call in calls.items():
        with pytest.raises(cnnlab.UsageError, match="seed"):
            call()
        assert not (tmp_path / name).exists(), name


def test_python_api_seed_at_the_limit_is_taken():
    from cnnlab.errors import MAX_SEED, check_seed

    assert check_seed(MAX_SEED) == MAX_SEED and check_seed(0) == 0


def test_python_api_keeps_the_lower_bounds_of_count_and_batch_size(digits_run, tmp_path):
    # cnnlab.explain(count=0) failed in matplotlib ("Number of columns must be a positive
    # integer, not 0"); cnnlab.compare(batch_size=0) was taken (and saved in config.yaml).
    import cnnlab

    with pytest.raises(cnnlab.UsageError, match="--count"):
        cnnlab.explain(str(digits_run), what="gradcam", count=0, out=str(tmp_path / "explain"))
    for size in (0, 2**17):
        with pytest.raises(cnnlab.UsageError, match="--batch-size"):
            cnnlab.compare(data="digits", models=["logreg"], threads=1, batch_size=size, out=str(tmp_path / "c"))
    assert not (tmp_path / "explain").exists() and not (tmp_path / "c").exists()


def test_tune_threads_default_is_said_as_train_chooses_it(capsys):
    # `cnnlab tune --help` said "--threads N  CPU threads per trial (default: all cores
    # available)", but a trial is a TrainConfig with threads None, which takes the cores the
    # load average leaves free (train/threads.choose_threads), as `cnnlab train` says.
    from pathlib import Path

    with pytest.raises(SystemExit):
        main(["tune", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    threads_help = text[text.index("--threads N CPU threads per trial"):text.index("--out DIR study folder")]
    assert "load average leaves free" in threads_help and "all cores available" not in threads_help
    cli_md = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    section = cli_md[cli_md.index("## `cnnlab tune`"):cli_md.index("## `cnnlab explain`")]
    row = next(line for line in section.splitlines() if line.startswith("| `--threads N`"))
    assert "load average leaves free" in row


def test_explain_list_layers_columns_line_up(tmp_path, capsys):
    # `cnnlab explain RUN --list-layers` printed the conv/block mark straight after each
    # shape, so it wandered with the shape's width ("32x16x16  conv" under "128x2x2  block").
    out = tmp_path / "cnn"
    assert main(["train", "--data", "digits", "--model", "cnn3", "--epochs", "1", "--limit", "50",
                 "--threads", "1", "--out", str(out), "--json"]) == 0
    capsys.readouterr()
    assert main(["explain", str(out), "--list-layers"]) == 0
    lines = capsys.readouterr().out.splitlines()
    marked = [line for line in lines if line.endswith(("  conv", "  block"))]
    assert len(marked) >= 3
    assert len({line.rstrip().rfind(" ") for line in marked}) == 1, marked
    shapes = {line.split()[-2] for line in marked}
    assert len({len(s) for s in shapes}) > 1  # shapes of several widths, so the test means something


@pytest.mark.parametrize("argv", [["solve", "sheet1"], ["quiz", "--count", "1"]])
def test_an_empty_out_file_name_is_called_empty(argv, tmp_path, monkeypatch, capsys):
    # `cnnlab solve sheet1 --out=` said "cannot write --out file .: it is a folder": the
    # user gave no name at all, and '.' is nowhere in what they typed.
    monkeypatch.chdir(tmp_path)
    line = _refused(capsys, [*argv, "--out="], "--out", "empty")
    assert " .:" not in line
    assert list(tmp_path.iterdir()) == []


def _folder(root: Path, names, n=8, size=(10, 10), seed=0):
    """An image folder: one sub-folder per class name with ``n`` random grey PNGs."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    for name in names:
        (root / name).mkdir(parents=True)
        for i in range(n):
            Image.fromarray((rng.random(size) * 255).astype(np.uint8)).save(root / name / f"{i}.png")
    return root


def test_evaluate_on_other_data_says_when_the_class_names_differ(tmp_path, capsys):
    # docs/cli.md: `evaluate --data` takes "another dataset with the same image shape and
    # classes", but only the number of classes was compared: a run trained on cats/dogs
    # scored on a folder of apples/pears printed an accuracy with no word that label 0
    # meant 'cats' to the model and 'apples' to the data.
    run = tmp_path / "run"
    _folder(tmp_path / "pets", ["cats", "dogs"])
    _folder(tmp_path / "fruit", ["apples", "pears"], seed=1)
    _folder(tmp_path / "pets2", ["cats", "dogs"], seed=2)
    assert main(["train", "--data", str(tmp_path / "pets"), "--model", "logreg", "--epochs", "1",
                 "--threads", "1", "--out", str(run), "--json"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(tmp_path / "fruit")]) == 0
    text = capsys.readouterr().err  # notes go to stderr, as an older run's notes do
    assert "note:" in text and "apples, pears" in text and "cats, dogs" in text and "by position" in text
    assert main(["evaluate", str(run), "--data", str(tmp_path / "fruit"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert any("apples, pears" in note for note in result["notes"])
    # the same class names: nothing to say
    assert main(["evaluate", str(run), "--data", str(tmp_path / "pets2"), "--json"]) == 0
    assert "notes" not in json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_explain_maximize_takes_a_class_name_as_target_class_does():
    # `--target-class` takes "a class (index or name)"; `--maximize class:dogs` said
    # "write classes, class:K, LAYER, LAYER:C or LAYER:C@Y,X".
    from cnnlab.errors import UsageError
    from cnnlab.explain.objectives import parse_objectives

    classes = ["cats", "dogs", "ñandú"]

    def no_layers(layer):
        raise AssertionError(layer)

    by_name = parse_objectives("class:ñandú+class:dogs", len(classes), no_layers, classes)
    by_index = parse_objectives("class:2+class:1", len(classes), no_layers, classes)
    assert by_name == by_index and [g[0].index for g in by_name] == [2, 1]
    with pytest.raises(UsageError, match="unknown class 'emu'; classes: cats, dogs, ñandú"):
        parse_objectives("class:emu", len(classes), no_layers, classes)
    # without the names (as before): an index only
    assert parse_objectives("class:1", 3, no_layers)[0][0].index == 1


def test_serve_refuses_a_runs_folder_that_is_a_file(tmp_path, capsys):
    # `cnnlab serve --runs /etc/passwd` started the server; /explore then listed no run and
    # said nothing about why. A folder that does not exist yet stays allowed (runs/ is the
    # default before the first `cnnlab train`).
    from cnnlab.cli.serve_cmd import check_runs_folder

    afile = tmp_path / "notes.txt"
    afile.write_text("x", encoding="utf-8")
    with pytest.raises(Exception, match="--runs .*notes.txt.* a file, not a folder"):
        check_runs_folder(str(afile))
    assert check_runs_folder(str(tmp_path / "later")) == str(tmp_path / "later")
    _refused(capsys, ["serve", "--runs", str(afile), "--port", "0"], "--runs", "not a folder")


def test_every_argument_of_every_command_has_help():
    # `cnnlab evaluate --help` listed "--split {test,val,train}" and "RUN_DIR" with no words
    # (and no default); so did arch's --kernel/--stride/--padding/--dilation (--solve's
    # known quantities), `data info NAME`, `kernel apply --kernel`, `kernel invariance
    # --part` and two --no-picture flags.
    import argparse
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_docs import command_parsers

    silent = [f"{path} {'/'.join(a.option_strings) or a.dest}"
              for path, parser in command_parsers().items() for a in parser._actions
              if not isinstance(a, argparse._SubParsersAction) and not a.help]
    assert not silent, silent


def test_an_empty_file_or_folder_name_is_called_empty(tmp_path, monkeypatch, capsys):
    # Path("") is "." : `tune --space=` said "space file . is a folder, not a regular file"
    # and `compare --runs=` said "--runs .: not a run folder ...".
    from cnnlab.compare.user_runs import resolve_run_dir
    from cnnlab.errors import UsageError
    from cnnlab.userfiles import check_regular_file

    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="space file: the file name is empty"):
        check_regular_file("", "space file")
    with pytest.raises(UsageError, match="--runs: the folder name is empty"):
        resolve_run_dir("")


def test_tune_out_hint_names_only_study_folders(digits_run, tmp_path):
    # a compare folder also holds results.json: the hint named `cmp` as a study folder
    from cnnlab.compare.user_runs import resolve_run_dir
    from cnnlab.errors import UsageError

    (tmp_path / "cmp").mkdir()
    (tmp_path / "cmp" / "results.json").write_text("{}", encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        resolve_run_dir(tmp_path)
    assert "cmp" not in str(caught.value).replace(str(tmp_path), "")


def test_python_api_keeps_the_epochs_cap(tmp_path):
    # `--epochs` stops at 10,000 (docs/limits.md, "train, compare, tune"); cnnlab.compare and
    # cnnlab.tune took epochs=10**9 and would have trained on for ever.
    import cnnlab
    from cnnlab.train.config import MAX_EPOCHS

    with pytest.raises(cnnlab.UsageError, match="--epochs"):
        cnnlab.compare(data="digits", models=["mlp"], threads=1, epochs=MAX_EPOCHS + 1, out=str(tmp_path / "c"))
    with pytest.raises(cnnlab.UsageError, match="--epochs"):
        cnnlab.tune(data="digits", model="logreg", trials=1, threads=1, epochs=MAX_EPOCHS + 1,
                    out=str(tmp_path / "t"))
    assert not (tmp_path / "c").exists() and not (tmp_path / "t").exists()
