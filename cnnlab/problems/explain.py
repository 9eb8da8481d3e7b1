"""Worked steps of the ask functions that have no cell-by-cell trace in :mod:`cnnlab.steps`.

Size formulas written out with the numbers put in, the factors of a separable kernel,
the softmax Jacobian from p, a global pool as a mean... Each explainer returns blocks of
:mod:`cnnlab.doc` with structured maths, so every writer (text, Markdown, LaTeX, HTML)
writes them; nothing here knows the format.
Functions without an explainer get one line ``name(args) = value``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from cnnlab.ops.sizes import conv_output_size, effective_kernel
from cnnlab.doc.blocks import Block, Equation, Group, Heading, Matrices, Para, TensorGrid
from cnnlab.doc.expr import Frac, Num, Paren, Product, Round, Seq, Sub
from cnnlab.steps.layout import MAX_SIDE_SHOWN

__all__ = ["EXPLAINERS", "explain_call"]


def _grid(a: Any) -> TensorGrid:
    return TensorGrid(a, limit=MAX_SIDE_SHOWN)


def _size_chain(n: int, k: int, s: int, p: int, d: int, ceil: bool = False) -> list:
    """``⌊(n + 2p − d(k−1) − 1)/s⌋ + 1`` with the numbers put in, then evaluated."""
    numer = Seq((str(n), "+", Product(2, p), "-", Product(d, Paren(Seq((str(k), "-", "1")))), "-", "1"))
    value = n + 2 * p - effective_kernel(k, d)
    return [Seq((Round(Frac(top, str(s)), up=ceil), "+", "1")) for top in (numer, str(value))]


N_OUT = Sub("n", "out")


def _eq(lhs: Any, rhs: list) -> Group:
    return Group([Equation(lhs, rhs)])


def _conv_output_size(a: dict, result: Any) -> list[Block]:
    chain = _size_chain(a["n"], a["k"], a["stride"], a["padding"], a["dilation"])
    return [Heading("Output size"), Para("n_out = ⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1"),
            _eq(N_OUT, chain + [Num(result)])]


def _pool_output_size(a: dict, result: Any) -> list[Block]:
    s = a["k"] if a["stride"] is None else a["stride"]
    ceil = a["ceil_mode"]
    chain = _size_chain(a["n"], a["k"], s, a["padding"], 1, ceil=ceil)
    blocks: list[Block] = [Heading("Pooling output size"),
                           Para(f"n_out = {'⌈' if ceil else '⌊'}(n + 2p − k) / s{'⌉' if ceil else '⌋'} + 1"
                                + (" (stride defaults to the window size)" if a["stride"] is None else ""))]
    # ceil((m)/s) = floor((m + s - 1)/s): the size before PyTorch drops a window in the padding
    full = conv_output_size(a["n"] + s - 1, a["k"], s, a["padding"]) if ceil else result
    blocks.append(_eq(N_OUT, chain + [Num(full)]))
    if ceil and full != result:
        blocks.append(Para(f"The last window would start inside the padding (at {(full - 1) * s} ≥ n + p = "
                           f"{a['n'] + a['padding']}), so it is dropped, as PyTorch does: n_out = {result}."))
    return blocks


def _solve_padding(a: dict, result: Any) -> list[Block]:
    n, k, s, d = a["n_in"], a["k"], a["stride"], a["dilation"]
    check = _size_chain(n, k, s, result, d)
    return [Heading("Padding"),
            Para(f"The smallest p ≥ 0 with ⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1 = {a['n_out']}:"),
            _eq(Seq(("p", "=", str(result))), check + [Num(conv_output_size(n, k, s, result, d))])]


def _solve_kernel(a: dict, result: Any) -> list[Block]:
    n, s, p, d = a["n_in"], a["stride"], a["padding"], a["dilation"]
    check = _size_chain(n, result, s, p, d)
    return [Heading("Kernel size"),
            Para(f"The largest k with ⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1 = {a['n_out']} "
                 "(with stride 1: k = n + 2p − n_out + 1):"),
            _eq(Seq(("k", "=", str(result))), check + [Num(conv_output_size(n, result, s, p, d))])]


def _separable(a: dict, result: Any) -> list[Block]:
    k = a["k"]
    blocks: list[Block] = [Heading("Separability"),
                           Para("A kernel is separable when it is an outer product column ⊗ row, "
                                "i.e. when its rank is 1 (one non-zero singular value).")]
    if result["separable"] and result["column"] is not None:
        col = np.array(result["column"], dtype=object).reshape(-1, 1)
        row = np.array(result["row"], dtype=object).reshape(1, -1)
        blocks.append(Group([Matrices([("column", _grid(col)), ("row", _grid(row)), ("kernel", _grid(k))],
                                      ops=["⊗", "="])]))
        kh, kw = k.shape
        blocks.append(Para(f"Filtering with the column then the row costs {kh} + {kw} = {kh + kw} "
                           f"multiplications per pixel instead of {kh} × {kw} = {kh * kw}."))
    else:
        from cnnlab.kernels.separable import rank
        blocks.append(Para(f"The rank is {rank(k)} > 1: no column ⊗ row gives this kernel."))
    return blocks


def _softmax_jacobian(a: dict, result: Any) -> list[Block]:
    from cnnlab.ops import softmax
    p = softmax(a["x"])
    return [Heading("Softmax Jacobian"),
            Para("J[i][j] = ∂p_i/∂x_j = p_i·(δ_ij − p_j), i.e. J = diag(p) − p pᵀ, with p = softmax(x):"),
            Group([Matrices([("p", _grid(p.reshape(1, -1)))])])]


def _global_pool(a: dict, result: Any, op: str) -> list[Block]:
    x = a["x"]
    H, W = x.shape[-2:]
    what = "mean" if op == "avg" else "maximum"
    return [Heading(f"Global {'average' if op == 'avg' else 'max'} pooling"),
            Para(f"The {what} of the {H}×{W} = {H * W} values of each channel.")]


def _flip(a: dict, result: Any) -> list[Block]:
    return [Heading("Flip"), Para("The kernel rotated by 180°: rows reversed, then columns reversed.")]


def _rank(a: dict, result: Any) -> list[Block]:
    return [Heading("Rank"), Para("The number of linearly independent rows (exact elimination for "
                                  "integer/fraction kernels, else the non-zero singular values).")]


EXPLAINERS: dict[str, Callable[..., list[Block]]] = {
    "conv_output_size": _conv_output_size,
    "pool_output_size": _pool_output_size,
    "solve_padding": _solve_padding,
    "solve_kernel": _solve_kernel,
    "separable": _separable,
    "softmax_jacobian": _softmax_jacobian,
    "global_avgpool": lambda a, r: _global_pool(a, r, "avg"),
    "global_maxpool": lambda a, r: _global_pool(a, r, "max"),
    "flip": _flip,
    "rank": _rank,
}


def explain_call(name: str, args: dict, result: Any) -> list[Block]:
    """Blocks explaining one call; [] when the function has nothing to explain."""
    explainer = EXPLAINERS.get(name)
    return explainer(args, result) if explainer else []
