"""Solving a problem set: every part evaluated in order, claimed answers checked and diagnosed.

All asks of the file are parsed and their names checked before anything is computed, so a
bad expression anywhere stops the command with nothing executed.

>>> from cnnlab.problems.loader import load_problem_text
>>> s = load_problem_text("given: {X: [[1, -2], [3, 4]]}\\nparts:\\n- {id: a, ask: relu(X), answer: [[1, 0], [3, 4]]}")
>>> r = solve_set(s)
>>> r.parts[0].correct, r.parts[0].value.tolist()
(True, [[1.0, 0.0], [3.0, 4.0]])
"""

from __future__ import annotations

import keyword
import re
from fractions import Fraction
from dataclasses import dataclass, field
from typing import Any

from cnnlab.errors import UsageError, check_numeral
from cnnlab.problems import functions, values
from cnnlab.problems.compare import Comparison, compare
from cnnlab.problems.cost import WorkMeter, check_file_size
from cnnlab.problems.diagnose import diagnose
from cnnlab.problems.expr import CONSTANTS, Ask, CallRecord, EvalContext, check_names, evaluate, parse_ask
from cnnlab.problems.loader import Part, Problem, ProblemSet

__all__ = ["PartResult", "ProblemResult", "SetResult", "solve_set", "prepare_given"]


@dataclass
class PartResult:
    """A solved part: its value, the calls that made it, and the check of its claimed answer."""

    id: str  # as reported: "a", or "2.a" in a file with problems:
    part: Part
    ask: Ask
    value: Any
    calls: list[CallRecord]
    round: int | None
    exact: bool
    comparison: Comparison | None = None
    diagnosis: str | None = None

    @property
    def correct(self) -> bool | None:
        return None if self.comparison is None else self.comparison.correct

    # Notebook display: the part's worked solution and the check of its claimed answer, from
    # the document writers (render imports this module for annotations only).
    def _repr_markdown_(self) -> str:
        from cnnlab.problems.render import render_part

        return render_part(self, "markdown")

    def _repr_latex_(self) -> str:
        from cnnlab.problems.render import render_part

        return render_part(self, "latex")

    def _repr_html_(self) -> str:
        from cnnlab.problems.render import render_part

        return render_part(self, "html")


@dataclass
class ProblemResult:
    problem: Problem
    index: int
    given: dict[str, Any]
    parts: list[PartResult] = field(default_factory=list)


@dataclass
class SetResult:
    title: str | None
    problems: list[ProblemResult]
    source: str
    multi: bool = False  # the file used `problems:` (ids are "1.a")

    @property
    def parts(self) -> list[PartResult]:
        return [p for prob in self.problems for p in prob.parts]

    # Notebook display: every part's worked solution, as ``cnnlab solve --format markdown``.
    def _repr_markdown_(self) -> str:
        from cnnlab.problems.render import render_set

        return render_set(self, "markdown")

    def _repr_html_(self) -> str:
        from cnnlab.problems.render import render_set

        return render_set(self, "html")


def _check_identifier(name: str, where: str) -> None:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise UsageError(f"{where}: {name!r} is not a valid name (letters, digits and _, not starting with a digit)")
    if "__" in name:
        raise UsageError(f"{where}: dunder names are not allowed: {name!r}")
    if name in CONSTANTS or name in functions.FUNCTIONS:
        raise UsageError(f"{where}: {name!r} is a reserved name (a constant or a function)")


_FRACTION = re.compile(r"\s*[+-]?\d+(?:\.\d+)?\s*/\s*\d+(?:\.\d+)?\s*")


def _fraction_strings(v: Any, where: str) -> Any:
    """YAML reads ``[1/9, 1/9]`` as strings: "a/b" strings (and only those) become Fractions."""
    if isinstance(v, list):
        return [_fraction_strings(e, where) for e in v]
    if isinstance(v, str) and _FRACTION.fullmatch(v):
        check_numeral(v, where)  # "1/3" with 5,000 digits: the 400-digit limit of docs/limits.md
        top, bottom = (Fraction(part.strip()) for part in v.split("/"))
        if bottom == 0:
            raise UsageError(f"{where}: {v!r} divides by zero")
        return top / bottom
    return v


