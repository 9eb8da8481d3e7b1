"""The one guard at the CLI boundary: whatever a command raises ends as one ``error:`` line.

Commands validate what they read before using it (:mod:`cnnlab.errors` holds the limits,
:mod:`cnnlab.cli.argtypes` the bounded flag types, docs/limits.md lists them all). What
still slips through — a library refusing a value with its own exception, a
``MemoryError``, a ``RecursionError`` from input nested deeper than a parser recurses —
is turned here into one ``error:`` line (exit status 2) instead of a traceback.

Library warnings (numpy's ``RuntimeWarning``, torch's ``UserWarning``, ...) are not
shown unless asked for: with ``python -W ...``, ``PYTHONWARNINGS`` or ``CNNLAB_DEBUG=1``.
``CNNLAB_DEBUG=1`` also lets unexpected exceptions keep their traceback.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from typing import Iterator

__all__ = ["debug", "library_warnings_hidden", "describe_unexpected"]


def debug() -> bool:
    """True when ``CNNLAB_DEBUG`` is set (to anything but ``""`` or ``0``)."""
    return os.environ.get("CNNLAB_DEBUG", "") not in ("", "0")


@contextlib.contextmanager
def library_warnings_hidden() -> Iterator[None]:
    """Hide warnings while a command runs, unless the user asked to see them."""
    if sys.warnoptions or os.environ.get("PYTHONWARNINGS") or debug():
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def describe_unexpected(exc: BaseException) -> str:
    """One line for an exception that no validation caught (without the ``error:`` prefix).

    >>> describe_unexpected(RecursionError("maximum recursion depth exceeded"))
    'the input is nested too deeply to read (see docs/limits.md)'
    """
    if isinstance(exc, RecursionError):
        return "the input is nested too deeply to read (see docs/limits.md)"
    if isinstance(exc, MemoryError):
        return ("not enough memory for the sizes given; use smaller sizes "
                "(the limits are listed in docs/limits.md)")
    if isinstance(exc, UnicodeDecodeError):
        return f"a file given is not UTF-8 text ({exc.reason} at byte {exc.start})"
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or _first_line(exc)}{where}"
    if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
        return ("a number has more digits than can be read (Python reads at most "
                f"{sys.get_int_max_str_digits()} digits; see docs/limits.md)")
    if isinstance(exc, ArithmeticError):
        return f"arithmetic error: {_first_line(exc)}"
    return (f"{_first_line(exc)} ({type(exc).__name__}, not caught by cnnlab's checks; "
            "CNNLAB_DEBUG=1 shows the traceback)")
