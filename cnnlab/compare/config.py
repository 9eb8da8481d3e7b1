"""The settings of a comparison and its contenders (saved as ``config.yaml`` in its folder)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from cnnlab.settings import setting, shared
from cnnlab.train.config import TrainConfig

__all__ = ["CompareConfig", "CompareModel", "COMPARE_MODELS", "RESUME_IGNORES", "config_dict", "default_models",
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
    """Settings of one comparison (saved as config.yaml in the run folder); each field is also
    the ``cnnlab compare`` flag of its name. The settings it shares with a training run are
    TrainConfig's fields (:func:`cnnlab.settings.shared`: the same help, limits and choices)."""

    data: str = shared(TrainConfig, "data", "mnist", metavar="NAME|PATH")
    out: str | None = shared(TrainConfig, "out", help="run folder (default runs/compare-<data>-<timestamp>)")
    epochs: int = shared(TrainConfig, "epochs", DEFAULT_EPOCHS, help="epochs for the torch models")
    batch_size: int = shared(TrainConfig, "batch_size")
    limit: int | None = shared(TrainConfig, "limit", help="use at most N training examples, for every model "
                                                         "(default: all)")
    logreg_limit: int | None = setting(DEFAULT_LOGREG_LIMIT, "training examples for logistic regression, 0 = all",
                                       parse="cap", metavar="N", default_text="all")
    logreg_max_iter: int = setting(DEFAULT_LOGREG_MAX_ITER, "lbfgs iterations at most", parse="positive_int",
                                   metavar="N")
    logreg_c: float = setting(DEFAULT_LOGREG_C, "inverse L2 strength of logistic regression (the default "
                                                "gives smooth weight pictures)", metavar="C")
    seed: int = shared(TrainConfig, "seed", help="seed of initialisation, batch order, the logreg subsample "
                                                 "and the shifts; the split stays fixed")
    split_seed: int = shared(TrainConfig, "split_seed")
    models: list[str] = setting(help=f"comma-separated subset of {','.join(COMPARE_MODELS)}, other models of "
                                     "cnnlab train --list-models, or an architecture spec such as \"conv 3x3 32 "
                                     "p1; relu; maxpool 2; fc 10\" (repeat --models for several)",
                                factory=lambda: list(COMPARE_MODELS), metavar="LIST",
                                default_text="all; none when --runs is given: only the runs are scored")
    runs: list[str] = setting(help="your own run folders (cnnlab train, spec runs) or tune study folders (their "
                                   "best trial): scored on the same splits, added to the table and the curves",
                              factory=list, metavar="DIR")
    device: str = shared(TrainConfig, "device", help="where the torch models train")
    threads: int | None = shared(TrainConfig, "threads", help="CPU threads for torch and BLAS (default: all "
                                                              "cores but one)", metavar="N")
    shift_fraction: float = setting(SHIFT_FRACTION, "largest horizontal shift of the shifted scores, as a "
                                                    "fraction of the width", hidden=True)
    data_dir: str | None = shared(TrainConfig, "data_dir")


def default_models(runs: list[str]) -> list[str]:
    """The models compared when none are named: all of COMPARE_MODELS, or none beside
    ``runs`` (only the runs are scored). The CLI and ``cnnlab.compare`` both use it.

    >>> default_models(["runs/mine"])
    []
    """
    return [] if runs else list(COMPARE_MODELS)


# settings that may differ when an interrupted comparison is resumed in the same folder
RESUME_IGNORES = ("out", "threads", "device")


def config_dict(config: CompareConfig) -> dict[str, Any]:
    """The config as plain data (for config.yaml and results.json)."""
    return asdict(config)
