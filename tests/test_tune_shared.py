"""Studies shared by several workers: SQLite and a real PostgreSQL server (tests/pg_fixture.py).

Workers are real ``cnnlab tune`` processes started at the same moment; the database they
share is read back with Optuna itself. No mocks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import optuna
import pytest

from cnnlab.data import load_dataset
from cnnlab.tune import TuneConfig, run_study
from cnnlab.tune.shared import resolve_driver, trial_seed, trial_seeded_sampler
from pg_fixture import pg_server, pg_url  # noqa: F401  (fixtures)

CLI = [sys.executable, "-m", "cnnlab.cli.main", "tune"]
SPACE = "lr: {type: float, low: 1.0e-3, high: 0.3, log: true}\noptimizer: sgd\nbatch_size: 64\n"
BASE = ["--data", "digits", "--model", "logreg", "--epochs", "1", "--limit", "300",
        "--threads", "1", "--device", "cpu", "--seed", "7", "--json"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=ENV)


def _finish(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "IntegrityError" not in err, err
    return json.loads(out.strip().splitlines()[-1])


def _trials(url: str, name: str = "logreg-digits"):
    # resolve_driver: postgresql:// opened as postgresql+psycopg:// (psycopg 3, the extra's)
    return optuna.load_study(study_name=name, storage=resolve_driver(url)).get_trials(deepcopy=False)


def _check_shared(results: list[dict], url: str, per_worker: int) -> None:
    """Every worker ran its trials, none twice; numbers 0..n-1; no two trials drew the same values."""
    n = per_worker * len(results)
    trials = _trials(url)
    assert sorted(t.number for t in trials) == list(range(n))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    ran = [r["ran_trials"] for r in results]
    assert all(r["ran"] == per_worker and len(numbers) == per_worker for r, numbers in zip(results, ran))
    assert sorted(x for numbers in ran for x in numbers) == list(range(n))  # disjoint, complete
    lrs = [t.params["lr"] for t in trials]
    assert len(set(lrs)) == n, lrs  # the same --seed, yet no trial repeats another
    pids = {t.user_attrs["pid"] for t in trials}
    assert len(pids) == len(results)  # each worker's trials carry its own pid
    # the last worker to finish read every trial of the study, the others' included
    assert max(len(r["trials"]) for r in results) == n


def test_trial_seeded_sampler_draws_by_trial_number():
    """Trial n draws from (seed, n): the same n repeats, another n (another worker) does not."""
    def draws(numbers):
        storage = optuna.storages.InMemoryStorage()
        study = optuna.create_study(storage=storage, sampler=trial_seeded_sampler(
            lambda s: optuna.samplers.RandomSampler(seed=s), seed=3))
        values = {}
        for n in range(max(numbers) + 1):
            trial = study.ask()
            value = trial.suggest_float("x", 0, 1)
            study.tell(trial, value)
            if n in numbers:
                values[n] = value
        return values

    first, again = draws([0, 1, 2, 3]), draws([0, 1, 2, 3])
    assert first == again  # reproducible for one worker
    assert len(set(first.values())) == 4
    # the values are those of a RandomSampler seeded trial_seed(3, n), drawn on its own
    for n, value in first.items():
        alone = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=trial_seed(3, n)))
        assert alone.ask().suggest_float("x", 0, 1) == value


RACE = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from cnnlab.tune.shared import create_or_load, open_storage
    url, folder, n = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    (folder / f"ready-{os.getpid()}").touch()  # imports done: wait for the others
    while len(list(folder.glob("ready-*"))) < n:
        time.sleep(0.001)
    storage = open_storage(url)
    study = create_or_load(storage, "race", "maximize", None, None)
    print(study._study_id)
""")


