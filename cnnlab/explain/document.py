"""An explanation as a document (:mod:`cnnlab.doc`): one section per part, with how to read
its pictures, and the lines ``cnnlab explain`` prints.

``report_blocks`` is explain.html (pictures embedded by :func:`cnnlab.report.write_page`)
and a result's Markdown, LaTeX and notebook view; ``summary_lines`` the closing lines of
the command. Figures point at the PNG files of the output folder.
"""

from __future__ import annotations

from typing import Any, Callable

from cnnlab.doc.blocks import Block, Figure, Heading, Paragraph, Table
from cnnlab.doc.cells import value_table
from cnnlab.explain.filters import NO_CLEAR_PATTERN

__all__ = ["report_blocks", "summary_lines"]


def _part(title: str, how_to_read: str, picture: str, caption: str, table: Table | None = None) -> list[Block]:
    """A part's section: a heading, how to read the picture, the picture, its numbers."""
    return [Heading(title, level=2), Paragraph(how_to_read), Figure(str(picture), caption), *([table] if table else [])]


def _filters(s: dict, classes: list[str]) -> list[Block]:
    rows = [[r["number"], r["pattern"], r["match"], r["strength"] or "", r["summary"]] for r in s["filters"]]
    C_out, C_in, kh, kw = s["shape"]
    return _part(
        "First-layer filters",
        f"The {C_out} filters of {s.get('layer_name', s['layer'])} ({C_in} input channel(s), {kh}x{kw}), each "
        f"scaled on its own from its lowest weight (black) to its highest (white); with "
        f"three input channels the colours are the RGB weights. Each filter is then read "
        f"like `cnnlab kernel describe` reads a kernel: its response to probe patterns "
        f"(lines, edges, dots, flat regions; summed over input channels, as for a grey "
        f"pattern). 'match' is the cosine between filter and probe, 1 when the filter is "
        f"that pattern; below {NO_CLEAR_PATTERN} the filter is said to answer no clear "
        f"pattern. Filters are numbered from 1, as in the picture.",
        s["picture"], f"first-layer filters of {s['layer']}",
        value_table(["filter", "pattern (best probe)", "match", "strength", "what describe_kernel says"], rows))


def _maps(s: dict, classes: list[str]) -> list[Block]:
    label = "" if s["label"] is None else f" (class {classes[s['label']]})"
    blocks: list[Block] = [
        Heading("Feature maps", level=2),
        Paragraph(f"Activations of each layer for image {s['image']}{label}. One panel per "
                  f"channel, all panels of a layer on one colour scale, so dark channels did "
                  f"not answer to this image."),
        Figure(str(s["input_picture"]), f"input {s['image']}")]
    for layer in s["layers"]:
        shown = "" if layer["shown"] == layer["shape"][0] else f", first {layer['shown']} channels shown"
        blocks.append(Figure(str(layer["picture"]), f"{layer.get('layer_name', layer['layer'])}: output "
                                                    f"{'x'.join(map(str, layer['shape']))}{shown}; "
                                                    f"{layer['active_channels']} channel(s) with a positive value"))
    return blocks


def _gradcam(s: dict, classes: list[str]) -> list[Block]:
    which = ("the predicted class" if s["target_class"] is None
             else f"class {classes[s['target_class']]}")
    rows = [[r["image"], "" if r["label"] is None else classes[r["label"]], classes[r["predicted"]],
             r["probability"], classes[r["target"]], r["cam_max"]] for r in s["images"]]
    return _part(
        "Grad-CAM",
        f"Grad-CAM (Selvaraju et al. 2017) on layer {s.get('layer_name', s['layer'])} for {which}: each channel "
        f"of the layer is weighted by the mean gradient of the class logit with respect to "
        f"it, the weighted channels are summed and negative values cut off (ReLU). The map "
        f"is upsampled (bilinear) to the image and scaled to its maximum; red is where the "
        f"layer saw evidence for the class. Top row: inputs; bottom row: heatmaps.",
        s["picture"], f"Grad-CAM on {s['layer']}",
        value_table(["image", "true", "predicted", "probability", "explained class", "max of map"], rows))


def _maximize(s: dict, classes: list[str]) -> list[Block]:
    blocks: list[Block] = [
        Heading("Activation maximisation", level=2),
        Paragraph(f"Inputs found by {s['steps']} steps of gradient ascent (seed {s['seed']}) "
                  f"that make each target as large as possible. At every step the image is "
                  f"moved by a few pixels, rotated and scaled at random, and penalised for "
                  f"roughness (total variation) and distance from grey (L2), so what remains "
                  f"is a pattern the network answers to wherever it is, not pixel noise. "
                  f"'start' is the target on the starting noise, 'final' on the result.")]
    for group in s["groups"]:
        what = "class logits" if group["layer"] is None else f"channels of {group['layer']}"
        blocks.append(Figure(str(group["picture"]), f"activation maximisation: {what}"))
        blocks.append(value_table(["target", "start", "final"],
                                  [[o["target"], o["start"], o["final"]] for o in group["objectives"]]))
    return blocks


