"""argparse ``type=`` functions shared by the commands: a bad value becomes argparse's
one-line ``error: ... argument --x: ...`` (exit 2). Light: imported at every start."""

from __future__ import annotations

import argparse
import math

__all__ = ["positive_int", "positive_float", "finite_float", "add_output_format"]


def positive_int(text: str) -> int:
    """A whole number >= 1.

    >>> positive_int("3")
    3
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def finite_float(text: str) -> float:
    """A number that is neither nan nor infinite (those would poison every result)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (a time-out in seconds, a rate).

    >>> positive_float("2.5")
    2.5
    """
    value = finite_float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


# -- output format: `--json` and `--format json` mean the same on every command (docs/json.md)
class _FormatAction(argparse.Action):
    """``--format F``: sets ``args.format`` and keeps ``args.json`` in step with it."""

    def __call__(self, parser, namespace, values, option_string=None):
        namespace.format = values
        namespace.json = values == "json"


class _JsonAction(argparse.Action):
    """``--json``: the same as ``--format json``."""

    def __call__(self, parser, namespace, values, option_string=None):
        namespace.format = "json"
        namespace.json = True


def add_output_format(parser: argparse.ArgumentParser, formats=("text", "json"),
                      default: str | None = "text", help: str | None = None) -> None:
    """Add ``--format {formats}`` and ``--json`` to a command that can print JSON.

    Handlers may read either ``args.format`` or ``args.json`` (a bool): both flags set both.

    >>> p = argparse.ArgumentParser()
    >>> add_output_format(p, ("text", "markdown", "json"))
    >>> a, b = p.parse_args(["--json"]), p.parse_args(["--format", "json"])
    >>> (a.format, a.json) == (b.format, b.json) == ("json", True)
    True
    >>> p.parse_args([]).json
    False
    """
    assert "json" in formats, "a command gets --json only if it prints JSON"
    parser.add_argument("--format", choices=formats, default=default, action=_FormatAction,
                        help=help or f"output format (default {default})")
    parser.add_argument("--json", nargs=0, action=_JsonAction, default=default == "json",
                        help="the same as --format json")
