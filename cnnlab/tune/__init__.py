"""Hyper-parameter tuning: Optuna studies whose trials are cnnlab training runs.

``space`` parses and checks a search space and draws a trial's values, ``study`` runs
the study (trials are :func:`cnnlab.train.fit` runs, pruned through ``on_epoch``),
``page`` writes the table, pictures and report. Optuna and torch are imported inside the
functions that need them.

>>> from cnnlab.tune import TuneConfig
>>> TuneConfig(data="digits", model="mlp").sampler
'tpe'
"""

from cnnlab.tune.space import Param, default_space, load_space, parse_space, suggest
from cnnlab.tune.study import TuneConfig, TuneResult, default_out, run_study, trial_config

__all__ = ["TuneConfig", "TuneResult", "run_study", "trial_config", "default_out", "Param",
           "parse_space", "load_space", "default_space", "suggest"]
