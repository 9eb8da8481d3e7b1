"""The kernel lab's results as documents (:mod:`cnnlab.doc`), written in any format.

Every ``*_blocks`` function takes the pure result (dict or dataclass) and builds blocks
(headings, facts, tables, the kernel as a matrix) without asking for the format; the
``render_*`` functions hand them to the writer of ``text | markdown | latex | html``
(JSON is the dicts themselves, :func:`to_json`). Nothing here computes.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from cnnlab.doc import DOCUMENT_FORMATS
from cnnlab.doc import write
from cnnlab.doc.blocks import Block, Bullets, Heading, Matrices, Paragraph, Table, TensorGrid
from cnnlab.doc.cells import value_table
from cnnlab.doc.expr import Vector
from cnnlab.doc.numbers import format_number, round_half_away
from cnnlab.kernels.probes import PROBE_LABELS, PROBE_NAMES

__all__ = ["FORMATS", "list_blocks", "describe_blocks", "apply_blocks", "cost_blocks",
           "invariance_blocks", "render_list", "render_describe", "render_apply", "render_cost",
           "render_invariance", "to_json"]

FORMATS = DOCUMENT_FORMATS


def _value(v: Any, digits: int | None = 4) -> Any:
    """A number to show: floats rounded to ``digits``; exact values (Fractions, "1/9") kept exact."""
    if isinstance(v, str):
        v = Fraction(v)
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, Fraction) or isinstance(v, (int, bool)) or digits is None:
        return v
    return round_half_away(float(v), digits)


def _num(v: Any, digits: int | None = 4) -> str:
    """One number as table text (``1/9``, ``0.1925``)."""
    return format_number(_value(v, digits))


def list_blocks(rows: Sequence[tuple[str, ...]]) -> list[Block]:
    """The named kernels and their one-line descriptions (and sources, when rows have three)."""
    headers = ["name", "description", "source and scale"][:max(2, max(map(len, rows), default=2))]
    return [value_table(headers, [list(r) for r in rows])]


def render_list(rows: Sequence[tuple[str, ...]], fmt: str = "text") -> str:
    """``cnnlab kernel list`` in ``fmt`` (no final newline)."""
    return write(list_blocks(rows), fmt).removesuffix("\n")


def _source_line(source: dict) -> str:
    from cnnlab.kernels.sources import KernelSource

    return KernelSource(source["origin"], source["reference"], source["scale"]).line()


def _vector(v: Sequence[Any], digits: int | None) -> Vector:
    return Vector(tuple(_value(x, digits) for x in v))


def describe_blocks(d: dict, kernel: Any, name: str, digits: int | None = 4) -> list[Block]:
    """``cnnlab kernel describe``: kernel, sum, family, symmetries, separability, probes."""
    kh, kw = d["shape"]
    values = [[_value(v, digits) for v in row] for row in np.asarray(kernel, dtype=object).tolist()]
    matrix = Matrices([("", TensorGrid(values, limit=None))], lhs="K")
    facts: list = [f"source: {_source_line(d['source'])}"] if d.get("source") else []
    sum_text = _num(d.get("sum_exact", d["sum"]) if "sum_exact" in d else d["sum"], digits)
    facts += [
        f"sum: {sum_text} -- {d['sum_kind']} ({d['sum_meaning']})",
        f"family: {d['family']} -- {d['family_meaning']}",
        "symmetry: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in d["symmetry"].items()),
        "singular values: " + ", ".join(_num(v, digits) for v in d["singular_values"]),
    ]
    how = "exact rational elimination" if d["exact"] else "SVD, singular values below 1e-9 of the largest count as 0"
    if d["separable"]:
        col = d.get("column_exact", d["column"])
        row = d.get("row_exact", d["row"])
        facts.append([f"rank {d['rank']} ({how}): separable, kernel = column ⊗ row with column ",
                      _vector(col, digits), "ᵀ, row ", _vector(row, digits)])
    else:
        facts.append([f"rank {d['rank']} ({how}): NOT separable; the best rank-1 approximation ",
                      _vector(d["rank1_column"], digits), "ᵀ ⊗ ", _vector(d["rank1_row"], digits),
                      f" leaves {100 * d['rank1_error']:.1f}% of the kernel's norm "
                      f"(sigma2/sigma1 = {d['sigma_ratio']:.3g})"])
    best = d["best_probe"]
    rows = [[PROBE_LABELS[p], _num(d["responses"][p], digits), _num(d["match"][p], 3),
             "<- best" if p == best else ""] for p in PROBE_NAMES]
    return [Heading(f"Kernel {name} ({kh}x{kw})"), matrix, Bullets(facts),
            Heading("Probe responses (template matching)"),
            Paragraph("Each probe is a bright pattern on a dark background of the kernel's size with unit "
                      "energy; response = sum(kernel * probe), the output at the centre of an image holding "
                      "that pattern; cosine = response / |kernel|."),
            Table(["probe", "response", "cosine", ""], rows, align="lrrl"),
            Paragraph("Answer: " + d["summary"])]


def render_describe(d: dict, kernel: Any, name: str, fmt: str = "text", digits: int | None = 4) -> str:
    """``cnnlab kernel describe`` in ``fmt``."""
    return write(describe_blocks(d, kernel, name, digits), fmt)


def apply_blocks(summary: dict) -> list[Block]:
    """``cnnlab kernel apply``: what was filtered and statistics of input and outputs."""
    facts = [f"kernel {n}: sum {_num(s)}, {fam}" for n, s, fam in
             zip(summary["kernels"], summary["sums"], summary["families"])]
    facts.append(f"padding mode: {summary['padding_mode']} (output has the input's size; "
                 "cross-correlation, no flip)")
    if summary.get("picture"):
        facts.append(f"picture: {summary['picture']}")
    rows = [[name, st["min"], st["max"], st["mean"], st["std"], st["mean_abs"]]
            for name, st in summary["stats"].items()]
    return [Heading(f"Filtering {summary['image']} ({'x'.join(map(str, summary['shape']))})"), Bullets(facts),
            value_table(["array", "min", "max", "mean", "std", "mean |.|"], rows),
            *([Bullets(list(summary["notes"]))] if summary.get("notes") else [])]


def render_apply(summary: dict, fmt: str = "text") -> str:
    """``cnnlab kernel apply`` in ``fmt``."""
    return write(apply_blocks(summary), fmt)


def cost_blocks(result: Any, picture: str | None = None) -> list[Block]:
    """``cnnlab kernel cost``: counts and timings per (N, K), fitted slopes, crossover."""
    rows = []
    for r in result.rows:
        c = r.counts
        rows.append([r.n, r.k, c["full_mults"], c["separable_mults"], f"{c['ratio']:g}",
                     f"{r.full_s * 1e3:.3f}", f"{r.separable_s * 1e3:.3f}",
                     f"{r.full_s / r.separable_s:.2f}", f"{r.max_difference:.1e}"])
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
    return [Heading("Full vs separable filtering (K x K Gaussian, scipy.ndimage)"),
            value_table(["N", "K", "full mults N²K²", "separable mults 2N²K", "count ratio K/2",
                         "full ms", "separable ms", "speed-up", "max |diff|"], rows),
            Bullets(notes)]


def render_cost(result: Any, fmt: str = "text", picture: str | None = None) -> str:
    """``cnnlab kernel cost`` in ``fmt``."""
    return write(cost_blocks(result, picture), fmt)


def _yes(v: bool) -> str:
    return "yes" if v else "no"


def invariance_blocks(report: dict) -> list[Block]:
    """``cnnlab kernel invariance``: the three demonstrations as tables with their verdicts."""
    out: list[Block] = []
    if "shift" in report:
        rows = [[f"{r['shift'][0]},{r['shift'][1]}", r["stride"], r["padding"],
                 f"{r['output_shift'][0]},{r['output_shift'][1]}", r["interior_pixels"],
                 f"{r['interior_max_diff']:.3g}", r["border_pixels"], r["border_differing"],
                 f"{r['border_max_diff']:.3g}", _yes(r["equivariant_inside"])]
                for r in report["shift"]]
        out += [Heading(f"Convolution commutes with shifts (kernel {report['kernel']}, image {report['image']})"),
                value_table(["shift", "stride", "padding", "output shift", "interior px", "interior max diff",
                             "border px", "border px differing", "border max diff", "equivariant"], rows,
                            caption="conv(shift(x)) = shift(conv(x)) exactly wherever both windows see only real "
                                    "image content; it breaks at the borders (zero padding, content shifted in), "
                                    "holds everywhere with circular padding and a circular shift, and with "
                                    "stride 2 only for even shifts (an odd shift moves the sampling grid).")]
    if "pool_dots" in report:
        dots = [[r["pool"], r["shift"], f"{r['measured']:.3f}", f"{r['formula']:.3f}"] for r in report["pool_dots"]]
        features = [[r["shift"], r["pool"], f"{r['map_change']:.3f}", f"{r['pooled_change']:.3f}",
                     f"{r['pooled_unchanged']:.3f}"] for r in report["pool_features"]]
        out += [Heading("Max pooling absorbs small shifts"),
                value_table(["pool p", "shift s", "dot positions unchanged", "formula max(0,p-s)/p"], dots),
                value_table(["shift", "pool", "feature map change", "pooled change", "pooled cells unchanged"],
                            features),
                Paragraph("A lone dot moved by s < p pixels stays in its p x p window in (p-s)/p of its "
                          "positions; from s = p on the pooled map always changes (it is then equivariant "
                          "at best, shifting by s/p). On a real feature map (relu of the kernel's output) "
                          "the pooled map changes less than the map itself, more so for larger p.")]
    if "noise" in report:
        rows = [[r["n"], f"{r['measured_variance']:.4g}", f"{r['formula_variance']:.4g}",
                 f"{r['ratio']:.3f}", f"{r['z']:+.2f}", f"{r['mean_error']:+.2e}"] for r in report["noise"]]
        out += [Heading(f"Averaging N noisy copies (sigma = {report['sigma']})"),
                value_table(["N", "measured variance", "sigma^2/N", "ratio", "z (std errors)", "mean error"], rows,
                            caption="The average of N independent noisy copies keeps the image (mean error ~ 0) "
                                    "and divides the noise variance by N (the standard deviation by sqrt N); "
                                    "|z| < 3 means the simulation agrees with sigma^2/N within 3 standard "
                                    "errors.")]
    if report.get("picture"):
        out.append(Paragraph(f"picture: {report['picture']}"))
    return out


def render_invariance(report: dict, fmt: str = "text") -> str:
    """``cnnlab kernel invariance`` in ``fmt``."""
    return write(invariance_blocks(report), fmt)


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
