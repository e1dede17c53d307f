"""Readers that turn real data into validated SampleSets (one function per source format).

* :func:`read_worldcereal` - ESA WorldCereal point extractions (long or wide Parquet);
* :func:`read_cropglobe_npz` / :func:`read_cropglobe_harmonic` - the CropGlobe release
  (Tong & Wang, arXiv:2509.03497) median composites and harmonic feature tables;
* :func:`read_table` - CSV/Parquet tables described by a YAML mapping (:class:`TableMapping`);
* :func:`download_cropglobe` - fetch the CropGlobe release from the Hugging Face hub.
"""

from __future__ import annotations

from cropglobe.sources.readers.cropglobe_hub import download_cropglobe
from cropglobe.sources.readers.cropglobe_npz import read_cropglobe_harmonic, read_cropglobe_npz, save_features
from cropglobe.sources.readers.table import read_table
from cropglobe.sources.readers.table_mapping import TableMapping, load_mapping
from cropglobe.sources.readers.worldcereal import read_worldcereal

__all__ = [
    "TableMapping", "download_cropglobe", "load_mapping", "read_cropglobe_harmonic", "read_cropglobe_npz",
    "read_table", "read_worldcereal", "save_features",
]
