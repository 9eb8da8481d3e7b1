"""Training cost of candidate Fashion-MNIST `fast` networks relative to MNIST `fast`'s.

Times one optimiser step (forward + loss + backward + Adam step) of each candidate spec on
random 28x28 one-channel batches, exactly as the recipe trains (cnnlab's spec model builder,
channels-last, bfloat16 autocast where the CPU has it, 1 thread), **interleaved** with MNIST
`fast`'s spec at batch 256 in the same process (A B A C A D ...), so that load drifts hit
both alike. The figure is the median over repetitions of (candidate time per image /
MNIST fast's time per image); multiplied by the candidate's epochs it is its loop cost in
units of MNIST fast's one-epoch loop (the budget, docs/training.md: about 2.5).

    python benchmarks/bench_fashion_search.py [--repeats 30] [--steps 5] [--write]

Prints a table; writes its section of benchmarks/RESULTS.md only with --write.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import time

import torch
import torch.nn.functional as F

from cnnlab.models.spec_model import build_spec_model
from cnnlab.train.recipes import FAST_SPEC

START, END = "<!-- fashion-search -->", "<!-- /fashion-search -->"

def _p1(conv_bn: str = "bn before pool", fc: int = 256, extra: str = "") -> str:
    """The "p1" network: conv2 padded so that a 6x6 map follows the pooling (fc 1152 -> fc)."""
    conv1 = "conv 5x5/2 16; bn; relu" if conv_bn != "none" and conv_bn != "after pool only" \
        else "conv 5x5/2 16; relu"
    if conv_bn == "bn before pool":
        mid = "conv 3x3 32 p1; bn; maxpool 2; relu"
    elif conv_bn in ("bn after pool", "after pool only"):
        mid = "conv 3x3 32 p1; maxpool 2; bn; relu"
    else:
        mid = "conv 3x3 32 p1; maxpool 2; relu"
    return f"{conv1}; {mid}; fc {fc} nobias; bn; relu; {extra}fc 10"


# The candidates of docs/training.md's Fashion-MNIST search: (label, spec, batch size, epochs).
# "P1N": no batch norm on conv1, one after the pooling of conv2 (cheaper than before it).
P1N = _p1("after pool only")  # the recipe since 2026-12-05 (2 epochs, cosine, lr 0.02)
# the recipe before: batch norm after both convolutions, 3 epochs under one-cycle
OLD_SPEC = ("conv 5x5/2 16; bn; relu; conv 3x3 32; bn; maxpool 2; relu; fc 256 nobias; bn; relu; "
            "fc 10")
CANDIDATES: list[tuple[str, str, int, int]] = [
    ("old recipe (conv bn), b256, 3 ep", OLD_SPEC, 256, 3),
    ("old recipe (conv bn), b256, 2 ep", OLD_SPEC, 256, 2),
    ("p1, b256, 2 ep", _p1(), 256, 2),
    ("p1, b128, 2 ep", _p1(), 128, 2),
    ("p1 fc 384, b128, 2 ep", _p1(fc=384), 128, 2),
    ("p1 conv1 24 filters, b128, 2 ep", _p1().replace("5x5/2 16", "5x5/2 24"), 128, 2),
    ("p1 conv1 32 filters, b128, 2 ep", _p1().replace("5x5/2 16", "5x5/2 32"), 128, 2),
    ("p1 + conv3 3x3 32 p1 at 6x6, b128, 2 ep",
     _p1().replace("maxpool 2; relu;", "maxpool 2; relu; conv 3x3 32 p1; bn; relu;"), 128, 2),
    ("p1 + conv3 3x3 64 p1 at 6x6 + gap, b256, 2 ep",
     "conv 5x5/2 16; bn; relu; conv 3x3 32 p1; maxpool 2; bn; relu; conv 3x3 64 p1; bn; relu; "
     "gap; fc 10", 256, 2),
    ("p1, bn after pool, b256, 2 ep", _p1("bn after pool"), 256, 2),
    ("p1, bn after pool, fc 128, b256, 2 ep", _p1("bn after pool", fc=128), 256, 2),
    ("P1N (the recipe), b256, 2 ep", P1N, 256, 2),
    ("P1N, b128, 2 ep", P1N, 128, 2),
    ("P1N fc 128, b256, 2 ep", _p1("after pool only", fc=128), 256, 2),
    ("P1N fc 384, b256, 2 ep", _p1("after pool only", fc=384), 256, 2),
    ("P1N + dropout 0.1 before fc 10, b256, 2 ep", _p1("after pool only", extra="dropout 0.1; "),
     256, 2),
    ("p1 without conv batch norms, b256, 2 ep", _p1("none"), 256, 2),
    ("P1N conv1 12 filters, b256, 2 ep", P1N.replace("5x5/2 16", "5x5/2 12"), 256, 2),
    ("P1N conv2 24 filters, b256, 2 ep", P1N.replace("3x3 32 p1", "3x3 24 p1"), 256, 2),
]


def _step_fn(spec: str, batch: int):
    """A closure doing one training step of ``spec`` on a fixed random batch."""
    torch.manual_seed(0)
    model = build_spec_model(spec, 1, 10, (28, 28)).to(memory_format=torch.channels_last)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.7, 0.9))
    x = torch.randn(batch, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))
    bf16 = _has_bf16()

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def _has_bf16() -> bool:
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _time(step, steps: int) -> float:
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return time.perf_counter() - t


def measure(candidates, repeats: int, steps: int) -> list[tuple[str, int, float, float, float]]:
    """(label, epochs, median ratio per image, q1, q3) for each candidate, vs MNIST fast."""
    base = _step_fn(FAST_SPEC, 256)
    fns = [(label, _step_fn(spec, b), b, ep) for label, spec, b, ep in candidates]
    for fn in [base] + [f for _, f, _, _ in fns]:
        _time(fn, 3)  # warm-up (allocator, oneDNN primitives)
    ratios: dict[str, list[float]] = {label: [] for label, *_ in fns}
    for _ in range(repeats):
        for label, fn, b, _ in fns:
            tb = _time(base, steps) / (256 * steps)
            tc = _time(fn, steps) / (b * steps)
            ratios[label].append(tc / tb)
    out = []
    for label, _, _, ep in fns:
        r = sorted(ratios[label])
        q = statistics.quantiles(r, n=4) if len(r) > 1 else [r[0]] * 3
        out.append((label, ep, statistics.median(r), q[0], q[2]))
    return out


def table(rows) -> str:
    lines = ["| candidate | cost per image / MNIST fast | IQR | x epochs = loop cost |",
             "|---|---|---|---|"]
    for label, ep, med, q1, q3 in rows:
        lines.append(f"| {label} | {med:.2f} | {q1:.2f}-{q3:.2f} | {med * ep:.2f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--write", action="store_true", help="write the section of RESULTS.md")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = measure(CANDIDATES, args.repeats, args.steps)
    load = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else []
    head = (f"{datetime.date.today()}, {platform.processor() or platform.machine()}, 1 thread, "
            f"{'bfloat16 autocast' if _has_bf16() else 'float32'}, load {' '.join(load)}, "
            f"{args.repeats} x {args.steps} steps interleaved with MNIST fast (batch 256)")
    text = "## Fashion-MNIST search (cost per image vs MNIST fast)\n\n" + head + "\n\n" + table(rows)
    from results import publish  # benchmarks/results.py (scripts run from this folder)
    publish(text, START, END, write=args.write)


if __name__ == "__main__":
    main()
