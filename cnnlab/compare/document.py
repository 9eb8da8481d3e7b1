"""A comparison as a document (:mod:`cnnlab.doc`): its table, findings and report.

``report_blocks`` is the whole report (report.html, and a result's Markdown, LaTeX and
notebook view), ``summary_blocks`` what ``cnnlab compare`` prints; both are written by
the document model's writers, never as text of their own. ``write_tables`` writes the
table files of the run folder (CSV, Markdown, JSON, config.yaml).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from cnnlab.compare.config import config_dict
from cnnlab.doc import write
from cnnlab.doc.blocks import Block, Bullets, Code, Figure, Heading, Paragraph, ValueCell
from cnnlab.doc.cells import value_table
from cnnlab.report import write_page
from cnnlab.storage import RunFolder

__all__ = ["TABLE_COLUMNS", "table_rows", "results_table", "terminal_table", "findings", "robustness",
           "report_blocks", "summary_blocks", "write_report", "write_tables"]

TABLE_COLUMNS = ["model", "params", "train acc", "val acc", "test acc", "shifted val acc", "shift drop",
                 "train s"]


# what the columns of the table mean, under it in the report
TABLE_CAPTION = ("train acc = accuracy on the training examples the model learned from; "
                 "shift drop = validation accuracy minus shifted validation accuracy; "
                 "train s = training time in seconds.")


def table_rows(result) -> list[list[Any]]:
    """One row per model, in TABLE_COLUMNS order (the training time shown to 0.1 s; its
    ``str()`` is that text, as results.csv holds it)."""
    return [
        [m.name, m.params, m.train_accuracy, m.val_accuracy, m.test_accuracy, m.shifted_val_accuracy,
         m.val_accuracy - m.shifted_val_accuracy, ValueCell(m.train_seconds, f"{m.train_seconds:.1f}")]
        for m in result.models
    ]


def results_table(result, caption: str = ""):
    """The comparison table as a block: a cell per value, numbers right-aligned."""
    return value_table(TABLE_COLUMNS, table_rows(result), caption=caption)


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
    if all(round(_drop(m), 1) <= 0 for m in result.models):  # as shown: no difference to judge by
        return (f"No model lost accuracy to the shifts here (points lost: {listed(result.models)}), so this "
                f"comparison cannot tell whether the convolutions helped.")
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


def _results(result) -> list[Block]:
    info, config = result.dataset_info, result.config
    C, H, W = info["image_shape"]
    # logreg is scikit-learn's, and --runs are scored as they are: only the others train here
    trained = (f" Torch models trained {config.epochs} epoch(s), batch {config.batch_size}, seed "
               f"{config.seed}." if any(m != "logreg" for m in config.models) else "")
    blocks: list[Block] = [
        Heading("Results", level=2),
        Paragraph(
            f"Data: {config.data} ({info['source'] or info['name']}), images {C}x{H}x{W}, "
            f"{len(info['classes'])} classes; {info['train']:,} training, {info['val']:,} validation and "
            f"{info['test']:,} test examples.{trained} The shifted validation set moves every validation "
            f"image horizontally by a random whole number of pixels, up to {config.shift_fraction:.0%} of "
            f"the width (as torchvision's RandomAffine(0, translate=({config.shift_fraction}, 0))), "
            f"zero fill."),
        results_table(result, caption=TABLE_CAPTION),
    ]
    return blocks + ([Paragraph(findings(result))] if findings(result) else [])


def _models(result) -> list[Block]:
    info = result.dataset_info
    C, H, W = info["image_shape"]
    blocks: list[Block] = [
        Heading("Models and parameter counts", level=2),
        value_table(["model", "what", "params", "training examples", "notes"],
                    [[m.name, _describe(m), m.params, m.train_examples, m.notes] for m in result.models])]
    budget = info.get("cnn_budget")
    budget_row = next((m for m in result.models if m.name == "mlp-budget"), None)
    if budget and budget_row:
        blocks.append(Paragraph(
            f"small-cnn has {budget:,} parameters on {C}x{H}x{W} inputs; the budget MLP with hidden "
            f"widths {'-'.join(map(str, budget_row.hidden or []))} has {budget_row.params:,} "
            f"({budget_row.params / budget - 1:+.1%}). At the same budget the CNN spends its "
            f"parameters on small shared filters, the MLP on one weight per pixel and unit."))
    return blocks


def _pictures(result) -> list[Block]:
    figs = {name: str(path) for name, path in result.figures.items()}
    blocks: list[Block] = []
    if "coefficients" in figs:
        blocks += [Heading("Logistic regression weights", level=2),
                   Paragraph("One picture per class: the weight of every pixel in that class's score (red "
                             "raises it, blue lowers it). A linear model can only learn one template per "
                             "class, tied to where the pixels are."),
                   Figure(figs["coefficients"], "logistic regression coefficients, one image per class")]
    if "learning_curves" in figs:
        blocks += [Heading("Learning curves", level=2),
                   Figure(figs["learning_curves"], "loss and accuracy per epoch; solid = training, "
                                                   "dashed = validation")]
    return blocks + [
        Heading("Robustness to horizontal shifts", level=2),
        Paragraph(robustness(result)),
        Figure(figs["accuracy_shift"], "accuracy on the validation set, plain and shifted"),
        Figure(figs["shifted_examples"], "validation examples (top) and their shifted versions (bottom)"),
    ]


def _settings(result) -> list[Block]:
    from cnnlab.report.machine import machine_info

    machine = machine_info()
    return [Heading("Settings", level=2), Code(json.dumps(config_dict(result.config), indent=2), "json"),
            Paragraph(f"Ran on {machine['cpu']} ({machine['cores']} cores), Python {machine['python']}, "
                      f"torch {machine['torch']}; total {result.total_seconds:.1f} s.")]


def report_blocks(result) -> list[Block]:
    """The whole report: results, models, pictures (the PNG files of the run folder), settings."""
    return [Heading(f"cnnlab compare: {result.config.data}", level=1),
            Paragraph(f"{' vs '.join(m.name for m in result.models)}, and their robustness to shifted inputs"),
            *_results(result), *_models(result), *_pictures(result), *_settings(result)]


def summary_blocks(result) -> list[Block]:
    """What ``cnnlab compare`` prints: the table, the findings, where the report went."""
    facts = [Bullets([findings(result)])] if findings(result) else []
    return [results_table(result), *facts,
            Bullets([f"report: {result.report}",
                     f"run folder: {result.run_dir} ({result.total_seconds:.1f} s)"])]


def write_report(result) -> Path:
    """Write the self-contained report.html of a comparison; returns its path."""
    return write_page(result.report, report_blocks(result))


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
            "markdown": folder.write("table.md", write([results_table(result)], "markdown")),
            "config": folder.write("config.yaml", yaml.safe_dump(config_dict(result.config),
                                                                sort_keys=False))}


def terminal_table(result) -> str:
    """The table as aligned text for the terminal."""
    return write([results_table(result)]).rstrip("\n")
