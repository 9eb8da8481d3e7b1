r"""Plain-text formulas typeset as LaTeX maths: ``floor((H + 2p − k)/s) + 1`` →
``\left\lfloor (H + 2p - k)/s\right\rfloor + 1``.

The architecture table's worked steps (:mod:`cnnlab.arch.layers`) are written once, in
plain text; the LaTeX writer turns an :class:`cnnlab.doc.expr.PlainMath` into maths here:
``floor``/``ceil`` become brackets, ``C_out`` a subscripted symbol, a word of several
letters upright text, and a trailing note in parentheses (or a formula that is a phrase)
text, escaped by the escaper the writer passes (:func:`cnnlab.doc.latex.escape`, the
package's one LaTeX escaper).
"""

from __future__ import annotations

import re
from typing import Callable

__all__ = ["latex_of"]

_IDENT = re.compile(r"\\[A-Za-z]+|[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)?")
_SYMBOLS = (("·", r" \cdot "), ("×", r" \times "), ("−", "-"), ("γ", r"\gamma "), ("β", r"\beta "),
            ("∈", r"\in "), ("→", r"\to "), ("²", "^2"))
_BRACKETS = (("floor", (r"\left\lfloor ", r"\right\rfloor ")), ("ceil", (r"\left\lceil ", r"\right\rceil ")))


def _ident(match: re.Match) -> str:
    word = match.group(0)
    if word.startswith("\\"):
        return word
    if word == "output_padding":
        return r"\mathit{op}"
    base, _, sub = word.partition("_")
    base_tex = base if len(base) == 1 else r"\text{" + base + "}"
    return base_tex + (r"_{\mathrm{" + sub + "}}" if sub else "")


def _maths(expr: str) -> str:
    out = expr
    for name, (left, right) in _BRACKETS:
        while f"{name}(" in out:
            start = out.index(f"{name}(")
            depth, i = 0, start + len(name)
            for i in range(start + len(name), len(out)):
                depth += {"(": 1, ")": -1}.get(out[i], 0)
                if depth == 0:
                    break
            out = out[:start] + left + out[start + len(name) + 1:i] + right + out[i + 1:]
    out = out.replace("max(", r"\max(")
    out = _IDENT.sub(_ident, out)
    for a, b in _SYMBOLS:
        out = out.replace(a, b)
    return re.sub(r" +", " ", out).strip()


def latex_of(text: str, escape: Callable[[str], str]) -> str:
    """A plain-text formula as LaTeX maths (words in a row, or a trailing note, become \\text
    with their characters escaped by ``escape``).

    >>> print(latex_of("floor((H + 2p − k)/s) + 1", str))
    \\left\\lfloor (H + 2p - k)/s\\right\\rfloor + 1
    """
    note = ""
    m = re.match(r"^(.*?)\s*\(([^()]*[a-z]{4,}[^()]*)\)$", text)
    if m and m.group(1):
        text, note = m.group(1), m.group(2)
    if re.search(r"[A-Za-z]{2,},? [A-Za-z]{2,}", text):
        body = r"\text{" + escape(text) + "}"
    else:
        body = _maths(text)
    return body + (r"\quad\text{(" + escape(note) + ")}" if note else "")
