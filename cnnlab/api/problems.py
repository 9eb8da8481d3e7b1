"""``cnnlab.solve``, ``cnnlab.check`` and ``cnnlab.quiz``: problem sets as functions.

A problem set is a path to a YAML file, an example's name (``"sheet1"``) or a dict of the
file's contents (docs/problems.md). The results wrap the problem renderers of
:mod:`cnnlab.problems.render` and :mod:`cnnlab.problems.sheet`.
"""

from __future__ import annotations

import json
from typing import Any

from cnnlab.api import flags
from cnnlab.api.result import RenderedResult
from cnnlab.errors import MAX_SEED, UsageError
from cnnlab.problems.render import STEPS

__all__ = ["solve", "check", "quiz", "load", "pretty_json", "SOLVE_STEPS", "QUIZ_STEPS", "QUIZ_FORMATS"]

SOLVE_STEPS = STEPS  # owner: cnnlab.problems.render
QUIZ_STEPS = ("compact", "full")
QUIZ_FORMATS = ("markdown", "latex", "yaml", "text")  # a quiz is written in these (a sheet also in html)


def load(problems: Any):
    """A :class:`cnnlab.problems.ProblemSet` from a path, an example's name or a dict."""
    from cnnlab.problems import load_problem_file, parse_problem_set

    if isinstance(problems, dict):
        return parse_problem_set(problems, "<dict>")
    if hasattr(problems, "__fspath__"):
        problems = str(problems)
    if not isinstance(problems, str):
        raise UsageError(f"a problem set is a path, an example's name or a dict, got {type(problems).__name__}")
    from cnnlab.api.examples import resolve_example

    return load_problem_file(resolve_example(problems))


def pretty_json(obj: Any, level: int = 0) -> str:
    """JSON with one line per matrix row: lists of scalars stay on one line (as ``cnnlab solve`` prints)."""
    pad, inner = " " * level, " " * (level + 1)
    if isinstance(obj, dict):
        flat = json.dumps(obj, ensure_ascii=False)
        if len(flat) <= 100 and not any(isinstance(v, dict) or (isinstance(v, list) and any(
                isinstance(e, (list, dict)) for e in v)) for v in obj.values()):
            return flat
        items = [f"{inner}{json.dumps(str(k))}: {pretty_json(v, level + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(v, (list, dict)) for v in obj):
        return "[\n" + ",\n".join(inner + pretty_json(v, level + 1) for v in obj) + "\n" + pad + "]"
    return json.dumps(obj, ensure_ascii=False)


class ProblemResult(RenderedResult):
    """A solved or checked problem set; ``.result`` is the :class:`cnnlab.problems.SetResult`.

    Every format, HTML included, is written from the set's blocks by the writers of
    :mod:`cnnlab.doc` (:func:`cnnlab.problems.render.set_blocks`).
    """

    def render(self, fmt: str) -> str:
        return self._render_fn(fmt)

    def output(self, fmt: str) -> str:
        if fmt == "json":
            return pretty_json(self._data) + "\n"
        return self.render(fmt)


def solve(file: Any, max_cells: int = 16, steps: str = "auto") -> ProblemResult:
    """Solve every part of a problem set with worked steps, as ``cnnlab solve``.

    Args:
        file: a path, an example's name ("sheet1") or a dict of the file's contents.
        max_cells: output cells worked out per operation (0 for all).
        steps: "auto" (compact in LaTeX, else ``max_cells``), "compact" or "full".

    >>> r = solve({"given": {"X": [[1, -2]]}, "parts": [{"id": "a", "ask": "relu(X)"}]})
    >>> r.to_json()["parts"][0]["value"]
    [[1.0, 0.0]]
    """
    from cnnlab.problems import solve_set
    from cnnlab.problems.render import render_set, set_to_json

    max_cells = flags.integer("solve", "max_cells", max_cells)
    if max_cells < 0:
        raise UsageError("--max-cells must be >= 0")
    steps = flags.choice("solve", "steps", steps, SOLVE_STEPS)
    result = solve_set(load(file))
    r = ProblemResult("solve", set_to_json(result),
                      lambda fmt: render_set(result, fmt, max_cells=max_cells or None, steps=steps))
    r.result = result
    return r


def check(file: Any) -> ProblemResult:
    """Compare each claimed answer with the computed one, as ``cnnlab check``.

    ``r.exit_status`` is 1 when some claimed answer is wrong (the CLI's exit status);
    ``r.to_json()["parts"]`` lists the parts that claim an answer.
    """
    from cnnlab.problems import solve_set
    from cnnlab.problems.render import check_summary, render_check, render_set, set_to_json

    result = solve_set(load(file))
    data = set_to_json(result)
    data["parts"] = [p for p in data["parts"] if p["correct"] is not None]
    _, wrong = check_summary(result)

    def render(fmt: str) -> str:  # text is the one-line-a-part verdict; the others show the worked set
        return render_check(result) if fmt == "text" else render_set(result, fmt)

    r = ProblemResult("check", data, render, exit_status=1 if wrong else 0)
    r.result = result
    return r


class QuizResult(RenderedResult):
    """A quiz and its key: ``.to_yaml()`` is its problem file; ``.to_json()`` its title,
    problem file and solved key (``cnnlab solve --format json`` of that file)."""

    def to_yaml(self) -> str:
        return self._data["yaml"]

    def output(self, fmt: str) -> str:
        return self.to_yaml() if fmt == "yaml" else self.render(fmt)

    def render(self, fmt: str) -> str:  # HTML too from the quiz's blocks
        return self._render_fn(fmt)


def quiz(topics: Any = "conv,pool,act", count: Any = 3, seed: Any = 0, from_file: Any = None,
         no_key: bool = False, steps: str | None = None) -> QuizResult:
    """A randomised problem set with its answer key, as ``cnnlab quiz``.

    Args:
        topics: "conv,pool" or a list of topic names. count: number of problems.
        seed: the same seed, the same quiz. from_file: a problem set to redraw instead
            (path, example name or dict). no_key: leave out the key. steps: None, "compact" or "full".

    >>> "title:" in quiz("conv", count=1, seed=1).to_yaml()
    True
    """
    from cnnlab.problems.quiz import generate_quiz, quiz_key
    from cnnlab.problems.render import set_to_json
    from cnnlab.problems.sheet import quiz_yaml, render_quiz

    seed = flags.bounded("quiz", "seed", seed, 0, MAX_SEED)
    no_key = flags.flag("no_key", no_key)
    steps = flags.choice("quiz", "steps", steps, QUIZ_STEPS, optional=True)
    if from_file is not None:
        from cnnlab.problems.redraw import quiz_from

        q = quiz_from(load(from_file), seed)
    else:
        if isinstance(topics, (list, tuple)):
            topics = ",".join(str(t) for t in topics)
        if not isinstance(topics, str):
            raise UsageError("topics must be text such as 'conv,pool' or a list of names")
        names = [t.strip().lower() for t in topics.split(",") if t.strip()]
        q = generate_quiz(names, flags.integer("quiz", "count", count), seed)
    result = quiz_key(q)
    data = {"title": q.get("title"), "yaml": quiz_yaml(q), "key": set_to_json(result)}
    r = QuizResult("quiz", data, lambda fmt: render_quiz(q, result, fmt, key=not no_key, steps=steps))
    r.quiz, r.result = q, result
    return r
