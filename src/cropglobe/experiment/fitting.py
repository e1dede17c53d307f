"""Train one experiment cell: build the model, assemble its inputs, fit torch or tabular alike.

:func:`train_cell` fits a :class:`~cropglobe.experiment.job.CellJob`'s model and returns it as a
:class:`~cropglobe.cells.cell.Cell` (the model with its recipe, which builds its inputs for every
later use); :func:`selftrain_cell` self-trains such a cell on one target.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from cropglobe import models
from cropglobe.cells.cell import Cell
from cropglobe.errors import CropGlobeError
from cropglobe.experiment import selftrain
from cropglobe.experiment.job import CellJob
from cropglobe.features import families as features
from cropglobe.recipe import RECIPE_VERSION, CompositeSettings, RecipeSpec
from cropglobe.study.spec import CellSpec
from cropglobe.verbosity import quiet_training


def train_cell(job: CellJob, cell_dir: Path, resume: bool, callbacks: list[Any],
               progress: bool) -> tuple[Cell, dict]:
    """Fit the cell's model on the source's training part (best epoch chosen on its validation part).

    Writes the model and ``recipe.json`` into ``cell_dir``; the recipe's ``trained_on`` is the
    job's source (its units, pooled).

    Returns:
        The fitted :class:`~cropglobe.cells.cell.Cell` (its model and recipe) and training info
        (best epoch and validation macro-F1 for torch models).
    """
    cell, y = job.cell, job.labels
    info = models.model_info(cell.model)
    tr, va = job.parts["train"], job.parts["val"]
    if info.family == "torch":
        from cropglobe.training.lightning import TrainSettings

        settings = TrainSettings.from_spec(job.spec.train, seed=job.seed, progress=progress,
                                           callbacks=list(callbacks), log_dir=str(cell_dir))
        data = job.training_data()
        clf = _torch_classifier(job, settings, data)
        clf.fit(data[tr], y[tr], data[va], y[va], ckpt_dir=cell_dir / "checkpoints", resume=resume)
        fitted = Cell(cell_recipe(job, clf.net.cropglobe_spec.options), clf)
        fitted.save(cell_dir)
        return fitted, clf.fit_info
    # tabular models: the same fit / predict_proba interface; augmentation as offline copies
    feats = job.cache.features(cell.feature)
    x_train, y_train = feats[tr], y[tr]
    if augmenter(cell) is not None:
        from cropglobe import augment

        copies, origin = augment.augment_copies(job.cache.full_series()[tr], job.window, job.bin_days,
                                                cell.copies, augment=cell.augmentation, seed=job.seed)
        x_train = np.concatenate([x_train, copies.reshape(len(copies), -1)])
        y_train = np.concatenate([y_train, y[tr][origin]])
    model = models.get_model(cell.model, feats.shape[1], 1, len(job.classes), seed=job.seed, **job.model_options)
    model.fit(x_train, y_train)
    fitted = Cell(cell_recipe(job, model.spec.options), model)
    fitted.save(cell_dir)
    return fitted, {}


def augmenter(cell: CellSpec) -> Any:
    """The cell's :class:`~cropglobe.augment.PhenologyAugment`, or None when it changes nothing."""
    from cropglobe import augment

    aug = augment.resolve(cell.augmentation, where=f"cell {cell.feature} x {cell.model}: augmentation")
    return None if aug.is_identity else aug


def cell_recipe(job: CellJob, model_options: dict | None = None) -> RecipeSpec:
    """The cell's ``recipe.json``: how to turn new imagery into this model's inputs (used by ``cropglobe map``).

    It is a :class:`cropglobe.recipe.RecipeSpec`: the model file and the options it was built
    with (``model_options``, e.g. the sha256 of the Presto weights ``presto-ft`` started from),
    feature family and options (as the family records them, e.g. with the sha256 of Presto's
    weights), the flatten flag (families whose layout is the flattened window), the compositing
    settings of the study (``composite: null``: those the data were composited with), the season
    window bins, the band order, the class names and the source it was trained on.
    """
    spec, prepared, cell = job.spec, job.prepared, job.cell
    family = features.get_feature(cell.feature)
    settings = spec.composite or CompositeSettings.from_attrs(prepared.full.attrs, where="data")
    return RecipeSpec(
        format_version=RECIPE_VERSION, model_file="model", model=cell.model, model_options=dict(model_options or {}),
        feature=cell.feature, feature_options=family.recorded_options(spec.feature_options.get(cell.feature, {})),
        flatten=family.layout == "flat-window", bands=job.bands, classes=list(job.classes),
        composite=settings, window_bins=job.window, bin_days=job.bin_days,
        trained_on=[job.source] if job.group else list(spec.sources), source_classes=job.training_classes(),
        data=prepared.description)


