"""LaTeX for worked solutions: the writer of :mod:`cnnlab.doc.latex` (one escaper for cnnlab)."""

from cnnlab.doc.latex import LatexWriter, escape, standalone

LatexFormatter = LatexWriter  # the name older callers import

__all__ = ["LatexFormatter", "LatexWriter", "escape", "standalone"]
