"""Figures for comparisons and reports, written as PNG files.

(The pictures of a single training run, its learning curves and confusion matrix, are
drawn by ``cnnlab.train.plots``; ``learning_curves`` here overlays several runs.)

Each function draws one picture and saves it to ``path`` (returning the path), using
matplotlib's object API on an Agg canvas: no pyplot global state, no display needed, and
matplotlib is imported only when a picture is drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from cnnlab.userfiles import write_atomic

__all__ = [
    "new_figure",
    "save_figure",
    "write_png",
    "learning_curves",
    "coefficient_images",
    "accuracy_bars",
    "image_grid",
]

DPI = 100  # 100 dpi keeps a 10-panel picture under ~100 kB, small enough to embed in HTML


def new_figure(width: float, height: float):
    """A bare matplotlib Figure (Agg canvas), never touching pyplot's global state; inches."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path: str | Path) -> Path:
    """Write ``fig`` as PNG, atomically (a reader never sees half a picture); returns the path."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return write_png(fig, path, dpi=DPI, bbox_inches="tight")


def write_png(fig, path: str | Path, **options) -> Path:
    """``fig.savefig(path, **options)`` as PNG, written atomically: a full disk leaves no
    truncated picture (:func:`cnnlab.userfiles.write_atomic`)."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", **options)
    return write_atomic(path, buffer.getvalue(), "picture", sync=False)


def learning_curves(histories: Mapping[str, Sequence[Mapping[str, float]]], path: str | Path) -> Path:
    """Loss and accuracy per epoch, training (solid) and validation (dashed), one colour per run.

    histories: run name -> one dict per epoch with ``epoch``, ``train_loss``, ``val_loss``,
    ``train_accuracy``, ``val_accuracy`` (missing keys are skipped).
    """
    fig = new_figure(11, 4)
    ax_loss, ax_acc = fig.subplots(1, 2)
    for i, (name, history) in enumerate(histories.items()):
        color = f"C{i % 10}"
        epochs = [h.get("epoch", j + 1) for j, h in enumerate(history)]
        for ax, metric in ((ax_loss, "loss"), (ax_acc, "accuracy")):
            for split, style in (("train", "-"), ("val", "--")):
                key = f"{split}_{metric}"
                points = [(e, h[key]) for e, h in zip(epochs, history) if h.get(key) is not None]
                if points:
                    xs, ys = zip(*points)
                    ax.plot(xs, ys, style, color=color, marker="o", markersize=3,
                            label=f"{name} ({'training' if split == 'train' else 'validation'})")
    for ax, metric in ((ax_loss, "loss"), (ax_acc, "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax_acc.legend(fontsize=8, loc="lower right")
    ax_loss.set_title("loss")
    ax_acc.set_title("accuracy")
    return save_figure(fig, path)


def coefficient_images(coef: np.ndarray, classes: Sequence[str], path: str | Path) -> Path:
    """One picture per class of a linear model's weights, red positive, blue negative.

    coef: (K, H, W), one weight per input pixel and class. All panels share one symmetric
    colour scale so their strengths compare.
    """
    coef = np.asarray(coef, dtype=float)
    K, H, W = coef.shape
    ncols = min(K, 5)
    nrows = -(-K // ncols)
    fig = new_figure(2.0 * ncols, 2.2 * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    limit = float(np.abs(coef).max()) or 1.0
    image = None
    for k, ax in enumerate(axes):
        ax.set_axis_off()
        if k < K:
            image = ax.imshow(coef[k], cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_title(str(classes[k]), fontsize=9)
    fig.colorbar(image, ax=list(axes), shrink=0.6, label="weight")
    return save_figure(fig, path)


def accuracy_bars(names: Sequence[str], groups: Mapping[str, Sequence[float]], path: str | Path,
                  *, title: str = "") -> Path:
    """Grouped bars: one group per model, one bar per condition (e.g. clean vs shifted).

    groups: condition label -> one accuracy per name (None for a missing value).
    """
    n, m = len(names), len(groups)
    fig = new_figure(max(5.0, 1.3 * n * max(m, 1) / 2 + 2), 4)
    ax = fig.subplots()
    width = 0.8 / max(m, 1)
    x = np.arange(n)
    for i, (label, values) in enumerate(groups.items()):
        if len(values) != n:
            raise ValueError(f"{label!r} has {len(values)} values for {n} models")
        heights = [np.nan if v is None else v for v in values]
        bars = ax.bar(x + (i - (m - 1) / 2) * width, heights, width, label=label, color=f"C{i}")
        ax.bar_label(bars, labels=["" if v is None else f"{v:.3f}" for v in values], fontsize=7, padding=2)
    ax.set_xticks(x, list(names))
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.08)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title)
    return save_figure(fig, path)


def image_grid(images: np.ndarray, path: str | Path, *, titles: Sequence[str] | None = None,
               ncols: int = 8) -> Path:
    """A grid of images (grey for 1 channel, RGB for 3, the channel mean otherwise).

    images: (N, C, H, W), values in [0, 1]; titles: one per image (optional).
    """
    images = np.asarray(images, dtype=float)
    N, C, H, W = images.shape
    ncols = max(1, min(ncols, N))
    nrows = -(-N // ncols)
    fig = new_figure(1.3 * ncols, 1.5 * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for i, ax in enumerate(axes):
        ax.set_axis_off()
        if i >= N:
            continue
        img = images[i]
        if C == 3:
            ax.imshow(np.clip(img.transpose(1, 2, 0), 0, 1))  # (H, W, 3)
        else:
            ax.imshow(img.mean(axis=0), cmap="gray", vmin=0, vmax=1)  # (H, W)
        if titles is not None:
            ax.set_title(titles[i], fontsize=7)
    return save_figure(fig, path)
