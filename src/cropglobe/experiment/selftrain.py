"""Class-balanced pseudo-label self-training on the unlabelled target region (``selftrain``).

Source: Zou, Yu, Kumar & Wang, "Unsupervised Domain Adaptation for Semantic Segmentation via
Class-Balanced Self-Training" (CBST), ECCV 2018, arXiv:1810.07911; self-training with pseudo-labels
goes back to Lee, "Pseudo-Label", ICML 2013 workshop. Each round:

1. the current model predicts the target's *unlabelled* inputs;
2. for every class, the target samples predicted as that class are ranked by confidence and the
   top ``portion`` of them are kept with the predicted class as pseudo-label (class-balanced, so
   the region's majority class cannot take over; CBST's per-class thresholds);
3. the model is fine-tuned from its current weights on the source's training samples plus the
   pseudo-labelled target samples (class-balanced cross-entropy, the cell's own augmentation),
   with the best epoch chosen on the **source** validation split, as in the first fit.

The portions grow over the rounds (CBST's curriculum: confident samples first). Target labels are
never read: :func:`pseudo_labels` takes probabilities only, and :func:`self_train` takes the
target's inputs only. All settings are fixed in advance (:class:`SelfTrainSpec`); none is chosen
on target data. :func:`cropglobe.experiment.fitting.selftrain_cell` applies it to a cell of a study.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from cropglobe.errors import CropGlobeError
from cropglobe.study.adaptation import SelfTrainSpec as SelfTrainSpec  # re-exported: the settings live with the spec


def pseudo_labels(proba: np.ndarray, portion: float) -> tuple[np.ndarray, np.ndarray]:
    """Class-balanced pseudo-labels (CBST): the most confident ``portion`` of each predicted class.

    Args:
        proba: Class probabilities (N, C) of the target samples.
        portion: Share in (0, 1] of the samples predicted as each class to keep (at least one per
            predicted class).

    Returns:
        ``(index, label)``: sorted sample indices into ``proba`` and their pseudo-labels (argmax).

    Raises:
        CropGlobeError: If ``portion`` is outside (0, 1] or ``proba`` is not 2-D.
    """
    if not 0 < portion <= 1:
        raise CropGlobeError(f"selftrain: portion must lie in (0, 1], got {portion}")
    proba = np.asarray(proba)
    if proba.ndim != 2:
        raise CropGlobeError(f"selftrain: expected probabilities (N, C), got shape {proba.shape}")
    pred, conf = proba.argmax(1), proba.max(1)
    keep = []
    for c in np.unique(pred):
        members = np.flatnonzero(pred == c)
        n = max(1, int(round(portion * members.size)))
        keep.append(members[np.argsort(-conf[members], kind="stable")[:n]])
    index = np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)
    return index, pred[index]


class SourceData(NamedTuple):
    """The source's labelled training and validation inputs, in the layout the model trains on.

    Attributes:
        x_train: Training inputs (torch median models: full-year series, cut to the window and
            augmented on the fly).
        y_train: Their class indices.
        x_val: Validation inputs (same layout): the best epoch is chosen on them.
        y_val: Their class indices.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


def self_train(model: Any, source: SourceData, x_target: np.ndarray, target_inputs: Callable[[Any], np.ndarray],
               spec: SelfTrainSpec, work_dir: Path, refit: Callable[[Any, np.ndarray, np.ndarray], Any] | None = None,
               ) -> tuple[Any, dict[str, Any]]:
    """Adapt a fitted model to the target by class-balanced self-training; the input model is not changed.

    Args:
        model: A fitted classifier. Torch ones (:class:`cropglobe.training.lightning.TorchClassifier`)
            are copied and fine-tuned from their weights; others are refitted by ``refit``.
        source: The source's training and validation inputs and labels (:class:`SourceData`).
        x_target: The target's unlabelled inputs in the training layout (no labels anywhere).
        target_inputs: Turns ``x_target`` rows into prediction inputs of a model:
            ``target_inputs(model) -> array`` (e.g. the season windows).
        spec: Portions per round, epochs and learning rate.
        work_dir: Folder for the fine-tuning checkpoints (one sub-folder per round).
        refit: For non-torch models: ``refit(model, x, y) -> fitted model`` on the combined set.

    Returns:
        The adapted model and what to record: ``selftrain_pseudo`` (pseudo-labels in the last
        round) and ``selftrain_best_epochs`` (torch: best source-validation epoch per round).
    """
    x_train, y_train, x_val, y_val = source
    current = model
    epochs: list[int] = []
    n_pseudo = 0
    for r, portion in enumerate(spec.portions):
        idx, labels = pseudo_labels(current.predict_proba(target_inputs(current)), portion)
        n_pseudo = int(idx.size)
        x = np.concatenate([x_train, x_target[idx]])
        y = np.concatenate([np.asarray(y_train, dtype=np.int64), labels.astype(np.int64)])
        if hasattr(current, "net") and hasattr(current, "settings"):
            nxt = copy.copy(current)
            nxt.net = copy.deepcopy(current.net)
            nxt.settings = current.settings.model_copy(update={
                "epochs": spec.epochs, "lr": model.settings.lr * spec.lr_factor, "callbacks": [], "progress": False})
            nxt.fit(x, y, x_val, y_val, ckpt_dir=Path(work_dir) / f"round{r}")
            epochs.append(int(nxt.fit_info["best_epoch"]))
            current = nxt
        elif refit is not None:
            current = refit(current, x, y)
        else:
            raise CropGlobeError(f"selftrain: {type(model).__name__} is not a torch model and no refit was given")
    record: dict[str, Any] = {"selftrain_pseudo": n_pseudo}
    if epochs:
        record["selftrain_best_epochs"] = ",".join(str(e) for e in epochs)
    return current, record

