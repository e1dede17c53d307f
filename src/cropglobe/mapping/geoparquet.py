"""GeoParquet for point tables: a WKB ``geometry`` column from lon/lat and the ``geo`` file metadata.

Follows GeoParquet 1.1.0 (https://geoparquet.org/releases/v1.1.0/): the geometry column holds
ISO WKB points, and the schema metadata key ``geo`` names it as the primary column with its
encoding, geometry types and bounding box. No ``crs`` is written: the specification's default is
``OGC:CRS84`` (longitude, latitude on WGS84), which is what the lon/lat columns are. The other
columns are unchanged, so the file is still plain Parquet to readers that ignore ``geo``
(pandas, pyarrow, DuckDB), and a GeoDataFrame to ``geopandas.read_parquet``. Points with a
missing coordinate get a null geometry.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

#: The GeoParquet version written.
GEOPARQUET_VERSION = "1.1.0"


def with_geometry(table: Any, lon: Any, lat: Any, column: str = "geometry") -> Any:
    """``table`` (a ``pyarrow.Table``) with a WKB point column from ``lon``/``lat`` and the ``geo`` metadata.

    Args:
        table: The table (one row per point).
        lon: Longitudes in degrees (WGS84), one per row.
        lat: Latitudes in degrees, one per row.
        column: Name of the geometry column.

    Returns:
        A new table; its schema metadata keeps the existing keys and adds ``geo``.
    """
    import pyarrow as pa
    import shapely

    x, y = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    if x.shape != (table.num_rows,) or y.shape != (table.num_rows,):
        raise ValueError(f"with_geometry: expected {table.num_rows} longitudes and latitudes, got {x.shape}, {y.shape}")
    valid = np.isfinite(x) & np.isfinite(y)
    wkb = np.full(table.num_rows, None, dtype=object)
    if valid.any():
        wkb[valid] = shapely.to_wkb(shapely.points(x[valid], y[valid]), flavor="iso")
    bbox = ([float(x[valid].min()), float(y[valid].min()), float(x[valid].max()), float(y[valid].max())]
            if valid.any() else [])
    geo = {"version": GEOPARQUET_VERSION, "primary_column": column,
           "columns": {column: {"encoding": "WKB", "geometry_types": ["Point"], **({"bbox": bbox} if bbox else {})}}}
    out = table.append_column(pa.field(column, pa.binary()), pa.array(list(wkb), type=pa.binary()))
    return out.replace_schema_metadata({**(table.schema.metadata or {}), b"geo": json.dumps(geo).encode()})
