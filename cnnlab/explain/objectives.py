"""What activation maximisation and Grad-CAM aim at: class names or indices, layer channels.

``--maximize`` takes ``classes``, ``class:K``, ``LAYER``, ``LAYER:C`` or ``LAYER:C@Y,X``
(several joined by ``+``); ``--target-class`` an index or a class name.

>>> resolve_class("3", ["a", "b", "c", "d"]), resolve_class("b", ["a", "b"])
(3, 1)
"""

from __future__ import annotations

import re
from typing import Callable

from cnnlab.errors import UsageError

__all__ = ["MAX_OBJECTIVES", "resolve_class", "parse_objectives"]

MAX_OBJECTIVES = 16  # images per activation-maximisation picture (classes or channels)


def resolve_class(value: str | int, classes: list[str]) -> int:
    """A class index from an index or a class name; UsageError when out of range or unknown."""
    text = str(value).strip()
    if text in classes and not text.lstrip("-").isdigit():
        return classes.index(text)
    try:
        k = int(text)
    except ValueError:
        raise UsageError(f"unknown class {text!r}; classes: {', '.join(classes)}") from None
    if not 0 <= k < len(classes):
        raise UsageError(f"class {k} is out of range: this model has {len(classes)} classes "
                         f"(0 to {len(classes) - 1})")
    return k



_UNIT = re.compile(r"^(?P<layer>[^:@]+?)(?::(?P<index>-?\d+)(?:@(?P<y>\d+),(?P<x>\d+))?)?$")


def parse_objectives(spec: str, num_classes: int, channels_of: Callable[[str], int],
                     classes: list[str] | None = None) -> list[list]:
    """Groups of objectives from ``classes``, ``class:K``, ``LAYER``, ``LAYER:C`` or ``LAYER:C@Y,X``.

    Several specs are separated by ``+``. ``channels_of(layer)`` gives a layer's channel
    count (and raises UsageError for an unknown layer). Each group shares one layer.
    ``classes``: the class names, so that ``class:K`` takes a name too (as --target-class).
    """
    from cnnlab.explain.maximize import Objective

    groups = []
    for item in (s.strip() for s in spec.split("+")):
        if item == "classes":
            groups.append([Objective(None, k) for k in range(min(num_classes, MAX_OBJECTIVES))])
            continue
        if classes is not None and item.startswith("class:") and "@" not in item:
            groups.append([Objective(None, resolve_class(item[len("class:"):], classes))])
            continue
        match = _UNIT.match(item)
        if not match:
            raise UsageError(f"--maximize {item!r}: write classes, class:K, LAYER, LAYER:C or LAYER:C@Y,X")
        layer, index = match["layer"], match["index"]
        if layer == "class":
            if index is None or match["y"] is not None:
                raise UsageError(f"--maximize {item!r}: write class:K with K a class index")
            groups.append([Objective(None, int(index))])
        elif index is None:
            n = channels_of(layer)
            groups.append([Objective(layer, c) for c in range(min(n, MAX_OBJECTIVES))])
        else:
            unit = (int(match["y"]), int(match["x"])) if match["y"] is not None else None
            groups.append([Objective(layer, int(index), unit)])
    return groups
