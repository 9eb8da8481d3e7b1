"""Head and backbone of any registered model, and freezing for transfer learning.

The head is the last ``nn.Linear`` (the layer that outputs the classes); the backbone is
everything else. Feature extraction trains the head only (:func:`freeze_backbone`);
fine-tuning then unfreezes the backbone (:func:`unfreeze`), usually with a lower learning
rate for it (:func:`param_groups`).
"""

from __future__ import annotations

from torch import nn

__all__ = ["head_name", "first_conv_name", "freeze_backbone", "unfreeze", "param_groups",
           "count_trainable"]


def head_name(model: nn.Module) -> str:
    """Qualified name of the classification head: the model's last ``nn.Linear``.

    >>> from cnnlab.models import get_model
    >>> head_name(get_model("resnet18", 3, 10, (32, 32)))
    'fc'
    """
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not names:
        raise ValueError("model has no nn.Linear head")
    return names[-1]


def first_conv_name(model: nn.Module) -> str | None:
    """Qualified name of the first ``nn.Conv2d`` (the one that sees the image), or None."""
    return next((n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)), None)


def _is_head(param_name: str, head: str) -> bool:
    return param_name.startswith(head + ".")


def freeze_backbone(model: nn.Module) -> int:
    """Freeze every parameter but the head's; returns how many parameters stay trainable.

    Parameters that pretrained weights did not provide (``model.cnnlab_fresh``, set by
    :func:`cnnlab.models.pretrained.load_pretrained`, e.g. a small-input stem that replaced
    the pretrained one) stay trainable too: freezing them would freeze random weights.
    """
    head = head_name(model)
    fresh = getattr(model, "cnnlab_fresh", frozenset())
    for name, p in model.named_parameters():
        p.requires_grad_(_is_head(name, head) or name in fresh)
    return count_trainable(model)


def unfreeze(model: nn.Module) -> int:
    """Make every parameter trainable again; returns the trainable count."""
    for p in model.parameters():
        p.requires_grad_(True)
    return count_trainable(model)


def count_trainable(model: nn.Module) -> int:
    """Number of parameters with ``requires_grad``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def param_groups(model: nn.Module, lr: float, backbone_factor: float = 1.0) -> list[dict]:
    """Optimizer groups: the head at ``lr``, the backbone at ``lr * backbone_factor``.

    A single group when the factor is 1 (the usual case).
    """
    if backbone_factor == 1.0:
        return [{"params": list(model.parameters()), "lr": lr}]
    head = head_name(model)
    named = list(model.named_parameters())
    return [{"params": [p for n, p in named if _is_head(n, head)], "lr": lr},
            {"params": [p for n, p in named if not _is_head(n, head)], "lr": lr * backbone_factor}]
