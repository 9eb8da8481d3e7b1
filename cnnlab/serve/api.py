"""The JSON API: a request body becomes the CLI's flags, and the CLI's own handler runs.

``POST /api/conv`` with ``{"input": [[1, 2], [3, 4]], "kernel": "1 0; 0 -1", "flip": true}``
runs exactly what ``cnnlab conv --input '[[1, 2], [3, 4]]' --kernel '1 0; 0 -1' --flip
--format json`` runs, and answers with the object it prints. Keys are the command's long
flags with ``_`` for ``-``; values are JSON values or the CLI's text form. Bad input is a
:class:`~cnnlab.errors.UsageError` whose message is the CLI's (the route turns it into
HTTP 400). See docs/serve.md for the fields of every route.

The server reads no files on a client's behalf: a value that names a file (which the CLI
would read) is refused.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from functools import lru_cache
from typing import Any

from cnnlab.errors import UsageError
from cnnlab.serve.capture import captured_stdout

__all__ = ["run_command", "solve", "quiz", "quiz_topics", "kernel_list", "command_fields", "MAX_CELLS", "OPS"]

OPS = ("conv", "pool", "act", "arch")
MAX_CELLS = 4096  # worked cells one request may ask for (each is computed in Python)
TENSOR_FIELDS = {"input", "kernel", "bias"}  # lists go to the CLI as bracket literals
SHAPE_FIELDS = {("arch", "input")}  # a list [3, 32, 32] is the CLI's 3x32x32
PATH_FIELDS = {"conv": ("input", "kernel"), "pool": ("input",), "act": ("input",), "arch": ("spec",)}
# flags the API sets itself or that do not print the §1/§3 JSON
_NOT_FIELDS = {"help", "format", "json", "standalone", "out", "solve", "n_in", "n_out", "max", "rf",
               "strides", "channels", "list_torchvision"}
_FILE_SUFFIXES = (".json", ".csv", ".txt", ".npy", ".yaml", ".yml")


@lru_cache(maxsize=None)
def _command_parser(command: str) -> argparse.ArgumentParser:
    from cnnlab.cli.main import build_parser

    parser = build_parser(command)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[command]


@lru_cache(maxsize=None)
def _fields(command: str) -> dict[str, argparse.Action]:
    """Request key -> the argparse action of the flag it stands for."""
    fields: dict[str, argparse.Action] = {}
    for action in _command_parser(command)._actions:
        if not action.option_strings:  # a positional (arch's SPEC)
            if action.dest not in _NOT_FIELDS and action.dest != "command":
                fields[action.dest] = action
            continue
        long = next((o for o in action.option_strings if o.startswith("--")), None)
        key = long[2:].replace("-", "_") if long else action.dest
        if key not in _NOT_FIELDS and action.dest not in _NOT_FIELDS:
            fields[key] = action
    return fields


def command_fields(command: str) -> list[str]:
    """The request keys a command takes, e.g. ``command_fields("act")``.

    >>> command_fields("act")
    ['input', 'fn', 'slope', 'exact', 'round', 'steps', 'max_cells']
    """
    return list(_fields(command))


def _scalar_text(value: Any, key: str) -> str:
    if isinstance(value, bool):
        raise UsageError(f"{key}: expected a number or text, got {json.dumps(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise UsageError(f"{key}: {value!r} is not a finite number")
    if isinstance(value, (int, float, str)):
        return str(value)
    raise UsageError(f"{key}: expected a number, text or a list, got {type(value).__name__}")


def _value_text(command: str, key: str, value: Any) -> str:
    """The CLI's text form of a JSON value: lists as bracket literals, ``a,b`` or ``CxHxW``."""
    if isinstance(value, list) and (command, key) in SHAPE_FIELDS:
        return "x".join(_scalar_text(v, key) for v in value)
    if isinstance(value, list):
        nested = any(isinstance(v, list) for v in value)
        if key in TENSOR_FIELDS or nested:
            try:
                return json.dumps(value, allow_nan=False)
            except ValueError:
                raise UsageError(f"{key}: values must be finite numbers") from None
        return ",".join(_scalar_text(v, key) for v in value)
    return _scalar_text(value, key)


