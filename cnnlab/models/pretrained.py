"""Start a model from a local state dict (torchvision, timm, or a cnnlab checkpoint).

Pretrained ImageNet weights cannot be downloaded here, so cnnlab reads a file the user
has. Parameters are matched by name; the first conv is adapted to the model's channel
count (RGB filters averaged for one channel), the head is dropped (it is trained for the
new classes) and anything else whose shape differs is reported and left as initialised.
Files are read with ``torch.load(..., weights_only=True)``: no code runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnnlab.errors import UsageError
from cnnlab.userfiles import check_regular_file
from cnnlab.models.finetune import first_conv_name, head_name

__all__ = ["read_state_dict", "adapt_conv_channels", "load_pretrained"]

_WRAPPERS = ("state_dict", "model", "model_state", "model_state_dict")


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a saved state dict, unwrapped from {"state_dict": ...} and "module."."""
    path = Path(path)
    check_regular_file(path, "weights file")  # missing, or says it is a folder / device / pipe
    try:
        obj: Any = torch.load(path, map_location="cpu", weights_only=True)
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
    return {k.removeprefix("module."): v for k, v in obj.items()}


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
    (names whose shapes differ), ``missing`` (model tensors the file lacks), ``head``.
    Raises :class:`UsageError` when the file shares no tensor with the model.
    """
    source = read_state_dict(path)
    target = model.state_dict()
    head = head_name(model)
    conv = first_conv_name(model)
    report: dict = {"loaded": 0, "adapted": [], "skipped": [], "missing": [], "head": head}
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
    return report
