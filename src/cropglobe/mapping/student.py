"""A fast student distilled from a teacher cell or seed ensemble on unlabelled pixels of the mapped region.

Knowledge distillation (Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural Network",
arXiv:1503.02531): the student learns the teacher's class probabilities on unlabelled inputs, so
no label is read. The inputs are the pixels a user always has, those of the region being mapped
(and optionally the source's samples), each seen as itself plus ``views`` phenology-augmented
copies of its full-year series (the ``season-wide`` shifts and stretches the recommended teacher
was trained with), every copy labelled by the teacher itself: "consistent teaching" on augmented
views (Beyer et al., "Knowledge distillation: A good teacher is patient and consistent", CVPR 2022).

Students, all on the season window of the same composite (``lightgbm`` and ``mlp`` flattened
band-major, ``median1d``; ``tempcnn`` as the window itself, ``median2d``):

* ``lightgbm`` (Ke et al., NeurIPS 2017): LightGBM has no soft-label objective, so each input is
  repeated once per class the teacher gives probability >= ``min_share``, weighted by that
  probability: the multiclass log-loss of these rows is the cross-entropy with the teacher's soft
  targets. The registry's class balancing is divided out of the weights (the student must follow
  the teacher's class mix, not a balanced one).
* ``mlp`` (Rumelhart et al. 1986; the registry's ``mlp``): trained on the soft targets directly
  (cross-entropy, AdamW, one-cycle schedule).
* ``tempcnn`` (Pelletier et al. 2019; the registry's ``tempcnn`` with ``filters`` filters and a
  ``hidden``-unit dense layer): the same training as the MLP; convolutions over time, the inductive
  bias of the TempCNN teacher, so it follows the teacher more closely on pixels it never saw, at
  about 1.3x the MLP's map time on the AVX512-BF16 EPYC (2x its model time on the AVX2 one;
  docs/results.md, "Fast path on real data").

The students were compared by measurement on the real Canada -> France and Canada -> Arkansas
pairs (docs/results.md, "Fast path on real data"): without views LightGBM students agreed with the
TempCNN ensemble on 0.86-0.88 of the held-out target pixels and an MLP on 0.92; eight views raised
the MLP to 0.96-0.97 (France 0.970, Arkansas 0.961); 10,000 pixels, 16 views, standardised inputs
(``standardize``), 2 x 512 units or 200 epochs moved neither pair beyond the scatter. The
generalisation gap, not the capacity, holds the MLP back (on Arkansas it agrees on 0.989 of the
pixels it was distilled on and 0.962 of the others). A TempCNN student (16 filters, 128 units)
closes part of it: 0.971 / 0.972 on Arkansas (two seeds) distilled on the target's pixels alone
(MLP 0.962 / 0.959), macro-F1 within 0.01 of the teacher on every pair (the MLP: -0.014 and
+0.016 on France in two runs). Its maps take about 1.3x the MLP's time; on the 2-core AMD EPYC
with AVX512-BF16 its map still runs at about 140k px/s on a pre-composited cube and 88k-101k px/s
on an observation cube (MLP 190k / 116k-125k). So ``tempcnn`` is the default (the only student
that meets the agreement, the macro-F1 and the 100k px/s goals together there), and ``mlp`` is the
faster preset (:data:`PRESETS`); on an AVX2-only CPU both fall below 100k px/s (MLP 75k, TempCNN 55k).

A ``tempcnn`` student of an anchored teacher (``tempcnn-anchored``, the configuration issue 28
recommends) sits behind the teacher's own green-season anchor (:func:`architecture`): on the real
Canada -> Arkansas pixels it follows the 3-seed anchored ensemble on 0.959-0.963 of the held-out
pixels (a plain TempCNN student: 0.942), 0.990 of those where the teacher's top class leads by 0.1
or more; the rest are near-ties on which the teacher's own seeds disagree (docs/results.md, "Fast
path on real data", seventh pass).

Since the eighth pass the ``tempcnn`` preset distils on 4 views and 4 ``mixup`` inputs per pixel
instead of 8 views (the same number of inputs, so the same distillation time; :func:`views`):
mixed inputs lie between the region's pixels, where the near-ties are. On the real pairs, distilled
on the target's pixels alone (3 seeds unless stated): anchored teacher, Arkansas 0.961 -> 0.965 on
average, higher on every seed; France (500 pixels) 0.936 -> 0.945, one seed lower; ``season-wide``
teacher, Arkansas 0.972 -> 0.971 (2 seeds: no change beyond the scatter); Belgium 0.985 -> 0.984
(docs/results.md, "Fast path on real data", eighth pass).

``map --fast --defer MARGIN`` backs the student with its teacher on the pixels where the student's
own margin is below MARGIN (a cascade, :func:`cropglobe.mapping.predict.defer`): at 0.02 the anchored
teacher's student then agrees on 0.972-0.976 of the held-out Arkansas pixels (3 seeds; 1.6-1.8 % of
them deferred; docs/results.md, "Fast path on real data", ninth pass). ``--agree SHARE`` chooses
that margin per region on pixels held out of the distillation (:mod:`cropglobe.mapping.cascade`;
tenth pass). ``map --fast --source-pixels`` distils on the teacher's source samples too
(:func:`cropglobe.mapping.fastmap.make_fast_map`): France 0.960-0.976 alone, 0.970-0.978 with
``--defer 0.02``, where the target's 499 pixels alone gave 0.922-0.958 (eleventh pass).

Both torch students are written with their batch norms folded into the layer before them
(:func:`cropglobe.models.fold.fold_batch_norm`): the same logits, to float rounding, at about 10 %
less of the map's model time (docs/results.md, "Fast path on real data").

The student is written as a cell (``model`` + ``recipe.json`` with ``distilled_from`` and
``distillation``) that :func:`cropglobe.mapping.make_map` reads like any transfer cell.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from cropglobe import legend, models
from cropglobe.cells.cell import Cell, Recipe, load_recipe
from cropglobe.errors import CropGlobeError
from cropglobe.features import families as features
from cropglobe.recipe import RECIPE_VERSION, RecipeSpec
from cropglobe.temporal import composite, season

#: Student model kinds.
STUDENTS = ("lightgbm", "mlp", "tempcnn")
#: Student kinds that are torch networks (trained by :func:`_fit_torch`).
TORCH_STUDENTS = ("mlp", "tempcnn")
#: The feature family (the input layout) of each student kind: the season window as it is or flattened.
FEATURES = {"lightgbm": "median1d", "mlp": "median1d", "tempcnn": "median2d"}


@dataclass(frozen=True)
class StudentSettings:
    """How a student is distilled.

    Attributes:
        kind: ``"lightgbm"``, ``"mlp"`` or ``"tempcnn"`` (see the module docstring).
        views: Augmented copies of each pixel's series, labelled by the teacher (0: the pixels only).
        mixup: Mixed inputs per pixel, labelled by the teacher: each a convex combination, with a
            uniform weight, of two inputs drawn at random from the pixels and their views (0: none).
        augmentation: The augmentation preset the views are drawn from.
        max_pixels: At most this many pixels of the region (a seeded random subset) are distilled on.
        n_estimators: LightGBM boosting rounds.
        num_leaves: LightGBM leaves per tree.
        learning_rate: LightGBM shrinkage.
        min_share: LightGBM: teacher probabilities below this add no row.
        hidden: TempCNN dense units; MLP hidden width (the ``mlp`` preset: 256).
        layers: MLP hidden layers (each ``hidden`` wide).
        filters: TempCNN filters per convolution.
        standardize: MLP: standardise the inputs (per-feature mean and standard deviation of the
            distillation inputs) while training, then fold the scaling into the first layer, so the
            written student takes raw inputs and costs no more to run.
        epochs: MLP / TempCNN epochs.
        seed: Seeds the subset, the views and the student.
    """

    kind: str = "tempcnn"
    views: int = 4
    mixup: int = 4
    augmentation: str = "season-wide"
    max_pixels: int = 5_000
    n_estimators: int = 100
    num_leaves: int = 15
    learning_rate: float = 0.1
    min_share: float = 0.01
    hidden: int = 128
    layers: int = 2
    filters: int = 16
    standardize: bool = False
    epochs: int = 60
    seed: int = 0

    def check(self) -> StudentSettings:
        """Return self after checking the fields.

        Raises:
            CropGlobeError: For an unknown kind or an out-of-range number.
        """
        from cropglobe.augment import preset_names
        from cropglobe.checks import whole_number

        if self.kind not in STUDENTS:
            raise CropGlobeError(f"student kind {self.kind!r}: expected one of {', '.join(STUDENTS)}")
        if self.augmentation not in preset_names():
            raise CropGlobeError(f"student augmentation {self.augmentation!r}: expected a preset "
                                 f"({', '.join(preset_names())})")
        for name, lo in (("views", 0), ("mixup", 0), ("max_pixels", 1), ("n_estimators", 1), ("num_leaves", 2),
                         ("hidden", 1), ("layers", 1), ("filters", 1), ("epochs", 1)):
            whole_number(getattr(self, name), name, lo)
        if self.standardize and self.kind != "mlp":
            raise CropGlobeError(f"student: standardize applies to the mlp student, not {self.kind}")
        if not 0 < self.learning_rate <= 1 or not 0 <= self.min_share < 1:
            raise CropGlobeError(f"student: learning_rate {self.learning_rate} / min_share {self.min_share}: "
                                 "expected 0 < learning_rate <= 1 and 0 <= min_share < 1")
        return self

    def describe(self) -> str:
        """One line for the recipe's ``distillation`` and the map's tags."""
        if self.kind == "lightgbm":
            what = f"LightGBM {self.n_estimators} trees x {self.num_leaves} leaves on soft targets"
        elif self.kind == "tempcnn":
            what = (f"TempCNN 3 x {self.filters} filters, {self.hidden} dense units on soft targets, "
                    f"{self.epochs} epochs")
        else:
            what = (f"MLP {self.layers} x {self.hidden}{', standardised inputs' if self.standardize else ''} "
                    f"on soft targets, {self.epochs} epochs")
        mixed = f", {self.mixup} mixup inputs" if self.mixup else ""
        return f"{what}; {self.views} {self.augmentation} views{mixed} per pixel; seed {self.seed}"


#: The students ``cropglobe map --fast --student NAME`` distils (docs/results.md, "Fast path on real data"):
#: ``tempcnn`` (16 filters and 128 dense units, the size measured on the real Canada -> Arkansas pair; 4 views
#: and 4 mixup inputs per pixel, the eighth pass), the default and the more faithful to a TempCNN teacher, and
#: ``mlp`` (2 x 256, 8 views, as measured), the faster.
PRESETS: dict[str, StudentSettings] = {
    "tempcnn": StudentSettings(),
    "mlp": StudentSettings(kind="mlp", hidden=256, views=8, mixup=0),
}
#: The preset ``map --fast`` distils when no ``--student`` is given.
DEFAULT_STUDENT = "tempcnn"


def preset(name: str) -> StudentSettings:
    """The student preset ``name`` (:data:`PRESETS`).

    Raises:
        CropGlobeError: For an unknown name.
    """
    if name not in PRESETS:
        raise CropGlobeError(f"student {name!r}: expected one of {', '.join(PRESETS)}")
    return PRESETS[name]


def subset(n: int, max_pixels: int, seed: int) -> np.ndarray:
    """Sorted indices of a seeded random subset of ``min(n, max_pixels)`` of ``n`` pixels."""
    if n <= max_pixels:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_pixels, replace=False))


def views(series: np.ndarray, window: tuple[int, int], bin_days: float, settings: StudentSettings,
          seed: int) -> np.ndarray:
    """Season windows (N x (1 + views + mixup), B, count): the series as they are, augmented copies, mixed inputs.

    The ``mixup`` rounds (Zhang et al., "mixup: Beyond Empirical Risk Minimization", ICLR 2018) each
    add N convex combinations ``w a + (1 - w) b`` of two windows drawn at random from the pixels and
    their views, ``w`` uniform in [0, 1]: inputs between the region's pixels, where the teacher's
    near-ties lie, for the teacher to label ("function matching", Beyer et al. 2022, whose students
    follow their teachers most closely with mixed inputs). A linear mix of two reflectance series
    is also what a pixel straddling two fields records (linear spectral mixing).

    Args:
        series: Gap-filled full-year series (N, B, T_full), finite.
        window: ``(start, count)`` of the season window in bins.
        bin_days: Width of a bin in days.
        settings: ``views`` and ``augmentation``.
        seed: Seeds the augmentation draws.
    """
    import torch

    from cropglobe.augment import get_preset

    start, count = window
    out = [np.ascontiguousarray(series[..., start:start + count], dtype=np.float32)]
    if settings.views:
        aug = get_preset(settings.augmentation)
        gen = torch.Generator().manual_seed(int(seed))
        full = torch.from_numpy(np.ascontiguousarray(series, dtype=np.float32))
        with torch.no_grad():
            out += [aug(full, (start, count), float(bin_days), gen).numpy() for _ in range(settings.views)]
    pool = np.concatenate(out)
    if not settings.mixup:
        return pool
    rng = np.random.default_rng([int(seed), 1])
    n = len(series) * settings.mixup
    a, b = rng.integers(0, len(pool), n), rng.integers(0, len(pool), n)
    w = rng.random(n, dtype=np.float32)[:, None, None]
    return np.concatenate([pool, w * pool[a] + (1 - w) * pool[b]])


def inputs(windows: np.ndarray, kind: str) -> np.ndarray:
    """A ``kind`` student's inputs of season windows (N, B, count), float32: its feature family's layout."""
    return np.ascontiguousarray(features.get_feature(FEATURES[kind]).window_inputs(windows), dtype=np.float32)


def check_teacher(teacher: Recipe) -> None:
    """Raise unless the teacher's inputs are the composite's season window (a windowed feature family).

    Raises:
        CropGlobeError: Naming the teacher and its feature.
    """
    if not features.get_feature(teacher.feature).windowed or teacher.flatten:
        raise CropGlobeError(f"{teacher.path}: distillation needs a teacher on the median features "
                             f"({', '.join(features.window_families())}); got {teacher.model} on {teacher.feature}")


def teacher_proba(teacher: Recipe, model: Any, windows: np.ndarray, precision: str = "32-true") -> np.ndarray:
    """The teacher's class probabilities (N, C) on season windows (N, B, count) of its bands (its :class:`Cell`)."""
    check_teacher(teacher)
    cell = Cell(teacher, model, precision)
    return np.asarray(cell.predict_proba(cell.window_inputs(windows)), dtype=np.float32)