def _argv(command: str, body: dict) -> list[str]:
    fields = _fields(command)
    argv: list[str] = [command]
    positional: list[str] = []
    for key, value in body.items():
        action = fields.get(key)
        if action is None:
            raise UsageError(f"unknown field {key!r} for {command}; fields: {', '.join(fields)}")
        if value is None:
            continue
        flag = next((o for o in action.option_strings if o.startswith("--")), None)
        if action.nargs == 0:  # store_true / store_false: a bare flag
            if not isinstance(value, bool):
                raise UsageError(f"{key}: expected true or false, got {json.dumps(value)}")
            if value:
                argv.append(flag)
            continue
        text = _value_text(command, key, value)
        if flag is None:
            positional.append(text)
        else:
            argv.append(f"{flag}={text}")
    argv += ["--format", "json"]
    if positional:
        argv += ["--", *positional]
    return argv


def _refuse_paths(command: str, args: argparse.Namespace) -> None:
    """The CLI reads a value naming a file; a server must not read its own files for a client."""
    for name in PATH_FIELDS.get(command, ()):
        text = getattr(args, name, None)
        if not isinstance(text, str):
            continue
        t = text.strip()
        if t and "\n" not in t and ";" not in t and (os.path.exists(t) or t.lower().endswith(_FILE_SUFFIXES)):
            raise UsageError(f"{name}: the server reads no files; paste the values themselves")


def run_command(command: str, body: dict) -> dict:
    """Run ``cnnlab COMMAND`` with the flags of ``body`` and ``--format json``; its JSON object.

    >>> run_command("act", {"input": [[-1, 2]], "fn": "relu"})
    {'output': [[0.0, 2.0]], 'shape': [1, 2]}
    """
    if command not in OPS:
        raise UsageError(f"unknown command {command!r}")
    if not isinstance(body, dict):
        raise UsageError("the request body must be a JSON object")
    parser = _command_parser(command)
    argv = _argv(command, body)
    args = parser.parse_args(argv[1:])
    if getattr(args, "max_cells", 0) and args.max_cells > MAX_CELLS:
        raise UsageError(f"--max-cells must be at most {MAX_CELLS} here (each cell is worked out in Python)")
    _refuse_paths(command, args)
    with captured_stdout() as out:
        args.func(args)
    return json.loads(out.getvalue())


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


_RENDER_FORMATS = ("text", "markdown", "latex", "html")


def _render(result, fmt: str, max_cells: int | None) -> str:
    from cnnlab.problems.render import render_set

    if fmt == "html":
        from cnnlab.serve.markdown import markdown_to_html

        return markdown_to_html(render_set(result, "markdown", max_cells=max_cells))
    return render_set(result, fmt, max_cells=max_cells)


def solve(body: dict) -> dict:
    """``cnnlab solve --format json`` of the problem text ``body["text"]``.

    With ``"render": "markdown"|"latex"|"text"|"html"`` the answer also holds the worked
    solutions in that form under ``"rendered"`` (html: the Markdown form as HTML).
    """
    from cnnlab.problems import load_problem_text, solve_set
    from cnnlab.problems.render import set_to_json

    text = _text_field(body, "text", {"text", "render", "max_cells"})
    fmt = body.get("render")
    if fmt is not None and fmt not in _RENDER_FORMATS:
        raise UsageError(f"render must be one of {', '.join(_RENDER_FORMATS)}, got {fmt!r}")
    max_cells = _int_field(body, "max_cells", 16, 0, MAX_CELLS)
    result = solve_set(load_problem_text(text, "<request>"))
    doc = set_to_json(result)
    if fmt:
        doc["rendered"] = _render(result, fmt, max_cells or None)
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
    html}, "key": {markdown, latex, html}}``.
    """
    from cnnlab.cli.argtypes import MAX_SEED
    from cnnlab.problems.quiz import generate_quiz, quiz_key
    from cnnlab.problems.sheet import quiz_yaml, render_quiz
    from cnnlab.serve.markdown import markdown_to_html

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
    questions = render_quiz(q, result, "markdown", key=False)
    key = render_quiz(q, result, "markdown", key=True, steps=steps)
    return {"title": q.get("title"), "yaml": quiz_yaml(q),
            "questions": {"markdown": questions, "html": markdown_to_html(questions),
                          "latex": render_quiz(q, result, "latex", key=False)},
            "key": {"markdown": key, "html": markdown_to_html(key),
                    "latex": render_quiz(q, result, "latex", key=True, steps=steps)}}


def quiz_topics() -> dict:
    """The topics ``cnnlab quiz --topics`` takes: ``{"topics": [names]}``."""
    from cnnlab.problems.quiz import TOPICS

    return {"topics": list(TOPICS)}


def kernel_list() -> dict:
    """The named kernels, as ``cnnlab kernel list`` prints them: ``{"kernels": [{name, description}]}``."""
    from cnnlab.kernels.named import list_kernels

    return {"kernels": [{"name": n, "description": d} for n, d in list_kernels()]}

