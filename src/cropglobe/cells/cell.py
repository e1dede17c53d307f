"""A trained cell: its recipe (how new imagery becomes model inputs) and its model (:class:`Cell`).

A transfer run (``cropglobe transfer``) writes per cell ``RUN_DIR/cells/<cell>/model`` and
``recipe.json``: a :class:`cropglobe.recipe.RecipeSpec` (model name, feature family and options,
the flatten flag, band order, class names, the compositing settings and the season-window bins).
:func:`load_recipe` accepts the cell folder or the ``recipe.json`` path, validates the fields,
checks them against the model and feature registries (a feature family's ``record`` hook re-checks
its options, e.g. Presto's weights) and loads the model safely (:func:`cropglobe.models.load_model`,
never unpickling). :func:`recipe_features` turns a season-window composite into the cell's model
inputs (the map's blocks, ``cropglobe predict`` and ``adapt-cell`` share it). :mod:`cropglobe.mapping.cell`
re-exports this module.

:class:`Cell` is the one object that turns composites into a cell's model inputs and those into
probabilities, for the study's training and evaluation (an in-memory model with its recipe),
self-training, ``adapt-cell``, ``cropglobe predict`` and ``cropglobe map`` (a cell folder, with
ensemble members): ``inputs(composite)`` (a full-year composite), ``features(window)`` (a
season-window composite), ``window_inputs`` / ``series_inputs`` (season windows read from full-year
series, moved by ``align``), ``predict_proba``, ``search_alignment`` and ``save``. A trained model
carries its own preprocessing this way, as in sits (Simoes et al. 2021, ``sits_classify``).
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
from cropglobe.temporal.calendar import Calendar


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
        # only models on the unflattened window (median2d) record band names; others their feature count
        expect = self.bands if features.get_feature(self.feature).layout == "window" else None
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
_MEMBER_FREE = ("model_file", "model_options", "trained_on", "source_classes", "data", "distilled_from",
                "distillation")


def load_cells(paths: list[str | os.PathLike]) -> Recipe:
    """The recipe of the first cell with the other cells' models as ensemble members.

    The members must be cells of the same inputs: every recipe field but the model file, the model
    options (e.g. the seed) and the training provenance must be equal (e.g. the seeds of one study cell).
    The ensemble's ``source_classes`` are those any member was trained on (None if a member's
    recipe does not record them).

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
    known = None if any(r.source_classes is None for r in recipes) else {c for r in recipes for c in r.source_classes}
    source_classes = None if known is None else [c for c in first.classes if c in known]
    return first.model_copy(update={"members": tuple(r.model_path for r in recipes[1:]),
                                    "source_classes": source_classes})


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
        bins = Calendar.of(c).window_bins
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


def trains_on_series(model: str, feature: str) -> bool:
    """True when the model trains on full-year series cut to the window (torch models on windowed families)."""
    return models.model_info(model).family == "torch" and features.get_feature(feature).windowed