def fit(windows: np.ndarray, soft: np.ndarray, settings: StudentSettings, teacher: Recipe | None = None) -> Any:
    """Fit the student on windows (N, B, count) to the teacher's probabilities (N, C); return the model.

    Args:
        windows: Season windows of the distillation inputs (:func:`views`).
        soft: The teacher's class probabilities on them (:func:`teacher_proba`).
        settings: How the student is distilled.
        teacher: The teacher's recipe: a ``tempcnn`` student of an anchored teacher
            (``tempcnn-anchored``) sits behind the teacher's own green-season anchor (:func:`architecture`).

    Raises:
        CropGlobeError: When the teacher's arg-max gives fewer than two classes.
    """
    settings.check()
    x = inputs(windows, settings.kind)
    soft = np.asarray(soft, dtype=np.float64)
    if np.unique(soft.argmax(1)).size < 2:
        raise CropGlobeError(f"the teacher predicts a single class on all {len(x)} distillation inputs; "
                             "expected a trained teacher (distillation needs at least two classes)")
    if settings.kind == "lightgbm":
        return _fit_lightgbm(x, soft, settings, windows.shape[1], windows.shape[2])
    return _fit_torch(x, soft, architecture(settings, teacher), windows.shape[1:])


def _fit_lightgbm(x: np.ndarray, soft: np.ndarray, s: StudentSettings, n_bands: int, n_times: int) -> Any:
    k = soft.shape[1]
    rows, cls = np.nonzero(soft >= s.min_share)
    top = soft.argmax(1)  # every input keeps its teacher class, however flat its distribution
    missing = np.setdiff1d(np.arange(len(x)), rows[cls == top[rows]])
    rows, cls = np.concatenate([rows, missing]), np.concatenate([cls, top[missing]])
    weight = soft[rows, cls]
    counts = np.bincount(cls, minlength=k).astype(np.float64)
    balanced = len(cls) / (np.count_nonzero(counts) * np.maximum(counts, 1.0))  # what class_weight="balanced" applies
    student = models.get_model("lightgbm", n_bands, n_times, k, n_estimators=s.n_estimators, num_leaves=s.num_leaves,
                               learning_rate=s.learning_rate, subsample=1.0, colsample_bytree=0.5,
                               min_child_samples=10, seed=s.seed)
    return student.fit(x[rows], cls.astype(np.int64), sample_weight=weight / balanced[cls])


