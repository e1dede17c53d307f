"""Predict a sample table (a labelled or unlabelled SampleSet) with a trained transfer cell.

The sample counterpart of the map (:func:`cropglobe.mapping.make_map`): a cell's ``recipe.json``
(:mod:`cropglobe.mapping.cell`) turns new samples into the model's inputs exactly as training
did. Observation-level and dated coarse (dekadal, monthly) SampleSets go through
:func:`cropglobe.temporal.composite.composite` with the recipe's interval, window, alignment and clear-sky
threshold, ``min_clear``, per-country ``offsets`` and scene classes (:class:`cropglobe.recipe.CompositeSettings`;
a format-1 recipe, which did not record offsets, takes those of the run's config); a
set already composited on the recipe's aligned calendar (``cropglobe composite`` output) is used
as it is. Then the cell (:class:`cropglobe.cells.cell.Cell`, the object the map, the study's
evaluation and self-training use) takes the recipe's season-window bins and feature family
(:meth:`~cropglobe.cells.cell.Cell.inputs`) and gives the model's probabilities
(:meth:`~cropglobe.cells.cell.Cell.predict_proba`).

Dropped samples stay in the output, listed with a null prediction and a ``status`` naming why:
fewer than ``min_clear`` clear observations in the season window (``composite`` drops them), or a
band without any clear value over the year (the map's nodata rule). Their count is reported.

Labels: a SampleSet without a ``label`` coordinate, or with empty labels, holds unlabelled
samples (no metrics for them). Scores follow the transfer evaluation
(:func:`cropglobe.training.metrics.remap_target` and ``score_names``): per target country its
remap (classes absent from its reference -> ``other``, truth and prediction alike; by default
the remaps of the run the cell belongs to and, under its ``absent_classes: other``, the classes
the cell's source never held -> ``other`` too, as the study scores them), over the cell's legend
(``recipe.json`` ``classes``: a 4-class cell has 4 ``prob_*`` columns and 4-class confusion
matrices). Reference labels resolve
to the cell's classes by name, last level or taxonomy alias (:func:`cropglobe.legend.resolve`);
those the model does not know count as ``other`` and are listed with their counts in the
metrics (``reference_as_other``). A hierarchical legend adds scores at the parent level (``parent``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from cropglobe import legend, taxonomy, yamlfile
from cropglobe.atomic import check_replaceable, guarded_path
from cropglobe.cells.cell import Cell, Recipe
from cropglobe.cells.inputs import composite_like_training, load_samples, model_inputs  # noqa: F401 (re-exported)
from cropglobe.cells.run_folder import RunFolder
from cropglobe.checks import whole_number
from cropglobe.errors import CropGlobeError
from cropglobe.mapping.predict import check_alignable, inference_precision
from cropglobe.mapping.predict_stream import (
    DEFAULT_BLOCK,
    alignment_series,
    block_probabilities,
    open_samples,
    series_of,
)
from cropglobe.models.ensemble import check_adapt, prior_shift

PREDICTED = "predicted"
FEW_CLEAR = "too few clear observations in the season window"
UNFILLED = "a band without any clear observation"


@dataclass
class SamplePredictions:
    """Predictions of one cell on one SampleSet.

    Attributes:
        table: One row per input sample (input order): ``sample_id, country, year, lon, lat``,
            ``label`` (when any sample is labelled; null where unlabelled), ``predicted`` (null
            where dropped), ``confidence`` (max probability), ``prob_<class>`` per class,
            ``status`` and ``simulated``.
        metrics: The scores (see :func:`score`), or None without labelled predicted samples.
        recipe: The cell's recipe.
        dropped: Dropped samples per reason.
        simulated: The samples come from the simulator.
        paths: Files written (``predictions``, ``metrics``).
        target_prior: With ``adapt="prior"``: the class prior estimated on these samples' inputs
            (class -> share), by which the probabilities were re-weighted.
    """

    table: pd.DataFrame
    metrics: dict[str, Any] | None
    recipe: Recipe
    dropped: dict[str, int]
    simulated: bool
    paths: dict[str, Path] = field(default_factory=dict)
    target_prior: dict[str, float] | None = None
    alignment: dict[str, float] | None = None

    @property
    def n_dropped(self) -> int:
        """Samples without a prediction."""
        return int(sum(self.dropped.values()))


@dataclass(frozen=True)
class PredictOptions:
    """How ``cropglobe predict`` predicts a SampleSet (every field has the CLI's default but ``block``).

    Attributes:
        min_clear: Fewer clear observations in the season window -> dropped (default: the recipe's,
            3 for format-1 recipes).
        remaps: Per-target remaps of the scores: ``"run"`` (those of the run holding the cell,
            none outside a run folder), ``"paper"``, ``"none"``/None, a YAML file or a mapping
            ``{ISO3: {"keep": [classes]}}``.
        members: Other cells of the same inputs (e.g. the other seeds): the prediction is the mean
            of all the cells' probabilities (a seed ensemble). Empty when the cell is a loaded Cell
            (it holds its ensemble).
        adapt: ``none``, ``align`` (read the season window at the offset / stretch that
            :mod:`cropglobe.augment.align` finds on these samples' inputs; recorded in the table's
            ``align_*_days`` columns and the metrics) or ``prior``: re-weight the probabilities
            by the class prior of these samples, estimated by EM from their inputs alone (labels unused;
            :func:`cropglobe.models.ensemble.prior_shift`). A single cell with a
            ``calibration.json`` (fitted on its source validation split by ``cropglobe transfer``)
            has its probabilities calibrated first, as in the run's ``prior`` rows; ensembles
            (``members``) and older cells use EM on the raw probabilities.
        precision: Torch inference ``"32-true"`` (default), ``"bf16-mixed"`` or ``"auto"``
            (:func:`cropglobe.mapping.predict.inference_precision`); tabular models ignore it.
        block: Samples per block (:mod:`cropglobe.mapping.predict_stream`; the set may then be the lazy
            set of :func:`~cropglobe.mapping.predict_stream.open_samples`); None: the whole set at once
            (:func:`predict_file`: :data:`~cropglobe.mapping.predict_stream.DEFAULT_BLOCK`).
    """

    min_clear: int | None = None
    remaps: Mapping[str, Any] | str | os.PathLike | None = "run"
    members: Sequence[str | os.PathLike] = ()
    adapt: str = "none"
    precision: str | None = None
    block: int | None = None


def predict_samples(cell: str | os.PathLike | Cell, ds: xr.Dataset, labelled: np.ndarray | None = None,
                    options: PredictOptions = PredictOptions(), where: str = "samples") -> SamplePredictions:
    """Predict every sample of a SampleSet with a cell (nothing is written).

    ``adapt="align"`` always takes two passes: :func:`search_alignment` finds the offsets on the set
    (on a seeded sample of it when it spans several blocks and holds more than ``search_samples``
    samples: :func:`~cropglobe.mapping.predict_stream.alignment_series`), then every block is
    predicted at them.

    Args:
        cell: The cell folder (``RUN_DIR/cells/<cell>``) or its ``recipe.json``, or a loaded
            :class:`~cropglobe.cells.cell.Cell` whose recipe names its folder (e.g. the self-trained
            models of ``cropglobe predict --adapt selftrain`` with the recipe of the cells they were
            adapted from: the run of that folder gives the ``"run"`` remaps and a format-1 recipe's
            offsets); its ``precision`` is set here.
        ds: A validated SampleSet (observation-level, dated coarse composite or aligned composite).
        labelled: Which samples carry a reference label (default: all).
        options: Remaps, ensemble members, adaptation, precision, ``min_clear`` and block size
            (:class:`PredictOptions`).
        where: Name of the samples for error messages.

    Returns:
        The :class:`SamplePredictions`.

    Raises:
        CropGlobeError: For a bad recipe, model, band set, calendar or remap.
    """
    min_clear, adapt, block, members = options.min_clear, options.adapt, options.block, options.members
    check_adapt(adapt, f"adapt={adapt!r}")
    inference_precision(options.precision)
    if block is not None:
        whole_number(block, "block", 1)
    if isinstance(cell, Cell) and members:
        raise CropGlobeError("predict_samples: members come with a loaded Cell (its recipe's members); got both")
    # the model is loaded by the first block that predicts
    the_cell = cell if isinstance(cell, Cell) else Cell.load(cell, tuple(members))
    recipe: Recipe = the_cell.recipe  # type: ignore[assignment]
    the_cell.precision = inference_precision(options.precision, recipe.family)
    rules = run_settings(recipe, options.remaps)
    offsets = rules.offsets
    n = ds.sizes["sample"]
    labelled = np.ones(n, dtype=bool) if labelled is None else np.asarray(labelled, dtype=bool)
    found = None  # (start_days, end_days, record) searched before the blocks are predicted
    if adapt == "align":
        found = search_alignment(ds, the_cell, min_clear, offsets, where, block)
    alignment = found[2] if found is not None else None

    def predict(full: xr.Dataset, x: np.ndarray, keep: np.ndarray) -> np.ndarray:  # one block's probabilities
        if found is not None:
            x, _ = aligned_inputs(full, keep, the_cell, found)
        return np.asarray(the_cell.predict_proba(x), dtype=np.float64)

    rows, proba, composited = block_probabilities(ds, recipe, predict, min_clear, offsets, where, block)
    prior = None
    calibration = recipe.calibration() if adapt == "prior" else None
    if adapt == "prior" and rows.size:
        proba, pi = prior_shift(proba if calibration is None else calibration.apply(proba))
        prior = {c: round(float(v), 4) for c, v in zip(recipe.classes, pi, strict=True)}
    status = np.full(n, FEW_CLEAR, dtype=object)
    status[composited] = UNFILLED
    status[rows] = PREDICTED
    simulated = bool(ds.attrs.get("simulated"))
    table = _table(ds, labelled, recipe, rows, proba, status, simulated)
    dropped = {reason: int((status == reason).sum()) for reason in (FEW_CLEAR, UNFILLED) if (status == reason).any()}
    if alignment is not None:
        table["align_start_days"], table["align_end_days"] = alignment["align_start_days"], alignment["align_end_days"]
    result = SamplePredictions(table, None, recipe, dropped, simulated, target_prior=prior, alignment=alignment)
    result.metrics = score(result, rules, where)
    if result.metrics is not None and alignment is not None:
        result.metrics["alignment"] = alignment
    if result.metrics is not None and prior is not None:
        result.metrics["target_prior"] = prior
        if calibration is not None:
            result.metrics["calibration_t"] = round(calibration.t, 4)
    return result


def aligned_inputs(full: xr.Dataset, keep: np.ndarray, cell: Cell,
                   found: tuple[float, float, dict[str, float]]) -> tuple[np.ndarray, dict[str, float]]:
    """Model inputs of the kept samples read at the season offset / stretch :func:`search_alignment` found.

    Args:
        full: A full-year composite.
        keep: Its samples with inputs.
        cell: The cell.
        found: ``(start_days, end_days, record)`` of :func:`search_alignment`.

    Returns:
        The inputs and the record.

    Raises:
        CropGlobeError: When the cell's feature family is not a season window (align needs median features).
    """
    check_alignable(cell.recipe, "adapt='align'")  # type: ignore[arg-type]
    a, b, record = found
    return cell.series_inputs(series_of(full, keep), a, b), record


def search_alignment(ds: xr.Dataset, cell: Cell, min_clear: int | None, offsets: Mapping[str, int] | None,
                     where: str, block: int | None) -> tuple[float, float, dict[str, float]] | None:
    """The align offsets of a (lazy) set, read block by block: the first pass of ``adapt="align"``.

    A set that spans several blocks and holds more than :class:`~cropglobe.augment.align.AlignSettings`
    ``search_samples`` samples is searched on a seeded sample of them, so memory does not grow with
    the set (:func:`~cropglobe.mapping.predict_stream.alignment_series`); a smaller one on all of its
    samples with inputs (what :func:`cropglobe.augment.align.search` draws from). The search reads only
    the samples' inputs and the model's probabilities (no label).

    Returns:
        ``(start_days, end_days, record)``; None when no sample of the set has model inputs (nothing
        is predicted, so nothing is aligned).

    Raises:
        CropGlobeError: When the cell's feature family is not a season window, or no drawn sample has
            inputs while others were not drawn.
    """
    from cropglobe.augment.align import AlignSettings

    check_alignable(cell.recipe, "adapt='align'")  # type: ignore[arg-type]
    settings = AlignSettings()
    series = alignment_series(ds, cell.recipe, min_clear, offsets, where, block,  # type: ignore[arg-type]
                              settings.search_samples, settings.seed)
    drawn = block is not None and ds.sizes["sample"] > max(settings.search_samples, block)
    if len(series) == 0 and not drawn:
        return None
    return cell.search_alignment(series, where="adapt='align'")


def _table(ds: xr.Dataset, labelled: np.ndarray, recipe: Recipe, rows: np.ndarray, proba: np.ndarray,
           status: np.ndarray, simulated: bool) -> pd.DataFrame:
    n = ds.sizes["sample"]
    out: dict[str, Any] = {
        "sample_id": ds["sample_id"].values.astype(str), "country": ds["country"].values.astype(str),
        "year": ds["year"].values.astype(np.int32), "lon": ds["lon"].values.astype(np.float64),
        "lat": ds["lat"].values.astype(np.float64),
    }
    if "region" in ds.coords:  # the region named at import (cropglobe import --region)
        out["region"] = ds["region"].values.astype(str)
    if labelled.any():
        out["label"] = np.where(labelled, ds["label"].values.astype(str).astype(object), None)
    predicted = np.full(n, None, dtype=object)
    predicted[rows] = np.asarray(recipe.classes, dtype=object)[proba.argmax(1)] if rows.size else []
    out["predicted"] = predicted
    conf = np.full(n, np.nan)
    conf[rows] = proba.max(1) if rows.size else []
    out["confidence"] = conf
    for k, name in enumerate(recipe.classes):
        col = np.full(n, np.nan)
        col[rows] = proba[:, k]
        out[f"prob_{name}"] = col
    out["status"] = status.astype(str)
    out["simulated"] = np.full(n, simulated)
    return pd.DataFrame(out)


def score(result: SamplePredictions, rules: RunSettings, where: str = "samples") -> dict[str, Any] | None:
    """Scores of the labelled, predicted samples as the transfer evaluation computes them.

    Args:
        result: The predictions.
        rules: The remaps and the source-class rule (:func:`run_settings`).
        where: Name of the samples for error messages.

    Returns:
        None without such samples; else ``{"targets": {ISO3: scores}, "all": scores (several
        countries only), "regions": {region: scores} (sets with a ``region`` coordinate), counts,
        "remaps", "absent_classes"}`` where scores are :meth:`cropglobe.training.metrics.Scores.to_dict`
        plus the ``remap`` kept classes (None: all), after the source-class rule.
    """
    from cropglobe.training.metrics import remap_target, score_names  # defers scikit-learn

    remaps, source = rules.remaps, rules.source_classes
    t = result.table
    if "label" not in t:
        return None
    m = t["label"].notna().to_numpy() & t["predicted"].notna().to_numpy()
    if not m.any():
        return None
    from cropglobe.training.metrics import score_at_depth

    classes = tuple(result.recipe.classes)
    if taxonomy.OTHER not in classes:
        raise CropGlobeError(f"{result.recipe.path}: classes {', '.join(classes)} have no 'other'; scores send "
                             "reference labels the model does not know to 'other'")
    raw = t["label"].to_numpy()[m].astype(str)
    resolved = {u: legend.resolve(u, classes) for u in np.unique(raw)}
    as_other = {u: int((raw == u).sum()) for u, c in resolved.items() if c is None}
    truth = np.array([resolved[u] or taxonomy.OTHER for u in raw], dtype=str)  # unknown to the model -> other
    pred = t["predicted"].to_numpy()[m].astype(str)
    countries = t["country"].to_numpy()[m].astype(str)
    targets: dict[str, Any] = {}
    pooled_t, pooled_p = [], []
    for iso in np.unique(countries):
        sel = countries == iso
        rt, rp = remap_target(iso, truth[sel], pred[sel], remaps, source, classes)
        pooled_t.append(rt)
        pooled_p.append(rp)
        scores = score_names(rt, rp, classes)
        targets[str(iso)] = {**scores.to_dict(), "remap": rules.kept(str(iso), classes)}
        if legend.depth(classes) > 1:
            targets[str(iso)]["parent"] = score_at_depth(scores.confusion, classes).to_dict()
    out: dict[str, Any] = {
        "cell": str(result.recipe.path.parent), "model": result.recipe.model, "feature": result.recipe.feature,
        "samples": where, "data": "SIMULATED DATA" if result.simulated else "", "simulated": result.simulated,
        "n_samples": len(t), "n_scored": int(m.sum()), "n_dropped": result.n_dropped, "dropped": result.dropped,
        "n_unlabelled": int(t["label"].isna().sum()), "classes": list(classes), "reference_as_other": as_other,
        "targets": targets, "absent_classes": rules.describe(),
    }
    if len(targets) > 1:
        out["all"] = score_names(np.concatenate(pooled_t), np.concatenate(pooled_p), classes).to_dict()
    if "region" in t:  # per region named at import, each with its country's remap
        regions = t["region"].to_numpy()[m].astype(str)
        out["regions"] = {}
        for name in sorted(set(regions) - {""}):
            sel = regions == name
            iso = str(countries[sel][0])
            rt, rp = remap_target(iso, truth[sel], pred[sel], remaps, source, classes)
            out["regions"][name] = score_names(rt, rp, classes).to_dict()
    return out


@dataclass(frozen=True)
class RunSettings:
    """How a cell's predictions are scored, and the run's compositing offsets (:func:`run_settings`).

    Attributes:
        remaps: Per-target remaps ``{ISO3: {"keep": [classes]}}`` (empty: none).
        offsets: The run's per-country compositing offsets (None: none).
        source_classes: Classes the cell's source held when the run scores the others as ``other``
            (its ``absent_classes: other``, with ``remaps: run``); None: no such rule.
        note: Why the run's rule could not be applied (a recipe that does not record its source's
            classes), else None.
    """

    remaps: dict[str, Any]
    offsets: dict[str, int] | None = None
    source_classes: list[str] | None = None
    note: str | None = None

    def kept(self, target: str, classes: Sequence[str]) -> list[str] | None:
        """The classes a target's scores keep after its remap and the source-class rule (None: all)."""
        return taxonomy.kept_classes(target, self.remaps, classes, self.source_classes)

    def describe(self) -> str:
        """The source-class rule, for the metrics: applied (naming the classes), not applied, or none."""
        if self.source_classes is not None:
            return f"other: classes outside the source's ({', '.join(self.source_classes)}) scored as other"
        return f"keep ({self.note})" if self.note else "keep"


