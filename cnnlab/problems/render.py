"""Rendering a solved problem set: text, Markdown, a complete LaTeX document, or JSON.

Every part shows its question, the worked steps of each function call it made (the
cell-by-cell traces of :mod:`cnnlab.steps` for convolution, pooling and activations; the
formulas of :mod:`cnnlab.problems.explain` for sizes, separability...), its answer, and
the check of a claimed answer with the likely mistake.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.errors import UsageError
from cnnlab.ops.budget import STEPS_WORK_BUDGET, check_work
from cnnlab.problems.cost import call_work
from cnnlab.problems.explain import explain_call
from cnnlab.steps import TRACERS, exact_string, render_trace, render_value, to_json_value
from cnnlab.steps.layout import formatter
from cnnlab.steps.render_latex import escape, standalone

if TYPE_CHECKING:  # annotations only: solve imports render, never the other way round
    from cnnlab.problems.solve import PartResult, ProblemResult, SetResult

__all__ = ["FORMATS", "render_set", "part_label", "render_answer", "set_to_json", "part_to_json", "render_check",
           "check_summary", "expected_text", "fit_width",
           "latex_prose", "ascii_latex"]

FORMATS = ("text", "markdown", "latex", "json")

# symbols our own prose uses that the steps' LaTeX escape does not know
_LATEX_EXTRA = {"⊗": r"$\otimes$", "∂": r"$\partial$", "δ": r"$\delta$", "ᵀ": r"$^{T}$", "✓": "",
                "✗": "", "—": "---", "–": "--", "≠": r"$\neq$", "⋮": r"$\vdots$", "°": r"$^\circ$"}


def latex_prose(text: str) -> str:
    out = []
    for ch in text:
        if ch in _LATEX_EXTRA and ch not in "°":
            out.append(_LATEX_EXTRA[ch])
        else:
            out.append(escape(ch))
    return "".join(out)


def _tt(text: str, fmt: str) -> str:
    if fmt == "latex":
        return r"\texttt{" + escape(text) + "}"
    if fmt == "markdown":
        return "`" + text.replace("`", "'") + "`"
    return text


def _prose(text: str, fmt: str) -> str:
    return latex_prose(text) if fmt == "latex" else text


def _is_arch_table(v: Any) -> bool:
    return isinstance(v, dict) and "layers" in v and "total_params" in v


def _is_description(v: Any) -> bool:
    return isinstance(v, dict) and "best_probe" in v and "responses" in v


def _none_free(v: Any) -> Any:
    if v is None:
        return "none"
    if isinstance(v, dict):
        return {k: _none_free(e) for k, e in v.items()}
    if isinstance(v, (list, tuple)):
        return [_none_free(e) for e in v]
    return v


_TABULAR = re.compile(r"\\begin\{tabular\}.*?\\end\{tabular\}", re.S)


def fit_width(latex: str) -> str:
    """Every ``tabular`` shrunk to the text width when it is wider (graphicx's resizebox)."""
    return _TABULAR.sub(lambda m: r"\noindent\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%"
                        + "\n" + m.group(0) + "}", latex)


def render_answer(value: Any, fmt: str, round: int | None) -> str | None:
    """An architecture table or a kernel description in its own layout; None for other values."""
    if _is_arch_table(value):
        from cnnlab.arch import render_arch
        text = render_arch(value, fmt)
        return fit_width(text) if fmt == "latex" else text
    if _is_description(value):
        from cnnlab.kernels.render import render_describe
        return render_describe(value, value["kernel"], "k", fmt)
    return None


MAX_SIDE_SHOWN = 24  # rows/columns of a given value or an answer written out; JSON has them all


def _cut(value: Any) -> tuple[Any, str]:
    """A large tensor cut to its first rows/columns (and channels), with a note saying so."""
    if not isinstance(value, np.ndarray) or value.ndim == 0 or max(value.shape) <= MAX_SIDE_SHOWN:
        return value, ""
    index = tuple(slice(0, MAX_SIDE_SHOWN) for _ in value.shape)
    shape = "×".join(map(str, value.shape))
    return value[index], f"({shape} tensor: the first {MAX_SIDE_SHOWN} along each axis shown; --format json gives all)"


def _value_block(label: str, value: Any, fmt: str, round: int | None) -> str:
    """``label = value`` in the format, matrices laid out."""
    special = render_answer(value, fmt, round)
    if special is not None:
        return special
    value, note = _cut(value)
    if note:
        return _value_block(label, value, fmt, round) + "\n\n" + _prose(note, fmt)
    if fmt == "latex" and isinstance(value, np.ndarray) and value.ndim >= 3:
        return _latex_channels(label, value, round)
    if fmt == "latex" and isinstance(value, str):  # prose that may wrap, not one line of math
        return r"\noindent " + (rf"$\text{{{escape(label)}}}$ = " if label else "") + rf"\texttt{{{escape(value)}}}"
    body = render_value(_none_free(value), fmt, round)
    if fmt == "latex":
        lhs = rf"\text{{{escape(label)}}} = " if label else ""  # text mode: ^ ~ of an id compile
        return rf"\[ {lhs}{body} \]"
    if "\n" in body or body.startswith("```"):
        return f"{label} =\n{body}" if label else body
    return f"{label} = {body}" if label else body


def _latex_channels(label: str, value: np.ndarray, round: int | None) -> str:
    """A C×H×W (or 4-D) tensor as labelled matrices, a few a line, so that it fits the page."""
    per_line = max(1, min(3, 24 // (value.shape[-1] + 1)))
    items = []
    for idx in np.ndindex(*value.shape[:-2]):
        where = (f"channel {idx[0] + 1}" if len(idx) == 1 else f"filter {idx[0] + 1}, channel {idx[1] + 1}")
        name = escape(f"{label}, {where}" if label else where)
        items.append(rf"\underset{{\text{{{name}}}}}{{{render_value(value[idx], 'latex', round)}}}")
    lines = [r",\quad ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return r"\begin{gather*}" + "\n" + " \\\\\n".join(lines) + "\n" + r"\end{gather*}"


def _demote(text: str, fmt: str) -> str:
    """Steps' headings one level below the part's heading."""
    if fmt == "markdown":
        out, fenced = [], False
        for line in text.splitlines():
            if line.startswith("```"):
                fenced = not fenced
            out.append("#" + line if (not fenced and line.startswith("#")) else line)
        return "\n".join(out)
    if fmt == "latex":
        return text.replace(r"\subsection*{", r"\subsubsection*{")
    return text


STEPS = ("auto", "compact", "full")  # how many cells a worked solution shows: see render_set


def _call_steps(part: PartResult, fmt: str, max_cells: int | None, steps: str = "auto") -> list[str]:
    out = []
    last = len(part.calls) - 1
    for n, call in enumerate(part.calls):
        rendered = None
        if call.name == "arch":
            rendered = _arch_steps(call, fmt)
        elif call.name in TRACERS:
            compact = steps == "compact" or (steps == "auto" and fmt == "latex")
            if steps == "full":
                max_cells = None
            if max_cells is None and not compact:  # every cell worked out: within the steps budget?
                check_work(call_work(call.name, call.args), STEPS_WORK_BUDGET,
                           f"part {part.id}: the worked steps of every cell of {call.source}",
                           "show fewer cells with --max-cells N (the default is 16)")
            try:
                trace = TRACERS[call.name](**call.args)
                rendered = render_trace(trace, fmt, max_cells=max_cells, round=part.round, compact=compact)
            except (UsageError, TypeError, ValueError):
                rendered = None  # e.g. an activation of a single number: the equation below says it all
        if rendered is None:
            blocks = explain_call(formatter(fmt, part.round), call.name, call.args, call.result)
            if blocks:
                rendered = formatter(fmt, part.round).render(blocks)
        if rendered is None and n != last:
            rendered = _value_block(call.source, call.result, fmt, part.round) if fmt != "latex" else \
                r"\noindent" + _tt(call.source, fmt) + " gives\n" + _value_block("", call.result, fmt, part.round)
        if rendered:
            out.append(_demote(rendered.rstrip("\n"), fmt))
    return out


def _arch_steps(call, fmt: str) -> str:
    """Layer by layer: output size, parameters, MACs, receptive field formulas, then the table."""
    from cnnlab.arch import arch_table, render_arch
    from cnnlab.problems.builtins import arch

    table = arch(call.args["spec"], call.args["input"])
    spec = call.args["spec"] if isinstance(call.args["spec"], str) else "; ".join(call.args["spec"])
    with_steps = arch_table(spec, table["input"], steps=True)
    text = render_arch(with_steps, fmt, steps=True)
    return fit_width(text) if fmt == "latex" else text


def _check_lines(part: PartResult, fmt: str) -> list[str]:
    cmp = part.comparison
    if cmp is None:
        return []
    if cmp.correct:
        return [_prose("Claimed answer: right ✓", fmt)]
    lines = ["Claimed answer: wrong ✗"]
    if cmp.note:
        lines.append(f"  {cmp.note}")
    if cmp.mismatches and cmp.mismatches[0]["index"]:
        shown = cmp.mismatches[:8]
        cells = "; ".join(f"[{','.join(map(str, m['index_from_1']))}] claimed {m['claimed']:.12g}, "
                          f"expected {expected_text(m)}" for m in shown)
        more = f" (and {len(cmp.mismatches) - len(shown)} more)" if len(cmp.mismatches) > len(shown) else ""
        lines.append(f"  {len(cmp.mismatches)} cell{'s differ' if len(cmp.mismatches) != 1 else ' differs'} "
                     f"(counted from 1): {cells}{more}")
    elif cmp.mismatches:
        m = cmp.mismatches[0]
        lines.append(f"  claimed {m['claimed']:.12g}, expected {expected_text(m)}")
    if not cmp.unknown_keys:
        lines.append(f"  likely mistake: {part.diagnosis}" if part.diagnosis else
                     "  no common slip explains the claimed answer")
    if fmt == "latex":
        return [r"\noindent " + r"\\ ".join(latex_prose(l.strip()) for l in lines)]
    if fmt == "markdown":
        return ["\n".join(("- " + l.strip()) if i else f"**{l}**" for i, l in enumerate(lines))]
    return ["\n".join(lines)]


def part_label(part: PartResult, fmt: str) -> str:
    """``(a) <the question as the sheet words it>``, or ``(a) <the ask>`` without a ``text:``."""
    text = " ".join(part.part.text.split()) if part.part.text else None
    if fmt == "latex":
        return f"({escape(part.id)}) " + (latex_prose(text) if text else _tt(part.part.ask, fmt))
    if fmt == "markdown":
        return f"({part.id}) " + (text if text else _tt(part.part.ask, fmt))
    return f"({part.id}) " + (text or part.part.ask)


def _part_block(part: PartResult, fmt: str, max_cells: int | None, steps: str = "auto") -> str:
    title = part_label(part, fmt)
    if fmt == "latex":
        head = rf"\subsection*{{{title}}}"
    elif fmt == "markdown":
        head = f"## {title}"
    else:
        bar = "═" * min(max(len(line) for line in title.splitlines()), 78)
        head = f"{bar}\n{title}\n{bar}"
    pieces = [head]
    if part.part.text:  # the label is the sheet's question: say what was computed
        pieces.append(_prose("Computed as ", fmt) + _tt(part.part.ask, fmt))
    pieces += _call_steps(part, fmt, max_cells, steps)
    label = part.ask.target or f"({part.id})"
    answer_head = {"latex": r"\paragraph{Answer}", "markdown": "**Answer**"}.get(fmt, "Answer")
    if part.calls and part.calls[-1].name == "arch" and _is_arch_table(part.value):
        answer = _prose("the table above.", fmt)  # the steps end with the table
    else:
        answer = _value_block(label, part.value, fmt, part.round)
    pieces.append(answer_head + ("\n\n" if fmt == "markdown" else "\n") + answer)
    pieces += _check_lines(part, fmt)
    return "\n\n".join(pieces)


def _given_block(prob: ProblemResult, fmt: str) -> str:
    if not prob.given:
        return ""
    head = {"latex": r"\paragraph{Given}", "markdown": "**Given**"}.get(fmt, "Given")
    items = [_value_block(name, value, fmt, None) for name, value in prob.given.items()]
    return head + "\n\n" + "\n\n".join(items)


def _problem_block(prob: ProblemResult, multi: bool, fmt: str, max_cells: int | None, steps: str) -> str:
    pieces = []
    p = prob.problem
    if multi:
        name = f"Problem {prob.index + 1}" + (f": {p.title}" if p.title else "")
        pieces.append({"latex": rf"\section*{{{latex_prose(name)}}}", "markdown": f"# {name}"}.get(
            fmt, f"{name}\n{'=' * min(len(name), 78)}"))
    notes = []
    if p.exact:
        notes.append("Exact arithmetic: values are fractions.")
    if p.round is not None:
        notes.append(f"Answers rounded to {p.round} decimal{'s' if p.round != 1 else ''} "
                     "(half away from zero).")
    if p.text:
        pieces.append(_prose(p.text.strip(), fmt))
    if notes:
        pieces.append(_prose(" ".join(notes), fmt))
    given = _given_block(prob, fmt)
    if given:
        pieces.append(given)
    pieces += [_part_block(part, fmt, max_cells, steps) for part in prob.parts]
    return "\n\n".join(pieces)


def render_set(result: SetResult, fmt: str = "text", max_cells: int | None = 16, steps: str = "auto") -> str:
    """The whole solved set in ``fmt`` ("text", "markdown", "latex"; LaTeX is a complete document).

    ``steps``: "compact" works out one cell per distinct computation (the first cell of each
    output channel) and tabulates the rest in the result matrix; "full" works out every
    cell (within the steps budget); "auto" is compact for LaTeX (an answer key to hand out)
    and the first ``max_cells`` cells otherwise.
    """
    if fmt not in ("text", "markdown", "latex"):
        raise UsageError(f"unknown format {fmt!r}: choose text, markdown, latex or json")
    if steps not in STEPS:
        raise UsageError(f"unknown steps {steps!r}: choose {', '.join(STEPS)}")
    body = "\n\n".join(_problem_block(prob, result.multi, fmt, max_cells, steps) for prob in result.problems)
    title = result.title
    if fmt == "latex":
        return ascii_latex(standalone(body, title))
    if title:
        head = f"# {title}" if fmt == "markdown" else f"{title}\n{'=' * min(len(title), 78)}"
        body = head + "\n\n" + body
    return body.rstrip("\n") + "\n"


def ascii_latex(doc: str) -> str:
    """Replace any remaining non-ASCII symbol, so pdflatex without Unicode set-up compiles it."""
    def sub(m: re.Match) -> str:
        ch = m.group(0)
        return _LATEX_EXTRA.get(ch, "?")
    return re.sub(r"[^\x00-\x7f]", sub, doc)


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
