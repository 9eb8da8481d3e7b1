"""Tables as text: aligned plain text for the terminal and GitHub markdown for files.

A table is a list of column names and a list of rows; a cell is a string, an int, a
float (shown with 4 decimals) or None (shown as "-"). Columns of numbers (or of strings
that read as numbers, for other precisions) are right-aligned.
"""

from __future__ import annotations

from typing import Any, Sequence

__all__ = ["format_cell", "is_number", "text_table", "markdown_table"]

FLOAT_DECIMALS = 4  # accuracies differ in the 3rd decimal between seeds; 4 shows that


def format_cell(value: Any) -> str:
    """One cell as text.

    >>> [format_cell(v) for v in (None, 3, 0.98765, True, "a|b")]
    ['-', '3', '0.9877', 'yes', 'a|b']
    """
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{FLOAT_DECIMALS}f}"
    return str(value)


def _cells(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[list[str]]:
    table = [[str(c) for c in columns]]
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"row has {len(row)} cells, expected {len(columns)}: {row!r}")
        table.append([format_cell(v) for v in row])
    return table


def is_number(value: Any) -> bool:
    """An int or float (not a bool), or a string that reads as one (e.g. pre-formatted "12.5").

    >>> [is_number(v) for v in (3, 0.5, "12.5", "-1e3", True, "mlp", None)]
    [True, True, True, True, False, False, False]
    """
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    if isinstance(value, str):
        try:
            float(value.replace(",", ""))
        except ValueError:
            return False
        return value.strip().lower() not in ("nan", "inf", "-inf", "infinity")
    return False


def _is_numeric(values: Sequence[Any]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(is_number(v) for v in present)


def text_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Aligned plain text: numbers right-aligned, text left-aligned.

    >>> print(text_table(["model", "acc"], [["mlp", 0.5], ["cnn", 0.75]]))
    model     acc
    -----  ------
    mlp    0.5000
    cnn    0.7500
    """
    table = _cells(columns, rows)
    widths = [max(len(r[i]) for r in table) for i in range(len(columns))]
    right = [_is_numeric([row[i] for row in rows]) for i in range(len(columns))]

    def line(cells: list[str]) -> str:
        parts = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(table[0]), rule] + [line(r) for r in table[1:]])


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """GitHub markdown; ``|`` inside a cell is escaped.

    >>> print(markdown_table(["model", "params"], [["a|b", 10]]))
    | model | params |
    |---|---:|
    | a\\|b | 10 |
    """
    table = _cells(columns, rows)
    right = [_is_numeric([row[i] for row in rows]) for i in range(len(columns))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    rule = "|" + "|".join("---:" if r else "---" for r in right) + "|"
    return "\n".join([line(table[0]), rule] + [line(r) for r in table[1:]])
