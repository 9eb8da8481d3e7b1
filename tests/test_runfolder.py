"""The run-folder storage keeps the promises of its docstring (cnnlab.storage.RunFolder).

Writes are whole or absent: a write made to fail (disk full, I/O error) at each step —
creating the temporary file, writing it, flushing it, renaming it, and each of the three
renames of a hashed write — leaves the old content readable and verifying, no
``.NAME.tmpPID`` file, and one message naming the path. Reads refuse what is not a
regular file inside the folder before reading it. References: the bytes written, and
sha256sum's format.
"""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess

import pytest

import cnnlab.userfiles as userfiles
from cnnlab.errors import UsageError
from cnnlab.storage import RECORDED_FILES, IntegrityError, RunFolder, default_run_dir
from cnnlab.storage.hashes import sidecar
from storage_helpers import FailingOs


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


POINTS = [("open", 0), ("write", 0), ("fsync", 0), ("replace", 0),  # a plain write
          ("replace", 1), ("replace", 2)]  # the second and third rename of a hashed write


@pytest.mark.parametrize("name,after", POINTS)
def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, name, after):
    run = RunFolder(tmp_path)
    run.write("summary.json", b'{"old": 1}\n')
    monkeypatch.setattr(userfiles, "os", FailingOs(name, after))
    with pytest.raises(UsageError) as info:
        run.write("summary.json", b'{"new": 2}\n' * 1000)
    monkeypatch.undo()
    message = str(info.value)
    assert "summary.json" in message and "No space left on device" in message, message
    assert leftovers(tmp_path) == []
    # the old content, or (after the file's own rename) the new one: either verifies
    assert run.read("summary.json") in (b'{"old": 1}\n', b'{"new": 2}\n' * 1000)


@pytest.mark.parametrize("name", ["write", "fsync", "replace"])
def test_a_failed_plain_write_names_the_destination(tmp_path, monkeypatch, name):
    path = tmp_path / "sheet.tex"
    path.write_text("old")
    monkeypatch.setattr(userfiles, "os", FailingOs(name, code=errno.EIO))
    with pytest.raises(UsageError, match=f"cannot write file {path}: Input/output error"):
        userfiles.write_atomic(path, "new " * 10_000)
    monkeypatch.undo()
    assert path.read_text() == "old" and leftovers(tmp_path) == []


