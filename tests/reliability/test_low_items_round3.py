"""Low items of issue 29, round 3: sizes beyond memory, non-Dask scheduler addresses, coordinates and scales
out of range, boolean seeds, what kill -9 leaves behind, disk-full messages, and message wording.

SIMULATED data only.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from cropglobe import atomic, samples
from cropglobe.cli import main
from cropglobe.errors import CropGlobeError


def _main(capsys, *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    return int(exc.value.code), capsys.readouterr().err


def _one_line(err: str) -> str:
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


# -- 1. simulate -n 10^12 -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", ["1000000000000", "100000000000000000000"])
def test_simulate_counts_beyond_memory_are_one_line(tmp_path, capsys, n):
    rc, err = _main(capsys, "simulate", "--out", str(tmp_path / "s.zarr"), "-n", n, "-c", "FRA")
    assert rc == 2
    assert "samples_per_class=" in _one_line(err) and "expected at most" in err
    assert list(tmp_path.iterdir()) == []


def test_simulate_size_check_names_the_largest_count_that_fits():
    from cropglobe.sources import simulate

    simulate.check_size(10, 6, 10, 200, memory=2**30)  # 10 per class: a few MB
    with pytest.raises(CropGlobeError, match=r"samples_per_class=100,000 .* expected at most [\d,]+ samples"):
        simulate.check_size(100_000, 6, 10, 200, memory=2**30)


# -- 2. --scheduler at a non-Dask address -----------------------------------------------------------------------------
@pytest.fixture
def silent_listener():
    """A TCP port that accepts connections and never answers (what a non-Dask service looks like to Dask)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


@pytest.mark.parametrize("address", ["http://127.0.0.1:9", "tls://127.0.0.1:9", "listener"])
def test_a_non_dask_scheduler_address_is_one_error(monkeypatch, silent_listener, address):
    pytest.importorskip("distributed")
    from cropglobe import daskclient
    from cropglobe.mapping.tiles import dask_client
    from cropglobe.sources.acquire.config import DaskConfig
    from cropglobe.sources.acquire.reader import scheduler

    monkeypatch.setattr(daskclient, "CONNECT_TIMEOUT_S", 1.0)
    address = silent_listener if address == "listener" else address
    with pytest.raises(CropGlobeError, match=r"scheduler=.*expected the address of a running Dask scheduler"):
        with dask_client(address):
            pass
    with pytest.raises(CropGlobeError, match=r"imagery\.stac\.dask\.scheduler=.*expected the address of a running"):
        with scheduler(DaskConfig(scheduler=address)):
            pass


# -- 3. lon / lat out of range, scale 0 / NaN / inf ----------------------------------------------------------------
def _build(**kw):
    base = dict(bands=["B2", "B3"], time=np.array(["2023-05-01", "2023-05-11"], dtype="datetime64[ns]"),
                sample_id=["a", "b"], label=["wheat", "corn"], country="FRA", year=2023, lon=[2.0, 3.0],
                lat=[45.0, 46.0])
    arrays = {**base, **{k: v for k, v in kw.items() if k != "scale"}}
    return samples.build(samples.SampleArrays(np.full((2, 2, 2), 0.1, np.float32), **arrays), scale=kw.get("scale"))


@pytest.mark.parametrize(("kw", "message"), [
    ({"lon": [2.0, 500.0]}, r"coordinate 'lon' has 1 value\(s\) outside \[-180, 180\], first 500.0 \(sample 'b'\)"),
    ({"lon": [np.inf, 2.0]}, r"coordinate 'lon' .* first inf \(sample 'a'\)"),
    ({"lat": [-91.0, 2.0]}, r"coordinate 'lat' .* outside \[-90, 90\]"),
    ({"scale": 0.0}, r"scale=0.0: expected a finite number > 0"),
    ({"scale": float("nan")}, r"scale=nan: expected a finite number > 0"),
    ({"scale": float("inf")}, r"scale=inf: expected a finite number > 0"),
])
def test_coordinates_and_scales_out_of_range_are_refused(kw, message):
    with pytest.raises(CropGlobeError, match=message):
        _build(**kw)
    assert np.isnan(_build(lon=[np.nan, 2.0])["lon"].values[0])  # unknown stays allowed


def test_a_stored_set_with_longitude_500_is_refused_on_load(tmp_path):
    store = tmp_path / "s.zarr"
    samples.save(_build(), store)
    ds = samples.load(store).assign_coords(lon=("sample", [2.0, 500.0]))
    with pytest.raises(CropGlobeError, match="coordinate 'lon'"):
        samples.validate(ds)


