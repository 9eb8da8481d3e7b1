"""Reading tensors from the command line: literals and .json/.csv/.txt/.npy files.

Literals are parsed by a small tokenizer (never ``eval``):

- nested brackets as JSON, with commas or spaces between numbers: ``[[1,2],[3,4]]``;
- rows separated by ``;`` (or new lines), numbers by spaces or commas: ``1 2; 3 4``;
  channels of a C×H×W tensor separated by ``|``: ``1 2; 3 4 | 5 6; 7 8``.

Numbers may be fractions (``1/2``), which stay exact in exact mode.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from fractions import Fraction
from typing import Any

import numpy as np

from cnnlab.errors import MAX_ELEMENTS, MAX_SIDE, UsageError, check_numeral, check_shape

__all__ = ["read_tensor", "parse_literal", "parse_number", "parse_int_pair", "parse_padding",
           "FILE_SUFFIXES"]

FILE_SUFFIXES = (".json", ".csv", ".txt", ".npy")

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?:/(?:\d+\.?\d*|\.\d+))?")
_TOKEN = re.compile(r"\s*(?:(\[)|(\])|(,)|(" + _NUMBER.pattern + r"))")


def parse_number(text: str, what: str = "value") -> Fraction:
    """One number, as the exact Fraction it reads as (``0.1`` → 1/10, ``1/2`` → 1/2).

    >>> parse_number("-1/2"), parse_number("2.5e-1")
    (Fraction(-1, 2), Fraction(1, 4))
    """
    token = text.strip()
    if not _NUMBER.fullmatch(token):
        raise UsageError(f"{what}: {text.strip()!r} is not a number")
    check_numeral(token, what)  # digits, exponent and range, before converting
    num, _, den = token.partition("/")
    value = Fraction(num)
    if den:
        d = Fraction(den)
        if d == 0:
            raise UsageError(f"{what}: division by zero in {token!r}")
        value /= d
    return value


def _parse_brackets(text: str, what: str) -> Any:
    """Nested brackets: ``[[1, 2], [3, 4]]`` (commas optional between numbers)."""
    stack: list[list] = []
    result: Any = None
    pos = 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise UsageError(f"{what}: cannot read {text[pos:pos + 12]!r} (position {pos + 1}); "
                             "write numbers like 1, -2.5 or 1/2 inside [ ]")
        pos = m.end()
        if result is not None:
            raise UsageError(f"{what}: unexpected text after the closing bracket")
        if m.group(1):
            stack.append([])
        elif m.group(2):
            if not stack:
                raise UsageError(f"{what}: unbalanced ']'")
            done = stack.pop()
            if stack:
                stack[-1].append(done)
            else:
                result = done
        elif m.group(3):
            if not stack:
                raise UsageError(f"{what}: ',' outside brackets")
        else:
            if not stack:
                raise UsageError(f"{what}: numbers must be inside brackets")
            stack[-1].append(parse_number(m.group(4), what))
    if stack or result is None:
        raise UsageError(f"{what}: unbalanced '[' (missing ']')")
    return result


def _parse_rows(text: str, what: str) -> Any:
    """``1 2; 3 4`` rows (``;`` or new lines), ``|`` or blank lines between channels."""
    channels = [c for c in re.split(r"\||\n\s*\n", text) if c.strip()]
    out = []
    for channel in channels:
        rows = [r for r in re.split(r"[;\n]", channel) if r.strip()]
        out.append([[parse_number(t, what) for t in re.split(r"[\s,]+", r.strip()) if t] for r in rows])
    if not out:
        raise UsageError(f"{what} is empty")
    for n, matrix in enumerate(out[1:], start=2):
        if len(matrix) != len(out[0]):
            raise UsageError(f"{what}: a blank line or '|' starts a new channel, and channel {n} has "
                             f"{len(matrix)} row(s) where channel 1 has {len(out[0])}")
    if len(out) == 1:
        matrix = out[0]
        return matrix[0] if len(matrix) == 1 and ";" not in text and "\n" not in text.strip() else matrix
    return out


def parse_literal(text: str, what: str = "input", max_elements: int = MAX_ELEMENTS) -> Any:
    """A literal as nested lists of Fractions (no validation of shape yet).

    >>> parse_literal("1 2; 3 4")
    [[Fraction(1, 1), Fraction(2, 1)], [Fraction(3, 1), Fraction(4, 1)]]
    >>> parse_literal("[[1, 1/2]]")
    [[Fraction(1, 1), Fraction(1, 2)]]
    """
    text = text.strip()
    if not text:
        raise UsageError(f"{what} is empty")
    _check_count(text, what, max_elements)
    check_depth(text, what)
    if text.startswith("["):
        return _parse_brackets(text, what)
    if "[" in text or "]" in text:
        raise UsageError(f"{what}: a literal either starts with '[' or is rows like '1 2; 3 4'")
    return _parse_rows(text, what)


def _limit_text(limit: int) -> str:
    return f"2^26 = {MAX_ELEMENTS} elements" if limit == MAX_ELEMENTS else f"{limit:,} numbers"


def _check_count(text: str, what: str, limit: int = MAX_ELEMENTS) -> None:
    """Refuse more numbers than one tensor may hold (docs/conventions.md) before converting any."""
    count = sum(1 for _ in _NUMBER.finditer(text))
    if count > limit:
        raise UsageError(f"{what} has {count} numbers, over the limit of {_limit_text(limit)}")


MAX_DEPTH = 32  # nested brackets in a literal or JSON file; a tensor needs at most 4


def check_depth(text: str, what: str, limit: int = MAX_DEPTH) -> None:
    """Refuse brackets nested deeper than ``limit`` before any (recursive) parser sees them.

    >>> check_depth("[[1], [2]]", "input")
    >>> check_depth("[" * 40 + "]" * 40, "input")
    Traceback (most recent call last):
    ...
    cnnlab.errors.UsageError: input: lists nested 40 deep, over the limit of 32
    """
    depth = deepest = 0
    for char in re.findall(r"[\[\]{}]", text):
        depth += 1 if char in "[{" else -1
        deepest = max(deepest, depth)
    if deepest > limit:
        raise UsageError(f"{what}: lists nested {deepest} deep, over the limit of {limit}")


def _load_json(text: str, what: str) -> Any:
    """``json.loads`` with every number checked as written (check_numeral) before conversion."""
    def number(kind):
        def convert(token: str):
            check_numeral(token, what)
            return kind(token)
        return convert

    def constant(token: str):
        raise UsageError(f"{what}: {token} is not a finite number")

    return json.loads(text, parse_float=number(float), parse_int=number(int), parse_constant=constant)


def _json_numbers(value: Any, what: str) -> Any:
    if isinstance(value, list):
        return [_json_numbers(v, what) for v in value]
    if isinstance(value, bool) or value is None:
        raise UsageError(f"{what}: {json.dumps(value)} is not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise UsageError(f"{what}: {value!r} is not a finite number")
    if isinstance(value, int) and abs(value) > sys.float_info.max:
        raise UsageError(f"{what}: an integer of {len(str(abs(value)))} digits is out of range "
                         "(values over about 1.8e308 are refused)")
    if isinstance(value, (int, float)):
        return Fraction(repr(value)) if isinstance(value, float) else Fraction(value)
    if isinstance(value, str):
        return parse_number(value, what)
    raise UsageError(f"{what}: expected a list of numbers, got {type(value).__name__}")


def _read_npy(path: str, what: str, max_elements: int = MAX_ELEMENTS) -> np.ndarray:
    with open(path, "rb") as fh:
        try:
            version = np.lib.format.read_magic(fh)
            reader = {(1, 0): np.lib.format.read_array_header_1_0,
                      (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if reader is None:
                raise ValueError(f"unsupported .npy version {version}")
            shape, _, dtype = reader(fh)  # the header only: the data is not read yet
        except ValueError as exc:  # malformed header: a user's file, not a bug
            raise UsageError(f"{what}: {path!r} is not a valid .npy file ({exc})") from None
    if dtype.hasobject:
        raise UsageError(f"{what}: {path!r} holds Python objects; save plain numbers")
    if math.prod(shape) > max_elements:  # from the header, before reading the data
        raise UsageError(f"{what}: {path!r} holds a {'x'.join(map(str, shape))} array, over the limit of "
                         f"{_limit_text(max_elements)}")
    if shape:
        check_shape(shape, what)
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise UsageError(f"{what}: cannot read {path!r}: {exc}") from None
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
            or arr.dtype == bool):
        raise UsageError(f"{what}: {path!r} holds {arr.dtype} values, not numbers")
    return arr.astype(np.float64)


def _read_file(path: str, what: str, max_elements: int = MAX_ELEMENTS) -> Any:
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".npy":
        return _read_npy(path, what, max_elements)
    try:
        with open(path, encoding="utf-8-sig") as fh:  # a spreadsheet's CSV starts with a BOM
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {what} file {path!r}: {exc}") from None
    if suffix == ".json":
        _check_count(text, what, max_elements)
        check_depth(text, what)
        try:
            return _json_numbers(_load_json(text, f"{what} ({path})"), f"{what} ({path})")
        except ValueError as exc:  # JSONDecodeError, or an integer of over 4300 digits
            raise UsageError(f"{what}: {path!r} is not valid JSON ({exc})") from None
    body = "\n".join(ln if ln.strip() else "" for ln in text.splitlines()
                     if not ln.lstrip().startswith("#"))
    return parse_literal(body, f"{what} ({path})", max_elements)


def read_tensor(text: str, what: str = "input", exact: bool = False, max_elements: int = MAX_ELEMENTS) -> np.ndarray:
    """A tensor from a literal or a .json/.csv/.txt/.npy file, validated by ``as_tensor``.

    Args:
        text: the command-line argument.
        what: its name in error messages ("input", "kernel").
        exact: return an object array of Fractions (else float64).
        max_elements: the most numbers it may hold, checked before any is converted (from
            a .npy file's header; by counting the numbers of a text).

    >>> read_tensor("1 2; 3 4").tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    >>> read_tensor("[1/2, 1/4]", exact=True).tolist()
    [Fraction(1, 2), Fraction(1, 4)]
    """
    from cnnlab.ops.tensor import as_tensor, to_exact

    text = text.strip()
    if not text:
        raise UsageError(f"{what} is empty")
    is_path = os.path.exists(text) or text.lower().endswith(FILE_SUFFIXES)
    if is_path:
        if not os.path.exists(text):
            raise UsageError(f"cannot read {what} file {text!r}: no such file")
        if not os.path.isfile(text):
            raise UsageError(f"cannot read {what} file {text!r}: not a regular file")
        value = _read_file(text, what, max_elements)
    else:
        value = parse_literal(text, what, max_elements)
    if isinstance(value, np.ndarray):
        return as_tensor(to_exact(value) if exact else value, what, exact=exact)
    if not exact:
        value = _floats(value)
    return as_tensor(value, what, exact=exact)


def _floats(value: Any) -> Any:
    if isinstance(value, list):
        return [_floats(v) for v in value]
    return float(value) if isinstance(value, Fraction) else value


MAX_WINDOW_PARAM = 256  # stride, dilation and pool size in the arithmetic commands (padding: MAX_SIDE)


def parse_int_pair(text: str, what: str, minimum: int = 1,
                   maximum: int = MAX_WINDOW_PARAM) -> int | tuple[int, int]:
    """``"2"`` → 2, ``"2,1"`` → (2, 1); each from ``minimum`` to ``maximum``."""
    parts = [p for p in re.split(r"[,x×\s]+", str(text).strip()) if p]
    if not 1 <= len(parts) <= 2 or any(len(p) > 12 for p in parts):
        raise UsageError(f"{what} must be an integer or 'a,b', got {text!r}")
    values = []
    for p in parts:
        try:
            v = int(p)
        except ValueError:
            raise UsageError(f"{what} must be an integer or 'a,b', got {text!r}") from None
        if v < minimum:
            raise UsageError(f"{what} must be >= {minimum}, got {text!r}")
        if v > maximum:
            raise UsageError(f"{what} {v} is over the limit of {maximum}")
        values.append(v)
    return values[0] if len(values) == 1 else (values[0], values[1])


def parse_padding(text: str, named: bool = True) -> Any:
    """``"1"``, ``"1,2"``, ``"t,b,l,r"``, or ``same``/``valid``/``full`` (when ``named``)."""
    t = str(text).strip().lower()
    if t in ("same", "valid", "full"):
        if not named:
            raise UsageError(f"padding {text!r} is not available here: give an int or 'a,b'")
        return t
    parts = [p for p in re.split(r"[,\s]+", t) if p]
    if len(parts) == 4 and named:
        out = []
        for p in parts:
            if not p.isdigit() or len(p) > 12:
                raise UsageError(f"padding must be non-negative integers, got {text!r}")
            if int(p) > MAX_SIDE:
                raise UsageError(f"padding {p} is over the limit of {MAX_SIDE}")
            out.append(int(p))
        return tuple(out)
    try:
        return parse_int_pair(t, "padding", minimum=0, maximum=MAX_SIDE)
    except UsageError as exc:
        if "over the limit" in str(exc):
            raise
        raise UsageError("padding must be an int, 'a,b'"
                         + (", 'top,bottom,left,right', same, valid or full" if named else "")
                         + f"; got {text!r}") from None
