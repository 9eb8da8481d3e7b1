"""Cost of full vs separable filtering: operation counts and measured times.

Filtering an N×N image with a K×K kernel ("same" output, N² pixels) costs K² multiplies
per pixel; when the kernel is separable (k = c ⊗ r) two 1-D passes cost 2K, so the
ratio is K/2: separable wins for K ≥ 3, ties at K = 2 (4 multiplies each). Timings use
``scipy.ndimage.correlate`` (the full 2-D kernel) against two ``correlate1d`` passes,
on a K×K Gaussian, best of ``repeats`` runs; the two outputs are checked to agree.

>>> c = operation_counts(100, 5)
>>> c["full_mults"], c["separable_mults"], c["ratio"]
(250000, 100000, 2.5)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from cnnlab.errors import UsageError, check_shape

__all__ = ["operation_counts", "CostRow", "CostResult", "measure_cost", "loglog_slope", "plot_cost",
           "MAX_COST_WORK"]

MAX_COST_WORK = 5e9  # N²·K² multiplies summed over all runs: ~15 s at most on one core


def operation_counts(n: int, k: int) -> dict:
    """Multiplies and additions of full (N²K²) vs separable (2N²K) filtering of an N×N image.

    Additions: K²−1 per pixel for the full kernel, 2(K−1) for the two passes.
    """
    px = n * n
    full_m, sep_m = px * k * k, 2 * px * k
    return {"n": n, "k": k, "full_mults": full_m, "full_adds": px * (k * k - 1),
            "separable_mults": sep_m, "separable_adds": 2 * px * (k - 1),
            "ratio": full_m / sep_m}


@dataclass
class CostRow:
    """One (N, K) measurement; times in seconds."""

    n: int
    k: int
    counts: dict
    full_s: float
    separable_s: float
    max_difference: float  # max |full − separable| over the output


@dataclass
class CostResult:
    rows: list[CostRow] = field(default_factory=list)
    repeats: int = 3
    slopes: dict[str, float] = field(default_factory=dict)  # log-log slope of time vs K
    crossover: dict[int, int | None] = field(default_factory=dict)  # N -> smallest K where separable is faster


def _best_time(fn, repeats: int) -> tuple[float, np.ndarray]:
    best, out = math.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def loglog_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of log y against log x (the exponent of a power law)."""
    lx, ly = np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float))
    return float(np.polyfit(lx, ly, 1)[0])


def measure_cost(sizes: Sequence[int], ks: Sequence[int], repeats: int = 3, seed: int = 0) -> CostResult:
    """Time full vs separable Gaussian filtering for every N in ``sizes`` and K in ``ks``.

    Slopes are fitted over the upper half of the K values at the largest N: at small K
    both methods are dominated by memory traffic and per-call overhead, not multiplies
    (measured: separable time is flat from K=3 to K=9 at N=256). Expect about 2 (full)
    and 1 (separable) when K reaches a few dozen.
    """
    from scipy import ndimage

    from cnnlab.kernels.named import gaussian_kernel

    sizes, ks = sorted(set(int(n) for n in sizes)), sorted(set(int(k) for k in ks))
    if not sizes or not ks:
        raise UsageError("give at least one size and one kernel size")
    if repeats < 1:
        raise UsageError("--repeats must be at least 1")
    for n in sizes:
        check_shape((n, n), "image")
    for k in ks:
        if k < 1:
            raise UsageError(f"kernel size must be a positive integer, got {k}")
        if k > min(sizes):
            raise UsageError(f"kernel size {k} is larger than the image size {min(sizes)}")
    work = repeats * sum(n * n * k * k for n in sizes for k in ks)
    if work > MAX_COST_WORK:
        raise UsageError(f"that is {work:.2g} multiplies to time, over the limit of {MAX_COST_WORK:.0g}: "
                         "use smaller --size or --k")
    rng = np.random.default_rng(seed)
    result = CostResult(repeats=repeats)
    for n in sizes:
        x = rng.random((n, n))
        for k in ks:
            g2 = gaussian_kernel(k, max(k / 6.0, 0.5))
            g1 = g2[k // 2] / g2[k // 2].sum()  # the 1-D factor: g2 = g1 ⊗ g1
            t_full, full = _best_time(lambda: ndimage.correlate(x, g2, mode="reflect"), repeats)
            t_sep, sep = _best_time(lambda: ndimage.correlate1d(
                ndimage.correlate1d(x, g1, axis=0, mode="reflect"), g1, axis=1, mode="reflect"), repeats)
            result.rows.append(CostRow(n, k, operation_counts(n, k), t_full, t_sep,
                                       float(np.abs(full - sep).max())))
        faster = [r.k for r in result.rows if r.n == n and r.separable_s < r.full_s]
        result.crossover[n] = min(faster) if faster else None
    k_mid = ks[len(ks) // 2]
    big = [r for r in result.rows if r.n == sizes[-1] and r.k >= k_mid]
    if len(big) >= 2:
        result.slopes = {"full": loglog_slope([r.k for r in big], [r.full_s for r in big]),
                         "separable": loglog_slope([r.k for r in big], [r.separable_s for r in big])}
    return result


def plot_cost(result: CostResult, path: str | Path) -> Path:
    """Log-log: multiplies (left) and measured seconds (right) against K, full vs separable."""
    from matplotlib import colormaps

    from cnnlab.report.figures import new_figure, write_png  # Agg canvas: a notebook's backend is left alone

    fig = new_figure(11, 4.2)
    ax1, ax2 = fig.subplots(1, 2)
    sizes = sorted({r.n for r in result.rows})
    for i, n in enumerate(sizes):
        rows = [r for r in result.rows if r.n == n]
        ks = [r.k for r in rows]
        color = colormaps["viridis"](i / max(1, len(sizes) - 1) * 0.8)
        ax1.loglog(ks, [r.counts["full_mults"] for r in rows], "o-", color=color, label=f"full N={n}: N²K²")
        ax1.loglog(ks, [r.counts["separable_mults"] for r in rows], "s--", color=color,
                   label=f"separable N={n}: 2N²K")
        ax2.loglog(ks, [r.full_s for r in rows], "o-", color=color, label=f"full N={n}")
        ax2.loglog(ks, [r.separable_s for r in rows], "s--", color=color, label=f"separable N={n}")
        cross = result.crossover.get(n)
        if cross is not None:
            ax2.axvline(cross, color=color, lw=0.8, ls=":")
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    all_ks = sorted({r.k for r in result.rows})
    for ax in (ax1, ax2):
        ax.set_xticks(all_ks)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    for n, cross in result.crossover.items():
        if cross is not None:
            ax2.text(cross, ax2.get_ylim()[1], f" separable faster from K={cross}", va="top", fontsize=8)
    ax1.set(xlabel="kernel size K", ylabel="multiplies", title="operation counts")
    title = "measured time (best of %d)" % result.repeats
    if result.slopes:
        title += f"\nslopes: full {result.slopes['full']:.2f}, separable {result.slopes['separable']:.2f}"
    ax2.set(xlabel="kernel size K", ylabel="seconds", title=title)
    for ax in (ax1, ax2):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    write_png(fig, path, dpi=100)
    return path
