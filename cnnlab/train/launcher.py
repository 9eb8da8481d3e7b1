"""The processes of a data-parallel run: ``cnnlab train --nproc N`` starts them, and they
die together (docs/distributed.md, "When a process dies").

- :func:`launch` starts N ranks of the same command with the variables torchrun sets and
  supervises them: when one fails it waits up to ``CAUSE_GRACE`` seconds to learn which
  rank died first, stops the rest and prints one ``error:`` line (status 2).
- A rank that loses its peers ends at once (:func:`peer_lost`): silently under the
  launcher (status ``PEER_LOST``), with one line of its own under torchrun.
- A rank dies with its launcher (:func:`die_with_parent`: ``prctl(PR_SET_PDEATHSIG)`` on
  Linux, and a watch on the parent under any launcher).
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from cnnlab.errors import UsageError

__all__ = ["launch", "die_with_parent", "is_peer_lost", "peer_lost", "PEER_LOST", "LAUNCHER_ENV",
           "MAX_NPROC"]

MAX_NPROC = 64  # processes on one machine; more is a typo
# Exit status of a rank of `cnnlab train --nproc` that lost its peers: it prints nothing,
# the launcher names the rank that died (docs/distributed.md, "When a process dies").
PEER_LOST = 75
# Set by the launcher in its ranks' environment: its pid (a rank that outlives it exits).
LAUNCHER_ENV = "CNNLAB_LAUNCHER_PID"

PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_POLL = 1.0  # seconds between a rank's looks at its parent (under torchrun)
# What a collective raises when a peer is gone (gloo: "Connection closed by peer", a reset
# or broken pipe; nccl: its watchdog's errors are DistBackendError).
_PEER_SIGNS = ("Connection closed by peer", "Connection reset by peer", "Broken pipe",
               "gloo/transport", "Connection refused", "NCCL")


def die_with_parent() -> None:
    """End this rank when the process that started it ends.

    Under ``cnnlab train --nproc`` (the launcher's pid in CNNLAB_LAUNCHER_PID) the kernel
    sends SIGKILL when the launcher dies (``prctl(PR_SET_PDEATHSIG)``, Linux). Under another
    launcher (torchrun, whose agent may start ranks from a thread, where the kernel's
    notion of "parent" is the thread) a daemon thread checks the parent every
    ``PARENT_POLL`` seconds instead and ends the process when it is gone.
    """
    parent = os.getppid()
    launcher = os.environ.get(LAUNCHER_ENV)
    if launcher and sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the poll below still ends the rank
            pass
        parent = int(launcher) if launcher.isdigit() else parent
    if os.getppid() != parent:  # the launcher died before the signal was armed
        os._exit(PEER_LOST)
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL)
        os._exit(PEER_LOST)

    threading.Thread(target=watch, name="cnnlab-parent-watch", daemon=True).start()


def is_peer_lost(exc: BaseException) -> bool:
    """Whether ``exc`` is a collective failing because another rank is gone."""
    import torch.distributed as tdist

    dist_error = getattr(tdist, "DistError", None)
    if dist_error is not None and isinstance(exc, dist_error):
        return True
    return isinstance(exc, RuntimeError) and any(sign in str(exc) for sign in _PEER_SIGNS)


def peer_lost(dist: Any, out: str, exc: BaseException) -> None:  # dist: train.distributed.Dist
    """End this rank after its peers were lost, without the interpreter's teardown (which
    aborts with a raw "terminate called ..." line while the process group is alive).

    Under ``--nproc`` it says nothing (status PEER_LOST): the launcher names the rank that
    died. Under torchrun it prints one ``error:`` line and exits with status 2.
    """
    if not os.environ.get(LAUNCHER_ENV):
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        detail = detail.split("] ", 1)[-1] if detail.startswith("[") else detail  # gloo's source path
        detail = detail.split(". ")[0]
        print(f"error: rank {dist.rank} of {dist.world} lost contact with the other ranks "
              f"({detail}): another rank died or the network failed. {out} keeps its last "
              f"finished epoch: run the same command to resume", file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(PEER_LOST if os.environ.get(LAUNCHER_ENV) else 2)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def launch(config_yaml: str, nproc: int, out: str, extra_args: Sequence[str] = ()) -> int:
    """Run ``cnnlab train --config FILE`` in ``nproc`` processes on this machine; their status.

    Every process gets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and
    MASTER_PORT, as torchrun would set them. When one dies, the others are stopped (as
    torchrun does) and the message says how to resume.
    """
    if not 1 <= nproc <= MAX_NPROC:
        raise UsageError(f"--nproc must be in 1..{MAX_NPROC}, got {nproc}")
    with tempfile.TemporaryDirectory(prefix="cnnlab-nproc-") as tmp:
        path = Path(tmp) / "config.yaml"
        path.write_text(config_yaml, encoding="utf-8")
        port = _free_port()
        procs = []
        for rank in range(nproc):
            env = {**os.environ, "RANK": str(rank), "WORLD_SIZE": str(nproc),
                   "LOCAL_RANK": str(rank), "LOCAL_WORLD_SIZE": str(nproc),
                   "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
                   LAUNCHER_ENV: str(os.getpid())}
            cmd = [sys.executable, "-m", "cnnlab", "train", "--config", str(path), *extra_args]
            procs.append(subprocess.Popen(cmd, env=env))
        return _supervise(procs, out)


# How long the launcher waits, after a rank failed, for the rank that caused it to be known
# (the first to end may be a rank that only lost its peer).
CAUSE_GRACE = 3.0


def _supervise(procs: list[subprocess.Popen], out: str) -> int:
    try:
        while True:
            codes = [p.poll() for p in procs]
            if any(c not in (None, 0) for c in codes):
                return _fail(procs, out)
            if all(c == 0 for c in codes):
                return 0
            time.sleep(0.1)
    except KeyboardInterrupt:
        _stop(procs, signal.SIGINT)
        print(f"error: interrupted; run the same command with --out {out} to resume from the "
              f"last finished epoch", file=sys.stderr)
        return 130


def _cause(procs: list[subprocess.Popen]) -> tuple[int, int] | None:
    """(rank, status) of the first rank that ended other than well or by losing its peers."""
    for rank, p in enumerate(procs):
        code = p.poll()
        if code not in (None, 0, PEER_LOST):
            return rank, code
    return None


def _fail(procs: list[subprocess.Popen], out: str) -> int:
    """A rank ended badly: name the one that caused it (once), stop the rest; status 2
    (or the failing rank's own status 1 after a traceback it printed)."""
    deadline = time.time() + CAUSE_GRACE
    while _cause(procs) is None and time.time() < deadline:
        time.sleep(0.05)
    cause = _cause(procs)
    _stop(procs)
    if cause is not None and cause[1] == 2:  # a usage error, already printed by rank 0
        return 2
    if cause is None:
        rank = next(r for r, p in enumerate(procs) if p.poll() == PEER_LOST)
        what = "lost contact with the other ranks"
    else:
        rank, code = cause
        what = _describe(code)
    print(f"error: rank {rank} of {len(procs)} {what}; the others were stopped. {out} keeps "
          f"its last finished epoch: run the same command to resume", file=sys.stderr)
    return 1 if cause is not None and cause[1] == 1 else 2


def _stop(procs: list[subprocess.Popen], sig: int = signal.SIGTERM) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(sig)
    deadline = time.time() + 10
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