def test_every_write_is_recorded_in_sha256sum_format(tmp_path):
    run = RunFolder(tmp_path)
    for name in RECORDED_FILES:
        data = os.urandom(100) if name.endswith((".pt", ".safetensors")) else f"{name}\n".encode()
        run.write(name, data)
        assert (tmp_path / name).read_bytes() == data
        expected = f"{hashlib.sha256(data).hexdigest()}  {name}\n"
        assert sidecar(tmp_path / name).read_text() == expected
        done = subprocess.run(["sha256sum", "-c", sidecar(tmp_path / name).name], cwd=tmp_path,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    assert run.verify() == []


def test_safetensors_gets_a_sidecar_and_round_trips(tmp_path):
    torch = pytest.importorskip("torch")
    state = {"w": torch.randn(3, 4), "b": torch.arange(3, dtype=torch.float32)}
    run = RunFolder(tmp_path)
    run.save_safetensors("best.safetensors", state)
    assert sidecar(tmp_path / "best.safetensors").exists()
    back = run.load_safetensors("best.safetensors")
    assert set(back) == {"w", "b"} and all(torch.equal(back[k], state[k]) for k in state)
    data = bytearray((tmp_path / "best.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / "best.safetensors").write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="best.safetensors does not match"):
        run.load_safetensors("best.safetensors")


def test_a_checkpoint_round_trips_and_loads_with_plain_torch(tmp_path):
    torch = pytest.importorskip("torch")
    state = {"model": {"w": torch.randn(2, 2)}, "epoch": 3}
    RunFolder(tmp_path).save_checkpoint("last.pt", state)
    plain = torch.load(tmp_path / "last.pt", weights_only=True)
    assert plain["epoch"] == 3 and torch.equal(plain["model"]["w"], state["model"]["w"])
    assert torch.equal(RunFolder(tmp_path).load_checkpoint("last.pt")["model"]["w"], state["model"]["w"])


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "link-out", "huge-sidecar"])
def test_reads_refuse_what_is_not_a_regular_file_inside(tmp_path, kind):
    run = RunFolder(tmp_path / "run")
    run.write("summary.json", "{}\n")
    target = tmp_path / "run" / "summary.json"
    if kind == "fifo":
        target.unlink()
        os.mkfifo(target)
    elif kind == "device":
        target.unlink()
        target.symlink_to("/dev/zero")
    elif kind == "folder":
        target.unlink()
        target.mkdir()
    elif kind == "link-out":
        outside = tmp_path / "outside.json"
        outside.write_text("{}\n")
        target.unlink()
        target.symlink_to(outside)
    else:
        sidecar(target).unlink()
        os.mkfifo(sidecar(target))
    with pytest.raises(UsageError) as info:
        run.read_json("summary.json")  # returns at once: no hang, no endless read
    assert "summary.json" in str(info.value)


def test_one_writer_and_the_lock_is_gone_after(tmp_path):
    run = RunFolder(tmp_path / "run")
    with run.lock():
        with pytest.raises(UsageError, match=f"in use by process {os.getpid()}"):
            with RunFolder(tmp_path / "run").lock():
                pass
    assert not (tmp_path / "run" / ".cnnlab.lock").exists()


def test_default_run_dir_is_one_rule_for_train_and_compare(tmp_path):
    when = 86400.0 * 365
    assert default_run_dir("small-cnn", "digits", when, tmp_path).name == "small-cnn-digits-19710101-000000"
    assert default_run_dir("compare", "digits", when, tmp_path).name == "compare-digits-19710101-000000"
    (tmp_path / "compare-digits-19710101-000000").mkdir()
    assert default_run_dir("compare", "digits", when, tmp_path).name == "compare-digits-19710101-000000-2"


def test_a_full_disk_in_a_real_small_file_system(tmp_path):
    """A 64 KiB tmpfs: writes fail for real at whatever point the space runs out."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        run = RunFolder(mount / "run")
        failures = 0
        for i in range(12):  # each write a little larger, until the disk is full
            data = bytes([i]) * (8192 * (i + 1))
            try:
                run.write("last.pt", data)
            except UsageError as exc:
                failures += 1
                assert "last.pt" in str(exc) and "No space left on device" in str(exc)
            assert leftovers(mount / "run") == []
            assert run.read("last.pt")[:1] in (bytes([j]) for j in range(i + 1))
        assert failures > 0
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_two_interrupted_writes_in_a_row_still_verify(tmp_path, monkeypatch):
    """Found by the tmpfs test: a write stopped after its first step, then another, used
    to keep the hash of content that never reached the file."""
    run = RunFolder(tmp_path)
    run.write("last.pt", b"epoch 1")
    for attempt in (b"epoch 2", b"epoch 3"):
        monkeypatch.setattr(userfiles, "os", FailingOs("replace", after=1))  # step 2 fails
        with pytest.raises(UsageError):
            run.write("last.pt", attempt)
        monkeypatch.undo()
        assert run.read("last.pt") == b"epoch 1"
    run.write("last.pt", b"epoch 4")
    assert run.read("last.pt") == b"epoch 4"
    assert sidecar(tmp_path / "last.pt").read_text().count("\n") == 1


@pytest.mark.parametrize("kind", ["link", "fifo", "folder"])
def test_a_planted_lock_file_is_refused_not_written_through(tmp_path, kind):
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me\n")
    run = tmp_path / "run"
    run.mkdir()
    lock = run / ".cnnlab.lock"
    if kind == "link":
        lock.symlink_to(victim)
    elif kind == "fifo":
        os.mkfifo(lock)
    else:
        lock.mkdir()
    with pytest.raises(UsageError, match="cannot lock run folder"):
        with RunFolder(run).lock():
            pass
    assert victim.read_text() == "keep me\n"
