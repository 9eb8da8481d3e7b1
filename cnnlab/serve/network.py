"""What the /network page shows: a whole trained network for one input, and one unit worked out.

The input is one of the run's test images (``index``) or a drawn/uploaded picture
(``image``, prepared as /explore prepares it). :func:`network_view` records one forward
pass (:func:`cnnlab.explain.network_record.record_network`) and sends every layer that
changes its input as a column of maps, all on one symmetric scale ``[-scale, scale]``;
:func:`network_unit` works out one unit (:func:`cnnlab.explain.units.unit_arithmetic`).
A forward pass of a small network takes milliseconds, so nothing is kept between calls
except the run's test split (docs/serve.md, "/network").
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from cnnlab.errors import UsageError
from cnnlab.serve.runs import ServedRun

__all__ = ["network_view", "network_unit", "MAX_NET_MAPS", "test_image"]

MAX_NET_MAPS = 16  # channels of a layer sent to the page (the rest are counted)
MAX_MAP_SIDE = 64  # larger maps are sent as their top-left 64×64 corner
MAX_VALUES = 1_000_000  # values in one view (about 7 MB of JSON): a deep network gets fewer channels a layer
_FIELDS = {"run", "index", "image"}
_UNIT_FIELDS = _FIELDS | {"layer", "channel", "row", "col"}

_splits: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
_splits_lock = threading.Lock()


def _round(a: np.ndarray, digits: int = 4) -> list:
    return np.round(np.asarray(a, dtype=np.float64), digits).tolist()


def _test_split(served: ServedRun) -> tuple[np.ndarray, np.ndarray]:
    """x: (N, C, H, W) in [0, 1] and y: (N,) of the run's test split, read once per run."""
    key = str(served.path)
    with _splits_lock:
        if key in _splits:
            return _splits[key]
    from cnnlab.train.config import TrainConfig
    from cnnlab.train.loop import load_config_dataset
    from cnnlab.storage import RunFolder

    config = TrainConfig.from_dict(RunFolder(Path(served.path)).read_config(), validate=False)
    x, y = load_config_dataset(config).split("test")
    if tuple(x.shape[1:]) != served.shape:
        raise UsageError(f"the run's data now has images of shape {tuple(x.shape[1:])}, "
                         f"the model takes {served.shape}")
    with _splits_lock:
        _splits[key] = (x, y)
        while len(_splits) > 2:
            _splits.popitem(last=False)
    return x, y


def test_image(served: ServedRun, index: Any) -> tuple[np.ndarray, int]:
    """Test image ``index`` (C, H, W) in [0, 1] and its label."""
    if isinstance(index, bool) or not isinstance(index, (int, str)) or not str(index).strip().isdigit():
        raise UsageError(f"index: give a whole number from 0, not {index!r}")
    x, y = _test_split(served)
    i = int(index)
    if not 0 <= i < len(x):
        raise UsageError(f"index {i} is out of range: the test split has {len(x)} images (0 to {len(x) - 1})")
    return x[i], int(y[i])


def _check_body(body: Any, fields: set[str]) -> dict:
    if not isinstance(body, dict):
        raise UsageError("the request body must be a JSON object")
    unknown = set(body) - fields
    if unknown:
        raise UsageError(f"unknown field {sorted(unknown)[0]!r}; fields: {', '.join(sorted(fields))}")
    if "image" in body and "index" in body:
        raise UsageError("give either index (a test image) or image (a picture), not both")
    return body


def _input(served: ServedRun, body: dict) -> tuple[np.ndarray, dict]:
    """The picture (C, H, W) in [0, 1] the body names, and what it is."""
    if "image" in body:
        from cnnlab.serve.explore import load_drawing

        return load_drawing(served, body["image"]), {"kind": "picture"}
    index = body.get("index", 0)
    x, label = test_image(served, index)
    return x, {"kind": "test", "index": int(index), "label": label,
               "label_name": str(served.meta["classes"][label])}


def _record(served: ServedRun, x: np.ndarray):
    import torch

    from cnnlab.explain.network_record import record_network
    from cnnlab.train.metrics import to_normalised_tensor

    xt = to_normalised_tensor(x[None], served.meta["mean"], served.meta["std"])  # (1, C, H, W)
    with served.lock, torch.no_grad():
        return record_network(served.model, xt)


