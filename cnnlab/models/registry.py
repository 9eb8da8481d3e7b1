"""Model registry: every architecture cnnlab can train, by name (contract §4).

Builders are registered with :func:`register` and built with :func:`get_model`, which
adapts the input channels, the input size and the class count to the data. The CLI's
``--model`` choices and the model tests come from :func:`list_models`.

>>> "small-cnn" in list_models()
True
"""

from __future__ import annotations

import inspect

from dataclasses import dataclass
from typing import Any, Callable

from cnnlab.errors import UsageError

__all__ = ["register", "list_models", "get_model", "count_params", "model_description", "model_options"]


@dataclass(frozen=True)
class _Entry:
    build: Callable[..., Any]  # build(in_channels, num_classes, input_size, **cfg) -> nn.Module
    description: str


_REGISTRY: dict[str, _Entry] = {}


def register(name: str, description: str) -> Callable:
    """Decorator that registers ``build(in_channels, num_classes, input_size, **cfg)``."""

    def wrap(build: Callable) -> Callable:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        _REGISTRY[name] = _Entry(build, description)
        return build

    return wrap


# Modules whose builders register themselves on import; listing order: sheet CNNs,
# baselines, backbones (then registration order within a module).
_BUILDER_MODULES = ("cnnlab.models.sheet", "cnnlab.models.baselines", "cnnlab.models.backbones")


def _load_builders() -> None:
    # imported lazily so that `import cnnlab.models.registry` stays cheap
    import importlib

    for module in _BUILDER_MODULES:
        importlib.import_module(module)


def list_models() -> list[str]:
    """Names of all registered models: sheet CNNs, baselines, then backbones."""
    _load_builders()
    rank = {m: i for i, m in enumerate(_BUILDER_MODULES)}
    names = list(_REGISTRY)
    return sorted(names, key=lambda n: (rank.get(_REGISTRY[n].build.__module__, len(rank)),
                                        names.index(n)))


def model_description(name: str) -> str:
    """One line saying what the model is."""
    _load_builders()
    return _entry(name).description


_BUILDER_ARGS = ("in_channels", "num_classes", "input_size")  # given by get_model, not options


def model_options(name: str) -> dict[str, Any]:
    """Options the model's builder takes, with their defaults.

    >>> model_options("small-cnn")["dropout"]
    0.5
    """
    _load_builders()
    build = _entry(name).build
    return {arg: p.default for arg, p in inspect.signature(build).parameters.items()
            if arg not in _BUILDER_ARGS and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _entry(name: str) -> _Entry:
    if name not in _REGISTRY:
        raise UsageError(f"unknown model {name!r}; choose one of: {', '.join(list_models())}")
    return _REGISTRY[name]


def get_model(name: str, in_channels: int = 1, num_classes: int = 10,
              input_size: tuple[int, int] = (28, 28), *, weights: str | None = None,
              **cfg: Any):
    """Build the model ``name`` for inputs (in_channels, H, W) and ``num_classes`` outputs.

    ``weights``: path of a local torchvision/timm-style state dict (or a cnnlab
    checkpoint) to start from; the first conv is adapted to ``in_channels`` and the
    head is dropped (see :func:`cnnlab.models.pretrained.load_pretrained`).
    ``cfg``: model-specific options (e.g. ``hidden=[256, 128]`` for ``mlp``).

    >>> m = get_model("small-cnn", 1, 10, (28, 28))
    >>> count_params(m)
    21840
    """
    _load_builders()
    entry = _entry(name)
    if in_channels < 1 or num_classes < 1:
        raise UsageError(f"{name}: need in_channels >= 1 and num_classes >= 1, "
                         f"got {in_channels} and {num_classes}")
    h, w = (int(s) for s in input_size)
    if h < 1 or w < 1:
        raise UsageError(f"{name}: input size must be positive, got {h}x{w}")
    try:
        model = entry.build(in_channels, num_classes, (h, w), **cfg)
    except TypeError as exc:  # an option the builder does not take
        raise UsageError(f"{name}: bad model option ({exc})") from None
    if weights is not None:
        from cnnlab.models.pretrained import load_pretrained

        load_pretrained(model, weights)
    return model


def count_params(model) -> int:
    """Number of parameters, trainable and frozen: ``sum(p.numel())``."""
    return sum(p.numel() for p in model.parameters())
