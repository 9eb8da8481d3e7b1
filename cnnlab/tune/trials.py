"""The trials of a study as rows: which parameters vary, who ran each trial, the table.

>>> short(1.7e-06), short(3)
('1.7e-06', 3)
"""

from __future__ import annotations

from typing import Any

from cnnlab.doc.blocks import ValueCell

__all__ = ["short", "varied", "shared", "table_columns", "table_rows"]


def short(value: Any) -> Any:
    """A float with 4 significant digits; anything else as it is."""
    # 4 significant digits: 1.7e-06 stays readable where format_cell's 4 decimals give 0.0000
    return f"{value:.4g}" if isinstance(value, float) else value


def varied(result) -> list[str]:
    """Parameter names of the space that trials draw (fixed ones left out), in space order."""
    names = [n for n, spec in result.space.items() if spec["type"] != "fixed"]
    seen = {k for t in result.trials for k in t["params"]}
    return names + sorted(seen - set(names))  # params of an earlier space of the same study


def _worker(trial: dict) -> str:
    return f"{trial.get('host') or '?'}:{trial.get('pid') or '?'}"


def shared(result) -> bool:
    """Whether the study's trials were run by more than one worker (process or machine)."""
    return len({_worker(t) for t in result.trials}) > 1


def table_columns(result) -> list[str]:
    """trial, state, <metric>, epochs, seconds, [worker,] then one column per parameter."""
    worker = ["worker"] if shared(result) else []
    return ["trial", "state", result.metric, "epochs", "seconds"] + worker + varied(result)


def _shown(value: Any, text: Any) -> Any:
    """A float kept as a table cell with the text shown for it (the JSON of the report gives the
    number); anything else as it is."""
    return ValueCell(value, text) if isinstance(value, float) else value


def table_rows(result) -> list[list[Any]]:
    """One row per trial, in ``table_columns`` order (worker = host:pid of a shared study)."""
    names = varied(result)
    by_many = shared(result)
    return [[t["number"], t["state"].lower(), t["value"], t["epochs"],
             None if t["seconds"] is None else _shown(float(t["seconds"]), f"{t['seconds']:.1f}")]
            + ([_worker(t)] if by_many else [])
            + [_shown(t["params"].get(n), short(t["params"].get(n))) for n in names] for t in result.trials]
