"""The JSON API: a request body becomes a call of the Python API (docs/python.md).

``POST /api/conv`` with ``{"input": [[1, 2], [3, 4]], "kernel": "1 0; 0 -1", "flip": true}``
calls ``cnnlab.conv(input=[[1, 2], [3, 4]], kernel="1 0; 0 -1", flip=True)`` and answers
``result.to_json()``: the object ``cnnlab conv ... --format json`` prints. Keys are the
command's long flags with ``_`` for ``-`` (the function's parameters); values are JSON
values or the CLI's text form. Bad input is a :class:`~cnnlab.errors.UsageError` whose
message is the CLI's (the app answers it with HTTP 400). See docs/serve.md for the fields.

The server reads no files on a client's behalf: a value that names a file (which the CLI
would read) is refused.
"""

from __future__ import annotations

import inspect
import json
import os
from typing import Any, Callable

from cnnlab.api.arch import arch
from cnnlab.api.ops import act, conv, pool
from cnnlab.doc.outline import OUTLINE_WRITERS
from cnnlab.errors import UsageError

__all__ = ["run_command", "solve", "quiz", "quiz_topics", "kernel_list", "command_fields", "MAX_CELLS", "OPS"]

MAX_CELLS = 4096  # worked cells one request may ask for (each is computed in Python)
OPS: dict[str, Callable[..., Any]] = {"conv": conv, "pool": pool, "act": act, "arch": arch}
PATH_FIELDS = {"conv": ("input", "kernel"), "pool": ("input",), "act": ("input",), "arch": ("spec",)}
# request keys kept from the command line's flags: --no-count-include-pad is the key
# no_count_include_pad (true: count_include_pad=False)
NEGATED = {("pool", "no_count_include_pad"): "count_include_pad"}
_FILE_SUFFIXES = (".json", ".csv", ".txt", ".npy", ".yaml", ".yml")


def command_fields(command: str) -> list[str]:
    """The request keys a command takes, e.g. ``command_fields("act")``.

    >>> command_fields("act")
    ['input', 'fn', 'slope', 'exact', 'round', 'steps', 'max_cells']
    """
    negated = {v: k for (c, k), v in NEGATED.items() if c == command}
    return [negated.get(name, name) for name in inspect.signature(OPS[command]).parameters
            if not name.startswith("_")]


def _refuse_path(name: str, value: Any) -> None:
    """The CLI reads a value naming a file; a server must not read its own files for a client."""
    if not isinstance(value, str):
        return
    t = value.strip()
    if t and "\n" not in t and ";" not in t and (os.path.exists(t) or t.lower().endswith(_FILE_SUFFIXES)):
        raise UsageError(f"{name}: the server reads no files; paste the values themselves")


def run_command(command: str, body: dict) -> dict:
    """``cnnlab COMMAND --format json`` of the fields of ``body``, computed by the Python API.

    >>> run_command("act", {"input": [[-1, 2]], "fn": "relu"})
    {'output': [[0.0, 2.0]], 'shape': [1, 2]}
    """
    if command not in OPS:
        raise UsageError(f"unknown command {command!r}")
    if not isinstance(body, dict):
        raise UsageError("the request body must be a JSON object")
    fields = command_fields(command)
    kwargs: dict[str, Any] = {}
    for key, value in body.items():
        if key not in fields:
            raise UsageError(f"unknown field {key!r} for {command}; fields: {', '.join(fields)}")
        if value is None:
            continue  # the command's default
        if (command, key) in NEGATED:
            if not isinstance(value, bool):
                raise UsageError(f"{key}: expected true or false, got {json.dumps(value)}")
            key, value = NEGATED[(command, key)], not value
        kwargs[key] = value
    required = [f"--{n.replace('_', '-')}" for n, p in inspect.signature(OPS[command]).parameters.items()
                if p.default is inspect.Parameter.empty and n not in kwargs]
    if required:
        raise UsageError(f"cnnlab {command}: the following arguments are required: {', '.join(required)} "
                         "(see --help)")
    max_cells = kwargs.get("max_cells")
    if isinstance(max_cells, int) and not isinstance(max_cells, bool) and max_cells > MAX_CELLS:
        raise UsageError(f"--max-cells must be at most {MAX_CELLS} here (each cell is worked out in Python)")
    for name in PATH_FIELDS[command]:
        _refuse_path(name, kwargs.get(name))
    return OPS[command](**kwargs).to_json()


