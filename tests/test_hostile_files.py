"""Files that are not what they seem, and writes that fail (issue 23, items 2 and 6).

Each class draws new cases (hypothesis, derandomised with a fixed budget so runs repeat):

1. a run file or its sidecar replaced by a named pipe, ``/dev/zero``, a folder, a link
   out of the run folder, or a link to a file outside (``best.pt`` linked out of
   ``--runs``), read by ``evaluate``, ``explain``, a resumed ``train`` or the server's
   loader: refused at once with one ``error:`` line naming the file (an alarm fails the
   test instead of letting it hang);
2. ``examples copy`` into a folder holding dangling links, linked sub-folders and links
   to files outside, with and without ``--force``: nothing outside DIR changes;
3. ``solve``/``quiz``/``kernel apply --out`` and a run's writes failing (disk full, I/O
   error) at each step of the atomic write: the old file stays whole, no temporary file
   is left, the message names the destination.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import cnnlab.userfiles as userfiles
from cnnlab.cli.main import main
from cnnlab.storage import RECORDED_FILES, RunFolder
from cnnlab.storage.hashes import sidecar
from storage_helpers import FailingOs, copy_run

FUZZ = settings(max_examples=25, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def refused(capsys, argv, *, contains: str | None = None) -> str:
    """Run ``cnnlab ARGV`` (at most 20 s); assert exit 2 and exactly one ``error:`` line."""
    capsys.readouterr()
    with alarm(20):
        status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("note:")]
    assert status == 2, (argv, status, err[-500:])
    assert len(lines) == 1 and lines[0].startswith("error: "), (argv, err[-800:])
    assert "Traceback" not in err
    if contains:
        assert contains in lines[0], (argv, lines[0])
    return lines[0]


@contextmanager
def alarm(seconds: int):
    def hung(*_):
        raise AssertionError(f"still running after {seconds} s (a read that blocks?)")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 (or link target) of everything under ``folder``."""
    seen = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            seen[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            seen[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            seen[rel] = "folder"
    return seen


# ------------------------------------------------------------------ class 1: run files

@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    from cnnlab.data import load_dataset
    from cnnlab.train import TrainConfig, fit

    out = tmp_path_factory.mktemp("hostile") / "runs" / "run"
    fit(TrainConfig(data="digits", model="logreg", epochs=1, lr=0.02, batch_size=64,
                    optimizer="adam", out=str(out)), load_dataset("digits"))
    return out


KINDS = ("fifo", "dev-zero", "folder", "link-outside", "link-dangling")
FILES = ("config.yaml", "model.json", "best.pt", "summary.json", "last.pt")


def _spoil(path: Path, kind: str, outside: Path) -> None:
    original = path.read_bytes() if path.is_file() else b""
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "folder":
        path.mkdir()
    elif kind == "link-outside":  # the same bytes, but in a file outside the run folder
        target = outside / f"copy-of-{path.name}"
        target.write_bytes(original)
        path.symlink_to(target)
    else:
        path.symlink_to(outside / "no-such-file")


READS = {"evaluate": ("config.yaml", "model.json", "best.pt"),
         "explain": ("config.yaml", "model.json", "best.pt", "summary.json"),
         "resume": ("config.yaml", "last.pt"),
         "serve": ("config.yaml", "model.json", "best.pt")}
COMMANDS = tuple(READS)


@FUZZ
@given(name=st.sampled_from(FILES), kind=st.sampled_from(KINDS), of_sidecar=st.booleans(),
       command=st.sampled_from(COMMANDS))
def test_run_files_that_are_not_regular_files_are_refused(pristine, tmp_path_factory, capsys,
                                                          name, kind, of_sidecar, command):
    from cnnlab.errors import UsageError

    base = tmp_path_factory.mktemp("case")
    run = copy_run(pristine, base / "runs" / "run")
    reads = READS[command]  # a file the command reads (one it only writes is replaced whole)
    name = reads[FILES.index(name) % len(reads)]
    target = sidecar(run / name) if of_sidecar else run / name
    _spoil(target, kind, base)
    if command == "evaluate":
        refused(capsys, ["evaluate", run, "--json"], contains=name)
    elif command == "explain":
        refused(capsys, ["explain", run, "--what", "filters", "--out", base / "pictures"], contains=name)
    elif command == "resume":
        refused(capsys, ["train", "--data", "digits", "--model", "logreg", "--epochs", "2", "--lr", "0.02",
                         "--batch-size", "64", "--optimizer", "adam", "--out", run], contains=name)
    else:
        from cnnlab.serve.runs import load_run_cached, resolve_run

        # model.json marks a run folder: without a regular one there, there is no run
        marker = name == "model.json" and not of_sidecar
        expected = "no such run" if marker else name.replace(".", r"\.")
        with alarm(20), pytest.raises(UsageError, match=expected):
            load_run_cached(resolve_run(base / "runs", "run"))


def test_best_pt_linked_out_of_the_runs_folder_is_not_served(pristine, tmp_path):
    """The issue's case: a link to a real, valid best.pt outside ``--runs``."""
    from cnnlab.errors import UsageError
    from cnnlab.serve.runs import load_run_cached, resolve_run

    run = copy_run(pristine, tmp_path / "runs" / "run")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.move(run / "best.pt", outside / "best.pt")
    (run / "best.pt").symlink_to(outside / "best.pt")
    with pytest.raises(UsageError, match="leads outside"):
        load_run_cached(resolve_run(tmp_path / "runs", "run"))


# ------------------------------------------------------------------ class 2: examples copy

@FUZZ
@given(layout=st.lists(st.sampled_from(["dangling-file", "linked-problems", "file-link-out",
                                        "dangling-problems"]), min_size=1, max_size=3, unique=True),
       force=st.booleans())
def test_examples_copy_never_writes_outside_dir(tmp_path_factory, capsys, layout, force):
    base = tmp_path_factory.mktemp("copy")
    target, outside = base / "dir", base / "outside"
    target.mkdir()
    outside.mkdir()
    (outside / "precious.yaml").write_text("keep me\n")
    problems = target / "problems"
    for what in layout:
        taken = problems.exists() or problems.is_symlink()
        if what == "dangling-file":
            (target / "tour.ipynb").symlink_to(outside / "made-by-cnnlab.ipynb")
        elif what == "file-link-out" and not problems.is_symlink():
            problems.mkdir(exist_ok=True)
            (problems / "sheet1.yaml").symlink_to(outside / "precious.yaml")
        elif what == "linked-problems" and not taken:
            problems.symlink_to(outside)
        elif what == "dangling-problems" and not taken:
            problems.symlink_to(outside / "gone")
    before = snapshot(outside)
    capsys.readouterr()
    status = main(["examples", "copy", str(target), *(["--force"] if force else [])])
    err = capsys.readouterr().err
    assert snapshot(outside) == before, layout  # nothing outside DIR written
    linked_folder = (target / "problems").is_symlink()
    if linked_folder or not force:
        assert status == 2 and err.startswith("error: "), (layout, force, err)
    else:  # --force: the links are replaced by the files, inside DIR
        assert status == 0, err
        assert not (target / "tour.ipynb").is_symlink() and (target / "tour.ipynb").is_file()
    assert not list(target.rglob(".*.tmp*"))


@pytest.mark.parametrize("empty", ["", " "])
def test_examples_copy_refuses_an_empty_dir(capsys, tmp_path, monkeypatch, empty):
    monkeypatch.chdir(tmp_path)
    refused(capsys, ["examples", "copy", empty], contains="DIR is empty")
    assert list(tmp_path.iterdir()) == []


def test_examples_copy_names_the_destination_when_the_write_fails(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(userfiles, "os", FailingOs("write"))
    line = refused(capsys, ["examples", "copy", tmp_path / "dest"])
    assert str(tmp_path / "dest") in line and "No space left on device" in line
    assert not list((tmp_path / "dest").rglob(".*.tmp*"))


# ------------------------------------------------------------------ class 3: failing writes

OUT_COMMANDS = {
    "solve": lambda out: ["solve", "sheet1", "--out", out],
    "quiz": lambda out: ["quiz", "--topics", "conv", "--count", "2", "--seed", "3", "--out", out],
    "kernel": lambda out: ["kernel", "apply", "camera", "--kernel", "sobel_x", "--out", out],
}


@FUZZ
@given(command=st.sampled_from(sorted(OUT_COMMANDS)), point=st.sampled_from(["open", "write", "fsync", "replace"]),
       code=st.sampled_from([errno.ENOSPC, errno.EIO, errno.EDQUOT]), existed=st.booleans())
def test_out_files_are_whole_or_untouched(tmp_path_factory, capsys, monkeypatch, command, point, code, existed):
    if command == "kernel" and point == "fsync":
        point = "write"  # pictures are not flushed (save_figure: a picture is redrawn at will)
    folder = tmp_path_factory.mktemp("out")
    out = folder / ("result.png" if command == "kernel" else "result.md")
    if existed:
        out.write_bytes(b"the earlier result")
    with monkeypatch.context() as patch:
        patch.setattr(userfiles, "os", FailingOs(point, code=code))
        line = refused(capsys, OUT_COMMANDS[command](out))
    assert str(out) in line and os.strerror(code) in line
    assert [p.name for p in folder.iterdir()] == (["result.png" if command == "kernel" else "result.md"]
                                                   if existed else [])
    if existed:
        assert out.read_bytes() == b"the earlier result"


@FUZZ
@given(file=st.sampled_from(sorted(set(RECORDED_FILES) - {"best.safetensors"})),
       point=st.sampled_from(["write", "fsync", "replace"]), after=st.integers(0, 2))
def test_a_run_write_that_fails_leaves_a_run_that_verifies(pristine, tmp_path_factory, monkeypatch,
                                                           file, point, after):
    from cnnlab.errors import UsageError

    run = copy_run(pristine, tmp_path_factory.mktemp("w") / "run")
    old = (run / file).read_bytes()
    with monkeypatch.context() as patch:
        patch.setattr(userfiles, "os", FailingOs(point, after=after))
        try:
            RunFolder(run).write(file, old + b"\n# more")
        except UsageError as exc:
            assert file in str(exc)
    assert not [p.name for p in run.iterdir() if ".tmp" in p.name]
    assert RunFolder(run).read(file) in (old, old + b"\n# more")
    assert RunFolder(run).verify() == []


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_tuning_space_file_that_is_not_a_file_is_refused(capsys, tmp_path, kind):
    space = tmp_path / "space.yaml"
    if kind == "fifo":
        os.mkfifo(space)
    else:
        space.symlink_to("/dev/zero")
    refused(capsys, ["tune", "--data", "digits", "--model", "logreg", "--space", space, "--trials", "1",
                     "--out", tmp_path / "study"], contains="space file")


def test_the_explore_page_never_waits_on_a_summary_that_is_a_pipe(pristine, tmp_path):
    from cnnlab.serve.explore import _test_accuracy

    run = copy_run(pristine, tmp_path / "run")
    assert _test_accuracy(run) == RunFolder(run).read_json("summary.json")["test_accuracy"]
    (run / "summary.json").unlink()
    os.mkfifo(run / "summary.json")
    with alarm(20):
        assert _test_accuracy(run) is None