@pytest.mark.parametrize("scale", ["0", "nan", "-1e-4"])
def test_map_scale_that_is_not_positive_and_finite_is_one_line(tmp_path, capsys, scale):
    rc, err = _main(capsys, "map", str(tmp_path / "cell"), str(tmp_path / "cube.zarr"), "--out",
                    str(tmp_path / "out" / "map.tif"), f"--scale={scale}")
    assert rc == 2 and "scale=" in _one_line(err) and "expected a finite number > 0" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["0", ".nan", ".inf"])
def test_a_table_mapping_scale_that_is_not_positive_and_finite_is_refused(tmp_path, value):
    from cropglobe.sources.readers.table_mapping import load_mapping

    path = tmp_path / "m.yaml"
    text = ("layout: wide\nwide: {pattern: '(?P<time>\\d+)', band: B2}\ntime: {format: doy, bin_days: 16}\n"
            "label: {column: crop}\ncountry: {value: FRA}\nyear: {value: 2023}\n")
    path.write_text(text + "scale: 1.0e-4\n")
    assert load_mapping(path).scale == pytest.approx(1e-4)
    path.write_text(text + f"scale: {value}\n")
    with pytest.raises(CropGlobeError, match="field 'scale'"):
        load_mapping(path)


def test_simulator_profiles_outside_the_globe_are_refused(tmp_path):
    from cropglobe.sources import simulate

    text = simulate._default_text()
    params = tmp_path / "p.yaml"
    assert "lon: [-100.0, -82.0]" in text
    params.write_text(text.replace("lon: [-100.0, -82.0]", "lon: [500.0, 600.0]"), encoding="utf-8")
    with pytest.raises(CropGlobeError, match=r"lon.*expected \[low, high\] degrees inside \[-180, 180\]"):
        simulate.load_params(params)


# -- 4. boolean seeds -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("extra", ["seeds: [true]\n", "seeds: [0, false]\n"])
def test_boolean_seeds_in_a_study_spec_are_refused(tmp_path, extra):
    from cropglobe import experiment

    spec = tmp_path / "spec.yaml"
    spec.write_text("name: x\ndata: {simulate: {countries: [FRA, BEL], samples_per_class: 2}}\nsources: [FRA]\n"
                    "cells: [{feature: harmonic, model: rf}]\n" + extra)
    with pytest.raises(CropGlobeError, match=r"field seeds\.\d+: Input should be a valid integer"):
        experiment.load_spec(spec)


@pytest.mark.parametrize("simulate", ["{seed: true}", "{samples_per_class: true}", "{seed: -1}"])
def test_boolean_or_negative_simulator_settings_in_a_study_spec_are_refused(tmp_path, simulate):
    from cropglobe import experiment

    spec = tmp_path / "spec.yaml"
    spec.write_text(f"name: x\ndata: {{simulate: {simulate}}}\nsources: [FRA]\n"
                    "cells: [{feature: harmonic, model: rf}]\n")
    with pytest.raises(CropGlobeError, match=r"field data\.simulate\.(seed|samples_per_class)"):
        experiment.load_spec(spec)


def test_a_boolean_acquire_sampling_seed_is_refused():
    from pydantic import ValidationError

    from cropglobe.sources.acquire.config import Sampling

    with pytest.raises(ValidationError, match="seed"):
        Sampling(seed=True)
    with pytest.raises(CropGlobeError, match="samples_per_class"):
        from cropglobe.sources import simulate

        simulate.simulate(["FRA"], samples_per_class=True)


# -- 5. what kill -9 leaves behind ------------------------------------------------------------------------------------
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _leftover(final: Path, kind: str, pid: int) -> Path:
    name = atomic._temp_sibling(final, kind).name
    return final.parent / name.replace(f"-{os.getpid()}-", f"-{pid}-")


def test_stale_temporary_outputs_of_dead_writers_are_removed(tmp_path):
    dead = _dead_pid()
    final = tmp_path / "out.zarr"
    stale_dir = _leftover(final, "tmp", dead)
    (stale_dir / "reflectance").mkdir(parents=True)
    (stale_dir / "reflectance" / "0.0.0").write_bytes(b"\0" * 64)
    stale_file = _leftover(tmp_path / "other.csv", "tmp", dead)
    stale_file.write_text("partial")
    alive = _leftover(final, "tmp", os.getppid())  # a writer still running: left alone
    alive.mkdir()
    foreign = tmp_path / f".out.zarr.tmp-{'0' * 6}-{dead}-deadbeef"  # another machine's: left alone
    foreign.mkdir()
    user = tmp_path / ".out.zarr.tmp-notes"  # a name of the user's: left alone
    user.write_text("mine")
    with atomic.atomic_path(final) as tmp:
        tmp.mkdir()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".out.zarr.tmp-notes", alive.name, foreign.name,
                                                                 "out.zarr"])