def _which_images(s: dict) -> str:
    """"The 2,000 images (evenly spaced, of 10,000)" for a sample, "The 500 images" else."""
    total = s.get("of", s["n"])
    if s.get("sampled"):
        return f"The {s['n']:,} images (evenly spaced, of {total:,})"
    return f"The first {s['n']:,} images (of {total:,})" if total > s["n"] else f"The {s['n']:,} images"


def _shift(s: dict, classes: list[str]) -> list[Block]:
    rows = [[d, s["horizontal"]["accuracy"][i], s["horizontal"]["consistency"][i],
             s["vertical"]["accuracy"][i], s["vertical"]["consistency"][i]]
            for i, d in enumerate(s["shifts"])]
    return _part(
        "Robustness to shifted inputs",
        f"{_which_images(s)} of the {s['split']} split moved by whole pixels (zero fill), "
        f"horizontally (+ is right) and vertically (+ is down). Accuracy unshifted: "
        f"{s['accuracy']:.4f}. 'Unchanged' is the share of predictions equal to those on the "
        f"unshifted images, right or wrong: 1 means the model is invariant to that shift.",
        s["picture"], "accuracy and unchanged predictions against the shift",
        value_table(["shift (px)", "accuracy (horizontal)", "unchanged (horizontal)",
                     "accuracy (vertical)", "unchanged (vertical)"], rows))


def _coef(s: dict, classes: list[str]) -> list[Block]:
    K, C, H, W = s["shape"]
    mean = " (mean over the channels)" if C > 1 else ""
    return _part(
        "Logistic-regression coefficients",
        f"The weight matrix of the single linear layer, one {H}x{W} picture per class"
        f"{mean}, divided by the normalisation std so that each value is the change of "
        f"the class logit per unit of raw pixel value. Red pixels raise the class's "
        f"score, blue ones lower it: the pictures are templates the model matches.",
        s["picture"], "coefficient image of each class")


_SECTIONS: dict[str, Callable[[dict, list[str]], list[Block]]] = {
    "filters": _filters, "maps": _maps, "gradcam": _gradcam, "maximize": _maximize,
    "shift": _shift, "coef": _coef,
}


def report_blocks(summary: dict, classes: list[str]) -> list[Block]:
    """The title, the run's facts, then one section per part in ``summary["parts"]`` (as
    :func:`cnnlab.explain.run.explain_run` builds it)."""
    accuracy = summary.get("test_accuracy")
    facts: list[list[Any]] = [
        ["model", summary["model"]], ["data", summary["data"]],
        ["input (C, H, W)", " x ".join(map(str, summary["input"]))],
        ["test accuracy", "not recorded" if accuracy is None else accuracy],
        ["classes", ", ".join(classes)], ["parts", ", ".join(summary["parts"])]]
    blocks: list[Block] = [Heading(f"What {summary['model']} learned", level=1),
                           Paragraph(f"run {summary['run_dir']} on {summary['data']}"),
                           Heading("Run", level=2), value_table(["", "value"], facts)]
    for part in summary["parts"]:
        blocks += _SECTIONS[part](summary[part], classes)
    return blocks


def summary_lines(s: dict) -> list[str]:
    """The closing lines of ``cnnlab explain`` for its summary ``s``."""
    lines = [f"{s['model']} run {s['run_dir']}: {', '.join(s['parts'])}"]
    if "filters" in s:
        found = [r["pattern"] for r in s["filters"]["filters"]]
        counts = {p: found.count(p) for p in dict.fromkeys(found)}
        lines.append(f"filters of {s['filters']['layer']}: " + ", ".join(f"{n} {p}" for p, n in counts.items()))
    if "gradcam" in s:
        lines.append(f"Grad-CAM on {s['gradcam']['layer']} for {len(s['gradcam']['images'])} image(s)")
    if "maximize" in s:
        for group in s["maximize"]["groups"]:
            gains = [o["final"] - o["start"] for o in group["objectives"]]
            what = "class logits" if group["layer"] is None else group["layer"]
            lines.append(f"maximize {what}: {len(gains)} target(s), mean gain {sum(gains) / len(gains):+.3f}")
    if "shift" in s:
        sh = s["shift"]
        i = sh["shifts"].index(max(sh["shifts"]))
        lines.append(f"shift: accuracy {sh['accuracy']:.4f} unshifted, {sh['horizontal']['accuracy'][i]:.4f} "
                     f"at dx=+{sh['shifts'][i]}, {sh['vertical']['accuracy'][i]:.4f} at dy=+{sh['shifts'][i]}")
    return lines + [f"page: {s['html']}"]