@dataclass(frozen=True)
class Architecture:
    """A torch student's registry model: its name, its options, and the settings that train it.

    Attributes:
        settings: The student's settings.
        model: The registry name (``mlp``, ``tempcnn`` or ``tempcnn-anchored``).
        options: The registry options, batch norms included (dropout 0: the teacher's soft targets regularise).
    """

    settings: StudentSettings
    model: str
    options: dict[str, Any]

    @property
    def folded(self) -> dict[str, Any]:
        """The same options without batch norms (the written student's form; the anchored model's TempCNN's)."""
        if self.model == "tempcnn-anchored":
            return {**self.options, "tempcnn": {**self.options["tempcnn"], "batch_norm": False}}
        return {**self.options, "batch_norm": False}


def architecture(s: StudentSettings, teacher: Recipe | None = None) -> Architecture:
    """The registry model of a torch student of ``teacher``.

    An ``mlp`` student is the registry's MLP (``layers`` x ``hidden``); a ``tempcnn`` student the
    registry's TempCNN (``filters``, ``hidden``). When the teacher is ``tempcnn-anchored``, the TempCNN
    student sits behind the same weightless green-season anchor (the teacher's ``red`` / ``nir`` /
    ``smooth`` / ``level``), so it reads each pixel on the teacher's own time axis instead of learning
    the re-alignment from the views (issue 26: a plain TempCNN student followed the anchored teacher on
    0.942 of the Arkansas pixels; docs/results.md, "Fast path on real data").
    """
    if s.kind == "mlp":
        return Architecture(s, "mlp", {"hidden": [s.hidden] * s.layers, "dropout": 0.0})
    net = {"filters": s.filters, "hidden": s.hidden, "dropout": 0.0}
    if teacher is None or teacher.model != "tempcnn-anchored":
        return Architecture(s, "tempcnn", net)
    # the teacher's recorded options are the anchored builder's (checked when it was saved): keep its anchor's
    anchor = {k: v for k, v in teacher.model_options.items() if k not in ("seed", "tempcnn")}
    return Architecture(s, "tempcnn-anchored", {**anchor, "tempcnn": net})


