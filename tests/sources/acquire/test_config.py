"""Bad acquisition configs fail with one clear CropGlobeError and write nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tests.sources.acquire import scene

from cropglobe.errors import CropGlobeError
from cropglobe.sources.acquire import acquire, load_config


def _write(tmp_path: Path, scene_dir: Path, edit=None) -> Path:
    cfg = yaml.safe_load(scene.config_text(str(scene_dir / "stac" / "catalog.json"), scene_dir / "cdl.tif",
                                           tmp_path / "out.zarr"))
    cfg["imagery"]["stac"]["dask"]["scheduler"] = "synchronous"
    if edit:
        edit(cfg)
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _fails(path: Path, *needles: str) -> None:
    with pytest.raises(CropGlobeError) as err:
        acquire(load_config(path), progress=False)
    for needle in needles:
        assert needle in str(err.value), str(err.value)
    assert "\n" not in str(err.value)
    assert not (path.parent / "out.zarr").exists()


def test_unknown_collection(tmp_path: Path, scene_dir: Path) -> None:
    path = _write(tmp_path, scene_dir, lambda c: c["imagery"]["stac"].update(collection="sentinel-2-l1c"))
    _fails(path, "imagery.stac.collection", "'sentinel-2-l1c'", "landsat-c2-l2, sentinel-2-l2a")


def test_empty_region_bbox(tmp_path: Path, scene_dir: Path) -> None:
    path = _write(tmp_path, scene_dir, lambda c: c["region"].update(bbox=[3.2, 45.0, 3.2, 45.1]))
    with pytest.raises(CropGlobeError, match=r"field region.bbox: empty or invalid bbox"):
        load_config(path)


def test_region_outside_the_label_map(tmp_path: Path, scene_dir: Path) -> None:
    path = _write(tmp_path, scene_dir, lambda c: c["region"].update(bbox=[10.0, 50.0, 10.5, 50.5]))
    _fails(path, "does not overlap the label map")


def test_region_without_labelled_fields(tmp_path: Path, scene_dir: Path) -> None:
    # a bbox smaller than the edge buffer of any field: nothing to sample
    path = _write(tmp_path, scene_dir, lambda c: c["region"].update(bbox=[3.0045, 45.045, 3.0046, 45.0451]))
    _fails(path, "no sample points in region")


def test_label_map_with_unmapped_codes(tmp_path: Path, scene_dir: Path) -> None:
    path = _write(tmp_path, scene_dir, lambda c: c["labels"].update(ignore=[]))
    _fails(path, "cdl.tif", "'111'", "labels.classes")


def test_unmapped_codes_as_other(tmp_path: Path, scene_dir: Path) -> None:
    path = _write(tmp_path, scene_dir, lambda c: c["labels"].update(ignore=[], unmapped="other"))
    plan = acquire(load_config(path), dry_run=True).plan
    assert "other" in set(plan.points.label)


def test_class_table_with_unknown_class(tmp_path: Path, scene_dir: Path) -> None:
    path = _write(tmp_path, scene_dir, lambda c: c["labels"]["classes"].update({"1": "barley-ish"}))
    with pytest.raises(CropGlobeError, match=r"field labels.classes: code '1': unknown crop label 'barley-ish'"):
        load_config(path)


def test_bands_not_in_the_collection(tmp_path: Path, scene_dir: Path) -> None:
    path = _write(tmp_path, scene_dir, lambda c: c.update(bands=["B2", "B1", "B9"]))
    _fails(path, "bands (collection 'sentinel-2-l2a')", "B1, B9 not in collection items")


def test_unknown_band_name(tmp_path: Path, scene_dir: Path) -> None:
    path = _write(tmp_path, scene_dir, lambda c: c.update(bands=["B2", "B13"]))
    with pytest.raises(CropGlobeError, match=r"field bands: unknown band name 'B13'"):
        load_config(path)


def test_unknown_field_and_bad_scheduler(tmp_path: Path, scene_dir: Path) -> None:
    path = _write(tmp_path, scene_dir, lambda c: c.update(smapling={}))
    with pytest.raises(CropGlobeError, match=r"field smapling: Extra inputs are not permitted"):
        load_config(path)
    path = _write(tmp_path, scene_dir, lambda c: c["imagery"]["stac"]["dask"].update(scheduler="cluster"))
    with pytest.raises(CropGlobeError, match=r"imagery.stac.dask.scheduler: unknown scheduler 'cluster'"):
        load_config(path)


def test_missing_catalog_and_config(tmp_path: Path, scene_dir: Path) -> None:
    path = _write(tmp_path, scene_dir, lambda c: c["imagery"]["stac"].update(endpoint=str(tmp_path / "nope.json")))
    _fails(path, "cannot read STAC catalog")
    with pytest.raises(CropGlobeError, match="no such config file"):
        load_config(tmp_path / "missing.yaml")


def test_cli_prints_one_line_and_exits_2(tmp_path: Path, scene_dir: Path) -> None:
    path = _write(tmp_path, scene_dir, lambda c: c["imagery"]["stac"].update(collection="nope"))
    exe = Path(sys.executable).with_name("cropglobe")
    proc = subprocess.run([str(exe), "acquire", "--dry-run", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "unknown collection 'nope'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_misspelt_key_gets_did_you_mean_through_the_cli(tmp_path: Path, capsys) -> None:
    """A misspelt key (top level or nested) names the right one, exit 2, before any work (issue 27)."""
    from cropglobe.cli import main

    shipped = yaml.safe_load((Path(__file__).resolve().parents[3] / "configs" / "acquire" /
                              "usa_cdl_earth_search.yaml").read_text())
    for edit, hint in ((lambda c: c.update(bandz=c.pop("bands")), "field bandz: Extra inputs are not permitted; "
                        "did you mean 'bands'?"),
                       (lambda c: c["imagery"]["stac"].update(endpoin=c["imagery"]["stac"].pop("endpoint")),
                        "field imagery.stac.endpoin: Extra inputs are not permitted; did you mean 'endpoint'?")):
        cfg = yaml.safe_load(yaml.safe_dump(shipped))
        edit(cfg)
        path = tmp_path / "cfg.yaml"
        path.write_text(yaml.safe_dump(cfg))
        with pytest.raises(SystemExit) as exit_:
            main(["data", "acquire", str(path), "--dry-run"])
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and hint in err and err.strip().count("\n") == 0, err
