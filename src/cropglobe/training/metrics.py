"""Classification metrics for transfer evaluation (scikit-learn, not hand-written).

Per target: overall accuracy (OA), macro-F1 over the classes present in the target's reference
labels (as in Tong & Wang, arXiv:2509.03497, where absent classes would otherwise score 0),
weighted-F1, Cohen's kappa, per-class precision/recall/F1 and the confusion matrix.
:func:`remap_target` and :func:`score_names` score class names after a target's remap, the one
scoring of the transfer study (:mod:`cropglobe.experiment.runner`) and of ``cropglobe predict``
(:mod:`cropglobe.mapping.predict_table`); both take the legend of the cell (default: the paper's
seven classes), so a 4-class cell has 4-class confusion matrices and per-class tables.
:func:`score_at_depth` rolls the scores of a hierarchical legend (``cereal/wheat``) up to a parent level.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from sklearn import metrics as skm

from cropglobe import legend, taxonomy


@dataclass
class Scores:
    """Scores of one prediction against reference labels (class indices into the legend)."""

    oa: float
    macro_f1: float
    weighted_f1: float
    kappa: float
    n: int
    classes_present: list[str]
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Return the scores as plain Python types (JSON/parquet friendly)."""
        return asdict(self)


def evaluate(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None,
             names: list[str] | tuple[str, ...] | None = None) -> Scores:
    """Score predicted class indices against reference class indices.

    Args:
        y_true: Reference class indices.
        y_pred: Predicted class indices.
        n_classes: Number of classes (rows/columns of the confusion matrix; default: ``len(names)``,
            else the seven classes).
        names: Class names of the indices (default: the taxonomy's for up to seven classes, else the indices).

    Returns:
        The :class:`Scores`; macro-F1 averages over the classes present in ``y_true`` only.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    present = np.unique(y_true)
    if n_classes is None:
        n_classes = len(names) if names is not None else len(taxonomy.CLASSES)
    all_labels = np.arange(n_classes)
    p, r, f, s = skm.precision_recall_fscore_support(y_true, y_pred, labels=all_labels, zero_division=0)
    if names is None:
        names = (list(taxonomy.CLASSES[:n_classes]) if n_classes <= len(taxonomy.CLASSES)
                 else [str(i) for i in all_labels])
    names = list(names)
    per_class = {names[i]: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                 for i in all_labels}
    return Scores(
        oa=float(skm.accuracy_score(y_true, y_pred)),
        macro_f1=float(skm.f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        weighted_f1=float(skm.f1_score(y_true, y_pred, labels=present, average="weighted", zero_division=0)),
        kappa=_kappa(y_true, y_pred),
        n=int(y_true.size),
        classes_present=[names[i] for i in present],
        per_class=per_class,
        confusion=skm.confusion_matrix(y_true, y_pred, labels=all_labels).tolist(),
    )


def _kappa(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Cohen's kappa; defined as 1 (perfect) or 0 when a single class makes it 0/0."""
    if np.unique(np.concatenate([y_true, y_pred])).size == 1:
        return 1.0 if np.array_equal(y_true, y_pred) else 0.0
    return float(skm.cohen_kappa_score(y_true, y_pred))


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Macro-F1 over the classes present in ``y_true`` (the validation criterion)."""
    present = np.unique(y_true)
    return float(skm.f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0))


def remap_target(target: str, truth: np.ndarray, pred: np.ndarray,
                 remaps: dict[str, dict[str, list[str]]],
                 source_classes: list[str] | None = None,
                 classes: tuple[str, ...] | list[str] = taxonomy.CLASSES) -> tuple[np.ndarray, np.ndarray]:
    """Apply a target's remap to reference and predicted class names (absent classes -> other, both).

    Args:
        target: The remap key of the target (its unit or country; the study's
            :func:`cropglobe.experiment.data.remap_key`).
        truth: Reference class names.
        pred: Predicted class names.
        remaps: Per-target remaps (``keep`` lists).
        source_classes: With ``absent_classes: other``, the classes of the source's training data:
            the others are scored as ``other`` too.
        classes: The legend (default: the paper's seven classes).
    """
    truth, pred = np.asarray(truth, dtype=str), np.asarray(pred, dtype=str)
    keep = taxonomy.kept_classes(target, remaps, classes, source_classes)
    if keep is not None:
        truth, pred = taxonomy.remap_absent(truth, keep, classes), taxonomy.remap_absent(pred, keep, classes)
    return truth, pred


def score_names(truth: np.ndarray, pred: np.ndarray,
                classes: tuple[str, ...] | list[str] = taxonomy.CLASSES) -> Scores:
    """Score predicted against reference class names of the legend ``classes`` (default: the seven classes).

    Raises:
        CropGlobeError: For a name outside the legend.
    """
    legend.check_labels(np.concatenate([np.asarray(truth, dtype=str), np.asarray(pred, dtype=str)]), classes,
                        where="scores")
    lookup = {c: i for i, c in enumerate(classes)}
    return evaluate(np.array([lookup[c] for c in truth], dtype=np.int64),
                    np.array([lookup[c] for c in pred], dtype=np.int64), names=list(classes))


def score_at_depth(confusion: list[list[int]] | np.ndarray, classes: list[str] | tuple[str, ...],
                   level: int = 1) -> Scores:
    """The scores of a confusion matrix (rows: reference) of a hierarchical legend at a parent level.

    Classes are rolled up to their first ``level`` levels (``cereal/wheat`` and ``cereal/barley`` ->
    ``cereal``, :func:`cropglobe.legend.at_depth`), the matrix summed over them, and scored as
    :func:`evaluate` scores (macro-F1 over the parent classes present in the reference).

    Raises:
        ValueError: When the matrix is not square over ``classes``.
    """
    cm = np.asarray(confusion, dtype=np.int64)
    if cm.shape != (len(classes), len(classes)):
        raise ValueError(f"confusion of shape {cm.shape} for {len(classes)} classes")
    top = list(legend.parents(classes, level))
    code = np.array([top.index(legend.at_depth(c, level)) for c in classes], dtype=np.int64)
    i, j = np.nonzero(cm)
    counts = cm[i, j]
    return evaluate(np.repeat(code[i], counts), np.repeat(code[j], counts), names=top)
