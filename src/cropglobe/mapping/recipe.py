"""The mapping recipe: what a trained transfer cell needs to turn new imagery into model inputs.

A transfer run (``cropglobe transfer``) writes per cell ``RUN_DIR/cells/<cell>/model`` and
``recipe.json`` (see :func:`cropglobe.experiment.fitting.write_recipe`): model name, feature
family and options, the flatten flag, band order, class names, compositing settings and the
season-window bins. :func:`load_recipe` accepts the cell folder or the ``recipe.json`` path,
checks every field and loads the model safely (:func:`cropglobe.models.load_model`, never
unpickling).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cropglobe.errors import CropGlobeError

_REQUIRED = ("model", "feature", "bands", "classes", "composite", "window_bins")


@dataclass(frozen=True)
class Recipe:
    """A validated ``recipe.json`` and the model file it names.

    Attributes:
        path: The recipe file.
        model_path: The model file (``model`` next to the recipe by default).
        model: Registry model name (``cropnet-lite``, ``lightgbm`` ...).
        family: ``torch`` or ``tabular``.
        feature: Feature family name (``median2d``, ``harmonic`` ...).
        feature_options: Options passed to the feature function.
        flatten: Flatten the (B, T) window to a vector (median1d inputs of torch models).
        bands: Band order the model was trained on.
        classes: Class names, index = model output column.
        composite: ``interval``, ``window``, ``align``, ``clear_threshold`` of the compositing.
        window_bins: ``(start, count)`` of the season window in the full-year composite.
        raw: The whole JSON mapping (for provenance in the output metadata).
    """

    path: Path
    model_path: Path
    model: str
    family: str
    feature: str
    feature_options: dict[str, Any]
    flatten: bool
    bands: list[str]
    classes: list[str]
    composite: dict[str, Any]
    window_bins: tuple[int, int]
    raw: dict[str, Any] = field(compare=False, repr=False)

    def load_model(self) -> Any:
        """Load the cell's model (torch ``nn.Module`` in eval mode or a tabular classifier)."""
        from cropglobe import models

        # only matrix (median2d) models record band names; vector models record their feature count
        expect = self.bands if self.feature == "median2d" else None
        return models.load_model(self.model_path, expect_bands=expect, expect_classes=self.classes)


def load_recipe(path: str | os.PathLike) -> Recipe:
    """Read and check a cell's ``recipe.json`` (``path`` is the cell folder or the file itself).

    Raises:
        CropGlobeError: For a missing folder/recipe/model file, invalid JSON, a missing or invalid
            field, or an unknown model/feature name.
    """
    from cropglobe import features, models

    p = Path(path)
    recipe_path = p / "recipe.json" if p.is_dir() else p
    if not p.exists():
        raise CropGlobeError(f"{p}: model not found; expected a transfer cell folder (RUN_DIR/cells/<cell>) "
                             "or its recipe.json")
    if not recipe_path.is_file():
        raise CropGlobeError(f"{recipe_path}: recipe not found; expected the recipe.json a transfer run writes "
                             "next to each cell's model")
    try:
        raw = json.loads(recipe_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CropGlobeError(f"{recipe_path}: not a readable JSON recipe ({err})") from None
    if not isinstance(raw, dict):
        raise CropGlobeError(f"{recipe_path}: expected a JSON object")
    for key in _REQUIRED:
        if key not in raw:
            raise CropGlobeError(f"{recipe_path}: field {key!r} is missing; expected a recipe written by "
                                 "`cropglobe transfer`")
    where = str(recipe_path)
    try:
        info = models.model_info(str(raw["model"]))
        feat = features.get_feature(str(raw["feature"]))
    except CropGlobeError as err:
        raise CropGlobeError(f"{where}: {err}") from None
    comp = raw["composite"]
    if not isinstance(comp, dict) or not {"interval", "window", "align", "clear_threshold"} <= set(comp):
        raise CropGlobeError(f"{where}: field 'composite' must hold interval, window, align and clear_threshold")
    wb = raw["window_bins"]
    if not (isinstance(wb, list) and len(wb) == 2 and all(isinstance(v, int) and v >= 0 for v in wb) and wb[1] > 0):
        raise CropGlobeError(f"{where}: field 'window_bins' = {wb!r}; expected [start, count] of whole numbers")
    bands, classes = raw["bands"], raw["classes"]
    for name, value in (("bands", bands), ("classes", classes)):
        if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
            raise CropGlobeError(f"{where}: field {name!r} must be a non-empty list of names")
    if len(classes) > 255:
        raise CropGlobeError(f"{where}: {len(classes)} classes; a uint8 map holds at most 255 (255 = nodata)")
    flatten = bool(raw.get("flatten", False))
    if info.input_kind != feat.kind:
        raise CropGlobeError(f"{where}: model {info.name!r} takes {info.input_kind} inputs but feature "
                             f"{feat.name!r} (flatten={flatten}) gives {feat.kind} features")
    options = raw.get("feature_options") or {}
    if not isinstance(options, dict):
        raise CropGlobeError(f"{where}: field 'feature_options' must be a mapping of option names to values")
    try:  # e.g. presto: the weights found now must have the recorded sha256
        options = feat.recorded_options(options)
    except CropGlobeError as err:
        raise CropGlobeError(f"{where}: {err}") from None
    model_path = recipe_path.parent / str(raw.get("model_file", "model"))
    if not model_path.is_file():
        raise CropGlobeError(f"{model_path}: model file not found (named by {recipe_path})")
    return Recipe(recipe_path, model_path, info.name, info.family, feat.name, dict(options),
                  flatten, list(bands), list(classes), dict(comp), (int(wb[0]), int(wb[1])), raw)
