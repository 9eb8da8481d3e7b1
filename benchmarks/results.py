"""Writing one benchmark's section of benchmarks/RESULTS.md, leaving the others alone."""

from __future__ import annotations

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
