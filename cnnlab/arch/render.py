"""Rendering of architecture tables and inverse-design answers: terminal, Markdown, LaTeX, JSON.

``render_arch(table, fmt, steps)`` takes the dict of :func:`cnnlab.arch.arch_table` or
:func:`cnnlab.arch.torch_analyze.analyze`. Formats: ``table`` (a box-drawn terminal table,
drawn by rich when it is installed), ``text`` (plain columns), ``markdown``, ``latex``
and ``json``. Worked steps are kept as plain-text formulas (``floor((H + 2p − k)/s) + 1``)
and turned into LaTeX here, so each formula is written once.
"""

from __future__ import annotations

import math

import io
import json
import re

from cnnlab.arch.table import arch_table
from cnnlab.doc.latex import align_chains

__all__ = ["FORMATS", "render_arch", "render_solution", "shape_text", "latex_formula", "ArchTable"]

FORMATS = ("table", "text", "markdown", "latex", "json")


def shape_text(shape: list[int], layout: str = "chw", sep: str = "×") -> str:
    """A channel-first shape written in ``layout`` (batch shown as 1).

    >>> shape_text([96, 55, 55], "nhwc")
    '1×55×55×96'
    """
    dims = list(shape)
    if layout == "nhwc":
        dims = [1] + (dims[1:] + dims[:1] if len(dims) == 3 else dims)
    elif layout == "nchw":
        dims = [1] + dims
    return sep.join(str(d) for d in dims)


def _group(n, fmt: str) -> str:
    if n is None:
        return "—" if fmt != "latex" else "--"
    if isinstance(n, list):
        return "×".join(_group(v, fmt) for v in n) if fmt != "latex" else r"$\times$".join(_group(v, fmt) for v in n)
    if isinstance(n, float) and not n.is_integer():
        return f"{n:g}"
    text = f"{int(n):,}"
    return text.replace(",", "{,}") if fmt == "latex" else text


def _three_digits(value: float) -> str:
    """3 significant digits, never in e-notation: 3.06, 1230, 0.0109."""
    value = float(f"{value:.3g}")
    digits = max(0, 2 - math.floor(math.log10(abs(value)))) if value else 0
    return f"{value:.{digits}f}"


def _human(n: float, unit: str = "") -> str:
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= factor:
            return f"{_three_digits(n / factor)} {prefix}{unit}"
    return f"{n:g} {unit}".strip()


_DECIMAL_UNITS = ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB"))
_BINARY_UNITS = ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"))


def _in_unit(n: float, units: tuple[tuple[float, str], ...]) -> str:
    """n bytes in the largest unit it reaches (the smallest unit below that), 3 significant
    digits and never in e-notation: 3.06 GB, not 3.06e+03 MB."""
    factor, unit = next(((f, u) for f, u in units if n >= f), units[-1])
    return f"{_three_digits(n / factor)} {unit}"


def _bytes(n: int) -> str:
    """``3,060,000,000 B = 3.06 GB = 2.85 GiB``; ``10,880 B = 10.9 kB = 10.6 KiB``."""
    return f"{n:,} B = {_in_unit(n, _DECIMAL_UNITS)} = {_in_unit(n, _BINARY_UNITS)}"


def _columns(table: dict) -> list[tuple[str, callable]]:
    layout = table.get("layout", "chw")
    rows = table["layers"]
    cols = [("#", lambda r: str(r["index"]))]
    if any(r.get("name") for r in rows):
        cols.append(("name", lambda r: r.get("name") or ""))
    cols += [
        ("layer", lambda r: r["spec"]),
        ("output", lambda r: shape_text(r["output_shape"], layout)),
        ("RF", lambda r: _group(r["receptive_field"], "text")),
        ("jump", lambda r: _group(r["jump"], "text")),
        ("weights", lambda r: _group(r["weights"], "text")),
        ("biases", lambda r: _group(r["biases"], "text")),
        ("params", lambda r: _group(r["params"], "text") + (" (shared)" if r.get("shared") else "")),
        ("units", lambda r: _group(r["units"], "text")),
        ("MACs", lambda r: _group(r["macs"], "text")),
    ]
    if any(r.get("attention_macs") for r in rows):  # products of two activations (docs/arch.md)
        cols.append(("attn MACs", lambda r: _group(r.get("attention_macs", 0), "text")))
    if any("fc_equivalent" in r for r in rows):
        cols += [("fc N", lambda r: _group(r["fc_equivalent"]["units"], "text")),
                 ("fc params", lambda r: _group(r["fc_equivalent"]["params"], "text")),
                 ("fc MACs", lambda r: _group(r["fc_equivalent"]["macs"], "text"))]
    return cols


