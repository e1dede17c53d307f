"""The mapping recipe: what a trained transfer cell needs to turn new imagery into model inputs.

A transfer run (``cropglobe transfer``) writes per cell ``RUN_DIR/cells/<cell>/model`` and
``recipe.json``: a :class:`cropglobe.recipe.RecipeSpec` (model name, feature family and options,
the flatten flag, band order, class names, the compositing settings and the season-window bins).
:func:`load_recipe` accepts the cell folder or the ``recipe.json`` path, validates the fields,
checks them against the model and feature registries (a feature family's ``record`` hook re-checks
its options, e.g. Presto's weights) and loads the model safely (:func:`cropglobe.models.load_model`,
never unpickling). :func:`recipe_features` turns a season-window composite into the cell's model
inputs (the map's blocks, ``cropglobe predict`` and ``adapt-cell`` share it). :mod:`cropglobe.mapping.cell`
re-exports this module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from pydantic import Field

from cropglobe import models
from cropglobe.errors import CropGlobeError
from cropglobe.features import families as features
from cropglobe.models.ensemble import Calibration, combine
from cropglobe.recipe import RecipeSpec, read_recipe
from cropglobe.temporal import season


class Recipe(RecipeSpec):
    """A validated ``recipe.json`` (all of :class:`~cropglobe.recipe.RecipeSpec`) and the model file it names.

    Attributes:
        path: The recipe file.
        model_path: The model file (``model`` next to the recipe by default).
        family: ``torch`` or ``tabular`` (from the model registry).
    """

    path: Path = Field(exclude=True)
    model_path: Path = Field(exclude=True)
    family: str = Field(exclude=True)
    members: tuple[Path, ...] = Field((), exclude=True)
    class_weights: tuple[float, ...] | None = Field(None, exclude=True)

    @property
    def spec(self) -> RecipeSpec:
        """The recipe's fields alone (what ``recipe.json`` holds)."""
        return RecipeSpec.model_validate(self.model_dump())

    @property
    def model_key(self) -> str:
        """Identifies the loaded model: the model file(s) and the class weights."""
        return "|".join([str(self.model_path), *map(str, self.members), repr(self.class_weights)])

    def load_model(self) -> Any:
        """Load the cell's model (torch ``nn.Module`` in eval mode or a tabular classifier).

        With ``members`` (other cells of the same inputs, :func:`load_cells`) the result averages the
        models' probabilities; with ``class_weights`` it multiplies them by the weights
        (:mod:`cropglobe.models.ensemble`).
        """
        # only matrix (median2d) models record band names; vector models record their feature count
        expect = self.bands if self.feature == "median2d" else None
        loaded = [models.load_model(p, expect_bands=expect, expect_classes=self.classes, expect_model=self.model)
                  for p in (self.model_path, *self.members)]
        return combine(loaded, self.family, self.class_weights)

    def calibration(self) -> Any:
        """The cell's source-validation calibration (``calibration.json`` next to the recipe), or None.

        Written by ``cropglobe transfer`` for cells with ``prior`` adaptation
        (:func:`cropglobe.models.ensemble.fit_calibration`). None for an ensemble (``members``):
        its members' validation splits differ, and the mean probability has no calibration of its own.

        Raises:
            CropGlobeError: For an unreadable or invalid ``calibration.json``.
        """
        return None if self.members else Calibration.read(self.path.parent, len(self.classes))

    def with_weights(self, weights: Any) -> Recipe:
        """A copy whose model multiplies its probabilities by ``weights`` (one per class)."""
        return self.model_copy(update={"class_weights": tuple(float(w) for w in weights)})


#: Recipe fields that may differ between the members of an ensemble (everything else must match).
_MEMBER_FREE = ("model_file", "model_options", "trained_on", "data", "distilled_from", "distillation")


