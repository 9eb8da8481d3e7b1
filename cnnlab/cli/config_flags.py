"""The flags of a command, generated from its config dataclass's fields.

Each field declared with :func:`cnnlab.settings.setting` becomes ``--snake-case`` of its
name: the type from the annotation (``int``, ``float``, ``str``, ``bool`` as a switch,
``bool | None`` as ``--x/--no-x``, ``list[str]`` as one comma-separated value,
``X | None`` as X), its choices, its bounds through :mod:`cnnlab.cli.argtypes`'s
checkers (unless the config's ``validate()`` alone checks them), and its help with the
bounds ("in 1..10000") and "(default X)" written from the field's metadata.

Parser defaults stay ``None``: a flag not given leaves the field to the ``--config`` file,
the recipe or the dataclass (flags override). :func:`config_values` collects the flags given.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, Iterable

from cnnlab.cli import argtypes as at
from cnnlab.settings import FlagSpec, flag_spec, range_text

__all__ = ["add_config_flags", "config_values", "flag_fields", "flag_name", "PARSERS", "default_text"]

# readers a field names by FlagSpec.parse (the config layer cannot import the CLI's)
PARSERS: dict[str, Any] = {
    "threads": at.threads,
    "positive_int": at.positive_int,
    "positive_float": at.positive_float,
    "cap": at.cap_or_all,  # None (no cap) for 0 / all / none: the field's default must be None too
}


def flag_name(name: str) -> str:
    """``--batch-size`` for the field ``batch_size``.

    >>> flag_name("batch_size")
    '--batch-size'
    """
    return "--" + name.replace("_", "-")


def flag_fields(config: type) -> list[tuple[dataclasses.Field, FlagSpec, Any]]:
    """(field, its FlagSpec, its resolved annotation) of every field of ``config`` that has a flag."""
    hints = typing.get_type_hints(config)
    rows = []
    for field in dataclasses.fields(config):
        spec = flag_spec(field)
        if spec is not None and not spec.hidden:
            rows.append((field, spec, hints[field.name]))
    return rows


def _base_type(hint: Any) -> Any:
    """``int`` for ``int | None``; the origin (``list``) of ``list[str]``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = args[0]
    return typing.get_origin(hint) or hint


def _optional(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint)


def _field_default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None


def default_text(field: dataclasses.Field, spec: FlagSpec, default: Any = dataclasses.MISSING) -> str | None:
    """The default as ``--help`` states it; None where there is nothing to state (no default,
    None, an empty list, a switch that is off).

    >>> from cnnlab.train.config import TrainConfig
    >>> f = {f.name: f for f in dataclasses.fields(TrainConfig)}
    >>> default_text(f["lr"], flag_spec(f["lr"])), default_text(f["optimizer"], flag_spec(f["optimizer"]))
    ('0.001', 'adam')
    """
    if spec.default_text is not None:
        return spec.default_text
    value = _field_default(field) if default is dataclasses.MISSING else default
    if value is None or value is False or value == [] or value == {}:
        return None
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def _help(text: str, shown: str | None, bounds: str | None = None) -> str:
    """``text``, then ", in BOUNDS", then " (default X)" unless the text states its default."""
    if bounds is not None:
        text = f"{text}, in {bounds}" if bounds[0].isdigit() or bounds[0] in "[(" else f"{text}, {bounds}"
    if shown is None or "(default" in text:
        return text
    return f"{text} (default {shown})"


def _read_checked(spec: FlagSpec) -> bool:
    """Whether the flag checks the field's bounds as it is read (argparse's message)."""
    return spec.low is not None and spec.checked_on_read


def _kwargs(spec: FlagSpec, hint: Any, default: Any) -> dict[str, Any]:
    """argparse's keywords for one field (its help aside)."""
    kind = _base_type(hint)
    if kind is bool:
        return {"action": argparse.BooleanOptionalAction if _optional(hint) else "store_true", "default": default}
    # N / X name a number in --help and docs/cli.md where the field names nothing else
    metavar = spec.metavar or (None if spec.choices else {int: "N", float: "X"}.get(kind))
    kwargs: dict[str, Any] = {"default": default, "metavar": metavar}
    if spec.choices is not None:
        kwargs["choices"] = spec.choices
    if spec.parse is not None:
        kwargs["type"] = PARSERS[spec.parse]
    elif kind is int:
        kwargs["type"] = at.bounded_int(int(spec.low), spec.high) if _read_checked(spec) else int
    elif kind is float:
        kwargs["type"] = (at.bounded_float(spec.low, spec.high, spec.low_open, spec.high_open)
                          if _read_checked(spec) else float)
    # str, str | dict and list[str] (one comma-separated value) are read as the text given
    return kwargs


def add_config_flags(parser: argparse.ArgumentParser, config: type, *, only: Iterable[str] | None = None,
                     defaults: dict[str, Any] | None = None,
                     custom: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """Add a flag to ``parser`` for every field of ``config`` that has one; returns their field names.

    only: the fields to add (default: all that have a flag).
    defaults: parser defaults (and the defaults ``--help`` states) that differ from the
    field's; every other flag defaults to None so that it overrides only when given.
    custom: argparse keywords that replace the generated ones, by field name (an
    ``action="append"``, a reader of the command's own, a help text of the command's own:
    "(default X)" is still added to it).

    >>> from cnnlab.train.config import TrainConfig
    >>> p = argparse.ArgumentParser()
    >>> add_config_flags(p, TrainConfig, only=["epochs", "optimizer"])
    ['epochs', 'optimizer']
    >>> p.parse_args(["--epochs", "2"])
    Namespace(epochs=2, optimizer=None)
    """
    wanted = None if only is None else set(only)
    defaults, custom = defaults or {}, custom or {}
    added = []
    for field, spec, hint in flag_fields(config):
        if wanted is not None and field.name not in wanted:
            continue
        default = defaults.get(field.name)
        kwargs = {**_kwargs(spec, hint, default), **custom.get(field.name, {})}
        shown = default_text(field, spec, defaults[field.name]) if field.name in defaults else \
            default_text(field, spec)
        text = kwargs.get("help", spec.help)
        kwargs["help"] = _help(text, shown, range_text(spec)) if isinstance(text, str) else text  # or a help object
        if kwargs.get("metavar") is None:
            kwargs.pop("metavar", None)
        parser.add_argument(flag_name(field.name), **kwargs)
        added.append(field.name)
    return added


def config_values(config: type, args: argparse.Namespace) -> dict[str, Any]:
    """The fields of ``config`` whose flags were given (not None) in ``args``, as read (a
    ``list[str]`` field as its comma-separated text: the config's reader splits it).

    >>> from cnnlab.train.config import TrainConfig
    >>> config_values(TrainConfig, argparse.Namespace(epochs=2, lr=None, augment="hflip,shift:2"))
    {'epochs': 2, 'augment': 'hflip,shift:2'}
    """
    return {field.name: getattr(args, field.name) for field, _spec, _hint in flag_fields(config)
            if getattr(args, field.name, None) is not None}
