"""run_study(): an Optuna study whose trials are cnnlab training runs, with pruning.

Each trial draws its settings from the search space, trains with
:func:`cnnlab.train.fit` into its own run folder (``<out>/<study>/trial-NNNN``, so it can
be evaluated or explained later like any run) and reports the validation metric to
Optuna after every epoch; a trial the pruner stops ends by ``optuna.TrialPruned``
raised from fit's ``on_epoch`` callback, which leaves its folder resumable.

The study lives in a database: ``sqlite:///<out>/study.db`` by default, or any
SQLAlchemy URL (``postgresql://user@host/db``) so that several processes or machines
share one study; a rerun with the same storage and study name continues it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import re
import socket
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from cnnlab.errors import UsageError, check_seed
from cnnlab.settings import flag_spec, setting, shared
from cnnlab.train.config import TrainConfig
from cnnlab.tune.shared import HEARTBEAT_SECONDS, check_driver, create_or_load, database_guard, mask_url, \
    open_storage, trial_seeded_sampler
from cnnlab.tune.space import Param, default_space, grid_values, load_space, parse_space, \
    space_to_dict, split_params, suggest

__all__ = ["TuneConfig", "TuneResult", "run_study", "trial_config", "open_storage", "mask_url",
           "SAMPLERS", "PRUNERS", "METRICS", "default_out", "trial_rows"]

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "hyperband", "none")
METRICS = {"val_accuracy": "maximize", "val_loss": "minimize"}
# Optuna's MedianPruner waits for 5 finished trials; a study here is often 6-20 trials of a
# few epochs, so it starts comparing after 3.
MEDIAN_STARTUP_TRIALS = 3
# Settings a rerun must share with the study it continues (trials are comparable only then).
STUDY_KEYS = ("model", "data", "metric", "epochs", "limit")


@dataclass
class TuneConfig:
    """Settings of one study; each field is also the ``cnnlab tune`` flag of its name. The
    settings every trial shares are TrainConfig's fields (:func:`cnnlab.settings.shared`:
    the same help, limits and choices); :func:`trial_config` passes them on."""

    data: str = shared(TrainConfig, "data", metavar="NAME|PATH")
    model: str = shared(TrainConfig, "model", help="model name (cnnlab train --list-models), or an "
                                                   "architecture spec (a fixed model)")
    trials: int | None = setting(10, "trials to run now", low=1, high="tune_trials", metavar="N",
                                 default_text="10, or unlimited with --timeout")
    timeout: float | None = setting(None, "start no new trial after S seconds", parse="positive_float",
                                    metavar="S")
    epochs: int = shared(TrainConfig, "epochs", 3, help="epochs per trial (fewer when pruned)", metavar="N")
    space: str | dict | None = setting(None, "YAML search space, or (in Python) a mapping in its format "
                                             "(default: see below)", metavar="FILE")
    storage: str | None = setting(None, "database URL (default sqlite:///<out>/study.db)", metavar="URL")
    study: str | None = setting(None, "study name (default <model>-<data>)", metavar="NAME")
    sampler: str = setting("tpe", "how trials draw their values", choices=SAMPLERS)
    pruner: str = setting("median", f"what stops a lagging trial (median: after {MEDIAN_STARTUP_TRIALS} trials)", choices=PRUNERS)
    metric: str = setting("val_accuracy", "what trials are ranked by (val_accuracy maximised, val_loss "
                                          "minimised)", choices=tuple(METRICS))
    seed: int = shared(TrainConfig, "seed", help="training seed of every trial; seeds the sampler too")
    limit: int | None = shared(TrainConfig, "limit", help="use at most N training examples (stratified)")
    device: str = shared(TrainConfig, "device")
    threads: int | None = shared(TrainConfig, "threads", help="CPU threads per trial (default: the cores the "
                                                              "load average leaves free, at least 1, as "
                                                              "cnnlab train)", metavar="N")
    out: str | None = shared(TrainConfig, "out", help="study folder (default runs/tune-<model>-<data>)",
                             doc="where the study is kept (`runs/tune-<model>-<data>`): `DIR/study.db` with the "
                                 "default storage, and the study folder `DIR/<study>/` — the `trial-NNNN` run "
                                 "folders, `report.html` and `results.json` (the JSON's `out`). `<model>` is the "
                                 "registry name, a spec file's stem, or `spec-` and 8 hex digits of an inline "
                                 "spec's SHA-256; `<study>` is `--study` (`<model>-<data>`)")
    data_dir: str | None = shared(TrainConfig, "data_dir")
    heartbeat: float = setting(HEARTBEAT_SECONDS, "seconds between a running trial's heartbeats; a trial silent "
                                                  "for 3 beats is marked failed by another worker",
                               parse="positive_float", metavar="S")


# One day. The heartbeat thread waits this long between beats, and Python's wait takes at
# most about 2^63 ns: 1e20 s failed inside Optuna after the study was opened.
MAX_HEARTBEAT_SECONDS = 86_400

# TuneConfig's fields that are TrainConfig's, passed on to every trial (its folder aside)
TRIAL_SETTINGS = tuple(f.name for f in dataclasses.fields(TuneConfig)
                       if (flag_spec(f).source or "").startswith("TrainConfig.") and f.name != "out")


@dataclass
class TuneResult:
    """What :func:`run_study` returns (and ``as_json`` prints)."""

    study: str
    storage: str  # the URL with any password hidden
    metric: str
    direction: str
    out: Path
    study_dir: Path
    space: dict
    trials: list[dict]  # one per trial, see trial_rows
    best: dict | None  # number, value, params, run_dir, epochs; None before a trial completes
    importances: dict[str, float] | None
    importance_note: str
    ran: int  # trials this call (this worker) ran
    total_seconds: float
    figures: dict[str, Path] = field(default_factory=dict)
    report: Path | None = None
    ran_trials: list[int] = field(default_factory=list)  # their numbers
    config: TuneConfig | None = None  # the settings it ran with (out and study name filled in)

    def as_json(self) -> dict[str, Any]:
        """Plain data: study, storage, best_value, best_params, best_run_dir, trials, total_seconds, ..."""
        best = self.best or {}
        return {"study": self.study, "storage": self.storage, "metric": self.metric,
                "direction": self.direction, "best_value": best.get("value"),
                "best_params": best.get("params"), "best_run_dir": best.get("run_dir"),
                "best_trial": best.get("number"), "trials": self.trials, "ran": self.ran,
                "ran_trials": self.ran_trials,
                "importances": self.importances, "space": self.space,
                "out": str(self.study_dir), "report": str(self.report) if self.report else None,
                "total_seconds": round(self.total_seconds, 3)}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "study"


def model_label(model: str) -> str:
    """The model as folder and study names say it: a registry name as it is, a spec file by
    its stem, an inline architecture spec as ``spec-`` and 8 hex digits of its SHA-256 (the
    whole spec would make a folder name of hundreds of characters).

    >>> model_label("cnn3"), model_label("nets/net.yaml"), model_label("conv 3x3 8; relu; fc 10")
    ('cnn3', 'net', 'spec-a5437a0e')
    """
    if re.fullmatch(r"[A-Za-z0-9_.-]+", model) and not model.lower().endswith((".yaml", ".yml", ".json")):
        return model
    if model.lower().endswith((".yaml", ".yml", ".json")) and "\n" not in model and ";" not in model:
        return _slug(Path(model).stem)
    return "spec-" + hashlib.sha256(model.encode()).hexdigest()[:8]


def default_out(model: str, data: str) -> Path:
    """``runs/tune-<model>-<data>``: no timestamp, so that a rerun finds and continues the study.

    >>> default_out("mlp", "/data/tiles/").as_posix()
    'runs/tune-mlp-tiles'
    """
    from cnnlab.storage import default_run_dir

    return default_run_dir(f"tune-{_slug(model_label(model))}", data, stamp=False)  # the one folder rule


def _make_sampler(name: str, space: dict[str, Param], seed: int):
    import optuna

    if name == "tpe":  # constant liar: workers running at once do not crowd one spot
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    grid = {n: grid_values(p) for n, p in space.items() if p.type != "fixed"}
    return optuna.samplers.GridSampler(grid, seed=seed)


def _make_pruner(name: str, epochs: int):
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=MEDIAN_STARTUP_TRIALS, n_warmup_steps=0)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(1, epochs),
                                              reduction_factor=3)
    return optuna.pruners.NopPruner()


def _check(config: TuneConfig) -> None:
    from cnnlab.models import is_model, list_models

    def need(ok: bool, message: str) -> None:
        if not ok:
            raise UsageError(message)

    need(is_model(config.model),  # a registry name or an architecture spec (a fixed model)
         f"unknown model {config.model!r}; choose one of: {', '.join(list_models())}")
    need(config.trials is None or config.trials >= 1, f"--trials must be >= 1, got {config.trials}")
    need(config.timeout is None or config.timeout > 0, f"--timeout must be > 0 seconds, got {config.timeout}")
    need(config.epochs >= 1, f"--epochs must be >= 1, got {config.epochs}")
    check_seed(config.seed)
    need(config.sampler in SAMPLERS, f"--sampler must be one of {', '.join(SAMPLERS)}")
    need(config.pruner in PRUNERS, f"--pruner must be one of {', '.join(PRUNERS)}")
    need(config.metric in METRICS, f"--metric must be one of {', '.join(METRICS)}")
    need(config.limit is None or config.limit >= 1, f"--limit must be >= 1, got {config.limit}")
    need(config.threads is None or config.threads >= 1, f"--threads must be >= 1, got {config.threads}")
    need(config.study is None or bool(config.study.strip()), "--study must not be empty")
    need(math.isfinite(config.heartbeat) and 1 <= config.heartbeat <= MAX_HEARTBEAT_SECONDS,
         f"--heartbeat must be between 1 and {MAX_HEARTBEAT_SECONDS:,} seconds, got {config.heartbeat:g}")
    if config.storage:
        check_driver(config.storage)


def _resolve_space(config: TuneConfig) -> dict[str, Param]:
    if config.space is None:
        return default_space(config.model)
    if isinstance(config.space, dict):
        return parse_space(config.space, config.model)
    return load_space(config.space, config.model)


def trial_config(config: TuneConfig, params: dict[str, Any], run_dir: str | Path):
    """The TrainConfig of one trial: the study's settings with ``params`` applied."""
    fields, options = split_params(params)
    values = {name: getattr(config, name) for name in TRIAL_SETTINGS}
    values.update({"out": str(run_dir), "model_cfg": options, **fields})
    return TrainConfig.from_dict(values, where="trial settings")


