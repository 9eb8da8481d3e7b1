"""User-facing errors and the size limits of the arithmetic commands (docs/conventions.md).

A :class:`UsageError` is a mistake in what the user gave: the CLI prints it as one
``error:`` line and exits with status 2. Anything else is a bug; the CLI's one guard
(:mod:`cnnlab.cli.guard`) still ends it in one ``error:`` line. Every limit is listed in
docs/limits.md.
"""

from __future__ import annotations

import math
import re
from typing import Iterable

__all__ = ["MAX_SEED", "MAX_EPOCHS", "MAX_BATCH_SIZE", "UsageError", "MAX_SIDE", "MAX_ELEMENTS", "MAX_DIGITS",
           "MAX_EXPONENT", "check_shape", "check_numeral", "check_finite", "check_seed"]

MAX_SEED = 2**32 - 1  # numpy's generators take seeds below 2^32 (every --seed, quiz seeds)
# every --epochs and --batch-size (train, compare, tune; docs/limits.md): beyond them a run
# only loops or allocates without end
MAX_EPOCHS = 10_000
MAX_BATCH_SIZE = 65_536
MAX_SIDE = 4096  # largest spatial side of any tensor in the arithmetic commands
MAX_ELEMENTS = 2**26  # largest element count of any tensor in the arithmetic commands
MAX_DIGITS = 400  # digits in one written number (a float holds 17; exact mode keeps them all)
MAX_EXPONENT = 400  # |e| in 1e-5: 1e400 is no float, and 1e-99999999 would be a 10^8-digit fraction

_DIGITS = re.compile(r"\d")
_EXPONENT = re.compile(r"[eE]([+-]?\d+)")


class UsageError(ValueError):
    """A mistake in the user's input; rendered as ``error: <message>``, exit status 2.

    A ValueError, so code that catches bad values catches it; its message is the CLI's
    without ``error: `` (the CLI adds that prefix, the web app answers it as HTTP 400)."""


def check_seed(seed: object, name: str = "seed") -> int:
    """``seed`` when it is a whole number from 0 to MAX_SEED, else a UsageError naming ``name``.

    The range every ``--seed`` flag checks, for a seed from a config file or the Python API.

    >>> check_seed(7)
    7
    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    cnnlab.errors.UsageError: seed must be a whole number from 0 to 4294967295, got -1
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise UsageError(f"{name} must be a whole number from 0 to {MAX_SEED}, got {seed!r}")
    return seed


def check_shape(shape: Iterable[int], what: str = "tensor") -> None:
    """Refuse a shape over the limits of docs/conventions.md, before anything of that size exists.

    ``shape`` is channel-first: the last two axes are spatial (H, W).

    >>> check_shape((3, 4096, 4096))
    >>> check_shape((5000, 2))
    Traceback (most recent call last):
    ...
    cnnlab.errors.UsageError: tensor of shape 5000x2 is over the limit of 4096 per spatial axis
    """
    shape = tuple(int(s) for s in shape)
    text = "x".join(str(s) for s in shape)
    if any(s <= 0 for s in shape):
        raise UsageError(f"{what} of shape {text} is empty")
    for s in shape[-2:]:
        if s > MAX_SIDE:
            raise UsageError(f"{what} of shape {text} is over the limit of {MAX_SIDE} per spatial axis")
    if math.prod(shape) > MAX_ELEMENTS:
        raise UsageError(f"{what} of shape {text} is over the limit of 2^26 = {MAX_ELEMENTS} elements")


def check_numeral(text: str, what: str = "value") -> None:
    """Refuse a written number that cannot be read safely, before anything converts it.

    Every place that reads a number from text (literals, files, YAML ``given``/``answer``)
    passes it here: at most :data:`MAX_DIGITS` digits (Python refuses integers of over
    4300 digits with its own ValueError, and exact fractions of thousands of digits make
    every step slow), exponents within ±:data:`MAX_EXPONENT`, and a value a float can hold.

    >>> check_numeral("-2.5e-3")
    >>> check_numeral("9" * 401)
    Traceback (most recent call last):
    ...
    cnnlab.errors.UsageError: value: a number of 401 digits is over the limit of 400 digits
    """
    token = str(text).strip()
    if token.lower().lstrip("+-") in (".inf", ".nan", "inf", "nan", "infinity"):
        raise UsageError(f"{what}: {token} is not a finite number")
    for part in token.split("/"):
        match = _EXPONENT.search(part)
        digits = len(_DIGITS.findall(part[:match.start()] if match else part))
        if digits > MAX_DIGITS:
            raise UsageError(f"{what}: a number of {digits} digits is over the limit of {MAX_DIGITS} digits")
        if match and (len(match.group(1)) > 6 or abs(int(match.group(1))) > MAX_EXPONENT):
            raise UsageError(f"{what}: {_short(token)} is out of range (exponents beyond ±{MAX_EXPONENT} "
                             "are refused)")
        try:
            value = float(part.replace("_", ""))
        except ValueError:
            continue  # not a plain number (".inf" in YAML, a name): the reader decides
        if not math.isfinite(value):
            raise UsageError(f"{what}: {_short(token)} is out of range, not a finite number "
                             "(values over about 1.8e308 are refused)")


def check_finite(value: float, what: str = "value") -> float:
    """``value`` as a float, refused when it is nan or infinite.

    >>> check_finite(2)
    2.0
    """
    number = float(value)
    if not math.isfinite(number):
        raise UsageError(f"{what}: {value!r} is not a finite number")
    return number


def _short(token: str) -> str:
    return repr(token if len(token) <= 40 else token[:20] + "..." + token[-10:])