def _totals_lines(table: dict) -> list[str]:
    dtype = table.get("dtype", "fp32")
    lines = [
        f"input: {shape_text(table['input'], table.get('layout', 'chw'))}",
        f"total params: {table['total_params']:,} ({_human(table['total_params'])})",
        f"total MACs: {table['total_macs']:,} ({_human(table['total_macs'])}; "
        f"FLOPs = 2·MACs = {_human(2 * table['total_macs'])})",
    ]
    if table.get("total_attention_macs"):
        lines.append(f"attention MACs (Q·Kᵀ and A·V, not in total MACs): {table['total_attention_macs']:,} "
                     f"({_human(table['total_attention_macs'])})")
    lines += [
        f"activation memory ({dtype}): {_bytes(table['activation_bytes'])}"
        " (layer outputs kept, batch 1, input not counted)",
        f"parameter memory ({dtype}): {_bytes(table['param_bytes'])}",
    ]
    others = [f"{name}: activations {_human(m['activation_bytes'], 'B')}, params {_human(m['param_bytes'], 'B')}"
              for name, m in table.get("memory", {}).items() if name != dtype]
    if others:
        lines.append("other dtypes: " + "; ".join(others))
    heads = table.get("training_only_heads") or []
    for head in heads:
        lines.append(f"training-only head {head['name']} ({head['type']}): {head['params']:,} parameters "
                     "(runs in training mode only; no row above, not in the MACs)")
    outside = table.get("unattributed_params", 0) - sum(head["params"] for head in heads)
    if outside:
        lines.append(f"parameters outside the traced forward pass: {outside:,}")
    lines += [f"note: {note}" for note in table.get("notes", [])]
    return lines


def _plain_table(headers: list[str], body: list[list[str]]) -> str:
    widths = [max(len(h), *(len(row[i]) for row in body)) if body else len(h) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(c.rjust(w) if i and c[:1].isdigit() else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in body])


def _rich_table(headers: list[str], body: list[list[str]]) -> str | None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        return None
    grid = Table(show_lines=False)
    for h in headers:
        grid.add_column(h, justify="left" if h in ("layer", "name") else "right")
    for row in body:
        grid.add_row(*row)
    buffer = io.StringIO()
    Console(file=buffer, width=max(80, sum(len(h) + 3 for h in headers) + 200), no_color=True,
            highlight=False).print(grid)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())


# --- LaTeX --------------------------------------------------------------------------

_IDENT = re.compile(r"\\[A-Za-z]+|[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)?")
_FUNCS = {"floor", "ceil", "max"}


def _latex_ident(match: re.Match) -> str:
    word = match.group(0)
    if word.startswith("\\"):
        return word
    if word == "output_padding":
        return r"\mathit{op}"
    base, _, sub = word.partition("_")
    base_tex = base if len(base) == 1 else r"\text{" + base + "}"
    return base_tex + (r"_{\mathrm{" + sub + "}}" if sub else "")


def _latex_math(expr: str) -> str:
    out = expr
    for name, tex in (("floor", (r"\left\lfloor ", r"\right\rfloor ")), ("ceil", (r"\left\lceil ", r"\right\rceil "))):
        while f"{name}(" in out:
            start = out.index(f"{name}(")
            depth, i = 0, start + len(name)
            for i in range(start + len(name), len(out)):
                depth += {"(": 1, ")": -1}.get(out[i], 0)
                if depth == 0:
                    break
            out = out[:start] + tex[0] + out[start + len(name) + 1:i] + tex[1] + out[i + 1:]
    out = out.replace("max(", r"\max(")
    out = _IDENT.sub(_latex_ident, out)
    for a, b in (("·", r" \cdot "), ("×", r" \times "), ("−", "-"), ("γ", r"\gamma "), ("β", r"\beta "),
                 ("∈", r"\in "), ("→", r"\to "), ("²", "^2")):
        out = out.replace(a, b)
    return re.sub(r" +", " ", out).strip()


