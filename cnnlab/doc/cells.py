"""Measured values in a table: one way to write a cell, one rule for which columns are numbers.

A results table (a comparison, a study's trials, an explanation's figures) holds ints,
floats, text and missing values; :func:`value_table` turns such rows into a
:class:`cnnlab.doc.blocks.Table` whose cells are written alike by every writer: floats
with :data:`FLOAT_DECIMALS` decimals, None as ``-``, booleans as yes/no, and the columns
whose every value reads as a number right-aligned. A value keeps its place next to its
text (a :class:`~cnnlab.doc.blocks.ValueCell`), so the JSON writer gives the number where
a page shows its text; a caller with a format of its own passes a ``ValueCell`` itself.

>>> t = value_table(["model", "acc"], [["mlp", 0.98765], ["cnn", None]])
>>> [[str(c) for c in row] for row in t.rows], t.align
([['mlp', '0.9877'], ['cnn', '-']], 'lr')
>>> t.rows[0][1]
ValueCell(value=0.98765, text='0.9877')
"""

from __future__ import annotations

from typing import Any, Sequence

from cnnlab.doc.blocks import Cell, Table, ValueCell

__all__ = ["FLOAT_DECIMALS", "format_cell", "is_number", "value_cell", "value_table"]

FLOAT_DECIMALS = 4  # accuracies differ in the 3rd decimal between seeds; 4 shows that


def format_cell(value: Any) -> str:
    """One cell as text.

    >>> [format_cell(v) for v in (None, 3, 0.98765, True, "a|b", ValueCell(1.25, "1.2"))]
    ['-', '3', '0.9877', 'yes', 'a|b', '1.2']
    """
    if isinstance(value, ValueCell):
        return value.text
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{FLOAT_DECIMALS}f}"
    return str(value)


def is_number(value: Any) -> bool:
    """An int or float (not a bool), or a string that reads as one (e.g. pre-formatted "12.5").

    >>> [is_number(v) for v in (3, 0.5, "12.5", "-1e3", True, "mlp", None, ValueCell(2.5, "2.5"))]
    [True, True, True, True, False, False, False, True]
    """
    if isinstance(value, ValueCell):
        return is_number(value.value)
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
    present = [v for v in values if _value(v) is not None]
    return bool(present) and all(is_number(v) for v in present)


def _value(cell: Any) -> Any:
    return cell.value if isinstance(cell, ValueCell) else cell


def value_cell(value: Any) -> Cell:
    """A table cell for ``value``: text stays text, a value (number, bool, None) becomes a
    :class:`~cnnlab.doc.blocks.ValueCell` written by :func:`format_cell`; a ValueCell stays.

    >>> value_cell("mlp"), value_cell(None)
    ('mlp', ValueCell(value=None, text='-'))
    """
    if isinstance(value, (str, ValueCell)):
        return value
    return ValueCell(value, format_cell(value))


def value_table(header: Sequence[str], rows: Sequence[Sequence[Any]], code: tuple[int, ...] = (),
                caption: str = "") -> Table:
    """A table of measured values: every cell a :func:`value_cell`, numeric columns
    right-aligned, ``caption`` under it; a row of the wrong length is a bug (ValueError)."""
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"row has {len(row)} cells, expected {len(header)}: {row!r}")
    align = "".join("r" if _is_numeric([row[j] for row in rows]) else "l" for j in range(len(header)))
    return Table([str(h) for h in header], [[value_cell(v) for v in row] for row in rows], align=align,
                 code=code, caption=caption)
