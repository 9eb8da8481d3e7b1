"""The public one-epoch MNIST recipe, re-implemented in plain PyTorch from its description.

tuomaso/train_mnist_fast, as published in words: conv 24@5x5 -> max-pool 2 -> conv
32@3x3 -> max-pool 2 -> fc 256 -> fc 10 (ReLU after each hidden layer), Adam lr 0.01
betas (0.7, 0.9) under a one-cycle schedule (torch's OneCycleLR with its defaults, which
cycle beta1), batch 256, one epoch over all 60,000 training images, the data pre-loaded
as one tensor. Written here from that description (no cnnlab code), as the baseline of
benchmarks/bench_recipes.py.

    python benchmarks/public_mnist_recipe.py --seed 0 [--threads N] [--data-dir DIR] [--device cuda --amp]

``--device cuda`` keeps the data on the GPU; ``--amp`` trains under bfloat16 autocast (the
GPU comparison of benchmarks/bench_recipes.py, where cnnlab's recipe runs with --amp too).

Prints one JSON line: test_accuracy, train_seconds, total_seconds (from the first line of
this script, after the interpreter started).
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (the MNIST format) as a uint8 array."""
    raw = path.read_bytes()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load(data_dir: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """x: (N, 1, 28, 28) normalised with MNIST's usual (0.1307, 0.3081); y: (N,)."""
    x = read_idx(data_dir / f"{split}-images-idx3-ubyte")
    y = read_idx(data_dir / f"{split}-labels-idx1-ubyte")
    x = torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1)
    return (x - 0.1307) / 0.3081, torch.from_numpy(y.astype(np.int64))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 24, 5)
        self.conv2 = nn.Conv2d(24, 32, 3)
        self.fc1 = nn.Linear(32 * 5 * 5, 256)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)  # (N, 24, 12, 12)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # (N, 32, 5, 5)
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--data-dir", default=str(Path.home() / ".cache" / "cnnlab" / "mnist"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", action="store_true", help="bfloat16 autocast")
    parser.add_argument("--channels-last", action="store_true",
                        help="model and batches in channels-last memory format (the tuned baseline)")
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data_dir = Path(args.data_dir)
    x_train, y_train = (t.to(device) for t in load(data_dir, "train"))
    x_test, y_test = (t.to(device) for t in load(data_dir, "t10k"))
    model = Net().to(device)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x_train = x_train.contiguous(memory_format=torch.channels_last)
    batch, epochs = 256, 1
    steps = epochs * ((len(x_train) + batch - 1) // batch)
    opt = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.7, 0.9))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=steps)
    tic = time.perf_counter()
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(x_train), device=device)
        for i in range(0, len(x_train), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.amp):
                loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
            sched.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    train_seconds = time.perf_counter() - tic
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x_test), 2000):
            correct += int((model(x_test[i:i + 2000]).argmax(1) == y_test[i:i + 2000]).sum())
    print(json.dumps({"test_accuracy": correct / len(x_test), "train_seconds": train_seconds,
                      "total_seconds": time.perf_counter() - STARTED}))


if __name__ == "__main__":
    main()
