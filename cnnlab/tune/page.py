"""What a study writes: the trial table, the pictures, report.html and results.json.

Pictures are drawn with matplotlib (Agg, no pyplot state), not Optuna's plotly plots,
so the report stays one self-contained file that opens offline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cnnlab.report import Code, Figure, Section, Table, Text, text_table, write_page
from cnnlab.report.figures import new_figure, save_figure
from cnnlab.storage import RunFolder

__all__ = ["table_columns", "table_rows", "terminal_table", "write_figures", "write_report",
           "write_outputs"]

STATE_STYLE = {"COMPLETE": ("o", "C0"), "PRUNED": ("x", "C3"), "FAIL": ("s", "grey"),
               "RUNNING": ("^", "C2"), "WAITING": ("v", "C2")}


def _short(value: Any) -> Any:
    # 4 significant digits: 1.7e-06 stays readable where format_cell's 4 decimals give 0.0000
    return f"{value:.4g}" if isinstance(value, float) else value


def _varied(result) -> list[str]:
    """Parameter names of the space that trials draw (fixed ones left out), in space order."""
    names = [n for n, spec in result.space.items() if spec["type"] != "fixed"]
    seen = {k for t in result.trials for k in t["params"]}
    return names + sorted(seen - set(names))  # params of an earlier space of the same study


def _worker(trial: dict) -> str:
    return f"{trial.get('host') or '?'}:{trial.get('pid') or '?'}"


def _shared(result) -> bool:
    """Whether the study's trials were run by more than one worker (process or machine)."""
    return len({_worker(t) for t in result.trials}) > 1


def table_columns(result) -> list[str]:
    """trial, state, <metric>, epochs, seconds, [worker,] then one column per parameter."""
    worker = ["worker"] if _shared(result) else []
    return ["trial", "state", result.metric, "epochs", "seconds"] + worker + _varied(result)


def table_rows(result) -> list[list[Any]]:
    """One row per trial, in ``table_columns`` order (worker = host:pid of a shared study)."""
    names = _varied(result)
    shared = _shared(result)
    return [[t["number"], t["state"].lower(), t["value"], t["epochs"],
             None if t["seconds"] is None else f"{t['seconds']:.1f}"]
            + ([_worker(t)] if shared else [])
            + [_short(t["params"].get(n)) for n in names] for t in result.trials]


def _best_line(result) -> str:
    if result.best is None:
        return "no trial has completed yet"
    b = result.best
    params = ", ".join(f"{k}={_short(v)}" for k, v in b["params"].items())
    return (f"best: trial {b['number']}, {result.metric} {b['value']:.4f} ({params})\n"
            f"      run folder {b['run_dir']}")


def _importance_line(result) -> str:
    if not result.importances:
        return f"parameter importances: - ({result.importance_note})"
    return "parameter importances: " + ", ".join(f"{k} {v:.2f}" for k, v in result.importances.items())


def terminal_table(result) -> str:
    """The trial table, the best trial and the importances, as plain text."""
    counts: dict[str, int] = {}
    for t in result.trials:
        counts[t["state"].lower()] = counts.get(t["state"].lower(), 0) + 1
    tally = ", ".join(f"{n} {state}" for state, n in counts.items())
    return "\n".join([text_table(table_columns(result), table_rows(result)), "",
                      f"study {result.study!r}: {len(result.trials)} trials ({tally}); "
                      f"{result.ran} run now", _best_line(result), _importance_line(result)])


