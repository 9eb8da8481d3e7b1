"""``cnnlab train --recipe fast`` against the public one-epoch MNIST recipe, whole process.

For each seed (0, 1, 2 by default) it runs, alternating which goes first (A B, B A, ...):

- A: ``benchmarks/public_mnist_recipe.py --seed S`` (plain PyTorch, written from the
  recipe's published description);
- B: ``cnnlab train --data mnist --recipe fast --seed S --json``;

each as a fresh Python process timed from outside (interpreter start to exit), both with
the same thread count and OpenMP wait policy, so the comparison credits the loop, the
start-up and the model, not the thread choice. It then runs the Fashion-MNIST ``fast``
recipe over the same seeds, measures the machine's fp32 sgemm peak (``torch.mm`` 4096²,
best of 3, before, between and after), counts the training FLOPs of both models with
``torch.utils.flop_counter.FlopCounterMode``, and profiles one cnnlab run with cProfile
to say where its time goes. The machine's load average is recorded with every run.

    python benchmarks/bench_recipes.py [--seeds 0,1,2] [--threads N] [--no-fashion] [--no-profile]
    python benchmarks/bench_recipes.py --device cuda      # both on the GPU, bfloat16 autocast

The recipe turns on ``--amp``: bfloat16 autocast on a GPU, and on a CPU that computes
bfloat16 natively (AMX or AVX512-BF16); elsewhere it trains in float32. On the CPU the
public recipe runs in float32 as published; with ``--device cuda`` both use bfloat16
autocast. Besides the fp32 sgemm peak (the issue's yardstick) the bf16 matmul peak is
measured, since that is what the AMX path can reach.

Writes its section of benchmarks/RESULTS.md (between <!-- recipes --> markers, or
<!-- recipes-cuda --> with --device cuda).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from results import publish  # noqa: E402  (benchmarks/results.py)

SECTIONS = {"cpu": ("<!-- recipes -->", "<!-- /recipes -->"),
            "cuda": ("<!-- recipes-cuda -->", "<!-- /recipes-cuda -->")}


def load() -> float:
    return os.getloadavg()[0]


def env(threads: int) -> dict:
    e = dict(os.environ, PYTHONPATH=str(ROOT), OMP_WAIT_POLICY="PASSIVE", OMP_NUM_THREADS=str(threads))
    return e


def timed(cmd: list[str], threads: int) -> tuple[float, dict, float]:
    """(wall seconds, the JSON of the last stdout line, load average at the start)."""
    before = load()
    tic = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env(threads), cwd=ROOT)
    wall = time.perf_counter() - tic
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    return wall, json.loads(out.stdout.strip().splitlines()[-1]), before


def public_run(seed: int, threads: int, device: str = "cpu", tuned: bool = False) -> dict:
    """The public recipe as published; ``tuned``: in channels-last with bfloat16 autocast where
    the CPU computes it natively (the fair baseline for cnnlab's bf16 path)."""
    from cnnlab.train.speed import cpu_native_bf16

    gpu = ["--device", "cuda", "--amp"] if device == "cuda" else []
    extra = ["--channels-last", *(["--amp"] if device == "cpu" and cpu_native_bf16() else [])] if tuned else []
    wall, result, before = timed([sys.executable, str(HERE / "public_mnist_recipe.py"), "--seed",
                                  str(seed), "--threads", str(threads), *gpu, *extra], threads)
    return {"wall": wall, "acc": result["test_accuracy"], "loop": result["train_seconds"],
            "n_train": 60000, "load": before}


def cnnlab_run(data: str, seed: int, threads: int, tmp: Path, device: str = "cpu") -> dict:
    out = tmp / f"{data}-{seed}-{time.monotonic_ns()}"
    wall, s, before = timed([sys.executable, "-m", "cnnlab", "train", "--data", data,
                             "--recipe", "fast", "--seed", str(seed), "--threads", str(threads),
                             "--device", device, "--json", "--out", str(out)], threads)
    return {"wall": wall, "acc": s["test_accuracy"], "loop": s["train_seconds"],
            "n_train": s["n_train"], "n_val": s["n_val"], "epochs": s["epochs"], "load": before}


def matmul_peak(threads: int, device: str = "cpu", dtype: str = "float32") -> float:
    """Best of 3 ``torch.mm`` 4096² (8192² on a GPU) in GFLOP/s: the machine's peak."""
    import torch

    torch.set_num_threads(threads)
    n = 8192 if device == "cuda" else 4096
    a = torch.randn(n, n, device=device, dtype=getattr(torch, dtype))
    b = torch.randn(n, n, device=device, dtype=getattr(torch, dtype))
    torch.mm(a, b)
    best = float("inf")
    for _ in range(3):
        if device == "cuda":
            torch.cuda.synchronize()
        tic = time.perf_counter()
        torch.mm(a, b)
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - tic)
    return 2 * n**3 / best / 1e9