class Cell:
    """One trained cell: its recipe and its model behind one ``inputs`` / ``predict_proba`` face.

    Args:
        recipe: The cell's :class:`~cropglobe.recipe.RecipeSpec` (a loaded :class:`Recipe`, or the one a
            study builds for a model it has just trained).
        model: The fitted model (a ``TorchClassifier``, a torch ``nn.Module`` or ensemble, a tabular
            classifier); None loads it from a :class:`Recipe` on first use.
        precision: Torch inference precision (``"32-true"`` or ``"bf16-mixed"``); tabular models ignore it.
    """

    #: Samples per torch forward pass (the map's; the same everywhere, so every path batches alike).
    BATCH = 2048

    def __init__(self, recipe: RecipeSpec, model: Any = None, precision: str = "32-true") -> None:
        if model is None and not isinstance(recipe, Recipe):
            raise CropGlobeError("Cell: a recipe without a cell folder needs its model")
        self.recipe, self._model, self.precision = recipe, model, precision
        self.family = recipe.family if isinstance(recipe, Recipe) else models.model_info(recipe.model).family

    @classmethod
    def load(cls, path: str | os.PathLike, members: tuple[str | os.PathLike, ...] | list = (),
             precision: str = "32-true") -> Cell:
        """The cell of a folder (or ``recipe.json``), with other cells of the same inputs as ensemble members.

        The model is loaded on first use (:meth:`Recipe.load_model`).

        Raises:
            CropGlobeError: As :func:`load_cells`.
        """
        return cls(load_cells([path, *members]), precision=precision)

    @property
    def model(self) -> Any:
        """The fitted model (loaded from the cell folder on first use)."""
        if self._model is None:
            self._model = self.recipe.load_model()  # type: ignore[attr-defined]
        return self._model

    @property
    def net(self) -> Any:
        """The torch module (AdaBN, fine-tuning), or None for a tabular model."""
        if self.family != "torch":
            return None
        return getattr(self.model, "net", self.model) if not _is_module(self.model) else self.model

    @property
    def feature(self) -> features.FeatureSpec:
        """The cell's feature family."""
        return features.get_feature(self.recipe.feature)

    @property
    def window(self) -> tuple[int, int]:
        """The season window ``(start, count)`` in bins of the full-year composite."""
        start, count = self.recipe.window_bins
        return int(start), int(count)

    @property
    def bin_days(self) -> float:
        """The composite's bin width in days (format-1 recipes: the compositing interval)."""
        return float(self.recipe.bin_days or self.recipe.composite.interval)

    @property
    def trains_on_series(self) -> bool:
        """True when the model trains on full-year series cut to the window (torch on windowed families)."""
        return self.family == "torch" and self.feature.windowed

    def features(self, window: xr.Dataset) -> np.ndarray:
        """Model inputs of a season-window composite (every sample gap-filled): :func:`recipe_features`."""
        return recipe_features(window, self.recipe)  # type: ignore[arg-type]

    def inputs(self, composite: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
        """Model inputs of the samples of a full-year composite that have every band filled: ``(x, keep)``.

        ``keep`` indexes the composite's samples; the others hold a band without any clear observation.

        Raises:
            CropGlobeError: When the recipe's window bins lie outside the composite.
        """
        start, count = self.window
        if start + count > composite.sizes["time"]:
            raise CropGlobeError(f"{getattr(self.recipe, 'path', 'cell')}: window bins {start}..{start + count - 1} "
                                 f"lie outside the {composite.sizes['time']} composite bins")
        keep = np.flatnonzero(~np.isnan(composite["reflectance"].values).any(axis=(1, 2)))
        if not keep.size:
            return np.empty((0,), dtype=np.float32), keep
        return self.features(composite.isel(sample=keep, time=slice(start, start + count))), keep

    def window_inputs(self, windows: np.ndarray) -> np.ndarray:
        """Model inputs of season windows ``(N, B, count)`` (windowed families only; median1d flattens them)."""
        return self.feature.window_inputs(windows)

    def window_of_inputs(self, x: np.ndarray) -> np.ndarray:
        """Season windows ``(N, B, count)`` of model inputs of a windowed family: the inverse of :meth:`window_inputs`.

        Raises:
            CropGlobeError: For a family whose inputs are not season windows.
        """
        if not self.feature.windowed:
            raise CropGlobeError(f"{getattr(self.recipe, 'path', 'cell')}: feature {self.recipe.feature!r} is not "
                                 "a season window of the composite; expected one of "
                                 f"{', '.join(features.window_families())}")
        return x.reshape(len(x), -1, self.window[1])

    def series_inputs(self, series: np.ndarray, start_days: float = 0.0, end_days: float = 0.0) -> np.ndarray:
        """Model inputs of full-year series ``(N, B, T)``: the season window, its ends moved by the days given.

        Without a move the window is cut exactly (no interpolation); with one it is read by
        :func:`cropglobe.augment.align.read`.
        """
        start, count = self.window
        if start_days == 0.0 and end_days == 0.0:
            return self.window_inputs(series[..., start:start + count])
        from cropglobe.augment import align

        return self.window_inputs(align.read(series, self.window, self.bin_days, start_days, end_days))

    def training_inputs(self, rows: np.ndarray) -> np.ndarray:
        """Model inputs of rows in the layout the model trains on (full-year series or the family's features)."""
        return self.series_inputs(rows) if self.trains_on_series else rows

    def predict_proba(self, x: np.ndarray, threads: int | None = None) -> np.ndarray:
        """Class probabilities (N, C) of model inputs.

        Torch models run :func:`cropglobe.training.lightning.predict_proba_torch` (``BATCH`` samples per
        pass, the cell's ``precision``). ``threads`` sets a LightGBM model's threads for this call, and
        torch's intra-op threads of the calling thread (OpenMP's thread count is per thread: a map's
        tasks each predict on one core side by side).
        """
        if self.family == "torch":
            from cropglobe.training.lightning import predict_proba_torch

            if threads is not None:
                import torch

                torch.set_num_threads(threads)

            return predict_proba_torch(self.net, x, batch_size=self.BATCH, precision=self.precision)
        model = self.model
        return np.asarray(model.predict_proba(x) if threads is None else model.predict_proba(x, num_threads=threads))

    def search_alignment(self, series: np.ndarray, max_days: float = 60.0,
                         where: str = "align") -> tuple[float, float, dict[str, float]]:
        """The season offset / stretch of :func:`cropglobe.augment.align.search` on unlabelled full-year series.

        Returns:
            ``(start_days, end_days, record)``.

        Raises:
            CropGlobeError: When the cell's inputs are not season windows (naming ``where``).
        """
        from cropglobe.augment import align

        if not self.feature.windowed:
            raise CropGlobeError(f"{where}: {getattr(self.recipe, 'path', 'the cell')} uses feature "
                                 f"{self.recipe.feature!r}; align moves the season window of the median features "
                                 f"({', '.join(features.window_families())}) only")

        def predict(w: np.ndarray) -> np.ndarray:
            return self.predict_proba(self.window_inputs(w))

        return align.search(predict, series, self.window, self.bin_days, align.AlignSettings(max_days=max_days))

    def aligned_proba(self, series: np.ndarray, max_days: float = 60.0) -> tuple[np.ndarray, dict[str, float]]:
        """Probabilities on full-year series read at the offsets :meth:`search_alignment` finds; the record."""
        a, b, record = self.search_alignment(series, max_days)
        return self.predict_proba(self.series_inputs(series, a, b)), record

    def with_model(self, model: Any) -> Cell:
        """The same recipe with another model (e.g. an adapted copy)."""
        return Cell(self.recipe, model, self.precision)

    def save(self, folder: str | os.PathLike, recipe_text: str | None = None) -> Path:
        """Write the model (safe formats) and ``recipe.json`` (``recipe_text`` verbatim, else the recipe's fields).

        The model file records the band names for models on the unflattened window, and the class names.
        """
        from cropglobe.atomic import write_text

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        bands = list(self.recipe.bands) if self.feature.layout == "window" else None
        target = folder / self.recipe.model_file
        if self.family == "torch":
            models.save_model(self.net, target, bands, list(self.recipe.classes))
        else:
            self.model.save(target, None, list(self.recipe.classes))
        if recipe_text is not None:
            write_text(folder / "recipe.json", recipe_text)
        else:
            spec = self.recipe.spec if isinstance(self.recipe, Recipe) else self.recipe
            spec.write(folder / "recipe.json")
        return folder


def _is_module(model: Any) -> bool:
    from torch import nn

    return isinstance(model, nn.Module)
