"""One writer per run folder: real processes at once, a SIGKILLed holder, tune and explain."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cnnlab.cli.main import main
from cnnlab.errors import UsageError
from cnnlab.storage.lock import LOCK_NAME, folder_lock

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

# a real `fit` in its own process, slowed after each epoch so the test can act meanwhile
SLOW_TRAINER = textwrap.dedent("""
    import sys, time
    from cnnlab.train import TrainConfig, fit
    out = sys.argv[1]
    config = TrainConfig(data="digits", model="logreg", epochs=3, lr=0.02, out=out)
    fit(config, on_epoch=lambda row: time.sleep(60 if row["epoch"] == 1 else 0))
""")


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "cnnlab.cli.main", *args], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=300)


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


# a process that holds a folder's lock (no torch: it starts in a blink) until it is killed
HOLDER = textwrap.dedent("""
    import sys, time
    from cnnlab.storage.lock import folder_lock
    with folder_lock(sys.argv[1]):
        print("held", flush=True)
        time.sleep(600)
""")


@contextlib.contextmanager
def _killed_after(proc: subprocess.Popen):
    """Run the block while ``proc`` holds the lock, then SIGKILL it (killed in any case)."""
    try:
        yield
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.fixture(scope="module")
def one_epoch_run(tmp_path_factory):
    from cnnlab.train import TrainConfig, fit

    out = tmp_path_factory.mktemp("lock") / "run"
    return fit(TrainConfig(data="digits", model="logreg", epochs=1, lr=0.02, out=str(out))).run_dir


def test_held_by_another_process_then_killed(one_epoch_run, capsys):
    """The CLI is refused while a real process holds the lock; after SIGKILL, resume works."""
    from cnnlab.train import TrainConfig, fit

    run = one_epoch_run
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(run)], env=ENV,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with _killed_after(holder):
        assert holder.stdout.readline() == "held\n", holder.stderr.read()
        status = main(["train", "--data", "digits", "--model", "mlp", "--epochs", "1",
                       "--out", str(run)])
        assert status == 2
        assert capsys.readouterr().err == (f"error: {run} is in use by process {holder.pid}; "
                                           f"wait for it to finish, or use another --out\n")
    assert (run / LOCK_NAME).read_text().split() == [str(holder.pid)]  # a stale lock file
    result = fit(TrainConfig(data="digits", model="logreg", epochs=2, lr=0.02, out=str(run)))
    assert result.summary["epochs"] == 2


@pytest.mark.slow
def test_second_writer_refused_and_killed_holder_does_not_block_resume(tmp_path):
    run = tmp_path / "run"
    first = subprocess.Popen([sys.executable, "-c", SLOW_TRAINER, str(run)], cwd=tmp_path,
                             env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with _killed_after(first):
        _wait_for(run / "last.pt.sha256", first)  # epoch 1 saved; now sleeping, lock held
        other = _cli("train", "--data", "digits", "--model", "mlp", "--epochs", "1",
                     "--out", str(run), cwd=tmp_path)
        assert other.returncode == 2 and other.stdout == ""
        assert other.stderr == (f"error: {run} is in use by process {first.pid}; wait for it to "
                                f"finish, or use another --out\n")
    assert (run / LOCK_NAME).read_text().split() == [str(first.pid)]  # a stale lock file
    resumed = _cli("train", "--data", "digits", "--model", "logreg", "--epochs", "3", "--lr",
                   "0.02", "--out", str(run), "--json", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert '"epochs": 3' in resumed.stdout.splitlines()[-1]


@pytest.mark.slow
def test_two_trainers_started_together_one_refused(tmp_path):
    run = tmp_path / "run"
    common = ["train", "--data", "digits", "--epochs", "1", "--out", str(run), "--json"]
    procs = [subprocess.Popen([sys.executable, "-m", "cnnlab.cli.main", *common, "--model", m],
                              cwd=tmp_path, env=ENV, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for m in ("logreg", "mlp")]
    done = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in procs]
    codes = sorted(d[0] for d in done)
    assert codes == [0, 2], done
    loser = next(d for d in done if d[0] == 2)
    # refused by the lock while the other runs, or (if it came second) by the finished run
    assert "is in use by process" in loser[2] or "already holds a different run" in loser[2]
    assert loser[2].count("\n") == 1


def test_lock_in_process(tmp_path):
    with folder_lock(tmp_path / "a"):
        with pytest.raises(UsageError, match=f"is in use by process {os.getpid()}"):
            with folder_lock(tmp_path / "a"):
                pass
    with folder_lock(tmp_path / "a"):  # released at the end of the block
        pass
    with folder_lock(tmp_path / "s", shared=True), folder_lock(tmp_path / "s", shared=True):
        with pytest.raises(UsageError, match="in use"):
            with folder_lock(tmp_path / "s"):
                pass


def test_refused_lock_leaves_no_folder_it_created(tmp_path):
    with pytest.raises(RuntimeError):
        with folder_lock(tmp_path / "x" / "y"):
            raise RuntimeError("refused")
    assert not (tmp_path / "x").exists()


def test_tune_and_explain_out_are_locked(tmp_path, capsys):
    busy = tmp_path / "busy"
    with folder_lock(busy):
        status = main(["tune", "--data", "digits", "--model", "logreg", "--trials", "1",
                       "--epochs", "1", "--out", str(busy)])
        err = capsys.readouterr().err
        assert status == 2 and err == (f"error: {busy} is in use by process {os.getpid()}; wait "
                                       f"for it to finish, or use another --out\n")
        status = main(["explain", str(busy), "--out", str(busy)])
        assert status == 2  # (no run there: refused before the lock is asked for)
        capsys.readouterr()


def test_explain_out_lock(one_epoch_run, tmp_path, capsys):
    run = one_epoch_run
    out = tmp_path / "pictures"
    with folder_lock(out):
        assert main(["explain", str(run), "--what", "coef", "--out", str(out)]) == 2
        assert f"error: {out} is in use by process {os.getpid()}" in capsys.readouterr().err
    assert main(["explain", str(run), "--what", "coef", "--out", str(out), "--json"]) == 0
    assert (out / "explain.html").is_file()
