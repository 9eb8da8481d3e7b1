"""Text, Markdown and LaTeX views of the kernel lab's results (JSON is the dicts themselves).

Every function takes the pure result (dict or dataclass) and a format name
``text | markdown | latex`` and returns one string; nothing here computes.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from cnnlab.kernels.probes import PROBE_LABELS, PROBE_NAMES
from cnnlab.report.table import markdown_table, text_table
from cnnlab.steps.numbers import format_number

__all__ = ["FORMATS", "render_matrix", "render_table", "render_list", "render_describe",
           "render_apply", "render_cost", "render_invariance", "to_json"]

FORMATS = ("text", "markdown", "latex")


def _num(v: Any, fmt: str = "text", digits: int | None = 4) -> str:
    """Floats rounded to ``digits``; exact values (Fractions, "1/9" strings) kept exact."""
    if isinstance(v, str):
        v = Fraction(v)
    if isinstance(v, Fraction):
        digits = None
    return format_number(v, round=digits, fmt="latex" if fmt == "latex" else "text")


def _tex(text: str) -> str:
    return (str(text).replace("\\", r"\textbackslash{}").replace("_", r"\_").replace("%", r"\%")
            .replace("&", r"\&").replace("#", r"\#").replace("^", r"\^{}")
            .replace("⊗", r"$\otimes$").replace("ᵀ", r"$^\top$").replace("<-", r"$\leftarrow$"))


def render_matrix(k: Any, fmt: str = "text", digits: int | None = 4) -> str:
    """A 2-D array: aligned rows (text), a code block (markdown) or a bmatrix (LaTeX)."""
    rows = [[_num(v, fmt, digits) for v in row] for row in np.asarray(k, dtype=object).tolist()]
    if fmt == "latex":
        body = r" \\ ".join(" & ".join(r) for r in rows)
        return r"\begin{bmatrix} " + body + r" \end{bmatrix}"
    width = max(len(c) for r in rows for c in r)
    lines = ["  " + " ".join(c.rjust(width) for c in r) for r in rows]
    return "```\n" + "\n".join(lines) + "\n```" if fmt == "markdown" else "\n".join(lines)


def _vector(v: Sequence[Any], fmt: str, digits: int | None = 4) -> str:
    items = [_num(x, fmt, digits) for x in v]
    if fmt == "latex":
        return r"\begin{bmatrix} " + " & ".join(items) + r" \end{bmatrix}"
    return "[" + ", ".join(items) + "]"


def render_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str) -> str:
    """A table in the chosen format; cells are pre-formatted strings or numbers."""
    if fmt == "markdown":
        return markdown_table(columns, rows)
    if fmt == "latex":
        spec = "l" + "r" * (len(columns) - 1)
        head = " & ".join(_tex(c) for c in columns) + r" \\ \hline"
        body = "\n".join(" & ".join(_tex(c) if isinstance(c, str) else _num(c, fmt) for c in r) + r" \\"
                         for r in rows)
        return f"\\begin{{tabular}}{{{spec}}}\n{head}\n{body}\n\\end{{tabular}}"
    return text_table(columns, rows)


def _heading(text: str, fmt: str, level: int = 2) -> str:
    if fmt == "markdown":
        return "#" * level + " " + text
    if fmt == "latex":
        return (r"\subsection*{" if level <= 2 else r"\paragraph{") + _tex(text) + "}"
    return text + "\n" + ("=" if level <= 2 else "-") * len(text)


def _para(text: str, fmt: str) -> str:
    return _tex(text) if fmt == "latex" else text


def render_list(rows: Sequence[tuple[str, ...]], fmt: str = "text") -> str:
    """The named kernels and their one-line descriptions (and sources, when rows have three)."""
    headers = ["name", "description", "source and scale"][:max(2, max(map(len, rows), default=2))]
    return render_table(headers, [list(r) for r in rows], fmt)


def _source_line(source: dict) -> str:
    from cnnlab.kernels.sources import KernelSource

    return KernelSource(source["origin"], source["reference"], source["scale"]).line()


def render_describe(d: dict, kernel: Any, name: str, fmt: str = "text", digits: int | None = 4) -> str:
    """``cnnlab kernel describe``: kernel, sum, family, symmetries, separability, probes."""
    kh, kw = d["shape"]
    matrix = render_matrix(kernel, fmt, digits)
    out = [_heading(f"Kernel {name} ({kh}x{kw})", fmt), f"\\[ K = {matrix} \\]" if fmt == "latex" else matrix]
    sum_text = _num(d.get("sum_exact", d["sum"]) if "sum_exact" in d else d["sum"], fmt, digits)
    facts = [f"source: {_source_line(d['source'])}"] if d.get("source") else []
    facts += [
        f"sum: {sum_text} -- {d['sum_kind']} ({d['sum_meaning']})",
        f"family: {d['family']} -- {d['family_meaning']}",
        "symmetry: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in d["symmetry"].items()),
    ]
    s = d["singular_values"]
    sv = ", ".join(_num(v, fmt, digits) for v in s)
    how = "exact rational elimination" if d["exact"] else "SVD, singular values below 1e-9 of the largest count as 0"
    if d["separable"]:
        col = d.get("column_exact", d["column"])
        row = d.get("row_exact", d["row"])
        if fmt == "latex":
            sep = (f"rank {d['rank']} ({how}): separable, "
                   f"$K = {_vector(col, fmt, digits)}^\\top \\otimes {_vector(row, fmt, digits)}$")
            facts = [_tex(f) for f in facts] + [_tex(f"singular values: {sv}"), sep]
        else:
            facts += [f"singular values: {sv}",
                      f"rank {d['rank']} ({how}): separable, kernel = column ⊗ row with "
                      f"column {_vector(col, fmt, digits)}ᵀ, row {_vector(row, fmt, digits)}"]
    else:
        err = f"{100 * d['rank1_error']:.1f}%"
        extra = [f"singular values: {sv}",
                 f"rank {d['rank']} ({how}): NOT separable; the best rank-1 approximation "
                 f"{_vector(d['rank1_column'], 'text', digits)}ᵀ ⊗ {_vector(d['rank1_row'], 'text', digits)} "
                 f"leaves {err} of the kernel's norm (sigma2/sigma1 = {d['sigma_ratio']:.3g})"]
        facts = [_tex(f) for f in facts + extra] if fmt == "latex" else facts + extra
    if fmt == "markdown":
        out.append("\n".join(f"- {f}" for f in facts))
    elif fmt == "latex":
        out.append("\\begin{itemize}\n" + "\n".join(f"\\item {f}" for f in facts) + "\n\\end{itemize}")
    else:
        out.append("\n".join(facts))
    out.append(_heading("Probe responses (template matching)", fmt, 3))
    out.append(_para("Each probe is a bright pattern on a dark background of the kernel's size with unit "
                     "energy; response = sum(kernel * probe), the output at the centre of an image holding "
                     "that pattern; cosine = response / |kernel|.", fmt))
    best = d["best_probe"]
    rows = [[PROBE_LABELS[p], _num(d["responses"][p], fmt, digits), _num(d["match"][p], fmt, 3),
             "<- best" if p == best else ""] for p in PROBE_NAMES]
    out.append(render_table(["probe", "response", "cosine", ""], rows, fmt))
    out.append(_para("Answer: " + d["summary"], fmt))
    return "\n\n".join(out) + "\n"


def render_apply(summary: dict, fmt: str = "text") -> str:
    """``cnnlab kernel apply``: what was filtered and statistics of input and outputs."""
    out = [_heading(f"Filtering {summary['image']} ({'x'.join(map(str, summary['shape']))})", fmt)]
    facts = [f"kernel {n}: sum {_num(s, 'text')}, {fam}" for n, s, fam in
             zip(summary["kernels"], summary["sums"], summary["families"])]
    facts.append(f"padding mode: {summary['padding_mode']} (output has the input's size; "
                 "cross-correlation, no flip)")
    if summary.get("picture"):
        facts.append(f"picture: {summary['picture']}")
    out.append("\n".join(f"- {_para(f, fmt)}" if fmt == "markdown" else _para(f, fmt) for f in facts))
    rows = [[name, st["min"], st["max"], st["mean"], st["std"], st["mean_abs"]]
            for name, st in summary["stats"].items()]
    out.append(render_table(["array", "min", "max", "mean", "std", "mean |.|"], rows, fmt))
    if summary.get("notes"):
        out.append("\n".join(_para(n, fmt) for n in summary["notes"]))
    return "\n\n".join(out) + "\n"


def render_cost(result: Any, fmt: str = "text", picture: str | None = None) -> str:
    """``cnnlab kernel cost``: counts and timings per (N, K), fitted slopes, crossover."""
    out = [_heading("Full vs separable filtering (K x K Gaussian, scipy.ndimage)", fmt)]
    rows = []
    for r in result.rows:
        c = r.counts
        rows.append([r.n, r.k, c["full_mults"], c["separable_mults"], f"{c['ratio']:g}",
                     f"{r.full_s * 1e3:.3f}", f"{r.separable_s * 1e3:.3f}",
                     f"{r.full_s / r.separable_s:.2f}", f"{r.max_difference:.1e}"])
    out.append(render_table(["N", "K", "full mults N²K²", "separable mults 2N²K", "count ratio K/2",
                             "full ms", "separable ms", "speed-up", "max |diff|"], rows, fmt))
    notes = [f"times: best of {result.repeats} runs; both outputs agree to the max |diff| shown.",
             "counts: separable needs fewer multiplies for K >= 3 (equal at K = 2)."]
    for n, k in result.crossover.items():
        notes.append(f"measured crossover at N={n}: " + (f"separable is faster from K = {k} on"
                                                          if k is not None else "separable never faster here"))
    if result.slopes:
        notes.append(f"log-log slope of time vs K (upper half of K): full {result.slopes['full']:.2f} "
                     f"(theory 2), separable {result.slopes['separable']:.2f} (theory 1; memory traffic "
                     "makes it flatter at small K)")
    if picture:
        notes.append(f"picture: {picture}")
    out.append("\n".join(("- " if fmt == "markdown" else "") + _para(n, fmt) for n in notes))
    return "\n\n".join(out) + "\n"


def _yes(v: bool) -> str:
    return "yes" if v else "no"


def render_invariance(report: dict, fmt: str = "text") -> str:
    """``cnnlab kernel invariance``: the three demonstrations as tables with their verdicts."""
    out = []
    if "shift" in report:
        out.append(_heading(f"Convolution commutes with shifts (kernel {report['kernel']}, "
                            f"image {report['image']})", fmt))
        rows = [[f"{r['shift'][0]},{r['shift'][1]}", r["stride"], r["padding"],
                 f"{r['output_shift'][0]},{r['output_shift'][1]}", r["interior_pixels"],
                 f"{r['interior_max_diff']:.3g}", r["border_pixels"], r["border_differing"],
                 f"{r['border_max_diff']:.3g}", _yes(r["equivariant_inside"])]
                for r in report["shift"]]
        out.append(render_table(["shift", "stride", "padding", "output shift", "interior px",
                                 "interior max diff", "border px", "border px differing",
                                 "border max diff", "equivariant"], rows, fmt))
        out.append(_para("conv(shift(x)) = shift(conv(x)) exactly wherever both windows see only real "
                         "image content; it breaks at the borders (zero padding, content shifted in), "
                         "holds everywhere with circular padding and a circular shift, and with stride 2 "
                         "only for even shifts (an odd shift moves the sampling grid).", fmt))
    if "pool_dots" in report:
        out.append(_heading("Max pooling absorbs small shifts", fmt))
        rows = [[r["pool"], r["shift"], f"{r['measured']:.3f}", f"{r['formula']:.3f}"]
                for r in report["pool_dots"]]
        out.append(render_table(["pool p", "shift s", "dot positions unchanged", "formula max(0,p-s)/p"],
                                rows, fmt))
        rows = [[r["shift"], r["pool"], f"{r['map_change']:.3f}", f"{r['pooled_change']:.3f}",
                 f"{r['pooled_unchanged']:.3f}"] for r in report["pool_features"]]
        out.append(render_table(["shift", "pool", "feature map change", "pooled change",
                                 "pooled cells unchanged"], rows, fmt))
        out.append(_para("A lone dot moved by s < p pixels stays in its p x p window in (p-s)/p of its "
                         "positions; from s = p on the pooled map always changes (it is then equivariant "
                         "at best, shifting by s/p). On a real feature map (relu of the kernel's output) "
                         "the pooled map changes less than the map itself, more so for larger p.", fmt))
    if "noise" in report:
        out.append(_heading(f"Averaging N noisy copies (sigma = {report['sigma']})", fmt))
        rows = [[r["n"], f"{r['measured_variance']:.4g}", f"{r['formula_variance']:.4g}",
                 f"{r['ratio']:.3f}", f"{r['z']:+.2f}", f"{r['mean_error']:+.2e}"] for r in report["noise"]]
        out.append(render_table(["N", "measured variance", "sigma^2/N", "ratio", "z (std errors)",
                                 "mean error"], rows, fmt))
        out.append(_para("The average of N independent noisy copies keeps the image (mean error ~ 0) and "
                         "divides the noise variance by N (the standard deviation by sqrt N); |z| < 3 means "
                         "the simulation agrees with sigma^2/N within 3 standard errors.", fmt))
    if report.get("picture"):
        out.append(_para(f"picture: {report['picture']}", fmt))
    return "\n\n".join(out) + "\n"


def to_json(value: Any) -> Any:
    """Drop private ``_arrays`` entries and make numpy scalars plain, recursively."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
