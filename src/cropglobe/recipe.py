"""The training -> mapping contract: the cell recipe (``recipe.json``).

The compositing settings a recipe records, :class:`CompositeSettings`, are defined with
compositing (:mod:`cropglobe.temporal.settings`) and re-exported here.

:class:`RecipeSpec` is the whole ``recipe.json`` a transfer cell writes next to its model
(:func:`cropglobe.experiment.fitting.cell_recipe`, :func:`cropglobe.mapping.student.write`);
:func:`cropglobe.mapping.cell.load_recipe` reads it back and checks it against the registries
and the model file. Recipes without ``format_version`` (format 1, written before offsets,
``min_clear``, ``scl_keep`` and ``coverage`` were recorded) read with the defaults of that time:
no offsets, ``min_clear=3``, the default scene classes, ``coverage="drop"``.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import ConfigDict, Field, field_validator, model_validator

from cropglobe import taxonomy
from cropglobe.atomic import write_text
from cropglobe.checks import Strict, WholeNumber
from cropglobe.errors import CropGlobeError
from cropglobe.temporal.settings import SCL_KEEP, CompositeSettings, parse

__all__ = ["RECIPE_VERSION", "REQUIRED", "SCL_KEEP", "CompositeSettings", "RecipeSpec", "parse", "read_recipe"]

#: The recipe format this version writes (1: no ``format_version`` field, settings partly recorded;
#: 3 adds ``model_options``; 4 adds ``coverage: fill`` and its ``fill_days`` to ``composite``;
#: 5 adds ``source_classes``).
RECIPE_VERSION = 5
#: Fields every recipe has (format 1 and later; a recipe without ``classes`` has the paper's seven).
REQUIRED = ("model", "feature", "bands", "composite", "window_bins")


class RecipeSpec(Strict):
    """The contents of a cell's ``recipe.json``: how to turn new imagery into the model's inputs.

    Attributes:
        format_version: Recipe format (1: written before the compositing settings were complete).
        model_file: The model file, relative to the recipe.
        model: Registry model name (``cropnet-lite``, ``lightgbm`` ...).
        model_options: The model's options as its saved file records them (e.g. ``presto-ft``: the
            path and sha256 of the pretrained Presto weights it started from); provenance only, the
            model file holds the trained weights. Empty in recipes before format 3.
        feature: Feature family name (``median2d``, ``harmonic``, ``presto`` ...).
        feature_options: Options of the feature function, as the family records them
            (:meth:`cropglobe.features.families.FeatureSpec.recorded_options`, e.g. the sha256 of Presto's weights).
        flatten: Flatten the (B, T) window to a vector (median1d inputs of torch models).
        bands: Band order the model was trained on.
        classes: The cell's legend: class names, index = model output column (at most 255: a uint8 map
            keeps 255 for nodata); ``predict`` and ``map`` write these classes only. A recipe
            without the field has the paper's seven classes (:data:`cropglobe.taxonomy.CLASSES`).
        composite: The compositing settings of training.
        window_bins: ``(start, count)`` of the season window in the full-year composite.
        bin_days: Width of a composite bin in days.
        trained_on: The study's source countries (``"FRA"``, ``"USA+CAN"`` ...).
        source_classes: The classes of the source's samples (its whole group, hold-out included), in
            legend order. Under the run's ``absent_classes: other`` the study scores target classes
            outside them as ``other``; ``cropglobe predict --remaps run`` then does the same. None in
            recipes before format 5 (and a self-trained copy of one fills it in from the run).
        data: Where the training data came from (``SIMULATED DATA`` says so).
        distilled_from: The teacher cell of a distilled model.
        distillation: How the student was distilled.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    format_version: WholeNumber = Field(1, ge=1)
    model_file: str = "model"
    model: str
    model_options: dict[str, Any] = Field(default_factory=dict)
    feature: str
    feature_options: dict[str, Any] = Field(default_factory=dict)
    flatten: bool = False
    bands: list[str] = Field(min_length=1)
    classes: list[str] = Field(default_factory=lambda: list(taxonomy.CLASSES), min_length=1)
    composite: CompositeSettings
    window_bins: tuple[WholeNumber, WholeNumber]
    bin_days: float | None = None
    trained_on: list[str] | None = None
    source_classes: list[str] | None = None
    data: str = ""
    distilled_from: str | None = None
    distillation: str | None = None

    @field_validator("feature_options", "model_options", mode="before")
    @classmethod
    def _options(cls, v: Any) -> Any:
        return {} if v is None else v

    @model_validator(mode="after")
    def _check(self) -> RecipeSpec:
        if self.format_version > RECIPE_VERSION:
            raise ValueError(f"recipe format {self.format_version} is newer than this cropglobe reads "
                             f"({RECIPE_VERSION}); expected a recipe written by this or an older version")
        name = PurePosixPath(self.model_file.replace("\\", "/"))
        if not self.model_file.strip() or name.is_absolute() or ".." in name.parts or Path(self.model_file).anchor:
            raise ValueError(f"model_file = {self.model_file!r}; expected a file name inside the cell folder")
        if self.bin_days is not None and not (math.isfinite(self.bin_days) and self.bin_days > 0):
            raise ValueError(f"bin_days = {self.bin_days}; expected a positive, finite number of days")
        start, count = self.window_bins
        if start < 0 or count <= 0:
            raise ValueError(f"window_bins = {list(self.window_bins)}; expected [start >= 0, count > 0]")
        if len(self.classes) > 255:
            raise ValueError(f"{len(self.classes)} classes; a uint8 map holds at most 255 (255 = nodata)")
        return self

    def to_json(self) -> str:
        """The recipe as JSON text (fields without a value are left out)."""
        return json.dumps(self.model_dump(mode="json", exclude_none=True), indent=1)

    def write(self, path: str | os.PathLike) -> Path:
        """Write the recipe atomically (a new recipe is written in the current format)."""
        return write_text(Path(path), self.to_json())


def read_recipe(path: str | os.PathLike) -> RecipeSpec:
    """Read and validate a ``recipe.json`` file (the fields only; see :func:`cropglobe.mapping.load_recipe`).

    Raises:
        CropGlobeError: For unreadable JSON, a missing field (naming it) or an invalid value.
    """
    p = Path(path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CropGlobeError(f"{p}: not a readable JSON recipe ({err})") from None
    if not isinstance(raw, dict):
        raise CropGlobeError(f"{p}: expected a JSON object")
    for key in REQUIRED:
        if key not in raw:
            raise CropGlobeError(f"{p}: field {key!r} is missing; expected a recipe written by `cropglobe transfer`")
    return parse(RecipeSpec, raw, str(p))
