r"""How wide a line of LaTeX maths comes out, estimated in points of Computer Modern at 10 pt
(:func:`width_pt`), and ``align*`` chains broken to the text width (:func:`align_chains`):
the measuring half of the LaTeX writer (:mod:`cnnlab.doc.latex`).
"""

from __future__ import annotations

import re

__all__ = ["TEXT_WIDTH_PT", "LINE_PT", "width_pt", "align_chains"]

TEXT_WIDTH_PT = 345.0  # \textwidth of article at 10 pt on A4 or letter paper
LINE_PT = TEXT_WIDTH_PT - 25  # what an align* line may use: room for rounding in width_pt

_FRAC = re.compile(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}")
_UNDERSET = re.compile(r"\\underset\{([^{}]*)\}\{([^{}]*)\}")
_WORDCMD = re.compile(r"\\(?:operatorname|text|mathrm|texttt)\{([^{}]*)\}")
_SPACES = {r"\quad": 10.0, r"\qquad": 20.0, r"\,": 1.7, r"\ ": 3.3}
_BINARY = "+-=·×⊙⊗≈<>"


def _glyphs(text: str) -> float:
    w = 0.0
    for ch in text:
        if ch in _BINARY:
            w += 12.5  # a binary operator or relation with its spaces
        elif ch in ",;.:":
            w += 4.5
        elif ch in "()[]|":
            w += 4.0
        elif ch.isspace() or ch in "{}^_&":
            continue
        else:
            w += 5.6 if ch.isupper() else 5.0
    return w


def width_pt(latex: str) -> float:
    """An estimate of how wide a line of LaTeX maths prints, in points (10 pt fonts).

    Fractions count their wider part; matrices are measured column by column. It errs on
    the wide side; callers leave a margin. ``width_pt("1 + 2") == 22.5``
    """
    text = latex
    text = _matrices_to_width(text)
    for _ in range(8):  # innermost fractions and labels first
        new = _FRAC.sub(lambda m: max(m.group(1), m.group(2), key=lambda s: width_pt(s)), text)
        new = _UNDERSET.sub(lambda m: max(m.group(1), m.group(2), key=lambda s: width_pt(s)), new)
        new = _WORDCMD.sub(lambda m: m.group(1), new)
        if new == text:
            break
        text = new
    extra = 0.0
    for cmd, pt in _SPACES.items():
        extra += text.count(cmd) * pt
        text = text.replace(cmd, " ")
    text = re.sub(r"\\(?:left|right|bigl|bigr|Bigl|Bigr)\b", "", text)
    text = re.sub(r"\\(cdot|odot|otimes|approx|times|rightarrow)\b", "·", text)
    extra += sum(float(x) for x in re.findall(r"\\W:(\d+(?:\.\d+)?)", text))
    text = re.sub(r"\\W:(\d+(?:\.\d+)?)", "", text)
    text = re.sub(r"\\[A-Za-z]+", "x", text)  # \sigma, \max, \lfloor: about one glyph each
    return _glyphs(text) + extra


_MATRIX = re.compile(r"(?:\\left\[\\begin\{array\}\{r*\}|\\begin\{bmatrix\})(.*?)"
                     r"(?:\\end\{array\}\\right\]|\\end\{bmatrix\})", re.S)


def _matrices_to_width(text: str) -> str:
    """Replace each matrix by a marker of its width (columns of their widest entry, spacing)."""
    def one(m: re.Match) -> str:
        rows = [r.split("&") for r in m.group(1).split(r"\\")]
        ncols = max(len(r) for r in rows)
        cols = [max(width_pt(r[j]) if j < len(r) else 0.0 for r in rows) for j in range(ncols)]
        return rf" \W:{sum(cols) + 10.0 * ncols + 8.0:.1f} "
    return _MATRIX.sub(one, text)


def align_chains(rows: list[tuple[str, list[str]]], line_pt: float = 0.0) -> str:
    r"""The body of an ``align*``: ``lhs &= p1 = p2 = ...`` per row, a chain that would run
    past the line continued on the next (``&= p3``), a part wider than a line scaled to it.

    >>> align_chains([("x", ["1 + 1", "2"])])
    'x &= 1 + 1 = 2'
    """
    room = (line_pt or LINE_PT) - max((width_pt(lhs) for lhs, _ in rows), default=0.0)
    out = []
    for lhs, parts in rows:
        lines: list[str] = []
        used = room + 1.0
        for part in parts:
            w = width_pt(part) + 12.5
            if w > room:
                part = rf"\resizebox{{{room - 15:.0f}pt}}{{!}}{{$\displaystyle {part}$}}"
                w = room
            if lines and used + w <= room:
                lines[-1] += f" = {part}"
                used += w
            else:
                lines.append(f"= {part}")
                used = w
        out.append(" \\\\\n".join([f"{lhs} &{lines[0]}"] + [f"&{line}" for line in lines[1:]]) if lines
                   else f"{lhs} &")
    return " \\\\\n".join(out)
