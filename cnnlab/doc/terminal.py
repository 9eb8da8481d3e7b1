"""The terminal writer: the text writer with tables box-drawn by rich, when it is installed.

``cnnlab arch`` prints this by default (``--format table``); without rich, or for any
other block, it writes exactly what :class:`cnnlab.doc.text.TextWriter` writes.
"""

from __future__ import annotations

import io

from cnnlab.doc.blocks import Table, display_cell
from cnnlab.doc.text import TextWriter

__all__ = ["TerminalWriter"]


class TerminalWriter(TextWriter):
    """Text, with each :class:`~cnnlab.doc.blocks.Table` drawn in a box (rich)."""

    def table(self, block: Table) -> list[str]:
        try:  # an optional dependency, loaded only when a table is drawn
            from rich.console import Console
            from rich.table import Table as RichTable
        except ImportError:
            return super().table(block)
        grid = RichTable(show_lines=False)
        for h, a in zip(block.header, block.aligns()):
            grid.add_column(h, justify="right" if a == "r" else "left")
        for row in block.rows:
            grid.add_row(*(self.expr(display_cell(c)) for c in row))
        buffer = io.StringIO()
        Console(file=buffer, width=max(80, sum(len(h) + 3 for h in block.header) + 200), no_color=True,
                highlight=False).print(grid)
        return [line.rstrip() for line in buffer.getvalue().splitlines()]
