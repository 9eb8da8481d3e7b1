"""The ASGI app of ``cnnlab serve``: pages, their static files and the JSON API.

Every route that computes runs its work in a worker thread (``run_in_threadpool``), so a
slow request never blocks the others; heavy work (torch: a torchvision table, explore)
goes through the bounded pool of :mod:`cnnlab.serve.admission` (503 with ``Retry-After``
when it is full). Request bodies are read up to :data:`MAX_BODY_BYTES` and refused beyond
it before any parsing. Errors in what the client sent are HTTP 400 with
``{"error": message}`` (the CLI's message); a run outside the runs folder is 403.
"""

from __future__ import annotations

import json
import logging
from importlib import resources
from pathlib import Path
from typing import Any, Awaitable, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from cnnlab.errors import UsageError
from cnnlab.serve import api, conv_extra, docs_pages, explore, network, runs, shell
from cnnlab.serve.admission import AdmissionConfig, Busy, HeavyPool

__all__ = ["create_app", "MAX_BODY_BYTES", "PAGES"]

PAGES = tuple(shell.PAGES)  # ("conv", "solve", "arch", "explore", "network")
MAX_BODY_BYTES = 2_000_000  # a problem file may be 1 MB; JSON escaping can nearly double it
log = logging.getLogger("cnnlab.serve")


class BodyTooLarge(Exception):
    pass


class NotFinite(Exception):
    """An answer holding NaN or an infinity, which JSON cannot carry."""


class _JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        try:
            text = json.dumps(content, ensure_ascii=False, allow_nan=False)
        except ValueError as exc:
            if "not JSON compliant" in str(exc):
                raise NotFinite() from None
            raise
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from the client, echoed in a message
            return json.dumps(content, allow_nan=False).encode("ascii")


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
        body = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise UsageError(f"the request body is not valid JSON ({type(exc).__name__})") from None
    try:  # "\ud800" is valid JSON but no text: a lone UTF-16 surrogate
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError("the request body holds a lone UTF-16 surrogate (a \\uD800-\\uDFFF escape "
                         "without its pair); send text as UTF-8") from None
    except RecursionError:
        raise UsageError("the input is nested too deeply") from None
    return body


async def _answer(work: Callable[[], Any], pool: HeavyPool | None = None, heavy: bool = True) -> Response:
    """Run ``work`` in a thread (in ``pool`` when ``heavy``) and answer its result as JSON; its
    exceptions go to :data:`EXCEPTION_HANDLERS` (the one place that maps them to HTTP)."""
    return _JSON(await (pool.run(work) if pool is not None and heavy else run_in_threadpool(work)))


def _import_error(request: Request, exc: ImportError) -> Response:
    """An optional library this route needs (torch for /explore): 501 with the install hint."""
    from cnnlab.extras import refusal

    message = refusal(exc, "this page")
    return _error(501, message) if message is not None else _bug(request, exc)


def _bug(request: Request, exc: Exception) -> Response:
    """A bug: keep the server up, log the traceback, answer 500 without it."""
    log.error("internal error", exc_info=exc)
    return _error(500, f"internal error ({type(exc).__name__}); please report it")


def _busy(request: Request, exc: Busy) -> Response:
    """The heavy pool is full: come back later (docs/serve.md, "Under load")."""
    return _JSON({"error": str(exc)}, status_code=503, headers={"Retry-After": str(exc.retry_after_s)})


def _out_of_memory(request: Request, exc: MemoryError) -> Response:
    """What the budgets did not foresee: the request may succeed when the server is quieter."""
    log.warning("a request ran out of memory")
    return _JSON({"error": "the server ran out of memory for this request; try a smaller one, or again later"},
                 status_code=503, headers={"Retry-After": str(request.app.state.pool.config.retry_after_s)})


