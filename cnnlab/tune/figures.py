"""The pictures of a study: history, learning curves of the trials, parameters against
the value, importances.

Pictures are drawn with matplotlib (Agg, no pyplot state), not Optuna's plotly plots,
so the report stays one self-contained file that opens offline.
"""

from __future__ import annotations

from pathlib import Path

from cnnlab.report.figures import new_figure, save_figure
from cnnlab.tune.trials import varied

__all__ = ["STATE_STYLE", "CAPTIONS", "write_figures"]

STATE_STYLE = {"COMPLETE": ("o", "C0"), "PRUNED": ("x", "C3"), "FAIL": ("s", "grey"),
               "RUNNING": ("^", "C2"), "WAITING": ("v", "C2")}


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
    names = varied(result)
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
