"""Exact (Fraction) conv2d: the int64-numerator path against Fraction-by-Fraction arithmetic.

Both paths give identical Fractions (tests/test_ops_conv.py checks that); this measures
what the integer path saves. Runs alternate (integer, Fraction, integer, ...) on the same
input so both see the same machine load; medians are compared. Writes its section of
benchmarks/RESULTS.md between the ``<!-- exact -->`` markers.

Usage: python benchmarks/bench_exact.py [--size 300] [--runs 3] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import time
from fractions import Fraction

import numpy as np

from cnnlab import ops
from cnnlab.ops import conv as conv_module
from results import make_section, platform_note, publish, table  # benchmarks/results.py (scripts run from this folder)

START, END = "<!-- exact -->", "<!-- /exact -->"


def case(size: int):
    rng = np.random.default_rng(0)
    x = np.array([Fraction(int(v)) for v in rng.integers(0, 10, size * size)], dtype=object).reshape(size, size)
    k = np.array([[Fraction(1, 2), Fraction(1, 3), 1], [1, Fraction(-1, 4), 1], [1, 1, 1]], dtype=object)
    return x, k


def measure(size: int, runs: int) -> dict:
    x, k = case(size)
    fast_path = conv_module._correlate_exact
    fast, slow = [], []
    for _ in range(runs):
        t = time.perf_counter()
        a = ops.conv2d(x, k, bias=Fraction(1, 8), padding=1)
        fast.append(time.perf_counter() - t)
        conv_module._correlate_exact = lambda *args, **kw: None  # Fractions only
        try:
            t = time.perf_counter()
            b = ops.conv2d(x, k, bias=Fraction(1, 8), padding=1)
            slow.append(time.perf_counter() - t)
        finally:
            conv_module._correlate_exact = fast_path
        assert (a == b).all()
    return {"size": size, "runs": runs, "fast": fast, "slow": slow}


def section(r: dict) -> str:
    mf, ms = statistics.median(r["fast"]), statistics.median(r["slow"])
    secs = lambda xs: ", ".join(f"{x:.2f}" for x in xs)  # noqa: E731
    n = r["size"]
    return make_section(
        START, END,
        f"## Exact conv2d: {n}×{n} input, 3×3 kernel of fractions, padding 1, bias 1/8",
        f"Measured {datetime.date.today()} by `python benchmarks/bench_exact.py --size {n}` "
        f"({r['runs']} alternating runs; {platform_note()}, shared machine). "
        "Both paths give identical Fractions.",
        table(["path", "median (s)", "runs (s)"], [
            ["int64 numerators / common denominator", f"{mf:.2f}", secs(r["fast"])],
            ["Fraction by Fraction (object einsum)", f"{ms:.2f}", secs(r["slow"])],
        ], right=[1]),
        f"Speed-up: **{ms / mf:.1f}×**.",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    publish(section(measure(args.size, args.runs)), START, END, write=not args.no_write)


if __name__ == "__main__":
    main()