def _fit_torch(x: np.ndarray, soft: np.ndarray, arch: Architecture, shape: tuple[int, int]) -> Any:
    import torch

    from cropglobe.models.fold import fold_batch_norm

    s = arch.settings
    torch.manual_seed(s.seed)
    net = models.get_model(arch.model, *shape, soft.shape[1], **arch.options)
    if s.standardize:
        mean, scale = _moments(x)
        x = ((x - mean) / scale).astype(np.float32)
    xs, ps = torch.from_numpy(x), torch.from_numpy(soft.astype(np.float32))
    batch = 256
    steps = s.epochs * ((len(xs) + batch - 1) // batch)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    gen = torch.Generator().manual_seed(s.seed)
    net.train()
    for _ in range(s.epochs):
        order = torch.randperm(len(xs), generator=gen)
        for i in range(0, len(xs), batch):
            b = order[i:i + batch]
            if len(b) < 2:  # BatchNorm needs two samples
                continue
            loss = -(ps[b] * torch.log_softmax(net(xs[b]), dim=1)).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    if s.standardize:
        _fold(net.net[0], mean, scale)
    folded = models.get_model(arch.model, *shape, soft.shape[1], **arch.folded)
    return fold_batch_norm(net, folded)  # the same logits with one pass fewer per layer (docs/results.md)


def _moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and standard deviation of ``x`` (N, F), in float64; a constant feature gets scale 1."""
    mean = x.mean(0, dtype=np.float64)
    scale = x.std(0, dtype=np.float64)
    return mean, np.where(scale > 1e-6, scale, 1.0)


def _fold(first: Any, mean: np.ndarray, scale: np.ndarray) -> None:
    """Fold ``(x - mean) / scale`` into the linear layer ``first`` (in place), so it takes raw ``x``.

    ``W ((x - m) / s) + b = (W / s) x + (b - W (m / s))``.
    """
    import torch

    with torch.no_grad():
        w = first.weight.detach().double()
        w_raw = w / torch.from_numpy(scale)
        first.bias.copy_((first.bias.detach().double() - w_raw @ torch.from_numpy(mean)).to(first.bias.dtype))
        first.weight.copy_(w_raw.to(first.weight.dtype))


def write(teacher: Recipe, student: Any, out: str | os.PathLike, settings: StudentSettings, pixels: int) -> Path:
    """Write the student as a cell folder (``model`` + ``recipe.json``) naming its teacher; return the folder.

    Args:
        teacher: The teacher's recipe (its ``members`` are the other cells of a seed ensemble).
        student: The fitted student (:func:`fit`).
        out: The student's cell folder (created; an internal path: callers pick it).
        settings: How it was distilled (recorded).
        pixels: How many pixels it was distilled on (recorded).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    models.save_model(student, out / "model", list(teacher.bands) if settings.kind in TORCH_STUDENTS else None,
                      list(teacher.classes))  # atomic
    cells = teacher_cells(teacher)
    recipe = RecipeSpec.model_validate({
        **teacher.spec.model_dump(), "format_version": RECIPE_VERSION, "model_file": "model",
        "model": _spec(student).name, "model_options": dict(_spec(student).options),
        "feature": FEATURES[settings.kind],
        "feature_options": {}, "flatten": False, "distilled_from": str(teacher.path.parent),
        "distillation": f"{settings.describe()}; {pixels} unlabelled pixels; teacher "
                        f"{' + '.join(cells)} (mean probability)"})
    recipe.write(out / "recipe.json")
    return out


def teacher_cells(teacher: Recipe) -> list[str]:
    """The teacher's cell folders: the cell itself, then its ensemble members'."""
    return [str(teacher.path.parent), *(str(Path(m).parent) for m in teacher.members)]


def _spec(model: Any) -> Any:
    return getattr(model, "spec", None) or model.cropglobe_spec


def accuracy(cell: str | os.PathLike, target: xr.Dataset) -> dict[str, float]:
    """Overall accuracy and macro-F1 of a cell (a student, say) on a labelled observation-level SampleSet.

    The set is composited as the cell's recipe says and the cell predicts its season window; labels
    resolve to the cell's classes by name or alias (:func:`cropglobe.legend.normalize`). Used by
    ``benchmarks/bench_map.py`` to score the ``map --fast`` student next to its teacher.

    Returns:
        ``{"oa", "macro_f1"}``.

    Raises:
        CropGlobeError: For a band the set lacks, a calendar the set does not cover or a label the
            cell's legend does not know.
    """
    from sklearn.metrics import accuracy_score, f1_score

    r = load_recipe(cell)
    full = composite.composite(target.sel(band=r.bands), r.composite)
    the_cell = Cell(r)
    pred = the_cell.predict_proba(the_cell.features(season.season(full))).argmax(1)
    truth = np.asarray([r.classes.index(legend.normalize(str(v), r.classes)) for v in full["label"].values])
    return {"oa": float(accuracy_score(truth, pred)), "macro_f1": float(f1_score(truth, pred, average="macro"))}
