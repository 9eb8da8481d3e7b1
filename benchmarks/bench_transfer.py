"""Transfer learning on the data that is here: pretrain on one dataset, fine-tune on 1,000 of another.

A small CNN written as a spec is pretrained with cnnlab on Fashion-MNIST, then trained on
1,000 labelled MNIST images (200 more for validation) three ways: from scratch, with the
pretrained backbone frozen (``--freeze``: only the head learns), and with the head alone
first and everything after (``--unfreeze-after``); then the same in reverse (MNIST ->
Fashion-MNIST). Test accuracy is measured on the full official test set (10,000 images),
mean and spread over seeds. The pretrained weights travel as ``best.safetensors``, the
file every cnnlab run writes. Writes its section of benchmarks/RESULTS.md between the
``<!-- transfer -->`` markers; ``docs/models.md`` explains the experiment.

    python benchmarks/bench_transfer.py              # ~5-10 min on 2 shared cores
    python benchmarks/bench_transfer.py --quick      # a smoke run, not written
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from results import publish  # noqa: E402  (benchmarks/results.py)

START, END = "<!-- transfer -->", "<!-- /transfer -->"

# small, so that the whole experiment takes minutes on 2 shared cores (0.5 M MACs per image)
BACKBONE = ("conv 3x3 8 p1; bn; relu; maxpool 2; conv 3x3 16 p1; bn; relu; maxpool 2; "
            "conv 3x3 32 p1; bn; relu; gap; fc 10")
# One thread: on the shared 2-core machine (load ~12), a training step of this CNN took
# 0.05-0.09 s with 1 thread and 0.4-0.8 s with 2 (2026-11-27).
THREADS = 1
LR = 1e-2  # Adam, one rate for every variant (a head alone needs a high one to move in 160 steps)
DIRECTIONS = (("fashion-mnist", "mnist"), ("mnist", "fashion-mnist"))
VARIANTS = ("scratch", "freeze", "unfreeze-after")


def _settings(quick: bool) -> dict:
    if quick:
        return dict(pretrain_limit=2000, pretrain_epochs=1, labelled=300, val=100, epochs=2,
                    unfreeze_after=1, seeds=(0,))
    return dict(pretrain_limit=20000, pretrain_epochs=2, labelled=1000, val=200, epochs=10,
                unfreeze_after=3, seeds=(0, 1, 2))


def pretrain(data: str, out: Path, s: dict) -> tuple[Path, dict]:
    from cnnlab.train import TrainConfig, fit

    config = TrainConfig(data=data, model=BACKBONE, epochs=s["pretrain_epochs"], batch_size=128,
                         lr=1e-2, schedule="onecycle", limit=s["pretrain_limit"], out=str(out),
                         threads=THREADS)
    result = fit(config)
    return out / "best.safetensors", result.summary


def finetune(data: str, weights: Path, variant: str, seed: int, dataset, out: Path, s: dict) -> dict:
    from cnnlab.train import TrainConfig, fit

    extra = {"scratch": {}, "freeze": {"weights": str(weights), "freeze": True},
             "unfreeze-after": {"weights": str(weights), "unfreeze_after": s["unfreeze_after"]}}[variant]
    config = TrainConfig(data=data, model=BACKBONE, epochs=s["epochs"], batch_size=64, lr=LR,
                         schedule="cosine", limit=s["labelled"], val_fraction=s["val_fraction"],
                         seed=seed, out=str(out), threads=THREADS, **extra)
    return fit(config, dataset).summary


def measure(quick: bool) -> dict:
    from cnnlab.train import TrainConfig
    from cnnlab.train.loop import load_config_dataset

    s = _settings(quick)
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for source, target in DIRECTIONS:
            tic = time.perf_counter()
            weights, pre = pretrain(source, Path(tmp) / f"pre-{source}", s)
            pre_seconds = time.perf_counter() - tic
            # val_fraction: `val` labelled images of the 60,000 for choosing the best epoch
            s["val_fraction"] = s["val"] / 60000
            probe = TrainConfig(data=target, model=BACKBONE, limit=s["labelled"], val_fraction=s["val_fraction"])
            dataset = load_config_dataset(probe)
            for variant in VARIANTS:
                results = []
                for seed in s["seeds"]:
                    out = Path(tmp) / f"{source}-{target}-{variant}-{seed}"
                    results.append(finetune(target, weights, variant, seed, dataset, out, s))
                    print(f"{source} -> {target} {variant} seed {seed}: "
                          f"test {results[-1]['test_accuracy']:.4f}", flush=True)
                accs = [r["test_accuracy"] for r in results]
                rows.append({"source": source, "target": target, "variant": variant, "accs": accs,
                             "trainable": results[0]["trainable_params"], "params": results[0]["params"],
                             "seconds": statistics.mean(r["train_seconds"] for r in results),
                             "n_train": results[0]["n_train"], "n_val": results[0]["n_val"],
                             "n_test": results[0]["n_test"], "pre_acc": pre["test_accuracy"],
                             "pre_seconds": pre_seconds, "pre_n": pre["n_train"]})
    return {"rows": rows, "settings": s, "seconds": time.perf_counter() - started}


def section(r: dict) -> str:
    from cnnlab.report.machine import machine_info

    m = machine_info()
    s = r["settings"]
    lines = [
        START, "## Transfer: pretrain on one local dataset, fine-tune on 1,000 images of another", "",
        f"Measured {datetime.date.today()} by `python benchmarks/bench_transfer.py` on {m['cpu']} "
        f"({m['cores']} cores, shared; {THREADS} torch thread), torch {m['torch']}; "
        f"{r['seconds']:.0f} s in all.",
        f"Backbone (a cnnlab spec): `{BACKBONE}`. Pretraining: {s['pretrain_limit']:,} images, "
        f"{s['pretrain_epochs']} epochs, Adam 1e-2 one-cycle, batch 128. Fine-tuning: "
        f"{s['labelled']:,} labelled images + {s['val']} for validation (best epoch), {s['epochs']} "
        f"epochs, Adam {LR:g} cosine, batch 64, seeds {', '.join(map(str, s['seeds']))}; "
        f"`--unfreeze-after {s['unfreeze_after']}` (backbone lr ×0.1 after). Test: the full official "
        "test set. The weights travel as the pretraining run's `best.safetensors`.", "",
        "| pretrained on → fine-tuned on | variant | trainable params | test accuracy (mean ± sd) | "
        "per seed | train s |",
        "|---|---|---:|---:|---|---:|",
    ]
    by = {}
    for row in r["rows"]:
        accs = row["accs"]
        sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
        by[(row["source"], row["variant"])] = statistics.mean(accs)
        lines.append(f"| {row['source']} ({row['pre_acc']:.3f}) → {row['target']} | {row['variant']} | "
                     f"{row['trainable']:,} of {row['params']:,} | {statistics.mean(accs):.4f} ± {sd:.4f} | "
                     f"{', '.join(f'{a:.4f}' for a in accs)} | {row['seconds']:.1f} |")
    lines.append("")
    for source, target in DIRECTIONS:
        scratch = by[(source, "scratch")]
        gains = ", ".join(f"`{v}` {100 * (by[(source, v)] - scratch):+.1f} points"
                          for v in VARIANTS if v != "scratch")
        lines.append(f"- {source} → {target}: against training from scratch ({100 * scratch:.1f}%), "
                     f"{gains}.")
    lines.append(END)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (small, one seed), not written")
    args = parser.parse_args()
    publish(section(measure(args.quick)), START, END, write=not args.quick)


if __name__ == "__main__":
    main()
