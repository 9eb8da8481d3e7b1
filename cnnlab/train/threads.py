"""How many CPU threads a training run should use, chosen from the machine's load.

On the 2-core machine, 2 threads ran the MNIST loop 1.4-1.8x faster than 1 when the
machine was idle, and 4.2x *slower* when other processes shared the cores (OpenMP
threads spin while they wait for each other); see docs/training.md, "Speed". So a run
takes the cores that the load average leaves free, at least one. The wait policy
(``OMP_WAIT_POLICY=PASSIVE``: waiting threads sleep instead of spinning) must be set
before torch is imported; the training commands do that (:func:`prefer_passive_wait`).
"""

from __future__ import annotations

import math
import os

__all__ = ["available_cores", "choose_threads", "prefer_passive_wait"]


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def choose_threads(cores: int | None = None, load: float | None = None) -> tuple[int, str]:
    """(threads, reason): the cores left free by the 1-minute load average, at least 1.

    >>> choose_threads(cores=2, load=0.3)
    (2, 'load average 0.30 on 2 cores')
    >>> choose_threads(cores=2, load=3.0)[0]
    1
    """
    cores = available_cores() if cores is None else cores
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):  # not available: assume idle
            return cores, f"{cores} cores, load unknown"
    free = math.floor(cores - load + 0.5)
    return max(1, min(cores, free)), f"load average {load:.2f} on {cores} cores"


def prefer_passive_wait() -> None:
    """Let OpenMP threads sleep while waiting (unless the user chose a policy).

    Takes effect only when called before torch is first imported.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