def load_cells(paths: list[str | os.PathLike]) -> Recipe:
    """The recipe of the first cell with the other cells' models as ensemble members.

    The members must be cells of the same inputs: every recipe field but the model file, the model
    options (e.g. the seed) and the training provenance must be equal (e.g. the seeds of one study cell).

    Raises:
        CropGlobeError: For an empty list, a bad cell, or cells whose inputs differ (naming the field).
    """
    if not paths:
        raise CropGlobeError("no cell given; expected one or more transfer cell folders")
    recipes = [load_recipe(p) for p in paths]
    first = recipes[0]
    ref = first.spec.model_dump(exclude=set(_MEMBER_FREE))
    for other in recipes[1:]:
        theirs = other.spec.model_dump(exclude=set(_MEMBER_FREE))
        diff = sorted(k for k in ref if ref[k] != theirs.get(k))
        if diff:
            raise CropGlobeError(f"{other.path}: cannot be an ensemble member of {first.path}: field {diff[0]!r} "
                                 f"differs ({theirs.get(diff[0])!r} vs {ref[diff[0]]!r}); expected cells of the "
                                 "same model, feature, bands, classes and compositing (e.g. the seeds of one cell)")
    return first.model_copy(update={"members": tuple(r.model_path for r in recipes[1:])})


def load_recipe(path: str | os.PathLike) -> Recipe:
    """Read and check a cell's ``recipe.json`` (``path`` is the cell folder or the file itself).

    Raises:
        CropGlobeError: For a missing folder/recipe/model file, invalid JSON, a missing or invalid
            field, or an unknown model/feature name.
    """
    p = Path(path)
    recipe_path = p / "recipe.json" if p.is_dir() else p
    if not p.exists():
        raise CropGlobeError(f"{p}: model not found; expected a transfer cell folder (RUN_DIR/cells/<cell>) "
                             "or its recipe.json")
    if not recipe_path.is_file():
        raise CropGlobeError(f"{recipe_path}: recipe not found; expected the recipe.json a transfer run writes "
                             "next to each cell's model")
    spec = read_recipe(recipe_path)
    where = str(recipe_path)
    try:
        info = models.model_info(spec.model)
        feat = features.get_feature(spec.feature)
    except CropGlobeError as err:
        raise CropGlobeError(f"{where}: {err}") from None
    if info.input_kind != feat.kind:
        raise CropGlobeError(f"{where}: model {info.name!r} takes {info.input_kind} inputs but feature "
                             f"{feat.name!r} (flatten={spec.flatten}) gives {feat.kind} features")
    models.check_pair(feat.name, info.name, where)
    try:  # e.g. presto: the weights found now must have the recorded sha256
        options = feat.recorded_options(spec.feature_options)
    except CropGlobeError as err:
        raise CropGlobeError(f"{where}: {err}") from None
    c = spec.composite
    try:
        bins = season.bins_of_window(*season.axis(c.interval), c.window)
    except CropGlobeError as err:  # e.g. a reversed window
        raise CropGlobeError(f"{where}: composite: {err}") from None
    if bins != tuple(spec.window_bins):
        raise CropGlobeError(f"{where}: window {c.window} at {c.interval} days has bins {list(bins)} but the recipe "
                             f"says window_bins {list(spec.window_bins)}; expected the bins the model was trained "
                             "on (the recipe.json a transfer run wrote)")
    model_path = recipe_path.parent / spec.model_file
    if not model_path.is_file():
        raise CropGlobeError(f"{model_path}: model file not found (named by {recipe_path})")
    fields = {**dict(spec), "model": info.name, "feature": feat.name, "feature_options": dict(options)}
    return Recipe.model_construct(**fields, path=recipe_path, model_path=model_path, family=info.family)


def recipe_features(win: xr.Dataset, recipe: Recipe) -> np.ndarray:
    """Model inputs of a season-window composite: the recipe's feature family and options (flattened if set).

    Shared by the map's blocks (:mod:`cropglobe.mapping.predict`) and by sample tables (:mod:`.inputs`).
    """
    x = np.asarray(features.get_feature(recipe.feature).fn(win, **recipe.feature_options), dtype=np.float32)
    return x.reshape(len(x), -1) if recipe.flatten else x
