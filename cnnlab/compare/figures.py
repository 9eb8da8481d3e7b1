"""The pictures of a comparison: coefficients, learning curves, accuracy before and after
the shifts, and shifted examples, drawn into ``<run_dir>/figures``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["EXAMPLES_PER_ROW", "write_figures"]

EXAMPLES_PER_ROW = 10  # one validation digit per class on MNIST


def _example_indices(y: np.ndarray, n: int) -> np.ndarray:
    """The first example of each class (in label order), then the next ones, up to n."""
    firsts = [int(np.flatnonzero(y == c)[0]) for c in np.unique(y)]
    taken = set(firsts)
    rest = [i for i in range(min(len(y), n + len(firsts))) if i not in taken]
    return np.array((firsts + rest)[:n])


def _shift_of(original: np.ndarray, shifted: np.ndarray, max_dx: int) -> int | None:
    """The integer dx with shift_images(original, dx, 0) == shifted, if one exists.

    original, shifted: (C, H, W).
    """
    from cnnlab.train.shift import shift_images

    for dx in sorted(range(-max_dx, max_dx + 1), key=abs):
        if np.array_equal(shift_images(original[None], dx, 0)[0], shifted):
            return dx
    return None


def write_figures(result, ds, x_shift: np.ndarray, coef_images: np.ndarray | None) -> dict[str, Path]:
    """Draw every picture into <run_dir>/figures; returns name -> path.

    x_shift: (N_val, C, H, W), the shifted validation images; coef_images: (K, H, W) or None.
    """
    from cnnlab.report import figures

    out = result.run_dir / "figures"
    paths: dict[str, Path] = {}
    if coef_images is not None:
        paths["coefficients"] = figures.coefficient_images(coef_images, ds.classes, out / "logreg_coefficients.png")
    histories = {m.name: m.history for m in result.models if m.history}
    if histories:
        paths["learning_curves"] = figures.learning_curves(histories, out / "learning_curves.png")
    names = [m.name for m in result.models]
    paths["accuracy_shift"] = figures.accuracy_bars(
        names,
        {"validation": [m.val_accuracy for m in result.models],
         f"validation shifted (|dx| <= {result.config.shift_fraction:.0%} of width)":
             [m.shifted_val_accuracy for m in result.models]},
        out / "accuracy_vs_shift.png", title="accuracy before and after a random horizontal shift",
    )
    N, C, H, W = ds.x_val.shape
    idx = _example_indices(ds.y_val, min(EXAMPLES_PER_ROW, N))
    max_dx = int(np.ceil(result.config.shift_fraction * W))
    titles = [str(ds.classes[int(ds.y_val[i])]) for i in idx]
    shifts = [_shift_of(ds.x_val[i], x_shift[i], max_dx) for i in idx]
    titles += ["shifted" if dx is None else f"dx = {dx:+d}" for dx in shifts]
    paths["shifted_examples"] = figures.image_grid(
        np.concatenate([ds.x_val[idx], x_shift[idx]]), out / "shifted_examples.png",
        titles=titles, ncols=len(idx),
    )
    return paths
