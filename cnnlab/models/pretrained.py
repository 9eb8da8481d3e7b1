"""Start a model from a local state dict (torchvision, timm, or a cnnlab checkpoint).

Pretrained ImageNet weights cannot be downloaded here, so cnnlab reads a file the user
has. Parameters are matched by name; the first conv is adapted to the model's channel
count (RGB filters averaged for one channel), the head is dropped (it is trained for the
new classes) and anything else whose shape differs is reported and left as initialised.
Files are read with ``torch.load(..., weights_only=True)``, or as ``.safetensors``: no
code runs. Parameters the file does not provide (e.g. the 3×3 stem a small input puts in
place of ResNet's 7×7 one) are listed as ``fresh``: freezing never freezes them
(:func:`cnnlab.models.finetune.freeze_backbone`), since they were never trained.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnnlab.errors import UsageError
from cnnlab.storage import RECORDED_FILES, RunFolder
from cnnlab.storage.hashes import MAX_RUN_FILE_BYTES, sidecar
from cnnlab.userfiles import check_regular_file, read_bytes, write_atomic
from cnnlab.models.finetune import first_conv_name, head_name

__all__ = ["read_state_dict", "adapt_conv_channels", "load_pretrained", "write_safetensors",
           "IMAGENET_MEAN", "IMAGENET_STD", "imagenet_stats"]

# torchvision's ImageNet statistics (RGB), which its pretrained weights expect
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_stats() -> tuple[list[float], list[float]]:
    """ImageNet's per-channel mean and std of red, green and blue (what pretrained weights
    expect); ``train --normalize imagenet`` uses them for RGB data only.

    >>> imagenet_stats()
    ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    """
    return list(IMAGENET_MEAN), list(IMAGENET_STD)


def write_safetensors(path: str | Path, state: dict[str, torch.Tensor]) -> None:
    """Write a state dict as ``.safetensors`` (atomically: :func:`cnnlab.userfiles.write_atomic`)."""
    from safetensors.torch import save

    write_atomic(path, save({k: v.detach().cpu().contiguous() for k, v in state.items()}),
                 "weights file")


def _read_weights(path: Path) -> bytes:
    """The bytes of a weights file; a file of a cnnlab run folder must match its recorded hash.

    ``train --weights RUN/best.pt`` reads what ``evaluate RUN`` reads: a damaged or altered
    checkpoint is refused the same way (:class:`cnnlab.storage.RunFolder`).
    """
    real = path.resolve()
    folder = RunFolder(real.parent)
    if sidecar(real).exists() or (real.name in RECORDED_FILES and folder.keeps_hashes()):
        return folder.read(real.name)
    return read_bytes(path, "weights file", MAX_RUN_FILE_BYTES)


def _read_safetensors(path: Path, data: bytes) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        return load(data)
    except (SafetensorError, OSError, ValueError) as exc:
        raise UsageError(f"cannot read weights from {path}: not a valid .safetensors file "
                         f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None

# Larger weights overflow float32 activations within a few layers (1e6 ** 7 > 3.4e38);
# trained networks, BatchNorm statistics of 0..255 pixels included, stay far below.
MAX_ABS_WEIGHT = 1e6

_WRAPPERS = ("state_dict", "model", "model_state", "model_state_dict")


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a saved state dict, unwrapped from {"state_dict": ...} and "module."."""
    path = Path(path)
    check_regular_file(path, "weights file")  # missing, or says it is a folder / device / pipe
    data = _read_weights(path)
    if path.suffix == ".safetensors":
        obj: Any = _read_safetensors(path, data)
        if not obj:
            raise UsageError(f"{path} holds no tensors")
        return _checked({k.removeprefix("module."): v for k, v in obj.items()}, path)
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling refused or not a torch file
        raise UsageError(f"cannot read weights from {path}: not a state dict saved with "
                         f"torch.save ({type(exc).__name__})") from None
    for key in _WRAPPERS:
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not obj or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        raise UsageError(f"{path} does not hold a state dict (a mapping of names to tensors)")
    return _checked({k.removeprefix("module."): v for k, v in obj.items()}, path)


