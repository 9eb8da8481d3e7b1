"""A solved problem set as a document: the blocks of :mod:`cnnlab.doc.outline`, any format.

Every part shows its question, the worked steps of each function call it made (the
cell-by-cell traces of :mod:`cnnlab.steps` for convolution, pooling and activations; the
formulas of :mod:`cnnlab.problems.explain` for sizes, separability...), its answer, and
the check of a claimed answer with the likely mistake. :func:`set_blocks` builds the
blocks without asking for the format; :func:`render_set` writes them (text, Markdown, a
complete LaTeX document, HTML) through the writers of :mod:`cnnlab.doc`.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.doc import RESULT_FORMATS
from cnnlab.doc.outline import (OUTLINE_WRITERS, Callout, Code, Demoted, Foreign, Labelled, Lead, Prose, Section, Steps,
                                ascii_latex, fit_width, latex_prose, outline_writer, write_outline)
from cnnlab.errors import UsageError
from cnnlab.ops.budget import STEPS_WORK_BUDGET, check_work
from cnnlab.problems.cost import call_work
from cnnlab.problems.explain import explain_call
from cnnlab.steps import TRACERS, exact_string, to_json_value, trace_blocks

if TYPE_CHECKING:  # annotations only: solve imports render, never the other way round
    from cnnlab.problems.solve import PartResult, ProblemResult, SetResult

__all__ = ["FORMATS", "render_set", "set_blocks", "part_blocks", "render_part", "part_label", "part_title", "render_answer",
           "answer_block", "set_to_json", "part_to_json", "render_check", "check_summary", "expected_text",
           "fit_width", "latex_prose", "ascii_latex"]

FORMATS = RESULT_FORMATS
RENDERED = tuple(OUTLINE_WRITERS)  # what render_set writes (json: set_to_json)


def _is_arch_table(v: Any) -> bool:
    return isinstance(v, dict) and "layers" in v and "total_params" in v


def _is_description(v: Any) -> bool:
    return isinstance(v, dict) and "best_probe" in v and "responses" in v


def _special(value: Any) -> Foreign | None:
    """An architecture table or a kernel description in its own layout; None for other values."""
    if _is_arch_table(value):
        from cnnlab.arch import render_arch
        return Foreign(lambda fmt: render_arch(value, fmt))
    if _is_description(value):
        from cnnlab.kernels.render import render_describe
        return Foreign(lambda fmt: render_describe(value, value["kernel"], "k", fmt))
    return None


def render_answer(value: Any, fmt: str, round: int | None) -> str | None:
    """An architecture table or a kernel description in its own layout; None for other values."""
    special = _special(value)
    return None if special is None else outline_writer(fmt).piece(special)


MAX_SIDE_SHOWN = 24  # rows/columns of a given value or an answer written out; JSON has them all


def _cut(value: Any) -> tuple[Any, str]:
    """A large tensor cut to its first rows/columns (and channels), with a note saying so."""
    if not isinstance(value, np.ndarray) or value.ndim == 0 or max(value.shape) <= MAX_SIDE_SHOWN:
        return value, ""
    index = tuple(slice(0, MAX_SIDE_SHOWN) for _ in value.shape)
    shape = "×".join(map(str, value.shape))
    return value[index], f"({shape} tensor: the first {MAX_SIDE_SHOWN} along each axis shown; --format json gives all)"


def answer_block(label: str | Code, value: Any, round: int | None) -> list:
    """``label = value``: an arch table / kernel description in its layout, a large tensor cut."""
    special = _special(value)
    if special is not None:
        return [special]
    value, note = _cut(value)
    return [Labelled(label, value, round)] + ([Prose([note])] if note else [])


STEPS = ("auto", "compact", "full")  # how many cells a worked solution shows: see render_set


def _call_block(part: PartResult, n: int, call, max_cells: int | None, steps: str) -> Any:
    """The worked steps of one call: a trace, an explanation, the arch steps or its value."""
    if call.name == "arch":
        return Demoted(_arch_steps(call))
    last = n == len(part.calls) - 1

    def build(compact_format: bool) -> list:
        if call.name in TRACERS:
            compact = steps == "compact" or (steps == "auto" and compact_format)
            cells = None if steps == "full" else max_cells
            if cells is None and not compact:  # every cell worked out: within the steps budget?
                check_work(call_work(call.name, call.args), STEPS_WORK_BUDGET,
                           f"part {part.id}: the worked steps of every cell of {call.source}",
                           "show fewer cells with --max-cells N (the default is 16)")
            try:
                return trace_blocks(TRACERS[call.name](**call.args), cells, part.round, compact)
            except (UsageError, TypeError, ValueError):
                pass  # e.g. an activation of a single number: the equation below says it all
        blocks = explain_call(call.name, call.args, call.result)
        if blocks:
            return blocks
        return [] if last else answer_block(Code(call.source), call.result, part.round)

    return Demoted(Steps(build, part.round))


def _arch_steps(call) -> Foreign:
    """Layer by layer: output size, parameters, MACs, receptive field formulas, then the table."""
    from cnnlab.arch import arch_table, render_arch
    from cnnlab.problems.builtins import arch

    table = arch(call.args["spec"], call.args["input"])
    spec = call.args["spec"] if isinstance(call.args["spec"], str) else "; ".join(call.args["spec"])
    with_steps = arch_table(spec, table["input"], steps=True)
    return Foreign(lambda fmt: render_arch(with_steps, fmt, steps=True))


def _check_block(part: PartResult) -> list:
    cmp = part.comparison
    if cmp is None:
        return []
    if cmp.correct:
        return [Prose(["Claimed answer: right ✓"])]
    items = []
    if cmp.note:
        items.append(cmp.note)
    if cmp.mismatches and cmp.mismatches[0]["index"]:
        shown = cmp.mismatches[:8]
        cells = "; ".join(f"[{','.join(map(str, m['index_from_1']))}] claimed {m['claimed']:.12g}, "
                          f"expected {expected_text(m)}" for m in shown)
        more = f" (and {len(cmp.mismatches) - len(shown)} more)" if len(cmp.mismatches) > len(shown) else ""
        items.append(f"{len(cmp.mismatches)} cell{'s differ' if len(cmp.mismatches) != 1 else ' differs'} "
                     f"(counted from 1): {cells}{more}")
    elif cmp.mismatches:
        m = cmp.mismatches[0]
        items.append(f"claimed {m['claimed']:.12g}, expected {expected_text(m)}")
    if not cmp.unknown_keys:
        items.append(f"likely mistake: {part.diagnosis}" if part.diagnosis else
                     "no common slip explains the claimed answer")
    return [Callout("Claimed answer: wrong ✗", items)]


def part_title(part: PartResult) -> list:
    """``(a) <the question as the sheet words it>``, or ``(a) <the ask>`` (as code) without a ``text:``."""
    text = " ".join(part.part.text.split()) if part.part.text else None
    return [f"({part.id}) ", text] if text else [f"({part.id}) ", Code(part.part.ask)]


def part_label(part: PartResult, fmt: str = "text") -> str:
    """:func:`part_title` written in ``fmt``."""
    return outline_writer(fmt).words(part_title(part))


def part_blocks(part: PartResult, max_cells: int | None = 16, steps: str = "auto") -> list:
    """One part: its heading, what was computed, the worked steps, the answer, the check."""
    blocks: list = [Section(part_title(part), 2)]
    if part.part.text:  # the label is the sheet's question: say what was computed
        blocks.append(Prose(["Computed as ", Code(part.part.ask)]))
    blocks += [_call_block(part, n, call, max_cells, steps) for n, call in enumerate(part.calls)]
    label = part.ask.target or f"({part.id})"
    if part.calls and part.calls[-1].name == "arch" and _is_arch_table(part.value):
        answer = [Prose(["the table above."])]  # the steps end with the table
    else:
        answer = answer_block(label, part.value, part.round)
    blocks.append(Lead(["Answer"], answer))
    return blocks + _check_block(part)


def render_part(part: PartResult, fmt: str, max_cells: int | None = 16) -> str:
    """One part in ``fmt``: a fragment (text, Markdown, LaTeX) or an HTML document (a notebook)."""
    return outline_writer(fmt).fragment(part_blocks(part, max_cells))


def _given_blocks(prob: ProblemResult) -> list:
    if not prob.given:
        return []
    return [Lead(["Given"])] + [b for name, value in prob.given.items() for b in answer_block(name, value, None)]


def _problem_blocks(prob: ProblemResult, multi: bool, max_cells: int | None, steps: str) -> list:
    blocks: list = []
    p = prob.problem
    if multi:
        blocks.append(Section([f"Problem {prob.index + 1}" + (f": {p.title}" if p.title else "")], 1))
    notes = []
    if p.exact:
        notes.append("Exact arithmetic: values are fractions.")
    if p.round is not None:
        notes.append(f"Answers rounded to {p.round} decimal{'s' if p.round != 1 else ''} "
                     "(half away from zero).")
    if p.text:
        blocks.append(Prose([p.text.strip()]))
    if notes:
        blocks.append(Prose([" ".join(notes)]))
    blocks += _given_blocks(prob)
    for part in prob.parts:
        blocks += part_blocks(part, max_cells, steps)
    return blocks


def set_blocks(result: SetResult, max_cells: int | None = 16, steps: str = "auto", title: bool = True) -> list:
    """The whole solved set as outline blocks (see :func:`render_set` for the arguments)."""
    if steps not in STEPS:
        raise UsageError(f"unknown steps {steps!r}: choose {', '.join(STEPS)}")
    blocks: list = [Section([result.title], 1)] if title and result.title else []
    for prob in result.problems:
        blocks += _problem_blocks(prob, result.multi, max_cells, steps)
    return blocks


def render_set(result: SetResult, fmt: str = "text", max_cells: int | None = 16, steps: str = "auto") -> str:
    """The whole solved set in ``fmt`` ("text", "markdown", "latex", "html"; LaTeX is a complete document).

    ``steps``: "compact" works out one cell per distinct computation (the first cell of each
    output channel) and tabulates the rest in the result matrix; "full" works out every
    cell (within the steps budget); "auto" is compact for LaTeX (an answer key to hand out)
    and the first ``max_cells`` cells otherwise.
    """
    if fmt not in RENDERED:
        raise UsageError(f"unknown format {fmt!r}: choose text, markdown, latex or json")
    return write_outline(set_blocks(result, max_cells, steps), fmt)


def _exact_strings(v: Any) -> Any:
    if isinstance(v, Fraction):
        return exact_string(v)
    if isinstance(v, np.ndarray):
        return [_exact_strings(e) for e in v] if v.ndim else _exact_strings(v.item())
    if isinstance(v, (list, tuple)):
        return [_exact_strings(e) for e in v]
    if isinstance(v, dict):
        return {k: _exact_strings(e) for k, e in v.items()}
    return v


def _has_fraction(v: Any) -> bool:
    if isinstance(v, Fraction):
        return v.denominator != 1
    if isinstance(v, np.ndarray) and v.dtype == object:
        return any(_has_fraction(e) for e in v.flat)
    if isinstance(v, (list, tuple)):
        return any(_has_fraction(e) for e in v)
    if isinstance(v, dict):
        return any(_has_fraction(e) for e in v.values())
    return False


def part_to_json(part: PartResult) -> dict:
    """One part as docs/problems.md JSON (plus ask, name, shape, exact strings, notes)."""
    out: dict[str, Any] = {"id": part.id, "ask": part.part.ask, "name": part.ask.target, "text": part.part.text,
                           "label": part_label(part, "text"),
                           "value": to_json_value(part.value)}
    if isinstance(part.value, np.ndarray):
        out["shape"] = list(part.value.shape)
    if _has_fraction(part.value):
        out["exact"] = _exact_strings(part.value)
    cmp = part.comparison
    out["correct"] = None if cmp is None else cmp.correct
    out["diagnosis"] = part.diagnosis
    if cmp is not None and not cmp.correct:
        if isinstance(part.value, np.ndarray):
            out["mismatches"] = cmp.mismatches
        if cmp.note:
            out["note"] = cmp.note
    return out


def set_to_json(result: SetResult) -> dict:
    """``{"title", "parts": [...], "right", "wrong"}`` (docs/problems.md)."""
    parts = [part_to_json(p) for p in result.parts]
    return {"title": result.title, "parts": parts,
            "right": sum(p["correct"] is True for p in parts),
            "wrong": sum(p["correct"] is False for p in parts)}


def expected_text(m: dict) -> str:
    """``0.63 (unrounded 0.625)``, ``0.33 (exactly 1/3)``, ``1/3 (≈ 0.333333333333)`` or ``4``."""
    rounded, full = m["expected"], m.get("expected_unrounded", m["expected"])
    text = f"{rounded:.12g}"
    if "expected_exact" in m:
        exact = m["expected_exact"]
        return f"{exact} (≈ {full:.12g})" if full == rounded else f"{text} (exactly {exact})"
    if full != rounded:
        return text + f" (unrounded {full:.12g})"
    return text


def check_summary(result: SetResult) -> tuple[int, int]:
    """(right, wrong) counts of the parts that have a claimed answer."""
    checked = [p for p in result.parts if p.comparison is not None]
    wrong = sum(not p.comparison.correct for p in checked)
    return len(checked) - wrong, wrong


def render_check(result: SetResult) -> str:
    """One line per part with a claimed answer (docs/problems.md), then a summary line."""
    lines = []
    for part in result.parts:
        cmp = part.comparison
        if cmp is None:
            continue
        if cmp.correct:
            lines.append(f"{part.id}: right")
            continue
        detail = []
        if cmp.note:
            detail.append(cmp.note)
        if cmp.mismatches and cmp.mismatches[0]["index"]:
            m = cmp.mismatches[0]
            where = ",".join(map(str, m["index_from_1"]))
            detail.append(f"{len(cmp.mismatches)} cell{'s differ' if len(cmp.mismatches) != 1 else ' differs'}, "
                          f"first [{where}] (counted from 1): claimed {m['claimed']:.12g}, "
                          f"expected {expected_text(m)}")
        elif cmp.mismatches:
            m = cmp.mismatches[0]
            detail.append(f"claimed {m['claimed']:.12g}, expected {expected_text(m)}")
        if not cmp.unknown_keys:
            detail.append(f"likely mistake: {part.diagnosis}" if part.diagnosis else "no common slip explains it")
        lines.append(f"{part.id}: wrong — " + "; ".join(detail))
    right, wrong = check_summary(result)
    if not lines:
        lines.append("no part has a claimed answer to check (add `answer:` to a part)")
    else:
        lines.append(f"{right} right, {wrong} wrong")
    return "\n".join(lines) + "\n"
