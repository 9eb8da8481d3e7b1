"""A run's pictures are drawn beside its final scoring (cnnlab.train.pictures): in a forked
child on Linux, on a thread elsewhere; both ways every picture is written before join()
returns, a failure is raised in the caller, and no child process outlives the run."""

from __future__ import annotations

import os

import numpy as np
import pytest

from cnnlab.train import plots
from cnnlab.train.pictures import Pictures, can_fork

WAYS = [pytest.param(False, id="thread"),
        pytest.param(True, id="fork", marks=pytest.mark.skipif(not can_fork(), reason="no fork here"))]


def _children() -> set[int]:
    """Process ids of this process's children (Linux /proc)."""
    found = set()
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        with open(f"/proc/{os.getpid()}/task/{task}/children") as handle:
            found |= {int(pid) for pid in handle.read().split()}
    return found


def _record_pid(path):
    path.write_text(str(os.getpid()))


def _fail(message):
    raise ValueError(message)


@pytest.mark.parametrize("fork", WAYS)
def test_pictures_are_the_ones_plots_draws_directly(fork, tmp_path):
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "train_accuracy": 1 - 0.1 / e,
                "val_accuracy": 1 - 0.12 / e} for e in (1, 2, 3)]
    confusion = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    plots.plot_learning_curves(history, tmp_path / "direct_curves.png", 2)
    plots.plot_confusion(confusion, ["a", "b", "c"], tmp_path / "direct_confusion.png")
    with Pictures(fork=fork) as pictures:
        pictures.draw(plots.plot_learning_curves, history, tmp_path / "curves.png", 2)
        pictures.draw(plots.plot_confusion, confusion, ["a", "b", "c"], tmp_path / "confusion.png")
    for name in ("curves", "confusion"):  # Agg draws the same pixels in any process
        assert (tmp_path / f"{name}.png").read_bytes() == (tmp_path / f"direct_{name}.png").read_bytes()
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.skipif(not can_fork(), reason="no fork here")
def test_forked_pictures_are_drawn_by_children_that_are_gone_after_join(tmp_path):
    before = _children()
    pictures = Pictures(fork=True)
    pictures.draw(_record_pid, tmp_path / "a")
    pictures.draw(_record_pid, tmp_path / "b")
    pictures.join()
    pids = {int((tmp_path / n).read_text()) for n in "ab"}
    assert os.getpid() not in pids and len(pids) == 2  # two other processes drew them
    assert _children() == before  # both reaped: nothing left running or as a zombie


@pytest.mark.parametrize("fork", WAYS)
def test_a_failed_picture_is_raised_by_join_after_the_others_finish(fork, tmp_path):
    pictures = Pictures(fork=fork)
    pictures.draw(_fail, "no room for the axes")
    pictures.draw(_record_pid, tmp_path / "drawn")
    with pytest.raises(ValueError, match="no room for the axes"):
        pictures.join()
    assert (tmp_path / "drawn").exists()


@pytest.mark.skipif(not can_fork(), reason="no fork here")
def test_a_child_that_dies_without_a_report_is_an_error(tmp_path):
    pictures = Pictures(fork=True)
    pictures.draw(os._exit, 3)
    with pytest.raises(RuntimeError, match="status 3"):
        pictures.join()


@pytest.mark.parametrize("fork", WAYS)
def test_leaving_on_an_error_waits_for_the_pictures_and_keeps_that_error(fork, tmp_path):
    with pytest.raises(KeyError):
        with Pictures(fork=fork) as pictures:
            pictures.draw(_fail, "second failure, not the one raised")
            pictures.draw(_record_pid, tmp_path / "drawn")
            raise KeyError("scoring failed")
    assert (tmp_path / "drawn").exists() and not pictures._children and not pictures._threads
