"""What a comparison writes: the table (text, markdown, CSV, JSON), the figures and report.html."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from cnnlab.compare.config import config_dict
from cnnlab.report import Code, Figure, Section, Table, Text, markdown_table, text_table, write_page
from cnnlab.storage import RunFolder

__all__ = ["TABLE_COLUMNS", "table_rows", "terminal_table", "findings", "robustness", "write_figures",
           "write_report", "write_tables"]

TABLE_COLUMNS = ["model", "params", "train acc", "val acc", "test acc", "shifted val acc", "shift drop",
                 "train s"]
EXAMPLES_PER_ROW = 10  # one validation digit per class on MNIST


def table_rows(result) -> list[list[Any]]:
    """One row per model, in TABLE_COLUMNS order."""
    return [
        [m.name, m.params, m.train_accuracy, m.val_accuracy, m.test_accuracy, m.shifted_val_accuracy,
         m.val_accuracy - m.shifted_val_accuracy, f"{m.train_seconds:.1f}"]
        for m in result.models
    ]


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


def _describe(m) -> str:
    widths = "-".join(map(str, m.hidden or []))
    return m.description + (f" (hidden {widths})" if widths and widths not in m.description else "")


def _drop(m) -> float:
    """Validation accuracy lost to the shifts, in points."""
    return 100 * (m.val_accuracy - m.shifted_val_accuracy)


def robustness(result) -> str:
    """What the shifts cost the convolutional models next to the others, read off the numbers.

    No claim is fixed in advance: when a CNN lost as much as a flat model, it says so.
    """
    conv = [m for m in result.models if m.convolutional]
    flat = [m for m in result.models if not m.convolutional]
    listed = lambda ms: ", ".join(f"{m.name} {_drop(m):.1f}" for m in ms)  # noqa: E731
    if not conv or not flat:
        kind = "convolutional" if conv else "flat (no convolution)"
        return (f"Every model here is {kind}, so the comparison says nothing about convolutions; "
                f"points lost to the shifts: {listed(result.models)}.")
    worst_conv = max(conv, key=_drop)
    best_flat = min(flat, key=_drop)
    if _drop(worst_conv) < _drop(best_flat):
        return (f"Here every convolutional model lost less to the shifts than every model that sees a "
                f"flat vector of pixels (points lost: convolutional {listed(conv)}; flat {listed(flat)}): "
                f"convolutions are equivariant to shifts and pooling absorbs small ones.")
    mean_conv = sum(map(_drop, conv)) / len(conv)
    mean_flat = sum(map(_drop, flat)) / len(flat)
    verdict = ("on average the convolutional models still lost less" if mean_conv < mean_flat else
               "on average the convolutional models lost as much or more")
    return (f"Here the convolutions did not protect every model from the shifts: {worst_conv.name} lost "
            f"{_drop(worst_conv):.1f} points, {best_flat.name} (no convolution) {_drop(best_flat):.1f}; "
            f"{verdict} ({mean_conv:.1f} vs {mean_flat:.1f} points). Equivariance holds for the "
            f"convolutions, but fully connected layers after them still see where the features are.")


def findings(result) -> str:
    """Sentences read off the table: who is most accurate, who overfits, what the shifts cost.

    Empty when fewer than two models were compared.
    """
    models = result.models
    if len(models) < 2:
        return ""
    best = max(models, key=lambda m: m.test_accuracy)
    drops = sorted(models, key=lambda m: m.val_accuracy - m.shifted_val_accuracy)
    lost = ", ".join(f"{m.name} {100 * (m.val_accuracy - m.shifted_val_accuracy):.1f}" for m in drops)
    most_params = max(models, key=lambda m: m.params)
    size = (f", with {most_params.params / best.params:.0f}x fewer parameters than {most_params.name}"
            if most_params is not best and most_params.params >= 2 * best.params else "")
    gaps = [(m.train_accuracy - m.test_accuracy, m) for m in models if m.train_accuracy == m.train_accuracy]
    gap_text = ""
    if gaps:
        gap, widest = max(gaps, key=lambda g: g[0])
        overfit = ": it fits its training images better than it generalises" if gap > 0.02 else ""
        gap_text = (f" The widest gap between training and test accuracy is {widest.name}'s "
                    f"({100 * gap:.1f} points){overfit}.")
    return (f"{best.name} has the best test accuracy ({best.test_accuracy:.4f}){size}.{gap_text} "
            f"Validation accuracy lost to the shifts, in points: {lost}. {robustness(result)}")


def _sections(result) -> list[Section]:
    info, config = result.dataset_info, result.config
    C, H, W = info["image_shape"]
    rows = table_rows(result)
    summary = Text(
        f"Data: {config.data} ({info['source'] or info['name']}), images {C}x{H}x{W}, "
        f"{len(info['classes'])} classes; {info['train']:,} training, {info['val']:,} validation and "
        f"{info['test']:,} test examples. Torch models trained {config.epochs} epoch(s), batch "
        f"{config.batch_size}, seed {config.seed}. The shifted validation set moves every validation "
        f"image horizontally by a random whole number of pixels, up to {config.shift_fraction:.0%} of "
        f"the width (as torchvision's RandomAffine(0, translate=({config.shift_fraction}, 0))), "
        f"zero fill."
    )
    sections = [Section("Results", [summary, Table(TABLE_COLUMNS, rows, caption=(
        "train acc = accuracy on the training examples the model learned from; "
        "shift drop = validation accuracy minus shifted validation accuracy; "
        "train s = training time in seconds.")), Text(findings(result))])]
    models = Table(["model", "what", "params", "training examples", "notes"],
                   [[m.name, _describe(m), m.params, m.train_examples, m.notes] for m in result.models])
    items: list = [models]
    budget = info.get("cnn_budget")
    budget_row = next((m for m in result.models if m.name == "mlp-budget"), None)
    if budget and budget_row:
        items.append(Text(
            f"small-cnn has {budget:,} parameters on {C}x{H}x{W} inputs; the budget MLP with hidden "
            f"widths {'-'.join(map(str, budget_row.hidden or []))} has {budget_row.params:,} "
            f"({budget_row.params / budget - 1:+.1%}). At the same budget the CNN spends its "
            f"parameters on small shared filters, the MLP on one weight per pixel and unit."))
    sections.append(Section("Models and parameter counts", items))
    figs = result.figures
    if "coefficients" in figs:
        sections.append(Section("Logistic regression weights", [
            Text("One picture per class: the weight of every pixel in that class's score (red raises "
                 "it, blue lowers it). A linear model can only learn one template per class, "
                 "tied to where the pixels are."),
            Figure.from_path(figs["coefficients"], "logistic regression coefficients, one image per class")]))
    if "learning_curves" in figs:
        sections.append(Section("Learning curves", [
            Figure.from_path(figs["learning_curves"],
                             "loss and accuracy per epoch; solid = training, dashed = validation")]))
    sections.append(Section("Robustness to horizontal shifts", [
        Text(robustness(result)),
        Figure.from_path(figs["accuracy_shift"], "accuracy on the validation set, plain and shifted"),
        Figure.from_path(figs["shifted_examples"], "validation examples (top) and their shifted versions (bottom)"),
    ]))
    from cnnlab.report.machine import machine_info

    machine = machine_info()
    sections.append(Section("Settings", [
        Code(json.dumps(config_dict(config), indent=2)),
        Text(f"Ran on {machine['cpu']} ({machine['cores']} cores), Python {machine['python']}, "
             f"torch {machine['torch']}; total {result.total_seconds:.1f} s."),
    ]))
    return sections


def write_report(result) -> Path:
    """Write the self-contained report.html of a comparison; returns its path."""
    title = f"cnnlab compare: {result.config.data}"
    subtitle = f"{' vs '.join(m.name for m in result.models)}, and their robustness to shifted inputs"
    return write_page(result.report, title, _sections(result), subtitle=subtitle)


def write_tables(result) -> dict[str, Path]:
    """results.json, results.csv, table.md and config.yaml in the run folder."""
    import yaml

    folder = RunFolder(result.run_dir)
    rows = table_rows(result)
    payload = result.as_json() | {"dataset": result.dataset_info, "config": config_dict(result.config)}
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\r\n")  # as csv.writer writes a file by default
    writer.writerow(TABLE_COLUMNS)
    writer.writerows(rows)
    return {"json": folder.write("results.json", json.dumps(payload, indent=2) + "\n"),
            "csv": folder.write("results.csv", table.getvalue()),
            "markdown": folder.write("table.md", markdown_table(TABLE_COLUMNS, rows) + "\n"),
            "config": folder.write("config.yaml", yaml.safe_dump(config_dict(result.config),
                                                                sort_keys=False))}


def terminal_table(result) -> str:
    """The table as aligned text for the terminal."""
    return text_table(TABLE_COLUMNS, table_rows(result))
