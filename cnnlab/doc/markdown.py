"""The Markdown writer: headings and prose in Markdown, the maths in fenced text blocks.

Fenced blocks keep matrices aligned in every Markdown viewer (GitHub, Jupyter, pandoc),
which a LaTeX-in-Markdown block would not.
"""

from __future__ import annotations

from cnnlab.doc.blocks import Block, Figure, Heading, MatrixText, Paragraph, StepList, Table
from cnnlab.doc.text import TextWriter

__all__ = ["MarkdownWriter"]


class MarkdownWriter(TextWriter):
    """Text formatting of numbers and maths; Markdown structure around it."""

    name = "markdown"

    def render(self, blocks: list[Block]) -> str:
        out: list[str] = []
        first = True
        for block in blocks:
            if isinstance(block, Heading):
                out += [f"{'##' if first else '###'} {block.text}", ""]
                first = False
            elif isinstance(block, Paragraph):
                out += [self.inline(block.parts), ""]
            elif isinstance(block, StepList):
                out.append("```text")
                for item in block.lines:
                    out += self.line(item)
                out += ["```", ""]
            elif isinstance(block, Table):
                rows = [[self.expr(c) for c in row] for row in block.rows]
                out += ["| " + " | ".join(block.header) + " |", "|" + "---|" * len(block.header),
                        *("| " + " | ".join(r) + " |" for r in rows), ""]
            elif isinstance(block, Figure):
                out += [f"![{block.caption}]({block.path})", ""]
        return "\n".join(out).strip("\n") + "\n"

    def value(self, cells: MatrixText) -> str:
        return "```text\n" + super().value(cells) + "\n```"
