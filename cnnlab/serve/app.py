"""The ASGI app of ``cnnlab serve``: pages, their static files and the JSON API.

Every route that computes runs its work in a worker thread (``run_in_threadpool``), so a
slow request (a torchvision table, a Grad-CAM) never blocks the others. Request bodies
are read up to :data:`MAX_BODY_BYTES` and refused beyond it before any parsing. Errors
in what the client sent are HTTP 400 with ``{"error": message}`` (the CLI's message);
a run outside the runs folder is 403.
"""

from __future__ import annotations

import json
import logging
from importlib import resources
from pathlib import Path
from typing import Any, Awaitable, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from cnnlab.errors import UsageError
from cnnlab.serve import MAX_BODY_BYTES, api, explore, runs

__all__ = ["create_app", "MAX_BODY_BYTES", "PAGES"]

PAGES = ("conv", "solve", "arch", "explore")
log = logging.getLogger("cnnlab.serve")


class BodyTooLarge(Exception):
    pass


class _JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _error(status: int, message: str) -> JSONResponse:
    return _JSON({"error": message}, status_code=status)


async def _read_json(request: Request) -> Any:
    """The JSON body, refused unread when its declared or actual size is over the limit."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise BodyTooLarge()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge()
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        return json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise UsageError(f"the request body is not valid JSON ({type(exc).__name__})") from None


async def _answer(work: Callable[[], Any]) -> Response:
    """Run ``work`` in a thread; its result as JSON, a UsageError as 400, a bug as 500 (logged)."""
    try:
        return _JSON(await run_in_threadpool(work))
    except runs.RunRefused as exc:
        return _error(403, str(exc))
    except UsageError as exc:
        return _error(400, str(exc))
    except RecursionError:
        return _error(400, "the input is nested too deeply")
    except ImportError as exc:  # an optional library this route needs (torch for /explore)
        from cnnlab.extras import refusal

        message = refusal(exc, "this page")
        if message is not None:
            return _error(501, message)
        log.exception("internal error")
        return _error(500, f"internal error ({type(exc).__name__}); please report it")
    except Exception as exc:  # noqa: BLE001 - a bug: keep the server up, log the traceback
        log.exception("internal error")
        return _error(500, f"internal error ({type(exc).__name__}); please report it")


def _json_route(handler: Callable[[Any], Any]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        # a form on another site can post text/plain to localhost without asking; JSON it cannot
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _error(415, "send the request body as JSON (Content-Type: application/json)")
        try:
            body = await _read_json(request)
        except BodyTooLarge:
            return _error(413, f"the request body is over the limit of {MAX_BODY_BYTES} bytes")
        except UsageError as exc:
            return _error(400, str(exc))
        return await _answer(lambda: handler(body))
    return endpoint


def _page(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        text = resources.files("cnnlab.serve").joinpath("static", f"{name}.html").read_text("utf-8")
        return HTMLResponse(text, headers={"Cache-Control": "no-cache"})
    return endpoint


LOCAL_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]


def create_app(runs_dir: str | Path = "runs", allowed_hosts: list[str] | None = None) -> Starlette:
    """The app; ``runs_dir`` is the only folder whose runs /explore may open.

    ``allowed_hosts``: the names the browser may use in the Host header (default: this
    machine's loopback names, which stops DNS-rebinding pages from reading the answers);
    ``["*"]`` accepts any.
    """
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    root = Path(runs_dir)

    def served(body: Any) -> tuple[runs.ServedRun, str]:
        name = body.get("run") if isinstance(body, dict) else None
        return runs.load_run_cached(runs.resolve_run(root, name)), name

    def info(body: Any) -> dict:
        run, name = served(body)
        return explore.run_info(run, name)

    def predict(body: Any) -> dict:
        run, _ = served(body)
        return explore.predict(run, body)

    async def run_list(request: Request) -> Response:
        return await _answer(lambda: {"runs_dir": str(root), "runs": runs.list_runs(root)})

    async def run_info(request: Request) -> Response:
        return await _answer(lambda: info({"run": request.query_params.get("run")}))

    async def topics(request: Request) -> Response:
        return await _answer(api.quiz_topics)

    async def kernels(request: Request) -> Response:
        return await _answer(api.kernel_list)

    async def index(request: Request) -> Response:
        return RedirectResponse("/conv")

    ops = [Route(f"/api/{cmd}", _json_route(lambda body, cmd=cmd: api.run_command(cmd, body)), methods=["POST"])
           for cmd in api.OPS]
    static = str(resources.files("cnnlab.serve").joinpath("static"))
    routes = [
        Route("/", index),
        *[Route(f"/{name}", _page(name)) for name in PAGES],
        *ops,
        Route("/api/solve", _json_route(api.solve), methods=["POST"]),
        Route("/api/quiz", _json_route(api.quiz), methods=["POST"]),
        Route("/api/quiz/topics", topics),
        Route("/api/runs", run_list),
        Route("/api/kernels", kernels),
        Route("/api/explore/info", run_info),
        Route("/api/explore/predict", _json_route(predict), methods=["POST"]),
        Mount("/static", StaticFiles(directory=static), name="static"),
    ]
    hosts = LOCAL_HOSTS if allowed_hosts is None else allowed_hosts
    return Starlette(routes=routes, middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts)])
