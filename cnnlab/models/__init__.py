"""Models cnnlab trains: course-sheet CNNs, baselines and torchvision backbones.

>>> from cnnlab.models import get_model, count_params
>>> count_params(get_model("small-cnn", in_channels=1, num_classes=10, input_size=(28, 28)))
21840
>>> count_params(get_model("conv 5x5 6; relu; maxpool 2", 1, 10, (28, 28)))  # a spec: fc 10 added
8806
"""

from cnnlab.models.finetune import count_trainable, freeze_backbone, head_name, param_groups, unfreeze
from cnnlab.models.pretrained import load_pretrained
from cnnlab.models.registry import (count_params, get_model, is_model, list_models, model_description,
                                    model_options, option_help)

__all__ = ["list_models", "get_model", "count_params", "model_description", "model_options", "option_help",
           "is_model", "load_pretrained", "freeze_backbone", "unfreeze", "head_name", "param_groups",
           "count_trainable"]
