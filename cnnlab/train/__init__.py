"""Training, evaluation and run folders.

torch is imported only when something that needs it is used: ``from cnnlab.train import
TrainConfig`` (or the recipes) stays light, so a notebook or a CLI ``--help`` can build a
config without paying for torch.

>>> from cnnlab.train import TrainConfig
>>> TrainConfig(data="digits", model="cnn3").optimizer
'adam'
"""

from __future__ import annotations

import importlib
from typing import Any

from cnnlab.train.config import TrainConfig

__all__ = ["TrainConfig", "fit", "RunResult", "train_epoch", "evaluate_model", "evaluate_run",
           "load_run", "LoadedRun", "shift_images", "random_translate", "confusion_matrix",
           "binary_metrics", "roc_auc", "get_recipe", "list_recipes"]

# public name -> module that defines it (imported on first use)
_LAZY = {
    "fit": "loop", "RunResult": "loop", "train_epoch": "loop",
    "evaluate_run": "evaluate", "load_run": "evaluate", "LoadedRun": "evaluate",
    "evaluate_model": "metrics", "confusion_matrix": "metrics", "binary_metrics": "metrics",
    "roc_auc": "metrics", "shift_images": "shift", "random_translate": "shift",
    "get_recipe": "recipes", "list_recipes": "recipes",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"cnnlab.train.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cnnlab.train' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
