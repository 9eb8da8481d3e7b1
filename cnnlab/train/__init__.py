"""Training, evaluation and run folders (torch is imported here).

>>> from cnnlab.train import TrainConfig
>>> TrainConfig(data="digits", model="cnn3").optimizer
'adam'
"""

from cnnlab.train.config import TrainConfig
from cnnlab.train.evaluate import LoadedRun, evaluate_run, load_run
from cnnlab.train.loop import RunResult, fit, train_epoch
from cnnlab.train.metrics import binary_metrics, confusion_matrix, evaluate_model, roc_auc
from cnnlab.train.shift import random_translate, shift_images

__all__ = ["TrainConfig", "fit", "RunResult", "train_epoch", "evaluate_model", "evaluate_run",
           "load_run", "LoadedRun", "shift_images", "random_translate", "confusion_matrix",
           "binary_metrics", "roc_auc"]
