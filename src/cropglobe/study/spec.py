"""Declarative transfer-experiment specs: YAML -> validated pydantic models.

One spec describes the whole matrix of a study: data (a SampleSet path or a ``simulate:`` block),
compositing, source and target countries, the cells (feature x model x augmentation, either as an
explicit list or as a product), seeds, the validation split, training settings and per-target
label remaps (classes absent from a target's reference map are evaluated as ``other``; the
paper's AUS/CHN/ARG remaps are available as ``remaps: paper``) and the study's legend: ``classes``
(default: the paper's seven classes; any names with an ``other`` catch-all, ``/`` for hierarchy
levels, :mod:`cropglobe.legend`) with ``class_map``, the one declared table that moves data
classes the legend does not resolve by name (``{rapeseed: other}``), inline or a YAML file.

The spec sits below the experiment and the mapping (:mod:`cropglobe.experiment.study` re-exports
it): a run folder's ``config.yaml`` is read by :class:`cropglobe.cells.run_folder.RunFolder` for both.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from cropglobe import legend, taxonomy, yamlfile
from cropglobe.checks import Strict, WholeNumber, validation_error
from cropglobe.errors import CropGlobeError
from cropglobe.study import regions
from cropglobe.study.adaptation import AdaptationSpec
from cropglobe.temporal.settings import CompositeSettings
from cropglobe.training.settings import TrainSpec


class SimulateSpec(Strict):
    """Data from the embedded simulator (SIMULATED DATA)."""

    countries: list[str] | None = None
    samples_per_class: WholeNumber = Field(100, gt=0)
    seed: WholeNumber = Field(0, ge=0)
    year: WholeNumber = 2023


class DataSpec(Strict):
    """Where the samples come from: a SampleSet path or the simulator."""

    path: str | list[str] | None = Field(None, description="a SampleSet, or several concatenated (one per country)")
    test_path: str | None = Field(None, description="a separate in-region test set (e.g. UCR's own split)")
    simulate: SimulateSpec | None = None

    @model_validator(mode="after")
    def _one_source(self) -> DataSpec:
        if (self.path is None) == (self.simulate is None):
            raise ValueError("give exactly one of 'path' or 'simulate'")
        if self.test_path is not None and self.path is None:
            raise ValueError("'test_path' needs 'path'")
        return self


#: Compositing of observation-level data: the typed settings training records in each cell's recipe.
CompositeSpec = CompositeSettings


class CellSpec(Strict):
    """One trained configuration: a feature family, a model and an augmentation.

    ``augmentation`` is a preset name or an inline mapping of sections (``{shift: {max_days: 10,
    p: 0.5}}``, optionally with ``preset`` as the base and ``name`` as its label; see
    :func:`cropglobe.augment.resolve`). Run folders and result rows use
    :func:`cropglobe.augment.label` of it.
    """

    feature: str
    model: str
    augmentation: str | dict[str, Any] = "none"
    copies: int = Field(1, ge=1, description="offline augmented copies for tabular models")


class ValidationSpec(Strict):
    """Validation split of the source (disjoint from training by construction)."""

    fraction: float = Field(0.2, gt=0, lt=1)
    method: Literal["stratified", "spatial"] = "stratified"
    block_deg: float = Field(0.5, gt=0)


class ExperimentSpec(Strict):
    """A whole transfer study."""

    name: str = "experiment"
    data: DataSpec
    composite: CompositeSpec | None = Field(default_factory=CompositeSpec)
    season_window: str | None = Field(None, description="window MM-DD:MM-DD inside already-composited data "
                                      "(composite: null); default: the data's own season_window")
    sources: list[str] = Field(min_length=1, description="source regions: COUNTRY, COUNTRY:YEAR, a region "
                               "named at import, ':'-combinations; '+' pools (cropglobe.study.regions)")
    targets: list[str] | Literal["all"] = "all"
    group_by: list[Literal["country", "year", "region"]] = Field(
        default_factory=lambda: ["country"], min_length=1,
        description="granularity of the regions listed by targets: all")
    bands: list[str] | None = Field(None, description="bands to use (default: those common to every data path)")
    absent_classes: Literal["keep", "other"] = Field(
        "keep", description="'other': classes absent from a source's training data are scored as other on its "
        "targets (reference and prediction)")
    in_region_fraction: float = Field(0.2, ge=0, lt=1, description="share of the source held out as in-region test")
    folds: int | None = Field(None, ge=2, description="k-fold cross-validation on the source instead of one hold-out")
    cells: list[CellSpec] | None = None
    features: list[str] | None = None
    models: list[str] | None = None
    augmentations: list[str | dict[str, Any]] = Field(default_factory=lambda: ["none"])
    seeds: list[WholeNumber] = Field(default_factory=lambda: [0], min_length=1)
    validation: ValidationSpec = Field(default_factory=ValidationSpec)
    train: TrainSpec = Field(default_factory=TrainSpec)
    model_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    feature_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    remaps: dict[str, dict[str, list[str]]] | Literal["paper"] | None = None
    classes: list[str] | None = Field(None, description="the study's legend (default: the paper's 7 classes); "
                                      "an 'other' catch-all, '/' between hierarchy levels (cereal/wheat)")
    class_map: dict[str, str] | str | None = Field(
        None, description="data class -> study class for data classes the legend does not name (a mapping or "
        "a YAML file of one); every other data class must resolve by name, nothing goes to other silently")
    adaptation: AdaptationSpec | None = Field(None, description="unlabelled-target adaptation evaluated next to "
                                              "the plain model (cropglobe.experiment.adapt)")

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: list[int]) -> list[int]:  # duplicates double-counted rows; -1 names the seed ensembles
        if len(set(v)) != len(v) or min(v) < 0:
            raise ValueError(f"expected distinct whole numbers >= 0, got {v}")
        return v

    _legend = field_validator("classes")(lambda v: legend.field(v))

    @field_validator("sources")
    @classmethod
    def _units(cls, v: list[str]) -> list[str]:
        return [regions.normalize(c) for c in v]

    @model_validator(mode="after")
    def _cells(self) -> ExperimentSpec:
        if self.cells is None and not (self.features and self.models):
            raise ValueError("give 'cells' or both 'features' and 'models'")
        if self.cells is not None and (self.features or self.models):
            raise ValueError("give either 'cells' or 'features' + 'models', not both")
        if isinstance(self.targets, list):
            self.targets = [regions.normalize(c) for c in self.targets]
        if self.folds is not None and self.data.test_path is not None:
            raise ValueError("give either 'folds' or 'data.test_path', not both")
        return self

    def cell_list(self) -> list[CellSpec]:
        """The cells to train: the explicit list, or features x models x augmentations."""
        if self.cells is not None:
            return list(self.cells)
        return [CellSpec(feature=f, model=m, augmentation=a)
                for f, m, a in itertools.product(self.features or [], self.models or [], self.augmentations)]

    def remap_table(self) -> dict[str, dict[str, list[str]]]:
        """Per-target remaps, with ``paper`` expanded from the taxonomy data table (classes of the legend)."""
        if self.remaps is None:
            return {}
        table = taxonomy.paper_remaps() if self.remaps == "paper" else self.remaps
        for target in table:
            taxonomy.remap_for(target, table, self.legend())  # validates class names
        return {k.upper(): v for k, v in table.items()}

    def legend(self) -> tuple[str, ...]:
        """The study's classes (index = model output column of its cells)."""
        return legend.DEFAULT if self.classes is None else tuple(self.classes)

    def class_table(self, base: str | os.PathLike | None = None) -> dict[str, str]:
        """``class_map`` as a mapping (a file name is read, relative to ``base`` when not absolute).

        Raises:
            CropGlobeError: For an unreadable file, or one that is not a mapping of names, or a value
                outside the legend.
        """
        value = self.class_map
        if value is None:
            return {}
        if isinstance(value, str):
            p = Path(value)
            if not p.is_absolute() and base is not None and not p.exists():
                p = Path(base) / p
            try:
                value = yamlfile.load(p, where=f"class_map {p}")
            except OSError as err:
                raise CropGlobeError(f"class_map {p}: cannot be read ({err.strerror}); expected a YAML mapping "
                                     "{data class: study class}") from None
            if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                      for k, v in value.items()):
                raise CropGlobeError(f"class_map {p}: expected a mapping of class names {{data class: study class}}")
        bad = sorted(v for v in value.values() if v not in self.legend())
        if bad:
            raise CropGlobeError(f"class_map: {bad[0]!r} is not a class of the study's legend "
                                 f"({', '.join(self.legend())})")
        return dict(value)