def run_settings(recipe: Recipe, remaps: Mapping[str, Any] | str | os.PathLike | None) -> RunSettings:
    """The requested remaps, the run's source-class rule and its per-country compositing offsets.

    With ``remaps="run"`` the scores follow the run holding the cell: its remaps and, under its
    ``absent_classes: other``, the recipe's ``source_classes`` (classes the source never held count
    as ``other``, reference and prediction alike, as in the study's own scores).

    Raises:
        CropGlobeError: For an unreadable or invalid remaps file or mapping (checked before any work).
    """
    run = RunFolder.of_cell(recipe.path.parent)
    spec = run.load_spec() if run is not None else None
    offsets = dict(spec.composite.offsets) if spec and spec.composite and spec.composite.offsets else None
    if isinstance(remaps, str) and remaps.strip().lower() == "run":
        if spec is None:
            return RunSettings({}, offsets)
        if spec.absent_classes != "other":
            return RunSettings(spec.remap_table(), offsets)
        if recipe.source_classes is None:
            return RunSettings(spec.remap_table(), offsets, note=(
                f"the run scores classes absent from the source as other, but {recipe.path} (format "
                f"{recipe.format_version}) does not record its source's classes; not applied"))
        return RunSettings(spec.remap_table(), offsets, list(recipe.source_classes))
    if remaps is None or (isinstance(remaps, str) and remaps.strip().lower() == "none"):
        return RunSettings({}, offsets)
    if isinstance(remaps, str) and remaps.strip().lower() == "paper":
        return RunSettings(taxonomy.paper_remaps(), offsets)
    if isinstance(remaps, Mapping):
        table: Any = remaps
    else:
        p = Path(remaps)
        try:
            table = yamlfile.load(p, where=f"remaps {p}")
        except OSError as err:
            raise CropGlobeError(f"{p}: cannot read remaps ({err}); expected 'run', 'paper', 'none' or a YAML "
                                 "file {ISO3: {keep: [classes]}}") from None
    if not isinstance(table, Mapping):
        raise CropGlobeError(f"remaps {remaps}: expected a mapping {{ISO3: {{keep: [classes]}}}}")
    table = {str(k).upper(): v for k, v in table.items()}
    for iso, entry in table.items():
        if not isinstance(entry, Mapping):
            raise CropGlobeError(f"remap for {iso!r}: expected a mapping with a 'keep' list of classes")
        taxonomy.remap_for(iso, table, recipe.classes)
    return RunSettings(table, offsets)