def latex_formula(text: str) -> str:
    """A plain-text step formula in LaTeX math (words in a row, or a trailing note, become \\text).

    >>> print(latex_formula("floor((H + 2p − k)/s) + 1"))
    \\left\\lfloor (H + 2p - k)/s\\right\\rfloor + 1
    """
    note = ""
    m = re.match(r"^(.*?)\s*\(([^()]*[a-z]{4,}[^()]*)\)$", text)
    if m and m.group(1):
        text, note = m.group(1), m.group(2)
    if re.search(r"[A-Za-z]{2,},? [A-Za-z]{2,}", text):
        body = r"\text{" + _latex_escape(text) + "}"
    else:
        body = _latex_math(text)
    return body + (r"\quad\text{(" + _latex_escape(note) + ")}" if note else "")


def _latex_escape(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#"),
                 ("{", r"\{"), ("}", r"\}"), ("×", r"$\times$"), ("·", r"$\cdot$"), ("−", "-"),
                 ("→", r"$\to$"), ("γ", r"$\gamma$"), ("β", r"$\beta$"), ("∈", r"$\in$"), ("²", r"$^2$")):
        text = text.replace(a, b)
    return text


# --- steps ------------------------------------------------------------------------------

def _step_parts(step: dict) -> list[str]:
    parts = [step["quantity"], step["formula"]]
    for extra in (step["numbers"], step["value"]):
        if extra.replace(" ", "") != parts[-1].replace(" ", ""):
            parts.append(extra)
    return parts


def _steps_block(table: dict, fmt: str) -> str:
    layout = table.get("layout", "chw")
    out = []
    for row in table["layers"]:
        if not row.get("steps"):
            continue
        where = f"input {shape_text(row['input_shape'], layout)}" if row.get("input_shape") else ""
        if fmt == "markdown":
            out.append(f"**Layer {row['index']}: `{row['spec']}`** ({where})\n")
            out += [f"- {' = '.join(_step_parts(s))}" for s in row["steps"]]
            out.append("")
        elif fmt == "latex":
            out.append(rf"\paragraph{{Layer {row['index']}: \texttt{{{_latex_escape(row['spec'])}}}}} "
                       rf"({_latex_escape(where)})")
            out.append(r"\begin{align*}")
            chains = [(latex_formula(q), [latex_formula(p) for p in rest])
                      for q, *rest in map(_step_parts, row["steps"])]
            out.append(align_chains(chains))  # continued on the next line where one is full
            out.append(r"\end{align*}")
        else:
            out.append(f"Layer {row['index']}: {row['spec']}   ({where})")
            out += [f"  {' = '.join(_step_parts(s))}" for s in row["steps"]]
            out.append("")
    return "\n".join(out).rstrip()


def _ensure_steps(table: dict) -> dict:
    """A spec table without steps is recomputed with them; a torch table is left as it is."""
    if all(r.get("steps") for r in table["layers"]) or table.get("source") != "spec":
        return table
    return arch_table([r["spec"] for r in table["layers"]], table["input"], dtype=table.get("dtype", "fp32"),
                      steps=True, fc_compare=_fc_setting(table))


def _fc_setting(table: dict):
    rows = [r for r in table["layers"] if "fc_equivalent" in r]
    if not rows:
        return None
    ns = {r["fc_equivalent"]["units"] for r in rows}
    same = all(r["fc_equivalent"]["units"] == r["units"] for r in rows)
    return "same" if same and len(ns) != 1 else ns.pop() if len(ns) == 1 else "same"


