"""Logistic regression (scikit-learn) as the linear baseline of the comparison.

The model sees the flattened pixels normalised with the training split's per-channel
mean and std (the same normalisation the torch models get), so its weights are still
one number per pixel and read as pictures: ``coefficient_images`` gives one (H, W) map
per class.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

# One BLAS thread unless asked: on the shared 2-core machine (load ~8) lbfgs on full MNIST
# took 28 s with one OpenBLAS thread and 137 s with two (busy-waiting threads fight for
# the cores), and 0.08 s vs 15 s on the 8x8 digits (benchmarks/RESULTS.md, section compare).
BLAS_THREADS = 1

__all__ = ["BLAS_THREADS", "LogRegResult", "fit_logreg", "logreg_predict", "logreg_accuracy", "logreg_coefficient_images"]


@dataclass
class LogRegResult:
    """A fitted logistic regression and what the comparison reports about it."""

    model: Any                   # sklearn.linear_model.LogisticRegression
    mean: np.ndarray             # (C,) normalisation used for the inputs
    std: np.ndarray              # (C,)
    image_shape: tuple[int, int, int]  # (C, H, W)
    params: int                  # weights + biases
    train_examples: int
    train_seconds: float
    n_iter: int                  # solver iterations taken
    converged: bool              # False when max_iter stopped the solver


def _features(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """x: (N, C, H, W) in [0, 1] -> (N, C*H*W) float32, normalised per channel."""
    N, C, H, W = x.shape
    mean = np.asarray(mean, dtype=np.float32).reshape(1, C, 1, 1)
    std = np.asarray(std, dtype=np.float32).reshape(1, C, 1, 1)
    return ((x - mean) / np.maximum(std, 1e-8)).reshape(N, C * H * W).astype(np.float32, copy=False)


def fit_logreg(
    x: np.ndarray,
    y: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    *,
    max_iter: int = 100,
    C: float = 1.0,
    seed: int = 0,
    threads: int = BLAS_THREADS,
) -> LogRegResult:
    """Fit multinomial logistic regression (lbfgs, L2 penalty of strength 1/C).

    x: (N, C, H, W) float32 in [0, 1]; y: (N,) int labels; mean, std: (C,).
    ``max_iter`` caps the solver (it then stops unconverged, reported in ``converged``);
    ``threads``: BLAS threads used by the solver.

    >>> rng = np.random.default_rng(0)
    >>> x = rng.random((40, 1, 2, 2), dtype=np.float32); y = (x[:, 0, 0, 0] > 0.5).astype(int)
    >>> r = fit_logreg(x, y, np.array([0.5]), np.array([0.3]))
    >>> r.params, logreg_accuracy(r, x, y) > 0.9
    (5, True)
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    N, Ch, H, W = x.shape
    features = _features(x, mean, std)  # (N, C*H*W)
    model = LogisticRegression(C=C, solver="lbfgs", max_iter=max_iter, random_state=seed)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught, threadpool_limits(threads):
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(features, y)
    seconds = time.perf_counter() - start
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return LogRegResult(
        model=model,
        mean=np.asarray(mean, dtype=np.float32),
        std=np.asarray(std, dtype=np.float32),
        image_shape=(Ch, H, W),
        params=int(model.coef_.size + model.intercept_.size),
        train_examples=N,
        train_seconds=seconds,
        n_iter=int(np.max(model.n_iter_)),
        converged=converged,
    )


def logreg_predict(result: LogRegResult, x: np.ndarray) -> np.ndarray:
    """Predicted labels, (N,) int, for x: (N, C, H, W) in [0, 1]."""
    N, C, H, W = x.shape
    if (C, H, W) != result.image_shape:
        raise ValueError(f"images of shape {(C, H, W)} but the model was fitted on {result.image_shape}")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(BLAS_THREADS):
        return result.model.predict(_features(x, result.mean, result.std))


def logreg_accuracy(result: LogRegResult, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of x: (N, C, H, W) classified as y: (N,)."""
    return float(np.mean(logreg_predict(result, x) == np.asarray(y)))


def logreg_coefficient_images(result: LogRegResult) -> np.ndarray:
    """The weights as pictures: (K, H, W), one per class (channel mean for C > 1).

    For two classes scikit-learn keeps one weight vector w (for class 1); the pictures
    are then -w/2 and w/2, the equivalent softmax weights.
    """
    C, H, W = result.image_shape
    coef = result.model.coef_  # (K, C*H*W), or (1, C*H*W) for two classes
    if coef.shape[0] == 1:
        coef = np.concatenate([-coef / 2, coef / 2])  # (2, C*H*W)
    K = coef.shape[0]
    return coef.reshape(K, C, H, W).mean(axis=1)  # (K, H, W)
