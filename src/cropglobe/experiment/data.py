"""Data preparation for transfer experiments: load or simulate, composite, check the spec against it.

Every check that can fail on the user's input (countries absent from the data, an empty target,
a feature/model mismatch, unknown names) runs here, before any training starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from cropglobe import legend, models, samples, taxonomy
from cropglobe.cells.run_folder import RunFolder
from cropglobe.errors import CropGlobeError
from cropglobe.experiment import harmonise
from cropglobe.features import families as features
from cropglobe.sources import simulate
from cropglobe.study import regions
from cropglobe.study.spec import CellSpec, ExperimentSpec
from cropglobe.temporal import composite, season

#: Name of a source group's split manifest (``RUN_DIR/splits/<tag>.json``): :meth:`.RunFolder.split_tag`.
split_tag = RunFolder.split_tag

#: Feature families computed from the composite bands x time values (they support augmentation).
MEDIAN_FAMILIES = features.window_families()  # the families whose inputs are season windows (their layout)


@dataclass
class Prepared:
    """The composited data of a study and what the runner needs to know about it."""

    full: xr.Dataset
    window: tuple[int, int]
    bin_days: float
    sources: list[list[str]]
    targets: list[str]
    remaps: dict[str, dict[str, list[str]]]
    description: str
    simulated: bool
    classes: tuple[str, ...] = legend.DEFAULT
    countries: np.ndarray = field(init=False)
    units: regions.UnitTable = field(init=False)
    _masks: dict[str, np.ndarray] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.countries = self.full["country"].values.astype(str)
        self.units = regions.UnitTable.of(self.full)

    def mask(self, unit: str) -> np.ndarray:
        """The samples of a unit, as a boolean mask (computed once per unit; read-only).

        Raises:
            CropGlobeError: For a unit that selects no sample (see :func:`cropglobe.study.regions.mask`).
        """
        if unit not in self._masks:
            m = regions.mask(unit, self.units)
            m.flags.writeable = False
            self._masks[unit] = m
        return self._masks[unit]

    def indices(self, unit: str) -> np.ndarray:
        """Sample indices of a unit (``FRA``, ``FRA:2023``, ``arkansas``, ``CAN+USA`` ...)."""
        return np.flatnonzero(self.mask(unit))

    def group_indices(self, group: list[str]) -> np.ndarray:
        """Sample indices of a pooled source group."""
        return self.indices("+".join(group))

    def classes_held(self, group: list[str]) -> list[str]:
        """The legend's classes that a source group's samples hold, in legend order (a recipe's ``source_classes``)."""
        present = set(self.full["label"].values[self.group_indices(group)].astype(str))
        return [c for c in self.classes if c in present]

    def overlaps(self, target: str, group: list[str]) -> bool:
        """Whether a target shares samples with a source group (it is then scored by the hold-out only)."""
        return bool((self.mask(target) & self.mask("+".join(group))).any())

    def country(self, unit: str) -> str:
        """The country of a unit's samples (per-country remaps, scenario)."""
        return regions.country_of(unit, self.units)

    def windowed(self) -> xr.Dataset:
        """The season-window slice of the full-year composite."""
        start, count = self.window
        return self.full.isel(time=slice(start, start + count))


def source_groups(sources: list[str]) -> list[list[str]]:
    """Parse ``["FRA", "USA+CAN"]`` into ``[["FRA"], ["USA", "CAN"]]`` (``+`` pools units, see :mod:`.regions`)."""
    return [regions.members(s) for s in sources]


def load_parts(spec: ExperimentSpec) -> tuple[list[xr.Dataset], str]:
    """Load the SampleSets named by the spec (or simulate one), each as it is on disk.

    Every ``data.path`` entry (and ``test_path``, marked with an ``is_test`` coordinate) stays a
    separate part so that each can be composited onto the common aligned axis before they are
    joined: sets with different time steps (observations, dekadal, monthly) mix in one study.

    Returns:
        The parts and a description of where the data came from (SIMULATED DATA says so).
    """
    if spec.data.simulate is not None:
        sim = spec.data.simulate
        ds = simulate.simulate(sim.countries, samples_per_class=sim.samples_per_class, year=sim.year, seed=sim.seed)
        parts, note = to_legend([ds], ["simulator"], spec)
        return parts, (f"SIMULATED DATA: cropglobe simulator ({sim.samples_per_class} samples/class, seed {sim.seed})"
                       + note)
    paths = [spec.data.path] if isinstance(spec.data.path, str) else list(spec.data.path)
    parts = harmonise.namespace_ids([samples.load(p) for p in paths], paths)
    label = "; ".join(
        f"{p} ({d.attrs.get('source') or d.attrs.get('sensor')})" for p, d in zip(paths, parts, strict=True)
    )
    if spec.data.test_path is not None:
        test = samples.load(spec.data.test_path)
        test = test.assign_coords(sample_id=("sample", np.char.add("test:", test["sample_id"].values.astype(str))))
        parts = [d.assign_coords(is_test=("sample", np.zeros(d.sizes["sample"], bool))) for d in parts]
        parts.append(test.assign_coords(is_test=("sample", np.ones(test.sizes["sample"], bool))))
        label += f" + test set {spec.data.test_path}"
    names = paths + ([spec.data.test_path] if spec.data.test_path else [])
    parts, note = harmonise.common_bands(parts, names, spec.bands)
    if note:
        label += f"; {note}"
    parts, moved = to_legend(parts, names, spec)
    label += moved
    if any(d.attrs.get("simulated") for d in parts):
        label = f"SIMULATED DATA: {label}"
    return parts, label


def to_legend(parts: list[xr.Dataset], names: list[str], spec: ExperimentSpec) -> tuple[list[xr.Dataset], str]:
    """Every part's labels moved to the study's legend (:func:`cropglobe.legend.translate` with its ``class_map``).

    Returns:
        The parts and a note for the data description naming every class that changed name
        (empty when none did).

    Raises:
        CropGlobeError: For a data class the legend does not resolve and ``class_map`` does not list.
    """
    classes, table = spec.legend(), spec.class_table()
    out, moved = [], {}
    for part, name in zip(parts, names, strict=True):
        labels, changed = legend.translate(part["label"].values, classes, table, where=f"{name}: labels")
        moved.update(changed)
        out.append(samples.with_classes(part, labels, classes))
    note = ""
    if not legend.is_default(classes):
        note = f"; legend {', '.join(classes)}"
    if moved:
        note += "; classes moved to the legend: " + ", ".join(f"{k} -> {v}" for k, v in sorted(moved.items()))
    return out, note


def composite_parts(parts: list[xr.Dataset], spec: ExperimentSpec) -> tuple[xr.Dataset, tuple[int, int], float]:
    """Composite every part onto the same aligned axis, then join them along ``sample``.

    With ``composite: null`` the parts must already share one composite axis. The joined set's
    ``attrs["dropped_coverage"]`` / ``["dropped_min_clear"]`` sum the per-country drops of all parts.
    """
    if spec.composite is None:
        ds = parts[0] if len(parts) == 1 else samples.concat(parts)
        return composite_data(ds, spec)
    done = [composite_data(part, spec)[0] for part in parts]
    full = done[0] if len(done) == 1 else samples.concat(done)
    total: dict[str, dict[str, int]] = {}
    for part in done:
        composite.add_drops(total, part.attrs)
    full.attrs.update(total)
    full.attrs["dropped_samples"] = sum(int(d.attrs.get("dropped_samples", 0)) for d in done)
    if len(done) > 1:
        full.attrs["regridded_from"] = "; ".join(sorted({d.attrs.get("regridded_from") or "observations"
                                                        for d in done}))
    return full, season.window_bins(full), float(spec.composite.interval)


def composite_data(ds: xr.Dataset, spec: ExperimentSpec) -> tuple[xr.Dataset, tuple[int, int], float]:
    """Composite observation-level data (or re-grid coarse composites) and locate the season window."""
    if spec.composite is None:
        if ds.attrs.get("time_kind") != "composite":
            raise CropGlobeError("config: composite is null but the data are observation-level; add a composite block")
        bin_days = float(np.median(ds["bin_days"].values))
        if spec.season_window:
            if np.issubdtype(ds["time"].dtype, np.datetime64):
                raise CropGlobeError("config: season_window with composite: null needs data on a day-of-year "
                                     "axis (an aligned composite); add a composite block instead")
            window = season.bins_of_window(ds["time"].values, ds["bin_days"].values, spec.season_window)
        elif ds.attrs.get("season_window") and not np.issubdtype(ds["time"].dtype, np.datetime64):
            window = season.window_bins(ds)
        else:
            window = (0, ds.sizes["time"])
        if spec.season_window or ds.attrs.get("season_window"):
            ds.attrs["season_window"] = spec.season_window or ds.attrs["season_window"]
        return ds, window, bin_days
    c = spec.composite
    full = composite.composite(ds, c)  # the call cropglobe map / predict repeat from the recipe
    return full, season.window_bins(full), float(c.interval)


def check_cells(cells: list[CellSpec]) -> None:
    """Raise for unknown features/models/augmentations and for feature/model mismatches."""
    from cropglobe import augment

    for cell in cells:
        feat = features.get_feature(cell.feature)
        info = models.model_info(cell.model)
        if feat.kind != info.input_kind:
            raise CropGlobeError(
                f"config: cell {cell.feature} x {cell.model}: model {cell.model!r} takes "
                f"{info.input_kind} inputs but feature {cell.feature!r} gives {feat.kind} features; "
                f"pair {info.input_kind} models with "
                f"{'median2d' if info.input_kind == 'matrix' else 'median1d/harmonic'}"
            )
        models.check_pair(cell.feature, cell.model, f"config: cell {cell.feature} x {cell.model}")
        where = f"config: cell {cell.feature} x {cell.model}: augmentation"
        resolved = augment.resolve(cell.augmentation, where=where)
        if resolved.unknowns is not None and info.family != "torch":
            raise CropGlobeError(f"{where} {augment.label(cell.augmentation)!r}: 'unknowns' (open-set "
                                 f"placeholders) trains torch models only; {cell.model!r} is {info.family}")
        if not resolved.is_identity:
            augment.label(cell.augmentation)  # an empty 'name' fails here, before training
            if not feat.windowed:
                raise CropGlobeError(
                    f"{where} {augment.label(cell.augmentation)!r} "
                    f"applies to the median features {MEDIAN_FAMILIES} only"
                )
        if cell.copies > 1 and info.family != "tabular":
            raise CropGlobeError(f"config: cell {cell.feature} x {cell.model}: 'copies' is for tabular models "
                                 "(torch models augment on the fly)")


def prepare_study(spec: ExperimentSpec) -> Prepared:
    """Load, check and composite the data of a spec; every input error is raised here."""
    check_cells(spec.cell_list())
    models.check_study_options(spec.model_options)  # every cell's model options, before any cell trains
    parts, description = load_parts(spec)
    table = regions.UnitTable.of(parts[0] if len(parts) == 1 else _fields(parts))
    groups = source_groups(spec.sources)
    for group in groups:
        for unit in group:
            regions.mask(unit, table, where="config: source")
    pooled = "+".join(u for g in groups for u in g)
    if spec.targets == "all":
        targets = [u for u in regions.all_units(table, spec.group_by)
                   if not (regions.mask(u, table) & regions.mask(pooled, table)).any()]
    else:
        targets = [regions.normalize(t) for t in spec.targets]
    if not targets and spec.in_region_fraction == 0:
        raise CropGlobeError("config: no target to evaluate (targets is empty and in_region_fraction is 0)")
    for unit in targets:
        regions.mask(unit, table, where="config: target")
    remaps = spec.remap_table()
    full, window, bin_days = composite_parts(parts, spec)
    prepared = Prepared(full, window, bin_days, groups, targets, remaps, description,
                        any(bool(d.attrs.get("simulated")) for d in parts), spec.legend())
    cover = full.attrs.get("dropped_coverage") or {}
    few = full.attrs.get("dropped_min_clear") or {}
    for unit in [u for g in groups for u in g] + targets:
        if not _selects(unit, prepared):
            iso = regions.country_of(unit, table)
            what = f"country {unit}" if unit == iso else f"{unit} (country {iso}: counts for the whole country)"
            raise CropGlobeError(
                f"config: {what} has no samples left after compositing ({cover.get(iso, 0)} dropped "
                f"because their data do not cover the season window, {few.get(iso, 0)} with too few clear "
                "observations); it cannot be a source or target: check the composite window and the data's dates")
    filled = full.attrs.get("edge_filled") or {}
    if filled and spec.composite is not None:
        prepared.description += (f"; window edges filled (coverage fill, at most {spec.composite.fill_days} days): "
                                 + ", ".join(f"{iso} {n}" for iso, n in sorted(filled.items())))
    if cover or few:
        prepared.description += "; dropped before training: " + ", ".join(
            f"{iso} {cover.get(iso, 0)} not covering the window + {few.get(iso, 0)} too few clear observations"
            for iso in sorted(set(cover) | set(few)))
    for unit in targets:
        labels = full["label"].values[prepared.mask(unit)]
        keep = taxonomy.remap_for(remap_key(unit, remaps, prepared.units), remaps, spec.legend())
        if keep is not None and labels.size:
            labels = taxonomy.remap_absent(labels, keep, spec.legend())
        if labels.size == 0:
            raise CropGlobeError(f"config: target {unit} is empty")
    return prepared


def _selects(unit: str, prepared: Prepared) -> bool:
    try:
        prepared.mask(unit)
    except CropGlobeError:
        return False
    return True


def _fields(parts: list[xr.Dataset]) -> xr.Dataset:
    """The per-sample unit fields of several parts, joined (before compositing, for the config checks)."""
    names = [n for n in regions.GROUP_FIELDS if any(n in d.coords for d in parts)]
    cols = {n: np.concatenate([d[n].values.astype(str) if n in d.coords else np.full(d.sizes["sample"], "")
                               for d in parts]) for n in names}
    return xr.Dataset(coords={n: ("sample", v) for n, v in cols.items()})


def remap_key(target: str, remaps: dict[str, dict[str, list[str]]], table: regions.UnitTable) -> str:
    """The key of a target in the per-target remaps: the unit itself if listed, else its country."""
    if target.upper() in remaps or target in remaps:
        return target.upper() if target.upper() in remaps else target
    return regions.country_of(target, table)