def render_arch(table: dict, fmt: str = "table", steps: bool = False) -> str:
    """Render an architecture table as ``table``, ``text``, ``markdown``, ``latex`` or ``json``.

    >>> from cnnlab.arch import arch_table
    >>> print(render_arch(arch_table("conv 3x3 8", "1x5x5"), "text").splitlines()[2])
    1  conv 3x3 8   8×3×3   3     1       72       8      80     72   648
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    if steps:
        table = _ensure_steps(table)
    if fmt == "json":
        data = table if steps else {**table, "layers": [{k: v for k, v in r.items() if k != "steps"}
                                                       for r in table["layers"]]}
        return json.dumps(data, ensure_ascii=False)
    cols = _columns(table)
    headers = [c[0] for c in cols]
    body = [[f(r) for _, f in cols] for r in table["layers"]]
    worked = _steps_block(table, fmt) if steps else ""
    if fmt == "markdown":
        lines = ["| " + " | ".join(headers) + " |",
                 "|" + "|".join("---:" if h not in ("layer", "name") else ":---" for h in headers) + "|"]
        lines += ["| " + " | ".join(c.replace("|", r"\|") if h != "layer" else f"`{c}`"
                                    for h, c in zip(headers, row)) + " |" for row in body]
        totals = "\n".join(f"- {line}" for line in _totals_lines(table))
        return "\n".join(([worked, ""] if worked else []) + lines + ["", totals])
    if fmt == "latex":
        spec = "r" + "".join("l" if h in ("layer", "name") else "r" for h in headers[1:])
        lines = [r"\begin{tabular}{" + spec + "}", r"\hline",
                 " & ".join(_latex_escape(h) for h in headers) + r" \\ \hline"]
        for r in table["layers"]:
            cells = []
            for (h, f) in cols:
                value = f(r)
                if h in ("layer", "name"):
                    cells.append(r"\texttt{" + _latex_escape(value) + "}")
                elif h == "output":
                    cells.append("$" + value.replace("×", r"\times ") + "$")
                else:
                    cells.append(_latex_escape(value).replace(",", "{,}"))
            lines.append(" & ".join(cells) + r" \\")
        lines += [r"\hline", r"\end{tabular}", ""]
        lines += [_latex_escape(line) + r"\\" for line in _totals_lines(table)]
        return "\n".join(([worked, ""] if worked else []) + lines)
    grid = (_rich_table(headers, body) if fmt == "table" else None) or _plain_table(headers, body)
    return "\n".join(([worked, ""] if worked else []) + [grid, ""] + _totals_lines(table))


def render_solution(result: dict, fmt: str = "text") -> str:
    """Render an answer of :mod:`cnnlab.arch.inverse` (``solve_layer`` or ``fewest_layers``)."""
    if fmt == "json":
        return json.dumps(result, ensure_ascii=False)
    lines = [result["question"]]
    for step in result.get("steps", []):
        lines.append(" = ".join(_step_parts(step)))
    lines.append(result["answer"])
    lines += [f"note: {n}" for n in result.get("notes", [])]
    if fmt == "markdown":
        return "\n".join([f"**{lines[0]}**", ""] + [f"- {line}" for line in lines[1:]])
    if fmt == "latex":
        body = [_latex_escape(lines[0]) + r"\\", r"\begin{align*}"]
        body.append(align_chains([(latex_formula(s["quantity"]), [latex_formula(p) for p in _step_parts(s)[1:]])
                                  for s in result.get("steps", [])]))
        body += [r"\end{align*}"] + [_latex_escape(line) + r"\\" for line in lines[len(result.get("steps", [])) + 1:]]
        return "\n".join(body)
    return "\n".join(lines)


class ArchTable(dict):
    """The §3 table as returned by :func:`cnnlab.arch.arch_table`: a plain dict that also
    shows itself as a table in a notebook."""

    def _repr_markdown_(self) -> str:
        return render_arch(dict(self), "markdown")

    def _repr_latex_(self) -> str:
        return render_arch(dict(self), "latex")

    def _repr_html_(self) -> str:
        from cnnlab.doc.markdown_html import markdown_to_html

        return markdown_to_html(self._repr_markdown_())