def metrics_path(out: str | os.PathLike) -> Path:
    """``<out stem>.metrics.json`` next to the predictions file."""
    out = Path(out)
    return out.with_name(out.stem + ".metrics.json")


PREDICTIONS = "cropglobe predictions file (Parquet)"
METRICS = "cropglobe predictions metrics file (JSON)"
#: The option that names the metrics file (it is derived from --out).
METRICS_OPTION = "--out's metrics file"


def is_predictions_file(path: Path) -> bool:
    """True for a previous ``cropglobe predict`` output: a Parquet file with cropglobe's schema metadata."""
    import pyarrow.parquet as pq

    if not path.is_file():
        return False
    try:
        meta = pq.read_schema(path).metadata or {}
    except Exception:  # not Parquet (pyarrow raises ArrowInvalid, OSError, ...)
        return False
    return b"cropglobe" in meta


def is_metrics_file(path: Path) -> bool:
    """True for a previous ``<stem>.metrics.json`` of ``cropglobe predict`` (its ``n_scored`` and ``targets``)."""
    if not path.is_file() or path.stat().st_size > 50_000_000:
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and {"n_scored", "targets"} <= set(data)


def check_out(out: str | os.PathLike, overwrite: bool = False) -> Path:
    """Raise unless ``out`` can take a Parquet file (checked before any work).

    ``out`` and its ``<stem>.metrics.json`` neighbour must be new, or previous outputs of
    ``cropglobe predict``, unless ``overwrite`` is set.
    """
    out = Path(out)
    if out.suffix.lower() != ".parquet":
        raise CropGlobeError(f"out={out}: expected a .parquet file name")
    if out.is_dir() and not out.is_symlink():
        raise CropGlobeError(f"out={out}: is a folder; refusing to replace it: expected a .parquet file name")
    check_replaceable(out, PREDICTIONS, is_predictions_file, overwrite)
    check_replaceable(metrics_path(out), METRICS, is_metrics_file, overwrite, option=METRICS_OPTION)
    return out


