"""``explain_run``: every explanation asked for, of one run folder, as PNG files and a page.

The math lives in the other modules of :mod:`cnnlab.explain`; this one loads the run
(and its data when a part needs it), calls them, draws the pictures and writes
``explain.html``. It returns a JSON-ready summary.
"""

from __future__ import annotations

import dataclasses
import re
import time
from pathlib import Path
from typing import Callable

import numpy as np

from cnnlab.errors import UsageError
from cnnlab.explain.config import PARTS, ExplainConfig
from cnnlab.storage import RunFolder

__all__ = ["PARTS", "ExplainConfig", "explain_run", "parse_what", "resolve_class",
           "parse_objectives", "default_parts", "MAX_OBJECTIVES"]

MAX_OBJECTIVES = 16  # images per activation-maximisation picture (classes or channels)
# Images of the split in the shift curves when --limit is not given: an evenly spaced
# sample. Standard error of an accuracy p on n images is sqrt(p(1-p)/n): at most 1.1
# points at 2,000, 0.3 near 98%; all 10,000 MNIST test images took 5x as long, about half
# of explain's time (docs/cli.md, "Speed and work bounds").
SHIFT_SAMPLE = 2000


def parse_what(text: str | list[str]) -> list[str]:
    """Parts from "all" or a comma-separated list of PARTS (order kept, duplicates dropped)."""
    items = text if isinstance(text, list) else text.split(",")
    parts: list[str] = []
    for item in (i.strip() for i in items):
        if item == "all":
            parts.append("all")
        elif item not in PARTS:
            raise UsageError(f"--what: unknown part {item!r}; choose from all, {', '.join(PARTS)}")
        elif item not in parts:
            parts.append(item)
    if not parts:
        raise UsageError("--what is empty; choose from all, " + ", ".join(PARTS))
    return parts


def default_parts(model) -> list[str]:
    """What "all" means for this model: the parts that apply to it."""
    from cnnlab.explain.coefficients import is_linear_model
    from cnnlab.explain.feature_maps import conv_layer_names

    if conv_layer_names(model):
        return ["filters", "maps", "gradcam", "maximize", "shift"]
    if is_linear_model(model):
        return ["coef", "maximize", "shift"]
    return ["maximize", "shift"]


def resolve_class(value: str | int, classes: list[str]) -> int:
    """A class index from an index or a class name; UsageError when out of range or unknown."""
    text = str(value).strip()
    if text in classes and not text.lstrip("-").isdigit():
        return classes.index(text)
    try:
        k = int(text)
    except ValueError:
        raise UsageError(f"unknown class {text!r}; classes: {', '.join(classes)}") from None
    if not 0 <= k < len(classes):
        raise UsageError(f"class {k} is out of range: this model has {len(classes)} classes "
                         f"(0 to {len(classes) - 1})")
    return k


_UNIT = re.compile(r"^(?P<layer>[^:@]+?)(?::(?P<index>-?\d+)(?:@(?P<y>\d+),(?P<x>\d+))?)?$")


def parse_objectives(spec: str, num_classes: int, channels_of: Callable[[str], int]) -> list[list]:
    """Groups of objectives from ``classes``, ``class:K``, ``LAYER``, ``LAYER:C`` or ``LAYER:C@Y,X``.

    Several specs are separated by ``+``. ``channels_of(layer)`` gives a layer's channel
    count (and raises UsageError for an unknown layer). Each group shares one layer.
    """
    from cnnlab.explain.maximize import Objective

    groups = []
    for item in (s.strip() for s in spec.split("+")):
        if item == "classes":
            groups.append([Objective(None, k) for k in range(min(num_classes, MAX_OBJECTIVES))])
            continue
        match = _UNIT.match(item)
        if not match:
            raise UsageError(f"--maximize {item!r}: write classes, class:K, LAYER, LAYER:C or LAYER:C@Y,X")
        layer, index = match["layer"], match["index"]
        if layer == "class":
            if index is None or match["y"] is not None:
                raise UsageError(f"--maximize {item!r}: write class:K with K a class index")
            groups.append([Objective(None, int(index))])
        elif index is None:
            n = channels_of(layer)
            groups.append([Objective(layer, c) for c in range(min(n, MAX_OBJECTIVES))])
        else:
            unit = (int(match["y"]), int(match["x"])) if match["y"] is not None else None
            groups.append([Objective(layer, int(index), unit)])
    return groups


