"""Shift equivariance of convolution, shift absorption by max pooling, noise averaging.

Three numeric demonstrations (``cnnlab kernel invariance``), each measured on arrays with
``cnnlab.ops`` and compared with what theory says:

1. **Convolution is shift-equivariant**: conv(shift(x)) = shift(conv(x)) exactly at every
   pixel whose window sees only real image content in both; it fails at the borders
   (padding and the content shifted in), everywhere holds with circular padding and a
   circular shift, and with stride s it holds only for shifts that are multiples of s.
2. **Max pooling absorbs small shifts**: a p×p max pool (stride p) gives the same output
   for a lone bright dot moved by s < p pixels in (p − s)/p of its positions; for s ≥ p
   never. On a real feature map the pooled output changes less than the map itself.
3. **Averaging N noisy copies** (independent noise of variance σ²) leaves noise of
   variance σ²/N, unbiased; simulated against the formula with its standard error.

>>> x = np.arange(36.0).reshape(6, 6)
>>> shift_image(x, 1, 0)[:2].tolist()
[[0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]]
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from cnnlab.errors import UsageError

__all__ = ["shift_image", "equivariance_check", "shift_equivariance", "pool_dot_absorption",
           "invariance_report", "plot_invariance",
           "pool_feature_change", "noise_averaging", "INVARIANCE_PARTS"]

INVARIANCE_PARTS = ("shift", "pool", "noise")  # the parts of invariance_report, in order


def shift_image(x: np.ndarray, dy: int, dx: int, circular: bool = False) -> np.ndarray:
    """Translate x (H, W) by dy rows down and dx columns right; vacated pixels are 0
    (or wrap around with ``circular=True``)."""
    H, W = x.shape
    if circular:
        return np.roll(x, (dy, dx), axis=(0, 1))
    out = np.zeros_like(x)
    if abs(dy) >= H or abs(dx) >= W:
        return out
    src = x[max(0, -dy):H - max(0, dy), max(0, -dx):W - max(0, dx)]
    out[max(0, dy):max(0, dy) + src.shape[0], max(0, dx):max(0, dx) + src.shape[1]] = src
    return out


def _valid(mask: np.ndarray, k_shape: tuple[int, int], stride: int) -> np.ndarray:
    """Output positions whose window (same padding, zeros) lies inside ``mask`` only."""
    from cnnlab.ops import conv2d

    kh, kw = k_shape
    covered = conv2d(mask.astype(np.float64), np.ones((kh, kw)), stride=stride, padding="same")
    return covered >= kh * kw - 0.5


def equivariance_check(x: np.ndarray, k: np.ndarray, dy: int, dx: int, stride: int = 1,
                       circular: bool = False) -> dict[str, Any]:
    """Compare conv(shift(x)) with shift(conv(x)) for one shift.

    x: (H, W); k: (kh, kw). Convolution: ``cnnlab.ops.conv2d`` with ``padding="same"``,
    zeros (or circular padding and a circular shift when ``circular``). The output shift
    is (dy/s, dx/s); when the stride s does not divide the shift, the nearest output shift
    (rounded) is used and the check is expected to fail. Returns counts and maxima:
    ``interior_max_diff`` over the pixels whose windows see only real content in both
    results, ``border_max_diff`` and ``border_differing`` over the rest, ``relative_diff``
    = interior max difference / max |conv(x)|.
    """
    from cnnlab.ops import conv2d

    H, W = x.shape
    mode = "circular" if circular else "zeros"
    a = conv2d(shift_image(x, dy, dx, circular), k, stride=stride, padding="same", padding_mode=mode)
    base = conv2d(x, k, stride=stride, padding="same", padding_mode=mode)
    divides = dy % stride == 0 and dx % stride == 0
    oy, ox = (dy // stride, dx // stride) if divides else (round(dy / stride), round(dx / stride))
    b = shift_image(base, oy, ox, circular)
    if circular:
        interior = np.ones(a.shape, dtype=bool)
    else:
        real = shift_image(np.ones((H, W)), dy, dx) > 0.5  # where the shifted image has content
        interior = _valid(real, k.shape, stride) & (shift_image(
            _valid(np.ones((H, W), bool), k.shape, stride).astype(float), oy, ox) > 0.5)
    diff = np.abs(a - b)
    border = ~interior
    scale = float(np.abs(base).max()) or 1.0
    return {
        "shift": [dy, dx], "stride": stride, "padding": mode, "output_shift": [oy, ox],
        "stride_divides_shift": divides,
        "interior_pixels": int(interior.sum()), "interior_max_diff": float(diff[interior].max(initial=0.0)),
        "relative_diff": float(diff[interior].max(initial=0.0)) / scale,
        "border_pixels": int(border.sum()), "border_max_diff": float(diff[border].max(initial=0.0)),
        "border_differing": int((diff[border] > 1e-12 * scale).sum()),
        "equivariant_inside": bool(diff[interior].max(initial=0.0) <= 1e-12 * scale),
        "_arrays": {"conv_of_shift": a, "shift_of_conv": b, "diff": diff, "interior": interior},
    }


def shift_equivariance(x: np.ndarray, k: np.ndarray, dy: int = 3, dx: int = 5) -> list[dict[str, Any]]:
    """The four cases of the demonstration: zeros stride 1, circular stride 1, stride 2 with
    an even shift (2dy, 2dx) and stride 2 with the odd shift (2dy+1, 2dx+1)."""
    return [
        equivariance_check(x, k, dy, dx),
        equivariance_check(x, k, dy, dx, circular=True),
        equivariance_check(x, k, 2 * dy, 2 * dx, stride=2),
        equivariance_check(x, k, 2 * dy + 1, 2 * dx + 1, stride=2),
    ]


def pool_dot_absorption(pool_sizes: Sequence[int] = (2, 3, 4), max_shift: int = 4) -> list[dict[str, Any]]:
    """Move a lone bright dot right by s pixels; how often is the p×p max-pooled output unchanged?

    For every dot position in a p×p window (p² positions) and every s in 0..max_shift:
    measured fraction unchanged vs the formula max(0, p − s)/p.
    """
    from cnnlab.ops import max_pool2d

    rows = []
    for p in pool_sizes:
        side = p * (max_shift // p + 3)
        for s in range(max_shift + 1):
            same = 0
            for i in range(p):
                for j in range(p):
                    img = np.zeros((side, side))
                    img[p + i, p + j] = 1.0
                    same += bool(np.array_equal(max_pool2d(img, p), max_pool2d(shift_image(img, 0, s), p)))
            rows.append({"pool": p, "shift": s, "measured": same / (p * p), "formula": max(0, p - s) / p})
    return rows


def pool_feature_change(x: np.ndarray, k: np.ndarray, pool_sizes: Sequence[int] = (2, 4),
                        shifts: Sequence[int] = (1, 2, 4)) -> list[dict[str, Any]]:
    """On a real feature map f = relu(conv(x, k)): relative change under a horizontal shift s
    of the map itself, ‖f(shifted x) − f(x)‖/‖f(x)‖, and of its p×p max-pooled version,
    with the fraction of pooled cells unchanged. Borders (the content shifted in, the last
    partial window) are cropped so only the shift itself is measured.
    """
    from cnnlab.ops import conv2d, max_pool2d, relu

    f0 = relu(conv2d(x, k, padding="same"))
    margin = max(shifts) + max(pool_sizes) + max(k.shape)
    rows = []
    for s in shifts:
        f1 = relu(conv2d(shift_image(x, 0, s), k, padding="same"))
        crop = (slice(margin, -margin), slice(margin, -margin))
        a, b = f0[crop], f1[crop]
        plain = float(np.linalg.norm(b - a) / (np.linalg.norm(a) or 1.0))
        for p in pool_sizes:
            h, w = (a.shape[0] // p) * p, (a.shape[1] // p) * p
            pa, pb = max_pool2d(a[:h, :w], p), max_pool2d(b[:h, :w], p)
            rows.append({"shift": s, "pool": p, "map_change": plain,
                         "pooled_change": float(np.linalg.norm(pb - pa) / (np.linalg.norm(pa) or 1.0)),
                         "pooled_unchanged": float(np.mean(pa == pb))})
    return rows


def noise_averaging(clean: np.ndarray, sigma: float = 0.1, ns: Sequence[int] = (1, 2, 4, 8, 16, 32, 64),
                    trials: int = 4, seed: int = 0) -> list[dict[str, Any]]:
    """Average N copies of ``clean`` (H, W) each with independent N(0, σ²) noise.

    For each N: the measured variance of (average − clean) over H·W·trials pixels, the
    formula σ²/N, its standard error σ²/N·√(2/(M−1)) (M samples, Gaussian noise), the
    z-score, and the mean error (≈ 0: averaging is unbiased). The first trial's average
    image is kept in ``_arrays`` for pictures.
    """
    if not sigma > 0:
        raise UsageError(f"sigma must be positive, got {sigma}")
    if trials < 1:
        raise UsageError("trials must be at least 1")
    if any(int(n) < 1 for n in ns):
        raise UsageError(f"every N must be a positive integer, got {list(ns)}")
    H, W = clean.shape
    if max(ns) * H * W > 2**26:
        raise UsageError(f"N = {max(ns)} copies of a {H}x{W} image are over the limit of 2^26 values")
    rng = np.random.default_rng(seed)
    rows = []
    for n in ns:
        errors, first = [], None
        for t in range(trials):
            noisy = clean[None] + rng.normal(0.0, sigma, size=(n, H, W))  # (N, H, W)
            avg = noisy.mean(axis=0)
            errors.append(avg - clean)
            if t == 0:
                first = avg
        e = np.stack(errors).ravel()
        m = e.size
        expected = sigma**2 / n
        measured = float(e.var(ddof=1))
        se = expected * math.sqrt(2.0 / (m - 1))
        rows.append({"n": int(n), "measured_variance": measured, "formula_variance": expected,
                     "ratio": measured / expected, "standard_error": se, "z": (measured - expected) / se,
                     "mean_error": float(e.mean()), "samples": m, "_arrays": {"average": first}})
    return rows


def invariance_report(x: np.ndarray, k: np.ndarray, *, image: str = "image", kernel: str = "kernel",
                      shift: tuple[int, int] = (3, 5), sigma: float = 0.1,
                      ns: Sequence[int] = (1, 2, 4, 8, 16, 32, 64), trials: int = 4, seed: int = 0,
                      parts: Sequence[str] = INVARIANCE_PARTS) -> dict[str, Any]:
    """All three demonstrations on one grey image x (H, W) and kernel k (kh, kw).

    The noise part uses the top-left 64×64 crop (the variance estimate has 64²·trials
    samples, a relative standard error of ≈1% at trials=4).
    """
    report: dict[str, Any] = {"image": image, "kernel": kernel, "parts": list(parts)}
    if "shift" in parts:
        report["shift"] = shift_equivariance(x, k, *shift)
    if "pool" in parts:
        report["pool_dots"] = pool_dot_absorption()
        report["pool_features"] = pool_feature_change(x, k)
        report["_pool_example"] = _pool_example(x, k)
    if "noise" in parts:
        report["sigma"] = sigma
        report["noise"] = noise_averaging(x[:64, :64], sigma, ns, trials, seed)
        report["_clean"] = x[:64, :64]
    return report


def _pool_example(x: np.ndarray, k: np.ndarray, p: int = 4, s: int = 1) -> dict[str, np.ndarray]:
    from cnnlab.ops import conv2d, max_pool2d, relu

    f0 = relu(conv2d(x, k, padding="same"))
    f1 = relu(conv2d(shift_image(x, 0, s), k, padding="same"))
    h, w = (f0.shape[0] // p) * p, (f0.shape[1] // p) * p
    return {"map": f0, "map_shifted": f1, "pooled": max_pool2d(f0[:h, :w], p),
            "pooled_shifted": max_pool2d(f1[:h, :w], p), "p": p, "s": s}


def plot_invariance(report: dict[str, Any], path: str) -> str:
    """One PNG, a row per demonstration present in ``report``."""
    from cnnlab.report.figures import new_figure, write_png  # Agg canvas: a notebook's backend is left alone

    parts = [p for p in INVARIANCE_PARTS if p in report["parts"]]
    fig = new_figure(15, 3.8 * len(parts))
    axes = fig.subplots(len(parts), 4, squeeze=False)

    def show(ax, a, title, cmap="gray", signed=False):
        ax.set_title(title, fontsize=8)
        ax.axis("off")
        if signed:
            lim = float(np.abs(a).max()) or 1.0
            im = ax.imshow(a, cmap="RdBu_r", vmin=-lim, vmax=lim)
        else:
            im = ax.imshow(a, cmap=cmap)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)

    for row, part in zip(axes, parts):
        if part == "shift":
            r0, r3 = report["shift"][0], report["shift"][3]
            arr = r0["_arrays"]
            show(row[0], arr["conv_of_shift"], f"conv(shift(x)), shift {r0['shift']}", signed=True)
            show(row[1], arr["shift_of_conv"], "shift(conv(x))", signed=True)
            show(row[2], arr["diff"],
                 f"|difference|: interior max {r0['interior_max_diff']:.2g}, border max "
                 f"{r0['border_max_diff']:.2g}", cmap="magma")
            show(row[3], r3["_arrays"]["diff"], f"stride 2, odd shift {r3['shift']}: |difference|",
                 cmap="magma")
        elif part == "pool":
            ex = report["_pool_example"]
            show(row[0], ex["map_shifted"] - ex["map"], f"feature map change, shift {ex['s']} px", signed=True)
            show(row[1], ex["pooled_shifted"] - ex["pooled"], f"after {ex['p']}x{ex['p']} max pool", signed=True)
            ax = row[2]
            for p in sorted({r["pool"] for r in report["pool_dots"]}):
                rs = [r for r in report["pool_dots"] if r["pool"] == p]
                ax.plot([r["shift"] for r in rs], [r["formula"] for r in rs], "-", label=f"p={p} formula")
                ax.plot([r["shift"] for r in rs], [r["measured"] for r in rs], "o", color=ax.lines[-1].get_color())
            ax.set(xlabel="shift s (px)", ylabel="dot positions unchanged", title="lone dot: (p-s)/p")
            ax.legend(fontsize=7)
            ax = row[3]
            for p in sorted({r["pool"] for r in report["pool_features"]}):
                rs = [r for r in report["pool_features"] if r["pool"] == p]
                ax.plot([r["shift"] for r in rs], [r["pooled_change"] for r in rs], "o-", label=f"pooled p={p}")
            rs = [r for r in report["pool_features"] if r["pool"] == report["pool_features"][0]["pool"]]
            ax.plot([r["shift"] for r in rs], [r["map_change"] for r in rs], "k--", label="no pooling")
            ax.set(xlabel="shift s (px)", ylabel="relative change", title="real feature map")
            ax.legend(fontsize=7)
        else:
            rows = report["noise"]
            pick = [rows[0], rows[min(2, len(rows) - 1)], rows[-1]]
            for ax, r in zip(row[:3], pick):
                show(ax, r["_arrays"]["average"], f"average of N={r['n']} (noise var {r['measured_variance']:.2g})")
            ax = row[3]
            n = [r["n"] for r in rows]
            ax.loglog(n, [r["formula_variance"] for r in rows], "-", label="sigma^2/N")
            ax.errorbar(n, [r["measured_variance"] for r in rows],
                        yerr=[2 * r["standard_error"] for r in rows], fmt="o", label="simulated (±2 s.e.)")
            ax.set(xlabel="N copies", ylabel="noise variance", title="variance of the average")
            ax.legend(fontsize=7)
    fig.tight_layout()
    write_png(fig, path, dpi=90)
    return str(path)