def import_torch_seconds() -> float:
    """Median of 3: a fresh interpreter that imports torch and exits (both runs pay it)."""
    walls = []
    for _ in range(3):
        tic = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], check=True)
        walls.append(time.perf_counter() - tic)
    return statistics.median(walls)


def training_flops(model, batch: int = 64) -> tuple[float, float]:
    """(FLOPs of one training step per image, FLOPs of one forward pass per image)."""
    import torch
    import torch.nn.functional as F
    from torch.utils.flop_counter import FlopCounterMode

    x, y = torch.randn(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
    with FlopCounterMode(display=False) as fwd:
        with torch.no_grad():
            model(x)
    with FlopCounterMode(display=False) as step:
        F.cross_entropy(model(x), y).backward()
    return step.get_total_flops() / batch, fwd.get_total_flops() / batch


def profile_run(threads: int, tmp: Path) -> list[tuple[str, float]]:
    """Seconds per phase of one cnnlab fast run (cProfile's cumulative times, main thread)."""
    prof = tmp / "fast.prof"
    # main() rather than the console script, whose quick exit would skip cProfile's dump
    script = tmp / "train.py"
    script.write_text("import sys\nfrom cnnlab.cli.main import main\nsys.exit(main())\n")
    tic = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(prof), str(script),
                    "train", "--data", "mnist", "--recipe", "fast", "--threads", str(threads),
                    "--json", "--out", str(tmp / "profiled")], check=True, capture_output=True,
                   env=env(threads), cwd=ROOT)
    wall = time.perf_counter() - tic
    stats = pstats.Stats(str(prof)).stats

    def cum(name: str, file_end: str) -> float:
        return sum(v[3] for (f, _, fn), v in stats.items() if fn == name and f.endswith(file_end))

    loop = cum("train_epoch", "cnnlab/train/loop.py")
    backward = cum("backward", "torch/autograd/__init__.py")
    optimiser = cum("step", "cnnlab/train/optim.py") + cum("zero_grad", "cnnlab/train/optim.py")
    evaluation = cum("predict_logits", "cnnlab/train/metrics.py")
    imports = import_torch_seconds()
    phases = [
        ("start-up: a Python that imports torch (measured apart; the public recipe pays it too)", imports),
        # the data is read on a thread while torch is imported (cnnlab.train.config_data):
        # what shows here is the wait for it, plus preparing the tensors
        ("data (waiting for the reading thread; tensors on the device)",
         cum("result", "concurrent/futures/_base.py") + cum("images", "cnnlab/train/run_state.py")),
        ("forward + loss + batch indexing (training)", loop - backward - optimiser),
        ("backward", backward),
        ("optimiser (Adam step, zero_grad)", optimiser),
        ("evaluation (val each epoch, final train sample/val/test)", evaluation),
        ("checkpoints and run files", cum("save_checkpoint", "cnnlab/storage/run_folder.py")
         + cum("write_json", "cnnlab/storage/run_folder.py") + cum("write_csv", "cnnlab/storage/run_folder.py")
         + cum("save_safetensors", "cnnlab/storage/run_folder.py")),
        # matplotlib is imported and both pictures drawn by a worker process started with
        # the training (cnnlab.train.pictures): what shows here is the wait for it
        ("pictures (waiting for the picture worker process)", cum("join", "cnnlab/train/pictures.py")),
    ]
    known = sum(s for _, s in phases)
    phases.append(("the rest (cnnlab's own imports, argument parsing, model building, logging)",
                   wall - known))
    return [("whole process (under cProfile)", wall)] + phases