def load_spec(path: str | os.PathLike) -> ExperimentSpec:
    """Read and validate an experiment YAML file.

    Raises:
        CropGlobeError: Naming the file and the first invalid field.
    """
    p = Path(path)
    try:
        raw = yamlfile.load(p)  # aliases, deep nesting and non-UTF-8 text are one CropGlobeError
    except OSError as err:
        raise CropGlobeError(f"{p}: cannot read experiment config ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise CropGlobeError(f"{p}: not valid YAML ({err})") from None
    return parse_spec(raw, where=str(p))


def parse_spec(raw: Any, where: str = "config") -> ExperimentSpec:
    """Validate a config mapping (already parsed from YAML)."""
    if not isinstance(raw, dict):
        raise CropGlobeError(f"{where}: expected a mapping at the top level")
    try:
        spec = ExperimentSpec.model_validate(raw)
    except ValidationError as err:
        raise validation_error(where, err, model=ExperimentSpec) from None
    try:
        spec.remap_table()
    except CropGlobeError as err:
        raise CropGlobeError(f"{where}: field remaps: {err}") from None
    if not isinstance(spec.class_map, str):  # a file is read with the data (relative to the working folder)
        try:
            spec.class_table()
        except CropGlobeError as err:
            raise CropGlobeError(f"{where}: field {err}") from None
    return spec
