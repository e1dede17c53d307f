"""``cropglobe map --fast`` (mapping/fastmap.py, mapping/student.py): a student distilled on the region's own
pixels from a seed-ensemble teacher maps like the teacher and names it. SIMULATED cube and cells."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import rasterio
from typer.testing import CliRunner

from cropglobe.cli import app
from cropglobe.errors import CropGlobeError
from cropglobe.mapping import MapOptions, make_map
from cropglobe.mapping import student as students
from cropglobe.mapping.fastmap import make_fast_map

SMALL = students.StudentSettings(kind="mlp", views=1, mixup=1, max_pixels=600, hidden=64, epochs=15)


def train_torch_cell(cell, seed: int, model: str = "tempcnn", options: dict | None = None):
    """A small TempCNN (or ``model``) on median2d of simulated FRA samples, written like a transfer cell."""
    import torch

    from cropglobe import models, samples, taxonomy
    from cropglobe.features import families as features
    from cropglobe.sources import simulate
    from cropglobe.temporal import composite, season

    full = composite.composite(simulate.simulate(["FRA"], samples_per_class=30, seed=seed))
    x = torch.from_numpy(features.median2d(season.season(full)))
    y = torch.from_numpy(samples.label_codes(full)).long()
    torch.manual_seed(seed)
    net = models.get_model(model, x.shape[1], x.shape[2], len(taxonomy.CLASSES), **(options or {}))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    net.train()
    for _ in range(40):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    net.eval()
    cell.mkdir(parents=True, exist_ok=True)
    bands = [str(b) for b in full["band"].values]
    models.save_model(net, cell / "model", bands, list(taxonomy.CLASSES))
    recipe = {"model_file": "model", "model": model, "model_options": {"seed": seed, **(options or {})},
              "feature": "median2d",
              "feature_options": {}, "flatten": False, "bands": bands, "classes": list(taxonomy.CLASSES),
              "composite": {"interval": 5, "window": "05-01:11-30", "align": "hemisphere", "clear_threshold": 0.75},
              "window_bins": list(season.window_bins(full)), "bin_days": 5}
    (cell / "recipe.json").write_text(json.dumps(recipe), encoding="utf-8")
    return cell


@pytest.fixture(scope="module")
def teachers(tmp_path_factory):
    root = tmp_path_factory.mktemp("teacher")
    return [train_torch_cell(root / f"FRA__median2d__tempcnn__none__s{s}", s) for s in (0, 1)]


@pytest.fixture(scope="module")
def fast(teachers, cube_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("fast") / "map.tif"
    keep = out.parent / "student"
    res = make_fast_map(teachers[0], cube_store, out,
                        MapOptions(tile=16, scheduler="synchronous", members=(str(teachers[1]),)),
                        student=SMALL, keep_student=keep)
    return res, keep


def _read(path):
    with rasterio.open(path) as src:
        return src.read(1), src.tags()


def test_the_student_maps_like_the_teacher_ensemble(fast, teachers, cube_store, tmp_path):
    res, _ = fast
    teacher = make_map(teachers[0], cube_store, tmp_path / "teacher.tif",
                       MapOptions(tile=16, scheduler="synchronous", members=(str(teachers[1]),)))
    got, _ = _read(res.map.paths["classes"])
    want, _ = _read(teacher.paths["classes"])
    mapped = want != 255
    np.testing.assert_array_equal(got == 255, ~mapped)  # nodata is the composite's, not the model's
    assert mapped.sum() > 900
    agreement = (got[mapped] == want[mapped]).mean()
    assert agreement >= 0.9, agreement
    assert res.map.pixels == 32 * 32 and res.distil_seconds > 0


def test_a_tempcnn_student_maps_like_the_teacher_on_the_unflattened_window(teachers, cube_store, tmp_path):
    import torch

    settings = students.StudentSettings(kind="tempcnn", filters=4, hidden=16, views=1, mixup=1, max_pixels=600,
                                        epochs=15)
    options = MapOptions(tile=16, scheduler="synchronous", members=(str(teachers[1]),))
    res = make_fast_map(teachers[0], cube_store, tmp_path / "fast.tif", options, student=settings,
                        keep_student=tmp_path / "student")
    teacher = make_map(teachers[0], cube_store, tmp_path / "teacher.tif", options)
    got, tags = _read(res.map.paths["classes"])
    want, _ = _read(teacher.paths["classes"])
    mapped = want != 255
    assert (got[mapped] == want[mapped]).mean() >= 0.9
    recipe = json.loads(tags["RECIPE"])
    assert recipe["model"] == "tempcnn" and recipe["feature"] == "median2d"
    assert recipe["model_options"]["batch_norm"] is False and recipe["model_options"]["filters"] == 4
    net = students.load_recipe(tmp_path / "student").load_model()
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in net.modules())  # folded in


def test_the_student_of_an_anchored_teacher_reads_the_teachers_time_axis(cube_store, tmp_path):
    from cropglobe.models.anchor import Anchored

    bands = ["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12"]
    red, nir = bands.index("B4"), bands.index("B8")
    teacher = train_torch_cell(tmp_path / "FRA__median2d__tempcnn-anchored__none__s0", 0, "tempcnn-anchored",
                               {"red": red, "nir": nir})
    assert json.loads((teacher / "recipe.json").read_text())["bands"] == bands  # the simulator's bands
    settings = students.StudentSettings(filters=4, hidden=16, views=1, mixup=1, max_pixels=600, epochs=15)
    options = MapOptions(tile=16, scheduler="synchronous")
    res = make_fast_map(teacher, cube_store, tmp_path / "fast.tif", options, student=settings,
                        keep_student=tmp_path / "student")
    want, _ = _read(make_map(teacher, cube_store, tmp_path / "teacher.tif", options).paths["classes"])
    got, tags = _read(res.map.paths["classes"])
    mapped = want != 255
    assert (got[mapped] == want[mapped]).mean() >= 0.85  # 0.93 on the AVX512 EPYC
    recipe = json.loads(tags["RECIPE"])
    assert recipe["model"] == "tempcnn-anchored" and tags["MODEL"] == "tempcnn-anchored"
    assert recipe["model_options"]["red"] == red and recipe["model_options"]["nir"] == nir
    assert recipe["model_options"]["tempcnn"] == {"filters": 4, "hidden": 16, "dropout": 0.0, "batch_norm": False}
    net = students.load_recipe(tmp_path / "student").load_model()
    assert isinstance(net, Anchored) and (net.anchor.red, net.anchor.nir) == (red, nir)


def test_the_map_names_its_teacher_cells_and_seeds(fast, teachers):
    res, keep = fast
    _, tags = _read(res.map.paths["classes"])
    teacher = json.loads(tags["TEACHER"])
    assert teacher["cells"] == [str(t) for t in teachers] and teacher["seeds"] == [0, 1]
    assert teacher["student"] == "mlp" and teacher["pixels"] == 600 and teacher["inputs"] == 600 * 3
    recipe = json.loads(tags["RECIPE"])
    assert recipe["model"] == "mlp" and recipe["feature"] == "median1d"
    assert recipe["distilled_from"] == str(teachers[0]) and str(teachers[1]) in recipe["distillation"]
    assert tags["MODEL"] == "mlp" and tags["SIMULATED"] == "true"
    # the kept student is a cell: mapped again it gives the same classes
    assert json.loads((keep / "recipe.json").read_text())["distilled_from"] == str(teachers[0])


def test_the_kept_student_is_a_cell_that_maps_the_same(fast, cube_store, tmp_path):
    res, keep = fast
    again = make_map(keep, cube_store, tmp_path / "again.tif", MapOptions(tile=16, scheduler="synchronous"))
    np.testing.assert_array_equal(_read(again.paths["classes"])[0], _read(res.map.paths["classes"])[0])


def test_bad_fast_maps_fail_before_writing(cell, teachers, cube_store, tmp_path):
    out = tmp_path / "m.tif"
    with pytest.raises(CropGlobeError, match="--fast with --adapt prior"):
        make_fast_map(teachers[0], cube_store, out, MapOptions(adapt="prior"), student=SMALL)
    with pytest.raises(CropGlobeError, match="distillation needs a teacher on the median features"):
        make_fast_map(cell, cube_store, out, MapOptions(tile=16, scheduler="synchronous"), student=SMALL)
    with pytest.raises(CropGlobeError, match="student kind 'svm'"):
        make_fast_map(teachers[0], cube_store, out, student=students.StudentSettings(kind="svm"))
    with pytest.raises(CropGlobeError, match="views"):
        students.StudentSettings(views=-1).check()
    with pytest.raises(CropGlobeError, match="standardize applies to the mlp student"):
        students.StudentSettings(kind="tempcnn", standardize=True).check()
    assert not list(tmp_path.iterdir())


def test_cli_map_fast_distils_the_default_tempcnn(teachers, cube_store, tmp_path, monkeypatch):
    small = students.StudentSettings(filters=4, hidden=16, views=1, mixup=1, max_pixels=600, epochs=15)
    monkeypatch.setitem(students.PRESETS, students.DEFAULT_STUDENT, small)  # a small student keeps the test short
    out = tmp_path / "cli.tif"
    res = CliRunner().invoke(app, ["map", str(teachers[0]), str(cube_store), "--out", str(out), "--tile", "16",
                                   "--scheduler", "synchronous", "--member", str(teachers[1]), "--fast", "--quiet"])
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "distilled a tempcnn student from 2 teacher cell(s) (seeds 0, 1) on 600 unlabelled pixels" in said
    assert json.loads(_read(out)[1]["TEACHER"])["seeds"] == [0, 1]
    assert json.loads(_read(out)[1]["RECIPE"])["model"] == "tempcnn"


def test_cli_map_fast_student_mlp(teachers, cube_store, tmp_path, monkeypatch):
    monkeypatch.setitem(students.PRESETS, "mlp", SMALL)  # a small student keeps the test short
    out = tmp_path / "cli.tif"
    args = ["map", str(teachers[0]), str(cube_store), "--out", str(out), "--tile", "16", "--scheduler", "synchronous",
            "--quiet", "--student", "mlp"]
    res = CliRunner().invoke(app, args)  # any --student without --fast, the default's name included
    assert isinstance(res.exception, CropGlobeError) and "expected --fast with --student" in str(res.exception)
    assert not list(tmp_path.iterdir())
    res = CliRunner().invoke(app, [*args, "--fast"])
    assert res.exit_code == 0, res.output
    assert "distilled a mlp student from 1 teacher cell(s)" in " ".join(res.output.split())
    assert json.loads(_read(out)[1]["RECIPE"])["model"] == "mlp"
    with pytest.raises(CropGlobeError, match="student 'svm': expected one of tempcnn, mlp"):
        students.preset("svm")


def test_defer_hands_exactly_the_unsure_rows_to_the_teacher(teachers):
    from cropglobe.cells.cell import Cell, load_cells
    from cropglobe.mapping.predict import Deferral, defer

    teacher = Cell(load_cells(teachers))
    windows = np.random.default_rng(0).normal(0.2, 0.1, size=(6, 10, teacher.window[1])).astype(np.float32)
    proba = np.array([[0.5, 0.45, 0.05], [0.9, 0.05, 0.05], [0.3, 0.3, 0.4], [0.6, 0.2, 0.2], [0.34, 0.33, 0.33],
                      [1.0, 0.0, 0.0]], dtype=np.float32)
    proba = np.pad(proba, ((0, 0), (0, len(teacher.recipe.classes) - 3)))
    out, n = defer(proba, windows, Deferral(teacher.recipe, 0.15), teacher)
    unsure = [0, 2, 4]  # margins 0.05, 0.1, 0.01; the others lead by 0.85, 0.4 and 1.0
    assert n == 3
    want = teacher.predict_proba(teacher.window_inputs(windows[unsure]))
    np.testing.assert_allclose(out[unsure], want, rtol=1e-6)
    np.testing.assert_array_equal(np.delete(out, unsure, 0), np.delete(proba, unsure, 0))
    same, none = defer(proba, windows, Deferral(teacher.recipe, 0.0), teacher)
    assert same is proba and none == 0


def test_the_cascade_maps_the_students_sure_pixels_and_the_teachers_elsewhere(fast, teachers, cube_store, tmp_path):
    _, keep = fast
    sync = MapOptions(tile=16, scheduler="synchronous")
    alone = make_map(keep, cube_store, tmp_path / "student.tif", dataclasses.replace(sync, probabilities=True))
    with rasterio.open(alone.paths["probabilities"]) as src:
        proba = src.read()  # (C, h, w), NaN where nodata
    top2 = np.sort(np.nan_to_num(proba, nan=0.0), axis=0)[-2:]
    teacher, _ = _read(make_map(teachers[0], cube_store, tmp_path / "teacher.tif",
                                dataclasses.replace(sync, members=(str(teachers[1]),))).paths["classes"])
    student, _ = _read(alone.paths["classes"])
    mapped = student != 255
    unsure = mapped & (top2[1] - top2[0] < 0.3)
    assert 0 < unsure.sum() < mapped.sum()  # the margin splits this map
    cascade = make_map(keep, cube_store, tmp_path / "cascade.tif",
                       dataclasses.replace(sync, defer_to=tuple(map(str, teachers)), defer_margin=0.3))
    got, _ = _read(cascade.paths["classes"])
    assert cascade.deferred_pixels == int(unsure.sum()) and alone.deferred_pixels is None
    zero = make_map(keep, cube_store, tmp_path / "zero.tif",
                    dataclasses.replace(sync, defer_to=tuple(map(str, teachers)), defer_margin=0.0))
    assert zero.deferred_pixels is None  # margin 0: the student alone, no cascade
    np.testing.assert_array_equal(_read(zero.paths["classes"])[0], student)
    np.testing.assert_array_equal(got[~unsure], student[~unsure])  # the student's own where it is sure
    assert (got[unsure] == teacher[unsure]).mean() >= 0.99  # the teacher's (batched differently: float rounding)


def test_a_bad_cascade_fails_before_writing(fast, cell, teachers, cube_store, tmp_path):
    _, keep = fast
    out = tmp_path / "m.tif"
    for margin in (-0.1, 1.5):
        with pytest.raises(CropGlobeError, match=f"defer margin {margin}: expected a probability margin"):
            make_map(keep, cube_store, out, MapOptions(defer_to=(str(teachers[0]),), defer_margin=margin))
    with pytest.raises(CropGlobeError, match="with a teacher to defer to"):
        make_map(keep, cube_store, out, MapOptions(defer_margin=0.2))
    with pytest.raises(CropGlobeError, match="align moves the season window|cannot back"):
        make_map(keep, cube_store, out, MapOptions(defer_to=(str(cell),), defer_margin=0.2))
    with pytest.raises(CropGlobeError, match="defer margin 2.0"):  # before minutes of distillation
        make_fast_map(teachers[0], cube_store, out, MapOptions(defer_margin=2.0), student=SMALL)
    res = CliRunner().invoke(app, ["map", str(teachers[0]), str(cube_store), "--out", str(out), "--defer", "0.2"])
    assert isinstance(res.exception, CropGlobeError) and "expected --fast with --defer" in str(res.exception)
    assert not list(tmp_path.iterdir())


def _cli_fast(teachers, cube_store, out, monkeypatch, *extra: str) -> str:
    """``cropglobe map --fast`` of the two teachers with a small ``mlp`` student and ``extra``; its output, one line."""
    monkeypatch.setitem(students.PRESETS, "mlp", SMALL)  # a small student keeps the test short
    res = CliRunner().invoke(app, ["map", str(teachers[0]), str(cube_store), "--out", str(out), "--tile", "16",
                                   "--scheduler", "synchronous", "--member", str(teachers[1]), "--quiet", "--fast",
                                   "--student", "mlp", *extra])
    assert res.exit_code == 0, res.output
    return " ".join(res.output.split())


def test_cli_map_fast_defer_records_the_margin_and_counts_the_teachers_pixels(teachers, cube_store, tmp_path,
                                                                               monkeypatch):
    out = tmp_path / "cli.tif"
    said = _cli_fast(teachers, cube_store, out, monkeypatch, "--defer", "1.0")
    assert "cascade: the teacher classified" in said and "student margin < 1.0" in said
    assert json.loads(_read(out)[1]["TEACHER"])["defer_margin"] == 1.0


def test_lightgbm_student_follows_the_teachers_class_mix_not_a_balanced_one():
    rng = np.random.default_rng(0)
    windows = rng.normal(size=(600, 2, 3)).astype(np.float32)
    soft = np.full((600, 3), 0.05)
    rare = windows[:, 0, 0] > 1.3  # about 10 % of the inputs
    soft[rare, 2], soft[~rare, 0] = 0.9, 0.9
    model = students.fit(windows, soft, students.StudentSettings(kind="lightgbm", n_estimators=30))
    pred = model.predict_proba(windows.reshape(600, -1)).argmax(1)
    assert (pred == soft.argmax(1)).mean() > 0.97
    assert abs((pred == 2).mean() - rare.mean()) < 0.03


def test_agree_chooses_the_margin_on_held_out_pixels_and_records_it(teachers, cube_store, tmp_path):
    sync = MapOptions(tile=16, scheduler="synchronous", members=(str(teachers[1]),))
    plain = make_fast_map(teachers[0], cube_store, tmp_path / "plain.tif", sync, student=SMALL)
    res = make_fast_map(teachers[0], cube_store, tmp_path / "agree.tif",
                        dataclasses.replace(sync, defer_agreement=1.0), student=SMALL)
    c = res.teacher["cascade"]
    sampled = min(plain.map.pixels - plain.map.nodata_pixels, 750)  # ceil(600 / 0.8) sampled, a fifth held out
    assert plain.teacher["pixels"] == 600
    assert c["pixels"] + res.teacher["pixels"] == sampled and c["pixels"] == round(0.2 * sampled)
    assert c["agreement_wanted"] == 1.0 and 0 < c["margin"] <= 1.0  # this small student is not perfect
    assert c["agreement"] >= c["student_agreement"] and (c["agreement"] == 1.0 or c["margin"] == 1.0)
    tags = _read(res.map.paths["classes"])[1]
    assert json.loads(tags["TEACHER"]) == res.teacher and res.teacher["defer_margin"] == c["margin"]
    assert res.map.deferred_pixels is not None and plain.map.deferred_pixels is None
    # an agreement the student alone reaches needs no teacher at all
    easy = make_fast_map(teachers[0], cube_store, tmp_path / "easy.tif",
                         dataclasses.replace(sync, defer_agreement=c["student_agreement"]), student=SMALL)
    assert easy.teacher["cascade"]["margin"] == 0.0 and "defer_margin" not in easy.teacher
    assert easy.map.deferred_pixels is None


def test_a_bad_agreement_fails_before_writing(teachers, cube_store, tmp_path):
    out = tmp_path / "m.tif"
    for bad in (-0.2, 1.5):
        with pytest.raises(CropGlobeError, match=f"cascade agreement {bad}: expected"):
            make_fast_map(teachers[0], cube_store, out, MapOptions(defer_agreement=bad), student=SMALL)
    with pytest.raises(CropGlobeError, match="expected one of them"):
        make_fast_map(teachers[0], cube_store, out, MapOptions(defer_agreement=0.9, defer_margin=0.1), student=SMALL)
    with pytest.raises(CropGlobeError, match="expected map --fast with --agree"):
        make_map(teachers[0], cube_store, out, MapOptions(defer_agreement=0.9))
    res = CliRunner().invoke(app, ["map", str(teachers[0]), str(cube_store), "--out", str(out), "--agree", "0.9"])
    assert isinstance(res.exception, CropGlobeError) and "expected --fast with --agree" in str(res.exception)
    assert not list(tmp_path.iterdir())


def test_cli_map_fast_agree_prints_the_chosen_margin(teachers, cube_store, tmp_path, monkeypatch):
    out = tmp_path / "cli.tif"
    said = _cli_fast(teachers, cube_store, out, monkeypatch, "--agree", "1.0")
    assert "chosen for agreement 1.0 on" in said and "held-out pixels" in said
    assert json.loads(_read(out)[1]["TEACHER"])["cascade"]["agreement_wanted"] == 1.0


def test_source_series_join_the_distillation_pixels_and_a_bad_layout_fails_before_writing(teachers, cube_store,
                                                                                          tmp_path):
    from cropglobe.sources import simulate
    from cropglobe.temporal import composite

    full = composite.composite(simulate.simulate(["FRA"], samples_per_class=5, seed=9))  # the teachers' inputs
    source = full["reflectance"].transpose("sample", "band", "time").values.astype(np.float32)
    sync = MapOptions(tile=16, scheduler="synchronous")
    t = make_fast_map(teachers[0], cube_store, tmp_path / "src.tif", sync, student=SMALL,
                      source_series=source).teacher
    # a seeded subset of at most max_pixels (600) of the region's sampled pixels and the source's samples
    assert 0 < t["source_pixels"] < len(source) and t["pixels"] + t["source_pixels"] == SMALL.max_pixels
    assert t["inputs"] == (1 + SMALL.views + SMALL.mixup) * SMALL.max_pixels
    assert json.loads(_read(tmp_path / "src.tif")[1]["TEACHER"])["source_pixels"] == t["source_pixels"]
    with pytest.raises(CropGlobeError, match="layout of the map's pixels"):
        make_fast_map(teachers[0], cube_store, tmp_path / "bad.tif", sync, student=SMALL,
                      source_series=source[:, :, :-1])
    assert not list(tmp_path.glob("bad*"))
