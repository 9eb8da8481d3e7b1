"""Reports: self-contained HTML pages, plain/markdown tables and matplotlib figures.

``html`` and ``table`` need only the standard library; ``figures`` imports matplotlib
inside each function (Agg backend), so importing this package stays cheap.
"""

from cnnlab.report.html import Code, Figure, Section, Table, Text, render_page, write_page
from cnnlab.report.table import format_cell, is_number, markdown_table, text_table

__all__ = [
    "Code",
    "Figure",
    "Section",
    "Table",
    "Text",
    "render_page",
    "write_page",
    "format_cell",
    "is_number",
    "markdown_table",
    "text_table",
]
