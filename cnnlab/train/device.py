"""The device a run trains on, and the global torch state a run may change only inside itself."""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch

from cnnlab.errors import UsageError

__all__ = ["pick_device", "torch_state"]


def pick_device(name: str) -> torch.device:
    """cpu, cuda, or auto (cuda when available). UsageError for cuda without a GPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda asked for, but torch sees no CUDA GPU; use --device cpu")
    return torch.device(name)


@contextlib.contextmanager
def torch_state(threads: int, device: torch.device) -> Iterator[None]:
    """Thread count, RNG and cuDNN changes stay inside the run.

    On CUDA, cuDNN is told to pick deterministic algorithms (and not to benchmark
    others), so a seeded run repeats and resumes bit for bit there too.
    """
    previous = torch.get_num_threads()
    cudnn = torch.backends.cudnn
    flags = (cudnn.deterministic, cudnn.benchmark)
    torch.set_num_threads(threads)
    devices = [device.index or 0] if device.type == "cuda" else []
    if devices:
        cudnn.deterministic, cudnn.benchmark = True, False
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        torch.set_num_threads(previous)
        cudnn.deterministic, cudnn.benchmark = flags
