"""Pictures of a run: learning curves and the confusion matrix (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from cnnlab.report.figures import new_figure, save_figure

__all__ = ["plot_learning_curves", "plot_confusion"]


def plot_learning_curves(history: Sequence[dict], path: Path, best_epoch: int | None = None) -> None:
    """Loss and accuracy per epoch, training and validation, side by side."""
    fig = new_figure(10, 4)
    epochs = [row["epoch"] for row in history]
    for ax, key, label in zip(fig.subplots(1, 2), ("loss", "accuracy"), ("loss", "accuracy")):
        ax.plot(epochs, [row[f"train_{key}"] for row in history], "o-", label="train")
        ax.plot(epochs, [row[f"val_{key}"] for row in history], "o-", label="validation")
        if best_epoch:
            ax.axvline(best_epoch, color="grey", linestyle=":", label=f"best (epoch {best_epoch})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    save_figure(fig, path)


def plot_confusion(confusion: np.ndarray, classes: Sequence[str], path: Path,
                   title: str = "test confusion matrix") -> None:
    """Counts as a heat map, row = true class, column = predicted class. confusion: (K, K)."""
    K = confusion.shape[0]
    side = max(4.0, 0.45 * K + 2)
    fig = new_figure(side, side)
    ax = fig.subplots()
    ax.imshow(confusion, cmap="Blues")
    ticks = np.arange(K)
    names = [str(c) for c in classes] if len(classes) == K else [str(i) for i in ticks]
    ax.set_xticks(ticks, names, rotation=90 if K > 10 or max(map(len, names)) > 3 else 0)
    ax.set_yticks(ticks, names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if K <= 20:
        top = confusion.max() or 1
        for i in range(K):
            for j in range(K):
                ax.text(j, i, str(int(confusion[i, j])), ha="center", va="center", fontsize=8,
                        color="white" if confusion[i, j] > top / 2 else "black")
    save_figure(fig, path)
