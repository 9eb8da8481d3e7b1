"""Data held as stored: peak resident memory and images/s of `cnnlab train` on CIFAR-10 at 32 and 224.

A CIFAR-format stand-in (60,000 random uint8 images, 32×32×3, in the five python
``data_batch_*`` files and ``test_batch`` that CIFAR-10 ships) is written to a scratch
folder; then ``cnnlab train --data cifar10 --resize HxW`` trains one epoch of a small
spec CNN on it in a fresh process per size, which reports its own peak RSS
(``getrusage``) and the run's summary. Before issue 22 the 224×224 run was refused
(every split held as float32: 36 GB). Writes its section of benchmarks/RESULTS.md
between the ``<!-- data -->`` markers; docs/limits.md ("Memory") states the rule.

    python benchmarks/bench_data.py              # full epoch (45,000 images) at 32 and 224
    python benchmarks/bench_data.py --quick      # 2,560 training images, not written
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from results import publish  # noqa: E402  (benchmarks/results.py)

START, END = "<!-- data -->", "<!-- /data -->"
# a stride-4 stem keeps the model's share small at 224, so the figure is mostly the data path
MODEL = "conv 4x4 16 s4; bn; relu; maxpool 2; conv 3x3 32 p1; bn; relu; gap; fc 10"
BATCH = 256
SIZES = (32, 224)
RSS_LIMIT_MIB = 2048  # the contract's bound (docs/limits.md)


def write_standin(folder: Path, seed: int = 0) -> None:
    """CIFAR-10's python batches filled with random uint8 images and labels (60,000 in all)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (10_000, 3072), dtype=np.uint8),
                 b"labels": rng.integers(0, 10, 10_000).tolist()}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=4))


def child(args: argparse.Namespace) -> None:
    """Run one `cnnlab train` in this process; print its summary and this process's peak RSS."""
    from cnnlab.cli.main import main as run

    argv = ["train", "--data", "cifar10", "--data-dir", args.data_dir, "--model", MODEL,
            "--resize", f"{args.size}x{args.size}", "--epochs", "1", "--batch-size", str(BATCH),
            "--val-fraction", "0.02", "--out", args.out, "--lr", "0.01"]
    if args.limit:
        argv += ["--limit", str(args.limit)]
    tic = time.perf_counter()
    code = run(argv)
    wall = time.perf_counter() - tic
    summary = json.loads((Path(args.out) / "summary.json").read_text()) if code == 0 else {}
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"code": code, "wall": wall, "peak_mib": peak_kib / 1024, "summary": summary}))


def measure(size: int, data_dir: Path, out: Path, limit: int | None) -> dict:
    command = [sys.executable, __file__, "--child", "--size", str(size), "--data-dir", str(data_dir),
               "--out", str(out / f"run{size}")] + (["--limit", str(limit)] if limit else [])
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"size {size} failed:\n{done.stderr[-2000:]}")
    result = json.loads(lines[-1])
    s = result["summary"]
    result["images_per_s"] = s["n_train"] / s["train_seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,560 training images; results not written")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    limit = 2560 if args.quick else None
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = Path(scratch) / "cifar-10-batches-py"
        write_standin(data_dir)
        rows = {size: measure(size, data_dir, Path(scratch), limit) for size in SIZES}
    load = open("/proc/loadavg").read().split()[:3]
    lines = [f"## Data held as stored: `cnnlab train --data cifar10 --resize HxW` (CIFAR-format stand-in)",
             "",
             f"{datetime.date.today()}, `python benchmarks/bench_data.py`{' --quick' if args.quick else ''}; "
             f"load average {' '.join(load)} after the runs (2 shared cores). 60,000 random uint8 "
             f"images 32×32×3 in CIFAR-10's python batches; one epoch of `{MODEL}` at batch {BATCH}, "
             "validation 2% of the training batches (1,000 images), the full test batch (10,000) scored. "
             "Peak RSS is the training process's own (`getrusage`), images/s the training epoch's "
             "(examples / train_seconds). Before issue 22 the 224 run was refused (every split as "
             "float32: 60,000 × 3 × 224 × 224 × 4 B = 36 GB).",
             "",
             "| size | training images | images/s (train) | epoch s | whole run s | peak RSS MiB | within 2 GiB |",
             "|---|---|---|---|---|---|---|"]
    for size, r in rows.items():
        s = r["summary"]
        lines.append(f"| {size}×{size} | {s['n_train']:,} | {r['images_per_s']:.0f} | {s['train_seconds']:.1f} | "
                     f"{r['wall']:.1f} | {r['peak_mib']:.0f} | {'yes' if r['peak_mib'] <= RSS_LIMIT_MIB else 'NO'} |")
    publish("\n".join(lines), START, END, write=not args.quick)


if __name__ == "__main__":
    main()
