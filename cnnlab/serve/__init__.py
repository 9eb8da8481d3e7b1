"""``cnnlab serve``: the interactive pages and the JSON API (docs/serve.md).

Needs the ``serve`` extra (Starlette, uvicorn), imported only when the app is built. The
routes call the Python API (:mod:`cnnlab.api`) directly; :mod:`cnnlab.serve.api` turns a
request body into that call.
The pages are plain HTML, CSS and JavaScript in ``cnnlab/serve/static``, served by the
app itself. torch is imported only when a run is explored.
"""

from __future__ import annotations

__all__ = ["create_app"]


def create_app(runs_dir="runs", allowed_hosts=None, admission=None):
    """The ASGI app (see :func:`cnnlab.serve.app.create_app`)."""
    from cnnlab.serve.app import create_app as _create_app

    return _create_app(runs_dir, allowed_hosts, admission)
