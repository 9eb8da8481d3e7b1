"""cnnlab's training loop vs a plain hand-written PyTorch loop on the same tensors.

Both train small-cnn for one epoch on the same 10,000 pre-normalised MNIST images (or
synthetic ones of that size when MNIST is not fetched), batch 64, Adam, from the same
initial weights, batching by indexing a random permutation. A third variant, the usual
TensorDataset + DataLoader(shuffle=True), shows what cnnlab avoids. The variants run in
rotation (A B C A B C ...) so drifts in machine load hit all of them alike.

    python benchmarks/bench_train_loop.py [--repeats 3] [--n 10000]

Writes its section of benchmarks/RESULTS.md (between <!-- train-loop --> markers).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from cnnlab.models import get_model
from cnnlab.train.loop import train_epoch
from results import publish  # benchmarks/results.py (scripts run from this folder)

START, END = "<!-- train-loop -->", "<!-- /train-loop -->"


def load_tensors(n: int):
    """x: (n, 1, 28, 28) normalised, y: (n,) long; MNIST when present, else synthetic."""
    try:
        from cnnlab.data import load_dataset
        from cnnlab.errors import UsageError

        try:
            ds = load_dataset("mnist", limit=n)
            x, y, source = ds.x_train, ds.y_train, f"MNIST (first {n} of a stratified subsample)"
        except UsageError:
            raise ImportError
    except ImportError:
        rng = np.random.default_rng(0)
        x = rng.random((n, 1, 28, 28), dtype=np.float32)
        y = rng.integers(0, 10, n)
        source = f"synthetic uniform noise, {n} x 1x28x28"
    x = (x - x.mean()) / x.std()
    return torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long), source


def plain_epoch(model, opt, x, y, batch_size, gen):
    """The loop a PyTorch user writes by hand."""
    model.train()
    perm = torch.randperm(len(x), generator=gen)
    total = 0.0
    for i in range(0, len(x), batch_size):
        idx = perm[i:i + batch_size]
        opt.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        total += loss.item()
    return total


def dataloader_epoch(model, opt, x, y, batch_size, gen):
    """TensorDataset + DataLoader(shuffle=True): per-item indexing and collation."""
    from torch.utils.data import DataLoader, TensorDataset

    model.train()
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, generator=gen)
    total = 0.0
    for xb, yb in loader:
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        total += loss.item()
    return total


def cnnlab_epoch(model, opt, x, y, batch_size, gen):
    return train_epoch(model, opt, x, y, batch_size, gen)


VARIANTS = {"cnnlab train_epoch": cnnlab_epoch, "plain hand-written loop": plain_epoch,
            "DataLoader loop": dataloader_epoch}


def time_epoch(fn, x, y, batch_size: int, seed: int) -> float:
    torch.manual_seed(0)
    model = get_model("small-cnn", 1, 10, (28, 28))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    tic = time.perf_counter()
    fn(model, opt, x, y, batch_size, gen)
    return time.perf_counter() - tic


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        text = Path("/proc/cpuinfo").read_text()
        cpu = re.search(r"model name\s*:\s*(.+)", text).group(1).strip()
    except (OSError, AttributeError):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu}; {os.cpu_count()} logical cores; torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads; Python {platform.python_version()}; "
            f"load average at start {load:.1f}")



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    torch.set_num_threads(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                          else os.cpu_count() or 1)
    x, y, source = load_tensors(args.n)
    info = machine()
    for fn in VARIANTS.values():  # warm-up: first-call allocations and thread pools
        time_epoch(fn, x[:640], y[:640], args.batch_size, 0)
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for r in range(args.repeats):
        for name, fn in VARIANTS.items():
            times[name].append(time_epoch(fn, x, y, args.batch_size, seed=r))
            print(f"repeat {r + 1}: {name}: {times[name][-1]:.2f} s", flush=True)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = ["## Training loop: cnnlab vs a hand-written PyTorch loop", "",
             f"`python benchmarks/bench_train_loop.py` — {date}", "",
             f"Machine: {info}.", "",
             f"One epoch of small-cnn (21,840 params), batch {args.batch_size}, Adam, on {source}; "
             f"{args.repeats} repeats in rotation (A B C A B C ...), same initial weights.", "",
             "| loop | median s/epoch | fastest s/epoch | all repeats (s) | paired ratio to plain (median) | fastest / fastest plain |",
             "|---|---|---|---|---|---|"]
    plain_ts = times["plain hand-written loop"]
    for name, ts in times.items():
        med, low = statistics.median(ts), min(ts)
        # each repeat's time over the plain loop's time of the same round (adjacent in time)
        paired = statistics.median(t / p for t, p in zip(ts, plain_ts))
        lines.append(f"| {name} | {med:.3f} | {low:.3f} | {', '.join(f'{t:.2f}' for t in ts)} "
                     f"| {paired:.3f} | {low / min(plain_ts):.3f} |")
    lines += ["", "cnnlab's loop indexes one pre-normalised tensor with a per-epoch permutation, "
              "as the hand-written loop does; it also accumulates the loss and accuracy on the "
              "device (no `.item()` sync per batch). The machine is shared by several processes: single "
              "repeats can be slowed many times over when another job takes the cores, so compare "
              "medians and fastest repeats; ratios within a few percent of 1.00 are noise."]
    publish("\n".join(lines), START, END, write=not args.no_write)


if __name__ == "__main__":
    main()
