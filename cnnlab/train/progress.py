"""Progress bars on a terminal (rich); nothing when output is not a terminal."""

from __future__ import annotations

import contextlib
import sys
from typing import Callable, Iterator

__all__ = ["batch_progress", "show_progress"]


def show_progress(requested: bool) -> bool:
    """Bars only when asked for and stdout is a terminal (never in pipes, files, --json)."""
    return requested and sys.stdout.isatty()


@contextlib.contextmanager
def batch_progress(enabled: bool, total: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """Yield ``advance(n)`` for a bar of ``total`` examples, or None when disabled."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)