def _channels_per_layer(outputs: list[np.ndarray]) -> int:
    """How many channels of each (K, h, w) map to send so that a view stays under MAX_VALUES."""
    per_channel = sum(min(a.shape[1], MAX_MAP_SIDE) * min(a.shape[2], MAX_MAP_SIDE) for a in outputs if a.ndim == 3)
    return max(1, min(MAX_NET_MAPS, MAX_VALUES // max(per_channel, 1)))


def _column(name: str, kind: str, a: np.ndarray, channels: int = MAX_NET_MAPS) -> dict:
    """One column: (K, h, w) maps (the first ``channels``) or a (F,) vector."""
    col: dict[str, Any] = {"layer": name, "type": kind, "shape": list(a.shape),
                           "min": float(a.min()), "max": float(a.max())}
    if a.ndim == 1:
        col["vector"] = _round(a)
    else:
        col["channels"] = int(a.shape[0])
        col["maps"] = _round(a[:channels, :MAX_MAP_SIDE, :MAX_MAP_SIDE])
    return col


def network_view(served: ServedRun, body: Any) -> dict:
    """Every column of the network for one input, the logits and the probabilities.

    Body: ``index`` (a test image, default 0) or ``image`` (data URL). Answer: ``input``
    (what it is), ``columns`` (``layer`` (the module path), ``name`` (``conv1 (features.0)``, as
    ``cnnlab explain`` names it), ``type``, ``shape``, ``maps`` (K, h, w) or
    ``vector`` (F,), ``min``, ``max``), ``scale`` (the largest |value| shown: every map is
    shaded on [-scale, scale]), ``logits``, ``probabilities``, ``classes``, ``predicted``.
    """
    from cnnlab.explain.network_record import INPUT, shown_layers

    body = _check_body(body, _FIELDS)
    x, source = _input(served, body)
    rec = _record(served, x)
    names = shown_layers(rec)
    channels = _channels_per_layer([rec.image] + [rec.outputs[n] for n in names])
    columns = [_column(INPUT, "input (normalised)", rec.image, channels)]
    columns += [_column(n, type(rec.modules[n]).__name__, rec.outputs[n], channels) for n in names]
    from cnnlab.explain.feature_maps import display_name

    for col in columns[1:]:  # as `cnnlab explain` names layers: conv1 (features.0)
        col["name"] = display_name(served.model, col["layer"])
    shown = [np.abs(np.asarray(c["maps"] if "maps" in c else c["vector"])).max() for c in columns]
    logits = rec.logits  # (classes,)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    classes = [str(c) for c in served.meta["classes"]]
    return {"input": source, "picture": _round(x, 4), "columns": columns, "scale": float(max(shown) or 1.0),
            "logits": _round(logits, 5), "probabilities": [float(v) for v in p], "classes": classes,
            "predicted": int(p.argmax()), "max_maps": channels}


def _int_field(body: dict, name: str) -> int:
    value = body.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{name}: give a whole number from 0, not {value!r}")
    return value


def network_unit(served: ServedRun, body: Any) -> dict:
    """One unit's arithmetic. Body: the input as for :func:`network_view`, plus ``layer``,
    ``channel``, ``row``, ``col`` (0-based; a vector's unit f is channel f, row 0, col 0)."""
    from cnnlab.explain.network_record import INPUT
    from cnnlab.explain.units import unit_arithmetic

    body = _check_body(body, _UNIT_FIELDS)
    layer = body.get("layer")
    if not isinstance(layer, str) or not layer:
        raise UsageError("layer: name the layer whose unit to work out (as /api/network/view names it)")
    channel, row, col = (_int_field(body, k) for k in ("channel", "row", "col"))
    x, _ = _input(served, body)
    rec = _record(served, x)
    if layer == INPUT:
        return _input_unit(served, x, rec.image, channel, row, col)
    return unit_arithmetic(rec, layer, channel, row, col)


def _input_unit(served: ServedRun, x: np.ndarray, image: np.ndarray, c: int, i: int, j: int) -> dict:
    """A pixel of the input: its value in [0, 1] normalised with the run's mean and std.

    x: (C, H, W) in [0, 1]; image: (C, H, W) as the model received it (normalised).
    """
    from cnnlab.explain.units import unit_index
    from cnnlab.train.metrics import safe_std

    unit_index(image.shape, c, i, j)
    mean = float(served.meta["mean"][c])
    std = float(safe_std(np.asarray(served.meta["std"], dtype=np.float32))[c])
    return {"layer": "input", "type": "input", "kind": "input", "channel": c, "row": i, "col": j,
            "source": None, "pixel": float(x[c, i, j]), "mean": mean, "std": std,
            "value": (float(np.float32(x[c, i, j])) - mean) / std, "forward": float(image[c, i, j])}
