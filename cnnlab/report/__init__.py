"""Reports: self-contained HTML pages of documents, plain/markdown tables and matplotlib figures.

``page`` and ``table`` write :mod:`cnnlab.doc` documents (standard library only);
``figures`` imports matplotlib inside each function (Agg backend), so importing this
package stays cheap.
"""

from cnnlab.report.page import embed_figures, render_page, write_page
from cnnlab.report.table import markdown_table, text_table

__all__ = [
    "embed_figures",
    "render_page",
    "write_page",
    "markdown_table",
    "text_table",
]