def stats(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} (min {min(values):.3f}, max {max(values):.3f})"


def machine() -> str:
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or platform.machine()
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both (default: what cnnlab would choose at the start)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--no-fashion", action="store_true")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--dry", action="store_true", help="print the section, do not write it")
    args = parser.parse_args()
    from cnnlab.train.threads import choose_threads

    threads, why = (args.threads, "--threads") if args.threads else choose_threads()
    seeds = [int(s) for s in args.seeds.split(",")]
    device = args.device
    import torch

    from cnnlab.models import get_model
    from cnnlab.train.recipes import get_recipe
    from cnnlab.train.speed import amp_dtype

    from public_mnist_recipe import Net

    recipe = get_recipe("fast", "mnist")
    precision = amp_dtype(recipe.settings.get("amp", False), torch.device(device))[1]
    flops_public, _ = training_flops(Net())
    fast_model = get_model(recipe.settings["model"], 1, 10, (28, 28), **recipe.settings.get("model_cfg", {}))
    flops_fast, fwd_fast = training_flops(fast_model)
    peaks = {"float32": [matmul_peak(threads, device)], "bfloat16": [matmul_peak(threads, device, "bfloat16")]}
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for i, seed in enumerate(seeds):
            pair = {}
            order = ("public", "tuned", "cnnlab") if i % 2 == 0 else ("cnnlab", "tuned", "public")
            for who in order:
                pair[who] = (public_run(seed, threads, device) if who == "public"
                             else public_run(seed, threads, device, tuned=True) if who == "tuned"
                             else cnnlab_run("mnist", seed, threads, tmp, device))
                print(seed, who, pair[who], flush=True)
            rows.append((seed, order, pair))
        peaks["float32"].append(matmul_peak(threads, device))
        fashion = []
        if not args.no_fashion:
            for seed in seeds:
                fashion.append(cnnlab_run("fashion-mnist", seed, threads, tmp, device))
                print(seed, "fashion", fashion[-1], flush=True)
        profile = [] if args.no_profile or device != "cpu" else profile_run(threads, tmp)
        peaks["float32"].append(matmul_peak(threads, device))
        peaks["bfloat16"].append(matmul_peak(threads, device, "bfloat16"))
    torch.set_num_threads(threads)

    pub = [r[2]["public"] for r in rows]
    ours = [r[2]["cnnlab"] for r in rows]
    ratios = [o["wall"] / p["wall"] for o, p in zip(ours, pub)]
    tuned = [r[2]["tuned"] for r in rows]
    ratios_tuned = [o["wall"] / t["wall"] for o, t in zip(ours, tuned)]
    peak = statistics.median(peaks["float32"])
    peak_bf16 = statistics.median(peaks["bfloat16"])
    gf_pub = [flops_public * p["n_train"] / p["loop"] / 1e9 for p in pub]
    gf_ours = [(flops_fast * o["n_train"] * o["epochs"] + fwd_fast * o["n_val"] * o["epochs"]) / o["loop"] / 1e9
               for o in ours]
    mean_acc = statistics.mean(o["acc"] for o in ours)
    start, end = SECTIONS[device]
    if device == "cuda":
        where = (f"{torch.cuda.get_device_name(0)} (torch {torch.__version__}), host {machine()}; "
                 f"both in bfloat16 autocast, data on the GPU")
    else:
        where = (f"{machine()}; torch {torch.__version__}; {threads} thread(s) for both ({why}), "
                 f"OMP_WAIT_POLICY=PASSIVE; cnnlab: {precision}, the public recipe: float32 as published")
    lines = [
        start,
        f"## Recipes: `cnnlab train --data mnist --recipe fast` vs the public one-epoch recipe"
        + (" (GPU)" if device == "cuda" else ""),
        "",
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {where}; load average at "
        f"the runs' starts {min(r['load'] for r in pub + ours):.1f}-{max(r['load'] for r in pub + ours):.1f}. "
        f"`python benchmarks/bench_recipes.py{' --device cuda' if device == 'cuda' else ''}`; "
        f"A/B order alternates by seed, each run a fresh process timed from outside.",
        "",
        f"cnnlab's recipe: `{recipe.settings['model']}`, "
        + ", ".join(f"{k} {v}" for k, v in recipe.settings.items() if k != "model") + ".",
        "",
        "\"tuned\" is the public recipe in channels-last memory format, with bfloat16 autocast where the "
        "CPU computes it natively (`public_mnist_recipe.py --channels-last [--amp]`).",
        "",
        "| seed | order | public acc | public wall s | tuned acc | tuned wall s | cnnlab fast acc | cnnlab wall s "
        "| ratio to public | ratio to tuned |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (seed, order, pair), ratio, ratio_t in zip(rows, ratios, ratios_tuned):
        p, t, o = pair["public"], pair["tuned"], pair["cnnlab"]
        lines.append(f"| {seed} | {' then '.join(order)} | {p['acc']:.4f} | {p['wall']:.2f} | {t['acc']:.4f} | "
                     f"{t['wall']:.2f} | {o['acc']:.4f} | {o['wall']:.2f} | {ratio:.3f} | {ratio_t:.3f} |")
    lines += [
        "",
        f"- cnnlab fast: mean test accuracy **{mean_acc:.4f}** over seeds {args.seeds} "
        f"(goal >= 0.990: {'met' if mean_acc >= 0.99 else 'NOT met'}); public recipe "
        f"{statistics.mean(p['acc'] for p in pub):.4f}.",
        f"- Whole-process wall ratio cnnlab / public: **{stats(ratios)}** "
        f"(goal <= 0.33: {'met' if max(ratios) <= 0.33 else ('met on the mean' if statistics.mean(ratios) <= 0.33 else 'NOT met')}); "
        f"to the tuned public recipe: **{stats(ratios_tuned)}** "
        f"(goal <= 0.5: {'met' if max(ratios_tuned) <= 0.5 else ('met on the mean' if statistics.mean(ratios_tuned) <= 0.5 else 'NOT met')}).",
        f"- Matmul peaks (`torch.mm`, {threads} thread(s)" + (", GPU" if device == "cuda" else "")
        + f"): float32 {', '.join(f'{v:.0f}' for v in peaks['float32'])} GFLOP/s (median {peak:.0f}); "
        f"bfloat16 {', '.join(f'{v:.0f}' for v in peaks['bfloat16'])} (median {peak_bf16:.0f}).",
        f"- Training FLOPs per image (FlopCounterMode, forward + backward): public model "
        f"{flops_public / 1e6:.2f} MFLOP, cnnlab fast {flops_fast / 1e6:.2f} MFLOP.",
        f"- Loop throughput: public {stats(gf_pub)} GFLOP/s = {statistics.mean(gf_pub) / peak:.0%} of the "
        f"float32 peak; cnnlab fast {stats(gf_ours)} GFLOP/s = **{statistics.mean(gf_ours) / peak:.0%} of the "
        f"float32 peak** (goal >= 40%), {statistics.mean(gf_ours) / peak_bf16:.0%} of the bfloat16 peak "
        f"(cnnlab's loop time includes its per-epoch validation pass).",
        f"- Loop seconds: public {stats([p['loop'] for p in pub])}, cnnlab {stats([o['loop'] for o in ours])}.",
    ]
    if fashion:
        lines += ["", f"Fashion-MNIST `fast` (its own recipe; seeds {args.seeds}): test accuracy "
                  f"{', '.join(format(f['acc'], '.4f') for f in fashion)} (mean "
                  f"**{statistics.mean(f['acc'] for f in fashion):.4f}**, aim >= 0.91), wall "
                  f"{stats([f['wall'] for f in fashion])} s vs MNIST fast's {stats([o['wall'] for o in ours])} s."]
    if profile:
        total = profile[0][1]
        lines += ["", "Where one cnnlab fast run's time goes (cProfile cumulative times of the main "
                  "thread, so Python-heavy parts are inflated a little):", "",
                  "| phase | seconds | share |", "|---|---|---|"]
        lines += [f"| {name} | {sec:.2f} | {sec / total:.0%} |" for name, sec in profile]
    lines.append(end)
    publish("\n".join(lines), start, end, write=not args.dry)


if __name__ == "__main__":
    main()
