"""Where a run ran: CPU model, core count, Python/torch versions, date (for reports and benchmarks)."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from pathlib import Path

__all__ = ["machine_info"]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine_info() -> dict[str, str | int]:
    """A few facts about this machine, as plain data.

    >>> sorted(machine_info())
    ['cores', 'cpu', 'date', 'python', 'torch']
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        from importlib.metadata import version

        torch_version = version("torch")
    except Exception:  # torch not installed: the report still renders
        torch_version = "not installed"
    return {
        "cpu": _cpu_model(),
        "cores": cores,
        "python": platform.python_version(),
        "torch": torch_version,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
