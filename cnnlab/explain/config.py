"""ExplainConfig: what ``cnnlab explain`` draws and how; each field is also its flag.

Light (no torch): the CLI builds the flags from it before any part is imported.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnlab.settings import setting, shared
from cnnlab.train.config import SPLITS, TrainConfig

__all__ = ["PARTS", "ExplainConfig"]

PARTS = ("filters", "maps", "gradcam", "maximize", "shift", "coef")


@dataclass
class ExplainConfig:
    """What to explain and how (the flags of ``cnnlab explain``, help and limits in the fields)."""

    what: list[str] = setting(help="all, or a comma-separated list of: " + ", ".join(PARTS),
                              factory=lambda: ["all"], metavar="PARTS", default_text="all")
    out: str | None = setting(None, "folder for the pictures and explain.html (default RUN_DIR/explain)",
                              metavar="DIR")
    layer: str | None = setting(None, "layer for maps, gradcam and the default maximize channels",
                                metavar="NAME")
    image: str | None = setting(None, "explain this image file instead of --index", metavar="PATH")
    index: int = setting(0, "first image of the split to explain", metavar="N")
    count: int = setting(8, "images in the Grad-CAM picture", low=1, high="count", metavar="N")
    target_class: str | None = setting(None, "class (index or name) Grad-CAM explains (default: the predicted "
                                             "one)", metavar="K")
    maximize: str | None = setting(None, "what activation maximisation targets, e.g. classes or "
                                         "features.3:5", metavar="SPEC")
    # gradient-ascent steps at lr 0.04 (maximize.STEPS)
    steps: int = setting(128, "gradient-ascent steps of maximize (each part's work is bounded, "
                              "docs/limits.md)", low=1, high="steps", metavar="N")
    seed: int = shared(TrainConfig, "seed", help="seed of maximize")
    max_shift: int = setting(4, "shift curves from -N to N pixels", metavar="N")
    split: str = setting("test", "split the images come from", choices=SPLITS)
    limit: int | None = shared(TrainConfig, "limit", help="use the first N images of the split for the shift "
                                                         "curves (default: 2,000 evenly spaced ones, or all if "
                                                         "fewer)")
    device: str = shared(TrainConfig, "device", "cpu", help="device of the shift curves")
