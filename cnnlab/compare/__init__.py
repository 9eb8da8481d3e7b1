"""The comparison experiment: logistic regression vs MLPs vs a small CNN, clean and shifted.

>>> from cnnlab.compare import mlp_hidden_for_budget
>>> mlp_hidden_for_budget(21840, 784, 10)
[27, 14, 7]
"""

from cnnlab.compare.compare import COMPARE_MODELS, CompareConfig, CompareResult, ModelResult, run_compare
from cnnlab.compare.mlp_budget import mlp_hidden_for_budget, mlp_params

__all__ = [
    "COMPARE_MODELS",
    "CompareConfig",
    "CompareResult",
    "ModelResult",
    "run_compare",
    "mlp_hidden_for_budget",
    "mlp_params",
]
