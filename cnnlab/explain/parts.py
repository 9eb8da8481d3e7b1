"""The parts of an explanation: each computes its numbers, draws its pictures into the
output folder and returns a JSON-ready dict (the math lives in the other modules of
:mod:`cnnlab.explain`)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from cnnlab.errors import UsageError
from cnnlab.explain.context import RunContext, safe_name
from cnnlab.explain.objectives import resolve_class

__all__ = ["PART_RUNNERS"]


def _filters(ctx: RunContext) -> dict:
    from cnnlab.explain.feature_maps import display_name
    from cnnlab.explain.filters import describe_filters, filter_titles, filter_weights, normalise_filters
    from cnnlab.explain.plots import tiles

    layer, w = filter_weights(ctx.model)
    rows = describe_filters(w)
    path = tiles(normalise_filters(w), ctx.out / "filters.png", titles=filter_titles(rows), ncols=8)
    return {"layer": layer, "layer_name": display_name(ctx.model, layer), "shape": list(w.shape),
            "filters": rows, "picture": str(path)}


def _maps(ctx: RunContext) -> dict:
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
        path = map_grid(a, ctx.out / f"maps_{safe_name(name)}.png", title=name)
        layers.append({"layer": name, "layer_name": display_name(ctx.model, name),
                       "shape": list(maps[name].shape[1:]), "picture": str(path),
                       "shown": min(a.shape[0], MAX_MAPS),
                       "mean": float(a.mean()), "max": float(a.max()),
                       "active_channels": int((a.reshape(a.shape[0], -1).max(1) > 0).sum())})
    return {"image": image_names[0], "label": labels[0], "input_picture": str(picture), "layers": layers}


def _gradcam(ctx: RunContext) -> dict:
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


def _maximize(ctx: RunContext) -> dict:
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
        stem = "classes" if layer is None else safe_name(layer)
        path = tiles(r.images[part], ctx.out / f"maximize_{stem}.png", titles=labels, ncols=8)
        groups.append({"layer": layer, "picture": str(path),
                       "objectives": [{"target": o.label(), "start": float(s), "final": float(f)}
                                      for o, s, f in zip(objectives, r.start[part], r.final[part])]})
    return {"steps": ctx.config.steps, "seed": ctx.config.seed, "groups": groups}


def _shift(ctx: RunContext) -> dict:
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


def _coef(ctx: RunContext) -> dict:
    from cnnlab.explain.coefficients import coefficient_images
    from cnnlab.report.figures import coefficient_images as draw

    coef = coefficient_images(ctx.model, ctx.shape, ctx.std)  # (K, C, H, W)
    path = draw(coef.mean(axis=1), ctx.classes, ctx.out / "coefficients.png")
    return {"shape": list(coef.shape), "max_abs": float(np.abs(coef).max()), "picture": str(path)}


PART_RUNNERS: dict[str, Callable[[RunContext], dict]] = {
    "filters": _filters, "maps": _maps, "gradcam": _gradcam, "maximize": _maximize,
    "shift": _shift, "coef": _coef,
}
