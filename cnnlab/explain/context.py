"""What every part of an explanation works on: the loaded run, its data (loaded on first
use), the objectives, the images of the shift curves, and where the files go."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cnnlab.errors import UsageError
from cnnlab.explain.objectives import parse_objectives

if TYPE_CHECKING:  # run.py holds the config and imports this module
    from cnnlab.explain.run import ExplainConfig

__all__ = ["SHIFT_SAMPLE", "RunContext", "safe_name"]

# Images of the split in the shift curves when --limit is not given: an evenly spaced
# sample. Standard error of an accuracy p on n images is sqrt(p(1-p)/n): at most 1.1
# points at 2,000, 0.3 near 98%; all 10,000 MNIST test images took 5x as long, about half
# of explain's time (docs/cli.md, "Speed and work bounds").
SHIFT_SAMPLE = 2000


def safe_name(layer: str) -> str:
    """A layer name as part of a file name: ``features.0`` stays, other characters become ``_``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", layer)


def _load_split(train_config, split: str) -> tuple[np.ndarray, np.ndarray]:
    """x: (N, C, H, W) float32 in [0, 1], y: (N,) of one split of the run's data, reading
    only that split's files where it can (MNIST's test split: 0.1 s instead of all of
    MNIST's 0.8 s); the training statistics come from the run's model.json."""
    from cnnlab.train.loop import load_config_split

    return load_config_split(train_config, split)



class RunContext:
    """The loaded run, its data (loaded on first use) and where files go."""

    def __init__(self, run_dir, config: ExplainConfig):
        from cnnlab.train.evaluate import load_run

        from cnnlab.explain.feature_maps import resolve_layer

        self.run = load_run(run_dir)
        meta = self.run.meta
        self.model = self.run.model.eval()
        if config.layer:  # "conv2" as --list-layers prints it: the module path from here on
            config = dataclasses.replace(config, layer=resolve_layer(self.model, config.layer))
        self.config = config
        self.shape = (int(meta["in_channels"]), *map(int, meta["input_size"]))  # (C, H, W)
        self.classes = [str(c) for c in meta["classes"]]
        self.mean = np.asarray(meta["mean"], np.float32)
        self.std = np.asarray(meta["std"], np.float32)
        self.out = Path(config.out) if config.out else self.run.run_dir / "explain"
        self._data = None
        self._macs: int | None = None
        self._objectives: list | None = None

    @property
    def macs(self) -> int:
        """Multiply-adds of one forward pass of one image (the unit of the work bounds)."""
        if self._macs is None:
            from cnnlab.explain.budget import model_macs

            self._macs = model_macs(self.model, self.shape)
        return self._macs

    def objectives(self) -> list:
        """The groups of maximisation objectives (--maximize, or the default)."""
        if self._objectives is None:
            import torch

            from cnnlab.explain.feature_maps import conv_layer_names, feature_maps

            def channels_of(layer: str) -> int:
                return int(feature_maps(self.model, torch.zeros(1, *self.shape), [layer])[layer].shape[1])

            spec = self.config.maximize
            if spec is None:
                convs = conv_layer_names(self.model)
                spec = "classes" + (f"+{self.config.layer or convs[-1]}" if convs else "")
            self._objectives = parse_objectives(spec, len(self.classes), channels_of, list(self.classes))
        return self._objectives

    def shift_images(self) -> tuple[np.ndarray, np.ndarray]:
        """x: (n, C, H, W), y: (n,) of the shift curves: the first --limit images of the
        split, or an evenly spaced sample of SHIFT_SAMPLE."""
        x, y = self.split()
        if self.config.limit is not None:
            if self.config.limit < 1:
                raise UsageError(f"--limit must be at least 1, got {self.config.limit}")
            return x[:self.config.limit], y[:self.config.limit]
        if len(x) <= SHIFT_SAMPLE:
            return x, y
        keep = np.arange(SHIFT_SAMPLE) * len(x) // SHIFT_SAMPLE  # evenly spaced indices
        return x[keep], y[keep]

    def split(self) -> tuple[np.ndarray, np.ndarray]:
        """x: (N, C, H, W) in [0, 1] and y: (N,) of the configured split of the run's data."""
        if self._data is None:
            x, y = _load_split(self.run.config, self.config.split)
            if tuple(x.shape[1:]) != self.shape:
                raise UsageError(f"the run's data now has images of shape {tuple(x.shape[1:])}, "
                                 f"the model takes {self.shape}")
            if len(x) == 0:
                raise UsageError(f"the {self.config.split} split of {self.run.config.data} is empty")
            self._data = (x, y)
        return self._data

    def normalise(self, x: np.ndarray):
        from cnnlab.train.metrics import to_normalised_tensor

        return to_normalised_tensor(x, self.mean, self.std)

    def inputs(self, count: int) -> tuple[np.ndarray, list, list[str]]:
        """Images (N, C, H, W), their labels (None for a file) and names."""
        c = self.config
        if c.image is not None:
            from cnnlab.explain.images import load_image

            return load_image(c.image, self.shape[0], self.shape[1:])[None], [None], [Path(c.image).name]
        x, y = self.split()
        if not 0 <= c.index < len(x):
            raise UsageError(f"--index {c.index} is out of range: the {c.split} split has "
                             f"{len(x)} images (0 to {len(x) - 1})")
        stop = min(len(x), c.index + count)
        return x[c.index:stop], [int(v) for v in y[c.index:stop]], [f"#{i}" for i in range(c.index, stop)]
