"""Model registry: one name per architecture, its family, input kind, source and builder.

``get_model(name, n_bands, n_times, n_classes, **options)`` returns an ``nn.Module`` for torch
models (inputs ``(N, B, T)`` float32, outputs logits ``(N, n_classes)``) and a
:class:`~cropglobe.models.tabular.TabularClassifier` for ``rf`` / ``lightgbm``. Every model built
here carries its :class:`~cropglobe.models.spec.ModelSpec` (``model.cropglobe_spec`` for torch,
``model.spec`` for tabular), which is what saving records and loading rebuilds from.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from cropglobe.checks import whole_number
from cropglobe.errors import CropGlobeError
from cropglobe.models.spec import ModelSpec
from cropglobe.models.tabular import LGBM_DEFAULTS, RF_DEFAULTS, TabularClassifier


@dataclass(frozen=True)
class ModelInfo:
    """What the experiment runner needs to know about a registered model."""

    name: str
    family: Literal["torch", "tabular"]
    input_kind: Literal["matrix", "vector"]
    source: str
    builder: str  # "module:function"
    description: str
    #: "module:function" ``init(model, options) -> options to record`` run on a newly built model
    #: (pretrained weights); never when a saved model is loaded (its file holds the trained weights).
    init: str | None = None
    #: The only feature families the model takes (empty: any family of its input kind).
    features: tuple[str, ...] = ()


_PAPER = "Tong & Wang 2025, arXiv:2509.03497"
_REGISTRY: dict[str, ModelInfo] = {m.name: m for m in (
    ModelInfo("cropnet", "torch", "matrix", f"{_PAPER} (v2, CropNet)", "cropnet:cropnet",
              "2D CNN, 4 blocks 64/128/256/512, 4,689,735 parameters for 7 classes"),
    ModelInfo("cropnet-lite", "torch", "matrix", f"{_PAPER}, authors' released code",
              "cropnet:cropnet_lite", "2D CNN, 4 blocks of width 128, 1,036,295 parameters"),
    ModelInfo("cropnet1d", "torch", "matrix", f"{_PAPER}; Pelletier et al. 2019",
              "cropnet1d:cropnet1d", "CropNet blocks as Conv1d over time, bands as channels"),
    ModelInfo("resnet50", "torch", "matrix", "He et al. 2016, CVPR (ResNet-50)", "resnet:resnet50",
              "ResNet-50, stride-1 stem without max-pool, 1-channel input"),
    ModelInfo("efficientnet-v2-s", "torch", "matrix", "Tan & Le 2021, ICML (EfficientNetV2-S)",
              "efficientnet:efficientnet_v2_s", "EfficientNetV2-S, stride-1 stem, 1-channel input"),
    ModelInfo("tempcnn", "torch", "matrix", "Pelletier et al. 2019, Remote Sensing 11(5):523",
              "tempcnn:tempcnn", "TempCNN: 3 temporal convs of 64 filters + dense 256"),
    ModelInfo("tempcnn-anchored", "torch", "matrix", "Pelletier et al. 2019 (TempCNN); anchor: cropglobe, issue 28",
              "anchor:tempcnn_anchored", "TempCNN on each pixel's series re-read around the centre of its own "
              "green season, the shift kept as one extra channel"),
    ModelInfo("mlp", "torch", "vector", "Rumelhart et al. 1986, Nature 323:533",
              "mlp:mlp", "MLP (256, 128) with BN and dropout on n_bands x n_times features"),
    ModelInfo("rf", "tabular", "vector", "Breiman 2001, Machine Learning 45:5 (scikit-learn)",
              "tabular:TabularClassifier", "random forest, 500 trees, class_weight balanced"),
    ModelInfo("lightgbm", "tabular", "vector", "Ke et al. 2017, NeurIPS (LightGBM)",
              "tabular:TabularClassifier", "gradient-boosted trees, class-balanced, deterministic"),
    ModelInfo("presto-ft", "torch", "vector", "Tseng et al. 2023, arXiv:2304.14065 (Presto, fine-tuned)",
              "presto_ft:presto_ft", "pretrained Presto encoder + linear head, fine-tuned end to end on "
              "presto-input rows; needs Presto's weights", "presto_ft:init_pretrained", ("presto-input",)),
)}


def list_models() -> list[str]:
    """Names of all registered models."""
    return list(_REGISTRY)


def model_info(name: str) -> ModelInfo:
    """Registry entry of ``name``.

    Raises:
        CropGlobeError: If ``name`` is not registered.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise CropGlobeError(f"unknown model {name!r}; available: {', '.join(_REGISTRY)}") from None


def _builder(info: ModelInfo, target: str | None = None) -> Callable[..., Any]:
    module, func = (target or info.builder).split(":")
    return getattr(importlib.import_module(f"cropglobe.models.{module}"), func)


def check_pair(feature: str, model: str, where: str) -> None:
    """Raise unless ``model`` takes feature family ``feature`` (a model or family tied to the other).

    Raises:
        CropGlobeError: E.g. ``presto-ft`` with ``harmonic``, or ``presto-input`` with ``rf``.
    """
    info = model_info(model)
    if info.features and feature not in info.features:
        noun = "family" if len(info.features) == 1 else "families"
        raise CropGlobeError(f"{where}: model {model!r} takes the feature {noun} "
                             f"{', '.join(info.features)}, not {feature!r}")
    owners = [m.name for m in _REGISTRY.values() if feature in m.features]
    if owners and model not in owners:
        raise CropGlobeError(f"{where}: feature {feature!r} is the input of {', '.join(owners)} only, not of {model!r}")