def _text_field(body: dict, key: str, allowed: set[str]) -> str:
    if not isinstance(body, dict):
        raise UsageError("the request body must be a JSON object")
    unknown = set(body) - allowed
    if unknown:
        raise UsageError(f"unknown field {sorted(unknown)[0]!r}; fields: {', '.join(sorted(allowed))}")
    value = body.get(key)
    if not isinstance(value, str):
        raise UsageError(f"{key!r} must be the problem file's text (a string)")
    return value


_RENDER_FORMATS = tuple(OUTLINE_WRITERS)  # the rendered (not JSON) formats


def solve(body: dict) -> dict:
    """``cnnlab solve --format json`` of the problem text ``body["text"]``.

    With ``"render": "markdown"|"latex"|"text"|"html"`` the answer also holds the worked
    solutions in that form under ``"rendered"`` (html: the doc HTML writer's, as a notebook
    shows the set: tensors as tables, maths as MathML).
    """
    from cnnlab.problems import load_problem_text, solve_set
    from cnnlab.problems.render import render_set, set_to_json

    text = _text_field(body, "text", {"text", "render", "max_cells"})
    fmt = body.get("render")
    if fmt is not None and fmt not in _RENDER_FORMATS:
        raise UsageError(f"render must be one of {', '.join(_RENDER_FORMATS)}, got {fmt!r}")
    max_cells = _int_field(body, "max_cells", 16, 0, MAX_CELLS)
    result = solve_set(load_problem_text(text, "<request>"))
    doc = set_to_json(result)
    if fmt:
        doc["rendered"] = render_set(result, fmt, max_cells=max_cells or None)
    return doc


def _int_field(body: dict, key: str, default: int, lo: int, hi: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except ValueError:
            raise UsageError(f"{key} must be a whole number, got {json.dumps(value)}") from None
    if not lo <= value <= hi:
        raise UsageError(f"{key} must be from {lo} to {hi}, got {value}")
    return value


def quiz(body: dict) -> dict:
    """A new quiz, as ``cnnlab quiz``: its problem file, the questions and the key.

    Body: ``topics`` ("conv,pool" or a list), ``count``, ``seed``, ``steps`` (worked
    solutions in the key). Returns ``{"yaml", "title", "questions": {markdown, latex,
    html}, "key": {markdown, latex, html}}``; each form is its writer's (html as a notebook
    shows the quiz).
    """
    from cnnlab.errors import MAX_SEED
    from cnnlab.problems.quiz import generate_quiz, quiz_key
    from cnnlab.problems.sheet import quiz_yaml, render_quiz

    if not isinstance(body, dict):
        raise UsageError("the request body must be a JSON object")
    unknown = set(body) - {"topics", "count", "seed", "steps"}
    if unknown:
        raise UsageError(f"unknown field {sorted(unknown)[0]!r}; fields: count, seed, steps, topics")
    topics = body.get("topics", "conv,pool,act")
    if isinstance(topics, str):
        topics = topics.split(",")
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise UsageError("topics must be text such as 'conv,pool' or a list of names")
    topics = [t.strip().lower() for t in topics if t.strip()]
    count = _int_field(body, "count", 3, 1, 10**6)
    seed = _int_field(body, "seed", 0, 0, MAX_SEED)  # the CLI's range (numpy's generators)
    steps = body.get("steps", False)
    if not isinstance(steps, bool):
        raise UsageError("steps must be true or false")
    q = generate_quiz(topics, count, seed)
    result = quiz_key(q)
    forms = ("markdown", "html", "latex")
    return {"title": q.get("title"), "yaml": quiz_yaml(q),
            "questions": {fmt: render_quiz(q, result, fmt, key=False) for fmt in forms},
            "key": {fmt: render_quiz(q, result, fmt, key=True, steps=steps) for fmt in forms}}


def quiz_topics() -> dict:
    """The topics ``cnnlab quiz --topics`` takes: ``{"topics": [names]}``."""
    from cnnlab.problems.quiz import TOPICS

    return {"topics": list(TOPICS)}


def kernel_list() -> dict:
    """The named kernels, as ``cnnlab kernel list`` prints them: ``{"kernels": [{name, description}]}``."""
    from cnnlab.kernels.named import list_kernels

    return {"kernels": [{"name": n, "description": d} for n, d in list_kernels()]}

