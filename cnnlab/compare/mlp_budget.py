"""Size a multilayer perceptron to a parameter budget (e.g. the CNN it is compared with).

An MLP ``in -> h1 -> ... -> hL -> classes`` of fully connected layers with biases has
sum over consecutive widths (a, b) of a*b + b parameters. To keep the reference MLP's
shape while shrinking it, the widths halve from layer to layer (256-128-64 keeps
ratio 1/2) and only the first width is searched.
"""

from __future__ import annotations

from typing import Sequence

__all__ = ["mlp_params", "mlp_hidden_for_budget"]


def mlp_params(in_features: int, hidden: Sequence[int], num_classes: int) -> int:
    """Weights + biases of the fully connected layers in -> hidden... -> classes.

    >>> mlp_params(784, [256, 128, 64], 10)   # the sheet's MLP on MNIST
    242762
    >>> mlp_params(784, [], 10)               # logistic regression
    7850
    """
    widths = [int(in_features), *[int(h) for h in hidden], int(num_classes)]
    return sum(a * b + b for a, b in zip(widths, widths[1:]))


def _widths(first: int, depth: int, ratio: float) -> list[int]:
    return [max(1, int(first * ratio**i + 0.5)) for i in range(depth)]


def mlp_hidden_for_budget(
    budget: int,
    in_features: int,
    num_classes: int,
    *,
    depth: int = 3,
    ratio: float = 0.5,
) -> list[int]:
    """Hidden widths whose MLP has the parameter count closest to ``budget``.

    Widths are ``[w, w*ratio, w*ratio^2, ...]`` (``depth`` of them, rounded, at least 1);
    the first width ``w`` is searched. Raises ValueError when even width 1 is over budget.

    >>> mlp_hidden_for_budget(21840, 784, 10)          # small-cnn's budget on MNIST
    [27, 14, 7]
    >>> mlp_params(784, [27, 14, 7], 10)
    21772
    >>> mlp_hidden_for_budget(21840, 784, 10, depth=1)
    [27]
    """
    if depth < 1:
        raise ValueError("depth must be at least 1")
    if mlp_params(in_features, _widths(1, depth, ratio), num_classes) > budget:
        raise ValueError(f"no {depth}-hidden-layer MLP on {in_features} inputs fits in {budget} parameters")
    best, best_gap = _widths(1, depth, ratio), abs(mlp_params(in_features, _widths(1, depth, ratio), num_classes) - budget)
    first = 1
    while True:
        first += 1
        hidden = _widths(first, depth, ratio)
        params = mlp_params(in_features, hidden, num_classes)
        if abs(params - budget) < best_gap:
            best, best_gap = hidden, abs(params - budget)
        if params > budget:  # the count grows with the first width: no closer one beyond
            return best
