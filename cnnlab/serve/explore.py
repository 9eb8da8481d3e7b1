"""What the /explore page shows of a trained run, computed by :mod:`cnnlab.explain`.

The image a user draws or uploads arrives as PNG/JPEG bytes. It goes through
:func:`cnnlab.explain.load_image`, the same conversion as ``cnnlab explain --image``
(grey or RGB as the model takes, pixels scaled to [0, 1], resized to the training size),
then is normalised with the run's own mean and std, as in training. Every array in the
answers is channel-first nested lists, rounded to keep the JSON small.
"""

from __future__ import annotations

import base64
import binascii
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from cnnlab.errors import UsageError
from cnnlab.serve.admission import check_picture
from cnnlab.serve.runs import ServedRun
from cnnlab.storage import RunFolder

__all__ = ["run_info", "predict", "decode_image", "load_drawing", "uses_mnist_recipe", "MAX_MAPS"]

MAX_MAPS = 32  # channels of a layer whose feature maps are sent
_MAGIC = {b"\x89PNG\r\n\x1a\n": ".png", b"\xff\xd8\xff": ".jpg"}


def _round(a: np.ndarray, digits: int = 4) -> list:
    return np.round(np.asarray(a, dtype=np.float64), digits).tolist()


def _rf_rows(served: ServedRun) -> dict[str, dict]:
    """Receptive field, jump and start of every named layer (cnnlab arch on the module)."""
    from cnnlab.arch import analyze

    try:
        table = analyze(served.model, served.shape)
    except UsageError:
        return {}
    return {row["name"]: {k: row.get(k) for k in ("receptive_field", "jump", "start", "output_shape")}
            for row in table["layers"] if row.get("name")}


def _test_accuracy(path: Path) -> float | None:
    try:  # hash checked, a pipe or a link out of the run never read (docs/runs.md)
        return RunFolder(path).read_json("summary.json").get("test_accuracy")
    except UsageError:
        return None


def run_info(served: ServedRun, name: str) -> dict:
    """The run's facts, conv layers (with receptive-field geometry) and first-layer filters."""
    from cnnlab.explain import conv_layer_names, default_cam_layer
    from cnnlab.explain.feature_maps import layer_table
    from cnnlab.explain.filters import describe_filters, filter_weights, normalise_filters

    meta = served.meta
    with served.lock:
        convs = conv_layer_names(served.model)
        shapes = {row["name"]: row["shape"] for row in layer_table(served.model, served.shape)}
        rf = _rf_rows(served)
        info: dict[str, Any] = {
            "run": name, "model": meta.get("model"), "data": meta.get("data"),
            "classes": [str(c) for c in meta["classes"]], "input": list(served.shape),
            "mean": [float(v) for v in meta["mean"]], "std": [float(v) for v in meta["std"]],
            "test_accuracy": _test_accuracy(served.path), "params": meta.get("params"),
            "layers": [{"name": n, "shape": shapes.get(n), **rf.get(n, {})} for n in convs],
            "cam_layer": default_cam_layer(served.model) if convs else None, "filters": None}
        if convs:
            layer, w = filter_weights(served.model)  # (N, C, kh, kw)
            info["filters"] = {"layer": layer, "shape": list(w.shape),
                               "weights": _round(w, 5), "normalised": _round(normalise_filters(w), 3),
                               "best_probe": [r["best_probe"] for r in describe_filters(w)]}
    return info


def decode_image(data: Any) -> tuple[bytes, str]:
    """PNG or JPEG bytes (and their suffix) from base64 text or a ``data:`` URL."""
    if not isinstance(data, str) or not data:
        raise UsageError("image: give the picture as a data URL or base64 text (PNG or JPEG)")
    if data.startswith("data:"):
        _, _, data = data.partition(",")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise UsageError("image: not valid base64") from None
    for magic, suffix in _MAGIC.items():
        if raw.startswith(magic):
            return raw, suffix
    raise UsageError("image: only PNG and JPEG pictures are read")


def _load_input(served: ServedRun, data: Any) -> np.ndarray:
    """The picture as the model's input in [0, 1], (C, H, W), exactly as ``cnnlab explain --image``."""
    from cnnlab.explain import load_image

    from cnnlab.data.images import CorruptFile, probe

    raw, suffix = decode_image(data)
    C, H, W = served.shape
    with tempfile.TemporaryDirectory(prefix="cnnlab-serve-") as tmp:
        path = Path(tmp) / f"drawing{suffix}"
        path.write_bytes(raw)
        try:
            _, H0, W0 = probe(path).shape  # from the header: nothing decoded yet
            check_picture(H0, W0)
            return load_image(path, C, (H, W))
        except (UsageError, CorruptFile) as exc:  # name the upload, never the server's temporary file
            text = str(exc) if isinstance(exc, UsageError) else f"the picture cannot be read: {exc}"
            text = text.replace(f"--image {path}", "the picture").replace(str(path), "the picture")
            raise UsageError(text.replace(tmp, "<upload>")) from None