def test_sqlite_study_created_by_many_processes_at_once(tmp_path):
    """Before the retry, about half of 4 processes opening a new SQLite study together died
    (IntegrityError on alembic_version, "table ... already exists")."""
    for attempt in range(2):
        folder = tmp_path / f"round{attempt}"
        folder.mkdir()
        url = f"sqlite:///{folder / 'study.db'}"
        procs = [subprocess.Popen([sys.executable, "-c", RACE, url, str(folder), "4"], env=ENV,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
        outs = [p.communicate(timeout=120) for p in procs]
        for p, (out, err) in zip(procs, outs):
            assert p.returncode == 0, err
        assert {out.strip() for out, _ in outs} == {"1"}  # one study, loaded by all


def test_sqlite_workers_started_together_share_one_new_study(tmp_path):
    """Issue 16 item 5: 3 workers, the same --seed, one new SQLite study in one --out."""
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    out = tmp_path / "study"
    args = [*BASE, "--trials", "2", "--sampler", "random", "--space", str(space), "--out", str(out)]
    procs = [_start(*args) for _ in range(3)]
    results = [_finish(p) for p in procs]
    _check_shared(results, f"sqlite:///{(out / 'study.db').resolve()}", per_worker=2)


def test_postgresql_workers_share_one_study(pg_url, tmp_path):
    """Two workers (as on two machines: each its own --out) tune one study in PostgreSQL."""
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    procs = [_start(*BASE, "--trials", "3", "--space", str(space), "--storage", pg_url,
                    "--out", str(tmp_path / f"machine{k}")) for k in range(2)]
    results = [_finish(p) for p in procs]
    _check_shared(results, pg_url, per_worker=3)
    assert {r["storage"] for r in results} == {pg_url}
    # the study report of the last worker to finish lists the other worker's trials too
    last = max(results, key=lambda r: len(r["trials"]))
    page = open(last["report"], encoding="utf-8").read()
    other = next(r for r in results if r is not last)
    assert "<th>worker</th>" in page or ">worker<" in page
    pid_other = _trials(pg_url)[other["ran_trials"][0]].user_attrs["pid"]
    assert f":{pid_other}" in page


def test_postgresql_worker_killed_mid_trial(pg_url, tmp_path):
    """SIGKILL a worker inside a trial: its trial stops beating, the next worker marks it
    FAIL (and says so), and the study goes on with new trial numbers."""
    common = ["--data", "digits", "--model", "cnn3", "--epochs", "6", "--limit", "400",
              "--threads", "1", "--device", "cpu", "--pruner", "none", "--heartbeat", "1",
              "--storage", pg_url, "--study", "killed"]
    victim = _start(*common, "--trials", "1", "--out", str(tmp_path / "victim"))
    try:
        deadline = time.time() + 240
        while time.time() < deadline:  # wait until it is inside trial 0, past its first epoch
            try:
                trials = _trials(pg_url, "killed")
            except KeyError:
                trials = []
            if trials and trials[0].intermediate_values:
                break
            assert victim.poll() is None, victim.communicate()[1]
            time.sleep(0.1)
        else:
            pytest.fail("the worker never reached its first epoch")
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
    finally:
        if victim.poll() is None:
            victim.kill()
    assert _trials(pg_url, "killed")[0].state == optuna.trial.TrialState.RUNNING
    time.sleep(4)  # 3 missed beats of 1 s: the trial now counts as dead
    lines = []
    config = TuneConfig(data="digits", model="cnn3", trials=1, epochs=6, limit=400, threads=1,
                        device="cpu", pruner="none", storage=pg_url, study="killed",
                        heartbeat=1, out=str(tmp_path / "next"))
    result = run_study(config, load_dataset("digits", limit=400), log=lines.append,
                       write_report=False)
    states = {t.number: t.state.name for t in _trials(pg_url, "killed")}
    assert states == {0: "FAIL", 1: "COMPLETE"}
    assert result.ran_trials == [1]
    assert any(line.startswith("trial 0: marked failed") and f"pid {victim.pid}" in line
               for line in lines), lines


def test_postgresql_url_without_the_driver_names_the_extra(tmp_path):
    """No psycopg 3: one error line that says which extra to install; nothing written."""
    code = ("import sys; sys.modules['psycopg'] = None; from cnnlab.cli.main import main; "
            "sys.exit(main(sys.argv[1:]))")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-c", code, "tune", *BASE, "--storage",
                           "postgresql://me:hunter2@localhost/optuna", "--out", str(out)],
                          capture_output=True, text=True, timeout=120, env=ENV)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "pip install 'cnnlab[distributed]'" in lines[0] and "hunter2" not in lines[0]
    assert not out.exists()


