"""``acquire`` against a Dask scheduler address: a LocalCluster on 127.0.0.1 gives the same SampleSet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.sources.acquire import scene
from typer.testing import CliRunner

from cropglobe import samples
from cropglobe.cli import app


def _run(scene_dir: Path, tmp_path: Path, name: str, *options: str) -> Path:
    out = tmp_path / f"{name}.zarr"
    cfg = tmp_path / f"{name}.yaml"
    cfg.write_text(scene.config_text(str(scene_dir / "stac" / "catalog.json"), scene_dir / "cdl.tif", out))
    res = CliRunner().invoke(app, ["acquire", str(cfg), "--no-progress", *options])
    assert res.exit_code == 0, res.output
    assert "chunks read 6, from cache 0" in res.output
    return out


@pytest.mark.slow
def test_acquire_on_a_scheduler_address_equals_the_local_run(scene_dir: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    local = samples.load(_run(scene_dir, tmp_path, "threads", "--scheduler", "threads"))
    with distributed.LocalCluster(host="127.0.0.1", protocol="tcp", n_workers=1, threads_per_worker=1,
                                  processes=False, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        remote = samples.load(_run(scene_dir, tmp_path, "remote", "--scheduler", address))
        # the chunks ran as tasks on that cluster's worker
        done = client.run_on_scheduler(lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
    assert "read_chunk" in done
    assert remote.sizes == local.sizes and remote.sizes["sample"] > 0
    for name in local.data_vars:
        np.testing.assert_array_equal(remote[name].values, local[name].values, err_msg=name)
    for name in local.coords:
        np.testing.assert_array_equal(remote[name].values, local[name].values, err_msg=name)
    assert {k: v for k, v in remote.attrs.items() if k != "history"} == \
        {k: v for k, v in local.attrs.items() if k != "history"}

