"""Kept for older imports: cnnlab's Markdown as HTML lives in :mod:`cnnlab.doc.markdown_html`."""

from cnnlab.doc.markdown_html import inline, markdown_to_html

__all__ = ["markdown_to_html", "inline"]
