"""Markdown rendering: headings and prose in Markdown, the math in fenced text blocks.

Fenced blocks keep matrices aligned in every Markdown viewer (GitHub, Jupyter, pandoc),
which a LaTeX-in-Markdown block would not.
"""

from __future__ import annotations

from cnnlab.steps.blocks import Block, Group, Heading, MatrixText, Para
from cnnlab.steps.render_text import TextFormatter

__all__ = ["MarkdownFormatter"]


class MarkdownFormatter(TextFormatter):
    """Text formatting of numbers and math; Markdown structure around it."""

    name = "markdown"

    def render(self, blocks: list[Block]) -> str:
        out: list[str] = []
        first = True
        for block in blocks:
            if isinstance(block, Heading):
                out += [f"{'##' if first else '###'} {block.text}", ""]
                first = False
            elif isinstance(block, Para):
                out += [block.text, ""]
            elif isinstance(block, Group):
                out.append("```text")
                for item in block.lines:
                    out += self.line(item)
                out += ["```", ""]
        return "\n".join(out).strip("\n") + "\n"

    def value(self, cells: MatrixText) -> str:
        return "```text\n" + super().value(cells) + "\n```"
