"""Choices that make training fast without changing what it computes.

Memory format, mixed precision (bfloat16 where the CPU or GPU has it), scoring batch
size, the sample of training images re-scored at the end, and imports overlapped with
training; the thread count is in :mod:`cnnlab.train.threads`, the data read while torch is
imported in :mod:`cnnlab.train.config_data`, the pictures drawn by a worker process in
:mod:`cnnlab.train.pictures`.
The measurements behind each choice are in docs/training.md, "Speed".
"""

from __future__ import annotations

import importlib
import threading

import torch
from torch import nn

from cnnlab.train.config import TrainConfig

__all__ = ["use_channels_last", "eval_batch_size", "train_score_indices", "import_in_background",
           "amp_dtype", "cpu_native_bf16"]


def use_channels_last(config: TrainConfig, model: nn.Module, device: torch.device) -> bool:
    """Whether the run keeps images and conv weights in NHWC (channels-last) order.

    ``config.channels_last`` decides when set; by default it is on for models with a 2-D
    convolution on the CPU, where it ran the MNIST loop 2.3x faster (max-pooling and conv
    backward in NCHW are the slow parts; docs/training.md, "Speed").
    """
    if config.channels_last is not None:
        return config.channels_last
    return device.type == "cpu" and any(isinstance(m, nn.Conv2d) for m in model.modules())


def cpu_native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether the processor computes bfloat16 natively (AMX-BF16 or AVX512-BF16 in its flags).

    ``cpuinfo``: the text of /proc/cpuinfo (read when None; False where there is none).
    """
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
                cpuinfo = handle.read(1 << 16)  # the first processor's flags are near the top
        except OSError:
            return False
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines()
                  if line.startswith("flags")), [])
    return "amx_bf16" in flags or "avx512_bf16" in flags


def amp_dtype(amp: bool, device: torch.device) -> tuple[torch.dtype | None, str]:
    """(autocast dtype or None for float32, what to tell the user) of a run with ``--amp``.

    CUDA: bfloat16 where the GPU has it, else float16 (with a gradient scaler). CPU:
    bfloat16 where the processor computes it natively; there it ran the fast MNIST
    recipe's loop 1.45x faster with the same accuracy (AMX, docs/training.md "Speed").
    Elsewhere bfloat16 would be emulated, so the run stays in float32 and says so.
    Scoring (validation, test) always runs in float32 on the CPU.
    """
    if not amp:
        return None, "float32"
    if device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return dtype, f"{str(dtype).removeprefix('torch.')} autocast"
    if device.type == "cpu" and cpu_native_bf16():
        return torch.bfloat16, "bfloat16 autocast (the CPU has native bfloat16)"
    return None, "float32 (--amp: this processor has no native bfloat16, AMX or AVX512-BF16)"


def eval_batch_size(C: int, H: int, W: int) -> int:
    """Images per forward pass when scoring: ~0.5M input values a batch (32 to 1,024).

    Larger is not faster on the CPU: fast-cnn scored 2,050-2,200 MNIST images/s at batch
    512 and 1,000-1,350 at 2,675-4,096, whose activations no longer fit the caches.
    """
    return max(32, min(1024, 2**19 // max(1, C * H * W)))


def import_in_background(*modules: str) -> threading.Thread:
    """Import ``modules`` on another thread while the run trains.

    For a module needed only later (``torch._dynamo`` for DistributedDataParallel, several
    seconds): torch's kernels release the GIL, so the import overlaps training instead of
    adding to the run's wall time. (matplotlib, for the pictures, is imported by the
    picture worker process instead: :mod:`cnnlab.train.pictures`.)
    """
    def work() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except ImportError:  # reported when the pictures are drawn
                return

    thread = threading.Thread(target=work, name="cnnlab-import", daemon=True)
    thread.start()
    return thread


def train_score_indices(n: int, limit: int | None, seed: int) -> torch.Tensor:
    """Indices of the training images re-scored at the end: all, or a fixed sample of ``limit``.

    The sample depends on ``seed`` (the split seed) only, so every run of a split scores
    the same images. 10,000 images give the accuracy to within about ±0.3% (95%).
    """
    if limit is None or limit >= n:
        return torch.arange(n)
    gen = torch.Generator().manual_seed(seed)
    return torch.randperm(n, generator=gen)[:limit].sort().values
