"""``cnnlab serve``: the interactive page on a local web server (docs/serve.md)."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading

from cnnlab.cli.commands import add_command
from cnnlab.errors import UsageError

__all__ = ["register", "run_serve", "check_runs_folder"]

EXAMPLES = """\
examples:
  cnnlab serve                       then open http://127.0.0.1:8000/
  cnnlab serve --port 8080 --runs my_runs --open
  cnnlab serve --port 0              (any free port; the line it prints names it)

pages: /conv (watch a convolution, pooling or activation), /solve (problem files and
quizzes), /arch (layer table), /explore?run=NAME (a trained run under --runs).
JSON API: POST /api/conv, /api/pool, /api/act, /api/solve, /api/arch (see docs/serve.md).
"""


def register(subparsers) -> None:
    p = add_command(subparsers, "serve", EXAMPLES)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--runs", default="runs", metavar="DIR",
                   help="folder of training runs that /explore may open (default runs/)")
    p.add_argument("--open", action="store_true", help="open the page in the default browser")
    p.set_defaults(func=run_serve)


def check_runs_folder(path: str) -> str:
    """``--runs``: a folder, or a path where none is yet (runs/ before the first train)."""
    import os

    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"--runs {path}: it is a file, not a folder of training runs")
    return path


def _socket(host: str, port: int):
    import socket

    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be from 0 to 65535, got {port}")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise UsageError(f"--host {host}: cannot resolve it ({exc})") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def run_serve(args) -> int:
    """Bind, print ``serving on URL`` once connections are accepted, serve until a signal."""
    import uvicorn  # missing: cnnlab.cli.main names the extra that installs it

    from cnnlab.serve import create_app
    check_runs_folder(args.runs)
    sock = _socket(args.host, args.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):
            # uvicorn re-raises the signal after its graceful shutdown; a stopped server is a
            # normal end here (exit status 0), so the handlers are only restored
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

        async def startup(self, sockets=None):
            await super().startup(sockets=sockets)
            if not self.should_exit:
                print(f"serving on {url}", flush=True)
                if args.open:
                    import webbrowser

                    webbrowser.open(url)

    import ipaddress

    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    # on this machine only, the page must be asked for by a loopback name (no DNS rebinding);
    # served to a network, any name the clients use
    # (a loopback address other than 127.0.0.1 accepts its own name as well: the URL printed)
    from cnnlab.serve.app import LOCAL_HOSTS

    hosts = (LOCAL_HOSTS + [shown] if shown not in LOCAL_HOSTS else None) if loopback else ["*"]
    from cnnlab.serve.connections import DeadlineProtocol

    config = uvicorn.Config(create_app(args.runs, hosts), log_level="warning", lifespan="off",
                            access_log=False, timeout_graceful_shutdown=5, http=DeadlineProtocol)
    try:
        Server(config).run(sockets=[sock])
    finally:
        sock.close()
    print("stopped", file=sys.stderr)
    return 0