def _check_study(study, config: TuneConfig, direction: str, study_dir: Path) -> None:
    """Refuse to continue a study made for other settings; label a new one."""
    import optuna

    if study.direction != optuna.study.StudyDirection[direction.upper()]:
        raise UsageError(f"study {study.study_name!r} {study.direction.name.lower()}s its value, "
                         f"but --metric {config.metric} is {direction}d; use another --study")
    wanted = {k: getattr(config, k) for k in STUDY_KEYS}
    saved = study.user_attrs.get("cnnlab")
    if saved is None:
        study.set_user_attr("cnnlab", wanted)
    else:
        differ = [k for k in STUDY_KEYS if saved.get(k) != wanted[k]]
        if differ:
            shown = ", ".join(f"{k} {saved.get(k)!r} (now {wanted[k]!r})" for k in differ)
            raise UsageError(f"study {study.study_name!r} in this storage was made with {shown}; "
                             f"use the same settings to continue it, or another --study")
    if not study.trials and study_dir.is_dir() and any(study_dir.glob("trial-*")):
        raise UsageError(f"{study_dir} holds trial folders of a study this storage does not "
                         f"know; use another --out or --study, or remove that folder")


def _objective(config: TuneConfig, space: dict[str, Param], dataset, study_dir: Path,
               say: Callable[[str], None]):
    import optuna

    from cnnlab.train import fit

    def objective(trial) -> float:
        if config.sampler == "grid":
            taken = _grid_point_taken(trial)
            if taken is not None:  # never train one grid point twice
                say(f"trial {trial.number}: its grid point is trial {taken}'s (every point is "
                    f"taken); not run, this worker stops")
                trial.study.stop()
                raise optuna.TrialPruned(f"grid point of trial {taken}")
        params = suggest(space, trial)
        run_dir = study_dir / f"trial-{trial.number:04d}"
        train_config = trial_config(config, params, run_dir)
        trial.set_user_attr("run_dir", str(run_dir))
        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("pid", os.getpid())
        shown = ", ".join(f"{k}={_short(v)}" for k, v in trial.params.items())
        say(f"trial {trial.number}: {shown}")

        def on_epoch(row: dict) -> None:
            value = row[config.metric]
            trial.report(value, row["epoch"])
            trial.set_user_attr("epochs", row["epoch"])
            say(f"trial {trial.number}: epoch {row['epoch']}/{train_config.epochs} "
                f"{config.metric} {value:.4f} ({row['seconds']:.1f} s)")
            # a finished trial is complete, not pruned: only earlier epochs can be stopped
            if row["epoch"] < train_config.epochs and trial.should_prune():
                say(f"trial {trial.number}: pruned after epoch {row['epoch']} "
                    f"({config.metric} {value:.4f})")
                raise optuna.TrialPruned(f"pruned after epoch {row['epoch']}")

        result = fit(train_config, dataset, on_epoch=on_epoch)
        trial.set_user_attr("epochs", result.summary["epochs"])
        trial.set_user_attr("test_accuracy", result.summary["test_accuracy"])
        value = result.summary[config.metric]
        return float("inf") if value is None else float(value)  # a diverged loss ranks last

    return objective