def _given_value(v: Any, name: str, ctx: EvalContext) -> Any:
    v = _fraction_strings(v, f"{ctx.where}: {name}")
    if isinstance(v, (bool, str)) or v is None:
        return v
    if values.is_number(v):
        return values.literal(v, EvalContext(exact=ctx.exact, where=f"{ctx.where}: {name}"))
    if isinstance(v, list):
        if v and all(isinstance(e, str) for e in v):  # e.g. an architecture as a list of layers
            return list(v)
        return values.tensor(v, ctx, f"{ctx.where}: {name}")
    raise UsageError(f"{ctx.where}: {name} must be a number, a list of numbers or a string, "
                     f"got a {type(v).__name__}")


def prepare_given(problem: Problem, where: str) -> dict[str, Any]:
    """Check the given names and turn lists into tensors (Fractions in exact mode)."""
    ctx = EvalContext(exact=problem.exact, where=where)
    env: dict[str, Any] = {}
    for name, v in problem.given.items():
        _check_identifier(name, where)
        env[name] = _given_value(v, name, ctx)
    return env


def _prefix(pset: ProblemSet, index: int, pid: str) -> str:
    return f"{index + 1}.{pid}" if pset.multi else pid


def _parse_all(pset: ProblemSet) -> list[tuple[dict[str, Any], list[Ask]]]:
    """Parse every ask and check every name of the file before any computation."""
    check_file_size(sum(len(p.parts) for p in pset.problems), pset.source)  # each part one call at least
    prepared = []
    for i, problem in enumerate(pset.problems):
        where = f"{pset.source}: problem {i + 1}, given" if pset.multi else f"{pset.source}: given"
        env = prepare_given(problem, where)
        known = set(env)
        asks = []
        for part in problem.parts:
            pid = _prefix(pset, i, part.id)
            ask = parse_ask(part.ask, f"part {pid}")
            check_names(ask, known)
            if ask.target is not None:
                if ask.target in known:
                    raise UsageError(f"part {pid}: {ask.target} is already defined; choose another name")
                known.add(ask.target)
            asks.append(ask)
        prepared.append((env, asks))
    check_file_size([a.tree for _, asks in prepared for a in asks], pset.source)
    return prepared


def solve_set(pset: ProblemSet, check: bool = True) -> SetResult:
    """Solve every part of every problem; with ``check``, compare and diagnose claimed answers."""
    prepared = _parse_all(pset)
    meter = WorkMeter(pset.source)
    results = []
    for i, (problem, (env, asks)) in enumerate(zip(pset.problems, prepared)):
        pr = ProblemResult(problem=problem, index=i, given=dict(env))
        claimed_env: dict[str, Any] = {}  # names bound to the claimed answers, for carried errors
        for part, ask in zip(problem.parts, asks):
            pid = _prefix(pset, i, part.id)
            ctx = EvalContext(exact=problem.exact, where=f"part {pid}", meter=meter)
            ev = evaluate(ask, env, ctx)
            result = PartResult(id=pid, part=part, ask=ask, value=ev.value, calls=ev.calls,
                                round=problem.round, exact=problem.exact)
            if check and part.has_answer:
                result.comparison = compare(part.answer, ev.value, problem.round)
                if not result.comparison.correct and not result.comparison.unknown_keys:
                    earlier = {p.ask.target: p for p in pr.parts if p.ask.target is not None}
                    result.diagnosis = diagnose(result, env, claimed_env, ctx, set(pr.given), earlier)
            if ask.target is not None:
                env[ask.target] = ev.value
                if part.has_answer and result.comparison is not None and not result.comparison.correct:
                    claimed_env[ask.target] = part.answer
            pr.parts.append(result)
        results.append(pr)
    return SetResult(title=pset.title, problems=results, source=pset.source, multi=pset.multi)
