"""Output-size formulas of convolution and pooling, and their inverses (docs/conventions.md).

Every size in cnnlab comes from these functions; nothing else writes the formula again.
"""

from __future__ import annotations

from cnnlab.errors import UsageError

__all__ = [
    "effective_kernel",
    "conv_output_size",
    "pool_output_size",
    "same_padding",
    "full_padding",
    "transposed_output_size",
    "solve_padding",
    "solve_kernel",
    "solve_stride",
    "unused_input",
    "unused_note",
]


def _positive(name: str, value: int, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UsageError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def effective_kernel(k: int, dilation: int = 1) -> int:
    """Span of a dilated kernel: ``d·(k−1)+1``.

    >>> effective_kernel(3, 2)
    5
    """
    return dilation * (k - 1) + 1


def conv_output_size(n: int, k: int, stride: int = 1, padding: int | tuple[int, int] = 0,
                     dilation: int = 1) -> int:
    """Output length of a convolution: ``floor((n + 2p − d·(k−1) − 1)/s) + 1``.

    ``padding`` is per side, or a pair ``(before, after)`` for asymmetric padding.
    Raises :class:`UsageError` when the (dilated) kernel is larger than the padded input.

    >>> conv_output_size(227, 11, stride=4)
    55
    >>> conv_output_size(5, 3, padding=(0, 1), stride=2)
    2
    """
    _positive("input size", n)
    _positive("kernel size", k)
    _positive("stride", stride)
    _positive("dilation", dilation)
    before, after = (padding, padding) if isinstance(padding, int) else padding
    if before < 0 or after < 0:
        raise UsageError(f"padding must be >= 0, got {padding!r}")
    span = effective_kernel(k, dilation)
    padded = n + before + after
    if span > padded:
        raise UsageError(
            f"kernel of span {span} (k={k}, dilation={dilation}) is larger than the padded input {padded}"
        )
    return (padded - span) // stride + 1


def pool_output_size(n: int, k: int, stride: int | None = None, padding: int = 0,
                     ceil_mode: bool = False, dilation: int = 1) -> int:
    """Output length of pooling, as PyTorch computes it.

    With ``ceil_mode`` the division rounds up, but a last window that would start inside
    the right/bottom padding is dropped. Stride defaults to the window size.

    >>> pool_output_size(5, 2)
    2
    >>> pool_output_size(5, 2, ceil_mode=True)
    3
    >>> pool_output_size(4, 2, stride=2, padding=1, ceil_mode=True)
    3
    """
    stride = k if stride is None else stride
    _positive("input size", n)
    _positive("pool size", k)
    _positive("stride", stride)
    _positive("dilation", dilation)
    if padding < 0:
        raise UsageError(f"padding must be >= 0, got {padding}")
    if 2 * padding > k:
        raise UsageError(f"pool padding {padding} must be at most half the window size {k}")
    span = effective_kernel(k, dilation)
    padded = n + 2 * padding
    numerator = padded - span
    out = (-(-numerator // stride) if ceil_mode else numerator // stride) + 1
    if ceil_mode and (out - 1) * stride >= n + padding:
        out -= 1
    if out <= 0:
        raise UsageError(f"pool window of span {span} is larger than the padded input {padded}")
    return out


def same_padding(n: int, k: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """Padding ``(before, after)`` for "same": output ``ceil(n/stride)``, extra at the end.

    An odd total puts the extra row/column at the bottom/right, as TensorFlow does.

    >>> same_padding(5, 3)
    (1, 1)
    >>> same_padding(6, 3, stride=2)
    (0, 1)
    """
    out = -(-n // stride)
    total = max((out - 1) * stride + effective_kernel(k, dilation) - n, 0)
    return total // 2, total - total // 2


def full_padding(k: int, dilation: int = 1) -> int:
    """Per-side padding of a "full" convolution: ``d·(k−1)``.

    >>> full_padding(3)
    2
    """
    return dilation * (k - 1)


def transposed_output_size(n: int, k: int, stride: int = 1, padding: int = 0,
                           output_padding: int = 0, dilation: int = 1) -> int:
    """Output length of a transposed convolution: ``(n−1)·s − 2p + d·(k−1) + output_padding + 1``.

    >>> transposed_output_size(2, 3, stride=2)
    5
    """
    _positive("input size", n)
    _positive("kernel size", k)
    _positive("stride", stride)
    _positive("dilation", dilation)
    if output_padding < 0 or (output_padding >= stride and output_padding >= dilation):
        raise UsageError(
            f"output_padding must be smaller than either stride or dilation, got {output_padding}"
        )
    out = (n - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1
    if out <= 0:
        raise UsageError(f"transposed convolution gives an empty output ({out}); padding {padding} is too large")
    return out


def solve_padding(n_in: int, n_out: int, k: int, stride: int = 1, dilation: int = 1) -> int:
    """Smallest per-side padding p >= 0 with ``conv_output_size(n_in, k, stride, p, dilation) == n_out``.

    >>> solve_padding(32, 32, 5)
    2
    >>> solve_padding(224, 112, 7, stride=2)
    3
    """
    _positive("output size", n_out)
    span = effective_kernel(k, dilation)
    # out grows by at most 1 per unit of padding (2p / s with s >= 1): scan the few candidates.
    p_low = max(0, -(-(span - n_in) // 2))
    for p in range(p_low, p_low + n_out * stride + span + 1):
        out = conv_output_size(n_in, k, stride, p, dilation)
        if out == n_out:
            return p
        if out > n_out:
            break
    nearest = [p for p in range(p_low, p_low + 2)]
    sizes = ", ".join(f"p={p} gives {conv_output_size(n_in, k, stride, p, dilation)}" for p in nearest)
    raise UsageError(f"no padding gives output {n_out} from input {n_in} with k={k}, stride={stride}, "
                     f"dilation={dilation} ({sizes})")


def solve_kernel(n_in: int, n_out: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Kernel size k giving ``n_out``; the largest such k (the one that leaves no input unused).

    >>> solve_kernel(28, 24)
    5
    >>> solve_kernel(7, 3, stride=2)
    3
    """
    _positive("output size", n_out)
    padded = n_in + 2 * padding
    for k in range(padded, 0, -1):
        if effective_kernel(k, dilation) > padded:
            continue
        if conv_output_size(n_in, k, stride, padding, dilation) == n_out:
            return k
    raise UsageError(f"no kernel size gives output {n_out} from input {n_in} with stride={stride}, "
                     f"padding={padding}, dilation={dilation}")


def solve_stride(n_in: int, n_out: int, k: int, padding: int = 0, dilation: int = 1) -> int:
    """Smallest stride s giving ``n_out``.

    >>> solve_stride(227, 55, 11)
    4
    """
    _positive("output size", n_out)
    for s in range(1, n_in + 2 * padding + 1):
        if conv_output_size(n_in, k, s, padding, dilation) == n_out:
            return s
    raise UsageError(f"no stride gives output {n_out} from input {n_in} with k={k}, padding={padding}, "
                     f"dilation={dilation}")


def unused_input(n: int, k: int, stride: int = 1, padding: int | tuple[int, int] = 0,
                 dilation: int = 1) -> list[int]:
    """Input positions (0-based) that no window of a convolution reads.

    A stride that does not fit the input leaves its last rows unused (input 4, kernel 3,
    stride 2 reads rows 0–2 only); a stride larger than the dilated kernel skips rows
    in between. ``padding`` is per side, or ``(before, after)``.

    >>> unused_input(4, 3, stride=2), unused_input(5, 3, stride=2), unused_input(4, 1, stride=2)
    ([3], [], [1, 3])
    """
    out = conv_output_size(n, k, stride, padding, dilation)
    before = padding if isinstance(padding, int) else padding[0]
    read = {o * stride + a * dilation - before for o in range(out) for a in range(k)}
    return [i for i in range(n) if i not in read]


def unused_note(rows: list[int], cols: list[int]) -> str | None:
    """One sentence naming unused input rows and columns, or None when all are read.

    ``rows``, ``cols``: 0-based positions (as :func:`unused_input` gives them); the sentence
    counts from 1, as every other message of cnnlab does.

    >>> unused_note([3], [3])
    'note: no window reads input row 4 or column 4 (counted from 1): the stride does not fit the input'
    """
    if not rows and not cols:
        return None
    def name(what: str, items: list[int]) -> str:
        return f"{what}{'s' if len(items) > 1 else ''} {', '.join(str(i + 1) for i in items)}"
    parts = [name(w, items) for w, items in (("row", rows), ("column", cols)) if items]
    return f"note: no window reads input {' or '.join(parts)} (counted from 1): the stride does not fit the input"
