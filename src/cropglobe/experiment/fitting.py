"""Train one experiment cell: build the model, assemble its inputs, fit torch or tabular alike."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cropglobe import models, taxonomy
from cropglobe.errors import CropGlobeError
from cropglobe.experiment import selftrain
from cropglobe.experiment.data import MEDIAN_FAMILIES, Prepared
from cropglobe.features import families as features
from cropglobe.recipe import RECIPE_VERSION, CompositeSettings, RecipeSpec
from cropglobe.study.spec import CellSpec, ExperimentSpec
from cropglobe.verbosity import quiet_training

N_CLASSES = len(taxonomy.CLASSES)  # the default legend's; a study's cells have len(prepared.classes)


def _classes(cache: Any) -> list[str]:
    """The study's legend (``cache.prepared.classes``; the default legend for a cache without one)."""
    return list(getattr(getattr(cache, "prepared", None), "classes", taxonomy.CLASSES))


def train_cell(prepared: Prepared, spec: ExperimentSpec, cache: Any, cell: CellSpec, seed: int,
               parts: dict[str, np.ndarray], y: np.ndarray, cell_dir: Path, resume: bool,
               callbacks: list[Any], progress: bool,
               group: list[str] | None = None) -> tuple[Any, Callable[[np.ndarray], np.ndarray], dict]:
    """Fit the cell's model on the source's training part (best epoch chosen on its validation part).

    ``group`` is the cell's source (its units, pooled), recorded as ``trained_on`` in the recipe
    (default: every source of the study).

    Returns:
        The fitted model (with ``predict_proba``), a function giving model inputs for sample
        indices, and training info (best epoch and validation macro-F1 for torch models).
    """
    info = models.model_info(cell.model)
    options = dict(spec.model_options.get(cell.model, {}))
    tr, va = parts["train"], parts["val"]
    start, count = prepared.window
    if info.family == "torch":
        from cropglobe.training.lightning import TrainSettings

        settings = TrainSettings.from_spec(spec.train, seed=seed, progress=progress, callbacks=list(callbacks),
                                           log_dir=str(cell_dir))
        data = _training_data(cell, cache)
        clf = _torch_classifier(cell, options, settings, data, prepared.window, prepared.bin_days,
                                len(prepared.classes))
        clf.fit(data[tr], y[tr], data[va], y[va], ckpt_dir=cell_dir / "checkpoints", resume=resume)

        def inputs(idx: np.ndarray) -> np.ndarray:
            return cell_inputs(cell, cache, idx, prepared.window)
        clf.save(cell_dir / "model", _bands(prepared) if cell.feature == "median2d" else None,
                 list(prepared.classes))
        write_recipe(cell_dir, prepared, spec, cell, clf.net.cropglobe_spec.options, group)
        return clf, inputs, clf.fit_info
    # tabular models: the same fit / predict_proba interface; augmentation as offline copies
    feats = cache.features(cell.feature)
    x_train, y_train = feats[tr], y[tr]
    if augmenter(cell) is not None:
        from cropglobe import augment

        copies, origin = augment.augment_copies(cache.full_series()[tr], (start, count), prepared.bin_days,
                                                cell.copies, augment=cell.augmentation, seed=seed)
        x_train = np.concatenate([x_train, copies.reshape(len(copies), -1)])
        y_train = np.concatenate([y_train, y[tr][origin]])
    model = models.get_model(cell.model, feats.shape[1], 1, len(prepared.classes), seed=seed, **options)
    model.fit(x_train, y_train)
    model.save(cell_dir / "model", None, list(prepared.classes))
    write_recipe(cell_dir, prepared, spec, cell, model.spec.options, group)

    def tab_inputs(idx: np.ndarray) -> np.ndarray:
        return feats[idx]
    return model, tab_inputs, {}


def augmenter(cell: CellSpec) -> Any:
    """The cell's :class:`~cropglobe.augment.PhenologyAugment`, or None when it changes nothing."""
    from cropglobe import augment

    aug = augment.resolve(cell.augmentation, where=f"cell {cell.feature} x {cell.model}: augmentation")
    return None if aug.is_identity else aug


def _bands(prepared: Prepared) -> list[str]:
    return [str(b) for b in prepared.full["band"].values]


def write_recipe(cell_dir: Path, prepared: Prepared, spec: ExperimentSpec, cell: CellSpec,
                 model_options: dict | None = None, group: list[str] | None = None) -> Path:
    """Write ``recipe.json``: how to turn new imagery into this model's inputs (used by ``cropglobe map``).

    It is a :class:`cropglobe.recipe.RecipeSpec`: the model file and the options it was built
    with (``model_options``, e.g. the sha256 of the Presto weights ``presto-ft`` started from),
    feature family and options (as
    the family records them, e.g. with the sha256 of Presto's weights), the compositing settings
    of the study (``composite: null``: those the data were composited with), the season window
    bins, the band order and the class names.
    """
    settings = spec.composite or CompositeSettings.from_attrs(prepared.full.attrs, where="data")
    recipe = RecipeSpec(
        format_version=RECIPE_VERSION, model_file="model", model=cell.model, model_options=dict(model_options or {}),
        feature=cell.feature,
        feature_options=features.get_feature(cell.feature).recorded_options(spec.feature_options.get(cell.feature, {})),
        flatten=cell.feature == "median1d", bands=_bands(prepared), classes=list(prepared.classes),
        composite=settings, window_bins=prepared.window, bin_days=prepared.bin_days,
        trained_on=["+".join(group)] if group else list(spec.sources),
        data=prepared.description)
    return recipe.write(cell_dir / "recipe.json")


