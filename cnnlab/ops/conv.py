"""Convolution (cross-correlation, or true convolution with ``flip``) and transposed convolution.

Semantics follow ``torch.nn.functional.conv2d`` / ``conv_transpose2d``; inputs carry no batch
axis (docs/conventions.md). Float tensors use a vectorised sliding-window einsum; exact tensors
(object arrays of Fractions) go through the same code, since einsum accepts object dtype.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnnlab.errors import UsageError, check_shape
from cnnlab.ops.padding import pad, pair, resolve_padding
from cnnlab.ops.sizes import conv_output_size, effective_kernel, transposed_output_size
from cnnlab.ops.tensor import from_scaled_integers, is_exact, scaled_integers, to_exact, to_fraction

__all__ = ["conv2d", "conv_transpose2d", "flip", "as_filters", "bias_vector", "squeeze_channels"]


def flip(k: np.ndarray) -> np.ndarray:
    """Rotate a kernel by 180° in its last two axes (true convolution = correlation with this).

    >>> flip(np.array([[1, 2], [3, 4]])).tolist()
    [[4, 3], [2, 1]]
    """
    return _rot180(k)


def _rot180(k: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(k[..., ::-1, ::-1])


def _groups(groups: Any, c_in: int) -> int:
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise UsageError(f"groups must be a positive integer, got {groups!r}")
    if c_in % groups:
        raise UsageError(f"groups={groups} does not divide the {c_in} input channels")
    return int(groups)


def as_filters(k: np.ndarray, c_in: int, groups: int = 1) -> np.ndarray:
    """A 2-D, 3-D or 4-D kernel as filters ``(C_out, C_in/groups, kh, kw)`` (docs/conventions.md).

    - 2-D ``(kh, kw)``: one filter per group, every input-channel slice equal to it
      (so with ``groups=1`` an all-ones 3×3 kernel over RGB sums the three channels).
    - 3-D ``(C_in/groups, kh, kw)``: one filter per group. For a depthwise convolution
      (``groups == C_in``) a 3-D ``(C_in, kh, kw)`` gives each channel its own kernel.
    - 4-D ``(C_out, C_in/groups, kh, kw)`` as PyTorch.
    """
    per_group = c_in // groups
    if k.ndim == 2:
        return np.broadcast_to(k, (groups, per_group, *k.shape)).copy()
    if k.ndim == 3:
        if k.shape[0] == per_group:
            return np.broadcast_to(k, (groups, *k.shape)).copy()
        if per_group == 1 and k.shape[0] == c_in:
            return k[:, None].copy()
        raise UsageError(f"a 3-D kernel must have C_in/groups = {per_group} slices, got {k.shape[0]}")
    if k.ndim == 4:
        if k.shape[1] != per_group:
            raise UsageError(f"kernel of shape {list(k.shape)} expects {k.shape[1] * groups} input channels "
                             f"(groups={groups}), the input has {c_in}")
        if k.shape[0] % groups:
            raise UsageError(f"groups={groups} does not divide the {k.shape[0]} output channels")
        return k
    raise UsageError(f"kernel must be 2-D, 3-D or 4-D, got shape {list(k.shape)}")


def bias_vector(bias: Any, c_out: int, exact: bool) -> np.ndarray:
    """Bias as one value per output channel, ``(C_out,)``."""
    b = np.asarray(bias, dtype=object if exact else np.float64)
    if b.ndim == 0:
        b = np.full(c_out, b.item(), dtype=b.dtype)
    elif b.ndim != 1 or b.shape[0] != c_out:
        raise UsageError(f"bias must be a number or a list of {c_out} (one per output channel), "
                         f"got shape {list(b.shape)}")
    return to_exact(b) if exact else b.astype(np.float64)


def squeeze_channels(out: np.ndarray) -> np.ndarray:
    """(1, H, W) -> (H, W); (C, H, W) with C > 1 unchanged (docs/cli.md output rule)."""
    return out[0] if out.shape[0] == 1 else out


def _as_chw(x: np.ndarray, what: str = "input") -> np.ndarray:
    if x.ndim == 2:
        return x[None]
    if x.ndim == 3:
        return x
    raise UsageError(f"{what} must be 2-D (H x W) or 3-D (C x H x W), got shape {list(x.shape)}")


def _match_exact(x: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    exact = is_exact(x) or is_exact(k)
    if exact:
        return (x if is_exact(x) else to_exact(x)), (k if is_exact(k) else to_exact(k)), True
    return x, k, False


def conv2d(x: np.ndarray, k: np.ndarray, bias: Any = 0, stride: Any = 1, padding: Any = 0,
           padding_mode: str = "zeros", dilation: Any = 1, groups: int = 1,
           flip: bool = False) -> np.ndarray:
    """2-D cross-correlation (or true convolution with ``flip=True``) of one image.

    Args:
        x: (H, W) or (C_in, H, W).
        k: (kh, kw), (C_in/groups, kh, kw) or (C_out, C_in/groups, kh, kw); see :func:`as_filters`.
        bias: a number or one per output channel.
        stride, dilation: int or (sh, sw).
        padding: int, (ph, pw), (top, bottom, left, right), "valid", "same" or "full".
        padding_mode: zeros, reflect, symmetric, replicate or circular.
        groups: split the channels into this many independent groups (``C_in`` = depthwise).
        flip: rotate the kernel by 180° first (true convolution).

    Returns:
        (H_out, W_out) when there is one output channel, else (C_out, H_out, W_out).

    >>> x = np.arange(9.).reshape(3, 3)
    >>> conv2d(x, np.array([[1., 0.], [0., -1.]])).tolist()
    [[-4.0, -4.0], [-4.0, -4.0]]
    >>> conv2d(x, np.array([[1., 0.], [0., -1.]]), flip=True).tolist()
    [[4.0, 4.0], [4.0, 4.0]]
    """
    x, k, exact = _match_exact(x, k)
    x3 = _as_chw(x)
    C, H, W = x3.shape
    g = _groups(groups, C)
    filters = as_filters(k, C, g)  # (C_out, C_in/g, kh, kw)
    if flip:
        filters = _rot180(filters)
    C_out, per_group, kh, kw = filters.shape
    sh, sw = pair(stride, "stride")
    dh, dw = pair(dilation, "dilation")
    top, bottom, left, right = resolve_padding(padding, (H, W), (kh, kw), (sh, sw), (dh, dw))
    H_out = conv_output_size(H, kh, sh, (top, bottom), dh)
    W_out = conv_output_size(W, kw, sw, (left, right), dw)
    check_shape((C_out, H_out, W_out), "output")
    b = bias_vector(bias, C_out, exact)

    xp = pad(x3, (top, bottom, left, right), padding_mode)  # (C, Hp, Wp)
    span_h, span_w = effective_kernel(kh, dh), effective_kernel(kw, dw)

    def correlate(xp: np.ndarray, filters: np.ndarray) -> np.ndarray:  # -> (C_out, H_out, W_out)
        win = sliding_window_view(xp, (span_h, span_w), axis=(1, 2))  # (C, Hp', Wp', span_h, span_w)
        win = win[:, ::sh, ::sw, ::dh, ::dw]  # (C, H_out, W_out, kh, kw)
        win = win.reshape(g, per_group, H_out, W_out, kh, kw)
        f = filters.reshape(g, C_out // g, per_group, kh, kw)
        return np.einsum("gchwij,gocij->gohw", win, f).reshape(C_out, H_out, W_out)

    if exact:
        out = _correlate_exact(correlate, xp, filters, b, per_group * kh * kw)
        if out is not None:
            return squeeze_channels(out)
    out = correlate(xp, filters) + b[:, None, None]
    return squeeze_channels(out)


def _correlate_exact(correlate, xp: np.ndarray, filters: np.ndarray, b: np.ndarray,
                     terms: int) -> np.ndarray | None:
    """Exact correlation plus bias on int64 numerators: the Fraction result, far faster.

    ``xp = X / Dx`` and ``filters = F / Df`` with integer X, F, so every output is
    ``(X ⋆ F) / (Dx·Df)`` plus the bias; the sums of products are formed in int64 once
    a bound shows they cannot overflow. None when they could: then the caller works on
    the Fractions themselves.
    """
    x_int, f_int, b_int = scaled_integers(xp), scaled_integers(filters), scaled_integers(b)
    if x_int is None or f_int is None or b_int is None:
        return None
    (X, dx), (F, df), (B, db) = x_int, f_int, b_int
    den = math.lcm(dx * df, db)  # output = (X ⋆ F)·(den / (dx·df)) / den + B·(den / db) / den
    up, b_up = den // (dx * df), den // db
    largest = (int(np.abs(X).max(initial=0)) * int(np.abs(F).max(initial=0)) * terms * up
               + int(np.abs(B).max(initial=0)) * b_up)
    if den >= 2**62 or largest >= 2**62:
        return None
    out = correlate(X, F) * up + (B * b_up)[:, None, None]
    return from_scaled_integers(out, den)


def conv_transpose2d(x: np.ndarray, k: np.ndarray, bias: Any = 0, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, dilation: Any = 1, groups: int = 1) -> np.ndarray:
    """Transposed convolution ("deconvolution"), as ``torch.nn.functional.conv_transpose2d``.

    Every input value scatters a copy of the kernel, scaled by it, into the output at
    ``stride`` spacing; ``padding`` then removes ``p`` rows and
    columns from each border, and ``output_padding`` adds rows/columns at the bottom/right.

    Args:
        x: (H, W) or (C_in, H, W).
        k: (C_in, C_out/groups, kh, kw) as PyTorch; a 3-D (C_in, kh, kw) or 2-D (kh, kw)
            kernel gives one output channel (a 2-D kernel is used for every input channel).
        padding, output_padding, stride, dilation: int or pair.

    Returns:
        (H_out, W_out) for one output channel, else (C_out, H_out, W_out), with
        ``H_out = (H−1)·s − 2p + d·(kh−1) + output_padding + 1``.

    >>> conv_transpose2d(np.array([[1., 2.]]), np.array([[1., 1.]]), stride=2).tolist()
    [[1.0, 1.0, 2.0, 2.0]]
    """
    x, k, exact = _match_exact(x, k)
    x3 = _as_chw(x)
    C, H, W = x3.shape
    g = _groups(groups, C)
    if k.ndim == 2:
        weights = np.broadcast_to(k, (C, 1, *k.shape)).copy()
    elif k.ndim == 3:
        if k.shape[0] != C:
            raise UsageError(f"a 3-D transposed kernel must have C_in = {C} slices, got {k.shape[0]}")
        weights = k[:, None]
    elif k.ndim == 4:
        if k.shape[0] != C:
            raise UsageError(f"transposed kernel of shape {list(k.shape)} expects {k.shape[0]} input "
                             f"channels (layout C_in x C_out/groups x kh x kw), the input has {C}")
        weights = k
    else:
        raise UsageError(f"kernel must be 2-D, 3-D or 4-D, got shape {list(k.shape)}")
    _, out_per_group, kh, kw = weights.shape
    C_out = out_per_group * g
    sh, sw = pair(stride, "stride")
    dh, dw = pair(dilation, "dilation")
    ph, pw = pair(padding, "padding", minimum=0)
    oph, opw = pair(output_padding, "output_padding", minimum=0)
    H_out = transposed_output_size(H, kh, sh, ph, oph, dh)
    W_out = transposed_output_size(W, kw, sw, pw, opw, dw)
    check_shape((C_out, H_out, W_out), "output")
    b = bias_vector(bias, C_out, exact)

    H_full = (H - 1) * sh + effective_kernel(kh, dh) + oph
    W_full = (W - 1) * sw + effective_kernel(kw, dw) + opw
    check_shape((C_out, H_full, W_full), "uncropped output")
    zero = to_fraction(0) if exact else 0.0
    full = np.full((C_out, H_full, W_full), zero, dtype=object if exact else np.float64)
    per_group = C // g
    xg = x3.reshape(g, per_group, H, W)
    wg = weights.reshape(g, per_group, out_per_group, kh, kw)
    for i in range(kh):
        for j in range(kw):
            contrib = np.einsum("gchw,gco->gohw", xg, wg[..., i, j]).reshape(C_out, H, W)
            r0, c0 = i * dh, j * dw
            full[:, r0:r0 + (H - 1) * sh + 1:sh, c0:c0 + (W - 1) * sw + 1:sw] += contrib
    out = full[:, ph:ph + H_out, pw:pw + W_out] + b[:, None, None]
    return squeeze_channels(out)
