"""Read a problem file: safe YAML with limits, then check its structure (docs/problems.md).

The YAML is composed into nodes first and inspected before any Python object is built:
only the standard tags are allowed (no tag can construct an object), aliases may not
expand the document beyond :data:`MAX_NODES` nodes (the "billion laughs" file) and may
not be recursive, and a mapping may not repeat a key. The file itself may be at most
:data:`MAX_FILE_BYTES` long, checked before it is read.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from cnnlab.errors import UsageError, check_numeral
from cnnlab.userfiles import check_regular_file

__all__ = ["MAX_FILE_BYTES", "MAX_NODES", "Part", "Problem", "ProblemSet", "load_problem_file",
           "load_problem_text", "parse_problem_set"]

MAX_FILE_BYTES = 1_000_000  # "files over 1 MB" are refused before reading
MAX_NODES = 1_000_000  # YAML nodes after alias expansion; a 1 MB file holds at most ~500k
MAX_ASK_CHARS = 10_000  # one `ask` expression

_STD = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {_STD + t for t in ("str", "int", "float", "bool", "null", "seq", "map", "merge")}
_TOP_KEYS = {"title", "round", "exact", "given", "parts", "text", "problems"}
_PROBLEM_KEYS = _TOP_KEYS - {"problems"}
_PART_KEYS = {"id", "ask", "answer", "text"}

_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")


class _PyLoader(yaml.SafeLoader):
    """Safe loader that also reads 1e-3 and 2E5 as numbers (YAML 1.2; PyYAML's 1.1 wants a dot)."""


class _CLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The same on libyaml where PyYAML was built with it (several times faster)."""


for _cls in (_PyLoader, _CLoader):
    _cls.add_implicit_resolver(_STD + "float", _EXPONENT_FLOAT, list("-+0123456789"))

# The loader in use; the tests run every hostile file through both.
_Loader: type = _CLoader


@dataclass
class Part:
    """One question: ``ask`` is `NAME = expr` or a bare expr; ``answer`` the claimed value."""

    id: str
    ask: str
    answer: Any = None
    has_answer: bool = False
    text: str | None = None


@dataclass
class Problem:
    """One problem: its given values and its parts, solved in order."""

    title: str | None = None
    round: int | None = None
    exact: bool = False
    text: str | None = None
    given: dict[str, Any] = field(default_factory=dict)
    parts: list[Part] = field(default_factory=list)


@dataclass
class ProblemSet:
    """A whole file: one problem, or several (then part ids are reported as ``i.id``)."""

    title: str | None
    problems: list[Problem]
    multi: bool  # the file used `problems:`; ids get the problem index
    source: str = "<text>"


def load_problem_file(path: str) -> ProblemSet:
    """Read and check a problem file, refusing files over 1 MB before reading them."""
    check_regular_file(path, "problem file")  # a pipe or device would block or never end
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise UsageError(f"cannot read problem file {path}: {exc.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise UsageError(f"problem file {path} is {size} bytes, over the limit of 1 MB ({MAX_FILE_BYTES} bytes)")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
        text = raw.decode("utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read problem file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"problem file {path} is not UTF-8 text (byte {exc.start})") from None
    return load_problem_text(text, source=path)


def load_problem_text(text: str, source: str = "<text>") -> ProblemSet:
    """Parse YAML text safely (tags, alias expansion, duplicate keys) and check its structure."""
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise UsageError(f"problem text is over the limit of 1 MB ({MAX_FILE_BYTES} bytes)")
    data = _safe_yaml(text, source)
    return parse_problem_set(data, source)


MAX_DEPTH = 32  # nested lists/mappings; a problem file needs about 8 (problems > given > 4-D list)


def _too_deep(source: str, line: int | str) -> UsageError:
    return UsageError(f"{source}: line {line}: lists/mappings nested deeper than {MAX_DEPTH} levels")


def _check_depth(text: str, source: str) -> None:
    """Refuse deep nesting from the event stream, before any (recursive) composing.

    libyaml (PyYAML >= 6.0.2's C loader) may refuse very deep nesting itself while scanning
    ahead; that refusal is reported with the same message as ours, so the user reads one
    message whichever loader PyYAML was built with.
    """
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _too_deep(source, event.start_mark.line + 1 if event.start_mark else "?")
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        if "nesting depth" not in str(exc.problem or ""):
            raise
        mark = exc.problem_mark or exc.context_mark
        raise _too_deep(source, mark.line + 1 if mark else "?") from None


def _safe_yaml(text: str, source: str) -> Any:
    loader = _Loader(text)
    try:
        _check_depth(text, source)
        node = loader.get_single_node()
        if node is None:
            raise UsageError(f"{source}: the file is empty")
        _inspect(node, source)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = exc.problem or exc.context or "invalid YAML"
        raise UsageError(f"{source}:{where}: YAML syntax error: {what}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{source}: YAML error: {str(exc).splitlines()[0]}") from None
    finally:
        loader.dispose()


def _inspect(root: yaml.Node, source: str) -> None:
    """Refuse unknown tags, duplicate keys, recursive aliases and oversized expansion."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def where(node: yaml.Node) -> str:
        return f"{source}: line {node.start_mark.line + 1}"

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise UsageError(f"{where(node)}: recursive YAML alias (a value that contains itself)")
        if depth > MAX_DEPTH:
            raise UsageError(f"{where(node)}: lists/mappings nested deeper than {MAX_DEPTH} levels")
        if node.tag == _STD + "timestamp":  # a date-like string such as 2024-01-01: keep it text
            node.tag = _STD + "str"
        if node.tag in (_STD + "int", _STD + "float"):  # digits, exponent, range: before converting
            check_numeral(node.value, where(node))
        if node.tag not in _ALLOWED_TAGS:
            raise UsageError(f"{where(node)}: YAML tag {node.tag!r} is not allowed "
                             "(only plain numbers, strings, booleans, lists and mappings)")
        active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size(child, depth + 1)
                if total > MAX_NODES:
                    break
        elif isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.tag != _STD + "merge":
                    if k.value in seen:
                        raise UsageError(f"{where(k)}: key {k.value!r} appears twice in one mapping")
                    seen.add(k.value)
                total += size(k, depth + 1) + size(v, depth + 1)
                if total > MAX_NODES:
                    break
        active.discard(key)
        if total > MAX_NODES:
            raise UsageError(f"{source}: the document expands to more than {MAX_NODES} values "
                             "(YAML aliases repeated too often)")
        sizes[key] = total
        return total

    size(root, 0)


def _as_round(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 12:
        raise UsageError(f"{where}: round must be an integer from 0 to 12, got {value!r}")
    return value


def _as_text(value: Any, key: str, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise UsageError(f"{where}: {key} must be text, got a {type(value).__name__}")
    return str(value)


def _parse_problem(data: Any, where: str, defaults: Problem | None = None) -> Problem:
    if not isinstance(data, dict):
        raise UsageError(f"{where}: a problem must be a mapping with given/parts, got {type(data).__name__}")
    allowed = _PROBLEM_KEYS if defaults is not None else _TOP_KEYS
    for key in data:
        if key not in allowed:
            raise UsageError(f"{where}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")
    problem = Problem(
        title=_as_text(data.get("title"), "title", where),
        round=_as_round(data.get("round", defaults.round if defaults else None), where),
        exact=data.get("exact", defaults.exact if defaults else False),
        text=_as_text(data.get("text"), "text", where),
    )
    if not isinstance(problem.exact, bool):
        raise UsageError(f"{where}: exact must be true or false, got {problem.exact!r}")
    given = data.get("given") or {}
    if not isinstance(given, dict):
        raise UsageError(f"{where}: given must be a mapping of names to values")
    for name in given:
        if not isinstance(name, str):
            raise UsageError(f"{where}: given name {name!r} must be text")
    problem.given = dict(given)
    parts = data.get("parts")
    if not isinstance(parts, list) or not parts:
        raise UsageError(f"{where}: parts must be a non-empty list of {{id, ask, answer}}")
    from cnnlab.problems.cost import check_file_size
    check_file_size(len(parts), where)  # before building them: a few aliases can repeat a part 100,000 times
    ids: set[str] = set()
    for index, raw in enumerate(parts):
        part = _parse_part(raw, index, where)
        if part.id in ids:
            raise UsageError(f"{where}: part id {part.id!r} is used twice")
        ids.add(part.id)
        problem.parts.append(part)
    return problem


def _parse_part(raw: Any, index: int, where: str) -> Part:
    if isinstance(raw, str):  # a bare ask
        raw = {"ask": raw}
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: part {index + 1} must be a mapping with id/ask/answer")
    for key in raw:
        if key not in _PART_KEYS:
            raise UsageError(f"{where}: part {index + 1}: unknown key {key!r} (allowed: id, ask, answer, text)")
    pid = raw.get("id", chr(ord("a") + index) if index < 26 else str(index + 1))
    if isinstance(pid, (dict, list)) or pid is None:
        raise UsageError(f"{where}: part {index + 1}: id must be text")
    pid = str(pid)
    ask = raw.get("ask")
    if isinstance(ask, bool) or not isinstance(ask, (str, int, float)):
        raise UsageError(f"{where}: part {pid}: ask must be an expression such as 'conv2d(X, K)'")
    ask = str(ask).strip()
    if not ask:
        raise UsageError(f"{where}: part {pid}: ask is empty")
    if len(ask) > MAX_ASK_CHARS:
        raise UsageError(f"{where}: part {pid}: ask is longer than {MAX_ASK_CHARS} characters")
    return Part(id=pid, ask=ask, answer=raw.get("answer"), has_answer="answer" in raw,
                text=_as_text(raw.get("text"), "text", f"{where}: part {pid}"))


def parse_problem_set(data: Any, source: str = "<text>") -> ProblemSet:
    """Check the structure of loaded YAML data and build a :class:`ProblemSet`.

    >>> s = parse_problem_set({"given": {"X": [[1]]}, "parts": [{"id": "a", "ask": "relu(X)"}]})
    >>> s.problems[0].parts[0].ask
    'relu(X)'
    """
    if not isinstance(data, dict):
        raise UsageError(f"{source}: a problem file must be a mapping with given/parts or problems")
    if "problems" in data:
        extra = set(data) - {"title", "problems", "round", "exact"}
        if extra:
            raise UsageError(f"{source}: with problems:, put {', '.join(sorted(extra))} inside each problem")
        items = data["problems"]
        if not isinstance(items, list) or not items:
            raise UsageError(f"{source}: problems must be a non-empty list")
        defaults = Problem(round=_as_round(data.get("round"), source), exact=data.get("exact", False))
        problems = [_parse_problem(item, f"{source}: problem {i + 1}", defaults)
                    for i, item in enumerate(items)]
        return ProblemSet(title=_as_text(data.get("title"), "title", source), problems=problems,
                          multi=True, source=source)
    problem = _parse_problem(data, source)
    return ProblemSet(title=problem.title, problems=[problem], multi=False, source=source)
