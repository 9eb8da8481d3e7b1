"""``cnnlab.train``, ``evaluate``, ``explain``, ``compare`` and ``tune`` as functions.

Each takes the command's settings (the long flags in snake_case, which are the fields of
its config dataclass: :class:`cnnlab.train.TrainConfig`, ``EvaluateConfig``,
``ExplainConfig``, ``CompareConfig``, ``TuneConfig``), runs the same engine the command runs and returns a
result whose ``to_json()`` is the command's ``--json`` object, whose ``str()`` is its
closing summary and whose ``to_markdown()``, ``to_latex()`` and ``_repr_html_()`` write its
report (a :mod:`cnnlab.doc` document; compare, explain and tune: report.html's). torch
(and optuna for ``tune``) is imported only when one is called.
"""

from __future__ import annotations

from typing import Any

from cnnlab.api import flags
from cnnlab.api.result import Result
from cnnlab.doc import write
from cnnlab.doc.blocks import Heading, Paragraph
from cnnlab.errors import UsageError
from cnnlab.report import embed_figures

__all__ = ["train", "evaluate", "evaluate_with", "explain", "compare", "tune", "TrainingResult", "train_lines",
           "evaluate_lines", "explain_lines"]


class TrainingResult(Result):
    """A run's result: ``to_json()`` as ``--json`` prints it, ``str()`` the closing lines the
    command prints, the other formats its report (a :mod:`cnnlab.doc` document).

    summary: the blocks of the closing text; report: the blocks of the report (compare,
    explain and tune: report.html's document, whose figures point at the run folder's
    PNG files; train and evaluate: a heading over the closing lines).
    """

    def __init__(self, command: str, data: dict, summary: list, report: list | None = None, value: Any = None):
        super().__init__(data)
        self.command = command
        self._summary = summary
        self._report = report if report is not None else [Heading(f"cnnlab {command}", level=1), *summary]
        self.value = value  # the engine's own result object (FitResult, CompareResult, ...)

    def __str__(self) -> str:
        return write(self._summary).removesuffix("\n")

    def render(self, fmt: str) -> str:
        return write(self._report, fmt)

    def _repr_html_(self) -> str:
        """The report with its pictures embedded, so that a notebook shows them wherever it runs."""
        return write(embed_figures(self._report), "html")


def _paragraphs(lines: list[str]) -> list:
    return [Paragraph(line) for line in lines]


def _config(cls: type, settings: dict, command: str) -> Any:
    """``cls(**settings)``; an unknown setting is a UsageError naming the known ones."""
    import dataclasses

    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(settings) - set(names))
    if unknown:
        raise UsageError(f"cnnlab.{command}: unknown setting {unknown[0]!r}; settings: {', '.join(names)}")
    return cls(**settings)


def _auc(value: float | None) -> str:
    return "undefined (one class only)" if value is None else f"{value:.4f}"


def train_lines(s: dict) -> list[str]:
    """The closing lines of ``cnnlab train`` for its summary ``s``."""
    lines = [f"test accuracy {s['test_accuracy']:.4f}  val {s['val_accuracy']:.4f}  "
             f"train {s['train_accuracy']:.4f}  ({s['epochs']} epochs, {s['params']:,} params, "
             f"{s['train_seconds']:.1f}s training)"]
    if "f1" in s:
        lines.append(f"positive class {s['positive_class']}: precision {s['precision']:.4f}  "
                     f"recall {s['recall']:.4f}  f1 {s['f1']:.4f}  roc_auc {_auc(s['roc_auc'])}")
    return lines + [f"run folder: {s['run_dir']}"]


def train(config: str | None = None, recipe: str | None = None, model_opt: dict | None = None,
          progress: bool = False, **settings: Any) -> TrainingResult:
    """Train a model, as ``cnnlab train``: settings are TrainConfig's fields (the flags).

    Args:
        config: a YAML file of settings (the keyword settings override it).
        recipe: a named recipe (``cnnlab train --list-recipes``), under the file and settings.
        model_opt: options of the model (``--model-opt key=value``) as a dict.
        progress: print the progress bar and log lines as the command does.
        settings: ``data="digits", model="small-cnn", epochs=1, limit=500, out="runs/x", ...``

    Returns a result whose ``to_json()`` is ``cnnlab train --json``'s summary.
    """
    from cnnlab.train.threads import prefer_passive_wait

    prefer_passive_wait()  # before torch is imported (docs/training.md, "Speed")
    from cnnlab.train import TrainConfig, fit
    from cnnlab.train.progress import show_progress

    overrides = {k: v for k, v in settings.items() if v is not None}
    if model_opt:
        overrides["model_cfg"] = dict(model_opt)
    if recipe:
        from cnnlab.train.recipes import get_recipe

        file_values = TrainConfig.read_yaml(config) if config else {}
        found = get_recipe(recipe, overrides.get("data", file_values.get("data")))
        cfg = TrainConfig.from_dict({**found.settings, **file_values, **overrides, "recipe": found.name},
                                    where=config or "cnnlab.train")
    elif config:
        cfg = TrainConfig.from_yaml(config, overrides)
    else:
        cfg = TrainConfig.from_dict(overrides, where="cnnlab.train")
    if cfg.out is None:
        from cnnlab.storage import default_run_dir

        cfg.out = str(default_run_dir(cfg.model, cfg.data))
    result = fit(cfg, progress=show_progress(progress), log=print if progress else None)
    return TrainingResult("train", result.summary, _paragraphs(train_lines(result.summary)), value=result)