def _check_finite(answer: dict, name: str) -> None:
    """Refuse an answer with NaN/inf (a run with huge weights): a 400 naming the run."""
    parts = [answer["probabilities"], *(m["maps"] for m in answer["maps"]), *(m["min"] for m in answer["maps"]),
             *(m["max"] for m in answer["maps"])]
    if answer["gradcam"] is not None:
        parts += [answer["gradcam"]["heat"], answer["gradcam"]["raw_max"]]
    if not all(np.isfinite(np.asarray(p, dtype=np.float64)).all() for p in parts):
        raise UsageError(f"run {name!r}: the model's output for this picture is not finite (NaN or "
                         "infinity); its weights overflow float32 - retrain it or check the checkpoint")


def uses_mnist_recipe(served: ServedRun) -> bool:
    """Whether drawings for this run go through MNIST's preparation (an MNIST run of 1×28×28)."""
    from cnnlab.data.digit_preprocess import MNIST_FAMILY

    return str(served.meta.get("data")) in MNIST_FAMILY and served.shape == (1, 28, 28)


def _grey_picture(data: Any) -> np.ndarray:
    """The picture at its own size as grey (H, W) in [0, 1]."""
    import io

    from PIL import Image, UnidentifiedImageError

    raw, _ = decode_image(data)
    try:
        with Image.open(io.BytesIO(raw)) as img:
            check_picture(img.height, img.width)  # from the header: nothing decoded yet
            return np.asarray(img.convert("L"), dtype=np.float64) / 255.0
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UsageError(f"image: the picture cannot be read ({type(exc).__name__})") from None


def load_drawing(served: ServedRun, data: Any) -> np.ndarray:
    """A drawn or uploaded picture as the model's input (C, H, W) in [0, 1] (also for /network).

    For an MNIST run the picture is prepared as MNIST's digits were
    (:func:`cnnlab.data.digit_preprocess.mnist_recipe`); otherwise as ``cnnlab explain --image``.
    """
    if not uses_mnist_recipe(served):
        return _load_input(served, data)
    from cnnlab.data.digit_preprocess import ink_on_dark, mnist_recipe

    return mnist_recipe(ink_on_dark(_grey_picture(data)))[None].astype(np.float32)  # (1, 28, 28)


def predict(served: ServedRun, body: dict) -> dict:
    """Probabilities, every conv layer's feature maps and Grad-CAM for one picture.

    Body: ``image`` (data URL or base64 of a PNG/JPEG), optional ``target`` (class index
    for Grad-CAM; default the predicted class) and ``layer`` (the conv layer Grad-CAM
    looks at; default the last). ``prepared`` says how the picture was prepared
    (``"mnist"``: MNIST's recipe, else ``"resize"``). Maps: ``{"layer", "shape", "channels",
    "maps": (min(K, 32), h, w), "min", "max"}`` per conv layer, before its activation.
    """
    import torch

    from cnnlab.explain import conv_layer_names, default_cam_layer, feature_maps, grad_cam
    from cnnlab.explain.gradcam import normalise_cam, upsample_cam
    from cnnlab.explain.run import resolve_class
    from cnnlab.train.metrics import to_normalised_tensor

    if not isinstance(body, dict):
        raise UsageError("the request body must be a JSON object")
    unknown = set(body) - {"run", "image", "target", "layer"}
    if unknown:
        raise UsageError(f"unknown field {sorted(unknown)[0]!r}; fields: image, layer, run, target")
    x = load_drawing(served, body.get("image"))  # (C, H, W)
    classes = [str(c) for c in served.meta["classes"]]
    target = body.get("target")
    target = None if target is None else resolve_class(target, classes)
    xt = to_normalised_tensor(x[None], served.meta["mean"], served.meta["std"])  # (1, C, H, W)
    from cnnlab.arch.torch_analyze import TRACE_LOCK

    # TRACE_LOCK: a forward pass while another thread traces with torch.fx would run through
    # the tracer's patched nn.Module.__call__ (issue 23)
    with served.lock, TRACE_LOCK, torch.no_grad():
        names = conv_layer_names(served.model)
        logits = served.model(xt)  # (1, classes)
        prob = torch.softmax(logits, dim=1)[0]
        maps = feature_maps(served.model, xt, names) if names else {}
        cam = None
        if names:
            layer = body.get("layer") or default_cam_layer(served.model)
            if layer not in names:
                raise UsageError(f"layer: Grad-CAM looks at a convolution layer; choose one of {', '.join(names)}")
            result = grad_cam(served.model, xt, layer, target)
            heat = normalise_cam(upsample_cam(result.cam, served.shape[1:]))[0]  # (H, W)
            cam = {"layer": layer, "target": int(result.target[0]), "heat": _round(heat.numpy(), 3),
                   "raw_max": float(result.cam.max())}
    layers = []
    for name in names:
        a = maps[name][0].numpy()  # (K, h, w)
        layers.append({"layer": name, "shape": list(a.shape), "channels": int(a.shape[0]),
                       "maps": _round(a[:MAX_MAPS], 3), "min": float(a.min()), "max": float(a.max())})
    predicted = int(prob.argmax())
    answer = {"input": _round(x, 4), "probabilities": [float(p) for p in prob],
              "predicted": predicted, "label": classes[predicted], "maps": layers, "gradcam": cam,
              "prepared": "mnist" if uses_mnist_recipe(served) else "resize"}
    _check_finite(answer, body.get("run") or served.path.name)
    return answer
