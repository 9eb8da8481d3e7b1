"""``setting()``: a config field that also declares its command-line flag.

Each setting of a command is declared once, as a field of its config dataclass
(:class:`cnnlab.train.TrainConfig`, ``CompareConfig``, ``TuneConfig``, ``ExplainConfig``):
type (the annotation), default, help, limits and choices (the field's metadata, a
:class:`FlagSpec`). :mod:`cnnlab.cli.config_flags` turns the fields into argparse flags;
nothing else re-types them (docs/architecture.md, "A new setting of a command").

>>> from dataclasses import dataclass, fields
>>> @dataclass
... class Demo:
...     epochs: int = setting(5, "passes over the data", low=1, high=100)
>>> spec = flag_spec(fields(Demo)[0])
>>> spec.help, spec.low, spec.high
('passes over the data', 1, 100)
"""

from __future__ import annotations

import dataclasses
from dataclasses import MISSING, dataclass
from typing import Any, Callable

__all__ = ["FlagSpec", "setting", "shared", "flag_spec", "METADATA_KEY"]

METADATA_KEY = "cnnlab_flag"  # the key of a field's metadata that holds its FlagSpec


@dataclass(frozen=True)
class FlagSpec:
    """How a config field appears on the command line (``--snake-case`` of its name).

    low, high: bounds the flag checks while it is read, before anything runs (argparse's
    one-line error); ``high`` is a number or a key of ``cnnlab.cli.argtypes.LIMITS``.
    Bounds a config also accepts from a YAML file are checked by its ``validate()``.
    parse: the name of a reader of ``cnnlab.cli.config_flags.PARSERS`` ("threads", ...).
    default_text: how ``--help`` states the default when the value alone does not say it.
    hidden: no flag (set another way, e.g. ``model_cfg`` by ``--model-opt``).
    source: ``Owner.field`` a shared field was declared from (see :func:`shared`).
    """

    help: str
    choices: tuple[str, ...] | None = None
    low: float | None = None
    high: float | str | None = None
    low_open: bool = False
    metavar: str | None = None
    parse: str | None = None
    default_text: str | None = None
    hidden: bool = False
    source: str | None = None


def setting(default: Any = MISSING, help: str = "", *, factory: Callable[[], Any] | Any = MISSING,
            **flag: Any) -> Any:
    """A dataclass field with its flag's help, limits and choices (:class:`FlagSpec`'s fields).

    default: the value (leave out for a required field); factory: for a list or dict.
    """
    return dataclasses.field(default=default, default_factory=factory,
                             metadata={METADATA_KEY: FlagSpec(help, **flag)})


def shared(owner: type, name: str, default: Any = MISSING, **changes: Any) -> Any:
    """A field that is ``owner``'s field ``name`` again: the same help, limits and choices,
    with another default or help where ``changes`` say so. The annotation in the class
    body must be the owner's (tests/test_config_flags.py checks it).

    default: the new default; left out, the owner's.
    """
    original = next(f for f in dataclasses.fields(owner) if f.name == name)
    spec = dataclasses.replace(original.metadata[METADATA_KEY], source=f"{owner.__name__}.{name}", **changes)
    if default is MISSING:
        default, factory = original.default, original.default_factory
    else:
        factory = MISSING
    return dataclasses.field(default=default, default_factory=factory, metadata={METADATA_KEY: spec})


def flag_spec(field: dataclasses.Field) -> FlagSpec | None:
    """The FlagSpec of a config field; None for a field declared without :func:`setting`."""
    return field.metadata.get(METADATA_KEY)