def test_a_kill_between_the_two_renames_is_recovered_on_the_next_call(tmp_path):
    dead = _dead_pid()
    final = tmp_path / "out.zarr"
    parked = _leftover(final, "old", dead)  # the previous output, moved aside before the kill
    parked.mkdir()
    (parked / "data").write_text("previous")
    unfinished = _leftover(final, "tmp", dead)
    unfinished.mkdir()
    assert atomic.recover_leftovers(tmp_path) == [final, unfinished]
    assert (final / "data").read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.zarr"]


def test_a_previous_output_parked_next_to_the_new_one_is_removed(tmp_path):
    dead = _dead_pid()
    final = tmp_path / "out.zarr"
    final.mkdir()
    (final / "data").write_text("new")
    parked = _leftover(final, "old", dead)  # the kill came after the new output moved in
    parked.mkdir()
    with atomic.atomic_path(tmp_path / "other.txt") as tmp:
        tmp.write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.txt", "out.zarr"]
    assert (final / "data").read_text() == "new"


def test_a_simulate_run_after_a_kill_restores_the_previous_store(tmp_path, capsys):
    out = tmp_path / "sim.zarr"
    assert _main(capsys, "simulate", "--out", str(out), "-n", "2", "-c", "FRA")[0] == 0
    before = samples.load(out)
    parked = _leftover(out, "old", _dead_pid())
    os.replace(out, parked)  # as a kill between atomic_path's renames leaves it
    code = ("import sys; from cropglobe import samples; from cropglobe.atomic import atomic_path\n"
            f"with atomic_path({str(tmp_path / 'log.txt')!r}) as t: t.write_text('x')\n"
            f"print(samples.load({str(out)!r}).sizes['sample'])")
    env = {**os.environ, "PYTHONPATH": str(Path(atomic.__file__).parents[1])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.strip()) == before.sizes["sample"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.txt", "sim.zarr"]


# -- 6. disk full names the path -------------------------------------------------------------------------------------
def test_a_full_disk_names_the_path_being_written(tmp_path, capsys, monkeypatch):
    def full(self, store, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")  # as a write() fails: no file name

    monkeypatch.setattr(xr.Dataset, "to_zarr", full)
    out = tmp_path / "sim.zarr"
    rc, err = _main(capsys, "simulate", "--out", str(out), "-n", "2", "-c", "FRA")
    assert rc == 2 and "(no path given)" not in _one_line(err)
    assert f"{out}: No space left on device" in err and "free disk space" in err
    assert list(tmp_path.iterdir()) == []


# -- 7. messages -------------------------------------------------------------------------------------------------------
def test_a_huge_bad_value_gives_a_short_error_line(tmp_path, capsys):
    huge = "X" * 5_000_000
    rc, err = _main(capsys, "simulate", "--out", str(tmp_path / "s.zarr"), "-n", "2", "-c", huge)
    assert rc == 2 and len(_one_line(err)) < 3000
    assert "…" in err and "characters left out" in err and "expected one of" in err  # both ends kept
    rc, err = _main(capsys, "simulate", "--out", str(tmp_path / "s.zarr"), "--" + huge)
    assert rc == 2 and len(err) < 6000 and "…" in err  # a usage error echoing the option


def test_a_folder_given_as_an_input_file_is_named_a_folder(tmp_path, capsys):
    folder = tmp_path / "median_S2_FRA_month5-11_day5.npz"
    folder.mkdir()
    rc, err = _main(capsys, "import", "cropglobe", str(folder), "--out", str(tmp_path / "o.zarr"), "--year", "2023")
    assert rc == 2 and "is a folder, not a file" in _one_line(err) and "no such file" not in err
    from cropglobe.sources.readers.table_io import read_file
    from cropglobe.sources.readers.table_mapping import ReadOptions

    with pytest.raises(CropGlobeError, match="is a folder, not a file; expected a CSV or Parquet table"):
        read_file(tmp_path, ReadOptions())


def test_a_wrong_model_file_in_a_cell_says_what_it_is_and_what_was_expected(tmp_path):
    from tests.reliability.cells import tiny_cell

    from cropglobe import models
    from cropglobe.cells.cell import load_recipe

    rf = tiny_cell(tmp_path / "rf")
    (rf / "model").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(CropGlobeError, match=r"expected a cropglobe tabular model file .* for model 'rf'") as exc:
        load_recipe(rf).load_model()
    assert "torch" not in str(exc.value)
    other = tiny_cell(tmp_path / "rf2")
    with pytest.raises(CropGlobeError, match=r"a cropglobe tabular model file \(rf\); expected a cropglobe torch"):
        models.load_model(other / "model", expect_model="tempcnn")
    with pytest.raises(CropGlobeError, match=r"a cropglobe tabular model file \(rf\); expected a cropglobe torch"):
        models.load_torch(other / "model")
