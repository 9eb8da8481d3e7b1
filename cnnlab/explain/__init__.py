"""Explain a trained run: filters, feature maps, Grad-CAM, activation maximisation,
robustness to shifts, and logistic-regression coefficient images.

Importing this package imports torch; ``cnnlab.cli.explain_cmd`` imports it only inside
its handler.

>>> from cnnlab.explain import PARTS
>>> PARTS
('filters', 'maps', 'gradcam', 'maximize', 'shift', 'coef')
"""

from cnnlab.explain.coefficients import coefficient_images, is_linear_model
from cnnlab.explain.feature_maps import conv_layer_names, feature_maps, get_layer, layer_table, named_layers
from cnnlab.explain.filters import describe_filters, filter_weights, first_conv, normalise_filters
from cnnlab.explain.gradcam import CamResult, default_cam_layer, grad_cam, normalise_cam, upsample_cam
from cnnlab.explain.images import load_image
from cnnlab.explain.maximize import MaximizeResult, Objective, maximize
from cnnlab.explain.robustness import shift_curve, shift_robustness
from cnnlab.explain.run import PARTS, ExplainConfig, explain_run

__all__ = ["PARTS", "ExplainConfig", "explain_run", "first_conv", "filter_weights",
           "normalise_filters", "describe_filters", "named_layers", "get_layer", "conv_layer_names",
           "feature_maps", "layer_table", "grad_cam", "CamResult", "default_cam_layer",
           "upsample_cam", "normalise_cam", "maximize", "Objective", "MaximizeResult",
           "shift_curve", "shift_robustness", "coefficient_images", "is_linear_model", "load_image"]