def test_unreachable_postgresql_server_is_one_line(tmp_path, capsys):
    """A server that is not there: one error line with the URL as given, password hidden."""
    from cnnlab.cli.main import main

    out = tmp_path / "out"
    url = "postgresql://me:hunter2@127.0.0.1:1/optuna"  # port 1: nothing listens
    assert main(["tune", *BASE[:-1], "--storage", url, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --storage postgresql://me:***@127.0.0.1:1/optuna: "
                                               "cannot open the database"), err
    assert "hunter2" not in err[0] and not out.exists()


def test_grid_sampler_with_two_workers_never_trains_one_point_twice(tmp_path):
    """Optuna's GridSampler hands a worker a point another worker is still running once
    every point has started; cnnlab's trial sees that and stops without training."""
    space = tmp_path / "space.yaml"
    space.write_text("lr: {type: categorical, choices: [0.01, 0.03, 0.1]}\n"
                     "batch_size: {type: categorical, choices: [32, 64]}\noptimizer: sgd\n")
    out = tmp_path / "study"
    args = [*BASE, "--trials", "6", "--sampler", "grid", "--pruner", "none", "--space", str(space),
            "--out", str(out)]
    procs = [_start(*args) for _ in range(2)]
    for p in procs:
        _finish(p)
    trials = _trials(f"sqlite:///{(out / 'study.db').resolve()}")
    trained = [t for t in trials if t.state != optuna.trial.TrialState.PRUNED]
    points = sorted((t.params["lr"], t.params["batch_size"]) for t in trained)
    assert points == sorted((lr, b) for lr in (0.01, 0.03, 0.1) for b in (32, 64))  # each once
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trained)
    for t in trials:  # a trial that found its point taken trained nothing
        if t.state == optuna.trial.TrialState.PRUNED:
            assert not t.intermediate_values and not (out / "logreg-digits" / f"trial-{t.number:04d}").exists()


def test_postgresql_killed_mid_study_ends_the_worker_with_one_line(tmp_path):
    """The server stopped (immediate shutdown) while a worker trains: one error line naming
    the lost connection, status 2; no Optuna traceback, no UnboundLocalError."""
    from pg_fixture import pg_bindir, start_server, stop_server

    server = start_server(pg_bindir())
    try:
        url = server.new_database()
        worker = _start("--data", "digits", "--model", "cnn3", "--epochs", "6", "--limit", "400",
                        "--threads", "1", "--device", "cpu", "--pruner", "none", "--heartbeat", "1",
                        "--trials", "20", "--storage", url, "--study", "gone",
                        "--out", str(tmp_path / "w"))
        deadline = time.time() + 240
        while time.time() < deadline:  # inside a trial, past its first epoch
            try:
                trials = _trials(url, "gone")
            except KeyError:
                trials = []
            if trials and trials[-1].intermediate_values:
                break
            assert worker.poll() is None, worker.communicate()[1]
            time.sleep(0.1)
        else:
            pytest.fail("the worker never reached an epoch")
        subprocess.run(server.command("pg_ctl", "-D", str(server.root / "data"), "-m", "immediate",
                                      "-w", "stop"), capture_output=True, timeout=120)
        _, err = worker.communicate(timeout=180)
    finally:
        if "worker" in locals() and worker.poll() is None:
            worker.kill()
        stop_server(server)
    assert worker.returncode == 2
    assert "Traceback" not in err and "UnboundLocalError" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == [err.strip().splitlines()[-1]], err
    assert errors[0].startswith(f"error: --storage {url}: lost the connection to the database (")
    assert "run the same command to go on once the server is back" in errors[0]


def test_tune_out_refuses_a_folder_a_running_train_holds(tmp_path):
    """train holds its run folder (train/lock.py); tune --out there is refused at once and
    writes no study.db into it."""
    run = tmp_path / "run"
    train = subprocess.Popen([sys.executable, "-m", "cnnlab", "train", "--data", "digits", "--model",
                              "cnn6-bn", "--epochs", "40", "--batch-size", "32", "--device", "cpu",
                              "--threads", "1", "--out", str(run)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        deadline = time.time() + 240
        while time.time() < deadline and not (run / "metrics.csv").exists():
            assert train.poll() is None, train.communicate()[1]
            time.sleep(0.05)
        done = subprocess.run([*CLI, *BASE, "--trials", "1", "--out", str(run)], capture_output=True,
                              text=True, timeout=240, env=ENV)
        assert train.poll() is None, "the run ended before tune was tried"
    finally:
        train.kill()
        train.wait()
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(train.pid) in lines[0], done.stderr
    assert not (run / "study.db").exists() and not (run / "logreg-digits").exists()
