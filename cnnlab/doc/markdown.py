"""The Markdown writer: headings and prose in Markdown, the maths in fenced text blocks.

Fenced blocks keep matrices aligned in every Markdown viewer (GitHub, Jupyter, pandoc),
which a LaTeX-in-Markdown block would not.
"""

from __future__ import annotations

import re

from cnnlab.doc.blocks import (Block, Bullets, Figure, Formula, Heading, Matrices, MatrixText, Paragraph, StepList,
                               Table)
from cnnlab.doc.blocks import Cell, Code, display_cell
from cnnlab.doc.text import TextWriter

__all__ = ["MarkdownWriter"]


class MarkdownWriter(TextWriter):
    """Text formatting of numbers and maths; Markdown structure around it."""

    name = "markdown"
    # a document without levels sits under a sheet's "# Problem" heading: its title ##, sections ###
    AUTO_LEVELS = (2, 3)

    def render(self, blocks: list[Block]) -> str:
        out: list[str] = []
        first = True
        for block in blocks:
            if isinstance(block, Heading):
                out += [f"{'#' * min(max(block.depth(first, self.AUTO_LEVELS), 1), 6)} {block.text}", ""]
                first = False
            elif isinstance(block, Paragraph):
                out += [self.inline(block.parts), ""]
            elif isinstance(block, StepList):
                out.append("```text")
                for item in block.lines:
                    out += self.line(item)
                out += ["```", ""]
            elif isinstance(block, Table):
                out += [*self.table(block), ""] + ([block.caption, ""] if block.caption else [])
            elif isinstance(block, Bullets):
                out += [f"- {line}" for line in self.bullets(block)] + [""]
            elif isinstance(block, (Matrices, Formula)):
                out += ["```text", *self.line(block), "```", ""]
            elif isinstance(block, Figure):
                out += [f"![{block.caption}]({block.path})", ""]
            elif isinstance(block, Code):
                out += [self.fence(block), ""]
        return "\n".join(out).strip("\n") + "\n"

    def table(self, block: Table) -> list[str]:
        """A pipe table: ``---:`` under right-aligned columns, code columns in backticks."""
        rule = {"l": "---|", "r": "---:|"}

        def cell(j: int, c: Cell) -> str:
            text = self.expr(display_cell(c))
            return (f"`{text}`" if j in block.code else text).replace("|", r"\|")

        rows = [[cell(j, c) for j, c in enumerate(row)] for row in block.rows]
        return ["| " + " | ".join(block.header) + " |", "|" + "".join(rule[a] for a in block.aligns()),
                *("| " + " | ".join(r) + " |" for r in rows)]

    def fence(self, block: Code) -> str:
        """A fenced block, longer than any run of backticks inside it."""
        longest = max((len(run) for run in re.findall("`+", block.text)), default=0)
        ticks = "`" * max(3, longest + 1)
        return f"{ticks}{block.language}\n{block.text.rstrip(chr(10))}\n{ticks}"

    def value(self, cells: MatrixText) -> str:
        return "```text\n" + super().value(cells) + "\n```"
