"""A run's pictures are drawn by a worker process started with the training
(cnnlab.train.pictures), or on a thread: either way every picture equals what
cnnlab.train.plots draws directly, all are written before join() returns, a failure is
raised in the caller, and no process outlives the run."""

from __future__ import annotations

import os

import numpy as np
import pytest

from cnnlab.train import plots
from cnnlab.train.pictures import Pictures

WAYS = [pytest.param(True, id="process"), pytest.param(False, id="thread")]
HISTORY = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "train_accuracy": 1 - 0.1 / e,
            "val_accuracy": 1 - 0.12 / e} for e in (1, 2, 3)]


def _children() -> set[int]:
    """Process ids of this process's children (Linux /proc)."""
    found = set()
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        try:
            with open(f"/proc/{os.getpid()}/task/{task}/children") as handle:
                found |= {int(pid) for pid in handle.read().split()}
        except FileNotFoundError:  # a thread that ended since the listing has no children
            continue
    return found


@pytest.mark.parametrize("process", WAYS)
def test_pictures_are_the_ones_plots_draws_directly(process, tmp_path):
    confusion = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    plots.plot_learning_curves(HISTORY, tmp_path / "direct_curves.png", 2)
    plots.plot_confusion(confusion, ["a", "b", "c"], tmp_path / "direct_confusion.png")
    with Pictures(process=process) as pictures:
        assert (pictures._process is not None) == process
        pictures.draw("learning_curves", HISTORY, tmp_path / "curves.png", 2)
        pictures.draw("confusion", confusion, ["a", "b", "c"], tmp_path / "confusion.png")
    for name in ("curves", "confusion"):  # Agg draws the same pixels in any process
        assert (tmp_path / f"{name}.png").read_bytes() == (tmp_path / f"direct_{name}.png").read_bytes()
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs Linux /proc")
def test_the_worker_is_gone_after_join(tmp_path):
    before = _children()
    pictures = Pictures(process=True)
    worker = pictures._process.pid
    assert worker in _children()
    pictures.draw("learning_curves", HISTORY, tmp_path / "curves.png", 1)
    pictures.join()
    assert (tmp_path / "curves.png").stat().st_size > 0
    assert _children() == before  # reaped: nothing left running or as a zombie


@pytest.mark.parametrize("process", WAYS)
def test_a_failed_picture_is_raised_by_join(process, tmp_path):
    (tmp_path / "missing").write_text("a file where the folder should be")
    pictures = Pictures(process=process)
    pictures.draw("confusion", np.eye(2, dtype=int), ["a", "b"], tmp_path / "missing" / "x.png")
    pictures.draw("learning_curves", HISTORY, tmp_path / "curves.png", 1)
    with pytest.raises(FileExistsError, match="missing"):
        pictures.join()


def test_a_worker_that_dies_without_a_report_is_an_error():
    pictures = Pictures(process=True)
    pictures._process.kill()
    pictures._process.wait()
    pictures.draw("learning_curves", HISTORY, "never.png", 1)  # the pipe is closed: no error here
    with pytest.raises(RuntimeError, match="ended with status -9"):
        pictures.join()


@pytest.mark.parametrize("process", WAYS)
def test_leaving_on_an_error_waits_for_the_pictures_and_keeps_that_error(process, tmp_path):
    with pytest.raises(KeyError, match="scoring failed"):
        with Pictures(process=process) as pictures:
            pictures.draw("learning_curves", HISTORY, tmp_path / "curves.png", 1)
            raise KeyError("scoring failed")
    assert (tmp_path / "curves.png").exists() and pictures._process is None and not pictures._threads


def test_join_returns_while_a_forked_child_holds_the_workers_pipe(tmp_path):
    """DataLoader workers are forked children of the run: they inherit a copy of the picture
    worker's stdin, so closing it is no end-of-jobs signal; join() must not wait for them."""
    import multiprocessing
    import threading
    import time

    pictures = Pictures(process=True)
    child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(60,))
    child.start()  # holds every descriptor of this process, the worker's stdin among them
    try:
        pictures.draw("confusion", np.eye(2, dtype=int), ["no", "yes"], tmp_path / "c.png")
        joined = threading.Thread(target=pictures.join)
        joined.start()
        joined.join(timeout=30)
        assert not joined.is_alive(), "join() waited for the forked child to close the pipe"
        assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    finally:
        child.terminate()
        child.join()