def selftrain_cell(job: CellJob, cell: Cell, x_target: np.ndarray, work_dir: Path) -> tuple[Cell, np.ndarray, dict]:
    """Self-train one cell's fitted model on one target, as the runner trained it; its target probabilities.

    Used by the transfer runner (``adaptation.methods: [selftrain]``), by ``cropglobe study adapt`` on
    saved cells and by ``cropglobe study adapt-cell --method selftrain`` (a cell for ``cropglobe map``).
    Torch models on windowed families train on full-year series cut to the window with the cell's
    augmentation; other torch models and tabular models train on the family's features (tabular
    models are refitted from scratch on the combined set, without the cell's offline augmentation
    copies). The checkpoints in ``work_dir`` are removed afterwards.

    Args:
        job: The cell's job (spec: ``train``, ``model_options``, ``adaptation.selftrain``; the
            feature cache; the ``train`` / ``val`` source indices; the seed).
        cell: The fitted cell (its model: a ``TorchClassifier``, a torch module or a tabular classifier).
        x_target: The target's unlabelled inputs in the layout the cell trains on
            (:meth:`.CellJob.training_data` rows).
        work_dir: Scratch folder for fine-tuning checkpoints.

    Returns:
        The adapted cell, its class probabilities on the target and the record of
        :func:`cropglobe.experiment.selftrain.self_train`.
    """
    spec = job.spec
    settings_spec = spec.adaptation.selftrain if spec.adaptation is not None else selftrain.SelfTrainSpec()
    tr, va = job.parts["train"], job.parts["val"]
    labels = job.labels
    data = job.training_data()
    if x_target.shape[1:] != data.shape[1:]:
        raise CropGlobeError(f"selftrain: target inputs of shape {x_target.shape[1:]} per sample, the cell trains "
                             f"on {data.shape[1:]}")

    def target_inputs(_model: Any) -> np.ndarray:
        return cell.training_inputs(x_target)

    refit = None
    model = cell.model
    if cell.family == "torch":
        from cropglobe.training.lightning import TorchClassifier, TrainSettings

        if not isinstance(model, TorchClassifier):  # a saved net (``cropglobe study adapt``): wrap it for training
            settings = TrainSettings.from_spec(spec.train, seed=job.seed, progress=False)
            clf = _torch_classifier(job, settings, data)
            clf.net = cell.net
            model = clf
    else:
        def refit(_model: Any, x: np.ndarray, y: np.ndarray) -> Any:
            return models.get_model(job.cell.model, data.shape[1], 1, len(job.classes), seed=job.seed,
                                    **job.model_options).fit(x, y)
    work_dir = Path(work_dir)
    if work_dir.exists():
        shutil.rmtree(work_dir)  # a scratch folder of this cell left by an interrupted run
    source = selftrain.SourceData(data[tr], labels[tr], data[va], labels[va])
    with quiet_training():  # no Lightning banner per round
        adapted, record = selftrain.self_train(model, source, x_target, target_inputs, settings_spec, work_dir, refit)
    shutil.rmtree(work_dir, ignore_errors=True)
    adapted_cell = cell.with_model(adapted)
    return adapted_cell, adapted_cell.predict_proba(target_inputs(adapted)), record


def _torch_classifier(job: CellJob, settings: Any, data: np.ndarray) -> Any:
    """The cell's untrained ``TorchClassifier`` for training data ``data``: sizes, window, flattening, augmentation."""
    from cropglobe.training.lightning import InputLayout, TorchClassifier

    cell, family = job.cell, features.get_feature(job.cell.feature)
    if not family.windowed:
        return TorchClassifier(cell.model, data.shape[1], 1, len(job.classes), job.model_options, settings)
    start, count = job.window
    flatten = family.layout == "flat-window"
    n_bands, n_times = (data.shape[1] * count, 1) if flatten else (data.shape[1], count)
    clf = TorchClassifier(cell.model, n_bands, n_times, len(job.classes), job.model_options, settings,
                          InputLayout((start, count), job.bin_days, flatten))
    aug = augmenter(cell)  # a preset name or an inline mapping (None: identity)
    if aug is not None and aug.unknowns is not None:  # placeholders are labelled with the cell's 'other'
        where = f"cell {cell.feature} x {cell.model}: augmentation unknowns"
        aug = aug.model_copy(update={"unknowns": aug.unknowns.for_label(job.classes, where)})
    clf.augment = aug
    return clf
