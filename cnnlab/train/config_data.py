"""The data a training config names: loaded now, or on a thread while torch is imported.

One rule for every command that reads a run's data (train, evaluate, explain): the same
split settings (``val_fraction``, ``split_seed``, ``limit``, ``resize``, ``strict``) give
the same split. No torch here, so that :func:`load_in_background` can start before torch
is imported: ``import torch`` takes ~1 s of a one-epoch MNIST run and reading MNIST (files,
SHA-256 sums, split, statistics) ~0.16 s; file reads, hashing and NumPy release the GIL,
so the two overlap on two cores (docs/training.md, "Speed").
"""

from __future__ import annotations

import threading
from concurrent.futures import Future

from cnnlab.train.config import TrainConfig

__all__ = ["load_config_dataset", "load_config_split", "load_config_labelled_split", "load_in_background"]


def _split_settings(config: TrainConfig) -> dict:
    """The loaders' keywords that decide which images a config's run sees and how."""
    return dict(data_dir=config.data_dir, val_fraction=config.val_fraction, seed=config.split_seed,
                limit=config.limit, resize=config.resize_hw(), strict=config.strict)


def load_config_dataset(config: TrainConfig, data: str | None = None, *, stored: bool = False):
    """The dataset a config names (same split for the same config), or ``data`` read with
    the config's split settings.

    ``stored``: images kept as stored, prepared per batch (training; docs/limits.md "Memory").
    """
    from cnnlab.data import load_dataset

    return load_dataset(data or config.data, stored=stored, **_split_settings(config))


def load_config_split(config: TrainConfig, split: str):
    """``(x, y)`` of one split of the dataset a config names, equal to
    ``load_config_dataset(config).split(split)`` but reading only what that split needs
    (the official test split without the training files: explain)."""
    from cnnlab.data import load_split

    return load_split(config.data, split, **_split_settings(config))


def load_config_labelled_split(config: TrainConfig, split: str, data: str | None = None):
    """One split of the dataset a config names (or of ``data``, read with the config's
    split settings) with its class names, the images as stored (scored a batch at a time):
    a :class:`cnnlab.data.LabelledSplit` (evaluate)."""
    from cnnlab.data import load_labelled_split

    return load_labelled_split(data or config.data, split, **_split_settings(config))


def load_in_background(config: TrainConfig) -> Future:
    """A Future of ``load_config_dataset(config, stored=True)``, started now on a thread.

    Its errors (a missing dataset, an unreadable folder) are raised by ``result()``, where
    :func:`cnnlab.train.fit` asks for the data, so they come in the usual order.
    """
    future: Future = Future()

    def work() -> None:
        try:
            future.set_result(load_config_dataset(config, stored=True))
        except BaseException as exc:  # noqa: BLE001 - raised by result() in the run
            future.set_exception(exc)

    threading.Thread(target=work, name="cnnlab-data", daemon=True).start()
    return future