def _grid_point_taken(trial) -> int | None:
    """The number of an earlier trial, running or finished (not failed), on this trial's
    grid point; None when the point is this trial's alone.

    Optuna's GridSampler gives trial n grid point n while n is below the grid's size; after
    that it picks a point not yet *finished*, which may be one another worker is running
    (optuna 5.0, ``GridSampler._get_unvisited_grid_ids``): two workers then train one point.
    """
    import optuna

    storage, study = trial.study._storage, trial.study
    mine = storage.get_trial(trial._trial_id).system_attrs.get("grid_id")
    if mine is None:  # an enqueued trial: its own values
        return None
    for other in storage.get_all_trials(study._study_id, deepcopy=False):
        if other.number < trial.number and other.system_attrs.get("grid_id") == mine \
                and other.state != optuna.trial.TrialState.FAIL:
            return other.number
    return None


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def trial_rows(study) -> list[dict]:
    """One dict per trial: number, state, params, value, epochs, seconds, run_dir, host, pid."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        seconds = t.duration.total_seconds() if t.duration is not None else None
        value = t.value if t.value is not None and math.isfinite(t.value) else None
        rows.append({"number": t.number, "state": t.state.name, "params": dict(t.params),
                     "value": value, "epochs": t.user_attrs.get("epochs"),
                     "seconds": round(seconds, 3) if seconds is not None else None,
                     "run_dir": t.user_attrs.get("run_dir"), "host": t.user_attrs.get("host"),
                     "pid": t.user_attrs.get("pid"),
                     "intermediate": {int(k): v if math.isfinite(v) else None
                                      for k, v in sorted(t.intermediate_values.items())}})
    return rows


def _best(study) -> dict | None:
    import optuna

    if not any(t.state == optuna.trial.TrialState.COMPLETE for t in study.get_trials(deepcopy=False)):
        return None
    t = study.best_trial
    return {"number": t.number, "value": t.value, "params": dict(t.params),
            "run_dir": t.user_attrs.get("run_dir"), "epochs": t.user_attrs.get("epochs")}


def _importances(study) -> tuple[dict[str, float] | None, str]:
    """Optuna's parameter importances, or None and why (fewer than 2 complete trials, ...)."""
    import optuna

    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if len(complete) < 2:
        return None, f"needs at least 2 complete trials, the study has {len(complete)}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # fANOVA named, seeded: optuna's default evaluator changed between versions
            evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
            values = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except Exception as exc:  # optional diagnostic: fANOVA refuses some histories; say why and go on
        return None, f"optuna could not compute them ({type(exc).__name__}: {exc})"
    if not values:
        return None, "no parameter varied between complete trials"
    return {k: round(float(v), 4) for k, v in values.items()}, ""


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_study(config: TuneConfig, dataset=None, *, log: Callable[[str], None] | None = None,
              sampler=None, pruner=None, write_report: bool = True) -> TuneResult:
    """Run ``config.trials`` trials (or until ``config.timeout``) and write the report.

    dataset: a loaded ``cnnlab.data.Dataset`` (else loaded from ``config.data``).
    sampler, pruner: Optuna objects that replace the ones ``config`` names (e.g. a
    pruner of your own). Progress lines go to ``log`` (stderr by default).
    """
    import optuna

    from cnnlab.models import get_model
    from cnnlab.train.loop import load_config_dataset

    started = time.perf_counter()
    say = log or _stderr
    _check(config)
    space = _resolve_space(config)
    out = Path(config.out) if config.out else default_out(config.model, config.data)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder")
    name = config.study or f"{model_label(config.model)}-{Path(config.data.rstrip('/')).name or config.data}"
    config = dataclasses.replace(config, out=str(out), study=name)
    if dataset is None:
        dataset = load_config_dataset(trial_config(config, {}, out / "check"))
    C, H, W = dataset.x_train.shape[1:]
    get_model(config.model, C, len(dataset.classes), (H, W))  # the model must fit the images
    url = config.storage or f"sqlite:///{(out / 'study.db').resolve()}"
    if config.storage:  # a database of its own: refused before anything is written
        storage = open_storage(url, config.heartbeat, say)
    out.mkdir(parents=True, exist_ok=True)
    if not config.storage:
        storage = open_storage(url, config.heartbeat, say)
    direction = METRICS[config.metric]
    if sampler is None and config.sampler == "grid":
        # one shuffled grid for all workers (same --seed); trial n takes grid point n
        sampler = _make_sampler("grid", space, config.seed)
    elif sampler is None:  # trial n draws from (seed, n): workers never share a random stream
        sampler = trial_seeded_sampler(lambda seed: _make_sampler(config.sampler, space, seed),
                                       config.seed)
    study = create_or_load(storage, name, direction, sampler,
                           pruner or _make_pruner(config.pruner, config.epochs))
    done_before = len(study.get_trials(deepcopy=False))
    study_dir = out / _slug(name)
    _check_study(study, config, direction, study_dir)
    say(f"study {name!r} in {mask_url(url)}: {done_before} trial(s) so far; "
        f"{config.trials or 'unlimited'} more, {config.epochs} epoch(s) each, {config.sampler} "
        f"sampler, {config.pruner} pruner")
    import torch

    from cnnlab.train.divergence import TrainingDiverged  # a diverged trial fails; the study goes on
    objective = _objective(config, space, dataset, study_dir, say)
    mine: list[int] = []  # the trials this worker ran (others may share the study)

    def finished(_study, trial) -> None:
        mine.append(trial.number)
        say(_trial_line(trial, config.metric))

    with database_guard(mask_url(url)):  # a server gone mid-study: one line, not a traceback
        study.optimize(objective, n_trials=config.trials, timeout=config.timeout,
                       catch=(torch.cuda.OutOfMemoryError, TrainingDiverged), callbacks=[finished])
        importances, note = _importances(study)
        result = TuneResult(
            study=name, storage=mask_url(url), metric=config.metric, direction=direction, out=out,
            study_dir=study_dir, space=space_to_dict(space), trials=trial_rows(study),
            best=_best(study), importances=importances, importance_note=note,
            ran=len(mine), ran_trials=sorted(mine), total_seconds=0.0, config=config)
    # the report itself (a second or so) is left out, so results.json holds the same number
    result.total_seconds = time.perf_counter() - started
    if write_report:
        from cnnlab.tune.document import write_outputs

        write_outputs(result)
    return result


def _trial_line(trial, metric: str) -> str:
    value = "-" if trial.value is None else f"{trial.value:.4f}"
    seconds = trial.duration.total_seconds() if trial.duration is not None else 0.0
    return (f"trial {trial.number}: {trial.state.name.lower()}, {metric} {value}, "
            f"{trial.user_attrs.get('epochs', 0)} epoch(s), {seconds:.1f} s")
