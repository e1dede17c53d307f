"""Model zoo: CropNet (2D, lite, 1D), ResNet-50 and EfficientNetV2-S baselines, TempCNN, MLP,
random forest, LightGBM and fine-tuned Presto (``presto-ft``) behind one registry, with code-free
(no-pickle) persistence.

Public face: :func:`get_model`, :func:`model_info`, :func:`list_models`, :func:`model_options`,
:class:`ModelSpec`, :func:`save_torch` / :func:`load_torch`, :func:`save_model` /
:func:`load_model` (any family) and :class:`TabularClassifier`.
"""

from cropglobe.models.io import load_model, load_torch, save_model, save_torch
from cropglobe.models.registry import (
    ModelInfo,
    build,
    check_pair,
    check_study_options,
    get_model,
    list_models,
    model_info,
    model_options,
)
from cropglobe.models.spec import ModelSpec
from cropglobe.models.tabular import TabularClassifier

__all__ = ["ModelInfo", "ModelSpec", "TabularClassifier", "build", "check_pair", "check_study_options", "get_model",
           "list_models", "load_model", "load_torch", "model_info", "model_options", "save_model", "save_torch"]
