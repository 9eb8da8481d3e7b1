"""Admission control for the server's heavy work: a bounded pool and per-request budgets.

Heavy work is anything that runs torch in the server process: a torchvision table
(``/api/arch`` with ``torchvision``) and the explore routes. It runs in at most
:attr:`AdmissionConfig.workers` worker threads at once; up to
:attr:`AdmissionConfig.queue` more requests wait (on the event loop, holding no thread);
one more is answered at once with HTTP 503 and a ``Retry-After`` header
(:class:`Busy`). Light routes (``/api/conv``, ``/api/solve``, pages) never wait here.

Why one worker by default: torch.fx tracing swaps ``nn.Module.__call__`` for the whole
process (:data:`cnnlab.arch.torch_analyze.TRACE_LOCK`), so a forward pass in one thread
while another traces would run through the tracer; and torch's kernels already use the
cores (the served models run with one intra-op thread, docs/serve.md "Speed").

Budgets are checked before the work allocates anything: :func:`check_picture` refuses
an uploaded picture by the pixel count in its header (HTTP 400, the message names the
limit). See docs/serve.md, "Under load".

>>> config = AdmissionConfig(workers=1, queue=2)
>>> config.capacity
3
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from cnnlab.errors import UsageError

__all__ = ["AdmissionConfig", "Busy", "HeavyPool", "check_picture", "MAX_PICTURE_PIXELS"]

# A drawing is 280x280 and every run's input is at most a few hundred pixels a side; a
# 4096x4096 upload decodes to 64 MiB of RGBA before it is scaled down (60 of them at once
# ended in MemoryError, issue 23).
MAX_PICTURE_PIXELS = 2048 * 2048


@dataclass(frozen=True)
class AdmissionConfig:
    """How much heavy work the server takes on at once."""

    workers: int = 1          # heavy requests running at once (see the module docstring)
    queue: int = 16           # heavy requests waiting for a worker; the next one gets 503
    retry_after_s: int = 2    # seconds a 503 asks the client to wait before trying again

    @property
    def capacity(self) -> int:
        """Heavy requests admitted at once (running and waiting)."""
        return self.workers + self.queue


class Busy(Exception):
    """Every heavy worker is busy and the queue is full (HTTP 503 with ``Retry-After``)."""

    def __init__(self, retry_after_s: int):
        super().__init__(f"the server is busy with heavy requests; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class HeavyPool:
    """Runs heavy work in a bounded number of threads, refusing what would wait too long.

    Use from the event loop: ``await pool.run(work)``; ``work`` is a function of no
    arguments, run in a worker thread. Raises :class:`Busy` when full.
    """

    def __init__(self, config: AdmissionConfig | None = None):
        self.config = config or AdmissionConfig()
        self.admitted = 0   # running + waiting; only the event loop's thread changes it
        self._slots = None  # anyio.Semaphore, made inside the running event loop

    async def run(self, work: Callable[[], Any]) -> Any:
        import anyio
        from starlette.concurrency import run_in_threadpool

        if self.admitted >= self.config.capacity:
            raise Busy(self.config.retry_after_s)
        if self._slots is None:
            self._slots = anyio.Semaphore(self.config.workers)
        self.admitted += 1
        try:
            async with self._slots:
                return await run_in_threadpool(work)
        finally:
            self.admitted -= 1


def check_picture(height: int, width: int) -> None:
    """Refuse a picture of more than :data:`MAX_PICTURE_PIXELS` pixels (read from its header).

    >>> check_picture(280, 280)
    >>> check_picture(4096, 4096)
    Traceback (most recent call last):
    ...
    cnnlab.errors.UsageError: image: the picture is 4096x4096 pixels; the server takes at most 4,194,304 (2048x2048): scale it down first
    """
    if height * width > MAX_PICTURE_PIXELS:
        raise UsageError(f"image: the picture is {height}x{width} pixels; the server takes at most "
                         f"{MAX_PICTURE_PIXELS:,} (2048x2048): scale it down first")
