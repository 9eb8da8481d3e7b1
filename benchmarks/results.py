"""What every benchmark shares: its section of benchmarks/RESULTS.md, built and written.

A section is a heading, notes and tables between two HTML-comment markers
(``<!-- startup -->`` ... ``<!-- /startup -->``); writing one leaves the others alone.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Iterable, Sequence
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def write_section(text: str, start: str, end: str) -> None:
    """Replace the text between the ``start`` and ``end`` markers (appended when absent).

    ``text`` is the section body; the markers are added around it unless it has them.
    """
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    body = text.strip()
    section = body if body.startswith(start) else f"{start}\n{body}\n{end}"
    if start in old and end in old:
        new = old[:old.index(start)] + section + old[old.index(end) + len(end):]
    else:
        new = old.rstrip() + "\n\n" + section + "\n"
    RESULTS.write_text(new)


def publish(text: str, start: str, end: str, *, write: bool) -> None:
    """Print a section; when ``write``, also put it into RESULTS.md between its markers."""
    print(text)
    if write:
        write_section(text, start, end)


def make_section(start: str, end: str, *blocks: str | Sequence[str]) -> str:
    """The section's text: ``start``, the blocks (a line, or a list of lines) a blank line apart, ``end``.

    >>> make_section("<!-- a -->", "<!-- /a -->", "## A", ["| x |", "|---|"])
    '<!-- a -->\\n## A\\n\\n| x |\\n|---|\\n<!-- /a -->'
    """
    lines: list[str] = []
    for block in blocks:
        if lines:
            lines.append("")
        lines += [block] if isinstance(block, str) else list(block)
    return "\n".join([start, *lines, end])


def table(header: Sequence[str], rows: Iterable[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    """A Markdown table's lines; the columns numbered in ``right`` (from 0) are right-aligned.

    >>> table(["path", "median (s)"], [["fast", "0.10"]], right=[1])
    ['| path | median (s) |', '|---|---:|', '| fast | 0.10 |']
    """
    rule = "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|"
    return [_row(header), rule, *(_row(r) for r in rows)]


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def platform_note() -> str:
    """``Python 3.12.3, x86_64, 2 CPUs``: the interpreter and machine, as the sections name them."""
    return f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs"
