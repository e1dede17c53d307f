"""The training -> mapping contract: typed compositing settings and the cell recipe (``recipe.json``).

:class:`CompositeSettings` is the one description of how observations become composites. A
transfer study reads it from its YAML (``composite:``), :func:`cropglobe.experiment.data.composite_data`
calls ``composite(ds, **settings.composite_kwargs())``, the cell records the same object in its
recipe, and ``cropglobe map`` / ``cropglobe predict`` make exactly that call again (or the compiled
twin of it, :mod:`cropglobe.mapping.predict`), per-country ``offsets``, ``min_clear`` and
``scl_keep`` included.

:class:`RecipeSpec` is the whole ``recipe.json`` a transfer cell writes next to its model
(:func:`cropglobe.experiment.fitting.write_recipe`, :func:`cropglobe.mapping.distill.distill`);
:func:`cropglobe.mapping.cell.load_recipe` reads it back and checks it against the registries
and the model file. Recipes without ``format_version`` (format 1, written before offsets,
``min_clear``, ``scl_keep`` and ``coverage`` were recorded) read with the defaults of that time:
no offsets, ``min_clear=3``, the default scene classes, ``coverage="drop"``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from cropglobe.atomic import write_text
from cropglobe.checks import Strict, WholeNumber, validation_error
from cropglobe.errors import CropGlobeError
from cropglobe.temporal.season import load_offsets

#: Sentinel-2 scene classes kept as clear: 4 vegetation, 5 not vegetated (bare), 6 water.
SCL_KEEP: tuple[int, ...] = (4, 5, 6)
#: The recipe format this version writes (1: no ``format_version`` field, settings partly recorded;
#: 3 adds ``model_options``).
RECIPE_VERSION = 3
#: Fields every recipe has (format 1 and later).
REQUIRED = ("model", "feature", "bands", "classes", "composite", "window_bins")


class CompositeSettings(Strict):
    """How observation-level data are composited (see :func:`cropglobe.temporal.composite.composite`).

    Attributes:
        interval: Bin width in days (73 bins for 5 days).
        window: Season window ``MM-DD:MM-DD`` on the aligned calendar.
        align: ``"hemisphere"``, ``"none"`` or a number of days for every sample.
        clear_threshold: Minimum ``clear`` score of a usable observation.
        min_clear: Fewer usable observations in the window -> the sample is dropped (a map pixel is nodata).
        offsets: Per-country shift in days replacing ``align`` for the countries listed.
        scl_keep: Scene-classification codes counted as clear.
        coverage: Samples whose data do not span the window: ``drop`` them or raise (``error``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    interval: WholeNumber = Field(5, gt=0, le=365)
    window: str = "05-01:11-30"
    align: WholeNumber | str = "hemisphere"
    clear_threshold: float = Field(0.75, ge=0, le=1)
    min_clear: WholeNumber = Field(3, ge=0, description="drop samples with fewer usable steps in the window")
    offsets: dict[str, WholeNumber] | None = None
    scl_keep: tuple[WholeNumber, ...] = SCL_KEEP
    coverage: Literal["drop", "error"] = Field(
        "drop", description="samples whose data do not span the season window: drop them (counted per "
                            "country) or stop with an error")

    @field_validator("align", mode="before")
    @classmethod
    def _align(cls, v: Any) -> Any:
        # format-1 recipes of pre-composited studies kept the first word of the alignment label ("none;")
        return v.strip().rstrip(";").strip() if isinstance(v, str) else v

    @field_validator("offsets")
    @classmethod
    def _offsets(cls, v: dict[str, int] | None) -> dict[str, int] | None:
        if not v:
            return None

        return load_offsets(v)

    def composite_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`cropglobe.temporal.composite.composite` (the call training and mapping share)."""
        return {"interval": self.interval, "window": self.window, "align": self.align,
                "clear_threshold": self.clear_threshold, "min_clear": self.min_clear,
                "offsets": dict(self.offsets) if self.offsets else None, "scl_keep": tuple(self.scl_keep),
                "coverage": self.coverage}

    def same_calendar(self, other: CompositeSettings) -> bool:
        """True when both put samples on the same aligned calendar (interval, alignment and offsets)."""
        def key(align: int | str) -> str:
            text = str(align).strip().lower()
            return str(int(text)) if text.lstrip("+-").isdigit() else text

        return (self.interval == other.interval and key(self.align) == key(other.align)
                and (self.offsets or {}) == (other.offsets or {}))

    def to_attrs(self) -> dict[str, Any]:
        """The settings as plain JSON values (stored in a composite's ``attrs["composite_settings"]``)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_attrs(cls, attrs: Mapping[str, Any], where: str = "composite") -> CompositeSettings:
        """The settings an aligned composite was made with (its ``attrs``).

        Composites made by this version record them in ``attrs["composite_settings"]``; older ones
        are read from ``interval``, ``season_window``, ``clear_threshold``, ``min_clear`` and the
        ``alignment`` label (whose per-country offsets part is parsed back).

        Raises:
            CropGlobeError: When the attributes do not describe valid settings.
        """
        if isinstance(attrs.get("composite_settings"), Mapping):
            raw = dict(attrs["composite_settings"])
            if attrs.get("season_window"):  # a study's season_window re-windows an aligned composite
                raw["window"] = str(attrs["season_window"])
            return parse(cls, raw, where)
        label = str(attrs.get("alignment", "none"))
        head, _, rest = label.partition(";")
        align: str | int = head.split(" ")[0]
        if head.strip().endswith(" days"):
            align = int(head.split(" ")[0])
        offsets = {}
        if rest.strip().startswith("per-country offsets"):
            for part in rest.strip().removeprefix("per-country offsets").split(","):
                iso, days = part.split()[:2]
                offsets[iso] = int(days)
        raw = {"interval": int(attrs.get("interval", 5)), "window": str(attrs.get("season_window") or "05-01:11-30"),
               "align": align, "clear_threshold": float(attrs.get("clear_threshold", 0.75)),
               "min_clear": int(attrs.get("min_clear", 3)), "offsets": offsets or None}
        return parse(cls, raw, where)


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
        classes: Class names, index = model output column (at most 255: a uint8 map keeps 255 for nodata).
        composite: The compositing settings of training.
        window_bins: ``(start, count)`` of the season window in the full-year composite.
        bin_days: Width of a composite bin in days.
        trained_on: The study's source countries (``"FRA"``, ``"USA+CAN"`` ...).
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
    classes: list[str] = Field(min_length=1)
    composite: CompositeSettings
    window_bins: tuple[WholeNumber, WholeNumber]
    bin_days: float | None = None
    trained_on: list[str] | None = None
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


def parse(model: type[Strict], raw: Any, where: str) -> Any:
    """Validate ``raw`` as ``model``; a problem becomes one :class:`CropGlobeError` naming the field."""
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise validation_error(where, err) from None


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
