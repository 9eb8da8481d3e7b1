"""TrainConfig: every setting of a training run, saved as ``config.yaml`` in its folder.

The CLI is built on it (``cnnlab train`` flags map one-to-one onto fields, ``--config
FILE`` gives any of them in YAML) and a run folder is resumed only by the same config.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnlab.errors import MAX_BATCH_SIZE, MAX_EPOCHS, MAX_SEED, MAX_SIDE, UsageError, check_seed
from cnnlab.settings import IN_RANGE, check_bounds, setting

__all__ = ["TrainConfig", "OPTIMIZERS", "SCHEDULES", "DEVICES", "LOSSES", "NORMALIZE", "SPLITS", "RESUME_IGNORES",
           "MAX_LR", "MAX_WEIGHT_DECAY", "MAX_EPOCHS", "MAX_BATCH_SIZE"]

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("none", "step", "cosine", "onecycle")
DEVICES = ("cpu", "cuda", "auto")
LOSSES = ("cross_entropy", "nll")
NORMALIZE = ("data", "imagenet")
SPLITS = ("test", "val", "train")  # the splits a run is evaluated / explained on
# Fields that may change between an interrupted run and its resumption.
# strict changes nothing it lets through; positive_class only names what the metrics report
# recipe only names where the settings came from (the settings themselves are compared)
RESUME_IGNORES = ("out", "device", "threads", "strict", "positive_class", "recipe")
# Bounds of the numeric settings (docs/runs.md, "Settings that cannot train"): beyond
# them a run only diverges or allocates without end, so they are refused up front.
MAX_LR = 10.0  # no optimizer here trains at a step size beyond 10
MAX_WEIGHT_DECAY = 1.0  # a decay of 1 already erases the weights in a few steps
# MAX_EPOCHS, MAX_BATCH_SIZE: cnnlab.errors owns them (every command's flags share them)
# validate()'s words where they predate the generated ones (tests/test_train_parts.py and others)
_IN_RANGE_G = "{flag} must be in {range}, got {value:g}"
_BETAS = "beta1 and beta2 must be in {range}, got {config.beta1} and {config.beta2}"
_UNIT = dict(low=0.0, high=1.0, high_open=True, refuse_low=IN_RANGE, refuse_high=IN_RANGE)  # [0, 1)


@dataclass
class TrainConfig:
    """Settings of one training run: each field is also the ``cnnlab train`` flag of its name
    (help, limits and choices in its :func:`cnnlab.settings.setting`)."""

    data: str = setting(help="mnist, fashion-mnist, digits, cifar10, or a folder / CSV path")
    model: str = setting(help="model name (see --list-models), or an architecture spec as for cnnlab arch: "
                              "\"conv 3x3 32 p1; relu; maxpool 2; fc 10\", a file holding one, or a YAML "
                              "list (docs/models.md)")
    epochs: int = setting(5, "passes over the training split (early stopping may end sooner)",
                          low=1, high=MAX_EPOCHS)
    batch_size: int = setting(64, "examples per optimizer step", low=1, high=MAX_BATCH_SIZE)
    optimizer: str = setting("adam", "optimizer", choices=OPTIMIZERS)
    # the bounds of lr ... score_train_limit are checked by validate() only (checked_on_read=False),
    # so that a flag and a --config file are refused in the same words
    lr: float = setting(1e-3, "learning rate: the peak rate for onecycle", low=0.0, low_open=True, high=MAX_LR,
                        checked_on_read=False, refuse_high=_IN_RANGE_G)
    momentum: float = setting(0.0, "SGD momentum (0 as in torch.optim.SGD and Keras)", checked_on_read=False,
                              **_UNIT)
    beta1: float = setting(0.9, "Adam/AdamW first-moment decay (onecycle cycles it 0.95 -> 0.85 -> 0.95)",
                           checked_on_read=False, **{**_UNIT, "refuse_low": _BETAS, "refuse_high": _BETAS})
    beta2: float = setting(0.999, "Adam/AdamW second-moment decay", checked_on_read=False,
                           **{**_UNIT, "refuse_low": _BETAS, "refuse_high": _BETAS})
    weight_decay: float = setting(0.0, "L2 penalty (decoupled for adamw)", low=0.0, high=MAX_WEIGHT_DECAY,
                                  checked_on_read=False, refuse_high=_IN_RANGE_G)
    schedule: str = setting("none", "learning-rate schedule: step multiplies it by --gamma every --step-size "
                                    "epochs", choices=SCHEDULES)
    step_size: int | None = setting(None, "epochs between decays of --schedule step",
                                    default_text="max(1, epochs // 3)", low=1, high=MAX_EPOCHS, checked_on_read=False,
                                    refuse_low="step_size must be >= {low}")
    gamma: float = setting(0.1, "decay factor of --schedule step", low=0.0, low_open=True, high=1.0,
                           checked_on_read=False, refuse_low="gamma must be in {range}, got {value}",
                           refuse_high="gamma must be in {range}, got {value}")
    patience: int = setting(0, "stop after N epochs without a lower validation loss (0 = never)", metavar="N",
                            low=0, high=MAX_EPOCHS, checked_on_read=False)
    augment: list[str] = setting(help="comma-separated augmentations, e.g. shift:2,hflip,noise:0.05 "
                                      "(docs/training.md)", factory=list, metavar="LIST")
    seed: int = setting(0, "seeds initialisation, batch order, dropout and augmentation", low=0, high=MAX_SEED)
    device: str = setting("auto", "where to train (auto: cuda when available)", choices=DEVICES)
    amp: bool = setting(False, "mixed precision: bfloat16 (or float16) on CUDA; bfloat16 on a CPU that has it "
                               "natively (AMX, AVX512-BF16), else float32 (speed.amp_dtype)")
    out: str | None = setting(None, "run folder (default runs/<model>-<data>-<time>)", metavar="DIR")
    val_fraction: float = setting(0.1, "share of the training data held out for validation", checked_on_read=False,
                                  **{**_UNIT, "low_open": True})
    split_seed: int = setting(0, "seed of the train/val/test split (fixed, so seeds share one split)",
                              hidden=True)
    limit: int | None = setting(None, "use at most N training examples (stratified), for quick runs",
                                low=1, high="limit", metavar="N")
    data_dir: str | None = setting(None, "folder to look for named datasets in first", metavar="PATH")
    model_cfg: dict = setting(help="model options, e.g. {\"hidden\": [256, 128]} (the flag: --model-opt)",
                              factory=dict, hidden=True)
    loss: str = setting("cross_entropy", "loss (nll: log_softmax + NLLLoss, the same loss)", choices=LOSSES)
    label_smoothing: float = setting(0.0, "train towards (1 - E) one-hot + E / classes (cross_entropy only; "
                                          "reported validation and test losses stay plain cross-entropy)",
                                     metavar="E", checked_on_read=False,
                                     **{**_UNIT, "refuse_low": _IN_RANGE_G, "refuse_high": _IN_RANGE_G})
    weights: str | None = setting(None, "start from a local state dict (first conv adapted, head dropped)",
                                  metavar="PATH")
    freeze: bool = setting(False, "train the head only (feature extraction; needs --weights)")
    unfreeze_after: int = setting(0, "train the head only for N epochs, then fine-tune everything "
                                     "(needs --weights; 0 = never)", metavar="N", low=0, high=MAX_EPOCHS,
                                  checked_on_read=False)
    backbone_lr_factor: float = setting(0.1, "backbone lr / head lr after unfreezing (with --unfreeze-after)",
                                        low=0.0, low_open=True, high=1.0, checked_on_read=False,
                                        refuse_low="backbone_lr_factor must be in {range}",
                                        refuse_high="backbone_lr_factor must be in {range}")
    threads: int | None = setting(None, "CPU threads for torch (default: the cores the load average leaves "
                                        "free)", parse="threads", low=1,
                                  refuse_low="threads must be >= {low}")
    resize: str | None = setting(None, "resize every image to HxW (bilinear): a folder / CSV of mixed sizes, or "
                                       "a named dataset (e.g. 32x32 MNIST; limit: 1 GiB of float32 in all)",
                                 metavar="HxW")
    strict: bool = setting(False, "refuse a folder / CSV holding corrupt images (default: skip and count them)")
    positive_class: str | None = setting(None, "two classes: the class whose precision, recall, F1 and ROC-AUC "
                                               "are reported (default: the second class name in sorted order)",
                                         metavar="NAME")
    recipe: str | None = setting(None, "the named recipe these settings started from (--recipe, "
                                       "--list-recipes)", hidden=True)
    channels_last: bool | None = setting(None, "NHWC memory format (default: on for conv models on the CPU)")
    score_train_limit: int | None = setting(10_000, "re-score at most N training images (a fixed sample) for "
                                                    "train_accuracy; in a config file, null: all", metavar="N",
                                            low=1, checked_on_read=False,
                                            refuse_low="score_train_limit must be >= {low}, got {value}")
    normalize: str = setting("data", "input statistics: data (the train split's mean/std) or imagenet (what "
                                     "ImageNet-pretrained weights expect)", choices=NORMALIZE)

    # --- building ------------------------------------------------------------------

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = "config",
                  validate: bool = True) -> "TrainConfig":
        """Build from plain values (YAML, CLI), checking names and types (and values)."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise UsageError(f"{where}: unknown setting(s) {', '.join(unknown)}; "
                             f"known: {', '.join(fields)}")
        hints = typing.get_type_hints(cls)
        if isinstance(values.get("model"), list):  # a spec as a YAML list of layers: kept as its YAML text
            import yaml

            values = {**values, "model": yaml.safe_dump(values["model"], sort_keys=False)}
        clean = {name: _coerce(name, value, hints[name], where) for name, value in values.items()}
        for name in ("data", "model"):
            if not clean.get(name):
                raise UsageError(f"{where}: `{name}` is required (--{name})")
        config = cls(**clean)
        if validate:
            config.validate()
        return config

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: dict[str, Any] | None = None) -> "TrainConfig":
        """Read a YAML file of TrainConfig fields (safe loader); ``overrides`` win."""
        values = cls.read_yaml(path)
        values.update(overrides or {})
        return cls.from_dict(values, where=str(path))

    @staticmethod
    def read_yaml(path: str | Path) -> dict[str, Any]:
        """The mapping of settings a YAML file holds (not yet checked); UsageError otherwise."""
        import yaml

        from cnnlab.userfiles import read_text_file

        path = Path(path)
        try:
            values = yaml.safe_load(read_text_file(path, "config file")) or {}
        except OSError as exc:
            raise UsageError(f"cannot read config file {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise UsageError(f"config file {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
        if not isinstance(values, dict):
            raise UsageError(f"config file {path} must hold a mapping of settings")
        return values

    def validate(self) -> None:
        """Raise UsageError for a setting no run can use."""
        from cnnlab.models import is_model, list_models
        from cnnlab.train.augment import parse_augment

        def need(ok: bool, message: str) -> None:
            if not ok:
                raise UsageError(message)

        need(is_model(self.model),
             f"unknown model {self.model!r}; choose one of: {', '.join(list_models())}, "
             f"or give an architecture spec such as \"conv 3x3 32 p1; relu; maxpool 2; fc 10\"")
        if self.model not in list_models():
            from cnnlab.models.spec_model import check_spec

            check_spec(self.model)  # a spec that does not parse is refused naming the layer
        need(self.weights is not None or not (self.freeze or self.unfreeze_after),
             "--freeze and --unfreeze-after need --weights: without pretrained weights they would "
             "freeze a randomly initialised backbone")
        self._check_finite()
        check_seed(self.seed)  # a config file's or the API's seed: the words of every --seed
        check_seed(self.split_seed, "split_seed")  # no flag of its own
        check_bounds(self)  # every field's low / high (its setting()), in the field's words
        need(self.optimizer in OPTIMIZERS, f"--optimizer must be one of {', '.join(OPTIMIZERS)}")
        need(self.schedule in SCHEDULES, f"--schedule must be one of {', '.join(SCHEDULES)}")
        need(self.device in DEVICES, f"--device must be one of {', '.join(DEVICES)}")
        need(self.loss in LOSSES, f"loss must be one of {', '.join(LOSSES)}")
        need(self.label_smoothing == 0 or self.loss == "cross_entropy",
             "--label-smoothing applies to the cross_entropy loss, not nll")
        if self.weights is not None:  # missing, or a folder / device / pipe: says which
            from cnnlab.userfiles import check_regular_file

            check_regular_file(self.weights, "weights file")
        need(self.normalize in NORMALIZE, f"--normalize must be one of {', '.join(NORMALIZE)}, "
                                          f"got {self.normalize!r}")
        parse_augment(self.augment)
        self.resize_hw()

    def _check_finite(self) -> None:
        for name in ("lr", "momentum", "weight_decay", "gamma", "val_fraction",
                     "backbone_lr_factor", "label_smoothing"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise UsageError(f"--{name.replace('_', '-')} must be a finite number, got {value}")

    def resize_hw(self) -> tuple[int, int] | None:
        """``resize`` as (H, W) ("64x64", "64", "64,48"); None when not set.

        >>> TrainConfig(data="d", model="mlp", resize="32x16").resize_hw()
        (32, 16)
        """
        if self.resize is None:
            return None
        match = re.fullmatch(r"\s*(\d+)\s*(?:[x×,]\s*(\d+))?\s*", self.resize)
        if not match or int(match[1]) < 1 or int(match[2] or match[1]) < 1:
            raise UsageError(f"--resize takes HxW such as 64x64, got {self.resize!r}")
        h, w = int(match[1]), int(match[2] or match[1])
        if max(h, w) > MAX_SIDE:  # docs/limits.md; as `data info --resize`
            raise UsageError(f"--resize {self.resize.strip()} is over the limit of {MAX_SIDE} pixels per side")
        return h, w

    # --- saving --------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain values (lists, dicts, numbers, strings), ready for YAML/JSON."""
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        """The config as YAML text (what ``config.yaml`` holds)."""
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def resume_key(self) -> dict[str, Any]:
        """The settings that must be equal for a run folder to be resumed."""
        return {k: v for k, v in self.to_dict().items() if k not in RESUME_IGNORES}

    def default_threads(self) -> int:
        """CPU threads for torch: ``threads``, or what the machine's load leaves free
        (see :func:`cnnlab.train.threads.choose_threads`)."""
        from cnnlab.train.threads import choose_threads

        return self.threads or choose_threads()[0]


def _coerce(name: str, value: Any, hint: Any, where: str) -> Any:
    """``value`` checked against the field's type (ints may stand for floats)."""
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    if value is None and union and type(None) in typing.get_args(hint):
        return None
    base = next(a for a in typing.get_args(hint) if a is not type(None)) if union else hint
    origin = typing.get_origin(base) or base
    bad = UsageError(f"{where}: {name} must be {getattr(origin, '__name__', origin)}, got {value!r}")
    if origin is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if origin is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if origin is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if origin is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise bad
        return str(value)
    if origin is list:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip() and v.strip() != "none"]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad
        return list(value)
    if origin is dict:
        if not isinstance(value, dict):
            raise bad
        return dict(value)
    return value
