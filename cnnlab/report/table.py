"""Tables as text: aligned plain text for the terminal and GitHub markdown for files.

A table is a list of column names and a list of rows; a cell is a string, an int, a
float (shown with 4 decimals) or None (shown as "-"). Columns of numbers (or of strings
that read as numbers, for other precisions) are right-aligned. Both are the document
model's writers on :func:`cnnlab.doc.cells.value_table`.
"""

from __future__ import annotations

from typing import Any, Sequence

from cnnlab.doc import write
from cnnlab.doc.cells import value_table

__all__ = ["text_table", "markdown_table"]


def text_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Aligned plain text: numbers right-aligned, text left-aligned.

    >>> print(text_table(["model", "acc"], [["mlp", 0.5], ["cnn", 0.75]]))
    model     acc
    -----  ------
    mlp    0.5000
    cnn    0.7500
    """
    return write([value_table(columns, rows)], "text").rstrip("\n")


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """GitHub markdown; ``|`` inside a cell is escaped.

    >>> print(markdown_table(["model", "params"], [["a|b", 10]]))
    | model | params |
    |---|---:|
    | a\\|b | 10 |
    """
    return write([value_table(columns, rows)], "markdown").rstrip("\n")
