"""The search space of a study: which settings vary, over what, and how a trial draws them.

A space maps a parameter name to a :class:`Param`. A name is a tunable TrainConfig field
(``lr``, ``optimizer``, ``batch_size``, ...) or an option of the model's builder
(``dropout``, ``hidden``, ...). Written in YAML (read with ``yaml.safe_load``)::

    lr: {type: float, low: 1.0e-4, high: 1.0e-1, log: true}
    optimizer: {type: categorical, choices: [sgd, adam]}
    batch_size: {type: int, low: 32, high: 128, step: 32}
    dropout: {type: float, low: 0.0, high: 0.5}
    schedule: cosine            # a plain value: fixed for every trial

Every bound and choice is checked with the same rules as ``cnnlab train`` before a
trial runs, so a bad space fails at once with the parameter named.

>>> space = parse_space({"lr": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True}}, "mlp")
>>> space["lr"].describe()
'float in [0.001, 0.1], log scale'
>>> grid_values(space["lr"])
[0.001, 0.01, 0.1]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from cnnlab.errors import UsageError
from cnnlab.train.config import OPTIMIZERS
from cnnlab.userfiles import read_text_file

__all__ = ["Param", "TUNABLE_FIELDS", "PARAM_TYPES", "GRID_POINTS", "parse_space", "load_space",
           "default_space", "model_options", "suggest", "grid_values", "split_params", "space_to_dict"]

# TrainConfig fields a study may vary; the rest (data, model, epochs, seed, out, ...) are
# set once for the whole study by the tune command's flags.
TUNABLE_FIELDS = ("lr", "optimizer", "batch_size", "weight_decay", "momentum", "schedule",
                  "step_size", "gamma", "patience", "augment", "loss", "freeze",
                  "unfreeze_after", "backbone_lr_factor")
PARAM_TYPES = ("float", "int", "categorical", "fixed")
GRID_POINTS = 3  # values a continuous range contributes under --sampler grid (ends + middle)
_KEYS = {"float": {"type", "low", "high", "log", "step"}, "int": {"type", "low", "high", "log", "step"},
         "categorical": {"type", "choices"}, "fixed": {"type", "value"}}
_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Param:
    """One parameter: a float or int range, a list of choices, or a fixed value."""

    name: str
    type: str  # float | int | categorical | fixed
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False  # sample uniformly in log(value)
    step: float | int | None = None  # grid spacing of a range (None: continuous float)
    choices: tuple = field(default_factory=tuple)  # categorical choices, or (value,) when fixed

    def describe(self) -> str:
        """One line: ``float in [0.0001, 0.1], log scale``, ``one of sgd, adam``, ``fixed 3``."""
        if self.type == "categorical":
            return "one of " + ", ".join(map(str, self.choices))
        if self.type == "fixed":
            return f"fixed {self.choices[0]}"
        text = f"{self.type} in [{self.low:g}, {self.high:g}]"
        if self.step is not None and not (self.type == "int" and self.step == 1):
            text += f" step {self.step:g}"
        return text + (", log scale" if self.log else "")


def model_options(model: str) -> dict[str, Any]:
    """Options the model's builder takes, with their defaults (``{"dropout": 0.5}``)."""
    from cnnlab.models import model_options as registry_options

    return registry_options(model)


def default_space(model: str) -> dict[str, Param]:
    """A sensible first study: lr (log), optimizer, batch size, weight decay, schedule, dropout
    (SGD's momentum fixed at 0.9).

    ``dropout`` joins only when the model takes it (small-cnn, mlp, cnn3-dropout, cnn6-bn).
    """
    space = {
        "lr": Param("lr", "float", 1e-4, 1e-1, log=True),
        "optimizer": Param("optimizer", "categorical", choices=OPTIMIZERS),
        "batch_size": Param("batch_size", "categorical", choices=(32, 64, 128)),
        "weight_decay": Param("weight_decay", "float", 1e-6, 1e-2, log=True),
        "schedule": Param("schedule", "categorical", choices=("none", "cosine", "onecycle")),
        # SGD trials keep the heavy-ball momentum this space was chosen with (train's
        # --momentum defaults to 0, as torch.optim.SGD); Adam and AdamW ignore it
        "momentum": Param("momentum", "fixed", choices=(0.9,)),
    }
    if "dropout" in model_options(model):
        space["dropout"] = Param("dropout", "float", 0.0, 0.5)
    return space


