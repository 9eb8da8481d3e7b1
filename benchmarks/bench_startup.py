"""Startup time of ``cnnlab conv`` on a 3×3 input against ``python -c "import numpy"``.

The bar (issue 20): ``cnnlab conv`` takes at most 1.6 times the time of importing NumPy,
now that the command goes through the Python API (``cnnlab.api.ops.conv``) and the
document writers (:mod:`cnnlab.doc`, each writer imported only when its format is asked).
Runs alternate (numpy, cnnlab, numpy, cnnlab, ...) so both see the same machine load;
the medians are compared. Writes its section of benchmarks/RESULTS.md between the
``<!-- startup -->`` markers (other sections are left alone).

Usage: python benchmarks/bench_startup.py [--runs 10] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from results import make_section, platform_note, publish, table  # benchmarks/results.py (scripts run from this folder)

START, END = "<!-- startup -->", "<!-- /startup -->"
CONV_ARGS = ["conv", "--input", "1 2 3;4 5 6;7 8 9", "--kernel", "1 0;0 -1"]


def cnnlab_command() -> list[str]:
    """The installed console script next to this Python, else ``python -m cnnlab.cli.main``."""
    script = Path(sys.executable).with_name("cnnlab")
    if script.exists():
        return [str(script)]
    found = shutil.which("cnnlab")
    return [found] if found else [sys.executable, "-m", "cnnlab.cli.main"]


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def measure(runs: int) -> dict:
    numpy_cmd = [sys.executable, "-c", "import numpy"]
    conv_cmd = cnnlab_command() + CONV_ARGS
    timed(numpy_cmd), timed(conv_cmd)  # warm the file cache
    numpy_times, conv_times = [], []
    for _ in range(runs):
        numpy_times.append(timed(numpy_cmd))
        conv_times.append(timed(conv_cmd))
    return {"runs": runs, "numpy": numpy_times, "conv": conv_times, "command": conv_cmd}


def section(r: dict) -> str:
    med_n, med_c = statistics.median(r["numpy"]), statistics.median(r["conv"])
    ms = lambda xs: ", ".join(f"{1000 * x:.0f}" for x in xs)  # noqa: E731
    cmd = " ".join(["cnnlab", *(f"'{a}'" if " " in a else a for a in CONV_ARGS)])
    return make_section(
        START, END,
        "## Startup: `cnnlab conv` on a 3×3 input vs `python -c \"import numpy\"`",
        f"Measured by `python benchmarks/bench_startup.py` ({r['runs']} alternating runs each; "
        f"{platform_note()}, "
        f"a machine shared with other jobs (load average {os.getloadavg()[0]:.1f} at the end), so single runs "
        "are noisy: compare the medians).",
        table(["command", "median (ms)", "min (ms)", "runs (ms)"], [
            ["`python -c \"import numpy\"`", f"{1000 * med_n:.0f}", f"{1000 * min(r['numpy']):.0f}", ms(r["numpy"])],
            [f"`{cmd}`", f"{1000 * med_c:.0f}", f"{1000 * min(r['conv']):.0f}", ms(r["conv"])],
        ], right=[1, 2]),
        f"Ratio of medians: **{med_c / med_n:.2f}×** (target: at most 1.6×).",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    publish(section(measure(args.runs)), START, END, write=not args.no_write)


if __name__ == "__main__":
    main()