# exception -> HTTP, for every route (Starlette picks the handler of the nearest class)
EXCEPTION_HANDLERS: dict[Any, Callable[[Request, Exception], Response]] = {
    UsageError: lambda request, exc: _error(400, str(exc)),
    Busy: _busy,
    MemoryError: _out_of_memory,
    NotFinite: lambda request, exc: _error(400, "the answer holds numbers that are not finite (NaN or infinity): "
                                               "the input overflows float64"),
    RecursionError: lambda request, exc: _error(400, "the input is nested too deeply"),
    BodyTooLarge: lambda request, exc: _error(413, f"the request body is over the limit of {MAX_BODY_BYTES} bytes"),
    runs.RunRefused: lambda request, exc: _error(403, str(exc)),
    ImportError: _import_error,
    Exception: _bug,
}


def _json_route(handler: Callable[[Any], Any], pool: HeavyPool | None = None,
                heavy: Callable[[Any], bool] = lambda body: True) -> Callable[[Request], Awaitable[Response]]:
    """A POST route: JSON body -> ``handler(body)``, in ``pool`` when ``heavy(body)`` says so."""
    async def endpoint(request: Request) -> Response:
        # a form on another site can post text/plain to localhost without asking; JSON it cannot.
        # Media types are case-insensitive (RFC 9110 §8.3.1): APPLICATION/JSON is JSON.
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            return _error(415, "send the request body as JSON (Content-Type: application/json)")
        try:
            body = await _read_json(request)
        except ClientDisconnect:  # the client went away mid-body: nobody to answer, nothing to log
            return Response(status_code=400)
        return await _answer(lambda: handler(body), pool, heavy(body))
    return endpoint


def _page(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return HTMLResponse(shell.page_html(name), headers={"Cache-Control": "no-cache"})
    return endpoint


LOCAL_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]


def create_app(runs_dir: str | Path = "runs", allowed_hosts: list[str] | None = None,
               admission: AdmissionConfig | None = None) -> Starlette:
    """The app; ``runs_dir`` is the only folder whose runs /explore may open.

    ``allowed_hosts``: the names the browser may use in the Host header (default: this
    machine's loopback names, which stops DNS-rebinding pages from reading the answers);
    ``["*"]`` accepts any. ``admission``: the bounded pool for heavy (torch) work.
    """
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    root = Path(runs_dir)
    pool = HeavyPool(admission)  # every route that runs torch goes through it (issue 23)

    def names_torchvision(body: Any) -> bool:
        return isinstance(body, dict) and bool(body.get("torchvision"))

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
        return await _answer(lambda: info({"run": request.query_params.get("run")}), pool)

    async def topics(request: Request) -> Response:
        return await _answer(api.quiz_topics)

    async def kernels(request: Request) -> Response:
        return await _answer(api.kernel_list)

    async def index(request: Request) -> Response:
        return RedirectResponse("/conv")

    async def docs(request: Request) -> Response:  # the glossary's links (docs/serve.md)
        page = docs_pages.docs_page(request.path_params["name"])
        if page is None:
            return HTMLResponse("no such page in cnnlab's docs", 404)
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    ops = [Route(f"/api/{cmd}", _json_route(lambda body, cmd=cmd: api.run_command(cmd, body), pool,
                                            names_torchvision), methods=["POST"])
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
        Route("/api/explore/predict", _json_route(predict, pool), methods=["POST"]),
        # /network (docs/serve.md): a whole network for one input; one unit worked out (torch: the pool)
        Route("/api/network/view", _json_route(lambda b: network.network_view(served(b)[0], b), pool),
              methods=["POST"]),
        Route("/api/network/unit", _json_route(lambda b: network.network_unit(served(b)[0], b), pool),
              methods=["POST"]),
        Route("/api/conv/unused", _json_route(conv_extra.conv_unused), methods=["POST"]),
        Route("/docs/{name}", docs),
        Mount("/static", StaticFiles(directory=static), name="static"),
    ]
    hosts = LOCAL_HOSTS if allowed_hosts is None else allowed_hosts
    app = Starlette(routes=routes, middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts)],
                    exception_handlers=EXCEPTION_HANDLERS)
    app.state.pool = pool  # the handlers' Retry-After
    return app
