"""Explain a trained run: filters, feature maps, Grad-CAM, activation maximisation,
robustness to shifts, and logistic-regression coefficient images.

Importing this package does not import torch: :class:`ExplainConfig` and ``PARTS`` are
light (the CLI builds ``cnnlab explain``'s flags from them), and every other name is
imported from its module when first used.

>>> from cnnlab.explain import PARTS
>>> PARTS
('filters', 'maps', 'gradcam', 'maximize', 'shift', 'coef')
"""

import importlib
import sys
import types

from cnnlab import _CommandPackage

from cnnlab.explain.config import PARTS, ExplainConfig

# name -> module that holds it, imported on first use (these import torch)
_LAZY = {
    "coefficient_images": "coefficients", "is_linear_model": "coefficients",
    "conv_layer_names": "feature_maps", "feature_maps": "feature_maps", "get_layer": "feature_maps",
    "layer_table": "feature_maps", "named_layers": "feature_maps",
    "describe_filters": "filters", "filter_weights": "filters", "first_conv": "filters",
    "normalise_filters": "filters",
    "CamResult": "gradcam", "default_cam_layer": "gradcam", "grad_cam": "gradcam", "normalise_cam": "gradcam",
    "upsample_cam": "gradcam",
    "load_image": "images",
    "MaximizeResult": "maximize", "Objective": "maximize", "maximize": "maximize",
    "shift_curve": "robustness", "shift_robustness": "robustness",
    "explain_run": "run",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)


class _Package(_CommandPackage):
    """This package, whose names ``maximize`` and ``feature_maps`` stay the functions once
    their modules of the same name are imported (Python binds a submodule to the package
    under its own name; the eager imports this package once made bound the functions).
    Still callable as ``cnnlab.explain(...)`` (see :mod:`cnnlab`)."""

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, types.ModuleType) and _LAZY.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__all__ = ["PARTS", "ExplainConfig", "explain_run", "first_conv", "filter_weights",
           "normalise_filters", "describe_filters", "named_layers", "get_layer", "conv_layer_names",
           "feature_maps", "layer_table", "grad_cam", "CamResult", "default_cam_layer",
           "upsample_cam", "normalise_cam", "maximize", "Objective", "MaximizeResult",
           "shift_curve", "shift_robustness", "coefficient_images", "is_linear_model", "load_image"]
