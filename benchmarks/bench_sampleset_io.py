"""SampleSet storage: Zarr round trip (the on-disk format) against NetCDF4 (netCDF4) of the same set."""

from __future__ import annotations

import tempfile
from pathlib import Path

from cropglobe.bench import best_time

NAME = "sampleset-io"
DESCRIPTION = "save+load a simulated SampleSet as Zarr vs NetCDF4 (ratio = netcdf time / zarr time)"


def run(quick: bool = False) -> dict:
    """Time a save+load round trip in both formats on the same simulated set."""
    import xarray as xr

    from cropglobe import samples
    from cropglobe.sources import simulate

    ds = simulate.simulate(samples_per_class=5 if quick else 100, seed=0)
    repeat = 1 if quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        zpath, npath = Path(tmp) / "s.zarr", Path(tmp) / "s.nc"

        def zarr_rt() -> None:
            samples.save(ds, zpath)
            samples.load(zpath)

        nc = ds.copy()
        nc.attrs = {k: (str(v) if isinstance(v, (bool, list)) else v) for k, v in ds.attrs.items()}

        def netcdf_rt() -> None:
            nc.to_netcdf(npath, engine="netcdf4")
            xr.open_dataset(npath, engine="netcdf4").load().close()

        tz, tn = best_time(zarr_rt, repeat), best_time(netcdf_rt, repeat)
        zarr_mb = sum(f.stat().st_size for f in zpath.rglob("*") if f.is_file()) / 1e6
        netcdf_mb = npath.stat().st_size / 1e6
    mb = ds.nbytes / 1e6
    return {
        "ratio": tn / tz,
        "reference": "xarray to_netcdf/open_dataset (netCDF4) round trip of the same SampleSet",
        "figures": {"samples": int(ds.sizes["sample"]), "megabytes": round(mb, 1),
                    "zarr_seconds": round(tz, 4), "netcdf_seconds": round(tn, 4),
                    "zarr_MB_per_s": round(mb / tz, 1), "zarr_store_MB": round(zarr_mb, 1),
                    "netcdf_file_MB": round(netcdf_mb, 1),
                    "note": "Zarr chunks are Blosc-compressed (written atomically and validated on save and load); "
                            "the NetCDF reference is uncompressed and unvalidated"},
    }
