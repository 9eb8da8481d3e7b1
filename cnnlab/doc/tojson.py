"""The JSON writer: the block tree as plain JSON (``{"type": "heading", ...}``).

Numbers are JSON numbers (Fractions also as ``"exact"`` strings), expressions nested
objects named by their kind, so a page can draw a result without parsing text. A table's
value cell (:class:`cnnlab.doc.blocks.ValueCell`) is its value: 0.98765 where the page
shows "0.9877", null for a missing one, true/false for yes/no.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np

from cnnlab.doc.blocks import Block, TensorGrid, ValueCell
from cnnlab.doc.numbers import exact_string, is_exact, to_json_number, to_json_value

__all__ = ["JsonWriter", "to_data"]


def to_data(node: Any) -> Any:
    """A block, expression or value as JSON-ready data."""
    if isinstance(node, ValueCell):  # a measured value: the number itself, not the text a page shows
        return to_json_number(node.value)
    if isinstance(node, TensorGrid):
        out = {"type": "tensor_grid", "values": to_json_value(np.asarray(node.values, dtype=object)),
               "roles": [{"row": r, "col": c, "roles": sorted(v)} for (r, c), v in sorted(node.roles.items())]}
        if node.frame is not None:
            out["frame"] = to_data(node.frame)
        return out
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        out = {"type": _snake(type(node).__name__)}
        for f in dataclasses.fields(node):
            out[f.name] = to_data(getattr(node, f.name))
        return out
    if isinstance(node, (list, tuple)):
        return [to_data(v) for v in node]
    if isinstance(node, dict):
        return {str(k): to_data(v) for k, v in node.items()}
    if isinstance(node, np.ndarray):
        return to_json_value(node)
    if isinstance(node, (str, bool)) or node is None:
        return node
    if is_exact(node):
        return {"value": to_json_number(node), "exact": exact_string(node)}
    return to_json_number(node)


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))


class JsonWriter:
    """The blocks as one JSON document ``{"blocks": [...]}``."""

    name = "json"

    def __init__(self, round: int | None = None):
        self.round = round

    def render(self, blocks: list[Block]) -> str:
        return json.dumps({"blocks": [to_data(b) for b in blocks]}, ensure_ascii=False) + "\n"