def evaluate_lines(r: dict) -> list[str]:
    """The lines ``cnnlab evaluate`` prints for its result ``r``."""
    lines = [f"{r['model']} on the {r['split']} split of {r['data']} ({r['n']} examples): "
             f"accuracy {r['accuracy']:.4f}, loss {r['loss']:.4f}"]
    if "f1" in r:
        lines.append(f"positive class {r['positive_class']}: precision {r['precision']:.4f}  "
                     f"recall {r['recall']:.4f}  f1 {r['f1']:.4f}  roc_auc {_auc(r['roc_auc'])}")
    if "shift" in r:
        dx, dy = r["shift"]
        lines.append(f"shifted by dx={dx}, dy={dy} px: accuracy {r['shifted_accuracy']:.4f} "
                     f"(change {r['shifted_accuracy'] - r['accuracy']:+.4f}), "
                     f"predictions unchanged {r['consistency']:.4f}")
    return lines


def evaluate(run_dir: str, **settings: Any) -> TrainingResult:
    """Reload a run's best model and measure it on a split, as ``cnnlab evaluate`` (settings:
    :class:`cnnlab.train.evaluate_config.EvaluateConfig`'s fields, the flags: ``data``,
    ``split="test"``, ``shift``, ``device="cpu"``).

    ``shift``: (dx, dy) or "dx,dy" pixels, for the accuracy on shifted inputs too.
    """
    from cnnlab.train.evaluate_config import EvaluateConfig

    if settings.get("shift") is not None:
        settings["shift"] = flags.text_form("shift", settings["shift"])
    config = _config(EvaluateConfig, settings, "evaluate")
    _check_choices(config, "evaluate")
    return evaluate_with(str(run_dir), config)


def evaluate_with(run_dir: str, config: Any) -> TrainingResult:
    """``cnnlab evaluate RUN_DIR`` for an :class:`~cnnlab.train.evaluate_config.EvaluateConfig`
    (what the CLI's handler and :func:`evaluate` call)."""
    shift = config.shift_xy()  # refused before torch loads
    from cnnlab.train import evaluate_run

    result = evaluate_run(run_dir, data=config.data, split=config.split, shift=shift, device=config.device)
    return TrainingResult("evaluate", result, _paragraphs(evaluate_lines(result)))


def _check_choices(config: Any, command: str) -> None:
    """Each field with choices holds one of them (or its default None), refused in the
    words argparse uses for the flag."""
    import dataclasses

    from cnnlab.settings import flag_spec

    for field in dataclasses.fields(config):
        spec = flag_spec(field)
        if spec is not None and spec.choices is not None:
            flags.choice(command, field.name, getattr(config, field.name), spec.choices,
                         optional=field.default is None)


def explain_lines(s: dict) -> list[str]:
    """The closing lines of ``cnnlab explain`` for its summary ``s``."""
    from cnnlab.explain.document import summary_lines

    return summary_lines(s)


def explain(run_dir: str, **settings: Any) -> TrainingResult:
    """Pictures of what a trained run learned, as ``cnnlab explain`` (settings: ExplainConfig's
    fields: ``what="filters,gradcam"``, ``layer``, ``count``, ``out``, ...)."""
    from cnnlab.explain import ExplainConfig
    from cnnlab.explain.run import run_explanation

    if isinstance(settings.get("what"), str):
        settings["what"] = settings["what"].split(",")
    explanation = run_explanation(str(run_dir), _config(ExplainConfig, settings, "explain"), log=None)
    return TrainingResult("explain", explanation.summary, _paragraphs(explain_lines(explanation.summary)),
                          explanation.blocks(), explanation)


def compare(**settings: Any) -> TrainingResult:
    """Train and compare models on one dataset, as ``cnnlab compare`` (settings: CompareConfig's
    fields: ``data``, ``models``, ``epochs``, ``limit``, ``out``, ...)."""
    from cnnlab.compare.compare import CompareConfig, run_compare
    from cnnlab.compare.config import default_models
    from cnnlab.compare.document import report_blocks, summary_blocks

    if "models" not in settings:  # as the CLI: runs alone are scored alone
        settings = {**settings, "models": default_models(list(settings.get("runs") or []))}
    result = run_compare(_config(CompareConfig, settings, "compare"))
    return TrainingResult("compare", result.as_json(), summary_blocks(result), report_blocks(result), result)


def tune(**settings: Any) -> TrainingResult:
    """A hyperparameter study, as ``cnnlab tune`` (settings: TuneConfig's fields: ``data``,
    ``model``, ``trials``, ``epochs``, ``space``, ``storage``, ``out``, ...)."""
    import optuna

    from cnnlab.storage.lock import folder_lock
    from cnnlab.tune import TuneConfig, run_study
    from cnnlab.tune.document import report_blocks, summary_blocks
    from cnnlab.tune.study import default_out

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    config = _config(TuneConfig, settings, "tune")
    with folder_lock(config.out or default_out(config.model, config.data), "study folder", shared=True):
        result = run_study(config)
    return TrainingResult("tune", result.as_json(), summary_blocks(result), report_blocks(result), result)
