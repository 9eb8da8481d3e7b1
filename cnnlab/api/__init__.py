"""The Python API: one function per command, each returning a result with every face.

``cnnlab.conv(...)``, ``cnnlab.solve(...)`` ... are these functions (``import cnnlab``
loads them on first use, so it stays light). Parameters are the command's long flags in
snake_case with the CLI's defaults, limits and messages; bad input raises
:class:`cnnlab.UsageError`. See docs/python.md.
"""

from __future__ import annotations

from cnnlab.api.ops import act, conv, pool
from cnnlab.api.result import RenderedResult, Result

__all__ = ["conv", "pool", "act", "Result", "RenderedResult"]