def _safe_name(layer: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", layer)


def _load_split(train_config, split: str) -> tuple[np.ndarray, np.ndarray]:
    """x: (N, C, H, W) float32 in [0, 1], y: (N,) of one split of the run's data, reading
    only that split's files where it can (MNIST's test split: 0.1 s instead of all of
    MNIST's 0.8 s); the training statistics come from the run's model.json."""
    from cnnlab.train.loop import load_config_split

    return load_config_split(train_config, split)


class _Context:
    """The loaded run, its data (loaded on first use) and where files go."""

    def __init__(self, run_dir, config: ExplainConfig):
        from cnnlab.train.evaluate import load_run

        from cnnlab.explain.feature_maps import resolve_layer

        self.run = load_run(run_dir)
        meta = self.run.meta
        self.model = self.run.model.eval()
        if config.layer:  # "conv2" as --list-layers prints it: the module path from here on
            config = dataclasses.replace(config, layer=resolve_layer(self.model, config.layer))
        self.config = config
        self.shape = (int(meta["in_channels"]), *map(int, meta["input_size"]))  # (C, H, W)
        self.classes = [str(c) for c in meta["classes"]]
        self.mean = np.asarray(meta["mean"], np.float32)
        self.std = np.asarray(meta["std"], np.float32)
        self.out = Path(config.out) if config.out else self.run.run_dir / "explain"
        self._data = None
        self._macs: int | None = None
        self._objectives: list | None = None

    @property
    def macs(self) -> int:
        """Multiply-adds of one forward pass of one image (the unit of the work bounds)."""
        if self._macs is None:
            from cnnlab.explain.budget import model_macs

            self._macs = model_macs(self.model, self.shape)
        return self._macs

    def objectives(self) -> list:
        """The groups of maximisation objectives (--maximize, or the default)."""
        if self._objectives is None:
            import torch

            from cnnlab.explain.feature_maps import conv_layer_names, feature_maps

            def channels_of(layer: str) -> int:
                return int(feature_maps(self.model, torch.zeros(1, *self.shape), [layer])[layer].shape[1])

            spec = self.config.maximize
            if spec is None:
                convs = conv_layer_names(self.model)
                spec = "classes" + (f"+{self.config.layer or convs[-1]}" if convs else "")
            self._objectives = parse_objectives(spec, len(self.classes), channels_of)
        return self._objectives

    def shift_images(self) -> tuple[np.ndarray, np.ndarray]:
        """x: (n, C, H, W), y: (n,) of the shift curves: the first --limit images of the
        split, or an evenly spaced sample of SHIFT_SAMPLE."""
        x, y = self.split()
        if self.config.limit is not None:
            if self.config.limit < 1:
                raise UsageError(f"--limit must be at least 1, got {self.config.limit}")
            return x[:self.config.limit], y[:self.config.limit]
        if len(x) <= SHIFT_SAMPLE:
            return x, y
        keep = np.arange(SHIFT_SAMPLE) * len(x) // SHIFT_SAMPLE  # evenly spaced indices
        return x[keep], y[keep]

    def split(self) -> tuple[np.ndarray, np.ndarray]:
        """x: (N, C, H, W) in [0, 1] and y: (N,) of the configured split of the run's data."""
        if self._data is None:
            x, y = _load_split(self.run.config, self.config.split)
            if tuple(x.shape[1:]) != self.shape:
                raise UsageError(f"the run's data now has images of shape {tuple(x.shape[1:])}, "
                                 f"the model takes {self.shape}")
            if len(x) == 0:
                raise UsageError(f"the {self.config.split} split of {self.run.config.data} is empty")
            self._data = (x, y)
        return self._data

    def normalise(self, x: np.ndarray):
        from cnnlab.train.metrics import to_normalised_tensor

        return to_normalised_tensor(x, self.mean, self.std)

    def inputs(self, count: int) -> tuple[np.ndarray, list, list[str]]:
        """Images (N, C, H, W), their labels (None for a file) and names."""
        c = self.config
        if c.image is not None:
            from cnnlab.explain.images import load_image

            return load_image(c.image, self.shape[0], self.shape[1:])[None], [None], [Path(c.image).name]
        x, y = self.split()
        if not 0 <= c.index < len(x):
            raise UsageError(f"--index {c.index} is out of range: the {c.split} split has "
                             f"{len(x)} images (0 to {len(x) - 1})")
        stop = min(len(x), c.index + count)
        return x[c.index:stop], [int(v) for v in y[c.index:stop]], [f"#{i}" for i in range(c.index, stop)]


def _filters(ctx: _Context) -> dict:
    from cnnlab.explain.feature_maps import display_name
    from cnnlab.explain.filters import describe_filters, filter_titles, filter_weights, normalise_filters
    from cnnlab.explain.plots import tiles

    layer, w = filter_weights(ctx.model)
    rows = describe_filters(w)
    path = tiles(normalise_filters(w), ctx.out / "filters.png", titles=filter_titles(rows), ncols=8)
    return {"layer": layer, "layer_name": display_name(ctx.model, layer), "shape": list(w.shape),
            "filters": rows, "picture": str(path)}


def _maps(ctx: _Context) -> dict:
    from cnnlab.explain.feature_maps import conv_layer_names, display_name, feature_maps, get_layer
    from cnnlab.explain.plots import MAX_MAPS, map_grid
    from cnnlab.report.figures import image_grid

    names = [ctx.config.layer] if ctx.config.layer else conv_layer_names(ctx.model)
    if not names:
        raise UsageError("this model has no convolution layer; name a layer with --layer "
                         "(--list-layers prints them)")
    for name in names:
        get_layer(ctx.model, name)
    x, labels, image_names = ctx.inputs(1)
    picture = image_grid(x, ctx.out / "input.png", titles=[image_names[0]], ncols=1)
    maps = feature_maps(ctx.model, ctx.normalise(x), names)
    layers = []
    for name in names:
        a = maps[name][0].numpy()
        a = a.reshape(1, 1, -1) if a.ndim == 1 else a  # (K, h, w); a vector as one strip
        path = map_grid(a, ctx.out / f"maps_{_safe_name(name)}.png", title=name)
        layers.append({"layer": name, "layer_name": display_name(ctx.model, name),
                       "shape": list(maps[name].shape[1:]), "picture": str(path),
                       "shown": min(a.shape[0], MAX_MAPS),
                       "mean": float(a.mean()), "max": float(a.max()),
                       "active_channels": int((a.reshape(a.shape[0], -1).max(1) > 0).sum())})
    return {"image": image_names[0], "label": labels[0], "input_picture": str(picture), "layers": layers}


def _gradcam(ctx: _Context) -> dict:
    from cnnlab.explain.gradcam import check_cam_layer, default_cam_layer, grad_cam, normalise_cam, upsample_cam
    from cnnlab.explain.plots import cam_overlays

    layer = ctx.config.layer or default_cam_layer(ctx.model)
    check_cam_layer(ctx.model, layer)
    target = None if ctx.config.target_class is None else resolve_class(ctx.config.target_class, ctx.classes)
    x, labels, names = ctx.inputs(ctx.config.count)
    result = grad_cam(ctx.model, ctx.normalise(x), layer, target)
    heat = normalise_cam(upsample_cam(result.cam, ctx.shape[1:])).numpy()  # (N, H, W)
    prob = result.logits.softmax(1)
    rows, titles = [], []
    for i, name in enumerate(names):
        pred, t = int(result.logits[i].argmax()), int(result.target[i])
        rows.append({"image": name, "label": labels[i], "predicted": pred,
                     "probability": float(prob[i, pred]), "target": t,
                     "cam_max": float(result.cam[i].max())})
        true = "" if labels[i] is None else f"true {ctx.classes[labels[i]]}, "
        titles.append(f"{name}\n{true}pred {ctx.classes[pred]}\ncam: {ctx.classes[t]}")
    path = cam_overlays(x, heat, ctx.out / "gradcam.png", titles=titles)
    from cnnlab.explain.feature_maps import display_name

    return {"layer": layer, "layer_name": display_name(ctx.model, layer), "target_class": target,
            "images": rows, "picture": str(path)}


def _maximize(ctx: _Context) -> dict:
    from cnnlab.explain.maximize import maximize
    from cnnlab.explain.plots import tiles

    parsed = ctx.objectives()
    # every group in one optimisation: one forward/backward pass per step for all images
    r = maximize(ctx.model, ctx.shape, [o for objectives in parsed for o in objectives],
                 mean=ctx.mean, std=ctx.std, steps=ctx.config.steps, seed=ctx.config.seed)
    groups, first = [], 0
    for objectives in parsed:
        part = slice(first, first + len(objectives))
        first += len(objectives)
        layer = objectives[0].layer
        labels = [ctx.classes[o.index] if layer is None else o.label().split(" ", 1)[1] for o in objectives]
        stem = "classes" if layer is None else _safe_name(layer)
        path = tiles(r.images[part], ctx.out / f"maximize_{stem}.png", titles=labels, ncols=8)
        groups.append({"layer": layer, "picture": str(path),
                       "objectives": [{"target": o.label(), "start": float(s), "final": float(f)}
                                      for o, s, f in zip(objectives, r.start[part], r.final[part])]})
    return {"steps": ctx.config.steps, "seed": ctx.config.seed, "groups": groups}


def _shift(ctx: _Context) -> dict:
    from cnnlab.explain.plots import shift_curves
    from cnnlab.explain.robustness import shift_robustness

    x, y = ctx.shift_images()
    result = shift_robustness(ctx.model, x, y, ctx.mean, ctx.std, ctx.config.max_shift,
                              device=ctx.config.device)
    result["picture"] = str(shift_curves(result, ctx.out / "shift.png"))
    result["split"] = ctx.config.split
    result["of"] = len(ctx.split()[0])  # images in the split
    result["sampled"] = ctx.config.limit is None and result["of"] > len(x)  # evenly spaced
    return result


def _coef(ctx: _Context) -> dict:
    from cnnlab.explain.coefficients import coefficient_images
    from cnnlab.report.figures import coefficient_images as draw

    coef = coefficient_images(ctx.model, ctx.shape, ctx.std)  # (K, C, H, W)
    path = draw(coef.mean(axis=1), ctx.classes, ctx.out / "coefficients.png")
    return {"shape": list(coef.shape), "max_abs": float(np.abs(coef).max()), "picture": str(path)}


def _test_accuracy(run_dir: Path, notes: list[str]) -> float | None:
    """The test accuracy ``cnnlab train`` wrote to summary.json (None for an unfinished run).

    The file's recorded hash is checked: a changed summary is refused, not shown.
    """
    folder = RunFolder(run_dir)
    if not folder.exists("summary.json"):
        return None
    value = folder.read_json("summary.json", notes).get("test_accuracy")
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


# --- work bounds: (image passes, model calls, what to lower) of each part that runs the
# model; filters and coef only read the weights, bounded when the run is loaded

def _maps_work(ctx: _Context) -> tuple[int, int, str]:
    return 1, 1, "explain fewer layers"


def _gradcam_work(ctx: _Context) -> tuple[int, int, str]:
    return 3 * ctx.config.count, 1, "lower --count"  # forward, and backward counted as two


def _maximize_work(ctx: _Context) -> tuple[int, int, str]:
    from cnnlab.explain.budget import MAX_WORK, part_work

    steps = ctx.config.steps
    targets = sum(len(g) for g in ctx.objectives())
    most = int(MAX_WORK // part_work(3 * targets, ctx.macs, 1))  # steps that fit
    return (steps * 3 * targets, steps,
            f"lower --steps (at most {most:,} for {targets} target(s)) or give --maximize fewer targets")


def _shift_work(ctx: _Context) -> tuple[int, int, str]:
    from cnnlab.explain.budget import max_images
    from cnnlab.explain.robustness import CHUNK, shift_passes

    m = ctx.config.max_shift
    H, W = ctx.shape[1:]
    if not 0 <= m < min(H, W):
        raise UsageError(f"--max-shift must be between 0 and {min(H, W) - 1} for {H}x{W} images, got {m}")
    n = len(ctx.shift_images()[0])
    per = max(1, CHUNK // (4 * m + 1))  # images per model call
    most = max_images(4 * m + 1, ctx.macs, per)
    return (shift_passes(n, m), -(-n // per),
            f"give --limit N with N at most {most:,} (at --max-shift {m}), or a smaller --max-shift")


_WORK: dict[str, Callable[[_Context], tuple[int, int, str]]] = {
    "maps": _maps_work, "gradcam": _gradcam_work, "maximize": _maximize_work, "shift": _shift_work,
}


def check_parts(ctx: _Context, parts: list[str]) -> None:
    """Every part's work bound, checked before the first part starts (docs/limits.md)."""
    from cnnlab.explain.budget import check_work

    for part in (p for p in parts if p in _WORK):
        passes, calls, lower = _WORK[part](ctx)
        check_work(part, passes, ctx.macs, calls, lower)


_PARTS: dict[str, Callable[[_Context], dict]] = {
    "filters": _filters, "maps": _maps, "gradcam": _gradcam, "maximize": _maximize,
    "shift": _shift, "coef": _coef,
}


def explain_run(run_dir: str | Path, config: ExplainConfig | None = None, *,
                log: Callable[[str], None] | None = None) -> dict:
    """Compute and draw the parts ``config.what`` asks for, then write ``explain.html``.

    Returns ``{"run_dir", "model", "out", "html", "parts": [...], <part>: {...}}`` where
    each part's dict holds its numbers and the path of its picture(s).
    """
    from cnnlab.explain.page import write_explain_page
    from cnnlab.train.device import pick_device, torch_state
    from cnnlab.train.threads import choose_threads

    config = config or ExplainConfig()
    what = parse_what(config.what)
    device = pick_device(config.device)  # refuses cuda without a GPU before any work
    # threads from the load, as training does: 2 spinning OpenMP threads ran 4.2x slower
    # than 1 when the cores were shared (docs/training.md, "Speed")
    threads, why = choose_threads()
    ctx = _Context(run_dir, config)
    parts = default_parts(ctx.model) if "all" in what else []
    parts += [p for p in what if p != "all" and p not in parts]
    if ctx.out.exists() and not ctx.out.is_dir():
        raise UsageError(f"--out {ctx.out} is a file, not a folder")
    notes = ctx.run.notes
    accuracy = _test_accuracy(ctx.run.run_dir, notes)
    summary: dict = {"run_dir": str(ctx.run.run_dir), "model": ctx.run.meta["model"],
                     "data": ctx.run.config.data, "out": str(ctx.out), "parts": parts,
                     "input": list(ctx.shape), "test_accuracy": accuracy}
    if notes:
        summary["notes"] = notes  # files of an older run that could not be verified
    check_parts(ctx, parts)
    if log:
        log(f"cpu: {threads} thread(s) ({why})")
    with RunFolder(ctx.out).lock("explain folder"), torch_state(threads, device):  # one writer per folder (docs/runs.md)
        seconds = summary["seconds"] = {}  # wall time of each part
        for part in parts:
            if log:
                log(f"{part}...")
            tic = time.perf_counter()
            summary[part] = _PARTS[part](ctx)
            seconds[part] = round(time.perf_counter() - tic, 3)
        summary["html"] = str(write_explain_page(ctx.out / "explain.html", summary, ctx.classes))
    return summary
