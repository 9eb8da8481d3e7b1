"""argparse ``type=`` functions shared by the commands: a bad value becomes argparse's
one-line ``error: ... argument --x: ...`` (exit 2). Light: imported at every start."""

from __future__ import annotations

import argparse
import math
import re

from cnnlab.doc import RESULT_FORMATS
from cnnlab.settings import LIMITS

__all__ = ["DOC_FORMATS", "positive_int", "cap_or_all", "positive_float", "finite_float", "add_output_format",
           "bounded_int", "bounded_float", "seed", "threads", "cpu_count", "check_model_option", "LIMITS",
           "allow_negative_values"]

DOC_FORMATS = RESULT_FORMATS  # a worked result: the doc writers' text formats, or JSON


def positive_int(text: str) -> int:
    """A whole number >= 1.

    >>> positive_int("3")
    3
    """
    try:
        value = int(text) if len(str(text).strip()) <= 40 else None
    except ValueError:
        value = None
    if value is None:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {str(text)[:40]!r}")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def cap_or_all(text: str) -> int | None:
    """A cap on examples: a whole number >= 1, or 0 / all / none for no cap (None).

    >>> cap_or_all("500"), cap_or_all("all")
    (500, None)
    """
    if text.strip().lower() in ("0", "all", "none"):
        return None
    return positive_int(text)


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


# -- bounded types: every size, count, step and seed flag has a documented upper bound
# (docs/limits.md), checked when the flag is read, before anything is allocated or looped.

# LIMITS: the upper bounds of the flags by name (cnnlab.settings owns them; docs/limits.md)


def bounded_int(low: int, high: int | str):
    """An argparse type: a whole number from ``low`` to ``high`` (a number, or a key of LIMITS).

    >>> bounded_int(0, "round")("4")
    4
    >>> bounded_int(1, 10)("11")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a whole number from 1 to 10, got 11
    """
    top = LIMITS[high] if isinstance(high, str) else high

    def parse(text: str) -> int:
        token = str(text).strip()
        if len(token) > 40:  # also keeps Python's own limit on digits away
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {top}, got {token[:20]}...")
        try:
            value = int(token)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {low} (at most {top}), got {value}")
        if value > top:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {top}, got {value}")
        return value

    parse.__name__ = "int"  # argparse names the type in its messages
    return parse


seed = bounded_int(0, "seed")
seed.__doc__ = "A random seed: 0 to 2^32 - 1 (numpy's range)."


def bounded_float(low: float, high: float | None, low_open: bool = False, high_open: bool = False):
    """An argparse type: a finite number in [low, high] (``low_open`` / ``high_open``: the
    bound excluded; ``high`` None: no upper bound).

    >>> bounded_float(0, 1, low_open=True)("0.5")
    0.5
    """
    def parse(text: str) -> float:
        value = finite_float(text)
        if value < low or (low_open and value == low) or (high is not None and (
                value > high or (high_open and value == high))):
            bracket = "(" if low_open else "["
            top = "inf)" if high is None else f"{high:g}{')' if high_open else ']'}"
            raise argparse.ArgumentTypeError(f"expected a number in {bracket}{low:g}, {top}, got {text}")
        return value

    parse.__name__ = "float"
    return parse


def cpu_count() -> int:
    """The cores this process may use (its affinity mask where the OS has one)."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def threads(text: str) -> int:
    """A thread count from 1 to the cores this process may use (more only slows it down)."""
    value = positive_int(text)
    cores = cpu_count()
    if value > cores:
        raise argparse.ArgumentTypeError(f"expected at most {cores} threads (the cores this machine "
                                         f"lets cnnlab use), got {value}")
    return value


def check_model_option(key: str, value) -> None:
    """Refuse a ``--model-opt KEY=VALUE`` value a model would choke on, before it is built.

    Every number must be finite; a whole number (a width: ``hidden=[512, 256]``,
    ``channels=64``) at most LIMITS["units"]; a dropout probability in [0, 1).

    >>> check_model_option("hidden", [512, 256])
    >>> check_model_option("dropout", 2)
    Traceback (most recent call last):
    ...
    cnnlab.errors.UsageError: --model-opt dropout=2: a dropout probability must be in [0, 1)
    """
    from cnnlab.errors import UsageError

    top = LIMITS["units"]
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, bool) or not isinstance(item, (int, float)):
            continue
        elif isinstance(item, float) and not math.isfinite(item):
            raise UsageError(f"--model-opt {key}={item}: not a finite number")
        elif isinstance(item, int) and abs(item) > top:
            raise UsageError(f"--model-opt {key}: {item} is over the limit of {top} (units of one layer)")
        elif "dropout" in key.lower() and not 0 <= item < 1:
            raise UsageError(f"--model-opt {key}={item}: a dropout probability must be in [0, 1)")


# values such as "-1,2" (a bias per channel), "-4,5" (a shift) or "-1,0,1" (a one-row kernel)
# are arguments, not options: argparse alone only takes "-1" and "-.5" as negative numbers
NEGATIVE_VALUE = re.compile(r"^-\.?\d[\d.,;/eE+\-]*$")


def allow_negative_values(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Let ``parser`` read ``--shift -4,5`` and ``--bias -1,2`` (no option of it looks like -1).

    >>> p = allow_negative_values(argparse.ArgumentParser())
    >>> _ = p.add_argument("--shift")
    >>> p.parse_args(["--shift", "-4,5"]).shift
    '-4,5'
    """
    parser._negative_number_matcher = NEGATIVE_VALUE
    return parser


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
