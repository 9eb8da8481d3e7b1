"""``cnnlab.kernel_list`` and ``cnnlab.kernel_describe`` (``cnnlab.kernel`` is describe):
the named kernels, and what one kernel does, as ``cnnlab kernel list|describe``."""

from __future__ import annotations

from typing import Any

from cnnlab.api import flags
from cnnlab.api.result import RenderedResult
from cnnlab.errors import UsageError

__all__ = ["kernel", "kernel_describe", "kernel_list", "read_kernel"]

MAX_ROUND = 15


def read_kernel(value: Any, exact: bool = True):
    """A 2-D kernel from a name (``sobel_x``, ``gaussian:5:1.0``), a literal, a file or a list.

    Literals and rational named kernels are exact (Fractions) when ``exact``; Gaussians are
    floats. At most 64x64 (``MAX_KERNEL_SIDE``): a kernel's facts are worked out exactly,
    in time growing as side^3, so a bigger one is refused before it is parsed (a 4096x4096
    .npy by its header; it used to be converted to fractions for 3 minutes first).
    Returns (kh, kw).
    """
    from cnnlab.api.inputs import read_tensor
    from cnnlab.kernels.named import MAX_KERNEL_SIDE, resolve_kernel

    text = flags.tensor_text("kernel", value)
    name = text.strip().split(":")[0].lower()
    k = resolve_kernel(text, exact=exact and name != "gaussian")
    if k is None:
        k = read_tensor(text, "kernel", exact=exact, max_elements=MAX_KERNEL_SIDE ** 2)
    if k.ndim != 2:
        raise UsageError(f"kernel must be 2-D (kh x kw), got shape {'x'.join(map(str, k.shape))}")
    if max(k.shape) > MAX_KERNEL_SIDE:
        raise UsageError(f"kernels are at most {MAX_KERNEL_SIDE}x{MAX_KERNEL_SIDE}, got {k.shape[0]}x{k.shape[1]}")
    return k


class _KernelResult(RenderedResult):
    """A kernel lab result: every format, HTML included, written by the doc writers
    (:mod:`cnnlab.kernels.render` builds the blocks)."""

    def render(self, fmt: str) -> str:
        return self._render_fn(fmt)

    def output(self, fmt: str) -> str:
        import json

        from cnnlab.kernels.render import to_json

        return json.dumps(to_json(self._data)) + "\n" if fmt == "json" else self.render(fmt)

    def to_json(self) -> dict:
        from cnnlab.kernels.render import to_json

        return to_json(self._data)


def kernel_list() -> RenderedResult:
    """The named kernels with what they are and where they come from, as ``cnnlab kernel list``."""
    from cnnlab.kernels.named import list_kernels
    from cnnlab.kernels.render import render_list
    from cnnlab.kernels.sources import kernel_source

    rows = [(n, d, kernel_source(n).line()) for n, d in list_kernels()]
    return _KernelResult("kernel list", {"kernels": [{"name": n, "description": d, "source": s} for n, d, s in rows]},
                         lambda fmt: render_list(rows, fmt) + "\n")


def kernel_describe(kernel: Any, round: Any = 4) -> RenderedResult:
    """Sum, symmetries, rank and 1-D factors, probe responses of a kernel, as ``cnnlab kernel describe``.

    >>> kernel_describe("sobel_x").to_json()["rank"]
    1
    """
    from cnnlab.kernels.describe import describe_kernel
    from cnnlab.kernels.named import MAX_KERNEL_SIDE, resolve_kernel
    from cnnlab.kernels.render import render_describe
    from cnnlab.kernels.sources import kernel_source

    round = flags.bounded("kernel describe", "round", round, 0, MAX_ROUND)
    name = kernel if isinstance(kernel, str) else "kernel"
    k = read_kernel(kernel)
    if max(k.shape) > MAX_KERNEL_SIDE:  # rank and probes are exact: the work grows as side^3
        raise UsageError(f"kernel describe takes kernels up to {MAX_KERNEL_SIDE}x{MAX_KERNEL_SIDE}, "
                         f"got {k.shape[0]}x{k.shape[1]}")
    d = describe_kernel(k)
    source = kernel_source(name) if isinstance(kernel, str) and resolve_kernel(kernel) is not None else None
    if source is not None:  # where the named kernel is from, and its scale against other libraries
        d["source"] = {"origin": source.origin, "reference": source.reference, "scale": source.scale}
    return _KernelResult("kernel describe", d, lambda fmt: render_describe(d, k, name, fmt, round))


kernel = kernel_describe