def model_options(name: str) -> dict[str, Any]:
    """Options accepted by ``name`` with their defaults (plus ``seed``)."""
    info = model_info(name)
    if info.family == "tabular":
        return {**(RF_DEFAULTS if name == "rf" else LGBM_DEFAULTS), "seed": 0}
    params = list(inspect.signature(_builder(info)).parameters.values())[3:]
    return {**{p.name: p.default for p in params}, "seed": None}


#: LightGBM's options and the values each accepts (LightGBM itself checks some only while training).
_LGBM_RANGES: dict[str, tuple[str, float, float]] = {
    "n_estimators": ("int", 1, float("inf")), "num_leaves": ("int", 2, 131072),
    "min_child_samples": ("int", 0, float("inf")), "subsample_freq": ("int", 0, float("inf")),
    "learning_rate": ("float", 0, float("inf")), "subsample": ("float", 0, 1), "colsample_bytree": ("float", 0, 1),
    "reg_lambda": ("float", 0, float("inf")),
}


def check_options(name: str, options: dict[str, Any], where: str) -> None:
    """Check a model's options without building or training it (a study checks every cell's first).

    Every model: the option names (:func:`model_options`) and ``seed``. Random forest: scikit-learn's
    parameter constraints. LightGBM: the ranges of :data:`_LGBM_RANGES`. Torch models' values are
    checked when the model is built (their sizes depend on the data).

    Raises:
        CropGlobeError: ``"<where>: ..."`` naming the model and the first bad option.
    """
    import math

    model_info(name)
    if not isinstance(options, dict):
        raise CropGlobeError(f"{where}: expected a mapping of option names to values, got {options!r}")
    allowed = model_options(name)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise CropGlobeError(f"{where}: model {name!r}: unknown option(s) {unknown}; allowed: {sorted(allowed)}")
    if options.get("seed") is not None:
        whole_number(options["seed"], f"{where}: model {name!r}: seed", minimum=0)
    if name == "rf":
        clf = TabularClassifier(ModelSpec(name, 1, 1, 2, dict(options)))
        try:
            clf._build()._validate_params()
        except (ValueError, TypeError) as err:
            raise CropGlobeError(f"{where}: model {name!r}: {err}") from None
    elif name == "lightgbm":
        for key, (kind, lo, hi) in _LGBM_RANGES.items():
            if key not in options:
                continue
            value = options[key]
            if kind == "int":
                whole_number(value, f"{where}: model {name!r}: {key}", minimum=int(lo))
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or not (lo < value <= hi):
                raise CropGlobeError(f"{where}: model {name!r}: {key} {value!r}: expected a number in "
                                     f"({lo:g}, {hi:g}]")


def check_study_options(model_options: dict[str, dict[str, Any]]) -> None:
    """Check a study's ``model_options`` (every model named there) before its first cell trains.

    Raises:
        CropGlobeError: ``"config: model_options.<model>: ..."`` for an unknown model or a bad option.
    """
    for name, options in model_options.items():
        where = f"config: model_options.{name}"
        try:
            model_info(name)
        except CropGlobeError as err:
            raise CropGlobeError(f"{where}: {err}") from None
        check_options(name, options, where)


def build(spec: ModelSpec, init: bool = True) -> Any:
    """Build the (untrained) model a spec describes; see :func:`get_model`.

    With ``init`` a model that has an ``init`` hook (pretrained weights) runs it and records the
    options it returns (e.g. the weights' sha256) in ``model.cropglobe_spec``; loading a saved
    model builds with ``init=False`` and then copies the saved weights in.
    """
    info = model_info(spec.name)
    for key in ("n_bands", "n_times", "n_classes"):
        value = getattr(spec, key)
        whole_number(value, f"model {spec.name!r}: {key}", minimum=1)
    if spec.n_classes < 2:
        raise CropGlobeError(f"model {spec.name!r}: n_classes must be at least 2, got {spec.n_classes}")
    if info.family == "tabular":
        return TabularClassifier(spec)
    allowed = model_options(spec.name)
    unknown = set(spec.options) - set(allowed)
    if unknown:
        raise CropGlobeError(f"model {spec.name!r}: unknown option(s) {sorted(unknown)}; "
                             f"allowed: {sorted(allowed)}")
    options = dict(spec.options)
    seed = options.pop("seed", None)
    import torch

    try:
        with torch.random.fork_rng(devices=[], enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(int(seed))
            model = _builder(info)(spec.n_bands, spec.n_times, spec.n_classes, **options)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise CropGlobeError(f"model {spec.name!r}: invalid options {spec.options}: {exc}") from None
    if init and info.init is not None:
        recorded = _builder(info, info.init)(model, dict(spec.options))
        spec = dataclasses.replace(spec, options=recorded)
    model.cropglobe_spec = spec
    return model


def get_model(name: str, n_bands: int, n_times: int, n_classes: int, **options: Any) -> Any:
    """Build a registered model.

    Args:
        name: One of :func:`list_models`.
        n_bands: Bands ``B`` of the input (for ``vector`` models ``F = n_bands × n_times``).
        n_times: Time bins ``T`` (or values per band for vector features).
        n_classes: Output classes.
        **options: Architecture options (see :func:`model_options`); ``seed`` fixes the
            initialisation of torch models and the randomness of tabular ones.

    Returns:
        An ``nn.Module`` (family ``torch``) or a ``TabularClassifier`` (family ``tabular``).

    Raises:
        CropGlobeError: For an unknown name, unknown options or invalid values.
    """
    model_info(name)
    return build(ModelSpec(name, n_bands, n_times, n_classes, options))
