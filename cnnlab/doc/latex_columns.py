r"""Column widths for a LaTeX table that would run past the page.

A ``tabular`` of ``l``/``r`` columns is as wide as its widest cells: one long sentence (what
``describe_kernel`` says about a filter) or a row of long headers over short numbers runs
into the margin. :func:`fit_columns` gives such a table paragraph columns (``p{..}``, core
LaTeX, no package): number columns as wide as their numbers, prose columns sharing what
is left, the narrower ones at their natural width first; headers wrap. Widths are
estimates in points of Computer Modern at 10 pt (:func:`text_pt`), as
:func:`cnnlab.doc.latex.width_pt` estimates maths.

>>> fit_columns([30.0, 900.0], [30.0, 60.0], [True, False], 345.0)
[30.0, 303.0]
>>> fit_columns([30.0, 40.0, 400.0], [30.0, 40.0, 50.0], [True, False, False], 345.0)
[30.0, 40.0, 251.0]
"""

from __future__ import annotations

__all__ = ["COLUMN_GAP_PT", "text_pt", "word_pt", "fit_columns", "fit_table"]

COLUMN_GAP_PT = 12.0  # 2 \tabcolsep between two columns (6 pt each in article)
CODE_CHAR_PT = 5.25  # every character of \texttt (cmtt10)

# advance widths of Computer Modern Roman 10 pt (cmr10.tfm, in pt); Latin Modern has the same
_CMR10 = {
    **dict(zip("abcdefghijklmnopqrstuvwxyz",
               (5.0, 5.56, 4.44, 5.56, 4.44, 3.06, 5.0, 5.56, 2.78, 3.06, 5.28, 2.78, 8.33, 5.56, 5.0, 5.56,
                5.28, 3.92, 3.94, 3.89, 5.56, 5.28, 7.22, 5.28, 5.28, 4.44))),
    **dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ",
               (7.5, 7.08, 7.22, 7.64, 6.81, 6.53, 7.85, 7.5, 3.61, 5.14, 7.78, 6.25, 9.17, 7.5, 7.78, 6.81,
                7.78, 7.36, 5.56, 7.22, 7.5, 7.5, 10.28, 7.5, 7.5, 6.11))),
    **dict.fromkeys("0123456789", 5.0),
    **dict.fromkeys(".,:;'![]`", 2.78), **dict.fromkeys("()", 3.89), " ": 3.33, "-": 3.33, "/": 5.0,
    "%": 8.33, "=": 7.78, "+": 7.78, "*": 5.0, "?": 4.72, "\"": 5.0,
}
_OTHER_PT = 7.78  # anything else (an escaped _ or &, a symbol set as maths): as wide as "="
_SAFETY = 1.03  # kerning and the odd wider glyph: err wide
# a table at most this much too wide for the line, and too wide even wrapped, is scaled as it
# is: 0.8 of the type size still reads, and its cells (a layer spec) stay on one line
MIN_PLAIN_SCALE = 0.8


def text_pt(text: str, code: bool = False) -> float:
    """Printed width of ``text`` (one line, plain words or ``\\texttt`` code), in points.

    >>> text_pt("mean"), text_pt("x_1", code=True)
    (24.03, 16.22)
    """
    if code:
        return round(CODE_CHAR_PT * len(text) * _SAFETY, 2)
    return round(sum(_CMR10.get(ch, _OTHER_PT) for ch in text) * _SAFETY, 2)


def word_pt(text: str, code: bool = False) -> float:
    """Width of the longest word of ``text``: the narrowest a wrapping column can be."""
    return max((text_pt(w, code) for w in text.split()), default=0.0)


def fit_columns(natural: list[float], least: list[float], numeric: list[bool], room: float) -> list[float]:
    """Widths (pt) of paragraph columns that share ``room``.

    natural: each column's width unwrapped (its widest cell; a header wraps); least: the
    narrowest it can wrap to (its longest word; for numbers, its widest number); numeric:
    the columns of numbers, which get ``least`` (only their headers wrap). The prose
    columns share the rest, the narrow ones at their natural width first, none below its
    ``least``; the total passes ``room`` only when the least widths do (the caller scales
    that table).
    """
    n = len(natural)
    content = room - COLUMN_GAP_PT * (n - 1)
    widths = {j: least[j] for j in range(n) if numeric[j]}
    free = {j for j in range(n) if not numeric[j]}
    while free:
        share = (content - sum(widths.values())) / len(free)
        settled = ({j: natural[j] for j in free if natural[j] <= share}
                   or {j: least[j] for j in free if least[j] > share})
        if not settled:
            widths.update({j: share for j in free})
            break
        widths.update(settled)
        free -= set(settled)
    return [round(widths[j], 1) for j in range(n)]


def fit_table(one_line: list[float], natural: list[float], least: list[float], numeric: list[bool],
              room: float) -> tuple[list[float] | None, bool]:
    """How a table of these column widths (pt, as :func:`fit_columns` takes them; ``one_line``
    with the headers unwrapped) meets a line of ``room`` pt: (paragraph column widths, or None
    to keep its plain columns; whether to scale it to the line).

    >>> fit_table([30.0, 40.0], [30.0, 40.0], [30.0, 40.0], [True, False], 345.0)
    (None, False)
    >>> fit_table([30.0, 900.0], [30.0, 900.0], [30.0, 60.0], [True, False], 345.0)
    ([30.0, 303.0], False)
    >>> fit_table([200.0, 190.0], [200.0, 190.0], [200.0, 190.0], [False, True], 345.0)
    (None, True)
    """
    gaps = COLUMN_GAP_PT * (len(one_line) - 1)
    plain, wrapped = sum(one_line) + gaps, sum(least) + gaps
    if plain <= room:
        return None, False
    if wrapped <= room:
        return fit_columns(natural, least, numeric, room), False
    if plain * MIN_PLAIN_SCALE <= room or plain <= 1.1 * wrapped:  # wrapping would gain little
        return None, True
    return fit_columns(natural, least, numeric, room), True
