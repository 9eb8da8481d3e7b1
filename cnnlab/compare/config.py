"""The settings of a comparison and its contenders (saved as ``config.yaml`` in its folder)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["CompareConfig", "CompareModel", "COMPARE_MODELS", "RESUME_IGNORES", "config_dict",
           "DEFAULT_EPOCHS", "DEFAULT_LOGREG_LIMIT", "DEFAULT_LOGREG_MAX_ITER", "DEFAULT_LOGREG_C",
           "SHIFT_FRACTION"]

# Defaults measured on MNIST on the 2-core AMD EPYC with other jobs running
# (benchmarks/RESULTS.md, section compare): 3 epochs, full training set, one thread per
# model: the whole comparison took 46 s at load average 2.5 and 77 s at 5-6 (target:
# under 4 minutes), and small-cnn reached 98.5% test accuracy.
DEFAULT_EPOCHS = 3
# lbfgs on all 54,000 training images, 100 iterations: 7-11 s with one BLAS thread
# (val 0.913 vs 0.877 on a 10,000 subsample, and more iterations did not help).
DEFAULT_LOGREG_LIMIT: int | None = None
DEFAULT_LOGREG_MAX_ITER = 100
# L2 strength 1/C: C = 0.001 gives weight pictures that show stroke templates, for
# 0.906 validation accuracy vs 0.914 at the best C (0.01) and 0.913 at scikit-learn's
# default C = 1, whose pictures are pixel noise (same section of RESULTS.md).
DEFAULT_LOGREG_C = 0.001
SHIFT_FRACTION = 0.1  # largest horizontal shift, as a fraction of the width (RandomAffine translate)


@dataclass(frozen=True)
class CompareModel:
    """One contender: how it is built and trained."""

    name: str
    description: str
    kind: str                      # "sklearn" or "torch"
    registry_name: str = ""        # cnnlab.models name of a torch model
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.0
    loss: str = "cross_entropy"
    hidden: tuple[int, ...] = ()   # MLP widths; empty for mlp-budget = sized at run time


COMPARE_MODELS: dict[str, CompareModel] = {
    m.name: m
    for m in (
        CompareModel("logreg", "logistic regression (scikit-learn, lbfgs)", "sklearn"),
        CompareModel("mlp", "MLP 256-128-64, SGD lr 0.01 momentum 0.5, NLL loss", "torch", "mlp",
                     optimizer="sgd", lr=0.01, momentum=0.5, loss="nll", hidden=(256, 128, 64)),
        CompareModel("small-cnn", "small CNN (2 conv + 2 fc), Adam lr 0.001", "torch", "small-cnn"),
        CompareModel("mlp-budget", "MLP sized to small-cnn's parameter count, Adam lr 0.001", "torch", "mlp"),
    )
}


@dataclass
class CompareConfig:
    """Settings of one comparison (saved as config.yaml in the run folder)."""

    data: str = "mnist"
    out: str | None = None              # run folder; default runs/compare-<data>-<timestamp>
    epochs: int = DEFAULT_EPOCHS        # for the torch models
    batch_size: int = 64
    limit: int | None = None            # cap on training examples (all models)
    logreg_limit: int | None = DEFAULT_LOGREG_LIMIT  # further cap for logistic regression
    logreg_max_iter: int = DEFAULT_LOGREG_MAX_ITER
    logreg_c: float = DEFAULT_LOGREG_C  # inverse L2 strength of logistic regression
    seed: int = 0                       # initialisation, batch order, logreg subsample, shifts
    split_seed: int = 0                 # train/val/test split (fixed, as cnnlab train: seeds share a split)
    models: list[str] = field(default_factory=lambda: list(COMPARE_MODELS))  # also registry names, specs
    runs: list[str] = field(default_factory=list)  # run folders of cnnlab train / study folders of tune
    device: str = "auto"
    threads: int | None = None          # CPU threads for torch and BLAS; default cores - 1 (see default_threads)
    shift_fraction: float = SHIFT_FRACTION
    data_dir: str | None = None


# settings that may differ when an interrupted comparison is resumed in the same folder
RESUME_IGNORES = ("out", "threads", "device")


def config_dict(config: CompareConfig) -> dict[str, Any]:
    """The config as plain data (for config.yaml and results.json)."""
    return asdict(config)
