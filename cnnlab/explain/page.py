"""The ``explain.html`` page: one section per part, pictures embedded, with how to read them."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from cnnlab.explain.filters import NO_CLEAR_PATTERN
from cnnlab.report import Figure, Section, Table, Text, write_page

__all__ = ["explain_sections", "write_explain_page"]


def _filters(s: dict, classes: list[str]) -> Section:
    rows = [[r["number"], r["pattern"], r["match"], r["strength"] or "", r["summary"]] for r in s["filters"]]
    C_out, C_in, kh, kw = s["shape"]
    return Section("First-layer filters", [
        Text(f"The {C_out} filters of {s.get('layer_name', s['layer'])} ({C_in} input channel(s), {kh}x{kw}), each "
             f"scaled on its own from its lowest weight (black) to its highest (white); with "
             f"three input channels the colours are the RGB weights. Each filter is then read "
             f"like `cnnlab kernel describe` reads a kernel: its response to probe patterns "
             f"(lines, edges, dots, flat regions; summed over input channels, as for a grey "
             f"pattern). 'match' is the cosine between filter and probe, 1 when the filter is "
             f"that pattern; below {NO_CLEAR_PATTERN} the filter is said to answer no clear "
             f"pattern. Filters are numbered from 1, as in the picture."),
        Figure.from_path(s["picture"], f"first-layer filters of {s['layer']}"),
        Table(["filter", "pattern (best probe)", "match", "strength", "what describe_kernel says"], rows),
    ])


def _maps(s: dict, classes: list[str]) -> Section:
    label = "" if s["label"] is None else f" (class {classes[s['label']]})"
    items = [Text(f"Activations of each layer for image {s['image']}{label}. One panel per "
                  f"channel, all panels of a layer on one colour scale, so dark channels did "
                  f"not answer to this image."),
             Figure.from_path(s["input_picture"], f"input {s['image']}")]
    for layer in s["layers"]:
        shown = "" if layer["shown"] == layer["shape"][0] else f", first {layer['shown']} channels shown"
        items.append(Figure.from_path(layer["picture"], f"{layer.get('layer_name', layer['layer'])}: output "
                                      f"{'x'.join(map(str, layer['shape']))}{shown}; "
                                      f"{layer['active_channels']} channel(s) with a positive value"))
    return Section("Feature maps", items)


def _gradcam(s: dict, classes: list[str]) -> Section:
    which = ("the predicted class" if s["target_class"] is None
             else f"class {classes[s['target_class']]}")
    rows = [[r["image"], "" if r["label"] is None else classes[r["label"]], classes[r["predicted"]],
             r["probability"], classes[r["target"]], r["cam_max"]] for r in s["images"]]
    return Section("Grad-CAM", [
        Text(f"Grad-CAM (Selvaraju et al. 2017) on layer {s.get('layer_name', s['layer'])} for {which}: each channel "
             f"of the layer is weighted by the mean gradient of the class logit with respect to "
             f"it, the weighted channels are summed and negative values cut off (ReLU). The map "
             f"is upsampled (bilinear) to the image and scaled to its maximum; red is where the "
             f"layer saw evidence for the class. Top row: inputs; bottom row: heatmaps."),
        Figure.from_path(s["picture"], f"Grad-CAM on {s['layer']}"),
        Table(["image", "true", "predicted", "probability", "explained class", "max of map"], rows),
    ])


def _maximize(s: dict, classes: list[str]) -> Section:
    items = [Text(f"Inputs found by {s['steps']} steps of gradient ascent (seed {s['seed']}) "
                  f"that make each target as large as possible. At every step the image is "
                  f"moved by a few pixels, rotated and scaled at random, and penalised for "
                  f"roughness (total variation) and distance from grey (L2), so what remains "
                  f"is a pattern the network answers to wherever it is, not pixel noise. "
                  f"'start' is the target on the starting noise, 'final' on the result.")]
    for group in s["groups"]:
        what = "class logits" if group["layer"] is None else f"channels of {group['layer']}"
        items.append(Figure.from_path(group["picture"], f"activation maximisation: {what}"))
        items.append(Table(["target", "start", "final"],
                           [[o["target"], o["start"], o["final"]] for o in group["objectives"]]))
    return Section("Activation maximisation", items)


def _which_images(s: dict) -> str:
    """"The 2,000 images (evenly spaced, of 10,000)" for a sample, "The 500 images" else."""
    total = s.get("of", s["n"])
    if s.get("sampled"):
        return f"The {s['n']:,} images (evenly spaced, of {total:,})"
    return f"The first {s['n']:,} images (of {total:,})" if total > s["n"] else f"The {s['n']:,} images"


def _shift(s: dict, classes: list[str]) -> Section:
    rows = [[d, s["horizontal"]["accuracy"][i], s["horizontal"]["consistency"][i],
             s["vertical"]["accuracy"][i], s["vertical"]["consistency"][i]]
            for i, d in enumerate(s["shifts"])]
    return Section("Robustness to shifted inputs", [
        Text(f"{_which_images(s)} of the {s['split']} split moved by whole pixels (zero fill), "
             f"horizontally (+ is right) and vertically (+ is down). Accuracy unshifted: "
             f"{s['accuracy']:.4f}. 'Unchanged' is the share of predictions equal to those on the "
             f"unshifted images, right or wrong: 1 means the model is invariant to that shift."),
        Figure.from_path(s["picture"], "accuracy and unchanged predictions against the shift"),
        Table(["shift (px)", "accuracy (horizontal)", "unchanged (horizontal)",
               "accuracy (vertical)", "unchanged (vertical)"], rows),
    ])


def _coef(s: dict, classes: list[str]) -> Section:
    K, C, H, W = s["shape"]
    mean = " (mean over the channels)" if C > 1 else ""
    return Section("Logistic-regression coefficients", [
        Text(f"The weight matrix of the single linear layer, one {H}x{W} picture per class"
             f"{mean}, divided by the normalisation std so that each value is the change of "
             f"the class logit per unit of raw pixel value. Red pixels raise the class's "
             f"score, blue ones lower it: the pictures are templates the model matches."),
        Figure.from_path(s["picture"], "coefficient image of each class"),
    ])


_SECTIONS: dict[str, Callable[[dict, list[str]], Section]] = {
    "filters": _filters, "maps": _maps, "gradcam": _gradcam, "maximize": _maximize,
    "shift": _shift, "coef": _coef,
}


def explain_sections(summary: dict, classes: list[str]) -> list[Section]:
    """One section per part in ``summary["parts"]`` (as :func:`explain_run` builds it)."""
    accuracy = summary.get("test_accuracy")
    facts = [["model", summary["model"]], ["data", summary["data"]],
             ["input (C, H, W)", " x ".join(map(str, summary["input"]))],
             ["test accuracy", "not recorded" if accuracy is None else accuracy],
             ["classes", ", ".join(classes)], ["parts", ", ".join(summary["parts"])]]
    run = Section("Run", [Table(["", "value"], facts)])
    return [run] + [_SECTIONS[part](summary[part], classes) for part in summary["parts"]]


def write_explain_page(path: str | Path, summary: dict, classes: list[str]) -> Path:
    """Write the self-contained page (pictures embedded) to ``path``."""
    title = f"What {summary['model']} learned"
    subtitle = f"run {summary['run_dir']} on {summary['data']}"
    return write_page(path, title, explain_sections(summary, classes), subtitle=subtitle)