def _history_figure(result, path: Path) -> Path:
    """Value of every trial by trial number, the best so far as a step line."""
    fig = new_figure(7, 4)
    ax = fig.subplots()
    for state, (marker, color) in STATE_STYLE.items():
        points = [(t["number"], t["value"]) for t in result.trials
                  if t["state"] == state and t["value"] is not None]
        if points:
            xs, ys = zip(*points)
            label = "pruned (last epoch's value)" if state == "PRUNED" else state.lower()
            ax.scatter(xs, ys, marker=marker, color=color, label=label, zorder=3)
    complete = [(t["number"], t["value"]) for t in result.trials
                if t["state"] == "COMPLETE" and t["value"] is not None]
    if complete:
        pick = max if result.direction == "maximize" else min
        best, xs, ys = None, [], []
        for number, value in complete:
            best = value if best is None else pick(best, value)
            xs.append(number)
            ys.append(best)
        ax.step(xs, ys, where="post", color="C1", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(result.metric)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("optimisation history")
    return save_figure(fig, path)


def _intermediate_figure(result, path: Path) -> Path:
    """The metric after every epoch of every trial; pruned trials end early, in red."""
    fig = new_figure(7, 4)
    ax = fig.subplots()
    labelled: set[str] = set()
    best = result.best["number"] if result.best else None
    for t in result.trials:
        steps = [(k, v) for k, v in sorted(t["intermediate"].items()) if v is not None]
        if not steps:
            continue
        xs, ys = zip(*steps)
        if t["number"] == best:
            style, label = {"color": "C1", "linewidth": 2.5, "zorder": 4}, f"best (trial {best})"
        elif t["state"] == "PRUNED":
            style, label = {"color": "C3", "alpha": 0.6}, "pruned"
        else:
            style, label = {"color": "C0", "alpha": 0.5}, t["state"].lower()
        ax.plot(xs, ys, marker="o", markersize=3, label=None if label in labelled else label, **style)
        labelled.add(label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(result.metric)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    if labelled:
        ax.legend(fontsize=8)
    ax.set_title("learning curves of the trials (what the pruner saw)")
    return save_figure(fig, path)


def _params_figure(result, path: Path) -> Path | None:
    """One panel per parameter: its value against the trial's metric (slice plot)."""
    names = _varied(result)
    if not names:
        return None
    ncols = min(3, len(names))
    nrows = -(-len(names) // ncols)
    fig = new_figure(4.0 * ncols, 3.2 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, name in zip(axes, names):
        spec = result.space.get(name, {})
        trials = [t for t in result.trials if t["value"] is not None and name in t["params"]]
        if spec.get("type") == "categorical":
            choices = [str(c) for c in spec["choices"]]
            for t in trials:  # values of an earlier space join the axis
                if str(t["params"][name]) not in choices:
                    choices.append(str(t["params"][name]))
            position = {c: i for i, c in enumerate(choices)}
            ax.set_xticks(range(len(choices)), choices, fontsize=8)
            x_of = lambda v: position[str(v)]  # noqa: E731 - one-line mapping
        else:
            x_of = float
            if spec.get("log"):
                ax.set_xscale("log")
        for state, (marker, color) in STATE_STYLE.items():
            points = [(x_of(t["params"][name]), t["value"]) for t in trials if t["state"] == state]
            if points:
                xs, ys = zip(*points)
                ax.scatter(xs, ys, marker=marker, color=color, label=state.lower())
        ax.set_xlabel(name)
        ax.set_ylabel(result.metric)
        ax.grid(alpha=0.3)
    for ax in axes[len(names):]:
        ax.set_axis_off()
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        axes[0].legend(handles, labels, fontsize=7)
    fig.suptitle(f"{result.metric} against each parameter (pruned: last epoch's value)")
    return save_figure(fig, path)


def _importance_figure(result, path: Path) -> Path | None:
    if not result.importances:
        return None
    names = list(result.importances)[::-1]  # largest on top
    fig = new_figure(6, 0.5 * len(names) + 1.2)
    ax = fig.subplots()
    ax.barh(names, [result.importances[n] for n in names], color="C0")
    ax.set_xlabel("importance (share of the metric's variance, fANOVA)")
    ax.set_xlim(0, 1)
    ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, path)


def write_figures(result) -> dict[str, Path]:
    """Draw the pictures into ``<study_dir>/figures``; returns name -> path."""
    folder = result.study_dir / "figures"
    drawn = {"history": _history_figure(result, folder / "history.png"),
             "intermediate": _intermediate_figure(result, folder / "intermediate.png"),
             "params": _params_figure(result, folder / "params.png"),
             "importances": _importance_figure(result, folder / "importances.png")}
    return {k: v for k, v in drawn.items() if v is not None}


CAPTIONS = {
    "history": "The value of each trial in order; the orange line is the best value so far.",
    "intermediate": "Validation metric after each epoch of each trial; red curves were pruned.",
    "params": "Each parameter against the trial's value (a slice plot of the search space).",
    "importances": "How much of the variation in the value each parameter explains (fANOVA).",
}


def write_report(result, config) -> Path:
    """``<study_dir>/report.html``: summary, best trial, trials, importances, pictures, settings."""
    summary = [Text(f"Study {result.study!r} on {config.data} with model {config.model}: "
                    f"{len(result.trials)} trials in {result.storage}, {result.metric} "
                    f"{result.direction}d, {config.epochs} epoch(s) per trial, {config.sampler} "
                    f"sampler, {config.pruner} pruner. This call ran {result.ran} trial(s) in "
                    f"{result.total_seconds:.1f} s" + (
                        f" (trials {', '.join(map(str, result.ran_trials))}; the others were run "
                        f"by other workers sharing the study)." if _shared(result) else "."))]
    if result.best:
        b = result.best
        summary.append(Table(["parameter", "value"], [[k, _short(v)] for k, v in b["params"].items()],
                             caption=f"best: trial {b['number']}, {result.metric} {b['value']:.4f}"))
        summary.append(Text("Its run folder holds the model and config.yaml; evaluate or retrain it with:"))
        summary.append(Code(f"cnnlab evaluate {b['run_dir']}\n"
                            f"cnnlab train --config {b['run_dir']}/config.yaml --out runs/retrain"))
    else:
        summary.append(Text("No trial has completed yet."))
    sections = [Section("Summary", summary),
                Section("Trials", [Table(table_columns(result), table_rows(result))])]
    if result.importances:
        sections.append(Section("Parameter importances", [
            Table(["parameter", "importance"], [[k, v] for k, v in result.importances.items()])]))
    else:
        sections.append(Section("Parameter importances", [Text(f"Not shown: {result.importance_note}.")]))
    sections.append(Section("Pictures", [Figure.from_path(p, CAPTIONS[k]) for k, p in result.figures.items()]))
    space_rows = [[n, json.dumps(spec)] for n, spec in result.space.items()]
    sections.append(Section("Search space and settings", [
        Table(["parameter", "spec"], space_rows),
        Code(json.dumps({k: v for k, v in vars(config).items() if k != "space"}, indent=2, default=str))]))
    return write_page(result.study_dir / "report.html", f"Tuning {config.model} on {config.data}",
                      sections, subtitle=f"study {result.study}")


def write_outputs(result, config) -> None:
    """Pictures, report.html and results.json into ``result.study_dir``."""
    result.study_dir.mkdir(parents=True, exist_ok=True)
    result.figures = write_figures(result)
    result.report = write_report(result, config)
    RunFolder(result.study_dir).write("results.json", json.dumps(result.as_json(), indent=2) + "\n",
                                      recorded=False)