def load_space(path: str | Path, model: str) -> dict[str, Param]:
    """Read and check a YAML space file (see the module docstring for the format)."""
    import yaml

    path = Path(path)
    try:  # a regular file of at most 1 MB: a pipe or a device is refused, not waited on
        values = yaml.safe_load(read_text_file(path, "space file"))
    except yaml.YAMLError as exc:
        raise UsageError(f"space file {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    return parse_space(values, model, where=f"space file {path}")


def parse_space(values: Any, model: str, where: str = "space") -> dict[str, Param]:
    """Check a mapping ``name -> spec`` and return ``name -> Param`` (same order).

    A spec is a mapping with ``type`` (float | int | categorical | fixed) and its keys,
    or a plain value (fixed for every trial). UsageError names the bad parameter.
    """
    if not isinstance(values, dict) or not values:
        raise UsageError(f"{where} must be a mapping of parameter names to specs, e.g. "
                         f"lr: {{type: float, low: 1.0e-4, high: 0.1, log: true}}")
    options = model_options(model)
    space: dict[str, Param] = {}
    for name, spec in values.items():
        name = str(name)
        if name not in TUNABLE_FIELDS and name not in options:
            raise UsageError(f"{where}: unknown parameter {name!r}; tunable: "
                             f"{', '.join(TUNABLE_FIELDS)}; options of {model}: "
                             f"{', '.join(options) or '(none)'}")
        param = _parse_param(name, spec, f"{where}: parameter {name}")
        _check_values(param, model, f"{where}: parameter {name}")
        space[name] = param
    if not any(p.type != "fixed" for p in space.values()):
        raise UsageError(f"{where}: every parameter is fixed; give at least one a range or choices")
    return space


def _number(value: Any, kind: str, what: str) -> float | int:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "int":
        ok = ok and float(value).is_integer()
    if not ok or not math.isfinite(value):
        raise UsageError(f"{what} must be {'an integer' if kind == 'int' else 'a number'}, got {value!r}")
    return int(value) if kind == "int" else float(value)


def _parse_param(name: str, spec: Any, where: str) -> Param:
    if not isinstance(spec, dict):
        if isinstance(spec, list):
            raise UsageError(f"{where}: a list needs {{type: categorical, choices: [...]}}")
        if not isinstance(spec, _SCALARS):
            raise UsageError(f"{where}: expected a spec mapping or a plain value, got {spec!r}")
        spec = {"type": "fixed", "value": spec}
    kind = spec.get("type")
    if kind not in PARAM_TYPES:
        raise UsageError(f"{where}: type must be one of {', '.join(PARAM_TYPES)}, got {kind!r}")
    unknown = sorted(set(map(str, spec)) - _KEYS[kind])
    if unknown:
        raise UsageError(f"{where}: unknown key(s) {', '.join(unknown)} for type {kind}; "
                         f"allowed: {', '.join(sorted(_KEYS[kind]))}")
    if kind == "fixed":
        if "value" not in spec or not isinstance(spec["value"], _SCALARS):
            raise UsageError(f"{where}: a fixed parameter needs `value:` (a number, word or true/false)")
        return Param(name, "fixed", choices=(spec["value"],))
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            raise UsageError(f"{where}: choices must be a non-empty list")
        bad = [c for c in choices if not isinstance(c, _SCALARS)]
        if bad:
            raise UsageError(f"{where}: choices must be numbers, words or true/false, got {bad[0]!r} "
                             f"(write a list option as a string, e.g. '256-128')")
        if len(set(map(repr, choices))) != len(choices):
            raise UsageError(f"{where}: choices repeat a value")
        return Param(name, "categorical", choices=tuple(choices))
    for key in ("low", "high"):
        if key not in spec:
            raise UsageError(f"{where}: a {kind} range needs `low` and `high`")
    low, high = _number(spec["low"], kind, f"{where}: low"), _number(spec["high"], kind, f"{where}: high")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise UsageError(f"{where}: log must be true or false, got {log!r}")
    step = spec.get("step")
    if step is not None:
        step = _number(step, kind, f"{where}: step")
        if step <= 0:
            raise UsageError(f"{where}: step must be > 0, got {step}")
        if log and (kind == "float" or step != 1):
            raise UsageError(f"{where}: log scale and a step cannot be combined")
    if not low < high:
        raise UsageError(f"{where}: low must be below high, got low={low:g}, high={high:g}")
    if log and low <= 0:
        raise UsageError(f"{where}: a log scale needs low > 0, got {low:g}")
    return Param(name, kind, low, high, log=log, step=step if step is not None else (1 if kind == "int" else None))


def _candidates(param: Param) -> list:
    """The values that bound what the parameter can take (range ends, or every choice)."""
    return list(param.choices) if param.type in ("categorical", "fixed") else [param.low, param.high]


def _check_values(param: Param, model: str, where: str) -> None:
    """Refuse values no trial could train with, using TrainConfig's own checks."""
    from cnnlab.train import TrainConfig

    for value in _candidates(param):
        if param.name in TUNABLE_FIELDS:
            try:
                TrainConfig.from_dict({"data": "space-check", "model": model, param.name: value},
                                      where="setting")
            except UsageError as exc:
                raise UsageError(f"{where}: value {value!r} is not usable ({exc})") from None
        elif "dropout" in param.name:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise UsageError(f"{where}: value {value!r} is not a probability in [0, 1)")
        elif param.name == "hidden":
            from cnnlab.models.baselines import parse_hidden

            try:
                parse_hidden(value)
            except (UsageError, TypeError, ValueError) as exc:
                raise UsageError(f"{where}: value {value!r} is not usable ({exc})") from None


def grid_values(param: Param) -> list:
    """The values ``param`` takes under --sampler grid.

    Choices as given; an int or stepped float range every step; a continuous float range
    GRID_POINTS values, evenly spaced (in log when ``log``).

    >>> grid_values(Param("batch_size", "int", 32, 128, step=32))
    [32, 64, 96, 128]
    >>> grid_values(Param("dropout", "float", 0.0, 0.5))
    [0.0, 0.25, 0.5]
    """
    if param.type in ("categorical", "fixed"):
        return list(param.choices)
    if param.step is not None and not param.log:
        n = int(math.floor((param.high - param.low) / param.step + 1e-9))
        values = [param.low + i * param.step for i in range(n + 1)]
        return [int(v) for v in values] if param.type == "int" else [round(v, 12) for v in values]
    lo, hi = (math.log(param.low), math.log(param.high)) if param.log else (param.low, param.high)
    points = [lo + (hi - lo) * i / (GRID_POINTS - 1) for i in range(GRID_POINTS)]
    values = [math.exp(v) if param.log else v for v in points]
    # rounded to 12 significant digits so exp(log(x)) gives back x, then kept in range
    values = [min(max(float(f"{v:.12g}"), param.low), param.high) for v in values]
    if param.type == "int":
        values = sorted({int(round(v)) for v in values})
    return values


def suggest(space: Mapping[str, Param], trial) -> dict[str, Any]:
    """Draw one value per parameter from an optuna ``trial``; fixed values as they are."""
    params: dict[str, Any] = {}
    for name, p in space.items():
        if p.type == "fixed":
            params[name] = p.choices[0]
        elif p.type == "categorical":
            params[name] = trial.suggest_categorical(name, list(p.choices))
        elif p.type == "int":
            params[name] = trial.suggest_int(name, int(p.low), int(p.high), step=int(p.step or 1), log=p.log)
        else:
            params[name] = trial.suggest_float(name, p.low, p.high, step=p.step, log=p.log)
    return params


def split_params(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(TrainConfig fields, model options) of a trial's parameters."""
    fields = {k: v for k, v in params.items() if k in TUNABLE_FIELDS}
    return fields, {k: v for k, v in params.items() if k not in TUNABLE_FIELDS}


def space_to_dict(space: Mapping[str, Param]) -> dict[str, dict]:
    """The space in the YAML file format (for results.json and the report)."""
    out: dict[str, dict] = {}
    for name, p in space.items():
        if p.type == "fixed":
            out[name] = {"type": "fixed", "value": p.choices[0]}
        elif p.type == "categorical":
            out[name] = {"type": "categorical", "choices": list(p.choices)}
        else:
            out[name] = {"type": p.type, "low": p.low, "high": p.high, "log": p.log}
            if p.step is not None and not (p.type == "int" and p.step == 1):
                out[name]["step"] = p.step
    return out
