"""A throwaway PostgreSQL server for the tests of shared studies (no mocks).

``pg_server`` (one per test session, i.e. per xdist worker) runs Debian's ``initdb`` and
``pg_ctl`` on a random free localhost port in a temporary folder, as the ``postgres``
user when the tests run as root (PostgreSQL refuses to run as root), and removes it
all afterwards. ``pg_url`` gives each test a new, empty database on it.

Import the fixtures into a test module: ``from pg_fixture import pg_server, pg_url``.
Missing server binaries fail the test with what to install: Debian's ``postgresql``
package (``.ci/run`` installs it), or ``CNNLAB_PG_BIN=/path/to/bin``.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["pg_server", "pg_url", "PgServer", "pg_bindir", "start_server", "stop_server"]

NEEDED = ("initdb", "pg_ctl", "createdb")


def pg_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl: $CNNLAB_PG_BIN, pg_config --bindir, Debian's."""
    candidates = [os.environ.get("CNNLAB_PG_BIN", "")]
    if shutil.which("pg_config"):
        done = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        candidates.append(done.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)  # newest first
    candidates += [str(Path(p).parent) for p in filter(None, [shutil.which("initdb")])]
    for folder in filter(None, candidates):
        if all((Path(folder) / name).is_file() for name in NEEDED):
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    """A running throwaway cluster: its port, superuser and a way to make databases."""

    bindir: Path
    root: Path  # temporary folder: data/, the socket, log
    port: int
    user: str
    as_postgres: bool  # commands run through runuser -u postgres

    def command(self, name: str, *args: str) -> list[str]:
        cmd = [str(self.bindir / name), *args]
        return ["runuser", "-u", "postgres", "--", *cmd] if self.as_postgres else cmd

    def run(self, name: str, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(self.command(name, *args), capture_output=True, text=True,
                              timeout=120, cwd=self.root)
        if done.returncode != 0:
            log = (self.root / "server.log")
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{name} {' '.join(args)} failed ({done.returncode}):\n"
                               f"{done.stdout}{done.stderr}\n{tail}")
        return done

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A new empty database; returns its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name)
        return self.url(name)


def start_server(bindir: Path) -> PgServer:
    """initdb + pg_ctl start on a free localhost port in a new temporary folder."""
    as_postgres = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="cnnlab-pg-"))
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
        user = "postgres"
    else:
        import getpass

        user = getpass.getuser()
    server = PgServer(bindir, root, 0, user, as_postgres)
    server.run("initdb", "-D", str(root / "data"), "-U", user, "--auth=trust", "-E", "UTF8",
               "--no-sync")
    for _attempt in range(5):  # another process may take the free port before the server does
        server.port = _free_port()
        options = (f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        try:
            server.run("pg_ctl", "-D", str(root / "data"), "-o", options,
                       "-l", str(root / "server.log"), "-w", "-t", "60", "start")
            return server
        except RuntimeError:
            time.sleep(0.5)
    stop_server(server)
    raise RuntimeError(f"the throwaway PostgreSQL server did not start; see {root}/server.log")


def stop_server(server: PgServer) -> None:
    """Stop the cluster and remove its folder."""
    subprocess.run(server.command("pg_ctl", "-D", str(server.root / "data"), "-m", "immediate",
                                  "-w", "stop"), capture_output=True, timeout=120, cwd=server.root)
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL cluster for this test session, removed afterwards."""
    bindir = pg_bindir()
    if bindir is None:
        pytest.fail("PostgreSQL server binaries (initdb, pg_ctl, createdb) not found: install "
                    "Debian's postgresql package (apt-get install postgresql; .ci/run does) or "
                    "set CNNLAB_PG_BIN to the folder holding them", pytrace=False)
    try:
        import psycopg  # noqa: F401  (psycopg 3, the driver of postgresql:// URLs)
    except ImportError:
        pytest.fail("psycopg 3 is missing: pip install 'cnnlab[distributed]'", pytrace=False)
    server = start_server(bindir)
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture
def pg_url(pg_server) -> str:
    """The URL of a new, empty database on the session's server."""
    return pg_server.new_database()
