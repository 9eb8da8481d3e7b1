"""A study as a document (:mod:`cnnlab.doc`): its trial table, best trial, importances,
pictures and settings, and the lines ``cnnlab tune`` prints.

``report_blocks`` is report.html (pictures embedded by :func:`cnnlab.report.write_page`)
and a result's Markdown, LaTeX and notebook view; ``summary_blocks`` what the command
prints. ``write_outputs`` writes the pictures, report.html and results.json.
"""

from __future__ import annotations

import json

from cnnlab.doc import write
from cnnlab.doc.blocks import Block, Bullets, Code, Figure, Heading, Paragraph
from cnnlab.doc.cells import value_table
from cnnlab.report import write_page
from cnnlab.storage import RunFolder
from cnnlab.tune.figures import CAPTIONS, write_figures
from cnnlab.tune.trials import shared, short, table_columns, table_rows

__all__ = ["trials_table", "terminal_table", "summary_blocks", "report_blocks", "write_report",
           "write_outputs"]


def trials_table(result):
    """The trial table as a block: a cell per value, numbers right-aligned."""
    return value_table(table_columns(result), table_rows(result))


def _best_line(result) -> str:
    if result.best is None:
        return "no trial has completed yet"
    b = result.best
    params = ", ".join(f"{k}={short(v)}" for k, v in b["params"].items())
    return (f"best: trial {b['number']}, {result.metric} {b['value']:.4f} ({params})\n"
            f"      run folder {b['run_dir']}")


def _importance_line(result) -> str:
    if not result.importances:
        return f"parameter importances: - ({result.importance_note})"
    return "parameter importances: " + ", ".join(f"{k} {v:.2f}" for k, v in result.importances.items())


def _facts(result) -> list[str]:
    """How many trials in which state, the best one, the importances."""
    counts: dict[str, int] = {}
    for t in result.trials:
        counts[t["state"].lower()] = counts.get(t["state"].lower(), 0) + 1
    tally = ", ".join(f"{n} {state}" for state, n in counts.items())
    return [f"study {result.study!r}: {len(result.trials)} trials ({tally}); {result.ran} run now",
            _best_line(result), _importance_line(result)]


def terminal_table(result) -> str:
    """The trial table, the best trial and the importances, as plain text."""
    return write([trials_table(result), Bullets(_facts(result))]).rstrip("\n")


def summary_blocks(result) -> list[Block]:
    """What ``cnnlab tune`` prints: the table, the facts (and which trials this worker ran
    when others share the study), where the report went."""
    facts = _facts(result)
    if len(result.trials) > result.ran:
        shown = ", ".join(map(str, result.ran_trials)) or "none"
        facts.append(f"this worker ran {result.ran} of the study's {len(result.trials)} trials: {shown}")
    return [trials_table(result), Bullets(facts),
            Bullets([f"report: {result.report}",
                     f"study folder: {result.study_dir} ({result.total_seconds:.1f} s)"])]


def _summary(result, config) -> list[Block]:
    blocks: list[Block] = [Heading("Summary", level=2), Paragraph(
        f"Study {result.study!r} on {config.data} with model {config.model}: "
        f"{len(result.trials)} trials in {result.storage}, {result.metric} "
        f"{result.direction}d, {config.epochs} epoch(s) per trial, {config.sampler} "
        f"sampler, {config.pruner} pruner. This call ran {result.ran} trial(s) in "
        f"{result.total_seconds:.1f} s" + (
            f" (trials {', '.join(map(str, result.ran_trials))}; the others were run "
            f"by other workers sharing the study)." if shared(result) else "."))]
    if not result.best:
        return blocks + [Paragraph("No trial has completed yet.")]
    b = result.best
    return blocks + [
        Paragraph(f"best: trial {b['number']}, {result.metric} {b['value']:.4f}"),
        value_table(["parameter", "value"], [[k, short(v)] for k, v in b["params"].items()]),
        Paragraph("Its run folder holds the model and config.yaml; evaluate or retrain it with:"),
        Code(f"cnnlab evaluate {b['run_dir']}\n"
             f"cnnlab train --config {b['run_dir']}/config.yaml --out runs/retrain", "shell")]


def report_blocks(result) -> list[Block]:
    """The whole report: summary and best trial, trials, importances, pictures (the PNG
    files of the study folder), search space and the settings the study ran with."""
    config = result.config
    importances = ([value_table(["parameter", "importance"], [[k, v] for k, v in result.importances.items()])]
                   if result.importances else [Paragraph(f"Not shown: {result.importance_note}.")])
    settings = {k: v for k, v in vars(config).items() if k != "space"}
    return [Heading(f"Tuning {config.model} on {config.data}", level=1), Paragraph(f"study {result.study}"),
            *_summary(result, config),
            Heading("Trials", level=2), trials_table(result),
            Heading("Parameter importances", level=2), *importances,
            Heading("Pictures", level=2), *(Figure(str(p), CAPTIONS[k]) for k, p in result.figures.items()),
            Heading("Search space and settings", level=2),
            value_table(["parameter", "spec"], [[n, json.dumps(spec)] for n, spec in result.space.items()],
                        code=(1,)),
            Code(json.dumps(settings, indent=2, default=str), "json")]


def write_report(result):
    """``<study_dir>/report.html``; returns its path."""
    return write_page(result.study_dir / "report.html", report_blocks(result))


def write_outputs(result) -> None:
    """Pictures, report.html and results.json into ``result.study_dir``."""
    result.study_dir.mkdir(parents=True, exist_ok=True)
    result.figures = write_figures(result)
    result.report = write_report(result)
    RunFolder(result.study_dir).write("results.json", json.dumps(result.as_json(), indent=2) + "\n",
                                      recorded=False)