def selftrain_cell(model: Any, cell: CellSpec, spec: ExperimentSpec, cache: Any, window: tuple[int, int],
                   bin_days: float, parts: dict[str, np.ndarray], x_target: np.ndarray, seed: int,
                   work_dir: Path) -> tuple[Any, np.ndarray, dict[str, Any]]:
    """Self-train one cell's fitted model on one target, as the runner trained it; its target probabilities.

    Used by the transfer runner (``adaptation.methods: [selftrain]``), by ``cropglobe adapt`` on
    saved cells and by ``cropglobe adapt-cell --method selftrain`` (a cell for ``cropglobe map``).
    Torch models on median families train on full-year series cut to the window with the cell's
    augmentation; other torch models and tabular models train on the family's features (tabular
    models are refitted from scratch on the combined set, without the cell's offline augmentation
    copies). The checkpoints in ``work_dir`` are removed afterwards.

    Args:
        model: The cell's fitted model (a ``TorchClassifier``, any object with a torch ``net``, or a
            tabular classifier).
        cell: Its :class:`cropglobe.experiment.study.CellSpec`.
        spec: The :class:`cropglobe.experiment.study.ExperimentSpec` (``train``, ``model_options``,
            ``adaptation.selftrain``).
        cache: The study's feature cache (``full_series()``, ``features(family)``, ``labels``).
        window: ``(start, count)`` of the season window on the full-year axis.
        bin_days: Bin width in days.
        parts: The cell's ``train`` / ``val`` source indices.
        x_target: The target's unlabelled inputs in the layout the cell trains on
            (:func:`training_inputs`).
        seed: The cell's seed.
        work_dir: Scratch folder for fine-tuning checkpoints.

    Returns:
        The adapted model, its class probabilities on the target and the record of
        :func:`cropglobe.experiment.selftrain.self_train`.
    """
    settings_spec = spec.adaptation.selftrain if spec.adaptation is not None else selftrain.SelfTrainSpec()
    options = dict(spec.model_options.get(cell.model, {}))
    tr, va = parts["train"], parts["val"]
    labels = cache.labels
    data = _training_data(cell, cache)
    if x_target.shape[1:] != data.shape[1:]:
        raise CropGlobeError(f"selftrain: target inputs of shape {x_target.shape[1:]} per sample, the cell trains "
                             f"on {data.shape[1:]}")

    def target_inputs(_model: Any) -> np.ndarray:
        return _model_inputs(cell, x_target, window)

    refit = None
    if models.model_info(cell.model).family == "torch":
        from cropglobe.training.lightning import TorchClassifier, TrainSettings

        if not isinstance(model, TorchClassifier):  # a saved net (``cropglobe adapt``): wrap it for training
            settings = TrainSettings.from_spec(spec.train, seed=seed, progress=False)
            clf = _torch_classifier(cell, options, settings, data, window, bin_days, len(_classes(cache)))
            clf.net = model.net
            model = clf
    else:
        def refit(_model: Any, x: np.ndarray, y: np.ndarray) -> Any:
            return models.get_model(cell.model, data.shape[1], 1, len(_classes(cache)), seed=seed,
                                    **options).fit(x, y)
    work_dir = Path(work_dir)
    if work_dir.exists():
        shutil.rmtree(work_dir)  # a scratch folder of this cell left by an interrupted run
    with quiet_training():  # no Lightning banner per round
        adapted, record = selftrain.self_train(model, data[tr], labels[tr], data[va], labels[va], x_target,
                                               target_inputs, settings_spec, work_dir, refit)
    shutil.rmtree(work_dir, ignore_errors=True)
    return adapted, adapted.predict_proba(target_inputs(adapted)), record


def training_inputs(cell: CellSpec, cache: Any, idx: np.ndarray) -> np.ndarray:
    """Samples ``idx`` in the layout the cell's model trains on (torch on median families: full-year series)."""
    return _training_data(cell, cache)[idx]


def cell_inputs(cell: CellSpec, cache: Any, idx: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    """Model inputs of samples ``idx`` for the cell's model (season windows or the family's features)."""
    return _model_inputs(cell, training_inputs(cell, cache, idx), window)


def trains_on_series(cell: CellSpec) -> bool:
    """True when the cell's model trains on full-year series cut to the window (torch on median families)."""
    return models.model_info(cell.model).family == "torch" and cell.feature in MEDIAN_FAMILIES


def _training_data(cell: CellSpec, cache: Any) -> np.ndarray:
    """Every sample in the layout the cell's model trains on (full-year series or the family's features)."""
    return cache.full_series() if trains_on_series(cell) else cache.features(cell.feature)


def _model_inputs(cell: CellSpec, x: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    """Model inputs from rows of :func:`training_inputs`: the season window (flattened for median1d)."""
    if not trains_on_series(cell):
        return x
    start, count = window
    x = x[..., start:start + count]
    return x.reshape(len(x), -1) if cell.feature == "median1d" else x


def _torch_classifier(cell: CellSpec, options: dict[str, Any], settings: Any, data: np.ndarray,
                      window: tuple[int, int], bin_days: float, n_classes: int = N_CLASSES) -> Any:
    """The cell's untrained ``TorchClassifier`` for training data ``data``: sizes, window, flattening, augmentation."""
    from cropglobe.training.lightning import TorchClassifier

    if cell.feature not in MEDIAN_FAMILIES:
        return TorchClassifier(cell.model, data.shape[1], 1, n_classes, options, settings)
    start, count = window
    flatten = cell.feature == "median1d"
    n_bands, n_times = (data.shape[1] * count, 1) if flatten else (data.shape[1], count)
    clf = TorchClassifier(cell.model, n_bands, n_times, n_classes, options, settings, window=(start, count),
                          bin_days=bin_days, flatten=flatten)
    clf.augment = augmenter(cell)  # a preset name or an inline mapping (None: identity)
    return clf