def write(result: SamplePredictions, out: str | os.PathLike, overwrite: bool = False) -> dict[str, Path]:
    """Write the predictions GeoParquet (:mod:`cropglobe.mapping.geoparquet`) and the metrics JSON when scored.

    Without metrics, a stale ``<out stem>.metrics.json`` of an earlier run is removed (only when it
    is one: anything else there is left alone).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = check_out(out, overwrite)
    mpath = metrics_path(out)
    meta = {"cell": str(result.recipe.path.parent), "model": result.recipe.model, "feature": result.recipe.feature,
            "classes": result.recipe.classes, "simulated": result.simulated, "dropped": result.dropped}
    from cropglobe.mapping.geoparquet import with_geometry
    table = with_geometry(pa.Table.from_pandas(result.table, preserve_index=False), result.table["lon"],
                          result.table["lat"])  # GeoParquet: a point per sample, still plain Parquet
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"cropglobe": json.dumps(meta).encode()})
    paths = {"predictions": out}
    with guarded_path(out, PREDICTIONS, is_predictions_file, overwrite) as tmp:
        pq.write_table(table, tmp)
        if result.metrics is not None:
            with guarded_path(mpath, METRICS, is_metrics_file, overwrite, option=METRICS_OPTION) as mtmp:
                mtmp.write_text(json.dumps(result.metrics, indent=1), encoding="utf-8")
            paths["metrics"] = mpath
    if result.metrics is None and not mpath.is_symlink() and is_metrics_file(mpath):
        mpath.unlink()
    result.paths = paths
    return paths


def predict_file(cell: str | os.PathLike, samples_path: str | os.PathLike, out: str | os.PathLike,
                 options: PredictOptions = PredictOptions(), overwrite: bool = False) -> SamplePredictions:
    """``cropglobe predict``: read a SampleSet, predict it with a cell, write Parquet (+ metrics JSON).

    Every input is checked before anything is written; ``out`` and its metrics neighbour are
    replaced only when they are previous predictions (or ``overwrite`` is set). The set is read
    ``options.block`` samples at a time (None: :data:`~cropglobe.mapping.predict_stream.DEFAULT_BLOCK`;
    :mod:`cropglobe.mapping.predict_stream`), so memory does not grow with its size beyond the
    per-sample table.

    Raises:
        CropGlobeError: For any bad input (see :func:`predict_samples`, :func:`load_samples`).
    """
    check_out(out, overwrite)
    ds, labelled = open_samples(samples_path)
    if options.block is None:
        options = replace(options, block=DEFAULT_BLOCK)
    result = predict_samples(cell, ds, labelled, options, where=str(samples_path))
    write(result, out, overwrite)
    return result
