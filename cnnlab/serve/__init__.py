"""``cnnlab serve``: the interactive pages and the JSON API (docs/serve.md).

Needs the ``serve`` extra (Starlette, uvicorn). The pages are plain HTML, CSS and
JavaScript in ``cnnlab/serve/static``, served by the app itself. torch is imported only
when a run is explored.
"""

from cnnlab.serve.app import MAX_BODY_BYTES, create_app

__all__ = ["create_app", "MAX_BODY_BYTES"]
