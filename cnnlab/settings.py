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

from cnnlab.errors import MAX_BATCH_SIZE, MAX_EPOCHS, MAX_SEED, UsageError

__all__ = ["FlagSpec", "setting", "shared", "flag_spec", "METADATA_KEY", "LIMITS", "IN_RANGE", "AT_LEAST",
           "high_bound", "range_text", "check_bounds"]

METADATA_KEY = "cnnlab_flag"  # the key of a field's metadata that holds its FlagSpec

# The upper bounds of the flags, by name (a FlagSpec's ``high`` may name one); docs/limits.md
# lists them (a test keeps the two in step). cnnlab.cli.argtypes reads them from here.
LIMITS: dict[str, int] = {
    "seed": MAX_SEED,
    "epochs": MAX_EPOCHS,
    "batch_size": MAX_BATCH_SIZE,
    "steps": 10_000,            # explain --what maximize: optimisation steps
    "count": 256,               # explain --count: images / filters shown
    "trials": 1_000,            # kernel invariance --trials
    "repeats": 100,             # kernel cost --repeats
    "crop": 4096,               # kernel invariance --crop (the image side limit)
    "round": 20,                # decimals shown
    "units": 65_536,            # one layer's width in --model-opt (hidden=[...], channels)
    "limit": 10_000_000,        # examples kept by --limit
    "tune_trials": 10_000,      # tune --trials
}

# validate()'s words for a value out of its bounds (FlagSpec.refuse_low / refuse_high):
# str.format keys flag (--lr), name (lr), low, high, range, op (> or >=), value (as given),
# config (the whole config, for a message about two fields)
IN_RANGE = "{flag} must be in {range}, got {value}"
AT_LEAST = "{flag} must be {op} {low}, got {value}"


@dataclass(frozen=True)
class FlagSpec:
    """How a config field appears on the command line (``--snake-case`` of its name).

    low, high: the bounds of the value (inclusive; ``low_open`` / ``high_open`` exclude
    them); ``high`` is a number or a key of :data:`LIMITS`. ``--help`` and docs/cli.md state
    them. A config's ``validate()`` checks them with :func:`check_bounds` (so a ``--config``
    file meets them too), in the words of ``refuse_low`` / ``refuse_high`` (templates, see
    :data:`IN_RANGE`; default: ``--x must be >= 1, got 0`` below, :data:`IN_RANGE` above).
    checked_on_read: the flag also checks them while it is read, before anything runs
    (argparse's one-line error); False leaves them to ``validate()``, which then refuses a
    flag and a ``--config`` file in the same words.
    parse: the name of a reader of ``cnnlab.cli.config_flags.PARSERS`` ("threads", ...).
    default_text: how ``--help`` states the default when the value alone does not say it.
    hidden: no flag (set another way, e.g. ``model_cfg`` by ``--model-opt``).
    doc: its row in docs/cli.md, in Markdown, where that says more than ``help`` (code,
    links); the bounds and default are added as to the help (``cnnlab.cli.flag_tables``).
    source: ``Owner.field`` a shared field was declared from (see :func:`shared`).
    """

    help: str
    choices: tuple[str, ...] | None = None
    low: float | None = None
    high: float | str | None = None
    low_open: bool = False
    high_open: bool = False
    checked_on_read: bool = True
    refuse_low: str = AT_LEAST
    refuse_high: str = IN_RANGE
    metavar: str | None = None
    parse: str | None = None
    default_text: str | None = None
    hidden: bool = False
    source: str | None = None
    doc: str | None = None


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


def high_bound(spec: FlagSpec) -> float | None:
    """``spec.high`` as a number (a key of :data:`LIMITS` looked up); None for no upper bound."""
    return LIMITS[spec.high] if isinstance(spec.high, str) else spec.high


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def range_text(spec: FlagSpec) -> str | None:
    """The bounds as docs and messages write them: ``1..10000`` for whole numbers, ``(0, 10]``
    for other numbers, ``at least 1`` with no upper bound; None without bounds.

    >>> range_text(FlagSpec("", low=0.0, high=1.0, high_open=True)), range_text(FlagSpec("", low=1, high="epochs"))
    ('[0, 1)', '1..10000')
    """
    high = high_bound(spec)
    if spec.low is None:
        return None if high is None else f"{'under' if spec.high_open else 'at most'} {_number(high)}"
    if high is None:
        return f"{'over' if spec.low_open else 'at least'} {_number(spec.low)}"
    if isinstance(spec.low, int) and isinstance(high, int) and not (spec.low_open or spec.high_open):
        return f"{spec.low}..{high}"
    return f"{'(' if spec.low_open else '['}{_number(spec.low)}, {_number(high)}{')' if spec.high_open else ']'}"


def check_bounds(config: Any) -> None:
    """Refuse the first field of ``config`` (a dataclass of :func:`setting` fields) whose value
    (not None) lies outside its FlagSpec's bounds: UsageError in the words of the field's
    ``refuse_low`` (under ``low``) or ``refuse_high`` (over ``high``).

    >>> @dataclass
    ... class Demo:
    ...     epochs: int = setting(5, "passes", low=1, high=100)
    >>> check_bounds(Demo(epochs=0))
    Traceback (most recent call last):
    ...
    cnnlab.errors.UsageError: --epochs must be >= 1, got 0
    """
    for field in dataclasses.fields(config):
        spec = flag_spec(field)
        value = getattr(config, field.name)
        if spec is None or value is None or (spec.low is None and spec.high is None):
            continue
        high = high_bound(spec)
        # written so that nan is out of every range
        under = spec.low is not None and not (value > spec.low if spec.low_open else value >= spec.low)
        over = high is not None and not (value < high if spec.high_open else value <= high)
        if under or over:
            words = dict(flag="--" + field.name.replace("_", "-"), name=field.name, value=value, config=config,
                         range=range_text(spec), op=">" if spec.low_open else ">=",
                         low=None if spec.low is None else _number(spec.low),
                         high=None if high is None else _number(high))
            raise UsageError((spec.refuse_low if under else spec.refuse_high).format(**words))
