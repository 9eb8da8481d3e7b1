"""Architecture tables and inverse-design answers as documents (:mod:`cnnlab.doc`).

``arch_blocks(table, steps)`` builds the blocks of the dict of :func:`cnnlab.arch.arch_table`
or :func:`cnnlab.arch.torch_analyze.analyze`: the worked steps (a step list per layer),
the table (numbers right-aligned, layer specs as code) and the totals; ``solution_blocks``
those of an inverse-design answer. Nothing here asks for the format: ``render_arch(table,
fmt, steps)`` hands the blocks to the writer of ``fmt`` — ``table`` (a box-drawn terminal
table, drawn by rich when it is installed), ``text``, ``markdown``, ``latex``, ``html`` —
and ``json`` is the table dict itself. Worked steps are expression trees
(:mod:`cnnlab.arch.steps`): the LaTeX writer typesets ``floor((H + 2p − k)/s) + 1`` as a
floor of a fraction and the HTML writer as MathML.
"""

from __future__ import annotations

import json
import math

from cnnlab.arch.table import arch_table
from cnnlab.doc import FORMATS as DOC_FORMATS, writer
from cnnlab.doc.blocks import Block, Bullets, Formula, Paragraph, StepList, Table
from cnnlab.doc.expr import Words
from cnnlab.doc.terminal import TerminalWriter

__all__ = ["FORMATS", "render_arch", "render_solution", "arch_blocks", "solution_blocks", "shape_text", "ArchTable"]

FORMATS = ("table", *DOC_FORMATS)  # the box-drawn terminal table and every doc format
# formats written by a writer of cnnlab.doc's registry, plus the terminal's box-drawn table
_OWN_WRITERS = {"table": TerminalWriter}


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


def _group(n) -> str:
    """A count with thousands separators (``2,592``); [h, w] as ``3×5``; None as ``—``."""
    if n is None:
        return "—"
    if isinstance(n, list):
        return "×".join(_group(v) for v in n)
    if isinstance(n, float) and not n.is_integer():
        return f"{n:g}"
    return f"{int(n):,}"


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
        ("RF", lambda r: _group(r["receptive_field"])),
        ("jump", lambda r: _group(r["jump"])),
        ("weights", lambda r: _group(r["weights"])),
        ("biases", lambda r: _group(r["biases"])),
        ("params", lambda r: _group(r["params"]) + (" (shared)" if r.get("shared") else "")),
        ("units", lambda r: _group(r["units"])),
        ("MACs", lambda r: _group(r["macs"])),
    ]
    if any(r.get("attention_macs") for r in rows):  # products of two activations (docs/arch.md)
        cols.append(("attn MACs", lambda r: _group(r.get("attention_macs", 0))))
    if any("fc_equivalent" in r for r in rows):
        cols += [("fc N", lambda r: _group(r["fc_equivalent"]["units"])),
                 ("fc params", lambda r: _group(r["fc_equivalent"]["params"])),
                 ("fc MACs", lambda r: _group(r["fc_equivalent"]["macs"]))]
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


# --- steps ------------------------------------------------------------------------------

def _formula(step: dict) -> Formula:
    """``quantity = formula = numbers = value``, a part that reads as the one before it left
    out; maths from the step's expressions (a step read back from JSON has only its strings,
    shown as they are)."""
    keys = ("quantity", "formula", "numbers", "value")
    exprs = step.step.parts() if hasattr(step, "step") else tuple(Words(step[k]) for k in keys)
    quantity, kept, last = exprs[0], [exprs[1]], step["formula"]
    for key, expr in zip(keys[2:], exprs[2:]):
        if step[key].replace(" ", "") != last.replace(" ", ""):
            kept.append(expr)
            last = step[key]
    return Formula(quantity, kept)


def _steps_blocks(table: dict) -> list[Block]:
    """One step list per layer that has worked steps: where it is, then its formulas."""
    layout = table.get("layout", "chw")
    out: list[Block] = []
    for row in table["layers"]:
        if not row.get("steps"):
            continue
        where = f"   (input {shape_text(row['input_shape'], layout)})" if row.get("input_shape") else ""
        out.append(StepList([Paragraph(f"Layer {row['index']}: {row['spec']}{where}"),
                             *(_formula(s) for s in row["steps"])]))
    return out


def _ensure_steps(table: dict) -> dict:
    """A spec table without steps, or with steps read back from JSON (strings, no maths), is
    recomputed with them; a torch table is left as it is."""
    built = all(r.get("steps") and all(hasattr(s, "step") for s in r["steps"]) for r in table["layers"])
    if built or table.get("source") != "spec":
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


def arch_blocks(table: dict, steps: bool = False) -> list[Block]:
    """The document of an architecture table: worked steps (with ``steps``), table, totals."""
    cols = _columns(table)
    headers = [c[0] for c in cols]
    body = [[f(r) for _, f in cols] for r in table["layers"]]
    text_columns = ("layer", "name")
    grid = Table(headers, body, align="".join("l" if h in text_columns else "r" for h in headers),
                 code=tuple(j for j, h in enumerate(headers) if h in text_columns))
    return [*(_steps_blocks(table) if steps else []), grid, Bullets(_totals_lines(table))]


def _write(blocks: list[Block], fmt: str) -> str:
    w = _OWN_WRITERS[fmt]() if fmt in _OWN_WRITERS else writer(fmt)
    return w.render(blocks).removesuffix("\n")


def render_arch(table: dict, fmt: str = "table", steps: bool = False) -> str:
    """Render an architecture table as ``table``, ``text``, ``markdown``, ``latex``, ``html`` or ``json``.

    >>> from cnnlab.arch import arch_table
    >>> print(render_arch(arch_table("conv 3x3 8", "1x5x5"), "text").splitlines()[2])
    1  conv 3x3 8   8×3×3   3     1       72       8      80     72   648
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    if steps:
        table = _ensure_steps(table)
    if fmt == "json":  # the data, not a document
        data = table if steps else {**table, "layers": [{k: v for k, v in r.items() if k != "steps"}
                                                       for r in table["layers"]]}
        return json.dumps(data, ensure_ascii=False)
    return _write(arch_blocks(table, steps), fmt)


def solution_blocks(result: dict) -> list[Block]:
    """The document of an answer of :mod:`cnnlab.arch.inverse`: question, steps, answer, notes."""
    steps = [_formula(s) for s in result.get("steps", [])]
    return [Paragraph(result["question"]), *([StepList(steps)] if steps else []),
            Paragraph(result["answer"]), *(Paragraph(f"note: {n}") for n in result.get("notes", []))]


def render_solution(result: dict, fmt: str = "text") -> str:
    """Render an answer of :mod:`cnnlab.arch.inverse` (``solve_layer`` or ``fewest_layers``)."""
    if fmt == "json":  # the data, not a document
        return json.dumps(result, ensure_ascii=False)
    return _write(solution_blocks(result), fmt)


class ArchTable(dict):
    """The §3 table as returned by :func:`cnnlab.arch.arch_table`: a plain dict that also
    shows itself as a table in a notebook."""

    def _repr_markdown_(self) -> str:
        return render_arch(dict(self), "markdown")

    def _repr_latex_(self) -> str:
        return render_arch(dict(self), "latex")

    def _repr_html_(self) -> str:
        return render_arch(dict(self), "html")
