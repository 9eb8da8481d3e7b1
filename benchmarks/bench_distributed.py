"""What the engines buy on this machine: shared tuning (PostgreSQL) and data-parallel training.

1. Tuning throughput: the same budget of trials run by 1 worker, then by 2 workers sharing
   one study on a throwaway PostgreSQL server (tests/pg_fixture.py starts it); trials per
   minute over the whole command (process start included) and over the study's own
   window (first trial start to last trial end, read from the database).
2. Data-parallel training: one config trained by 1 process x 1 thread, 1 process x 2
   threads and 2 processes x 1 thread (``--nproc 2``); wall time of the command, training
   time from summary.json, and test accuracy.

Runs alternate (A, B, C, A, B, C, ...) so that every variant sees the same machine load;
medians are reported. Writes its section of benchmarks/RESULTS.md between the
``<!-- distributed -->`` markers.

Usage: python benchmarks/bench_distributed.py [--rounds 2] [--trials 8] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the throwaway PostgreSQL server of the tests

from results import platform_note, publish  # noqa: E402  benchmarks/results.py

START, END = "<!-- distributed -->", "<!-- /distributed -->"
ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONPATH": str(ROOT)}
TUNE = ["--data", "digits", "--model", "cnn3", "--epochs", "3", "--limit", "600",
        "--threads", "1", "--device", "cpu", "--sampler", "random", "--pruner", "none"]
TRAIN = ["--data", "digits", "--model", "cnn3", "--epochs", "4", "--batch-size", "64",
         "--device", "cpu", "--seed", "0"]


def _load() -> str:
    return ", ".join(f"{v:.1f}" for v in os.getloadavg())


def tune_round(url: str, workers: int, trials: int, out: Path, study: str) -> dict:
    """``trials`` trials split over ``workers`` processes; wall and study-window times."""
    import optuna

    from cnnlab.tune.shared import resolve_driver

    per = trials // workers
    tic = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "cnnlab", "tune", *TUNE, "--trials", str(per),
                               "--storage", url, "--study", study, "--out", str(out / f"w{k}")],
                              env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for k in range(workers)]
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"tune worker failed:\n{err}")
    wall = time.perf_counter() - tic
    done = optuna.load_study(study_name=study, storage=resolve_driver(url)).trials
    complete = [t for t in done if t.state.name == "COMPLETE"]
    window = (max(t.datetime_complete for t in complete)
              - min(t.datetime_start for t in complete)).total_seconds()
    return {"wall": wall, "window": window, "trials": len(complete),
            "numbers": sorted(t.number for t in done)}


def train_round(procs: int, threads: int, out: Path) -> dict:
    extra = ["--nproc", str(procs)] if procs > 1 else []
    tic = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "cnnlab", "train", *TRAIN, "--threads",
                           str(threads), *extra, "--out", str(out), "--json"],
                          env=ENV, capture_output=True, text=True)
    wall = time.perf_counter() - tic
    if done.returncode != 0:
        raise SystemExit(f"train failed:\n{done.stderr}")
    summary = json.loads((out / "summary.json").read_text())
    return {"wall": wall, "train": summary["train_seconds"], "acc": summary["test_accuracy"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--trials", type=int, default=8, help="trials per tuning run (even)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    from pg_fixture import pg_bindir, start_server, stop_server

    bindir = pg_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL server binaries not found (apt-get install postgresql)")
    load_before = _load()
    tune: dict[int, list[dict]] = {1: [], 2: []}
    train: dict[str, list[dict]] = {"1 x 1 thread": [], "1 x 2 threads": [], "2 x 1 thread": []}
    server = start_server(bindir)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-dist-") as tmp:
            for r in range(args.rounds):
                for workers in (1, 2):
                    url = server.new_database()
                    row = tune_round(url, workers, args.trials, Path(tmp) / f"t{r}-{workers}", "bench")
                    assert row["numbers"] == list(range(args.trials)), row
                    tune[workers].append(row)
                    print(f"tune round {r}: {workers} worker(s) {row}", flush=True)
                for name, (procs, threads) in {"1 x 1 thread": (1, 1), "1 x 2 threads": (1, 2),
                                               "2 x 1 thread": (2, 1)}.items():
                    row = train_round(procs, threads, Path(tmp) / f"r{r}-{procs}-{threads}")
                    train[name].append(row)
                    print(f"train round {r}: {name} {row}", flush=True)
    finally:
        stop_server(server)
    publish(report(args, tune, train, load_before, _load()), START, END, write=not args.no_write)


def _med(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def _walls(rows: list[dict]) -> str:
    return ", ".join(f"{r['wall']:.1f}" for r in rows)


def report(args, tune, train, load_before: str, load_after: str) -> str:
    when = datetime.date.today().isoformat()
    lines = [
        START,
        "## Beyond one machine: shared tuning study (PostgreSQL) and data-parallel training",
        "",
        f"Measured {when} by `python benchmarks/bench_distributed.py --rounds {args.rounds} "
        f"--trials {args.trials}` ({args.rounds} alternating rounds, medians; "
        f"{platform_note()}). **The "
        f"machine was shared with other helpers' jobs while this ran** (1/5/15-minute load "
        f"average {load_before} before, {load_after} after, on 2 cores), so the figures are "
        f"noisy and say what happens on a busy 2-core box. No GPU was lent: the nccl path "
        f"(`--device cuda`) is unmeasured.",
        "",
        f"Tuning: {args.trials} trials of `{' '.join(TUNE)}` on one study in a throwaway "
        f"PostgreSQL 15 server; 2 workers run {args.trials // 2} trials each.",
        "",
        "| workers | wall (s) | trials/min (wall) | study window (s) | trials/min (window) | runs (wall s) |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for workers, rows in tune.items():
        wall, window = _med(rows, "wall"), _med(rows, "window")
        lines.append(f"| {workers} | {wall:.1f} | {60 * args.trials / wall:.1f} | {window:.1f} | "
                     f"{60 * args.trials / window:.1f} | "
                     f"{_walls(rows)} |")
    speed = _med(tune[1], "wall") / _med(tune[2], "wall")
    lines += ["", f"2 workers vs 1: **{speed:.2f}x** the throughput (wall). Every trial number "
              f"0..{args.trials - 1} appeared once in every run.", "",
              f"Training: `cnnlab train {' '.join(TRAIN)}` (1,259 training images).", "",
              "| processes x threads | wall (s) | training (s) | test accuracy | runs (wall s) |",
              "|---|---:|---:|---:|---|"]
    for name, rows in train.items():
        lines.append(f"| {name} | {_med(rows, 'wall'):.1f} | {_med(rows, 'train'):.2f} | "
                     f"{_med(rows, 'acc'):.4f} | {_walls(rows)} |")
    ratio = _med(train["1 x 2 threads"], "train") / _med(train["2 x 1 thread"], "train")
    lines += ["", f"Training time, 1 process x 2 threads / 2 processes x 1 thread: "
              f"**{ratio:.2f}** (above 1: the two processes were faster). Wall times include "
              f"process start-up: `--nproc 2` starts three Python processes that each import "
              f"torch. On 2 busy cores, neither a second worker nor a second rank adds "
              f"compute; they pay off where each worker or rank has cores (or a GPU) of its own.",
              END]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
