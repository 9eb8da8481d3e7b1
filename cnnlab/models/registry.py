"""Model registry: every architecture cnnlab can train, by name (docs/training.md).

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

__all__ = ["register", "list_models", "get_model", "count_params", "model_description", "model_options",
           "option_help", "is_model"]


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
    if name not in _REGISTRY and is_model(name):
        return {}  # an architecture spec: its options are written in the spec
    build = _entry(name).build
    return {arg: p.default for arg, p in inspect.signature(build).parameters.items()
            if arg not in _BUILDER_ARGS and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _type_name(annotation: Any) -> str:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    if text == "Stem":  # see cnnlab.models.backbones.Stem
        return "one of auto|small|imagenet"
    return text.replace("typing.", "").replace("Sequence[int] | str", "list of int or 'A-B-C'")


def option_help(name: str) -> list[tuple[str, str, Any]]:
    """(option, type, default) of every option of model ``name``, for ``--list-models``.

    >>> option_help("small-cnn")
    [('dropout', 'float', 0.5)]
    """
    _load_builders()
    build = _entry(name).build
    return [(arg, _type_name(p.annotation), p.default)
            for arg, p in inspect.signature(build).parameters.items()
            if arg not in _BUILDER_ARGS and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _options_text(name: str) -> str:
    options = option_help(name)
    if not options:
        return f"{name} takes no options"
    return f"options of {name}: " + ", ".join(f"{o} ({t}, default {d!r})" for o, t, d in options)


_SIMPLE_TYPES = {"float": (int, float), "int": (int,), "str": (str,), "bool": (bool,)}


def _check_options(name: str, cfg: dict[str, Any]) -> None:
    """UsageError (one line listing the valid options) for an unknown or mistyped option."""
    types = {o: t for o, t, _ in option_help(name)}
    for key, value in cfg.items():
        if key not in types:
            raise UsageError(f"{name}: unknown model option {key!r}; {_options_text(name)}")
        if types[key].startswith("one of ") and str(value) not in types[key][7:].split("|"):
            raise UsageError(f"{name}: model option {key} must be {types[key]}, got {value!r}")
        allowed = _SIMPLE_TYPES.get(types[key])
        if allowed and (not isinstance(value, allowed) or (bool not in allowed and isinstance(value, bool))):
            raise UsageError(f"{name}: model option {key} must be {types[key]}, got {value!r}; "
                             f"{_options_text(name)}")


def is_model(name: Any) -> bool:
    """Whether ``name`` is a registered model or an architecture spec (not checked further)."""
    from cnnlab.models.spec_model import is_spec

    _load_builders()
    return (isinstance(name, str) and name in _REGISTRY) or is_spec(name)


def _entry(name: str) -> _Entry:
    if name not in _REGISTRY:
        raise UsageError(f"unknown model {name!r}; choose one of: {', '.join(list_models())}")
    return _REGISTRY[name]


def get_model(name: str, in_channels: int = 1, num_classes: int = 10,
              input_size: tuple[int, int] = (28, 28), *, weights: str | None = None,
              log: Callable[[str], None] | None = None, **cfg: Any):
    """Build the model ``name`` for inputs (in_channels, H, W) and ``num_classes`` outputs.

    ``weights``: path of a local torchvision/timm-style state dict (or a cnnlab
    checkpoint) to start from; the first conv is adapted to ``in_channels`` and the
    head is dropped (see :func:`cnnlab.models.pretrained.load_pretrained`).
    ``cfg``: model-specific options (e.g. ``hidden=[256, 128]`` for ``mlp``).
    ``name`` may also be an architecture spec (see :mod:`cnnlab.models.spec_model`);
    ``log`` receives what was changed to fit it to the data (a final fc added).

    >>> m = get_model("small-cnn", 1, 10, (28, 28))
    >>> count_params(m)
    21840
    """
    _load_builders()
    if not (isinstance(name, str) and name in _REGISTRY):
        from cnnlab.models.spec_model import build_spec_model, is_spec

        if is_spec(name):
            if cfg:
                raise UsageError(f"a spec model takes no model options (got {', '.join(cfg)}); "
                                 f"write them into the spec")
            model = build_spec_model(name, in_channels, num_classes, tuple(input_size), log=log)
            if weights is not None:
                from cnnlab.models.pretrained import load_pretrained

                load_pretrained(model, weights)
            return model
    entry = _entry(name)
    _check_options(name, cfg)
    if in_channels < 1 or num_classes < 1:
        raise UsageError(f"{name}: need in_channels >= 1 and num_classes >= 1, "
                         f"got {in_channels} and {num_classes}")
    h, w = (int(s) for s in input_size)
    if h < 1 or w < 1:
        raise UsageError(f"{name}: input size must be positive, got {h}x{w}")
    model = entry.build(in_channels, num_classes, (h, w), **cfg)
    if weights is not None:
        from cnnlab.models.pretrained import load_pretrained

        load_pretrained(model, weights)
    return model


def count_params(model) -> int:
    """Number of parameters, trainable and frozen: ``sum(p.numel())``."""
    return sum(p.numel() for p in model.parameters())