def _checked(state: dict[str, torch.Tensor], path: Path) -> dict[str, torch.Tensor]:
    """``state`` when every floating tensor is finite and below ``MAX_ABS_WEIGHT``."""
    for name, tensor in state.items():
        if not tensor.is_floating_point() or tensor.numel() == 0:
            continue
        if not bool(torch.isfinite(tensor).all()):
            raise UsageError(f"weights file {path}: tensor {name} holds NaN or infinite values "
                             f"(a diverged run, or a damaged file); it cannot start a model")
        peak = float(tensor.detach().abs().max())
        if peak > MAX_ABS_WEIGHT:
            raise UsageError(f"weights file {path}: tensor {name} holds a value of magnitude "
                             f"{peak:.3g}, over {MAX_ABS_WEIGHT:g}; no trained network has "
                             f"such weights (its outputs would overflow)")
    return state


def adapt_conv_channels(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """Conv weight (O, C_src, kh, kw) -> (O, in_channels, kh, kw).

    One channel: the mean of the source filters over their channels (a grey image seen
    by averaged RGB filters). Other counts: source channels repeated cyclically, each
    copy divided by the number of copies of its channel, so a uniform image gives the
    same response as through the original filters.

    >>> adapt_conv_channels(torch.ones(2, 3, 1, 1) * torch.tensor([1., 2., 3.])[:, None, None], 1)[:, :, 0, 0]
    tensor([[2.],
            [2.]])
    """
    O, C_src, kh, kw = weight.shape
    if in_channels == 1:
        return weight.mean(dim=1, keepdim=True)  # (O, 1, kh, kw)
    index = torch.arange(in_channels) % C_src
    copies = torch.bincount(index, minlength=C_src).to(weight.dtype)  # (C_src,)
    return weight[:, index] / copies[index].view(1, -1, 1, 1)  # (O, in_channels, kh, kw)


def load_pretrained(model: nn.Module, path: str | Path, *, keep_head: bool = False) -> dict:
    """Copy matching tensors from the state dict at ``path`` into ``model`` (in place).

    Returns a report: ``loaded`` (count), ``adapted`` (first conv reshaped), ``skipped``
    (names whose shapes differ), ``missing`` (model tensors the file lacks), ``head``, and
    ``fresh``: the model's parameters (head aside) left as initialised, which
    ``freeze_backbone`` keeps trainable (recorded on the model as ``cnnlab_fresh``).
    Raises :class:`UsageError` when the file shares no tensor with the model.
    """
    source = read_state_dict(path)
    target = model.state_dict()
    head = head_name(model)
    conv = first_conv_name(model)
    report: dict = {"loaded": 0, "adapted": [], "skipped": [], "missing": [], "head": head, "fresh": []}
    merged = dict(target)
    for name, tensor in target.items():
        if not keep_head and name.startswith(head + "."):
            continue
        if name not in source:
            report["missing"].append(name)
            continue
        src = source[name]
        if src.shape == tensor.shape:
            merged[name] = src.to(tensor.dtype)
        elif (conv is not None and name == conv + ".weight" and src.ndim == 4
              and src.shape[0] == tensor.shape[0] and src.shape[2:] == tensor.shape[2:]):
            merged[name] = adapt_conv_channels(src, tensor.shape[1]).to(tensor.dtype)
            report["adapted"].append(name)
        else:
            report["skipped"].append(name)
            continue
        report["loaded"] += 1
    if report["loaded"] == 0:
        raise UsageError(f"weights in {path} do not match this model: no tensor with the same "
                         f"name and shape (is it a state dict of another architecture?)")
    model.load_state_dict(merged)
    params = {name for name, _ in model.named_parameters()}
    report["fresh"] = [n for n in report["skipped"] + report["missing"] if n in params]
    model.cnnlab_fresh = frozenset(report["fresh"])
    return report
