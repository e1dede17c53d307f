"""The fast path on real data (issue 26): a student distilled from a teacher ensemble, scored on real transfer pairs.

For each SOURCE -> TARGET pair of a finished transfer run, the teacher is the seed ensemble of one
study cell (e.g. ``median2d__tempcnn__season-wide``: every seed whose cell has finished). The
target's pixels are those the run scored (``prepare_study`` of the run's config, the target's
samples; the teacher's probabilities on them are the cells' own ``target_proba.npz``, checked
here). They are split in two halves at random: a student (:mod:`cropglobe.mapping.student`) is
distilled on one half's unlabelled pixels (plus the source's unlabelled samples, unless
``--no-source-pixels``: then, as ``map --fast``, on the target's pixels alone) and their
augmented views, with the teacher's probabilities as targets, and predicts the other half; then
the halves swap. Every target pixel is therefore scored by a student that never saw it. No target
label reaches the student: labels are read only to score the teacher and the student afterwards.

    python scripts/fast_path.py /work/main/runs/season-shift --data-root /work/main \\
        --cell median2d__tempcnn__season-wide --pairs canada:france,canada:arkansas

Prints a Markdown table (agreement with the teacher, both macro-F1 after the run's remaps) and
writes the rows as JSON with ``--json``. Each row's ``deferral`` gives, for the margins of
:data:`DEFER_MARGINS`, what the cascade of ``map --fast --defer MARGIN`` would do with these students:
the share of pixels whose student margin (top class minus the next) is below the margin, the
agreement and the macro-F1 once the teacher classifies those, and the model cost per pixel in px per CPU-second of
one thread, ``1 / (1 / student + share / teacher)``, from the bare speeds measured here. With
``--agree A`` the students are distilled as ``map --fast --agree A`` distils them (a fifth of each
fold's sampled pixels held out) and the row's ``calibrated`` entry gives the margin each fold chose
on its held-out fifth and the agreement and deferred share that margin gave on the fold's test
pixels.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np


def _prepared(run: Path, data_root: Path | None):
    from cropglobe.cells.run_folder import RunFolder
    from cropglobe.experiment.data import prepare_study

    spec = RunFolder(run).load_spec()
    if data_root is not None:
        paths = [p if Path(p).is_absolute() else str(data_root / p) for p in spec.data.path]
        spec = spec.model_copy(update={"data": spec.data.model_copy(update={"path": paths})})
    return prepare_study(spec)


def _teacher_cells(run: Path, source: str, cell: str) -> list[Path]:
    found = sorted((run / "cells").glob(f"{source}__{cell}__s*"), key=lambda p: int(p.name.rsplit("__s", 1)[1]))
    done = [p for p in found if (p / "result.json").exists() and (p / "target_proba.npz").exists()]
    if not done:
        raise SystemExit(f"{run}: no finished cell {source}__{cell}__s*")
    return done


def pair(prep, run: Path, source: str, target: str, cell: str, settings, seed: int, with_source: bool = True,
         folds: int = 2, agreement: float = 0.0) -> dict:
    """Teacher vs cross-fitted student on one pair's target pixels (``with_source``: also distil on the source's).

    The target's pixels are split into ``folds`` random folds (2: the halves); each fold is predicted by a
    student distilled on the others. With ``agreement`` each fold's distillation pixels are sampled and
    split as ``map --fast --agree`` does (``ceil(max_pixels / 0.8)`` pixels, a fifth held out of the
    distillation: :func:`cropglobe.mapping.cascade.split_holdout`); the margin chosen on the held-out
    fifth (:func:`cropglobe.mapping.cascade.calibrate`) is then applied to the fold's test pixels,
    which the choice never saw. The row's ``calibrated`` entry reports each fold's margin and what the
    cascade gave on the test pixels.
    """
    from cropglobe import taxonomy
    from cropglobe.cells.cell import load_cells
    from cropglobe.experiment.data import remap_key
    from cropglobe.mapping import cascade
    from cropglobe.mapping import student as students
    from cropglobe.training.metrics import remap_target, score_names

    cells = _teacher_cells(run, source, cell)
    teacher = load_cells(cells)
    model = teacher.load_model()
    full = np.nan_to_num(prep.full["reflectance"].values).astype(np.float32)  # gap-filled full-year series
    window, bin_days = tuple(prep.window), float(prep.bin_days)
    src, idx = prep.group_indices([source]), prep.indices(target)
    members = [np.load(c / "target_proba.npz")[f"{target}|none"] for c in cells]  # each seed's saved probabilities
    stored = np.mean(members, axis=0)
    t_proba = students.teacher_proba(teacher, model, np.ascontiguousarray(full[idx][..., window[0]:sum(window)]))
    if not np.allclose(t_proba, stored, atol=1e-5):
        raise SystemExit(f"{source} -> {target}: the teacher's probabilities differ from its target_proba.npz")
    fold = np.random.default_rng(seed).permutation(len(idx)) % folds
    s_proba = np.zeros_like(t_proba)
    t0 = time.perf_counter()
    n_inputs = 0
    chosen = np.zeros(len(idx))  # each test pixel's calibrated margin (its fold's)
    calibrations = []
    for h in range(folds):
        pixels = idx[fold != h]  # unlabelled: series only
        wanted = math.ceil(settings.max_pixels / (1 - cascade.HOLDOUT_SHARE)) if agreement else settings.max_pixels
        pixels = pixels[students.subset(len(pixels), wanted, seed + h)]
        if agreement:  # held out of the target's pixels only, as map --fast holds out the region's
            pixels, held = cascade.split_holdout(pixels, seed + h)
        if with_source:  # as map --fast --source-pixels: a subset of the union, at most max_pixels
            pixels = np.concatenate([src, pixels])
            pixels = pixels[students.subset(len(pixels), settings.max_pixels, seed + h)]
        inputs = students.views(full[pixels], window, bin_days, settings, seed + h)
        fitted = students.fit(inputs, students.teacher_proba(teacher, model, inputs), settings, teacher)
        n_inputs = max(n_inputs, len(inputs))
        test = idx[fold == h]
        s_proba[fold == h] = _predict(fitted, students.inputs(full[test][..., window[0]:sum(window)], settings.kind))
        if agreement:
            w_held = np.ascontiguousarray(full[held][..., window[0]:sum(window)])
            c = cascade.calibrate(_predict(fitted, students.inputs(w_held, settings.kind)),
                                  students.teacher_proba(teacher, model, w_held), agreement)
            calibrations.append(c.record())
            chosen[fold == h] = c.margin
    fit_seconds = time.perf_counter() - t0
    speed = bare_speed(lambda x: _predict(fitted, x), students.inputs(full[idx][..., window[0]:sum(window)],
                                                                     settings.kind))
    teacher_speed = bare_speed(lambda w: students.teacher_proba(teacher, model, w),
                               np.ascontiguousarray(full[idx][..., window[0]:sum(window)]), n=20_000)
    source_classes = prep.classes_held([source])
    truth = prep.full["label"].values[idx].astype(str)  # read only here, to score
    key = remap_key(target, prep.remaps, prep.units)

    def f1(proba: np.ndarray) -> float:
        pred = np.asarray(taxonomy.CLASSES)[proba.argmax(1)]
        return float(score_names(*remap_target(key, truth, pred, prep.remaps, source_classes)).macro_f1)

    top2 = np.sort(t_proba, 1)[:, -2:]
    sure = top2[:, 1] - top2[:, 0] >= 0.1  # the teacher's top class leads the next by 0.1 or more
    agree = s_proba.argmax(1) == t_proba.argmax(1)
    # each teacher seed against the ensemble: how closely the teacher's own members follow it
    seeds = [float((m.argmax(1) == t_proba.argmax(1)).mean()) for m in members]
    s_top2 = np.sort(s_proba, 1)[:, -2:]
    s_margin = s_top2[:, 1] - s_top2[:, 0]  # the student's own margin: known at map time, no teacher needed
    deferral = []
    for tau in DEFER_MARGINS:  # the cascade of map --fast --defer TAU: the teacher where the student is unsure
        share = float((s_margin < tau).mean())
        deferral.append({"margin_below": tau, "deferred_share": share,
                         "agreement": float((agree | (s_margin < tau)).mean()),
                         "macro_f1": f1(np.where((s_margin < tau)[:, None], t_proba, s_proba)),
                         "model_px_per_cpu_s": round(1.0 / (1.0 / speed + share / teacher_speed))})
    calibrated = None
    if agreement:  # each fold's margin, chosen on its held-out fifth, applied to its test pixels
        deferred = s_margin < chosen
        share = float(deferred.mean())
        calibrated = {"agreement_wanted": agreement, "folds": calibrations, "deferred_share": share,
                      "agreement": float((agree | deferred).mean()),
                      "model_px_per_cpu_s": round(1.0 / (1.0 / speed + share / teacher_speed))}
    return {"source": source, "target": target, "teacher": " + ".join(c.name for c in cells),
            "target_pixels": int(len(idx)), "student": settings.describe(), "source_pixels_distilled": with_source,
            "folds": folds, "distil_inputs_per_fold": n_inputs,
            "agreement": float(agree.mean()), "teacher_sure_share": float(sure.mean()),
            "agreement_where_teacher_sure": float(agree[sure].mean()),
            "agreement_where_teacher_unsure": float(agree[~sure].mean()) if (~sure).any() else None,
            "teacher_seed_agreement_with_ensemble": [round(a, 4) for a in seeds],
            "teacher_macro_f1": f1(t_proba), "student_macro_f1": f1(s_proba),
            "deferral": deferral, "calibrated": calibrated,
            "student_px_per_cpu_s": speed, "teacher_px_per_cpu_s": teacher_speed,
            "distil_seconds_all_folds": round(fit_seconds, 1),
            "load_1min": round(os.getloadavg()[0], 2)}


#: Student margins below which a cascade would hand the pixel to the teacher (reported, not applied).
DEFER_MARGINS = (0.01, 0.02, 0.03, 0.05, 0.1, 0.2)


def bare_speed(predict, x: np.ndarray, n: int = 100_000) -> int:
    """A model's bare inference (``predict`` of an input array) in pixels per CPU-second of the calling thread.

    Best of 3. ``n`` inputs are drawn (with replacement) from ``x`` (N, ...) and predicted on the torch
    threads set by the caller (one here); ``time.thread_time`` is insensitive to other processes' load.
    """
    inputs = np.ascontiguousarray(x[np.random.default_rng(0).integers(0, len(x), n)], dtype=np.float32)
    best = float("inf")
    for _ in range(3):
        t0 = time.thread_time()
        predict(inputs)
        best = min(best, time.thread_time() - t0)
    return round(n / best)


def _predict(model, x: np.ndarray) -> np.ndarray:
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(x), dtype=np.float32)
    from cropglobe.training.lightning import predict_proba_torch

    return np.asarray(predict_proba_torch(model, x, batch_size=8192), dtype=np.float32)


def table(rows: list[dict]) -> str:
    """The Markdown table of the rows."""
    lines = ["| source → target | teacher (seeds) | target px | agreement | teacher macro-F1 | student macro-F1 "
             "| Δ F1 | student px/CPU-s |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        seeds = ", ".join(t.rsplit("__", 1)[1] for t in r["teacher"].split(" + "))
        lines.append(f"| {r['source']} → {r['target']} | {seeds} | {r['target_pixels']:,} | {r['agreement']:.3f} | "
                     f"{r['teacher_macro_f1']:.3f} | {r['student_macro_f1']:.3f} | "
                     f"{r['student_macro_f1'] - r['teacher_macro_f1']:+.3f} | {r['student_px_per_cpu_s']:,} |")
    return "\n".join(lines)


def main() -> None:
    import dataclasses

    from cropglobe.mapping.student import DEFAULT_STUDENT, PRESETS, StudentSettings, preset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--data-root", type=Path, default=None, help="folder the run's relative data paths start in")
    ap.add_argument("--cell", default="median2d__tempcnn__season-wide")
    ap.add_argument("--pairs", default="canada:france,canada:arkansas")
    ap.add_argument("--student", default=DEFAULT_STUDENT, choices=(*PRESETS, "lightgbm"),
                    help="a map --fast preset (its settings, unless changed below) or lightgbm")
    ap.add_argument("--views", type=int, default=None)
    ap.add_argument("--mixup", type=int, default=None, help="mixed inputs per pixel (student.views)")
    ap.add_argument("--max-pixels", type=int, default=None)
    ap.add_argument("--hidden", type=int, default=None, help="MLP hidden width / TempCNN dense units")
    ap.add_argument("--filters", type=int, default=None, help="TempCNN filters")
    ap.add_argument("--layers", type=int, default=None, help="MLP hidden layers")
    ap.add_argument("--epochs", type=int, default=None, help="MLP / TempCNN epochs")
    ap.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=None,
                    help="MLP: standardise the inputs (folded into the first layer afterwards)")
    ap.add_argument("--source-pixels", action=argparse.BooleanOptionalAction, default=True,
                    help="distil on the source's samples too (--no-source-pixels: the target's pixels only, "
                         "as `map --fast` distils on the mapped cube's own pixels)")
    ap.add_argument("--folds", type=int, default=2,
                    help="cross-fitting folds: each is predicted by a student distilled on the others (2: halves)")
    ap.add_argument("--agree", type=float, default=0.0,
                    help="also the cascade of map --fast --agree A: each fold's margin chosen on a fifth of its "
                         "distillation pixels held out, applied to its test pixels (row entry 'calibrated')")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    import torch

    torch.set_num_threads(1)  # the machine is shared: one core for the teacher and the student
    base = StudentSettings(kind="lightgbm") if a.student == "lightgbm" else preset(a.student)
    names = ("views", "mixup", "max_pixels", "hidden", "layers", "filters", "standardize", "epochs")
    given = {k: getattr(a, k) for k in names if getattr(a, k) is not None}
    settings = dataclasses.replace(base, seed=a.seed, **given).check()
    prep = _prepared(a.run, a.data_root)
    rows = []
    for p in a.pairs.split(","):
        source, target = p.split(":")
        rows.append(pair(prep, a.run, source, target, a.cell, settings, a.seed, a.source_pixels, a.folds, a.agree))
        print(json.dumps(rows[-1]), flush=True)
    print(table(rows))
    if a.json is not None:
        a.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
